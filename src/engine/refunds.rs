//! Refunds are checked before anything is sent, against what the journal knows of each
//! order for the same merchant at the same server (`Journal::order_knowledge`): a row
//! that fails is refused with a row-level message naming the order, the column and
//! what is known, and journaled `invalid` (never sent). The rules:
//!
//! - the order exists: a run of ours created it, or a status refresh or a paid-orders
//!   report saw it; otherwise the clerk is told to refresh its status or fetch the
//!   report first (PayPro has no look-up by order number, reference §7);
//! - it is paid: the latest status the journal saw of it is `Paid` (reference §4–6,
//!   Decision: refund applies to paid orders); `Refunded` says it is already refunded,
//!   any other state is named with when and how it was seen;
//! - the amount is not more than what is left to refund: the amount paid, less what our
//!   refund runs already refunded of it.
//!
//! A status seen can be stale (an order paid since the last refresh is refused; one
//! refunded elsewhere since is refused by PayPro and rejected with its answer): the
//! message says when it was seen, so the clerk knows to refresh.

use super::EngineError;
use super::plan::Target;
use crate::api::OrderStatus;
use crate::domain::{Issue, Kind, fields};
use crate::journal::{Journal, KnownStatus, OrderKnowledge};
use crate::sheet::{Imported, Item};
use rust_decimal::Decimal;

/// Refuses the refund rows the journal's knowledge does not allow (they become
/// invalid, with the reason); returns how many. Other kinds are left alone.
pub(crate) fn check_refunds(
    journal: &Journal,
    imported: &mut Imported,
    target: &Target,
) -> Result<usize, EngineError> {
    if imported.kind != Kind::Refunds {
        return Ok(0);
    }
    let known = journal.order_knowledge(
        &target.merchant_id,
        &target.base_url,
        imported.valid_items().map(|(_, item)| item.key()),
    )?;
    let specs = fields::fields(Kind::Refunds);
    let number_field = specs[fields::list_col::NUMBER].name;
    let amount_field = specs[fields::list_col::AMOUNT].name;
    let locate = |field: &str| {
        imported
            .columns
            .iter()
            .find(|c| c.field == Some(field))
            .map(|c| (c.index, c.header.clone()))
    };
    let number_at = locate(number_field);
    let amount_at = locate(amount_field);
    let mut refused = 0;
    for row in &mut imported.rows {
        let Some(Item::Refund(refund)) = &row.item else {
            continue;
        };
        let k = known.get(refund.order_number.trim());
        let Some((on_amount, message)) =
            refusal(&refund.order_number, refund.amount.value(), k, target)
        else {
            continue;
        };
        let (field, at) = if on_amount {
            (amount_field, &amount_at)
        } else {
            (number_field, &number_at)
        };
        let issue = Issue::error(row.row, field, message);
        row.issues.push(match at {
            Some((index, header)) => issue.at(*index, header.clone()),
            None => issue,
        });
        row.item = None;
        refused += 1;
    }
    if refused > 0 {
        tracing::info!(refused, "refund rows refused before sending");
    }
    Ok(refused)
}

fn seen(s: &KnownStatus) -> String {
    format!(
        "seen {} UTC by the {}",
        s.observation.checked_at.format("%Y-%m-%d %H:%M"),
        s.source
    )
}

/// Why this refund cannot be sent: (about the amount rather than the order, message).
fn refusal(
    number: &str,
    amount: Decimal,
    known: Option<&OrderKnowledge>,
    target: &Target,
) -> Option<(bool, String)> {
    let status_hint = |run: Option<String>| {
        format!(
            "refresh its status (paypro-console status {}) or fetch the paid-orders report \
             covering its payment (paypro-console report paid), then plan the refund again",
            run.unwrap_or_else(|| "RUN".to_string())
        )
    };
    let Some(k) = known.filter(|k| k.created_by.is_some() || k.latest.is_some()) else {
        return Some((
            false,
            format!(
                "order {number} is not known to the journal for merchant {} at {}: no run \
                 of ours created it and no status refresh or paid-orders report has seen it; {}",
                target.merchant_id,
                target.base_url,
                status_hint(None)
            ),
        ));
    };
    let Some(latest) = &k.latest else {
        let (by, run) = match k.created_by {
            Some((run, row)) => (
                format!(" (created by run {run}, row {row})"),
                Some(run.to_string()),
            ),
            None => (String::new(), None),
        };
        return Some((
            false,
            format!(
                "order {number}{by} is not known to be paid: no status refresh or \
                 paid-orders report has seen it; {}",
                status_hint(run)
            ),
        ));
    };
    let word = latest.observation.status.as_deref().unwrap_or_default();
    match OrderStatus::from_word(word) {
        OrderStatus::Paid => {}
        OrderStatus::Refunded | OrderStatus::AlreadyRefunded => {
            return Some((
                false,
                format!("order {number} is already refunded ({})", seen(latest)),
            ));
        }
        _ => {
            return Some((
                false,
                format!(
                    "order {number} is {word}, not paid ({}); only paid orders can be refunded",
                    seen(latest)
                ),
            ));
        }
    }
    let Some(paid) = latest.observation.amount_paid else {
        return Some((
            true,
            format!(
                "the amount paid for order {number} is not known ({}), so a refund of \
                 {amount:.2} cannot be checked; {}",
                seen(latest),
                status_hint(None)
            ),
        ));
    };
    let left = paid - k.refunded;
    if amount <= left {
        return None;
    }
    let message = if k.refunded.is_zero() {
        format!(
            "refund {amount:.2} is more than the {paid:.2} paid for order {number} ({})",
            seen(latest)
        )
    } else {
        let runs: Vec<String> = k.refund_runs.iter().map(|r| r.to_string()).collect();
        format!(
            "refund {amount:.2} is more than the {left:.2} left to refund of order {number}: \
             {paid:.2} paid, {:.2} already refunded by run {}",
            k.refunded,
            runs.join(", ")
        )
    };
    Some((true, message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal::{OrderObservation, RunId};
    use chrono::{TimeZone, Utc};

    fn target() -> Target {
        Target {
            base_url: "http://pp".into(),
            merchant_id: "acme".into(),
        }
    }

    fn knowing(status: &str, paid: Option<i64>, refunded: i64) -> OrderKnowledge {
        OrderKnowledge {
            created_by: Some((RunId(4), 17)),
            latest: Some(KnownStatus {
                observation: OrderObservation {
                    connectpay_id: "0044000000001".into(),
                    order_number: Some("A-1".into()),
                    status: Some(status.into()),
                    amount_paid: paid.map(|c| Decimal::new(c, 2)),
                    date_paid: None,
                    checked_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).unwrap(),
                    error: None,
                },
                source: "status refresh of run 4".into(),
            }),
            refunded: Decimal::new(refunded, 2),
            refund_runs: if refunded > 0 { vec![RunId(9)] } else { vec![] },
        }
    }

    fn why(amount: i64, k: Option<&OrderKnowledge>) -> Option<(bool, String)> {
        refusal("A-1", Decimal::new(amount, 2), k, &target())
    }

    #[test]
    fn a_paid_order_may_be_refunded_up_to_what_is_left() {
        let k = knowing("PAID", Some(45_000), 0);
        assert_eq!(why(45_000, Some(&k)), None);
        let (on_amount, m) = why(45_001, Some(&k)).unwrap();
        assert!(on_amount);
        assert_eq!(
            m,
            "refund 450.01 is more than the 450.00 paid for order A-1 (seen 2026-01-05 09:30 UTC by the status refresh of run 4)"
        );
        let k = knowing("Paid", Some(45_000), 40_000);
        assert_eq!(why(5_000, Some(&k)), None);
        let (_, m) = why(5_001, Some(&k)).unwrap();
        assert!(
            m.contains("more than the 50.00 left to refund of order A-1: 450.00 paid, 400.00 already refunded by run 9"),
            "{m}"
        );
    }

    #[test]
    fn unknown_unpaid_and_refunded_orders_are_refused_naming_what_is_known() {
        let (on_amount, m) = why(100, None).unwrap();
        assert!(!on_amount);
        assert!(
            m.starts_with("order A-1 is not known to the journal for merchant acme at http://pp"),
            "{m}"
        );
        let created_only = OrderKnowledge {
            created_by: Some((RunId(4), 17)),
            ..OrderKnowledge::default()
        };
        let (_, m) = why(100, Some(&created_only)).unwrap();
        assert!(
            m.contains("(created by run 4, row 17) is not known to be paid"),
            "{m}"
        );
        assert!(m.contains("paypro-console status 4"), "{m}");
        let (_, m) = why(100, Some(&knowing("Unpaid", Some(0), 0))).unwrap();
        assert!(
            m.starts_with("order A-1 is Unpaid, not paid (seen 2026-01-05"),
            "{m}"
        );
        let (_, m) = why(100, Some(&knowing("Refunded", Some(100), 0))).unwrap();
        assert!(m.starts_with("order A-1 is already refunded"), "{m}");
        let (on_amount, m) = why(100, Some(&knowing("Paid", None, 0))).unwrap();
        assert!(
            on_amount && m.contains("amount paid for order A-1 is not known"),
            "{m}"
        );
    }
}
