//! What the engine tells every face while it drives a run: [`Event`]s, in the order
//! things happened, each sent only once the journal holds what it reports. A face
//! folds them into a [`super::Progress`]; a live table of rows takes the item outcomes
//! of [`Event::BatchDone`] and needs no polling.

use crate::domain::Kind;
use crate::journal::{BatchId, ItemId, ItemState, RunId, RunState, StateCounts};
use std::fmt;
use std::time::Duration;

/// One item of a request, as [`Event::BatchSent`] names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    pub id: ItemId,
    /// The spreadsheet row, as Excel numbers it.
    pub row: u32,
    /// Order number or consumer id.
    pub key: String,
}

/// What one item became when its request's answer was journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate {
    pub id: ItemId,
    pub row: u32,
    pub key: String,
    /// The item's state now: settled, `failed`, or `pending` again (to be resent).
    pub state: ItemState,
    /// PayPro's description or the error of the send, as journaled (redacted).
    pub message: Option<String>,
    /// For a created order, its ConnectPayId.
    pub connectpay_id: Option<String>,
}

/// Why a run stops before its end. A run has one stop state: the engine keeps the
/// first reason it meets (a later one does not replace it), stops planning requests,
/// closes those not yet on the wire unsent, and waits for the ones on the wire to be
/// answered and journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A face asked (Ctrl-C, `c` in the console): the run ends `interrupted`.
    Cancelled,
    /// PayPro refused the merchant id or password (04 on orders, its equivalent on
    /// the consumer endpoints): the run ends `stopped_auth`, its unsent items pending.
    CredentialsRefused(String),
    /// The run cannot go past something (the journal could not record, an item could
    /// not be read back, a task of the engine failed): nothing more is sent, and the run
    /// ends `interrupted` (what the journal holds is consistent; resume picks it up).
    Failed(String),
    /// Every request failed at the transport level (connection refused or reset,
    /// timeout, HTTP 5xx) for the whole `give_up_after`: the run ends `interrupted`,
    /// no row `failed` for it; `since` is the local time of the first of those
    /// failures, `HH:MM`.
    Unreachable { since: String },
}

impl StopReason {
    /// The state a run stopped this way ends in, once its requests on the wire are
    /// recorded (`None`: decided by what is left, completed when nothing is).
    pub fn run_state(&self) -> Option<RunState> {
        match self {
            StopReason::Cancelled => None,
            StopReason::CredentialsRefused(_) => Some(RunState::StoppedAuth),
            StopReason::Failed(_) | StopReason::Unreachable { .. } => Some(RunState::Interrupted),
        }
    }

    /// What the journal keeps on the run about this stop (`None` for a cancel, which
    /// the clerk asked for).
    pub fn note(&self) -> Option<String> {
        match self {
            StopReason::Cancelled => None,
            other => Some(other.to_string()),
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Cancelled => f.write_str("cancelled"),
            StopReason::CredentialsRefused(reason) => {
                write!(f, "PayPro refused the credentials: {reason}")
            }
            StopReason::Failed(reason) => write!(f, "the run cannot go on: {reason}"),
            StopReason::Unreachable { since } => write!(f, "server unreachable since {since}"),
        }
    }
}

/// What the engine tells a face while it drives a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The drive started: `total` items in the run, `to_send` of them pending now,
    /// `settled` with nothing left to send.
    RunStarted {
        run: RunId,
        kind: Kind,
        total: u64,
        to_send: u64,
        settled: u64,
        /// Items per request and requests at once, for "batches queued".
        batch_size: usize,
        concurrency: usize,
    },
    /// A request is leaving with these items (journaled in flight before it left).
    BatchSent { batch: BatchId, items: Vec<ItemRef> },
    /// A request's answer is journaled: what each of its items became, in request
    /// order. Items back to `pending` will be sent again (after a retryable failure,
    /// left out of an all-or-nothing refusal, or split off a refused batch).
    BatchDone {
        batch: BatchId,
        items: Vec<ItemUpdate>,
        /// The request's outcome as journaled (`ok`, `status 03: ...`, `HTTP 500 ...`).
        outcome: String,
        /// From its write-ahead record to its answer's.
        elapsed: Duration,
    },
    /// `items` will be sent again after `delay`; `attempt` is the highest number of
    /// sends (in this drive) among them so far.
    RetryScheduled {
        items: usize,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// Pause asked: nothing new is sent; the requests on the wire are finishing.
    Pausing { on_the_wire: usize },
    /// Paused: nothing is on the wire and nothing is in flight in the journal; every
    /// item keeps its sends and its pending backoff.
    Paused,
    /// Sending again after a pause.
    Resumed,
    /// The run stops early: no new request leaves; those on the wire are finishing.
    Stopping { reason: StopReason },
    RunFinished {
        run: RunId,
        state: RunState,
        counts: StateCounts,
        elapsed: Duration,
    },
}

impl Event {
    /// How many of a [`Event::BatchDone`]'s items are in `state`.
    pub fn count_in(items: &[ItemUpdate], state: ItemState) -> usize {
        items.iter().filter(|i| i.state == state).count()
    }
}
