//! [`plan`]: from a spreadsheet to what a clerk confirms. Import and validation, the
//! kind check, the cross-run guard and the preview are computed here once; [`start`]
//! journals exactly what the preview showed.
//!
//! [`start`]: super::start

use super::prepare::{RunSource, prior_creations};
use super::{EngineError, RunKind};
use crate::domain::{AmountLimits, Kind, Money};
use crate::journal::{Journal, PriorCreation};
use crate::sheet::{self, Imported, Item};
use std::collections::HashSet;
use std::path::PathBuf;

/// Where a run sends: the service and the merchant (no password: planning sends
/// nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub base_url: String,
    pub merchant_id: String,
}

/// What to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// The spreadsheet (.xlsx, .xlsm, .xls, .xlsb, .ods or .csv).
    pub file: PathBuf,
    /// What the sheet holds; guessed from the headers when `None`.
    pub kind: Option<Kind>,
    /// The sheet to read; the first non-empty one when `None`.
    pub sheet: Option<String>,
    pub target: Target,
    /// Send rows an earlier run of this merchant already created (PayPro then answers
    /// `01` and nothing is created twice) instead of skipping them, and rows another
    /// unfinished run holds instead of refusing the sheet.
    pub allow_resend: bool,
    /// The merchant's per-order amount limits (from the profile): an order outside
    /// them is invalid here rather than refused by PayPro.
    pub amount_limits: Option<AmountLimits>,
}

/// What the clerk confirms before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub file: PathBuf,
    pub sheet: String,
    pub kind: Kind,
    /// The kind was guessed from the headers (`--kind` chooses it).
    pub kind_guessed: bool,
    /// Non-blank data rows.
    pub rows: usize,
    pub valid: usize,
    /// Rows with an error: journaled, never sent.
    pub invalid: usize,
    /// Valid rows an earlier run of this merchant created: skipped.
    pub skipped: usize,
    /// Valid rows an earlier run created that will be sent again (`allow_resend`).
    pub resent: usize,
    pub to_send: usize,
    /// Sum of `OrderAmount` (orders) or of the refund amounts (refunds) over the rows
    /// to send, only when some are.
    pub total: Option<Money>,
    pub merchant_id: String,
    pub base_url: String,
}

/// A spreadsheet read, validated and checked against earlier runs, ready for
/// [`super::start`]. Holds the imported rows (the preview of a console shows them).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub imported: Imported,
    pub source: RunSource,
    pub target: Target,
    pub allow_resend: bool,
    pub preview: Preview,
    /// Valid rows whose key an earlier run of this merchant and kind created (row,
    /// key, that creation), in row order: skipped unless `allow_resend`.
    pub earlier: Vec<(u32, String, PriorCreation)>,
}

impl Plan {
    /// Whether starting it sends any request (else no password is needed).
    pub fn sends_anything(&self) -> bool {
        self.preview.to_send > 0
    }

    /// The rows the guard skips.
    pub(crate) fn skipped_rows(&self) -> HashSet<u32> {
        if self.allow_resend {
            HashSet::new()
        } else {
            self.earlier.iter().map(|(row, ..)| *row).collect()
        }
    }
}

/// Reads and validates `request.file` and plans it (see [`plan_imported`]). Nothing is
/// written.
pub fn plan(journal: &Journal, request: PlanRequest) -> Result<Plan, EngineError> {
    // Every row keeps its cells: the run's results file shows the sheet as the clerk
    // wrote it.
    let imported = sheet::read_with(
        &request.file,
        &sheet::ReadOptions {
            kind: request.kind,
            sheet: request.sheet.as_deref(),
            keep_cells: true,
            amount_limits: request.amount_limits,
            ..sheet::ReadOptions::default()
        },
    )?;
    let source = RunSource::of(&request.file)?;
    plan_imported(
        journal,
        imported,
        source,
        request.target,
        request.allow_resend,
    )
}

/// Plans an already imported sheet: refuses kinds the engine does not submit, checks
/// refunds against what the journal knows (rows that fail become invalid), refuses a
/// sheet whose rows another unfinished run of the merchant at this service holds
/// (pending or in flight: [`EngineError::HeldByOtherRuns`]) unless `allow_resend`,
/// finds the rows an earlier run created (or, for a mark run, already did), and
/// computes the preview. The same guard is checked again when the run is journaled, in
/// one transaction with its creation.
pub fn plan_imported(
    journal: &Journal,
    mut imported: Imported,
    source: RunSource,
    target: Target,
    allow_resend: bool,
) -> Result<Plan, EngineError> {
    let kind = RunKind::of(imported.kind)?;
    // Refunds the journal's knowledge does not allow become invalid rows here, so the
    // preview, the confirmation and the journal all show them refused before sending.
    super::refunds::check_refunds(journal, &mut imported, &target)?;
    if !allow_resend && kind != RunKind::ConsumerUpdates {
        let holds = journal.held_elsewhere(
            imported.kind.as_str(),
            &target.merchant_id,
            &target.base_url,
            imported.valid_items().map(|(_, item)| item.key()),
        )?;
        if !holds.is_empty() {
            return Err(EngineError::HeldByOtherRuns(holds));
        }
    }
    let earlier = prior_creations(journal, &imported, &target.merchant_id, &target.base_url)?;
    let mut plan = Plan {
        preview: Preview {
            file: imported.file.clone(),
            sheet: imported.sheet.clone(),
            kind: imported.kind,
            kind_guessed: imported.kind_guessed,
            rows: imported.rows.len(),
            valid: 0,
            invalid: 0,
            skipped: 0,
            resent: 0,
            to_send: 0,
            total: None,
            merchant_id: target.merchant_id.clone(),
            base_url: target.base_url.clone(),
        },
        imported,
        source,
        target,
        allow_resend,
        earlier,
    };
    plan.preview = preview_of(&plan);
    Ok(plan)
}

fn preview_of(plan: &Plan) -> Preview {
    let skipped = plan.skipped_rows();
    let mut total = Some(Money::zero());
    let mut to_send = 0;
    let mut valid = 0;
    for (row, item) in plan.imported.valid_items() {
        valid += 1;
        if skipped.contains(&row) {
            continue;
        }
        to_send += 1;
        total = match item {
            Item::Order(o) => total.and_then(|t| t.checked_add(o.amount)),
            Item::Refund(r) => total.and_then(|t| t.checked_add(r.amount)),
            _ => None,
        };
    }
    let imported = &plan.imported;
    Preview {
        rows: imported.rows.len(),
        valid,
        invalid: imported.rows.len() - valid,
        skipped: skipped.len(),
        resent: if plan.allow_resend {
            plan.earlier.len()
        } else {
            0
        },
        to_send,
        total: total
            .filter(|_| matches!(imported.kind, Kind::Orders | Kind::Refunds) && to_send > 0),
        ..plan.preview.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn csv_orders(dir: &Path, rows: &[&str]) -> Imported {
        let path = dir.join("orders.csv");
        let mut text = String::from(
            "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
        );
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        sheet::read(&path, Some(Kind::Orders), None).unwrap()
    }

    #[test]
    fn the_preview_counts_and_totals_what_will_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let imported = csv_orders(
            dir.path(),
            &[
                "A-1,1000.50,31/12/2026,20/11/2026,Ali Khan,03001234567,,",
                "A-2,2000,31/12/2026,20/11/2026,Sana Raza,03001234568,,",
                "A-3,not money,31/12/2026,20/11/2026,Bad Row,03001234569,,",
                "A-4,5,31/12/2026,20/11/2026,Omar Shah,03001234570,,",
            ],
        );
        let target = Target {
            base_url: "http://x".into(),
            merchant_id: "demo".into(),
        };
        let source = RunSource {
            file: "orders.csv".into(),
            sha256: String::new(),
        };
        let plan = plan_imported(&journal, imported, source, target, false).unwrap();
        let p = &plan.preview;
        assert_eq!((p.rows, p.valid, p.invalid, p.to_send), (4, 3, 1, 3));
        assert_eq!((p.skipped, p.resent), (0, 0));
        assert_eq!(p.total.unwrap().to_string(), "3005.50");
        assert!(plan.sends_anything());

        // What an earlier run created is skipped, and no longer in the total.
        let prepared = super::super::journal_plan(&journal, &plan).unwrap();
        let mut conn_items = journal.items(prepared.run, None).unwrap();
        conn_items.retain(|i| i.key == "A-2");
        let lock = journal.lock_run(prepared.run).unwrap();
        let b = journal
            .begin_batch(prepared.run, "cmo", &[conn_items[0].id])
            .unwrap();
        journal
            .finish_batch(
                b,
                &crate::journal::AttemptRecord {
                    http_status: Some(200),
                    duration_ms: 1,
                    outcome: "ok".into(),
                    response_body: None,
                },
                &[(
                    conn_items[0].id,
                    crate::journal::ItemOutcome::Created {
                        connectpay_id: "1".into(),
                        fee: None,
                        status_code: "00".into(),
                        description: None,
                    },
                )],
            )
            .unwrap();
        lock.release().unwrap();
        // Run 1 still holds the other rows pending: the sheet is refused, naming it.
        let held = plan_imported(
            &journal,
            plan.imported.clone(),
            plan.source.clone(),
            plan.target.clone(),
            false,
        )
        .unwrap_err();
        assert!(
            matches!(&held, EngineError::HeldByOtherRuns(h) if h[0].run == prepared.run && h[0].rows == 2),
            "{held:?}"
        );
        assert!(held.to_string().contains("resume 1"), "{held}");
        // Once run 1 is finished, only what it created is left out.
        journal
            .set_run_state(prepared.run, crate::journal::RunState::Completed)
            .unwrap();
        let again = plan_imported(
            &journal,
            plan.imported.clone(),
            plan.source.clone(),
            plan.target.clone(),
            false,
        )
        .unwrap();
        let p = &again.preview;
        assert_eq!((p.skipped, p.to_send), (1, 2));
        assert_eq!(p.total.unwrap().to_string(), "1005.50");
        assert_eq!(again.earlier[0].0, 3);
        let resend = plan_imported(
            &journal,
            plan.imported.clone(),
            plan.source.clone(),
            plan.target.clone(),
            true,
        )
        .unwrap();
        assert_eq!(
            (
                resend.preview.skipped,
                resend.preview.resent,
                resend.preview.to_send
            ),
            (0, 1, 3)
        );
    }
}
