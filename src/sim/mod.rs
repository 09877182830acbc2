//! The Connect Pay simulator (axum): merchants, orders, consumers, fault injection and
//! an inspection endpoint. It shares no state with the client.
//!
//! [`start`] runs it inside the caller's tokio runtime (tests, the demo); [`run`] is
//! the `paypro-console sim` command, which prints the base URL as its first line.
//!
//! Beside the twelve `/cpay/` endpoints it serves, never faulted:
//! - `GET /__sim/orders`: every stored order with every field it was created with,
//!   under the guide's request names (`OrderNumber`, `OrderAmount` as a decimal string,
//!   `OrderDueDate` and `IssueDate` as `YYYY-MM-DD`, `OrderType`, `CustomerName`,
//!   `CustomerMobile`, `CustomerEmail`, `CustomerAddress`, `OrderExpireAfterSeconds`,
//!   `OrderAmountWithinDueDate`, `OrderAmountAfterDueDate`), beside `MerchantId`,
//!   `ConnectPayId`, `ConnectPayFee`, `OrderStatus`, `AmountPaid`, `DatePaid`,
//!   `AmountRefunded` and `CreateRequests` (the co/cmo items that named the order
//!   number, whatever they were answered).
//! - `GET /__sim/consumers`: every stored consumer.
//! - `GET /__sim/faults` / `POST /__sim/faults` with a [`FaultConfig`] as JSON
//!   (`{"drop_after_store": 1.0}`; missing fields are 0): reads / replaces fault
//!   injection while running; the answer also reports `batch_mode` and
//!   `guide_responses`, which are fixed at start-up.
//! - `POST /__sim/credentials` with `{"MerchantId", "Password"}` changes a merchant's
//!   password while running (tests revoke credentials mid-run this way).
//! - `GET /__sim/clock` / `POST /__sim/clock` with `{"AdvanceSeconds": 90}`: reads /
//!   moves forward the simulator's time (order expiry, "today" for `DatePaid`), so
//!   tests never sleep for time to pass.
//! - `POST /__sim/pay` with `{"ConnectPayIds": [...]}` or `{"Fraction": 0.3}` (and
//!   optionally `"DatePaid": "yyyy-MM-dd"`): pays unpaid orders, answers
//!   `{"Paid": [ids]}`.
//!
//! An order number (orders only) starting with [`SIMFAIL_PREFIX`] (`SIMFAIL02`) is
//! answered `02` and not stored; one starting with [`SIMSILENT_PREFIX`] (`SIMSILENT`)
//! is stored but its answer item carries only `OrderNumber` (nothing to decide by);
//! a create request that first stores one starting with [`SIMLOST_PREFIX`] (`SIMLOST`)
//! loses its answer (the connection drops after the store).
//!
//! Every endpoint answers only the guide's method (405 with `Allow` otherwise).

pub mod clock;
pub mod config;
pub mod faults;
pub mod handlers;
pub mod server;
pub mod state;
pub mod validate;

pub use clock::{Clock, ClockError, SimClock, SystemClock};
pub use config::{BatchMode, DEMO_MERCHANT_ID, DEMO_MERCHANT_PASSWORD, Merchant, Service};
pub use faults::FaultConfig;
pub use handlers::{CSV_ORDERS_MAX, SIMFAIL_PREFIX, SIMLOST_PREFIX, SIMSILENT_PREFIX};

use handlers::AppState;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("simulator state file {path}: {source}")]
    State {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot start the simulator's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// Everything the simulator needs; `Default` is one demo merchant (`demo` /
/// `demo-pass`), per-item batches, no faults, seed 0, state in memory.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// An empty list means the demo merchant.
    pub merchants: Vec<Merchant>,
    pub batch_mode: BatchMode,
    /// Batch answers exactly in the guide's shape (`--guide-responses`): no per-item
    /// `Status`, element 0 with the envelope code only, items with only the keys the
    /// guide's samples show. Otherwise each item also carries its own `Status`.
    pub guide_responses: bool,
    pub faults: FaultConfig,
    /// Seeds fault decisions and `/__sim/pay` `Fraction` picks.
    pub seed: u64,
    /// SQLite file that keeps orders and consumers across restarts.
    pub state_file: Option<PathBuf>,
    /// The time the simulator starts from; [`RunningSim::advance_clock`] and
    /// `POST /__sim/clock` move it forward.
    pub clock: Arc<dyn Clock>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            merchants: vec![Merchant::demo()],
            batch_mode: BatchMode::PerItem,
            guide_responses: false,
            faults: FaultConfig::default(),
            seed: 0,
            state_file: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A simulator serving in the background. Dropping it stops it too.
pub struct RunningSim {
    /// `http://IP:PORT`, without a trailing slash; endpoints are `{base_url}/cpay/...`.
    pub base_url: String,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    state: Arc<AppState>,
}

// The shared state is not Debug (it holds the store); show the address only.
impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("base_url", &self.base_url)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningSim {
    /// Changes fault injection from now on (same as `POST /__sim/faults`), e.g. to
    /// drop one response and then answer normally.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), SimError> {
        self.state.faults.set_config(faults)
    }

    /// The simulator's current time.
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.state.clock.now()
    }

    /// Moves the simulator's time forward (same as `POST /__sim/clock`): orders whose
    /// expiry has passed are blocked at the next request, and "today" follows.
    pub fn advance_clock(
        &self,
        by: std::time::Duration,
    ) -> Result<chrono::NaiveDateTime, SimError> {
        let by = chrono::TimeDelta::from_std(by).map_err(|_| ClockError::OutOfRange)?;
        Ok(self.state.clock.advance(by)?)
    }

    /// Stops accepting, closes open connections and waits until the server task ends
    /// (after which a state file may be reopened).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `listen` (port 0 lets the OS choose) and serves in the current tokio runtime.
pub async fn start(mut config: SimConfig, listen: SocketAddr) -> Result<RunningSim, SimError> {
    let mut merchants = std::mem::take(&mut config.merchants);
    if merchants.is_empty() {
        merchants.push(Merchant::demo());
    }
    config::check_merchants(&merchants)?;
    config.faults.check()?;
    let store = match &config.state_file {
        None => state::Store::in_memory(),
        Some(path) => state::Store::open(path).map_err(|source| SimError::State {
            path: path.clone(),
            source,
        })?,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: listen,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(AppState::new(config, merchants, store, base_url.clone()));
    let router = handlers::router(state.clone());
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, router, stopped));
    Ok(RunningSim {
        base_url,
        addr,
        stop: Some(stop),
        task: Some(task),
        state,
    })
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 lets the OS choose.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// A merchant as ID:PASSWORD (repeatable). Company codes are 0044, 0045, ... in
    /// order. Without any merchant, the demo merchant demo / demo-pass is used.
    #[arg(long = "merchant", value_name = "ID:PASSWORD")]
    pub merchant: Vec<String>,
    /// TOML file of merchants ([[merchant]] id, password, company_code, fee,
    /// min_amount, max_amount, services).
    #[arg(long = "merchants", value_name = "FILE")]
    pub merchants_file: Option<PathBuf>,
    /// How cmo/cmc/umc treat batches with bad items.
    #[arg(long, value_enum, default_value_t = BatchMode::PerItem)]
    pub batch_mode: BatchMode,
    /// Answer cmo/cmc/umc (and co/cc/uc, moap/moab/mofr) exactly in the guide's shape:
    /// no per-item Status, element 0 with the envelope code only.
    #[arg(long)]
    pub guide_responses: bool,
    /// Seed for fault decisions and /__sim/pay picks.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// SQLite file keeping orders and consumers across restarts (default: memory).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Fixed delay before each /cpay/ answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra delay, 0..=N ms.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Share of /cpay/ requests answered HTTP 500 (nothing processed).
    #[arg(long, default_value_t = 0.0)]
    pub fail_500_rate: f64,
    /// Share answered with an HTML error page and HTTP 200 (nothing processed).
    #[arg(long, default_value_t = 0.0)]
    pub html_200_rate: f64,
    /// Share processed but answered with JSON cut in the middle (HTTP 200).
    #[arg(long, default_value_t = 0.0)]
    pub truncate_rate: f64,
    /// Share whose connection is dropped before anything is stored.
    #[arg(long, default_value_t = 0.0)]
    pub drop_before_rate: f64,
    /// Share processed and stored, then the connection dropped (lost response).
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_rate: f64,
}

impl SimArgs {
    pub fn to_config(&self) -> Result<SimConfig, SimError> {
        let mut merchants = match &self.merchants_file {
            Some(path) => config::load_merchants_file(path)?,
            None => Vec::new(),
        };
        let offset = merchants.len();
        for (i, arg) in self.merchant.iter().enumerate() {
            merchants.push(config::parse_merchant_arg(arg, offset + i)?);
        }
        if merchants.is_empty() {
            merchants.push(Merchant::demo());
        }
        config::check_merchants(&merchants)?;
        let faults = FaultConfig {
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            http_500: self.fail_500_rate,
            html_200: self.html_200_rate,
            truncated_json: self.truncate_rate,
            drop_before_store: self.drop_before_rate,
            drop_after_store: self.drop_after_rate,
        };
        faults.check()?;
        Ok(SimConfig {
            merchants,
            batch_mode: self.batch_mode,
            guide_responses: self.guide_responses,
            faults,
            seed: self.seed,
            state_file: self.state.clone(),
            clock: Arc::new(SystemClock),
        })
    }
}

pub fn run(args: &SimArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paypro-console sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &SimArgs) -> Result<(), SimError> {
    let listen: SocketAddr = args.listen.trim().parse().map_err(|_| {
        SimError::Config(format!(
            "--listen '{}' is not an IP:PORT address",
            args.listen
        ))
    })?;
    let config = args.to_config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SimError::Runtime)?;
    rt.block_on(async move {
        let summary = describe(&config);
        let sim = start(config, listen).await?;
        let mut out = std::io::stdout().lock();
        // Scripts and tests read the first line to find the port: flush it at once.
        let _ = writeln!(out, "{}", sim.base_url);
        let _ = out.flush();
        for line in summary {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "inspect: GET {0}/__sim/orders, GET {0}/__sim/consumers, POST {0}/__sim/pay; Ctrl-C stops",
            sim.base_url
        );
        let _ = out.flush();
        drop(out);
        wait_for_stop().await;
        sim.shutdown().await;
        Ok(())
    })
}

/// Start-up lines: merchants (the demo password only: it is public), mode, faults.
fn describe(config: &SimConfig) -> Vec<String> {
    let mut lines = Vec::new();
    for m in &config.merchants {
        if m.id == DEMO_MERCHANT_ID && m.password.expose() == DEMO_MERCHANT_PASSWORD {
            lines.push(format!(
                "demo merchant: id {DEMO_MERCHANT_ID} password {DEMO_MERCHANT_PASSWORD} company code {}",
                m.company_code
            ));
        } else {
            lines.push(format!(
                "merchant: id {} company code {} fee {} amounts {}..{}",
                m.id,
                m.company_code,
                m.fee.to_wire(),
                m.min_amount.to_wire(),
                m.max_amount.to_wire()
            ));
        }
    }
    let f = &config.faults;
    lines.push(format!(
        "batch mode: {}; answers: {}; seed {}; state: {}",
        config.batch_mode,
        if config.guide_responses {
            "guide shape (no per-item Status)"
        } else {
            "with each item's Status"
        },
        config.seed,
        config
            .state_file
            .as_ref()
            .map_or("memory".to_string(), |p| p.display().to_string())
    ));
    if *f != FaultConfig::default() {
        lines.push(format!(
            "faults: latency {}ms + 0..{}ms, 500 {}, html-200 {}, truncated {}, drop-before {}, drop-after {}",
            f.latency_ms,
            f.jitter_ms,
            f.http_500,
            f.html_200,
            f.truncated_json,
            f.drop_before_store,
            f.drop_after_store
        ));
    }
    lines
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
