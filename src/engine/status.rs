//! Status refresh: "which of last week's orders are paid now?". Each order is looked up
//! by its ConnectPay Id with `gos` (there is no look-up by order number, reference §7),
//! at most `concurrency` at once; what PayPro says (status, amount paid, date paid) is
//! journaled with the time of the check ([`crate::journal::NewCheck`]), a few answers
//! at a time, and tallied: unpaid / paid / blocked / refunded / expired, and the orders
//! PayPro did not know or that could not be checked.
//!
//! Rules:
//! - the orders of a run are its `created` items with a ConnectPay Id (an order whose
//!   id is unknown cannot be looked up; a paid-orders report fills such ids in);
//! - a look-up is read-only, so transport failures, 5xx and unreadable answers are
//!   tried again `attempts` times with a doubling backoff; then the order is counted
//!   failed, with the error journaled;
//! - 03 ("no data") is an order PayPro does not know: counted, journaled, not an error
//!   of the refresh;
//! - refused credentials stop the refresh at once (what was checked stays journaled);
//! - status words are matched without regard to case (reference §7, Decision); a word
//!   the reference does not list is counted as "other", except one that says the order
//!   expired.

use super::EngineError;
use crate::api::{ApiError, ApiStatus, Client, MarkStatus, OrderStatus};
use crate::journal::{CheckId, Journal, NewCheck, OrderObservation, RunId};
use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// Observations journaled together.
const RECORD_EVERY: usize = 100;

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusSource {
    /// The created orders of a run.
    Run(RunId),
    /// ConnectPay ids from a file (`status --ids FILE`): `name` says which, for the
    /// journal.
    Ids { name: String, ids: Vec<String> },
}

/// Whose orders to look up, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRequest {
    pub merchant_id: String,
    pub base_url: String,
    pub source: StatusSource,
}

/// How to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusOptions {
    /// Look-ups at once (1..=16).
    pub concurrency: usize,
    /// Tries of one look-up before it counts as failed.
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            concurrency: 4,
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The orders by what PayPro says of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub unpaid: u64,
    pub paid: u64,
    pub blocked: u64,
    pub refunded: u64,
    pub expired: u64,
    /// A status word the reference does not list.
    pub other: u64,
    /// PayPro has no order with this ConnectPay Id (03).
    pub not_found: u64,
    /// Could not be checked (transport, refused, unreadable), after retries.
    pub failed: u64,
}

impl Tally {
    pub fn checked(&self) -> u64 {
        self.unpaid + self.paid + self.blocked + self.refunded + self.expired + self.other
    }

    pub fn total(&self) -> u64 {
        self.checked() + self.not_found + self.failed
    }

    /// The five states of the reference, for a bar chart: (label, count).
    pub fn bars(&self) -> [(&'static str, u64); 5] {
        [
            ("unpaid", self.unpaid),
            ("paid", self.paid),
            ("blocked", self.blocked),
            ("refunded", self.refunded),
            ("expired", self.expired),
        ]
    }

    /// Counts one observation.
    pub fn add(&mut self, o: &OrderObservation) {
        match (&o.status, &o.error) {
            (Some(word), _) => match OrderStatus::from_word(word) {
                OrderStatus::Unpaid => self.unpaid += 1,
                OrderStatus::Paid => self.paid += 1,
                OrderStatus::Blocked => self.blocked += 1,
                OrderStatus::Refunded | OrderStatus::AlreadyRefunded => self.refunded += 1,
                OrderStatus::Other(w) if w.to_ascii_lowercase().contains("expire") => {
                    self.expired += 1;
                }
                OrderStatus::Other(_) => self.other += 1,
            },
            (None, Some(e)) if e.starts_with(NOT_FOUND) => self.not_found += 1,
            (None, _) => self.failed += 1,
        }
    }

    /// `700 unpaid, 300 paid, 0 blocked, 0 refunded, 0 expired` and what was not
    /// checked, when something was not.
    pub fn line(&self) -> String {
        let mut out = format!(
            "{} unpaid, {} paid, {} blocked, {} refunded, {} expired",
            self.unpaid, self.paid, self.blocked, self.refunded, self.expired
        );
        for (n, what) in [
            (self.other, "in another state"),
            (self.not_found, "not found"),
            (self.failed, "could not be checked"),
        ] {
            if n > 0 {
                out.push_str(&format!(", {n} {what}"));
            }
        }
        out
    }
}

/// What a face hears while a refresh runs.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusEvent {
    Started {
        total: usize,
    },
    /// One order's answer is in (journaled within the next few).
    Checked {
        done: usize,
        total: usize,
        tally: Tally,
    },
    Retrying {
        connectpay_id: String,
        attempt: u32,
        error: String,
    },
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub check: CheckId,
    pub run: Option<RunId>,
    pub tally: Tally,
    /// Every order's observation, in the order asked.
    pub observations: Vec<OrderObservation>,
}

/// Why a refresh stopped. What was checked before is journaled.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Engine(#[from] EngineError),

    #[error("run {0} has no order with a known ConnectPay Id to look up")]
    NothingToCheck(RunId),

    #[error(
        "PayPro refused the merchant id or password for the status look-up: {0}; check the \
         password (PAYPRO_PASSWORD or the prompt) and the merchant id"
    )]
    Credentials(ApiError),

    #[error("the status refresh was cancelled after {done} of {total} orders")]
    Cancelled { done: usize, total: usize },
}

/// How an order PayPro does not know is journaled (and counted).
const NOT_FOUND: &str = "not found";

/// Journal work off the async executor (each call may wait for an fsync).
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, crate::journal::JournalError> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<EngineError>,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| E::from(EngineError::Task(e.to_string())))?
        .map_err(|e| E::from(EngineError::Journal(e)))
}

fn emit(events: Option<&UnboundedSender<StatusEvent>>, event: StatusEvent) {
    if let Some(tx) = events {
        let _ = tx.send(event);
    }
}

/// An order to look up: its ConnectPay Id and, when known, its order number.
type ToCheck = (String, Option<String>);

/// Looks up every order of the request with `client`, journals what PayPro says and
/// tallies it.
pub async fn refresh_status(
    journal: &Journal,
    client: &Client,
    request: StatusRequest,
    options: &StatusOptions,
    events: Option<UnboundedSender<StatusEvent>>,
    cancel: CancellationToken,
) -> Result<StatusReport, StatusError> {
    let StatusRequest {
        merchant_id,
        base_url,
        source,
    } = request;
    let (run, name, orders): (Option<RunId>, String, Vec<ToCheck>) = match source {
        StatusSource::Run(run) => {
            let j = journal.clone();
            let created = blocking::<_, StatusError>(move || j.created_orders(run)).await?;
            if created.is_empty() {
                return Err(StatusError::NothingToCheck(run));
            }
            let orders = created
                .into_iter()
                .map(|o| (o.connectpay_id, Some(o.order_number)))
                .collect();
            (Some(run), format!("status refresh of run {run}"), orders)
        }
        StatusSource::Ids { name, ids } => (
            None,
            format!("status refresh of the ids in {name}"),
            ids.into_iter().map(|id| (id, None)).collect(),
        ),
    };
    let total = orders.len();
    let new = NewCheck {
        merchant_id,
        base_url,
        run,
        source: name,
    };
    let j = journal.clone();
    let check = blocking::<_, StatusError>(move || j.begin_status_check(&new)).await?;
    let events = events.as_ref();
    emit(events, StatusEvent::Started { total });
    let concurrency = options.concurrency.clamp(1, 16);
    let mut stream =
        futures::stream::iter(orders.into_iter().enumerate())
            .map(|(i, (id, number))| async move {
                (i, look_up(client, &id, number, options, events).await)
            })
            .buffer_unordered(concurrency);
    let mut observations: Vec<Option<OrderObservation>> = vec![None; total];
    let mut unrecorded: Vec<OrderObservation> = Vec::new();
    let mut tally = Tally::default();
    let mut done = 0;
    let mut stopped: Option<StatusError> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                stopped = Some(StatusError::Cancelled { done, total });
                break;
            }
            next = stream.next() => next,
        };
        let Some((i, looked)) = next else { break };
        let observation = match looked {
            Ok(o) => o,
            Err(e) => {
                stopped = Some(StatusError::Credentials(e));
                break;
            }
        };
        done += 1;
        tally.add(&observation);
        unrecorded.push(observation.clone());
        if let Some(slot) = observations.get_mut(i) {
            *slot = Some(observation);
        }
        emit(events, StatusEvent::Checked { done, total, tally });
        if unrecorded.len() >= RECORD_EVERY {
            let batch = std::mem::take(&mut unrecorded);
            let j = journal.clone();
            blocking::<_, StatusError>(move || j.record_statuses(check, &batch)).await?;
        }
    }
    // Dropping the stream drops the look-ups still in flight: what came back is kept.
    drop(stream);
    let j = journal.clone();
    blocking::<_, StatusError>(move || {
        j.record_statuses(check, &unrecorded)?;
        j.finish_status_check(check)
    })
    .await?;
    tracing::info!(check = check.0, run = ?run.map(|r| r.0), done, total, tally = %tally.line(), "status refresh ended");
    if let Some(e) = stopped {
        return Err(e);
    }
    Ok(StatusReport {
        check,
        run,
        tally,
        observations: observations.into_iter().flatten().collect(),
    })
}

/// One order's look-up, tried again after retryable failures. `Err` only when the
/// credentials were refused (the refresh stops).
async fn look_up(
    client: &Client,
    connectpay_id: &str,
    order_number: Option<String>,
    options: &StatusOptions,
    events: Option<&UnboundedSender<StatusEvent>>,
) -> Result<OrderObservation, ApiError> {
    let mut delay = options.backoff;
    let attempts = options.attempts.max(1);
    let mut attempt = 1;
    let observed = |status, amount, date, number: Option<String>, error| OrderObservation {
        connectpay_id: connectpay_id.to_string(),
        order_number: number,
        status,
        amount_paid: amount,
        date_paid: date,
        checked_at: Utc::now(),
        error,
    };
    loop {
        match client.order_status(connectpay_id).await {
            Ok(info) => {
                return Ok(observed(
                    Some(info.order_status.to_string()),
                    info.amount_paid,
                    info.date_paid,
                    info.order_number.or(order_number),
                    None,
                ));
            }
            Err(e) if e.is_auth() => return Err(e),
            Err(ApiError::Status {
                status: ApiStatus::Mark(MarkStatus::NoData),
                description,
                ..
            }) => {
                return Ok(observed(
                    None,
                    None,
                    None,
                    order_number,
                    Some(format!(
                        "{NOT_FOUND}: PayPro has no order with ConnectPay Id {connectpay_id} \
                         (status 03: {description})"
                    )),
                ));
            }
            Err(e) if e.is_retryable() && attempt < attempts => {
                emit(
                    events,
                    StatusEvent::Retrying {
                        connectpay_id: connectpay_id.to_string(),
                        attempt,
                        error: e.to_string(),
                    },
                );
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            Err(e) => {
                return Ok(observed(
                    None,
                    None,
                    None,
                    order_number,
                    Some(format!("could not be checked: {e}")),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: Option<&str>, error: Option<&str>) -> OrderObservation {
        OrderObservation {
            connectpay_id: "1".into(),
            order_number: None,
            status: status.map(Into::into),
            amount_paid: None,
            date_paid: None,
            checked_at: Utc::now(),
            error: error.map(Into::into),
        }
    }

    #[test]
    fn words_are_tallied_without_regard_to_case() {
        let mut t = Tally::default();
        for o in [
            seen(Some("UNPAID"), None),
            seen(Some("Paid"), None),
            seen(Some("paid"), None),
            seen(Some("Blocked"), None),
            seen(Some("Refunded"), None),
            seen(Some("Expired"), None),
            seen(Some("Pending Review"), None),
            seen(None, Some("not found: PayPro has no order")),
            seen(None, Some("could not be checked: timeout")),
        ] {
            t.add(&o);
        }
        assert_eq!(
            (t.unpaid, t.paid, t.blocked, t.refunded, t.expired, t.other),
            (1, 2, 1, 1, 1, 1)
        );
        assert_eq!(
            (t.not_found, t.failed, t.checked(), t.total()),
            (1, 1, 7, 9)
        );
        assert_eq!(
            t.line(),
            "1 unpaid, 2 paid, 1 blocked, 1 refunded, 1 expired, 1 in another state, 1 not found, 1 could not be checked"
        );
        assert_eq!(t.bars()[1], ("paid", 2));
    }
}
