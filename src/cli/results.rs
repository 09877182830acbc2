//! `paypro-console results RUN`: a run's results workbook (or `--csv` files), one sheet
//! per outcome with every row's own columns and what became of it, and a Summary.
//! Read-only on the journal; never takes the run's lock. Exit 0 written, 2 not (no such
//! run, the file exists, cannot write), 130 stopped by Ctrl-C.

use super::outcome::{self, EXIT_INTERRUPTED, EXIT_NOT_STARTED, EXIT_OK};
use super::report::{WriteBar, stop_on_signals};
use super::session::{self, Failure};
use crate::journal::RunId;
use crate::report::results::{ResultsError, ResultsTarget, export_results};
use crate::sheet::write::{Overwrite, ResultsWritten, WriteError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ResultsArgs {
    /// The run's number (see `paypro-console runs`).
    pub run: i64,
    /// The workbook to write (default: run-RUN-results.xlsx here); with --csv, the
    /// directory for the CSV files (default: here).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Write CSV files (run-RUN-results-created.csv, ..., run-RUN-results-summary.csv)
    /// instead of a workbook.
    #[arg(long)]
    pub csv: bool,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct GroupLine {
    group: &'static str,
    rows: u64,
    order_amount: String,
    fees: String,
}

#[derive(Debug, Serialize)]
struct ResultsSummary {
    run: RunId,
    files: Vec<String>,
    rows: u64,
    groups: Vec<GroupLine>,
}

pub fn run(args: &ResultsArgs, journal: Option<&Path>) -> ExitCode {
    match run_inner(args, journal) {
        Ok(code) => code,
        Err(f) => f.report("results"),
    }
}

fn run_inner(args: &ResultsArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let run = RunId(args.run);
    let stem = format!("run-{}-results", args.run);
    let target = if args.csv {
        ResultsTarget::Csv {
            dir: args.output.clone().unwrap_or_else(|| PathBuf::from(".")),
            stem,
        }
    } else {
        ResultsTarget::Xlsx(
            args.output
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{stem}.xlsx"))),
        )
    };
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let rt = session::runtime()?;
    let cancel = stop_on_signals(&rt);
    let total = journal.counts(run).map(|c| c.total()).unwrap_or(0);
    let mut bar = WriteBar::new(total, "writing");
    let written = export_results(&journal, run, &target, overwrite, &mut |w| {
        bar.update(w, &cancel)
    });
    bar.finish();
    drop(rt);
    let written = written.map_err(|e| Failure {
        code: match &e {
            ResultsError::Write(w) if matches!(**w, WriteError::Cancelled { .. }) => {
                EXIT_INTERRUPTED
            }
            _ => EXIT_NOT_STARTED,
        },
        message: e.to_string(),
    })?;
    let text = if args.json {
        let summary = ResultsSummary {
            run,
            files: written
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            rows: written.rows(),
            groups: written
                .groups
                .iter()
                .map(|(g, t)| GroupLine {
                    group: g.sheet_name(),
                    rows: t.rows,
                    order_amount: t.amount.to_string(),
                    fees: t.fees.to_string(),
                })
                .collect(),
        };
        serde_json::to_string(&summary).map_err(|e| Failure::not_started(e.to_string()))? + "\n"
    } else {
        render(run, &written)
    };
    session::say(false, &text);
    Ok(outcome::exit(EXIT_OK))
}

/// `wrote run-3-results.xlsx: 1000 rows: 950 created, ...`.
fn render(run: RunId, written: &ResultsWritten) -> String {
    let counts: Vec<String> = written
        .groups
        .iter()
        .map(|(g, t)| format!("{} {}", t.rows, g.sheet_name().to_ascii_lowercase()))
        .collect();
    let mut out = format!(
        "run {run}: {} rows: {}\n",
        written.rows(),
        counts.join(", ")
    );
    for p in &written.paths {
        out.push_str(&format!("wrote {}\n", p.display()));
    }
    out
}
