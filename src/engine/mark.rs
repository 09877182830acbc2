//! Mark runs: mark paid (`moap`), mark blocked (`moab`) and refunds (`mofr`), driven
//! by the same drive as order creation (journal first, bounded concurrency, retry,
//! pause, cancel, resume) with their own packing and their own reading of answers.
//! Pure apart from [`send`], so every rule is unit-tested here.
//!
//! The rules, from the reference (connectpay-api.md §4–6) and its Decisions:
//! - a request is one call whose whole `csvOrders` parameter (credentials included, as
//!   sent) is at most 4000 characters, as full as that allows: [`call_len`] asks the
//!   client's packing ([`crate::api::Client::plan_mark_calls`]) how many of the next
//!   orders fit, so what is journaled in flight is exactly what one call carries;
//! - an answer that lists orders lists those PayPro did not change, with their state
//!   now: each is `rejected` with it ("already Paid", "Blocked", "Already Refunded",
//!   "Not Found"); every order of the call it does not list was changed: `done`;
//! - marking is not idempotent (a second `moap` of a paid order fails), so after a lost
//!   answer of our own — an earlier send that may have reached PayPro: the item went
//!   out before and its answer never came (transport failure, unreadable answer, a
//!   crash with it in flight) — the state the operation itself produces ("Paid" for
//!   mark paid, "Blocked" for mark blocked, "Refunded" for a refund) is success:
//!   `done`, its description saying it was decided that way;
//! - a refusal of the whole call without a list (01 invalid data or format, 03 no data)
//!   changed nothing: a call of several orders is split in two and the halves sent
//!   again (so one bad order ends up alone), a single order is `rejected` with the
//!   status and description;
//! - refused credentials (02, or 01 blaming the user name or password) stop the run,
//!   its items pending; transport failures, 5xx and unreadable answers are retried as
//!   maybe-sent until the item has been sent `max_attempts` times in this drive, then
//!   it is `failed`; a call the client refuses to build is split, a single order of it
//!   fails.

use super::RunKind;
use super::classify::{Classified, Entry, Next, Payload, common_error, text_of};
use crate::api::{ApiError, Client, Exchange, MarkFailure, MarkResponse, MarkStatus, OrderStatus};
use crate::domain::{OrderRef, Refund};
use crate::journal::ItemOutcome;
use std::collections::HashMap;

/// The most entries one call can carry: each costs at least one character and a
/// separator (the credentials take some of the 4000 too).
pub(crate) const MAX_PER_CALL: usize = crate::api::CSV_ORDERS_MAX / 2;

/// The order numbers of a batch of mark entries; `None` if one is of another kind.
fn order_refs(entries: &[Entry]) -> Option<Vec<OrderRef>> {
    entries
        .iter()
        .map(|e| match &e.payload {
            Payload::Mark(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn refunds(entries: &[Entry]) -> Option<Vec<Refund>> {
    entries
        .iter()
        .map(|e| match &e.payload {
            Payload::Refund(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// How many of `entries`, from the first, go into the next call: as many as the
/// client's packing fits into one `csvOrders` of at most 4000 characters. An order
/// that cannot fit even alone goes alone (the client then refuses it, naming it).
pub(crate) fn call_len(client: &Client, kind: RunKind, entries: &[Entry]) -> usize {
    let mut end = entries.len().min(MAX_PER_CALL);
    while end > 0 {
        let head = &entries[..end];
        let planned = match kind {
            RunKind::Refunds => refunds(head).map(|r| client.plan_refund_calls(&r)),
            _ => order_refs(head).map(|r| client.plan_mark_calls(&r)),
        };
        match planned {
            Some(Ok(calls)) => return calls.first().map_or(1, |c| c.len().max(1)),
            Some(Err(crate::api::RequestProblem::EntryTooLong { order_number, .. })) => {
                // Pack what comes before the order that cannot fit; it goes alone.
                match head.iter().position(|e| e.key == order_number) {
                    Some(0) | None => return 1,
                    Some(i) => end = i,
                }
            }
            _ => return 1,
        }
    }
    1
}

/// Sends one call with exactly these entries, with the exchange for the journal.
pub(crate) async fn send(
    client: &Client,
    kind: RunKind,
    entries: &[Entry],
) -> (Result<MarkResponse, ApiError>, Option<Exchange>) {
    let wrong_kind = || ApiError::Request {
        endpoint: kind.endpoint(),
        problem: crate::api::RequestProblem::Build(
            "an item of another kind was planned into this run's call".to_string(),
        ),
    };
    let got = match kind {
        RunKind::Refunds => match refunds(entries) {
            Some(r) => client.refund_call_with_exchange(&r).await,
            None => return (Err(wrong_kind()), None),
        },
        RunKind::MarkPaid | RunKind::MarkBlocked => match order_refs(entries) {
            Some(r) => {
                client
                    .mark_call_with_exchange(kind == RunKind::MarkPaid, &r)
                    .await
            }
            None => return (Err(wrong_kind()), None),
        },
        _ => return (Err(wrong_kind()), None),
    };
    (got.result, got.exchange)
}

/// What the operation does, in the words of a row's outcome.
fn done_words(kind: RunKind) -> &'static str {
    match kind {
        RunKind::MarkBlocked => "marked blocked",
        RunKind::Refunds => "refunded",
        _ => "marked paid",
    }
}

/// The state the operation itself leaves an order in.
fn own_result(kind: RunKind, status: &OrderStatus) -> bool {
    match kind {
        RunKind::MarkPaid => *status == OrderStatus::Paid,
        RunKind::MarkBlocked => *status == OrderStatus::Blocked,
        RunKind::Refunds => {
            matches!(status, OrderStatus::Refunded | OrderStatus::AlreadyRefunded)
        }
        _ => false,
    }
}

/// "already Paid", "Blocked", "Already Refunded", or PayPro's own word.
fn state_words(status: Option<&OrderStatus>) -> String {
    match status {
        Some(OrderStatus::Paid) => "already Paid".to_string(),
        Some(OrderStatus::Refunded | OrderStatus::AlreadyRefunded) => {
            "Already Refunded".to_string()
        }
        Some(other) => other.to_string(),
        None => "no state given".to_string(),
    }
}

fn with_server_words(text: String, failure: &MarkFailure) -> String {
    match failure.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("{text} (PayPro: {d})"),
        _ => text,
    }
}

/// What became of an entry the answer listed as not changed.
fn listed(kind: RunKind, entry: &Entry, failure: &MarkFailure, code: &str) -> ItemOutcome {
    // Sends before this one that may have reached PayPro, in any drive.
    let earlier = entry.earlier + entry.sends.saturating_sub(1);
    let state = state_words(failure.order_status.as_ref());
    if earlier > 0
        && failure
            .order_status
            .as_ref()
            .is_some_and(|s| own_result(kind, s))
    {
        return ItemOutcome::Done {
            status_code: code.to_string(),
            description: Some(with_server_words(
                format!(
                    "{state} after our earlier request's answer was lost: {} then",
                    done_words(kind)
                ),
                failure,
            )),
        };
    }
    ItemOutcome::Rejected {
        status_code: code.to_string(),
        description: Some(with_server_words(
            format!("not {}: {state}", done_words(kind)),
            failure,
        )),
    }
}

/// What a done entry's row says: the operation, and a refund's amount.
fn done_text(kind: RunKind, entry: &Entry, others_listed: bool) -> String {
    let mut text = match &entry.payload {
        Payload::Refund(r) => format!("refunded {}", r.amount.to_wire()),
        _ => done_words(kind).to_string(),
    };
    if others_listed {
        text.push_str(" (not among the orders PayPro listed as unchanged)");
    }
    text
}

/// Decides every entry of a call. `entries[i].sends` already counts this send.
pub(crate) fn classify(
    kind: RunKind,
    entries: &[Entry],
    result: &Result<MarkResponse, ApiError>,
    max_attempts: u32,
) -> Classified {
    let mut c = Classified::new(entries.len());
    match result {
        Ok(resp) => classify_answer(&mut c, kind, entries, resp, max_attempts),
        Err(e) => classify_error(&mut c, entries, e, max_attempts),
    }
    c
}

fn classify_answer(
    c: &mut Classified,
    kind: RunKind,
    entries: &[Entry],
    resp: &MarkResponse,
    max_attempts: u32,
) {
    c.http_status = Some(200);
    let code = resp.status.code().to_string();
    let mut by_number: HashMap<&str, &MarkFailure> = HashMap::new();
    for f in &resp.failed {
        by_number.entry(f.order_number.trim()).or_insert(f);
    }
    let mut folded: HashMap<String, &MarkFailure> = HashMap::new();
    for f in &resp.failed {
        folded
            .entry(f.order_number.trim().to_lowercase())
            .or_insert(f);
    }
    let sent: std::collections::HashSet<String> = entries
        .iter()
        .map(|e| e.key.trim().to_lowercase())
        .collect();
    let strangers = resp
        .failed
        .iter()
        .filter(|f| !sent.contains(&f.order_number.trim().to_lowercase()))
        .count();
    c.summary = if resp.failed.is_empty() {
        "ok".to_string()
    } else {
        format!(
            "{}: {} of {} orders listed as not changed",
            text_of(&code, resp.description.as_deref()),
            resp.failed.len() - strangers,
            entries.len()
        )
    };
    if strangers > 0 {
        c.summary.push_str(&format!(
            "; {strangers} listed orders were not in this call"
        ));
    }
    // 00, or 01 with a list: the unlisted orders were changed. Any other status with a
    // list says nothing of the unlisted ones.
    let unlisted_changed = matches!(resp.status, MarkStatus::Ok | MarkStatus::InvalidData);
    let others_listed = !resp.failed.is_empty();
    for entry in entries {
        let key = entry.key.trim();
        let failure = by_number
            .get(key)
            .copied()
            .or_else(|| folded.get(&key.to_lowercase()).copied());
        match failure {
            Some(f) => c.push(entry, listed(kind, entry, f, &code), Next::Done),
            None if unlisted_changed => c.push(
                entry,
                ItemOutcome::Done {
                    status_code: "00".to_string(),
                    description: Some(done_text(kind, entry, others_listed)),
                },
                Next::Done,
            ),
            None => c.retry_or_fail(
                entry,
                &format!(
                    "the answer ({}) did not say what became of this order",
                    text_of(&code, resp.description.as_deref())
                ),
                max_attempts,
            ),
        }
    }
}

fn classify_error(c: &mut Classified, entries: &[Entry], e: &ApiError, max_attempts: u32) {
    if common_error(c, entries, e, max_attempts) {
        return;
    }
    match e {
        // The whole call refused without a list: nothing was changed.
        ApiError::Status {
            status,
            description,
            ..
        } => {
            if entries.len() > 1 {
                c.split(entries);
                return;
            }
            let description = (!description.trim().is_empty()).then(|| description.clone());
            for entry in entries {
                c.push(
                    entry,
                    ItemOutcome::Rejected {
                        status_code: status.code().to_string(),
                        description: description.clone(),
                    },
                    Next::Done,
                );
            }
        }
        ApiError::Request { .. } | ApiError::Config(_) if entries.len() > 1 => c.split(entries),
        _ => {
            for entry in entries {
                c.push(
                    entry,
                    ItemOutcome::Failed {
                        last_error: e.to_string(),
                    },
                    Next::Done,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::api::{ApiStatus, ClientConfig, Endpoint, TransportKind};
    use crate::domain::Money;
    use crate::journal::ItemId;

    fn entries(keys: &[&str], sends: u32, earlier: u32) -> Vec<Entry> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Entry {
                id: ItemId(i as i64 + 1),
                row: i as u32 + 2,
                key: (*k).into(),
                payload: Payload::Mark(OrderRef {
                    order_number: (*k).into(),
                }),
                sends,
                earlier,
            })
            .collect()
    }

    fn failure(n: &str, status: &str) -> MarkFailure {
        MarkFailure {
            order_number: n.into(),
            order_status: Some(OrderStatus::from_word(status)),
            connectpay_id: Some("0044000000001".into()),
            description: Some("You can update only unpaid orders".into()),
        }
    }

    fn answer(status: &str, failed: Vec<MarkFailure>) -> Result<MarkResponse, ApiError> {
        Ok(MarkResponse {
            status: MarkStatus::from_code(status),
            description: Some("Error in updating record".into()),
            failed,
        })
    }

    fn states(c: &Classified) -> Vec<&'static str> {
        c.outcomes
            .iter()
            .map(|(_, o)| match o {
                ItemOutcome::Done { .. } => "done",
                ItemOutcome::Rejected { .. } => "rejected",
                ItemOutcome::Retry { .. } => "retry",
                ItemOutcome::Failed { .. } => "failed",
                ItemOutcome::Unsent => "unsent",
                _ => "other",
            })
            .collect()
    }

    fn description(c: &Classified, i: usize) -> String {
        match &c.outcomes[i].1 {
            ItemOutcome::Done { description, .. } | ItemOutcome::Rejected { description, .. } => {
                description.clone().unwrap_or_default()
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn listed_orders_are_rejected_with_their_state_and_the_rest_are_done() {
        let e = entries(&["A", "B", "C", "D"], 1, 0);
        let resp = answer(
            "01",
            vec![
                failure("B", "Paid"),
                failure("c", "Blocked"),
                MarkFailure {
                    order_number: "D".into(),
                    order_status: Some(OrderStatus::from_word("Not Found")),
                    connectpay_id: None,
                    description: Some("No data available".into()),
                },
            ],
        );
        let c = classify(RunKind::MarkPaid, &e, &resp, 6);
        assert_eq!(states(&c), ["done", "rejected", "rejected", "rejected"]);
        assert!(
            description(&c, 0).starts_with("marked paid (not among"),
            "{}",
            description(&c, 0)
        );
        assert!(
            description(&c, 1).starts_with("not marked paid: already Paid"),
            "{}",
            description(&c, 1)
        );
        // Matched without regard to case, as PayPro's .NET compares.
        assert!(description(&c, 2).contains("Blocked"));
        assert_eq!(
            description(&c, 3),
            "not marked paid: Not Found (PayPro: No data available)"
        );
        assert!(c.next.iter().all(|n| *n == Next::Done));
        assert!(c.summary.contains("3 of 4 orders listed"), "{}", c.summary);
        let ok = classify(RunKind::MarkPaid, &e, &answer("00", vec![]), 6);
        assert_eq!(states(&ok), ["done"; 4]);
        assert_eq!(ok.summary, "ok");
        assert_eq!(description(&ok, 0), "marked paid");
    }

    #[test]
    fn already_paid_after_our_own_lost_answer_is_done_and_says_so() {
        // Sent once before (a crash, or a transport failure in this drive).
        for (sends, earlier) in [(1, 1), (2, 0)] {
            let e = entries(&["A", "B"], sends, earlier);
            let resp = answer("01", vec![failure("A", "Paid"), failure("B", "Blocked")]);
            let c = classify(RunKind::MarkPaid, &e, &resp, 6);
            assert_eq!(states(&c), ["done", "rejected"]);
            assert!(
                description(&c, 0)
                    .starts_with("already Paid after our earlier request's answer was lost"),
                "{}",
                description(&c, 0)
            );
        }
        // Never sent before: "already Paid" is someone else's doing.
        let c = classify(
            RunKind::MarkPaid,
            &entries(&["A"], 1, 0),
            &answer("01", vec![failure("A", "Paid")]),
            6,
        );
        assert_eq!(states(&c), ["rejected"]);
        // Each operation has its own result.
        let c = classify(
            RunKind::MarkBlocked,
            &entries(&["A"], 1, 2),
            &answer("01", vec![failure("A", "Blocked")]),
            6,
        );
        assert_eq!(states(&c), ["done"]);
        let c = classify(
            RunKind::MarkBlocked,
            &entries(&["A"], 1, 2),
            &answer("01", vec![failure("A", "Paid")]),
            6,
        );
        assert_eq!(states(&c), ["rejected"]);
    }

    #[test]
    fn refunds_say_their_amount_and_read_already_refunded_after_a_loss() {
        let mut e = entries(&["R1", "R2"], 1, 1);
        for (entry, amount) in e.iter_mut().zip([45_000, 1_050]) {
            entry.payload = Payload::Refund(Refund {
                order_number: entry.key.clone(),
                amount: Money::from_cents(amount).unwrap(),
            });
        }
        let c = classify(
            RunKind::Refunds,
            &e,
            &answer("01", vec![failure("R2", "Already Refunded")]),
            6,
        );
        assert_eq!(states(&c), ["done", "done"]);
        assert!(
            description(&c, 0).starts_with("refunded 450"),
            "{}",
            description(&c, 0)
        );
        assert!(description(&c, 1).starts_with("Already Refunded after our earlier"));
    }

    fn status_err(code: &str, description: &str) -> Result<MarkResponse, ApiError> {
        Err(ApiError::Status {
            endpoint: Endpoint::Moap,
            status: ApiStatus::Mark(MarkStatus::from_code(code)),
            description: description.into(),
        })
    }

    #[test]
    fn whole_call_refusals_split_then_reject_and_credentials_stop() {
        let e = entries(&["A", "B", "C"], 1, 0);
        let c = classify(
            RunKind::MarkPaid,
            &e,
            &status_err("01", "Invalid Format"),
            6,
        );
        assert_eq!(states(&c), ["unsent"; 3]);
        assert_eq!(c.again, vec![vec![0], vec![1, 2]]);
        let one = entries(&["A"], 1, 0);
        let c = classify(RunKind::MarkPaid, &one, &status_err("03", "No data"), 6);
        assert!(
            matches!(&c.outcomes[0].1, ItemOutcome::Rejected { status_code, .. } if status_code == "03")
        );
        let c = classify(
            RunKind::MarkPaid,
            &e,
            &status_err("01", "Invalid Data. Username or password is invalid"),
            6,
        );
        assert!(c.auth.is_some());
        assert_eq!(states(&c), ["unsent"; 3]);
        assert!(c.again.is_empty());
    }

    #[test]
    fn transport_failures_retry_as_maybe_sent_then_fail() {
        let err: Result<MarkResponse, ApiError> = Err(ApiError::Transport {
            endpoint: Endpoint::Moap,
            kind: TransportKind::ConnectionClosed,
            message: "reset".into(),
        });
        let c = classify(RunKind::MarkPaid, &entries(&["A", "B"], 1, 0), &err, 3);
        assert_eq!(states(&c), ["retry", "retry"]);
        assert_eq!(c.next, [Next::Later, Next::Later]);
        let c = classify(RunKind::MarkPaid, &entries(&["A"], 3, 0), &err, 3);
        assert_eq!(states(&c), ["failed"]);
        assert_eq!(c.http_status, None);
    }

    #[test]
    fn an_odd_status_with_a_list_leaves_the_unlisted_to_be_sent_again() {
        let e = entries(&["A", "B"], 1, 0);
        let c = classify(
            RunKind::MarkPaid,
            &e,
            &answer("03", vec![failure("A", "Not Found")]),
            6,
        );
        assert_eq!(states(&c), ["rejected", "retry"]);
    }

    #[test]
    fn calls_are_packed_as_full_as_the_client_allows() {
        let client = Client::new(ClientConfig::new(
            "http://127.0.0.1:1",
            "demo",
            crate::Secret::new("demo-pass"),
        ))
        .unwrap();
        let keys: Vec<String> = (0..1000).map(|i| format!("MARK-{i:05}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let e = entries(&refs, 0, 0);
        let refs: Vec<OrderRef> = keys
            .iter()
            .map(|k| OrderRef {
                order_number: k.clone(),
            })
            .collect();
        let planned = client.plan_mark_calls(&refs).unwrap();
        assert_eq!(call_len(&client, RunKind::MarkPaid, &e), planned[0].len());
        assert!(planned[0].len() > 300 && planned[0].len() < MAX_PER_CALL);
        // An order too long for any call goes alone, after what fits before it.
        let mut long = entries(&["A", "B"], 0, 0);
        long.push(entries(&[&"X".repeat(4000)], 0, 0).remove(0));
        assert_eq!(call_len(&client, RunKind::MarkPaid, &long), 2);
        assert_eq!(call_len(&client, RunKind::MarkPaid, &long[2..]), 1);
    }
}
