//! Turning an imported sheet into a journaled run: valid rows pending, invalid rows
//! invalid (with their issues), and rows whose key an earlier run of the same merchant
//! already created skipped by the cross-run guard unless re-sending is allowed.

use super::{EngineError, RunKind};
use crate::domain::Money;
use crate::journal::{ItemState, Journal, NewItem, NewRun, PriorCreation, RunId, SheetCells};
use crate::sheet::{Imported, Item};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the spreadsheet came from, for the run record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSource {
    pub file: PathBuf,
    /// Hex SHA-256 of the file's bytes ([`sha256_file`]).
    pub sha256: String,
}

/// What [`prepare_run`] journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRun {
    pub run: RunId,
    pub pending: usize,
    pub invalid: usize,
    /// Rows skipped by the cross-run guard: (row, key, the earlier creation).
    pub skipped: Vec<(u32, String, PriorCreation)>,
    /// Sum of OrderAmount of the pending rows (orders only; `None` for other kinds or
    /// if the sum leaves Money's range).
    pub total_amount: Option<Money>,
}

/// Hex SHA-256 of a file's bytes, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String, EngineError> {
    let io = |context: &'static str| {
        let path = path.to_path_buf();
        move |source| EngineError::Io {
            path,
            context,
            source,
        }
    };
    let mut file = std::fs::File::open(path).map_err(io("opening the spreadsheet"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io("reading the spreadsheet"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What the cross-run guard would say about the sheet's valid rows, without creating a
/// run (for the confirmation screen). Row order. Consumer updates are never guarded:
/// applying a change again creates nothing, and changing a consumer in several runs is
/// the point of them.
pub fn prior_creations(
    journal: &Journal,
    imported: &Imported,
    merchant_id: &str,
) -> Result<Vec<(u32, String, PriorCreation)>, EngineError> {
    if RunKind::of(imported.kind)? == RunKind::ConsumerUpdates {
        return Ok(Vec::new());
    }
    let found = journal.created_elsewhere_many(
        imported.kind.as_str(),
        merchant_id,
        imported.valid_items().map(|(_, item)| item.key()),
        None,
    )?;
    let mut out = Vec::new();
    for (row, item) in imported.valid_items() {
        if let Some(prior) = found.get(item.key()) {
            out.push((row, item.key().to_string(), prior.clone()));
        }
    }
    Ok(out)
}

/// Journals an imported sheet as a new run (state `open`): valid rows `pending`,
/// invalid rows `invalid` with their issues (and their cells, for the error report),
/// rows whose key was already created or found existing by an earlier run of the same
/// merchant and kind `skipped` unless `allow_resend`. Mark and refund lists are refused
/// with [`EngineError::UnsupportedKind`].
///
/// The run and its items are written in one transaction: a failure leaves no run.
pub fn prepare_run(
    journal: &Journal,
    imported: &Imported,
    source: &RunSource,
    merchant_id: &str,
    base_url: &str,
    allow_resend: bool,
) -> Result<PreparedRun, EngineError> {
    let kind = RunKind::of(imported.kind)?;
    let guard = prior_creations(journal, imported, merchant_id)?;
    let guarded: std::collections::HashMap<u32, &PriorCreation> =
        guard.iter().map(|(row, _, p)| (*row, p)).collect();

    let mut items = Vec::with_capacity(imported.rows.len());
    let mut pending = 0usize;
    let mut invalid = 0usize;
    let mut total = Some(rust_decimal::Decimal::ZERO);
    for row in &imported.rows {
        let issues = serde_json::to_value(&row.issues).map_err(|e| EngineError::Serialize {
            row: row.row,
            reason: e.to_string(),
        })?;
        let (payload, state) = match &row.item {
            Some(item) => {
                let payload = payload_of(kind, item).map_err(|reason| EngineError::Serialize {
                    row: row.row,
                    reason,
                })?;
                let state = if !allow_resend && guarded.contains_key(&row.row) {
                    ItemState::Skipped
                } else {
                    pending += 1;
                    if let Item::Order(o) = item {
                        total = total.and_then(|t| t.checked_add(o.amount.value()));
                    }
                    ItemState::Pending
                };
                (payload, state)
            }
            None => {
                invalid += 1;
                (serde_json::json!({ "raw": row.raw }), ItemState::Invalid)
            }
        };
        items.push(NewItem {
            row: row.row,
            key: row.key.clone(),
            payload,
            issues,
            state,
        });
    }

    let new_run = NewRun {
        kind: imported.kind.as_str().to_string(),
        source_file: source.file.display().to_string(),
        source_sha256: source.sha256.clone(),
        sheet: Some(imported.sheet.clone()),
        merchant_id: merchant_id.to_string(),
        base_url: base_url.to_string(),
    };
    // The sheet's own columns and cells go with the run for its results files, when
    // every row was read with its cells (`ReadOptions::keep_cells`).
    let (run, _) = match sheet_cells(imported) {
        Some(cells) => journal.create_run_with_cells(&new_run, &items, &cells)?,
        None => journal.create_run_with_items(&new_run, &items)?,
    };
    tracing::info!(
        run = run.0,
        kind = imported.kind.as_str(),
        pending,
        invalid,
        skipped = if allow_resend { 0 } else { guard.len() },
        "run prepared"
    );
    Ok(PreparedRun {
        run,
        pending,
        invalid,
        skipped: if allow_resend { Vec::new() } else { guard },
        total_amount: match kind {
            RunKind::Orders => total.and_then(|t| Money::new(t).ok()),
            _ => None,
        },
    })
}

/// The header names and every row's cells, if every row kept its cells.
fn sheet_cells(imported: &Imported) -> Option<SheetCells> {
    let width = imported.columns.len();
    if width == 0 || imported.rows.iter().any(|r| r.raw.len() != width) {
        return None;
    }
    Some(SheetCells {
        columns: imported.columns.iter().map(|c| c.header.clone()).collect(),
        rows: imported.rows.iter().map(|r| r.raw.clone()).collect(),
    })
}

/// The item as journaled: the serialized domain value the engine reads back to send.
fn payload_of(kind: RunKind, item: &Item) -> Result<serde_json::Value, String> {
    let value = match (kind, item) {
        (RunKind::Orders, Item::Order(o)) => serde_json::to_value(o),
        (RunKind::Consumers, Item::Consumer(c)) => serde_json::to_value(c),
        (RunKind::ConsumerUpdates, Item::ConsumerUpdate(u)) => serde_json::to_value(u),
        _ => return Err(format!("a {kind:?} run cannot carry this item")),
    };
    value.map_err(|e| e.to_string())
}
