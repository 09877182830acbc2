//! `paypro-console runs` (every run with its per-state counts) and `paypro-console show
//! RUN` (a run's rows: state, ConnectPayId, fee, PayPro's answer), as text or JSON.
//! Read-only: they never take a run's lock.

use super::outcome::{EXIT_NOT_STARTED, exit};
use super::session::{self, Failure};
use crate::domain::Issue;
use crate::journal::{Item, ItemState, Journal, RunId, RunSummary};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The run's number (see `paypro-console runs`).
    pub run: i64,
    /// Only rows in this state: invalid, pending, in_flight, created, exists_before_run,
    /// exists_id_unknown, rejected, failed or skipped.
    #[arg(long, value_name = "STATE", value_parser = parse_state)]
    pub state: Option<ItemState>,
    /// Print a JSON array of rows instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_state(text: &str) -> Result<ItemState, String> {
    let norm = text.trim().to_ascii_lowercase().replace('-', "_");
    ItemState::parse(&norm).ok_or_else(|| {
        let names: Vec<&str> = ItemState::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown state '{text}'; use one of {}", names.join(", "))
    })
}

/// One run in `runs --json`.
#[derive(Debug, Serialize)]
pub struct RunRow {
    pub run: RunId,
    pub state: String,
    pub kind: String,
    pub file: String,
    pub sheet: Option<String>,
    pub merchant_id: String,
    pub base_url: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The process driving it now, if any.
    pub locked_by_pid: Option<u32>,
    pub rows: u64,
    pub counts: crate::journal::StateCounts,
}

impl RunRow {
    pub fn of(s: &RunSummary) -> RunRow {
        RunRow {
            run: s.run.id,
            state: s.run.state.to_string(),
            kind: s.run.kind.clone(),
            file: s.run.source_file.clone(),
            sheet: s.run.sheet.clone(),
            merchant_id: s.run.merchant_id.clone(),
            base_url: s.run.base_url.clone(),
            created_at: s.run.created_at.to_rfc3339(),
            finished_at: s.run.finished_at.map(|t| t.to_rfc3339()),
            locked_by_pid: s.run.lock.as_ref().map(|l| l.pid),
            rows: s.counts.total(),
            counts: s.counts,
        }
    }
}

/// One row in `show --json`; states are named as in the architecture's state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    pub row: u32,
    pub key: String,
    pub state: ItemState,
    pub connectpay_id: Option<String>,
    /// As PayPro reported it, a decimal string (`"60.00"`).
    pub fee: Option<String>,
    pub status_code: Option<String>,
    /// PayPro's description, the last error, why the row is invalid, or which earlier
    /// run created it.
    pub message: Option<String>,
    pub attempts: u32,
}

impl ItemRow {
    pub fn of(item: &Item, earlier: Option<String>) -> ItemRow {
        ItemRow {
            row: item.row,
            key: item.key.clone(),
            state: item.state,
            connectpay_id: item.connectpay_id.clone(),
            fee: item.fee.map(|f| f.to_string()),
            status_code: item.status_code.clone(),
            message: message_of(item).or(earlier),
            attempts: item.attempts,
        }
    }
}

/// The most useful text about a row: its issues when invalid, else PayPro's answer,
/// else the last error.
fn message_of(item: &Item) -> Option<String> {
    if item.state == ItemState::Invalid
        && let Ok(issues) = serde_json::from_value::<Vec<Issue>>(item.issues.clone())
    {
        let errors: Vec<String> = issues
            .iter()
            .filter(|i| i.is_error())
            .map(|i| format!("{}: {}", i.column, i.message))
            .collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
    }
    let nonempty = |s: &Option<String>| s.clone().filter(|t| !t.trim().is_empty());
    match item.state {
        ItemState::Failed | ItemState::Pending | ItemState::InFlight => {
            nonempty(&item.last_error).or_else(|| nonempty(&item.description))
        }
        _ => nonempty(&item.description).or_else(|| nonempty(&item.last_error)),
    }
}

pub fn runs(args: &RunsArgs, journal_path: Option<&Path>) -> ExitCode {
    let journal = match session::open_journal(journal_path) {
        Ok(j) => j,
        Err(f) => return f.report("runs"),
    };
    let list = match journal.runs() {
        Ok(l) => l,
        Err(e) => return Failure::not_started(e.to_string()).report("runs"),
    };
    let text = if args.json {
        let rows: Vec<RunRow> = list.iter().map(RunRow::of).collect();
        match serde_json::to_string_pretty(&rows) {
            Ok(j) => j + "\n",
            Err(e) => return Failure::not_started(e.to_string()).report("runs"),
        }
    } else {
        render_runs(&list, journal.path())
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    exit(0)
}

/// The runs table, newest first.
pub fn render_runs(list: &[RunSummary], journal: &Path) -> String {
    if list.is_empty() {
        return format!(
            "no runs in {}; send a spreadsheet with: paypro-console submit FILE\n",
            journal.display()
        );
    }
    let mut out = format!(
        "{:>5}  {:<13} {:<16} {:<17} {:>6} {:>7} {:>6} {:>8} {:>6} {:>7} {:>7}  {}\n",
        "RUN",
        "STATE",
        "KIND",
        "STARTED (UTC)",
        "ROWS",
        "CREATED",
        "EXISTS",
        "REJECTED",
        "FAILED",
        "PENDING",
        "INVALID",
        "FILE"
    );
    for s in list {
        let c = &s.counts;
        let mut state = s.run.state.to_string();
        if let Some(lock) = &s.run.lock {
            state = format!("{state} (pid {})", lock.pid);
        }
        out.push_str(&format!(
            "{:>5}  {:<13} {:<16} {:<17} {:>6} {:>7} {:>6} {:>8} {:>6} {:>7} {:>7}  {}\n",
            s.run.id.0,
            state,
            s.run.kind,
            s.run.created_at.format("%Y-%m-%d %H:%M"),
            c.total(),
            c.created,
            c.exists_before_run + c.exists_id_unknown,
            c.rejected,
            c.failed,
            c.pending + c.in_flight,
            c.invalid,
            session::file_name(&s.run.source_file)
        ));
    }
    out
}

pub fn show(args: &ShowArgs, journal_path: Option<&Path>) -> ExitCode {
    match show_inner(args, journal_path) {
        Ok(text) => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            exit(0)
        }
        Err(f) => f.report("show"),
    }
}

fn show_inner(args: &ShowArgs, journal_path: Option<&Path>) -> Result<String, Failure> {
    let journal = session::open_journal(journal_path)?;
    let run = RunId(args.run);
    let rows = item_rows(&journal, run, args.state)?;
    if args.json {
        return serde_json::to_string_pretty(&rows)
            .map(|j| j + "\n")
            .map_err(|e| Failure::not_started(e.to_string()));
    }
    Ok(render_items(&rows))
}

/// A run's rows as `show` prints them.
pub fn item_rows(
    journal: &Journal,
    run: RunId,
    state: Option<ItemState>,
) -> Result<Vec<ItemRow>, Failure> {
    let record = journal
        .run(run)
        .map_err(|e| Failure::not_started(e.to_string()))?
        .ok_or_else(|| Failure {
            code: EXIT_NOT_STARTED,
            message: format!("run {run} is not in the journal; paypro-console runs lists them"),
        })?;
    let items = journal
        .items(run, state)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    // Skipped rows say which earlier run created them.
    let skipped: Vec<&str> = items
        .iter()
        .filter(|i| i.state == ItemState::Skipped)
        .map(|i| i.key.as_str())
        .collect();
    let earlier: HashMap<String, String> = if skipped.is_empty() {
        HashMap::new()
    } else {
        journal
            .created_elsewhere_many(&record.kind, &record.merchant_id, skipped, Some(run))
            .map_err(|e| Failure::not_started(e.to_string()))?
            .into_iter()
            .map(|(k, p)| (k, p.to_string()))
            .collect()
    };
    Ok(items
        .iter()
        .map(|i| {
            let note = (i.state == ItemState::Skipped)
                .then(|| earlier.get(&i.key).cloned())
                .flatten();
            ItemRow::of(i, note)
        })
        .collect())
}

/// The rows table.
pub fn render_items(rows: &[ItemRow]) -> String {
    if rows.is_empty() {
        return "no rows\n".to_string();
    }
    let mut out = format!(
        "{:>6}  {:<20} {:<17} {:<16} {:>8} {:>4} {:>8}  {}\n",
        "ROW", "KEY", "STATE", "CONNECTPAY ID", "FEE", "CODE", "ATTEMPTS", "MESSAGE"
    );
    for r in rows {
        out.push_str(&format!(
            "{:>6}  {:<20} {:<17} {:<16} {:>8} {:>4} {:>8}  {}\n",
            r.row,
            r.key,
            r.state.as_str(),
            r.connectpay_id.as_deref().unwrap_or("-"),
            r.fee.as_deref().unwrap_or("-"),
            r.status_code.as_deref().unwrap_or("-"),
            r.attempts,
            r.message.as_deref().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_parse_like_the_state_machine() {
        assert_eq!(parse_state("created"), Ok(ItemState::Created));
        assert_eq!(
            parse_state("exists-id-unknown"),
            Ok(ItemState::ExistsIdUnknown)
        );
        let err = parse_state("sent").unwrap_err();
        assert!(
            err.contains("in_flight") && err.contains("skipped"),
            "{err}"
        );
    }
}
