//! `paypro-console report paid --from DATE --to DATE`: fetches the paid-orders report
//! (in chunks, with a progress bar or plain lines on stderr), fills into the journal
//! the ConnectPay ids it shows for orders whose create answer was lost, and writes the
//! workbook (unless `--reconcile-only`). Exit 0 done, 2 nothing written (bad range,
//! settings, credentials refused, the file exists), 130/143 when stopped.

use super::outcome::{self, EXIT_INTERRUPTED, EXIT_NOT_STARTED, EXIT_OK};
use super::session::{self, Failure};
use super::submit::group_thousands;
use crate::config::{self, ConnectionArgs};
use crate::domain::Money;
use crate::journal::FilledId;
use crate::report::{self, Chunking, DateRange, FetchOptions, ReportError, ReportEvent};
use crate::sheet::write::{self, Overwrite, PaidOrdersDoc, WriteError, Written};
use chrono::{Datelike, Local, NaiveDate};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rust_decimal::Decimal;
use serde::Serialize;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: ReportCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Orders paid in a date range, as an xlsx workbook; also fills in the journal the
    /// ConnectPay ids of orders whose create answer was lost.
    Paid(PaidArgs),
}

#[derive(Debug, clap::Args)]
pub struct PaidArgs {
    /// First day paid (2026-01-31, 31/01/2026 or 2026/01/31).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last day paid, included.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: NaiveDate,
    /// Days per request (default: one request per calendar month).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=366))]
    pub chunk_days: Option<u32>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// The workbook to write (default: paid-orders-MERCHANT-FROM-to-TO.xlsx here).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the workbook if it exists.
    #[arg(long)]
    pub force: bool,
    /// Only fill in the journal the ids the report shows; write no workbook.
    #[arg(long)]
    pub reconcile_only: bool,
    /// Print one JSON object on stdout at the end (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Dates as clerks write them: ISO, day first with slashes, or the guide's yyyy/MM/dd.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    for fmt in ["%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"] {
        // A two-digit year would parse as year 26 AD.
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt)
            && d.year() >= 1900
        {
            return Ok(d);
        }
    }
    Err(format!(
        "'{text}' is not a date; write it as 2026-01-31 or 31/01/2026"
    ))
}

/// The default workbook name; the merchant id is reduced to characters safe in a file
/// name.
pub fn default_file_name(merchant: &str, range: DateRange) -> String {
    let safe: String = merchant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "paid-orders-{safe}-{}-to-{}.xlsx",
        range.start.format("%Y-%m-%d"),
        range.end.format("%Y-%m-%d")
    )
}

/// The `--json` object.
#[derive(Debug, Serialize)]
pub struct PaidSummary {
    pub merchant_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `null` with `--reconcile-only`.
    pub file: Option<String>,
    pub orders: usize,
    pub chunks: usize,
    pub duplicates_removed: usize,
    pub total_order_amount: String,
    pub total_paid: String,
    pub ids_filled: usize,
    pub filled: Vec<FilledId>,
}

pub fn run(args: &ReportArgs, journal: Option<&Path>) -> ExitCode {
    match &args.report {
        ReportCommand::Paid(paid) => match run_paid(paid, journal) {
            Ok(code) => code,
            Err(f) => f.report("report paid"),
        },
    }
}

fn not_started(e: impl std::fmt::Display) -> Failure {
    Failure::not_started(e.to_string())
}

fn run_paid(args: &PaidArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let range = DateRange {
        start: args.from,
        end: args.to,
    };
    if range.start > range.end {
        return Err(Failure::not_started(format!(
            "--from {} is after --to {}; nothing was fetched",
            range.start, range.end
        )));
    }
    let connection = config::resolve(&args.connection).map_err(not_started)?;
    let base_url = connection
        .require_base_url()
        .map_err(not_started)?
        .to_string();
    let merchant = connection
        .require_merchant()
        .map_err(not_started)?
        .to_string();
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let output = if args.reconcile_only {
        None
    } else {
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(default_file_name(&merchant, range)));
        // Refused before anything is fetched.
        write::check_target(&path, overwrite).map_err(not_started)?;
        Some(path)
    };
    let journal = session::open_journal(journal_path)?;
    let password = config::password(&merchant, &base_url).map_err(not_started)?;
    // What the report writes into the journal (ids, descriptions) passes the password's
    // redaction like everything else the journal stores.
    journal.set_redactions(vec![password.clone()]);
    let client = crate::api::Client::new(session::connection(&base_url, &merchant, password))
        .map_err(|e| Failure::not_started(format!("{e}; check --base-url or PAYPRO_BASE_URL")))?;
    let options = FetchOptions {
        chunking: args.chunk_days.map_or(Chunking::Months, Chunking::Days),
        concurrency: usize::from(args.concurrency),
        ..FetchOptions::default()
    };

    let rt = session::runtime()?;
    let cancel = stop_on_signals(&rt);
    let fetched = rt.block_on(fetch_with_progress(
        &client,
        &merchant,
        &base_url,
        range,
        &options,
        cancel.clone(),
    ));
    let report = match fetched {
        Ok(r) => r,
        Err(ReportError::Cancelled) => {
            eprintln!("paypro-console report paid: stopped; nothing was written");
            return Ok(outcome::exit(EXIT_INTERRUPTED));
        }
        Err(e) => return Err(Failure::not_started(format!("{e}; nothing was written"))),
    };

    let filled = report::reconcile(&journal, &report).map_err(|e| {
        Failure::not_started(format!(
            "the report was fetched but the journal could not record the ids it shows: {e}; nothing was written"
        ))
    })?;
    // What refunds are checked against: these orders are paid, by these amounts.
    report::record_paid(&journal, &report).map_err(|e| {
        Failure::not_started(format!(
            "the report was fetched but the journal could not record the orders it shows as paid: {e}; nothing was written"
        ))
    })?;
    let total_amount: Decimal = report.orders.iter().filter_map(|o| o.order_amount).sum();
    let total_paid: Decimal = report.orders.iter().filter_map(|o| o.amount_paid).sum();

    let mut lines = String::new();
    lines.push_str(&format!(
        "{} paid orders from {} to {} for merchant {merchant} ({} request{}, {} duplicate{} removed)\n",
        report.orders.len(),
        range.start.format("%d/%m/%Y"),
        range.end.format("%d/%m/%Y"),
        report.chunks,
        if report.chunks == 1 { "" } else { "s" },
        report.duplicates,
        if report.duplicates == 1 { "" } else { "s" },
    ));
    lines.push_str(&format!(
        "total order amount {}, total paid {}\n",
        amount_text(total_amount),
        amount_text(total_paid)
    ));
    lines.push_str(&filled_lines(&filled));

    let file = match &output {
        None => None,
        Some(path) => {
            let known = report::known_orders(&report, &journal).map_err(|e| {
                Failure::not_started(format!(
                    "{e}; the ids were recorded; no workbook was written"
                ))
            })?;
            let notes = vec![
                ("Server".to_string(), base_url.clone()),
                (
                    "Fetched in".to_string(),
                    format!(
                        "{} request{} ({}), {} duplicate{} removed",
                        report.chunks,
                        if report.chunks == 1 { "" } else { "s" },
                        match options.chunking {
                            Chunking::Months => "one per calendar month".to_string(),
                            Chunking::Days(n) => format!("{n} days each"),
                        },
                        report.duplicates,
                        if report.duplicates == 1 { "" } else { "s" },
                    ),
                ),
            ];
            let doc = PaidOrdersDoc {
                merchant_id: &merchant,
                start: range.start,
                end: range.end,
                generated_at: report.fetched_at.with_timezone(&Local).naive_local(),
                expected_rows: report.orders.len() as u64,
                notes: &notes,
            };
            let mut bar = WriteBar::new(doc.expected_rows, "writing");
            let rows = report.orders.iter().map(|o| report::paid_row(o, &known));
            let written = write::write_paid_orders(path, &doc, rows, overwrite, &mut |w| {
                bar.update(w, &cancel)
            })
            .map_err(|e| write_failure(e, filled.len()))?;
            bar.finish();
            lines.push_str(&format!(
                "wrote {}: {} orders, total paid {}\n",
                written.path.display(),
                written.orders,
                amount_text(written.total_paid)
            ));
            Some(written.path.display().to_string())
        }
    };

    if args.json {
        eprint!("{lines}");
        let summary = PaidSummary {
            merchant_id: merchant.clone(),
            from: range.start,
            to: range.end,
            file,
            orders: report.orders.len(),
            chunks: report.chunks,
            duplicates_removed: report.duplicates,
            total_order_amount: total_amount.to_string(),
            total_paid: total_paid.to_string(),
            ids_filled: filled.len(),
            filled,
        };
        let text = serde_json::to_string(&summary).map_err(not_started)? + "\n";
        session::say(false, &text);
    } else {
        session::say(false, &lines);
    }
    Ok(outcome::exit(EXIT_OK))
}

fn write_failure(e: WriteError, filled: usize) -> Failure {
    let ids = if filled > 0 {
        format!(" (the {filled} ids filled into the journal are kept)")
    } else {
        String::new()
    };
    Failure {
        code: if matches!(e, WriteError::Cancelled { .. }) {
            EXIT_INTERRUPTED
        } else {
            EXIT_NOT_STARTED
        },
        message: format!("{e}{ids}"),
    }
}

/// `1,234.50`, or the plain decimal when it has more than two decimals.
pub fn amount_text(d: Decimal) -> String {
    Money::new(d).map_or_else(|_| d.to_string(), |m| group_thousands(&m))
}

/// What reconciliation did, for the clerk.
pub fn filled_lines(filled: &[FilledId]) -> String {
    if filled.is_empty() {
        return "no ConnectPay ids to fill in: no order of the journal whose id was unknown is in this report\n".to_string();
    }
    let mut out = format!(
        "filled {} ConnectPay id{} into the journal (orders whose create answer had been lost):\n",
        filled.len(),
        if filled.len() == 1 { "" } else { "s" }
    );
    for f in filled.iter().take(10) {
        out.push_str(&format!(
            "  run {} row {} order {}: {}\n",
            f.run, f.row, f.order_number, f.connectpay_id
        ));
    }
    if filled.len() > 10 {
        out.push_str(&format!("  ... and {} more\n", filled.len() - 10));
    }
    out
}

/// A token cancelled by Ctrl-C or SIGTERM (for as long as `rt` lives), so that an
/// export stops cleanly: its temporary file removed, nothing under the final name.
pub fn stop_on_signals(rt: &tokio::runtime::Runtime) -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    // Registered here, on the caller's thread, so no signal can slip in before.
    let signals = rt.block_on(async {
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    });
    rt.spawn(async move {
        let (mut sigint, mut sigterm) = signals;
        tokio::select! {
            _ = next_signal(&mut sigint) => {}
            _ = next_signal(&mut sigterm) => {}
        }
        token.cancel();
    });
    cancel
}

/// Fetches while drawing the chunks' progress on stderr; `cancel` stops it.
async fn fetch_with_progress(
    client: &crate::api::Client,
    merchant: &str,
    base_url: &str,
    range: DateRange,
    options: &FetchOptions,
    cancel: CancellationToken,
) -> Result<report::PaidReport, ReportError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let fetch = report::fetch_paid_orders(
        client,
        merchant,
        base_url,
        range,
        options,
        Some(tx),
        cancel.clone(),
    );
    tokio::pin!(fetch);
    let mut view = ChunkView::new(std::io::stderr().is_terminal());
    let result = loop {
        tokio::select! {
            biased;
            Some(event) = rx.recv() => view.event(&event),
            result = &mut fetch => break result,
        }
    };
    while let Ok(event) = rx.try_recv() {
        view.event(&event);
    }
    view.finish();
    result
}

async fn next_signal(sig: &mut Option<tokio::signal::unix::Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// The chunks' progress: a bar on a terminal, one line per chunk otherwise.
struct ChunkView {
    bar: Option<ProgressBar>,
    chunks: usize,
    orders: usize,
}

impl ChunkView {
    fn new(terminal: bool) -> ChunkView {
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "paid orders [{bar:30.cyan/blue}] {pos}/{len} requests {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ChunkView {
            bar,
            chunks: 0,
            orders: 0,
        }
    }

    fn say(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn event(&mut self, event: &ReportEvent) {
        match event {
            ReportEvent::Started { range, chunks } => {
                self.chunks = *chunks;
                if let Some(bar) = &self.bar {
                    bar.set_length(*chunks as u64);
                }
                self.say(&format!(
                    "fetching paid orders from {range} in {chunks} request{}",
                    if *chunks == 1 { "" } else { "s" }
                ));
            }
            ReportEvent::ChunkStarted { .. } => {}
            ReportEvent::ChunkRetrying {
                index,
                range,
                attempt,
                delay,
                error,
            } => self.say(&format!(
                "request {}/{} ({range}) failed (try {attempt}): {error}; trying again in {}",
                index + 1,
                self.chunks,
                super::progress::short_duration(*delay)
            )),
            ReportEvent::ChunkDone {
                index,
                range,
                orders,
            } => {
                self.orders += orders;
                match &self.bar {
                    Some(bar) => {
                        bar.inc(1);
                        bar.set_message(format!("{} orders", self.orders));
                    }
                    None => eprintln!(
                        "request {}/{} ({range}): {orders} paid order{}",
                        index + 1,
                        self.chunks,
                        if *orders == 1 { "" } else { "s" }
                    ),
                }
            }
            ReportEvent::Merged { .. } => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A bar while a large workbook is written (terminals only).
pub struct WriteBar {
    bar: Option<ProgressBar>,
}

impl WriteBar {
    pub fn new(total: u64, what: &str) -> WriteBar {
        let bar =
            (std::io::stderr().is_terminal() && total >= 10 * write::PROGRESS_EVERY).then(|| {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(&format!(
                    "{what} [{{bar:30}}] {{pos}}/{{len}} rows"
                )) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            });
        WriteBar { bar }
    }

    /// Draws `w`; breaks (cancelling the export) once `cancel` is cancelled.
    pub fn update(&mut self, w: Written, cancel: &CancellationToken) -> ControlFlow<()> {
        if let Some(bar) = &self.bar {
            bar.set_position(w.rows);
        }
        if cancel.is_cancelled() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_clerks_write_them() {
        let want = NaiveDate::from_ymd_opt(2026, 1, 31);
        assert_eq!(parse_date("2026-01-31").ok(), want);
        assert_eq!(parse_date("31/01/2026").ok(), want);
        assert_eq!(parse_date("2026/01/31").ok(), want);
        assert!(parse_date("31-01-26").unwrap_err().contains("not a date"));
    }

    #[test]
    fn default_names_are_safe_file_names() {
        let range = DateRange {
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            end: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
        };
        assert_eq!(
            default_file_name("acme/../x y", range),
            "paid-orders-acme____x_y-2026-01-01-to-2026-03-31.xlsx"
        );
    }
}
