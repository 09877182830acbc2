//! `paypro-console demo`: the whole flow on this machine with nothing to set up. Without
//! `--headless` it opens the console (`crate::tui`) on the in-process simulator, a
//! temporary journal and the file browser in `samples/`. With `--headless` it
//! starts the simulator in-process on a free loopback port, with some latency and a few
//! injected faults (deterministic under [`DEMO_SEED`], chosen so that the very first
//! request meets one and a retry always shows), journals into a fresh temporary
//! directory (kept, and printed) unless `--journal` is given, has the engine plan and
//! drive `samples/orders.xlsx` with the live progress display, and prints the summary.

use super::session::{self, Failure};
use crate::Secret;
use crate::domain::Kind;
use crate::engine::{self, EngineSettings, PlanRequest, Start, Target};
use crate::journal::Journal;
use crate::sim::{self, DEMO_MERCHANT_ID, DEMO_MERCHANT_PASSWORD, FaultConfig, SimConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Seeds the simulator's faults and the engine's jitter.
pub const DEMO_SEED: u64 = 1;

/// The demo's simulator: a little latency, and per request a 10% chance of HTTP 500
/// (nothing stored) and 5% of a lost answer after the orders were stored (the retry
/// then meets `01`, recorded as "exists, id unknown" rather than as a second order).
pub fn demo_faults() -> FaultConfig {
    FaultConfig {
        latency_ms: 80,
        jitter_ms: 120,
        http_500: 0.10,
        drop_after_store: 0.05,
        ..FaultConfig::default()
    }
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Print one JSON summary object on stdout at the end (progress stays on stderr).
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// No console: submit samples/orders.xlsx with a plain progress display (for
    /// scripts).
    #[arg(long)]
    pub headless: bool,
    /// Colours of the console: auto follows NO_COLOR.
    #[arg(long, value_enum, default_value_t = crate::tui::theme::ColorChoice::Auto)]
    pub color: crate::tui::theme::ColorChoice,
}

/// The console's start for `demo` (without `--headless`). The console needs a
/// terminal: without one, the clerk is pointed at `--headless`.
pub fn console_start(
    args: &DemoArgs,
    journal_path: Option<&Path>,
) -> Result<crate::tui::Start, ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Failure::not_started(
            "the demo opens the console, which needs a terminal; for scripts use: \
             paypro-console demo --headless",
        )
        .report("demo"));
    }
    Ok(crate::tui::Start {
        journal: journal_path.map(Path::to_path_buf),
        open: None,
        demo: true,
        color: args.color,
        connection: crate::config::ConnectionArgs::default(),
        settings: EngineSettings {
            concurrency: usize::from(args.concurrency),
            seed: Some(DEMO_SEED),
            ..EngineSettings::default()
        },
    })
}

/// `samples/orders.xlsx` next to the sources this binary was built from, else under the
/// current directory.
pub fn sample_orders() -> Option<PathBuf> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join("orders.xlsx");
    let local = Path::new("samples").join("orders.xlsx");
    [built, local].into_iter().find(|p| p.is_file())
}

/// `--journal` deliberately wins over nothing else: the demo never writes into the
/// journal named by `PAYPRO_JOURNAL`, which may be the clerk's real one.
pub fn run(args: &DemoArgs, journal_path: Option<&Path>) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("demo"),
    }
}

fn run_inner(args: &DemoArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let file = sample_orders().ok_or_else(|| {
        Failure::not_started(format!(
            "cannot find samples/orders.xlsx (looked in {} and ./samples); run the demo from the \
             source directory, or write the samples with: cargo run --example gen_samples",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples")
                .display()
        ))
    })?;
    let journal_file = match journal_path {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("paypro-console-demo-")
                .tempdir()
                .map_err(|e| {
                    Failure::not_started(format!("cannot make a temporary directory: {e}"))
                })?;
            // Kept on purpose: the clerk is told where the journal is to explore it.
            dir.keep().join(crate::journal::FILE_NAME)
        }
    };
    let journal = Journal::open(&journal_file).map_err(|e| Failure::not_started(e.to_string()))?;
    let rt = session::runtime()?;
    rt.block_on(async {
        let sim = sim::start(
            SimConfig {
                faults: demo_faults(),
                seed: DEMO_SEED,
                ..SimConfig::default()
            },
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        )
        .await
        .map_err(|e| Failure::not_started(format!("cannot start the simulator: {e}")))?;
        let code = demo_run(args, &journal, &file, &sim.base_url).await;
        sim.shutdown().await;
        code
    })
}

/// Plans the sample sheet against the simulator at `base_url`, drives it, and says
/// where to look afterwards.
async fn demo_run(
    args: &DemoArgs,
    journal: &Journal,
    file: &Path,
    base_url: &str,
) -> Result<ExitCode, Failure> {
    // The simulator is new every time, so orders an earlier demo run journaled are not
    // on it: the cross-run guard does not apply.
    let plan = engine::plan(
        journal,
        PlanRequest {
            file: file.to_path_buf(),
            kind: Some(Kind::Orders),
            sheet: None,
            target: Target {
                base_url: base_url.to_string(),
                merchant_id: DEMO_MERCHANT_ID.to_string(),
            },
            allow_resend: true,
            // The demo's profile carries the simulator's limits for its merchant.
            amount_limits: Some(demo_amount_limits()),
        },
    )
    .map_err(|e| Failure::not_started(e.to_string()))?;
    session::say(
        args.json,
        &format!(
            "demo: simulator at {base_url} (in this process, with latency and injected faults; nothing leaves the machine)\n\
             demo: sending {} ({} rows) as merchant {DEMO_MERCHANT_ID}\n\
             demo: journal {}\n",
            file.display(),
            plan.preview.rows,
            journal.path().display()
        ),
    );
    let connection = session::connection(
        base_url,
        DEMO_MERCHANT_ID,
        Secret::new(DEMO_MERCHANT_PASSWORD),
    );
    let settings = EngineSettings {
        concurrency: usize::from(args.concurrency),
        seed: Some(DEMO_SEED),
        ..EngineSettings::default()
    };
    let mut signals = session::Signals::install();
    let handle = session::start(
        journal,
        Start::plan(plan),
        Some(connection),
        &settings,
        &mut signals,
    )
    .await?;
    let run = handle.run;
    let driven = session::watch(journal, handle, signals).await;
    let retries = driven.result.as_ref().map(|r| r.retries).unwrap_or(0);
    let code = session::finish(journal, driven, args.json);
    let prefix = session::command_prefix(journal.path());
    session::say(
        args.json,
        &format!(
            "demo: {retries} item sends were retried after injected faults\n\
             demo: the journal is {} (kept); look inside with:\n  {prefix} runs\n  {prefix} show {run}\n",
            journal.path().display(),
        ),
    );
    code
}

/// The amount limits of the simulator's demo merchant, as a profile would mirror them.
pub fn demo_amount_limits() -> crate::domain::AmountLimits {
    let demo = crate::sim::Merchant::demo();
    crate::domain::AmountLimits {
        min: demo.min_amount,
        max: demo.max_amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::{Fault, Faults};

    #[test]
    fn the_demo_profile_mirrors_the_simulators_limits() {
        let l = demo_amount_limits();
        assert_eq!(
            (l.min.to_string(), l.max.to_string()),
            ("1.00".into(), "1000000.00".into())
        );
    }

    /// The faults are drawn per request in arrival order from one seeded stream, so
    /// what this checks holds for every demo run, whatever the concurrency: the first
    /// request to arrive always meets a fault, hence at least one retry; and the
    /// first `batches + 5` draws hold at most 5 faults, so no batch can fail its 6
    /// sends (the sample has at most `batches` batches).
    #[test]
    fn the_seed_always_shows_a_retry_and_never_fails_a_row() {
        let faults = Faults::new(demo_faults(), DEMO_SEED);
        let batches = 10; // samples/orders.xlsx: 200 rows = 4 batches of 50
        let plans: Vec<Fault> = (0..batches + 5).map(|_| faults.plan().fault).collect();
        assert_ne!(plans[0], Fault::None, "{plans:?}");
        let n = plans.iter().filter(|f| **f != Fault::None).count();
        assert!(n <= 5, "{plans:?}");
        assert!(
            EngineSettings::default().max_attempts > 5,
            "the bound above assumes 6 sends per item"
        );
    }

    #[test]
    fn the_samples_are_found_from_the_build() {
        let p = sample_orders().expect("samples/orders.xlsx is part of the sources");
        assert!(p.ends_with("samples/orders.xlsx"));
    }
}
