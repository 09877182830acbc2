//! Turning a [`Plan`] into a journaled run: valid rows pending, invalid rows invalid
//! (with their issues), and rows whose key an earlier run of the same merchant already
//! created skipped by the cross-run guard unless re-sending is allowed. Also the
//! guard's query and the source file's fingerprint.

use super::plan::{Plan, Target, plan_imported};
use super::{EngineError, RunKind};
use crate::domain::Money;
use crate::journal::{ItemState, Journal, NewItem, NewRun, PriorCreation, RunId};
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

impl RunSource {
    /// The file as an absolute path (as the clerk will find it later) and its
    /// fingerprint.
    pub fn of(file: &Path) -> Result<RunSource, EngineError> {
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        Ok(RunSource {
            sha256: sha256_file(&file)?,
            file,
        })
    }
}

/// What [`journal_plan`] journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRun {
    pub run: RunId,
    pub pending: usize,
    pub invalid: usize,
    /// Rows skipped by the cross-run guard: (row, key, the earlier creation).
    pub skipped: Vec<(u32, String, PriorCreation)>,
    /// Sum of OrderAmount of the pending rows (orders with rows to send only).
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
    base_url: &str,
) -> Result<Vec<(u32, String, PriorCreation)>, EngineError> {
    if RunKind::of(imported.kind)? == RunKind::ConsumerUpdates {
        return Ok(Vec::new());
    }
    let found = journal.created_elsewhere_many(
        imported.kind.as_str(),
        merchant_id,
        base_url,
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

/// Journals a plan as a new run (state `open`): valid rows `pending`, invalid rows
/// `invalid` with their issues (and their cells, for the error report), rows the
/// plan's guard found created by an earlier run `skipped` (unless it allows
/// re-sending). Exactly what the plan's preview showed.
///
/// The run and its items are written in one transaction, one row at a time (never a
/// second copy of the sheet): a failure leaves no run. The cross-run guard is checked
/// again inside that transaction (unless the plan allows re-sending): rows another
/// unfinished run holds, or created since the plan, refuse the run
/// ([`EngineError::HeldByOtherRuns`]), so two simultaneous submits of one sheet
/// cannot both pass it. Consumer updates are not guarded (see [`prior_creations`]).
pub fn journal_plan(journal: &Journal, plan: &Plan) -> Result<PreparedRun, EngineError> {
    let kind = RunKind::of(plan.imported.kind)?;
    let skipped_rows = plan.skipped_rows();
    let items = plan.imported.rows.iter().map(|row| {
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
                let state = if skipped_rows.contains(&row.row) {
                    ItemState::Skipped
                } else {
                    ItemState::Pending
                };
                (payload, state)
            }
            None => (serde_json::json!({ "raw": row.raw }), ItemState::Invalid),
        };
        Ok::<_, EngineError>(NewItem {
            row: row.row,
            key: row.key.clone(),
            payload,
            issues,
            state,
        })
    });
    let new_run = NewRun {
        kind: plan.imported.kind.as_str().to_string(),
        source_file: plan.source.file.display().to_string(),
        source_sha256: plan.source.sha256.clone(),
        sheet: Some(plan.imported.sheet.clone()),
        merchant_id: plan.target.merchant_id.clone(),
        base_url: plan.target.base_url.clone(),
    };
    // The sheet's own columns and cells go with the run for its results files, when
    // every row was read with its cells (`ReadOptions::keep_cells`); one row at a time,
    // never a copy of the sheet.
    let columns = sheet_columns(&plan.imported);
    let keep = columns.is_some();
    let guard = !plan.allow_resend && kind != RunKind::ConsumerUpdates;
    let (run, _) = journal.create_guarded_run(
        &new_run,
        columns.as_deref(),
        items
            .zip(&plan.imported.rows)
            .map(|(item, row)| item.map(|item| (item, keep.then(|| row.raw.clone())))),
        guard,
    )?;
    let preview = &plan.preview;
    tracing::info!(
        run = run.0,
        kind = plan.imported.kind.as_str(),
        pending = preview.to_send,
        invalid = preview.invalid,
        skipped = preview.skipped,
        "run prepared"
    );
    Ok(PreparedRun {
        run,
        pending: preview.to_send,
        invalid: preview.invalid,
        skipped: if plan.allow_resend {
            Vec::new()
        } else {
            plan.earlier.clone()
        },
        total_amount: preview.total,
    })
}

/// The header names, if every row kept its cells (one cell per column).
fn sheet_columns(imported: &Imported) -> Option<Vec<String>> {
    let width = imported.columns.len();
    if width == 0 || imported.rows.iter().any(|r| r.raw.len() != width) {
        return None;
    }
    Some(imported.columns.iter().map(|c| c.header.clone()).collect())
}

/// Plans an imported sheet and journals it as a new run without driving it (tests,
/// benchmarks, and faces that drive later with `Start::Resume`).
pub fn prepare_run(
    journal: &Journal,
    imported: &Imported,
    source: &RunSource,
    merchant_id: &str,
    base_url: &str,
    allow_resend: bool,
) -> Result<PreparedRun, EngineError> {
    let plan = plan_imported(
        journal,
        imported.clone(),
        source.clone(),
        Target {
            base_url: base_url.to_string(),
            merchant_id: merchant_id.to_string(),
        },
        allow_resend,
    )?;
    journal_plan(journal, &plan)
}

/// The item as journaled: the serialized domain value the engine reads back to send.
fn payload_of(kind: RunKind, item: &Item) -> Result<serde_json::Value, String> {
    let value = match (kind, item) {
        (RunKind::Orders, Item::Order(o)) => serde_json::to_value(o),
        (RunKind::Consumers, Item::Consumer(c)) => serde_json::to_value(c),
        (RunKind::ConsumerUpdates, Item::ConsumerUpdate(u)) => serde_json::to_value(u),
        (RunKind::MarkPaid | RunKind::MarkBlocked, Item::OrderRef(r)) => serde_json::to_value(r),
        (RunKind::Refunds, Item::Refund(r)) => serde_json::to_value(r),
        _ => return Err(format!("a {kind:?} run cannot carry this item")),
    };
    value.map_err(|e| e.to_string())
}
