#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Redaction: with a distinctive password (`support_api::PW`: a space, `@`, `/`, `&`,
//! `+`, `%` and a quote), errors of every kind are forced on all twelve endpoints —
//! wrong password, status codes, every injected fault, connection refused, timeout,
//! refusals before sending, a split mark list failing part-way — and the password, in
//! any spelling (plain, URL-encoded both ways, JSON-escaped, JSON-escaped then
//! URL-encoded) or a recognisable piece of it, must appear in no error's Display or
//! Debug and in no log line. Logs are captured at TRACE from every crate (tracing
//! events and `log` records) into a buffer, which must not be empty.

mod support_api;

use paypro_console::api::{ApiError, Client, Endpoint};
use paypro_console::sim::{BatchMode, FaultConfig, Merchant, RunningSim};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use support_api::*;
use tracing_subscriber::fmt::MakeWriter;

/// The shared log buffer: a `MakeWriter` over `Arc<Mutex<Vec<u8>>>`.
#[derive(Clone)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;

    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// Installs, once per test binary, a global TRACE subscriber writing into the buffer
/// (global rather than per-thread, so that the simulator's tasks and the `log` records
/// of dependencies are caught too).
fn log_buffer() -> Buf {
    static LOG: OnceLock<Buf> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Buf(Arc::new(Mutex::new(Vec::new())));
        tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .try_init()
            .unwrap();
        buf
    })
    .clone()
}

fn log_text() -> String {
    String::from_utf8_lossy(&log_buffer().0.lock().unwrap()).into_owned()
}

/// Every byte but ASCII letters and digits as `%XX`, in upper or lower case hex.
fn percent_all(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

/// The spellings of `secret` that must never appear.
fn forbidden(secret: &str) -> Vec<String> {
    let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let json = serde_json::to_string(secret).unwrap();
    let json = json.trim_matches('"').to_string();
    let json_slash = json.replace('/', "\\/");
    let mut out = vec![
        secret.to_string(),
        form(secret),
        form(secret).replace('+', "%20"),
        percent_all(secret, true),
        percent_all(secret, false),
        json.clone(),
        json_slash.clone(),
        form(&json),
        form(&json_slash),
        form(&json).replace('+', "%20"),
        // Pieces: an excerpt cut in the middle of the password must not leave
        // a recognisable part of it either.
        "S3cr3t".to_string(),
        "p@ss".to_string(),
        "p%40ss".to_string(),
        "wo\\\"rd".to_string(),
        "wo\"rd".to_string(),
    ];
    out.sort();
    out.dedup();
    out
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden(PW) {
        assert!(
            !text.contains(&f),
            "{what} shows the password as '{f}':\n{text}"
        );
    }
}

/// Display, alternate Display, Debug and pretty Debug of an error and of its sources.
fn check_error(context: &str, e: &ApiError) {
    let mut texts = vec![
        format!("{e}"),
        format!("{e:#}"),
        format!("{e:?}"),
        format!("{e:#?}"),
    ];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        texts.push(format!("{s} {s:?}"));
        source = s.source();
    }
    for t in texts {
        assert_clean(context, &t);
    }
}

/// Calls all twelve endpoints; every call must fail (the caller's setup guarantees
/// it) and every error must be clean. Returns the errors for further checks.
async fn all_endpoints_fail(context: &str, c: &Client) -> Vec<ApiError> {
    let mut results: Vec<(Endpoint, Result<(), ApiError>)> = vec![
        (
            Endpoint::Co,
            c.create_order(&order("R-1", "100")).await.map(drop),
        ),
        (
            Endpoint::Cmo,
            c.create_orders(&[order("R-2", "100"), order("R-3", "100")])
                .await
                .map(drop),
        ),
        (
            Endpoint::Gpojson,
            c.paid_orders(date(2026, 1, 1), date(2026, 12, 31))
                .await
                .map(drop),
        ),
        (
            Endpoint::Moap,
            c.mark_paid(&[order_ref("NOPE-1")]).await.map(drop),
        ),
        (
            Endpoint::Moab,
            c.mark_blocked(&[order_ref("NOPE-1")]).await.map(drop),
        ),
        (
            Endpoint::Mofr,
            c.refund(&[refund("NOPE-1", "10")]).await.map(drop),
        ),
        (
            Endpoint::Gos,
            c.order_status("00349999999999").await.map(drop),
        ),
        (
            Endpoint::Cc,
            c.create_consumer(&consumer("R-C1", "Usman"))
                .await
                .map(drop),
        ),
        (
            Endpoint::Cmc,
            c.create_consumers(&[consumer("R-C2", "Usman")])
                .await
                .map(drop),
        ),
        (
            Endpoint::Uc,
            c.update_consumer(&{
                let mut u = update("0034NOBODY");
                u.name = Some("X".into());
                u
            })
            .await
            .map(drop),
        ),
        (
            Endpoint::Umc,
            c.update_consumers(&[{
                let mut u = update("0034NOBODY");
                u.name = Some("X".into());
                u
            }])
            .await
            .map(drop),
        ),
        (Endpoint::Gcd, c.consumer_data("0034NOBODY").await.map(drop)),
    ];
    let mut errors = Vec::new();
    for (ep, r) in results.drain(..) {
        match r {
            Ok(()) => panic!("{context}: {ep} succeeded; the test forces an error"),
            Err(e) => {
                assert_eq!(e.endpoint(), Some(ep), "{context}: {e:?}");
                check_error(&format!("{context} on {ep}"), &e);
                errors.push(e);
            }
        }
    }
    errors
}

async fn sim_with(merchant: Merchant, faults: FaultConfig) -> RunningSim {
    start(vec![merchant], BatchMode::PerItem, faults).await
}

#[tokio::test]
async fn wrong_password_on_every_endpoint() {
    log_buffer();
    // The simulator's merchant has another password: the client's (the distinctive
    // one) is wrong and travels on every request.
    let mut m = merchant();
    m.password = paypro_console::Secret::new("another-password");
    let sim = sim_with(m, FaultConfig::default()).await;
    let c = client(&sim);
    let errors = all_endpoints_fail("wrong password", &c).await;
    for e in &errors {
        assert!(matches!(e, ApiError::Status { .. }), "{e:?}");
        assert!(e.is_auth(), "{e:?}");
    }
    let logs = log_text();
    assert!(
        logs.contains("cpay request"),
        "no request was logged:\n{logs}"
    );
    assert_clean("log", &logs);
}

#[tokio::test]
async fn status_errors_with_the_right_password() {
    log_buffer();
    let sim = sim_with(merchant(), FaultConfig::default()).await;
    let c = client(&sim);
    // Right password: unknown orders (03), unknown consumers (03), no paid orders in
    // range (an empty report, so it is left out), duplicates (01), service failure
    // (02), invalid data (03).
    create(&c, "DUP", "100").await;
    let mut bad = order("BAD", "100");
    bad.customer_mobile = "1".into();
    let checks = [
        c.create_order(&order("DUP", "100")).await.map(drop),
        c.create_order(&order("SIMFAIL02-1", "100")).await.map(drop),
        c.create_order(&bad).await.map(drop),
        c.mark_paid(&[order_ref("NOPE")]).await.map(drop),
        c.order_status("00349999999999").await.map(drop),
        c.consumer_data("0034NOBODY").await.map(drop),
    ];
    for r in checks {
        let e = r.unwrap_err();
        assert!(matches!(e, ApiError::Status { .. }), "{e:?}");
        check_error("status", &e);
    }
    assert_clean("log", &log_text());
}

#[tokio::test]
async fn every_injected_fault_on_every_endpoint() {
    log_buffer();
    let sim = sim_with(merchant(), FaultConfig::default()).await;
    let c = client(&sim);
    let faults = [
        FaultConfig {
            http_500: 1.0,
            ..FaultConfig::default()
        },
        FaultConfig {
            html_200: 1.0,
            ..FaultConfig::default()
        },
        FaultConfig {
            truncated_json: 1.0,
            ..FaultConfig::default()
        },
        FaultConfig {
            drop_before_store: 1.0,
            ..FaultConfig::default()
        },
        FaultConfig {
            drop_after_store: 1.0,
            ..FaultConfig::default()
        },
    ];
    for fault in faults {
        sim.set_faults(fault.clone()).unwrap();
        let errors = all_endpoints_fail(&format!("{fault:?}"), &c).await;
        assert!(
            errors
                .iter()
                .all(|e| !matches!(e, ApiError::Status { .. } | ApiError::Request { .. })),
            "{fault:?}: {errors:?}"
        );
    }
    let logs = log_text();
    assert!(
        logs.contains("cpay request failed"),
        "transport failures were not logged:\n{logs}"
    );
    for ep in [
        "co", "cmo", "gpojson", "moap", "moab", "mofr", "gos", "cc", "cmc", "uc", "umc", "gcd",
    ] {
        assert!(
            logs.contains(&format!("endpoint=\"{ep}\"")),
            "no log line for {ep}"
        );
    }
    assert_clean("log", &logs);
}

#[test]
fn the_check_recognises_every_spelling_the_wire_uses() {
    // The password as it travels: in a query string (co's oJson, the report's
    // password parameter) and JSON-escaped in a body. Each must trip the check, or
    // the tests above could pass while the password leaks.
    let mut url = url::Url::parse("http://127.0.0.1/cpay/gpojson").unwrap();
    url.query_pairs_mut()
        .append_pair("password", PW)
        .append_pair(
            "oJson",
            &serde_json::json!([{"MerchantPassword": PW}]).to_string(),
        );
    let json = serde_json::json!({"Password": PW}).to_string();
    let tail = &PW[6..];
    for leaked in [
        url.as_str().to_string(),
        json,
        format!("excerpt ends with {}…", &PW[..8]),
        format!("starts mid-way: {tail}"),
    ] {
        let caught = std::panic::catch_unwind(|| assert_clean("probe", &leaked)).is_err();
        assert!(caught, "not recognised as a leak: {leaked}");
    }
    assert_clean(
        "probe",
        "an error without the password: Username or password is invalid",
    );
}

#[tokio::test]
async fn timeout_on_every_endpoint() {
    log_buffer();
    let sim = sim_with(
        merchant(),
        FaultConfig {
            latency_ms: 1_500,
            ..FaultConfig::default()
        },
    )
    .await;
    let mut cfg = config(&sim.base_url, MID, PW);
    cfg.request_timeout = Duration::from_millis(150);
    let c = Client::new(cfg).unwrap();
    let errors = all_endpoints_fail("timeout", &c).await;
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, ApiError::Transport { .. })),
        "{errors:?}"
    );
    assert_clean("log", &log_text());
}

#[tokio::test]
async fn connection_refused_on_every_endpoint() {
    log_buffer();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = Client::new(config(&format!("http://{addr}"), MID, PW)).unwrap();
    let errors = all_endpoints_fail("connection refused", &c).await;
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, ApiError::Transport { .. })),
        "{errors:?}"
    );
    let logs = log_text();
    assert!(logs.contains("cpay request failed"), "{logs}");
    assert_clean("log", &logs);
}

#[tokio::test]
async fn refusals_partial_failures_and_debug_of_the_client() {
    log_buffer();
    let sim = sim_with(merchant(), FaultConfig::default()).await;
    let cfg = config(&sim.base_url, MID, PW);
    assert_clean("ClientConfig Debug", &format!("{cfg:?} {cfg:#?}"));
    let c = Client::new(cfg).unwrap();
    assert_clean("Client Debug", &format!("{c:?} {c:#?}"));

    // Refused before sending.
    let many: Vec<_> = (0..51).map(|i| order(&format!("N-{i}"), "100")).collect();
    let refusals = [
        c.create_orders(&many).await.map(drop),
        c.paid_orders(date(2026, 2, 1), date(2026, 1, 1))
            .await
            .map(drop),
        c.mark_paid(&[order_ref("A,B")]).await.map(drop),
        c.order_status(" ").await.map(drop),
    ];
    for r in refusals {
        let e = r.unwrap_err();
        assert!(matches!(e, ApiError::Request { .. }), "{e:?}");
        check_error("refusal", &e);
    }

    // A mark list split in two calls whose second call fails: `Partial` with a source.
    let sent: Vec<_> = (0..20)
        .map(|i| order(&format!("{i:02}{}", "y".repeat(248)), "100"))
        .collect();
    c.create_orders(&sent).await.unwrap();
    let mut refs: Vec<_> = sent.iter().map(|o| order_ref(&o.order_number)).collect();
    refs.extend((0..20).map(|i| order_ref(&format!("{i:02}{}", "z".repeat(248)))));
    let e = c.mark_paid(&refs).await.unwrap_err();
    assert!(matches!(e, ApiError::Partial { .. }), "{e:?}");
    check_error("partial", &e);

    // A client whose base URL is unusable.
    let e = Client::new(config("ftp://example.invalid", MID, PW)).unwrap_err();
    check_error("config", &e);
    assert_clean("log", &log_text());
}
