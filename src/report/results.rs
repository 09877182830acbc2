//! A run's results files from the journal: every row with the spreadsheet's own
//! columns and what became of it, grouped by outcome (see
//! [`crate::sheet::write::write_results`]).
//!
//! The rows are read on their own read-only connection, in one read transaction (a
//! consistent snapshot, even while another process drives the run), by a reader thread
//! that hands them to the writer through a bounded channel: memory stays flat however
//! large the run.
//!
//! Runs journaled before the sheet's headers and cells were kept show the typed
//! fields of their rows under the reference's field names instead; their invalid rows
//! show the key and, in the message, the cells as read.

use crate::domain::Issue;
use crate::journal::{Item, ItemState, ItemWithCells, Journal, JournalError, RunId};
use crate::sheet::write::{
    self, OnProgress, Overwrite, ResultGroup, ResultRow, ResultsDoc, ResultsWritten, WriteError,
};
use chrono::{DateTime, Local, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where the results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultsTarget {
    /// One workbook.
    Xlsx(PathBuf),
    /// CSV files `{stem}-{group}.csv` and `{stem}-summary.csv` in `dir`.
    Csv { dir: PathBuf, stem: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("run {0} is not in the journal; paypro-console runs lists them")]
    NoSuchRun(RunId),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Write(Box<WriteError>),
}

impl From<WriteError> for ResultsError {
    fn from(e: WriteError) -> Self {
        ResultsError::Write(Box::new(e))
    }
}

/// The outcome group of a journal state (of a run that creates; see [`group_in`]).
pub fn group_of(state: ItemState) -> ResultGroup {
    match state {
        ItemState::Created => ResultGroup::Created,
        ItemState::ExistsBeforeRun | ItemState::Skipped => ResultGroup::AlreadyExisted,
        ItemState::ExistsIdUnknown => ResultGroup::IdUnknown,
        ItemState::Rejected => ResultGroup::Rejected,
        ItemState::Failed => ResultGroup::Failed,
        ItemState::Pending | ItemState::InFlight => ResultGroup::NotSent,
        ItemState::Invalid => ResultGroup::Invalid,
        ItemState::Done => ResultGroup::Done,
    }
}

/// The outcome group of a journal state in a run of `kind` (as journaled): in a mark
/// run a skipped row was done by an earlier run, not created by one.
pub fn group_in(kind: &str, state: ItemState) -> ResultGroup {
    let mark = ResultGroup::for_kind(kind).contains(&ResultGroup::Done);
    match state {
        ItemState::Skipped if mark => ResultGroup::DoneEarlier,
        // A mark run has no created rows; one would be a bug, shown as done.
        ItemState::Created if mark => ResultGroup::Done,
        other => group_of(other),
    }
}

/// The most useful text about a row: why it is invalid, else PayPro's answer (or the
/// last error for rows still to send or failed).
pub fn item_message(item: &Item) -> Option<String> {
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
    let text = |s: &Option<String>| s.as_ref().filter(|t| !t.trim().is_empty()).cloned();
    let (first, second) = match item.state {
        ItemState::Failed | ItemState::Pending | ItemState::InFlight => {
            (&item.last_error, &item.description)
        }
        _ => (&item.description, &item.last_error),
    };
    text(first).or_else(|| text(second))
}

/// Headers and payload keys shown for runs journaled before cells were kept.
fn fallback_fields(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "orders" => &[
            ("OrderNumber", "order_number"),
            ("OrderAmount", "amount"),
            ("OrderDueDate", "due_date"),
            ("IssueDate", "issue_date"),
            ("CustomerName", "customer_name"),
            ("CustomerMobile", "customer_mobile"),
            ("CustomerEmail", "customer_email"),
            ("CustomerAddress", "customer_address"),
        ],
        "consumers" | "consumer-updates" => &[
            ("ConsumerID", "consumer_id"),
            ("Name", "name"),
            ("Mobile", "mobile"),
            ("Email", "email"),
            ("Address", "address"),
        ],
        "refunds" => &[("OrderNumber", "order_number"), ("Amount", "amount")],
        _ => &[("OrderNumber", "order_number")],
    }
}

fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&Local).naive_local()
}

/// Builds a row of the results from a journaled item.
fn result_row(
    with: ItemWithCells,
    kind: &str,
    recorded_columns: bool,
    earlier: &HashMap<String, (String, Option<String>)>,
) -> ResultRow {
    let ItemWithCells {
        item,
        cells,
        id_source: _,
    } = with;
    let mut message = item_message(&item);
    let mut connectpay_id = item.connectpay_id.clone();
    if item.state == ItemState::Skipped
        && let Some((note, id)) = earlier.get(&item.key)
    {
        message = Some(note.clone());
        connectpay_id = connectpay_id.or_else(|| id.clone());
    }
    let fields = fallback_fields(kind);
    let cells = match cells {
        Some(c) if recorded_columns => c,
        _ if item.state == ItemState::Invalid => {
            if let Some(raw) = item.payload.get("raw").and_then(|r| r.as_array()) {
                let read: Vec<&str> = raw.iter().filter_map(|v| v.as_str()).collect();
                let note = format!("cells as read: {}", read.join(" | "));
                message = Some(match message {
                    Some(m) => format!("{m}; {note}"),
                    None => note,
                });
            }
            vec![item.key.clone()]
        }
        _ => fields
            .iter()
            .map(|(_, key)| match item.payload.get(*key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect(),
    };
    let amount = if kind == "orders" && item.state != ItemState::Invalid {
        item.payload
            .get("amount")
            .and_then(|a| a.as_str())
            .and_then(|a| a.parse::<Decimal>().ok())
    } else {
        None
    };
    ResultRow {
        group: group_in(kind, item.state),
        row: item.row,
        cells,
        state: item.state.as_str().to_string(),
        connectpay_id,
        fee: item.fee,
        status_code: item.status_code.clone(),
        message,
        attempts: item.attempts,
        amount,
    }
}

/// Writes the results of `run`. Refuses an existing target unless `overwrite` says
/// otherwise, before reading anything.
pub fn export_results(
    journal: &Journal,
    run: RunId,
    target: &ResultsTarget,
    overwrite: Overwrite,
    progress: OnProgress<'_>,
) -> Result<ResultsWritten, ResultsError> {
    let record = journal.run(run)?.ok_or(ResultsError::NoSuchRun(run))?;
    let recorded = journal.run_columns(run)?;
    let recorded_columns = recorded.is_some();
    let columns = recorded.unwrap_or_else(|| {
        fallback_fields(&record.kind)
            .iter()
            .map(|(h, _)| h.to_string())
            .collect()
    });
    // Skipped rows say which earlier run created them, with its id.
    let skipped = journal.items(run, Some(ItemState::Skipped))?;
    let earlier: HashMap<String, (String, Option<String>)> = if skipped.is_empty() {
        HashMap::new()
    } else {
        journal
            .created_elsewhere_many(
                &record.kind,
                &record.merchant_id,
                &record.base_url,
                skipped.iter().map(|i| i.key.as_str()),
                Some(run),
            )?
            .into_iter()
            .map(|(k, p)| {
                let id = p.connectpay_id.clone();
                (k, (format!("not sent: {p}"), id))
            })
            .collect()
    };
    let doc = ResultsDoc {
        run: run.0,
        file: record.source_file.clone(),
        sheet: record.sheet.clone(),
        kind: record.kind.clone(),
        merchant_id: record.merchant_id.clone(),
        base_url: record.base_url.clone(),
        state: record.state.as_str().to_string(),
        created_at: local(record.created_at),
        finished_at: record.finished_at.map(local),
        generated_at: Local::now().naive_local(),
        columns,
    };
    match target {
        ResultsTarget::Xlsx(path) => write::check_target(path, overwrite)?,
        ResultsTarget::Csv { dir, .. } => {
            if !dir.is_dir() {
                return Err(WriteError::Io {
                    path: dir.clone(),
                    context: "is not a directory",
                    source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
                }
                .into());
            }
        }
    }
    let mut reader = journal.reader()?;
    let total = reader.count(run)?;
    let kind = record.kind.as_str();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<ResultRow, JournalError>>(1024);
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let sent = reader.for_each_item(run, |item| {
                // A closed channel means the writer stopped: so does the reader.
                tx.send(Ok(result_row(item, kind, recorded_columns, &earlier)))
                    .map_err(|_| ())
            });
            if let Err(e) = sent {
                // The writer stops at this error and names it.
                let _ = tx.send(Err(e));
            }
        });
        let written = match target {
            ResultsTarget::Xlsx(path) => {
                write::write_results(path, &doc, rx.iter(), total, overwrite, progress)
            }
            ResultsTarget::Csv { dir, stem } => {
                write::write_results_csv(dir, stem, &doc, rx.iter(), total, overwrite, progress)
            }
        };
        // A writer that stopped early drops the receiver; the reader's next send fails
        // and it ends.
        drop(rx);
        let _ = reading.join();
        written.map_err(ResultsError::from)
    })
}
