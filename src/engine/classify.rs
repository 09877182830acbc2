//! From an answer (or its absence) to one journal outcome per item sent, and what to do
//! with each item next. Pure: no IO, no clock, so every rule is unit-tested here.
//!
//! The rules, in the words of the reference (connectpay-api.md §1-2, §8-11) and the
//! README's "Decisions beyond the API reference":
//! - each item is decided from its own result object, matched by key, then position,
//!   and never from element 0's code;
//! - `00` created (with its ConnectPayId), `01` already exists (the journal tells
//!   "before this run" from "our own earlier send, answer lost" by the attempt count),
//!   `03` rejected with the server's description, `02` on orders retried; on the
//!   consumer endpoints `01` is "already exists" when the description says so and
//!   otherwise "invalid format" (rejected with the description), `03` no data;
//! - an item without a `Status` of its own is read from its content by the client
//!   (`api::ItemStatus`); one with nothing to go on is *unknown*: it may have been
//!   created, so it is retried as maybe-sent (the attempt counts), and a later `01`
//!   becomes "exists, id unknown", never a second order;
//! - an all-or-nothing refusal lists only the offending items: the others were not
//!   created and are sent again at once (`Unsent`, their attempt not counted);
//! - a refusal of the whole request with no items, on several items, splits the batch
//!   in two and sends the halves (nothing was created), so one bad item ends up alone
//!   and only it is rejected;
//! - transport failures, 5xx, unreadable bodies and `02` are retried until the item has
//!   been sent `max_attempts` times in this drive, then it is `failed`;
//! - `04` on orders, `02` on consumers (credentials refused) leaves the items pending
//!   and stops the run;
//! - anything the answer does not account for is treated as "may have been created":
//!   retried, so a later `01` becomes "exists, id unknown", never a second order.

use super::RunKind;
use crate::api::{
    ApiError, ConsumerItemResult, ConsumerStatus, ConsumersResponse, CreateOrdersResponse,
    CreateStatus, Exchange, OrderItemResult,
};
use crate::domain::{Consumer, ConsumerUpdate, Order, OrderRef, Refund};
use crate::journal::{ItemId, ItemOutcome};
use rust_decimal::Decimal;

/// What an item carries to the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    Order(Order),
    Consumer(Consumer),
    Update(ConsumerUpdate),
    /// An order to mark paid or blocked.
    Mark(OrderRef),
    Refund(Refund),
}

/// One pending item as the engine carries it between requests.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub id: ItemId,
    pub row: u32,
    pub key: String,
    pub payload: Payload,
    /// Sends of this item in this drive, counting the current one once it is sent.
    pub sends: u32,
    /// Sends that may have reached the server before this drive (the journal's count
    /// when the item was read).
    pub earlier: u32,
}

/// What a result object said about one item, whatever the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Created,
    Exists,
    Invalid,
    ServiceFailure,
    NotAuthorised,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub verdict: Verdict,
    pub code: String,
    pub description: Option<String>,
    /// ConnectPayId for orders, the full consumer code for consumers.
    pub id: Option<String>,
    pub fee: Option<Decimal>,
}

/// A decoded batch answer, paired with the items sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub envelope_code: String,
    pub envelope_description: Option<String>,
    /// One per item sent, in request order; `None`: the answer did not mention it.
    pub answers: Vec<Option<Answer>>,
    /// Result objects that matched no item sent.
    pub unmatched: usize,
    /// Result objects in all.
    pub listed: usize,
}

impl Response {
    pub(crate) fn from_orders(resp: &CreateOrdersResponse, sent: &[Order]) -> Response {
        let paired = resp.pair(sent);
        let answers: Vec<Option<Answer>> =
            paired.iter().map(|item| item.map(order_answer)).collect();
        Response::assemble(
            resp.status.code(),
            resp.description.clone(),
            answers,
            resp.items.len(),
        )
    }

    pub(crate) fn from_consumers(
        resp: &ConsumersResponse,
        sent_keys: &[&str],
        updates: bool,
    ) -> Response {
        let paired = resp.pair_ids(sent_keys);
        let answers: Vec<Option<Answer>> = paired
            .iter()
            .zip(sent_keys)
            .map(|(item, key)| item.map(|i| consumer_answer(i, key, updates)))
            .collect();
        Response::assemble(
            resp.status.code(),
            resp.description.clone(),
            answers,
            resp.items.len(),
        )
    }

    fn assemble(
        code: &str,
        description: Option<String>,
        answers: Vec<Option<Answer>>,
        listed: usize,
    ) -> Response {
        let matched = answers.iter().filter(|a| a.is_some()).count();
        Response {
            envelope_code: code.to_string(),
            envelope_description: description,
            unmatched: listed.saturating_sub(matched),
            listed,
            answers,
        }
    }
}

/// What the retry of an unknown item is journaled with.
const UNKNOWN_ITEM: &str = "the answer's object for this item has no status, id or recognisable message: it may have been created";

fn order_answer(item: &OrderItemResult) -> Answer {
    let Some(status) = item.status.known() else {
        return unknown_answer(item.description.clone());
    };
    let verdict = match status {
        CreateStatus::Created => Verdict::Created,
        CreateStatus::AlreadyExists => Verdict::Exists,
        CreateStatus::InvalidData => Verdict::Invalid,
        CreateStatus::ServiceFailure => Verdict::ServiceFailure,
        CreateStatus::NotAuthorised => Verdict::NotAuthorised,
        CreateStatus::Other(_) => Verdict::Unknown,
    };
    Answer {
        verdict,
        code: status.code().to_string(),
        description: item.description.clone(),
        id: item.connectpay_id.clone(),
        fee: item.connectpay_fee,
    }
}

/// An item the answer names but says nothing decisive about.
fn unknown_answer(description: Option<String>) -> Answer {
    Answer {
        verdict: Verdict::Unknown,
        code: String::new(),
        description,
        id: None,
        fee: None,
    }
}

fn says_already_exists(description: Option<&str>) -> bool {
    description.is_some_and(|d| d.to_ascii_lowercase().contains("already exist"))
}

fn consumer_answer(item: &ConsumerItemResult, key: &str, updates: bool) -> Answer {
    let Some(status) = item.status.known() else {
        return unknown_answer(item.description.clone());
    };
    // The consumer endpoints' codes (connectpay-api.md §8-11): 00 done, 01 "already
    // exists" or "invalid format" (told apart by the description: without "already
    // exist" it is a refusal, shown with its description), 02 not authorised (they
    // have no service-failure code), 03 no data.
    let verdict = match status {
        ConsumerStatus::Ok => Verdict::Created,
        ConsumerStatus::ExistsOrInvalid if says_already_exists(item.description.as_deref()) => {
            Verdict::Exists
        }
        ConsumerStatus::ExistsOrInvalid => Verdict::Invalid,
        ConsumerStatus::NotAuthorised => Verdict::NotAuthorised,
        ConsumerStatus::NoData => Verdict::Invalid,
        ConsumerStatus::Other(_) => Verdict::Unknown,
    };
    let id = if updates {
        // An update creates nothing: record the full code it was applied to.
        item.consumer_id
            .clone()
            .or_else(|| item.full_consumer_code.clone())
            .or_else(|| Some(key.to_string()))
    } else {
        item.full_consumer_code.clone()
    };
    Answer {
        verdict,
        code: status.code().to_string(),
        description: item.description.clone(),
        id,
        fee: None,
    }
}

/// What happens to an item after its outcome is journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Settled, failed for good, or kept pending by a stop: nothing more in this drive.
    Done,
    /// Send again at once, in the group of that index of [`Classified::again`].
    Again(usize),
    /// Send again after a backoff.
    Later,
}

/// The decision for one answered (or failed) request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classified {
    /// One per item sent, in request order.
    pub outcomes: Vec<(ItemId, ItemOutcome)>,
    pub next: Vec<Next>,
    /// Groups of item positions to send again at once, each as one request.
    pub again: Vec<Vec<usize>>,
    /// Set when the server refused the credentials: stop the run.
    pub auth: Option<String>,
    /// The reason of the retryable failures, for the event and the log.
    pub retry_reason: Option<String>,
    /// The request's outcome, as journaled.
    pub summary: String,
    pub http_status: Option<u16>,
    /// What the server sent back, credentials redacted, as journaled with the request.
    pub response_body: Option<String>,
}

impl Classified {
    pub(super) fn new(n: usize) -> Classified {
        Classified {
            outcomes: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
            again: Vec::new(),
            auth: None,
            retry_reason: None,
            summary: String::new(),
            http_status: None,
            response_body: None,
        }
    }

    /// Records what the server actually said: the real HTTP status and the whole body
    /// (redacted by the client) when a response arrived; else what the error kept of
    /// one (an `Http` error's status and excerpt, a `Decode` error's excerpt). A
    /// transport failure has neither; its kind is in the summary.
    pub(crate) fn attach_evidence<T>(
        &mut self,
        result: &Result<T, ApiError>,
        exchange: Option<Exchange>,
    ) {
        match (exchange, result) {
            (Some(x), _) => {
                self.http_status = Some(x.http_status);
                self.response_body = Some(x.body);
            }
            (
                None,
                Err(ApiError::Http {
                    status, excerpt, ..
                }),
            ) => {
                self.http_status = Some(*status);
                self.response_body = Some(excerpt.clone());
            }
            (None, Err(ApiError::Decode { excerpt, .. })) => {
                self.response_body = Some(excerpt.clone());
            }
            (None, _) => {}
        }
    }

    /// A request that never left (the run stopped while it waited for its turn): every
    /// item back to pending as if it had not been planned.
    pub(crate) fn not_sent(entries: &[Entry], why: &str) -> Classified {
        let mut c = Classified::new(entries.len());
        c.summary = format!("not sent: {why}");
        for entry in entries {
            c.push(entry, ItemOutcome::Unsent, Next::Done);
        }
        c
    }

    pub(super) fn push(&mut self, entry: &Entry, outcome: ItemOutcome, next: Next) {
        self.outcomes.push((entry.id, outcome));
        self.next.push(next);
    }

    /// Retry if the item has sends left in this drive, else fail it for good.
    pub(super) fn retry_or_fail(&mut self, entry: &Entry, reason: &str, max_attempts: u32) {
        if entry.sends < max_attempts {
            self.retry_reason.get_or_insert_with(|| reason.to_string());
            self.push(
                entry,
                ItemOutcome::Retry {
                    last_error: reason.to_string(),
                },
                Next::Later,
            );
        } else {
            self.push(
                entry,
                ItemOutcome::Failed {
                    last_error: format!("{reason} (gave up after {} sends)", entry.sends),
                },
                Next::Done,
            );
        }
    }

    /// The server could not be reached and the outage began before this request
    /// left: an item that ran out of sends is not `failed` for it but waits like the
    /// others (the outage's own limit stops the run).
    pub(crate) fn keep_sends_during_outage(&mut self) {
        for ((_, outcome), next) in self.outcomes.iter_mut().zip(self.next.iter_mut()) {
            if let ItemOutcome::Failed { last_error } = outcome {
                let reason = match last_error.rfind(" (gave up after ") {
                    Some(cut) => last_error[..cut].to_string(),
                    None => last_error.clone(),
                };
                *outcome = ItemOutcome::Retry { last_error: reason };
                *next = Next::Later;
            }
        }
    }

    /// Nothing was created: every item goes back unsent, the batch split in two halves
    /// sent again at once. Only called with two items or more, so each half is smaller
    /// than the batch and the splitting ends with single items.
    pub(super) fn split(&mut self, entries: &[Entry]) {
        let mid = entries.len() / 2;
        self.again = vec![(0..mid).collect(), (mid..entries.len()).collect()];
        for (i, entry) in entries.iter().enumerate() {
            let group = usize::from(i >= mid);
            self.push(entry, ItemOutcome::Unsent, Next::Again(group));
        }
    }
}

pub(super) fn text_of(code: &str, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.trim().is_empty() => format!("status {code}: {}", d.trim()),
        _ => format!("status {code}"),
    }
}

/// Decides every item of a request. `entries[i].sends` already counts this send.
pub(crate) fn classify(
    kind: RunKind,
    entries: &[Entry],
    result: &Result<Response, ApiError>,
    max_attempts: u32,
) -> Classified {
    let mut c = Classified::new(entries.len());
    match result {
        Ok(resp) => classify_answer(&mut c, entries, resp, max_attempts),
        Err(e) => classify_error(&mut c, kind, entries, e, max_attempts),
    }
    c
}

fn classify_answer(c: &mut Classified, entries: &[Entry], resp: &Response, max_attempts: u32) {
    c.http_status = Some(200);
    let envelope_ok = resp.envelope_code == "00";
    c.summary = if envelope_ok {
        "ok".to_string()
    } else {
        text_of(&resp.envelope_code, resp.envelope_description.as_deref())
    };
    let answered = resp.answers.iter().flatten().count();
    let any_created = resp
        .answers
        .iter()
        .flatten()
        .any(|a| a.verdict == Verdict::Created);
    // An all-or-nothing refusal: a failing envelope, fewer objects than items, every
    // object ours, and nothing created. The items it leaves out were not created.
    let atomic = !envelope_ok
        && resp.unmatched == 0
        && answered > 0
        && answered < entries.len()
        && !any_created;
    let mut unlisted = Vec::new();
    for (i, (entry, answer)) in entries.iter().zip(&resp.answers).enumerate() {
        let Some(a) = answer else {
            if atomic {
                unlisted.push(i);
                c.push(entry, ItemOutcome::Unsent, Next::Again(0));
            } else {
                c.retry_or_fail(
                    entry,
                    "the response did not account for this item",
                    max_attempts,
                );
            }
            continue;
        };
        let code = a.code.clone();
        let description = a.description.clone();
        match a.verdict {
            Verdict::Created => match &a.id {
                Some(id) if !id.trim().is_empty() => c.push(
                    entry,
                    ItemOutcome::Created {
                        connectpay_id: id.trim().to_string(),
                        fee: a.fee,
                        status_code: code,
                        description,
                    },
                    Next::Done,
                ),
                // Created, but the id did not come back: exists, id unknown.
                _ => c.push(
                    entry,
                    ItemOutcome::ExistsIdUnknown {
                        status_code: code,
                        description,
                    },
                    Next::Done,
                ),
            },
            Verdict::Exists => c.push(
                entry,
                ItemOutcome::AlreadyExists {
                    status_code: code,
                    description,
                },
                Next::Done,
            ),
            Verdict::Invalid => c.push(
                entry,
                ItemOutcome::Rejected {
                    status_code: code,
                    description,
                },
                Next::Done,
            ),
            Verdict::ServiceFailure | Verdict::Unknown => {
                // Retried as maybe-sent: the attempt counts, so a later `01` is read as
                // "exists, id unknown".
                let reason = if code.is_empty() {
                    match description.as_deref().map(str::trim) {
                        Some(d) if !d.is_empty() => format!("{UNKNOWN_ITEM} ('{d}')"),
                        _ => UNKNOWN_ITEM.to_string(),
                    }
                } else {
                    text_of(&code, description.as_deref())
                };
                c.retry_or_fail(entry, &reason, max_attempts);
            }
            Verdict::NotAuthorised => {
                c.auth
                    .get_or_insert_with(|| text_of(&code, description.as_deref()));
                c.push(entry, ItemOutcome::Unsent, Next::Done);
            }
        }
    }
    if !unlisted.is_empty() {
        c.again.push(unlisted);
    }
    if c.auth.is_some() {
        // Nothing is sent after a 04, not even the items an atomic refusal left out.
        for next in &mut c.next {
            *next = Next::Done;
        }
        c.again.clear();
    }
}

/// What every kind of request does with a failed one: the summary and HTTP status
/// recorded, refused credentials stop the run with nothing counted as sent, retryable
/// failures (transport, 5xx, unreadable) retried as maybe-sent. Returns whether the
/// error was one of those (else the caller decides by its endpoint's codes).
pub(super) fn common_error(
    c: &mut Classified,
    entries: &[Entry],
    e: &ApiError,
    max_attempts: u32,
) -> bool {
    c.summary = e.to_string();
    c.http_status = match e {
        ApiError::Http { status, .. } => Some(*status),
        // Both come from a 2xx answer (the client does not say which one).
        ApiError::Decode { .. } | ApiError::Status { .. } => Some(200),
        _ => None,
    };
    if e.is_auth() {
        c.auth = Some(e.to_string());
        for entry in entries {
            c.push(entry, ItemOutcome::Unsent, Next::Done);
        }
        return true;
    }
    if e.is_retryable() {
        let reason = e.to_string();
        for entry in entries {
            c.retry_or_fail(entry, &reason, max_attempts);
        }
        return true;
    }
    false
}

fn classify_error(
    c: &mut Classified,
    kind: RunKind,
    entries: &[Entry],
    e: &ApiError,
    max_attempts: u32,
) {
    if common_error(c, entries, e, max_attempts) {
        return;
    }
    match e {
        ApiError::Status {
            status,
            description,
            ..
        } => {
            if entries.len() > 1 {
                c.split(entries);
                return;
            }
            let code = status.code().to_string();
            let description = (!description.trim().is_empty()).then(|| description.clone());
            let exists = match kind {
                RunKind::Orders => code == "01",
                RunKind::Consumers => code == "01" && says_already_exists(description.as_deref()),
                // Mark runs are decided by `super::mark`; nothing else creates.
                _ => false,
            };
            for entry in entries {
                let outcome = if exists {
                    ItemOutcome::AlreadyExists {
                        status_code: code.clone(),
                        description: description.clone(),
                    }
                } else {
                    ItemOutcome::Rejected {
                        status_code: code.clone(),
                        description: description.clone(),
                    }
                };
                c.push(entry, outcome, Next::Done);
            }
        }
        // Refused before sending: if one item makes the request unbuildable, splitting
        // finds it; a single item that cannot be sent fails.
        ApiError::Request { .. } | ApiError::Config(_) if entries.len() > 1 => c.split(entries),
        _ => {
            // A client error (HTTP 4xx) or the like: sending again will not help.
            // `retry` can send the items later.
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
    use super::*;
    use crate::api::wire::decode_create_response;
    use crate::api::{ApiStatus, Endpoint, ItemStatus, TransportKind, wire};
    use crate::domain::Money;
    use chrono::NaiveDate;

    fn order(n: &str) -> Order {
        Order {
            order_number: n.into(),
            amount: Money::from_cents(1000).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            issue_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            customer_name: "A".into(),
            customer_mobile: String::new(),
            customer_email: String::new(),
            customer_address: String::new(),
            expire_after_seconds: None,
            amount_within_due_date: None,
            amount_after_due_date: None,
        }
    }

    fn entries(keys: &[&str], sends: u32) -> Vec<Entry> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Entry {
                id: ItemId(i as i64 + 1),
                row: i as u32 + 2,
                key: (*k).into(),
                payload: Payload::Order(order(k)),
                sends,
                earlier: 0,
            })
            .collect()
    }

    fn item(status: &str, number: &str, id: Option<&str>, desc: &str) -> OrderItemResult {
        OrderItemResult {
            status: ItemStatus::Stated(CreateStatus::from_code(status)),
            description: Some(desc.into()),
            order_number: Some(number.into()),
            connectpay_id: id.map(Into::into),
            connectpay_fee: id.map(|_| Decimal::new(60, 0)),
            order_amount: None,
            is_fee_applied: None,
        }
    }

    fn orders_response(status: &str, items: Vec<OrderItemResult>, e: &[Entry]) -> Response {
        let sent: Vec<Order> = e.iter().map(|x| order(&x.key)).collect();
        let resp = CreateOrdersResponse {
            status: CreateStatus::from_code(status),
            description: Some("envelope".into()),
            items,
        };
        Response::from_orders(&resp, &sent)
    }

    fn status_err(code: &str, desc: &str) -> ApiError {
        ApiError::Status {
            endpoint: Endpoint::Cmo,
            status: ApiStatus::Create(CreateStatus::from_code(code)),
            description: desc.into(),
        }
    }

    #[test]
    fn mixed_per_item_batch_decides_each_item_by_key() {
        let e = entries(&["A", "B", "C", "D"], 1);
        // Out of order on purpose: matched by key, not position.
        let resp = orders_response(
            "03",
            vec![
                item("03", "B", None, "Invalid Data. Bad mobile"),
                item("00", "A", Some("00440000000001"), "ok"),
                item("01", "C", None, "Order number C already exists"),
                item("02", "D", None, "Service Fail"),
            ],
            &e,
        );
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert!(
            matches!(&c.outcomes[0].1, ItemOutcome::Created { connectpay_id, fee, .. }
            if connectpay_id == "00440000000001" && *fee == Some(Decimal::new(60, 0)))
        );
        assert!(
            matches!(&c.outcomes[1].1, ItemOutcome::Rejected { description: Some(d), .. }
            if d == "Invalid Data. Bad mobile")
        );
        assert!(matches!(
            &c.outcomes[2].1,
            ItemOutcome::AlreadyExists { .. }
        ));
        assert!(matches!(&c.outcomes[3].1, ItemOutcome::Retry { last_error }
            if last_error.contains("02")));
        assert_eq!(c.next, [Next::Done, Next::Done, Next::Done, Next::Later]);
        assert!(c.again.is_empty() && c.auth.is_none());
        assert_eq!(c.summary, "status 03: envelope");
    }

    #[test]
    fn atomic_refusal_sends_the_unlisted_items_again_unsent() {
        let e = entries(&["A", "B", "C"], 1);
        let resp = orders_response("03", vec![item("03", "B", None, "bad amount")], &e);
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert_eq!(c.outcomes[0].1, ItemOutcome::Unsent);
        assert!(matches!(c.outcomes[1].1, ItemOutcome::Rejected { .. }));
        assert_eq!(c.outcomes[2].1, ItemOutcome::Unsent);
        assert_eq!(c.next, [Next::Again(0), Next::Done, Next::Again(0)]);
        assert_eq!(c.again, vec![vec![0, 2]]);
    }

    #[test]
    fn an_answer_that_is_not_ours_makes_missing_items_retry_not_unsent() {
        let e = entries(&["A", "B", "C"], 1);
        let resp = orders_response("03", vec![item("03", "ZZZ", None, "who?")], &e);
        assert_eq!(
            resp.unmatched, 1,
            "one object for three items is not positional"
        );
        // A stranger's key with a count mismatch: nothing pairs, so nothing is known.
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert!(
            c.outcomes
                .iter()
                .all(|(_, o)| matches!(o, ItemOutcome::Retry { .. }))
        );
        assert!(c.next.iter().all(|n| *n == Next::Later));
    }

    #[test]
    fn missing_item_in_per_item_answer_is_retried() {
        let e = entries(&["A", "B"], 1);
        let resp = orders_response("00", vec![item("00", "A", Some("1"), "ok")], &e);
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert!(matches!(c.outcomes[0].1, ItemOutcome::Created { .. }));
        assert!(matches!(c.outcomes[1].1, ItemOutcome::Retry { .. }));
        // Something was created, so this cannot be an all-or-nothing refusal.
        let resp = orders_response(
            "03",
            vec![
                item("00", "A", Some("1"), "ok"),
                item("03", "B", None, "bad"),
            ],
            &entries(&["A", "B", "C"], 1),
        );
        let c = classify(RunKind::Orders, &entries(&["A", "B", "C"], 1), &Ok(resp), 6);
        assert!(matches!(c.outcomes[2].1, ItemOutcome::Retry { .. }));
    }

    #[test]
    fn created_without_an_id_is_exists_id_unknown() {
        let e = entries(&["A"], 1);
        let resp = orders_response("00", vec![item("00", "A", None, "ok")], &e);
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert!(matches!(
            c.outcomes[0].1,
            ItemOutcome::ExistsIdUnknown { .. }
        ));
    }

    #[test]
    fn retryable_failures_retry_until_the_limit_then_fail() {
        let transport = ApiError::Transport {
            endpoint: Endpoint::Cmo,
            kind: TransportKind::ConnectionClosed,
            message: "reset".into(),
        };
        let e = entries(&["A", "B"], 2);
        let c = classify(RunKind::Orders, &e, &Err(transport), 3);
        assert!(
            c.outcomes
                .iter()
                .all(|(_, o)| matches!(o, ItemOutcome::Retry { .. }))
        );
        assert!(c.retry_reason.as_deref().unwrap().contains("reset"));
        assert_eq!(c.http_status, None);
        let e = entries(&["A", "B"], 3);
        let http = ApiError::Http {
            endpoint: Endpoint::Cmo,
            status: 503,
            excerpt: "busy".into(),
        };
        let c = classify(RunKind::Orders, &e, &Err(http), 3);
        assert!(
            c.outcomes
                .iter()
                .all(|(_, o)| matches!(o, ItemOutcome::Failed { last_error }
            if last_error.contains("503") && last_error.contains("3 sends")))
        );
        assert!(c.next.iter().all(|n| *n == Next::Done));
        assert_eq!(c.http_status, Some(503));
        let c = classify(RunKind::Orders, &e[..1], &Err(status_err("02", "fail")), 6);
        assert!(matches!(c.outcomes[0].1, ItemOutcome::Retry { .. }));
    }

    #[test]
    fn not_authorised_stops_and_leaves_items_unsent() {
        let e = entries(&["A", "B"], 1);
        let c = classify(
            RunKind::Orders,
            &e,
            &Err(status_err("04", "User not Authorized")),
            6,
        );
        assert!(c.auth.as_deref().unwrap().contains("04"));
        assert!(c.outcomes.iter().all(|(_, o)| *o == ItemOutcome::Unsent));
        assert!(c.next.iter().all(|n| *n == Next::Done));
        // A 04 on one item of an answer stops too, and the others are still recorded.
        let resp = orders_response(
            "04",
            vec![
                item("00", "A", Some("1"), "ok"),
                item("04", "B", None, "not authorised"),
            ],
            &e,
        );
        let c = classify(RunKind::Orders, &e, &Ok(resp), 6);
        assert!(matches!(c.outcomes[0].1, ItemOutcome::Created { .. }));
        assert_eq!(c.outcomes[1].1, ItemOutcome::Unsent);
        assert!(c.auth.is_some());
    }

    #[test]
    fn whole_request_refusal_splits_then_rejects_the_single_item() {
        let e = entries(&["A", "B", "C", "D", "E"], 1);
        let c = classify(
            RunKind::Orders,
            &e,
            &Err(status_err("03", "Invalid Data")),
            6,
        );
        assert!(c.outcomes.iter().all(|(_, o)| *o == ItemOutcome::Unsent));
        assert_eq!(c.again, vec![vec![0, 1], vec![2, 3, 4]]);
        assert_eq!(c.next[0], Next::Again(0));
        assert_eq!(c.next[4], Next::Again(1));
        let one = &e[..1];
        let c = classify(
            RunKind::Orders,
            one,
            &Err(status_err("03", "Invalid Data. bad")),
            6,
        );
        assert!(
            matches!(&c.outcomes[0].1, ItemOutcome::Rejected { status_code, description: Some(d) }
            if status_code == "03" && d == "Invalid Data. bad")
        );
        let c = classify(
            RunKind::Orders,
            one,
            &Err(status_err("01", "Order number A already exists")),
            6,
        );
        assert!(matches!(c.outcomes[0].1, ItemOutcome::AlreadyExists { .. }));
        assert!(c.again.is_empty());
    }

    #[test]
    fn client_errors_fail_without_retry() {
        let e = entries(&["A", "B"], 1);
        let c = classify(
            RunKind::Orders,
            &e,
            &Err(ApiError::Http {
                endpoint: Endpoint::Cmo,
                status: 404,
                excerpt: "not found".into(),
            }),
            6,
        );
        assert!(
            c.outcomes
                .iter()
                .all(|(_, o)| matches!(o, ItemOutcome::Failed { .. }))
        );
    }

    #[test]
    fn consumer_answers() {
        let keys = ["C1", "C2", "C3", "C4"];
        let ci = |status: &str, id: &str, full: Option<&str>, desc: &str| ConsumerItemResult {
            status: ItemStatus::Stated(ConsumerStatus::from_code(status)),
            description: Some(desc.into()),
            consumer_id: Some(id.into()),
            full_consumer_code: full.map(Into::into),
            consumer_number: None,
        };
        let resp = ConsumersResponse {
            status: ConsumerStatus::from_code("01"),
            description: None,
            items: vec![
                ci("00", "C1", Some("0044C1"), "created"),
                ci("01", "C2", None, "Consumer C2 already exists"),
                ci("03", "C3", None, "Invalid email"),
                ci("02", "C4", None, "User is not Authorized"),
            ],
        };
        let r = Response::from_consumers(&resp, &keys, false);
        let v: Vec<_> = r
            .answers
            .iter()
            .map(|a| a.as_ref().unwrap().verdict)
            .collect();
        assert_eq!(
            v,
            [
                Verdict::Created,
                Verdict::Exists,
                Verdict::Invalid,
                Verdict::NotAuthorised
            ]
        );
        assert_eq!(r.answers[0].as_ref().unwrap().id.as_deref(), Some("0044C1"));
        // Updates: 01 is invalid data unless it says "already exists"; the id recorded
        // is the code the update was applied to.
        let resp = ConsumersResponse {
            status: ConsumerStatus::from_code("01"),
            description: None,
            items: vec![
                ci("00", "0044C1", None, "updated"),
                ci("01", "0044C2", None, "Invalid Format"),
            ],
        };
        let r = Response::from_consumers(&resp, &["0044C1", "0044C2"], true);
        assert_eq!(r.answers[0].as_ref().unwrap().verdict, Verdict::Created);
        assert_eq!(r.answers[0].as_ref().unwrap().id.as_deref(), Some("0044C1"));
        assert_eq!(r.answers[1].as_ref().unwrap().verdict, Verdict::Invalid);
    }

    /// A body in the guide's shape (no per-item `Status`), decoded by the client and
    /// classified for the orders sent.
    fn guide_shaped(body: &str, e: &[Entry]) -> Classified {
        let resp = decode_create_response(body).unwrap();
        let sent: Vec<Order> = e.iter().map(|x| order(&x.key)).collect();
        classify(
            RunKind::Orders,
            e,
            &Ok(Response::from_orders(&resp, &sent)),
            6,
        )
    }

    #[test]
    fn guide_shape_with_element_0_saying_01_decides_each_item_by_its_content() {
        // The first order existed (01 in element 0), the second was refused, the
        // others were created: element 0's code must decide none of them.
        let e = entries(&["DUP", "BAD", "G1", "G2"], 1);
        let c = guided_mixed(&e, "01");
        assert!(
            matches!(&c.outcomes[0].1, ItemOutcome::AlreadyExists { status_code, .. }
            if status_code == "01")
        );
        assert!(
            matches!(&c.outcomes[1].1, ItemOutcome::Rejected { status_code, description: Some(d) }
            if status_code == "03" && d == "Invalid Data. Order amount 9000 is out of limits (1 to 5000)"),
            "{:?}",
            c.outcomes[1].1
        );
        for (i, id) in [(2, "00440000000007"), (3, "00440000000008")] {
            assert!(
                matches!(&c.outcomes[i].1, ItemOutcome::Created { connectpay_id, .. } if connectpay_id == id),
                "{:?}",
                c.outcomes[i].1
            );
        }
        assert_eq!(c.next, [Next::Done; 4]);
    }

    #[test]
    fn guide_shape_with_element_0_saying_00_still_rejects_the_refused_item() {
        // A server that writes 00 in element 0 whatever the items say: the refused
        // order is rejected, not "created, id unknown".
        let e = entries(&["DUP", "BAD", "G1", "G2"], 1);
        let c = guided_mixed(&e, "00");
        assert!(matches!(c.outcomes[0].1, ItemOutcome::AlreadyExists { .. }));
        assert!(matches!(c.outcomes[1].1, ItemOutcome::Rejected { .. }));
        assert!(matches!(c.outcomes[2].1, ItemOutcome::Created { .. }));
        assert!(matches!(c.outcomes[3].1, ItemOutcome::Created { .. }));
    }

    fn guided_mixed(e: &[Entry], head: &str) -> Classified {
        guide_shaped(
            &format!(
                r#"[{{"Status":"{head}"}},
                {{"OrderNumber":"DUP","Description":"Order number DUP already exists"}},
                {{"OrderNumber":"BAD","Description":"Invalid Data. Order amount 9000 is out of limits (1 to 5000)"}},
                {{"Description":"Order number G1 created successfully","OrderAmount":"10","ConnectPayFee":"60","ConnectPayId":"00440000000007","OrderNumber":"G1","IsFeeApplied":"True"}},
                {{"Description":"Order number G2 created successfully","OrderAmount":"10","ConnectPayFee":"60","ConnectPayId":"00440000000008","OrderNumber":"G2","IsFeeApplied":"True"}}]"#
            ),
            e,
        )
    }

    #[test]
    fn an_item_with_nothing_to_go_on_is_retried_as_maybe_sent() {
        let e = entries(&["A", "B", "C"], 1);
        let c = guide_shaped(
            r#"[{"Status":"00"},
                {"OrderNumber":"A"},
                {"OrderNumber":"B","Description":"Thank you"},
                {"OrderNumber":"C","Description":"Order number C created successfully","ConnectPayId":"1"}]"#,
            &e,
        );
        for i in [0, 1] {
            assert!(
                matches!(&c.outcomes[i].1, ItemOutcome::Retry { last_error }
                if last_error.contains("may have been created")),
                "{:?}",
                c.outcomes[i].1
            );
            assert_eq!(c.next[i], Next::Later);
        }
        assert!(matches!(&c.outcomes[1].1, ItemOutcome::Retry { last_error }
            if last_error.contains("Thank you")));
        assert!(matches!(c.outcomes[2].1, ItemOutcome::Created { .. }));
        // Retries end: an unknown item that keeps coming back unknown fails, for
        // `retry` to send again later; it never settles as anything it may not be.
        let e = entries(&["A"], 6);
        let c = guide_shaped(r#"[{"Status":"00"},{"OrderNumber":"A"}]"#, &e);
        assert!(matches!(&c.outcomes[0].1, ItemOutcome::Failed { .. }));
    }

    #[test]
    fn the_journal_reads_a_01_after_an_unknown_answer_as_exists_id_unknown() {
        // The retry of an unknown item counts as an earlier send: a 01 on the next
        // send lands in exists_id_unknown, never exists_before_run.
        let e = entries(&["A"], 1);
        let c = guide_shaped(r#"[{"Status":"00"},{"OrderNumber":"A"}]"#, &e);
        let ItemOutcome::Retry { .. } = &c.outcomes[0].1 else {
            panic!("{:?}", c.outcomes[0].1)
        };
        let earlier_sends = 1;
        let e = entries(&["A"], 2);
        let c = guide_shaped(
            r#"[{"Status":"01"},{"OrderNumber":"A","Description":"Order number A already exists"}]"#,
            &e,
        );
        assert_eq!(
            c.outcomes[0].1.target_state(earlier_sends),
            crate::journal::ItemState::ExistsIdUnknown
        );
        assert_eq!(
            c.outcomes[0].1.target_state(0),
            crate::journal::ItemState::ExistsBeforeRun
        );
    }

    #[test]
    fn guide_shaped_consumers_decide_01_by_description() {
        let body = r#"[{"Status":"01"},
            {"FullConsumerCode":"0044C1","Description":"Consumer number C1 created successfully","ConsumerNumber":"C1"},
            {"ConsumerID":"C2","Description":"Consumer C2 already exists"},
            {"ConsumerID":"C3","Description":"Invalid Format. Email 'x' is not in valid format"},
            {"ConsumerID":"C4"}]"#;
        let resp = wire::decode_consumer_response(body).unwrap();
        let r = Response::from_consumers(&resp, &["C1", "C2", "C3", "C4"], false);
        let v: Vec<_> = r
            .answers
            .iter()
            .map(|a| a.as_ref().unwrap().verdict)
            .collect();
        assert_eq!(
            v,
            [
                Verdict::Created,
                Verdict::Exists,
                Verdict::Invalid,
                Verdict::Unknown
            ]
        );
        assert_eq!(r.answers[2].as_ref().unwrap().code, "01");
        // A stated 01 without "already exist" is a refusal with its description.
        let resp = wire::decode_consumer_response(
            r#"[{"Status":"01"},{"Status":"01","ConsumerID":"C5","Description":"Invalid Format"}]"#,
        )
        .unwrap();
        let r = Response::from_consumers(&resp, &["C5"], false);
        assert_eq!(r.answers[0].as_ref().unwrap().verdict, Verdict::Invalid);
        // umc in the guide's shape: the success message is all there is.
        let resp = wire::decode_consumer_response(
            r#"[{"Status":"00"},{"Description":"ConsumerID 0044C1 updated successfully","ConsumerID":"0044C1"}]"#,
        )
        .unwrap();
        let r = Response::from_consumers(&resp, &["0044C1"], true);
        assert_eq!(r.answers[0].as_ref().unwrap().verdict, Verdict::Created);
        assert_eq!(r.answers[0].as_ref().unwrap().id.as_deref(), Some("0044C1"));
    }

    #[test]
    fn the_record_keeps_the_real_status_and_body_or_what_the_error_knew() {
        let e = entries(&["A"], 1);
        let resp = orders_response("00", vec![item("00", "A", Some("1"), "ok")], &e);
        let result = Ok(resp);
        let mut c = classify(RunKind::Orders, &e, &result, 6);
        c.attach_evidence(
            &result,
            Some(Exchange {
                http_status: 201,
                body: "[{\"Status\":\"00\"}]".into(),
            }),
        );
        assert_eq!(c.http_status, Some(201));
        assert_eq!(c.response_body.as_deref(), Some("[{\"Status\":\"00\"}]"));

        let result = Err(ApiError::Http {
            endpoint: Endpoint::Cmo,
            status: 502,
            excerpt: "Bad Gateway".into(),
        });
        let mut c = classify(RunKind::Orders, &e, &result, 6);
        c.attach_evidence(&result, None);
        assert_eq!(c.http_status, Some(502));
        assert_eq!(c.response_body.as_deref(), Some("Bad Gateway"));

        let result = Err(ApiError::Decode {
            endpoint: Endpoint::Cmo,
            reason: "not JSON".into(),
            excerpt: "<html>".into(),
        });
        let mut c = classify(RunKind::Orders, &e, &result, 6);
        c.attach_evidence(&result, None);
        assert_eq!(c.response_body.as_deref(), Some("<html>"));

        let result = Err(ApiError::Transport {
            endpoint: Endpoint::Cmo,
            kind: TransportKind::Timeout,
            message: "operation timed out".into(),
        });
        let mut c = classify(RunKind::Orders, &e, &result, 6);
        c.attach_evidence(&result, None);
        assert_eq!((c.http_status, c.response_body.as_deref()), (None, None));
        assert!(c.summary.contains("timed out"), "{}", c.summary);
    }
}
