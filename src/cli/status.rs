//! `paypro-console status RUN` and `status --ids FILE`: looks up every created order of
//! a run (or every ConnectPay Id of a file) with `gos`, journals what PayPro says with
//! the time of the check, and prints the tally (unpaid / paid / blocked / refunded /
//! expired; `--json` for scripts). Exit 0 every order checked, 1 some not found or not
//! checkable (or rows of the file left out), 2 nothing checked (no such run, bad file,
//! credentials refused), 130/143 stopped by a signal (what was checked is journaled).

use super::outcome::{self, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS};
use super::report::stop_on_signals;
use super::session::{self, Failure};
use crate::config::{self, ConnectionArgs};
use crate::engine::status::{
    StatusError, StatusEvent, StatusOptions, StatusReport, StatusRequest, StatusSource, Tally,
    refresh_status,
};
use crate::engine::{self};
use crate::journal::{CheckId, RunId};
use crate::sheet::codes::{self, CONNECTPAY_IDS};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["run", "ids"]))]
pub struct StatusArgs {
    /// The run whose created orders to look up (see `paypro-console runs`).
    pub run: Option<i64>,
    /// A file of ConnectPay Ids to look up instead (one a line, or a column headed
    /// "ConnectPay Id" in a CSV or workbook, such as a results or paid-orders file).
    #[arg(long, value_name = "FILE", conflicts_with = "run")]
    pub ids: Option<PathBuf>,
    /// Look-ups in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Print one JSON object on stdout at the end (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The `--json` object.
#[derive(Debug, Serialize)]
pub struct StatusSummary {
    pub check: CheckId,
    pub run: Option<RunId>,
    pub merchant_id: String,
    /// Orders looked up.
    pub orders: u64,
    #[serde(flatten)]
    pub tally: Tally,
    /// Rows of the ids file left out (not a ConnectPay Id).
    pub rows_left_out: usize,
    pub journal: String,
}

pub fn run(args: &StatusArgs, journal_path: Option<&Path>) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("status"),
    }
}

fn not_started(e: impl std::fmt::Display) -> Failure {
    Failure::not_started(e.to_string())
}

fn run_inner(args: &StatusArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let resolved = config::resolve(&args.connection).map_err(not_started)?;
    let mut left_out = 0;
    let (source, base_url, merchant) = match (args.run, &args.ids) {
        (Some(id), _) => {
            let run = journal
                .run(RunId(id))
                .map_err(not_started)?
                .ok_or_else(|| {
                    Failure::not_started(format!(
                        "run {id} is not in the journal {}; paypro-console runs lists them",
                        journal.path().display()
                    ))
                })?;
            if run.kind != "orders" {
                return Err(Failure::not_started(format!(
                    "run {id} is a {} run; a status refresh looks up the orders an orders run created",
                    run.kind
                )));
            }
            let to = engine::connection_for_run(&run, &resolved).map_err(not_started)?;
            if let Some(note) = &to.note {
                eprintln!("{note}");
            }
            (StatusSource::Run(run.id), to.base_url, to.merchant_id)
        }
        (None, Some(file)) => {
            let read = codes::read_codes(file, &CONNECTPAY_IDS).map_err(not_started)?;
            for issue in &read.issues {
                eprintln!("{}: {issue}", file.display());
            }
            left_out = read.issues.iter().filter(|i| i.is_error()).count();
            if read.codes.is_empty() {
                return Err(Failure::not_started(format!(
                    "{}: no ConnectPay Id to look up",
                    file.display()
                )));
            }
            let source = StatusSource::Ids {
                name: file.display().to_string(),
                ids: read.codes.into_iter().map(|c| c.code).collect(),
            };
            (
                source,
                resolved
                    .require_base_url()
                    .map_err(not_started)?
                    .to_string(),
                resolved
                    .require_merchant()
                    .map_err(not_started)?
                    .to_string(),
            )
        }
        (None, None) => {
            return Err(Failure::not_started(
                "say which orders: a run number, or --ids FILE",
            ));
        }
    };
    let password = config::password(&merchant, &base_url).map_err(not_started)?;
    journal.set_redactions(vec![password.clone()]);
    let client = crate::api::Client::new(session::connection(&base_url, &merchant, password))
        .map_err(|e| not_started(format!("{e}; check --base-url or PAYPRO_BASE_URL")))?;
    let options = StatusOptions {
        concurrency: usize::from(args.concurrency),
        ..StatusOptions::default()
    };
    let rt = session::runtime()?;
    let cancel = stop_on_signals(&rt);
    let request = StatusRequest {
        merchant_id: merchant.clone(),
        base_url,
        source,
    };
    let result = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let refresh = refresh_status(&journal, &client, request, &options, Some(tx), cancel);
        tokio::pin!(refresh);
        let mut lines = Lines::new();
        loop {
            tokio::select! {
                Some(event) = rx.recv() => lines.event(&event),
                result = &mut refresh => {
                    while let Ok(event) = rx.try_recv() {
                        lines.event(&event);
                    }
                    lines.done();
                    break result;
                }
            }
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(StatusError::Cancelled { done, total }) => {
            eprintln!(
                "paypro-console status: stopped after {done} of {total} orders; what was checked is journaled"
            );
            return Ok(outcome::exit(EXIT_INTERRUPTED));
        }
        Err(e) => return Err(Failure::not_started(e.to_string())),
    };
    let summary = StatusSummary {
        check: report.check,
        run: report.run,
        merchant_id: merchant,
        orders: report.tally.total(),
        tally: report.tally,
        rows_left_out: left_out,
        journal: journal.path().display().to_string(),
    };
    let text = if args.json {
        serde_json::to_string(&summary).map_err(not_started)? + "\n"
    } else {
        render(&report, &summary)
    };
    session::say(false, &text);
    let clean = report.tally.not_found == 0 && report.tally.failed == 0 && left_out == 0;
    Ok(outcome::exit(if clean { EXIT_OK } else { EXIT_PROBLEMS }))
}

/// `status of run 3: 1000 orders: 700 unpaid, 300 paid, ...` and the orders that
/// could not be checked.
fn render(report: &StatusReport, summary: &StatusSummary) -> String {
    let what = match report.run {
        Some(run) => format!("run {run}"),
        None => "the ids given".to_string(),
    };
    let mut out = format!(
        "status of {what} ({} orders, check {}): {}\n",
        summary.orders,
        report.check,
        report.tally.line()
    );
    let unchecked: Vec<_> = report
        .observations
        .iter()
        .filter(|o| o.status.is_none())
        .collect();
    for o in unchecked.iter().take(20) {
        out.push_str(&format!(
            "  {} {}: {}\n",
            o.connectpay_id,
            o.order_number.as_deref().unwrap_or(""),
            o.error.as_deref().unwrap_or("no answer")
        ));
    }
    if unchecked.len() > 20 {
        out.push_str(&format!("  ... and {} more\n", unchecked.len() - 20));
    }
    if summary.rows_left_out > 0 {
        out.push_str(&format!(
            "{} rows of the file were left out (see above)\n",
            summary.rows_left_out
        ));
    }
    out
}

/// Progress on stderr: a line at most once a second (and at the end).
struct Lines {
    last: Option<Instant>,
    pending: Option<String>,
    terminal: bool,
}

impl Lines {
    fn new() -> Lines {
        Lines {
            last: None,
            pending: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn event(&mut self, event: &StatusEvent) {
        let line = match event {
            StatusEvent::Started { total } => format!("status: looking up {total} orders"),
            StatusEvent::Checked { done, total, tally } => {
                format!("status: {done}/{total} checked: {}", tally.line())
            }
            StatusEvent::Retrying {
                connectpay_id,
                attempt,
                error,
            } => format!("status: {connectpay_id}: try {attempt} failed, trying again: {error}"),
        };
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due || !matches!(event, StatusEvent::Checked { .. }) {
            self.print(&line);
            self.pending = None;
        } else {
            self.pending = Some(line);
        }
    }

    fn print(&mut self, line: &str) {
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        self.last = Some(Instant::now());
    }

    fn done(&mut self) {
        if let Some(line) = self.pending.take() {
            self.print(&line);
        }
        if self.terminal {
            eprintln!();
        }
    }
}
