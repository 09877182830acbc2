//! Serving: our own accept loop over hyper (HTTP/1.1) so that a handler can make its
//! connection vanish with no HTTP answer at all (a reset, as a client meets a crashed
//! server or a broken network), and the fault layer that decides when to do so.

use super::faults::{Fault, HTML_ERROR_PAGE, truncate_body};
use super::handlers::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

/// Put in every request's extensions: lets the handler kill its own connection.
#[derive(Clone)]
pub struct ConnKill {
    notify: Arc<Notify>,
    killed: Arc<AtomicBool>,
}

impl ConnKill {
    fn new() -> ConnKill {
        ConnKill {
            notify: Arc::new(Notify::new()),
            killed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Closes the connection with a TCP reset; no answer is written.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

/// The socket, which resets the connection (zero linger) when dropped after a kill.
struct KillableIo {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl Drop for KillableIo {
    fn drop(&mut self) {
        if self.killed.load(Ordering::SeqCst) {
            // A failure here only turns the reset into an orderly close, which a
            // client also sees as a connection closed without an answer.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Accepts connections until `shutdown` fires; then stops accepting and drops every
/// open connection.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Typically EMFILE: back off instead of spinning.
                        tracing::warn!("simulator accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let kill = ConnKill::new();
                let notify = kill.notify.clone();
                let io = KillableIo { inner: stream, killed: kill.killed.clone() };
                let svc = TowerToHyperService::new(router.clone().layer(Extension(kill)));
                conns.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(io), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = notify.notified() => {}
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// The fault layer on `/cpay/` routes (never on `/__sim/`).
pub async fn fault_layer(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let plan = st.faults.plan();
    if !plan.delay.is_zero() {
        latency(plan.delay).await;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    match plan.fault {
        Fault::None => next.run(req).await,
        Fault::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Internal Server Error",
        )
            .into_response(),
        Fault::Html200 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            HTML_ERROR_PAGE,
        )
            .into_response(),
        Fault::TruncatedJson => {
            let (mut parts, body) = next.run(req).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(truncate_body(&bytes)))
        }
        Fault::DropBeforeStore => drop_connection(kill).await,
        Fault::DropAfterStore => {
            let answer = next.run(req).await;
            // Let the handler's body finish, so the change is stored, then vanish.
            let _ = axum::body::to_bytes(answer.into_body(), usize::MAX).await;
            drop_connection(kill).await
        }
    }
}

/// Waits `delay`, as closely as the OS allows. Tokio's timer wakes on whole
/// milliseconds and late (the wheel rounds a deadline up, the driver's wait rounds
/// again): a configured 100 ms was served as ~101.8 ms, an error every figure measured
/// against the configured latency carried (the engine bench's ceiling ratio lost ~2
/// points to it). The timer takes all but the last few milliseconds; a thread of the
/// blocking pool sleeps the rest (a nanosecond timer, late by tens of microseconds).
async fn latency(delay: Duration) {
    const BY_THREAD: Duration = Duration::from_millis(3);
    let deadline = Instant::now() + delay;
    if let Some(coarse) = delay.checked_sub(BY_THREAD) {
        tokio::time::sleep(coarse).await;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        // Only a runtime being shut down fails this; the delay is then moot.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(left)).await;
    }
}

pub(crate) async fn drop_connection(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => {
            k.kill();
            // Never answer: the connection task drops this future with the socket.
            std::future::pending::<Response>().await
        }
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "connection drop requested outside the simulator's server",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Late is the OS's to decide (and not a figure for a unit test); early would make
    // the simulator faster than it is configured to be, and is never allowed.
    #[tokio::test]
    async fn latency_is_never_shorter_than_asked() {
        for ms in [0, 1, 2, 3, 4, 7] {
            let delay = Duration::from_millis(ms);
            let started = Instant::now();
            latency(delay).await;
            assert!(started.elapsed() >= delay, "{ms} ms");
        }
    }
}
