//! The journal's vocabulary: ids, run and item states, the item state machine, and the
//! records passed in and out of [`super::Journal`]. Pure data and pure rules; no SQL
//! beyond the conversions of the state enums to and from their text in the file.

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A submission run (one spreadsheet, one kind of request, one merchant).
    RunId
);
id_type!(
    /// One journaled row of a run.
    ItemId
);
id_type!(
    /// One HTTP request carrying 1..=50 items.
    BatchId
);

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name stored in the journal and shown to people.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    FromSqlError::Other(
                        format!(concat!("unknown ", stringify!($name), " {:?}"), text).into(),
                    )
                })
            }
        }
    };
}

text_enum!(
    /// Where a journaled item stands (ARCHITECTURE.md, "State machine of a journaled item").
    ItemState {
        /// Failed validation; never sent.
        Invalid = "invalid",
        /// Waiting to be sent (first time, or again after a retryable failure).
        Pending = "pending",
        /// Written *before* its request is sent; found after a crash, it means "the
        /// request may or may not have reached the server".
        InFlight = "in_flight",
        /// Created remotely; ConnectPayId (and fee) known.
        Created = "created",
        /// `01` on the first time we sent it: it existed before this run, not by our doing.
        ExistsBeforeRun = "exists_before_run",
        /// `01` after an earlier send of ours whose answer was lost: it exists remotely,
        /// most likely created by us, but its ConnectPayId is unknown (reference §7).
        ExistsIdUnknown = "exists_id_unknown",
        /// `03`: the server refused it (reason in the description).
        Rejected = "rejected",
        /// Retries exhausted; `retry` puts it back to pending.
        Failed = "failed",
        /// Already created in an earlier run of the same merchant (cross-run guard);
        /// never sent unless the clerk allows re-sending.
        Skipped = "skipped",
        /// A mark run's item PayPro took: the order was marked paid or blocked, or
        /// refunded (the description says how it was decided, e.g. "already Paid" after
        /// our own earlier request's answer was lost).
        Done = "done",
    }
);

impl ItemState {
    /// Settled items need nothing more: resume leaves them alone.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ItemState::Created
                | ItemState::ExistsBeforeRun
                | ItemState::ExistsIdUnknown
                | ItemState::Rejected
                | ItemState::Invalid
                | ItemState::Skipped
                | ItemState::Done
        )
    }

    /// The edges of the state machine; every state change the journal makes is one of
    /// these (the whole table is tested).
    pub fn can_become(self, to: ItemState) -> bool {
        use ItemState::*;
        match (self, to) {
            (Pending, InFlight) => true,
            // Every answer (or its absence) comes back to an item that is in flight.
            (InFlight, Created | ExistsBeforeRun | ExistsIdUnknown | Rejected | Done)
            | (InFlight, Pending | Failed) => true,
            // `retry`: a new attempt in the same run.
            (Failed, Pending) => true,
            // A paid-orders report shows the id a lost answer did not.
            (ExistsIdUnknown, Created) => true,
            _ => false,
        }
    }

    /// The states an item may be given when it is first journaled.
    pub fn is_initial(self) -> bool {
        matches!(
            self,
            ItemState::Pending | ItemState::Invalid | ItemState::Skipped
        )
    }
}

text_enum!(
    /// Where a run stands.
    RunState {
        /// Created and journaled; nothing sent yet.
        Open = "open",
        Running = "running",
        /// Found after its process ended without finishing it; resumable.
        Interrupted = "interrupted",
        Completed = "completed",
        Cancelled = "cancelled",
        /// Stopped because the server answered `04` (not authorised).
        StoppedAuth = "stopped_auth",
    }
);

impl RunState {
    /// A run in one of these states has a `finished_at`.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Completed | RunState::Cancelled | RunState::StoppedAuth
        )
    }
}

/// What the server (or its silence) said about one item of a finished batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Created {
        connectpay_id: String,
        fee: Option<Decimal>,
        status_code: String,
        description: Option<String>,
    },
    /// `01` "already exists". The journal decides which of the two exists-states it is:
    /// if the item had been sent before (an earlier attempt whose answer was lost), it is
    /// [`ItemState::ExistsIdUnknown`], otherwise [`ItemState::ExistsBeforeRun`].
    AlreadyExists {
        status_code: String,
        description: Option<String>,
    },
    /// Forces [`ItemState::ExistsBeforeRun`].
    ExistsBeforeRun {
        status_code: String,
        description: Option<String>,
    },
    /// Forces [`ItemState::ExistsIdUnknown`].
    ExistsIdUnknown {
        status_code: String,
        description: Option<String>,
    },
    Rejected {
        status_code: String,
        description: Option<String>,
    },
    /// A mark run's item PayPro took (marked paid or blocked, refunded).
    Done {
        status_code: String,
        description: Option<String>,
    },
    /// A retryable failure (transport, `02`): back to pending; the attempt counts.
    Retry { last_error: String },
    /// Retries exhausted.
    Failed { last_error: String },
    /// Back to pending as if this send never happened: the server certainly created
    /// nothing (`04` stopped the run; left out of an all-or-nothing rejection). The
    /// item's attempt count is decremented again.
    Unsent,
}

impl ItemOutcome {
    /// The state an in-flight item goes to. `earlier_sends` is how many sends before
    /// this one may have reached the server.
    pub fn target_state(&self, earlier_sends: u32) -> ItemState {
        match self {
            ItemOutcome::Created { .. } => ItemState::Created,
            ItemOutcome::AlreadyExists { .. } if earlier_sends > 0 => ItemState::ExistsIdUnknown,
            ItemOutcome::AlreadyExists { .. } => ItemState::ExistsBeforeRun,
            ItemOutcome::ExistsBeforeRun { .. } => ItemState::ExistsBeforeRun,
            ItemOutcome::ExistsIdUnknown { .. } => ItemState::ExistsIdUnknown,
            ItemOutcome::Rejected { .. } => ItemState::Rejected,
            ItemOutcome::Done { .. } => ItemState::Done,
            ItemOutcome::Retry { .. } | ItemOutcome::Unsent => ItemState::Pending,
            ItemOutcome::Failed { .. } => ItemState::Failed,
        }
    }

    /// The name recorded for this item's attempt (finer than the state: `retry` and
    /// `unsent` both lead to pending).
    pub(crate) fn attempt_result(&self, earlier_sends: u32) -> &'static str {
        match self {
            ItemOutcome::Retry { .. } => "retry",
            ItemOutcome::Unsent => "unsent",
            other => other.target_state(earlier_sends).as_str(),
        }
    }
}

/// How many items of a run are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub invalid: u64,
    pub pending: u64,
    pub in_flight: u64,
    pub created: u64,
    pub exists_before_run: u64,
    pub exists_id_unknown: u64,
    pub rejected: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Mark runs: orders PayPro marked paid or blocked, or refunded.
    pub done: u64,
}

impl StateCounts {
    pub fn get(&self, state: ItemState) -> u64 {
        match state {
            ItemState::Invalid => self.invalid,
            ItemState::Pending => self.pending,
            ItemState::InFlight => self.in_flight,
            ItemState::Created => self.created,
            ItemState::ExistsBeforeRun => self.exists_before_run,
            ItemState::ExistsIdUnknown => self.exists_id_unknown,
            ItemState::Rejected => self.rejected,
            ItemState::Failed => self.failed,
            ItemState::Skipped => self.skipped,
            ItemState::Done => self.done,
        }
    }

    pub(crate) fn add(&mut self, state: ItemState, n: u64) {
        let slot = match state {
            ItemState::Invalid => &mut self.invalid,
            ItemState::Pending => &mut self.pending,
            ItemState::InFlight => &mut self.in_flight,
            ItemState::Created => &mut self.created,
            ItemState::ExistsBeforeRun => &mut self.exists_before_run,
            ItemState::ExistsIdUnknown => &mut self.exists_id_unknown,
            ItemState::Rejected => &mut self.rejected,
            ItemState::Failed => &mut self.failed,
            ItemState::Skipped => &mut self.skipped,
            ItemState::Done => &mut self.done,
        };
        *slot += n;
    }

    pub fn total(&self) -> u64 {
        ItemState::ALL.iter().map(|s| self.get(*s)).sum()
    }

    pub fn settled(&self) -> u64 {
        ItemState::ALL
            .iter()
            .filter(|s| s.is_settled())
            .map(|s| self.get(*s))
            .sum()
    }

    /// Pending, in flight and failed: what resume or retry still has to deal with.
    pub fn unsettled(&self) -> u64 {
        self.total() - self.settled()
    }
}

/// A run to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// What the run submits, e.g. `orders`, `consumers`, `consumer_updates`. The
    /// cross-run guard compares keys only between runs of the same kind.
    pub kind: String,
    /// The spreadsheet's file name as the clerk chose it.
    pub source_file: String,
    /// Hex SHA-256 of the spreadsheet's bytes.
    pub source_sha256: String,
    pub sheet: Option<String>,
    pub merchant_id: String,
    pub base_url: String,
}

/// The process holding a run's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// The OS user it runs as (`None` in locks taken before this was recorded).
    pub user: Option<String>,
    /// Start time of the process in clock ticks since boot (`/proc/<pid>/stat` field 22),
    /// so that a reused pid is not mistaken for the holder. `None` where there is no /proc.
    pub start_ticks: Option<u64>,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub kind: String,
    pub source_file: String,
    pub source_sha256: String,
    pub sheet: Option<String>,
    pub merchant_id: String,
    pub base_url: String,
    pub state: RunState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub lock: Option<LockHolder>,
    /// `user@host` that started it (`None` for runs journaled before this was kept).
    pub started_by: Option<String>,
    /// Why it stopped early, when it did (`server unreachable since 14:05`, PayPro's
    /// refusal of the credentials); cleared when it is driven again.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run: Run,
    pub counts: StateCounts,
}

/// An item to journal.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Spreadsheet row as Excel shows it.
    pub row: u32,
    /// Order number or consumer id.
    pub key: String,
    /// The typed item (e.g. a serialized `domain::Order`), exactly as it will be sent.
    pub payload: serde_json::Value,
    /// Validation issues of the row (an array; empty when there are none).
    pub issues: serde_json::Value,
    /// `Pending`, `Invalid` or `Skipped`.
    pub state: ItemState,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: ItemId,
    pub run: RunId,
    pub row: u32,
    pub key: String,
    pub payload: serde_json::Value,
    pub issues: serde_json::Value,
    pub state: ItemState,
    pub connectpay_id: Option<String>,
    pub fee: Option<Decimal>,
    pub status_code: Option<String>,
    pub description: Option<String>,
    /// Sends that may have reached the server (begin_batch adds one; `Unsent` takes it
    /// back). Greater than zero means a later `01` may be our own earlier creation.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

text_enum!(
    /// Something a person did to a run, kept in its history with who and when.
    RunAction {
        /// Journaled from a sheet (`submit`, the console).
        Started = "started",
        /// Driven again after it stopped (`resume`).
        Resumed = "resumed",
        /// Its failed rows put back to pending and driven again (`retry`).
        Retried = "retried",
        /// Another host's lock on it cleared (`unlock`).
        Unlocked = "unlocked",
    }
);

/// One entry of a run's history: who did what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunActionRecord {
    pub at: DateTime<Utc>,
    pub action: RunAction,
    /// The OS user.
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub detail: Option<String>,
}

impl RunActionRecord {
    /// `resumed by ana@box1 at 2026-03-01 14:05 UTC`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} by {}@{} at {}",
            self.action,
            self.user,
            self.host,
            self.at.format("%Y-%m-%d %H:%M UTC")
        );
        if let Some(d) = &self.detail {
            text.push_str(&format!(" ({d})"));
        }
        text
    }
}

/// What happened to one HTTP request, recorded by `finish_batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// `None` when no HTTP response arrived (transport failure).
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    /// Short summary: `ok`, `status 04`, `transport: connection reset`, ...
    pub outcome: String,
    /// The body as received; redacted and capped before it is stored.
    pub response_body: Option<String>,
}

/// One item's part in one request: the answer to "what happened to row 1,734?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptInfo {
    pub batch: BatchId,
    pub endpoint: String,
    /// 0-based position of the item in the request.
    pub position: u32,
    pub batch_size: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub http_status: Option<u16>,
    /// The request's outcome (`ok`, `status 04`, `interrupted (...)`); `None` while open.
    pub batch_outcome: Option<String>,
    /// What this attempt did to the item: a state name, `retry`, `unsent` or
    /// `interrupted`; `None` while the request is open.
    pub result: Option<String>,
    pub status_code: Option<String>,
    pub description: Option<String>,
    pub error: Option<String>,
}

/// What `recover` did to an interrupted run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Items found in flight and put back to pending (their attempt counts kept).
    pub items_reset: usize,
    /// Requests that had no recorded answer, now closed as interrupted.
    pub batches_closed: usize,
}

/// An earlier creation of the same key for the same merchant (cross-run guard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorCreation {
    pub run: RunId,
    pub row: u32,
    pub connectpay_id: Option<String>,
    pub state: ItemState,
}

impl fmt::Display for PriorCreation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.state, &self.connectpay_id) {
            (ItemState::Created, Some(id)) => write!(
                f,
                "created in run {}, row {}, ConnectPayId {id}",
                self.run, self.row
            ),
            (ItemState::ExistsBeforeRun, _) => write!(
                f,
                "already existed at PayPro when run {}, row {} sent it",
                self.run, self.row
            ),
            (ItemState::Done, _) => write!(f, "already done by run {}, row {}", self.run, self.row),
            _ => write!(
                f,
                "created in run {}, row {} (ConnectPayId unknown: the answer to that request was lost)",
                self.run, self.row
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemState::*;

    #[test]
    fn state_machine_edges_are_exactly_the_architectures() {
        let legal = [
            (Pending, InFlight),
            (InFlight, Created),
            (InFlight, ExistsBeforeRun),
            (InFlight, ExistsIdUnknown),
            (InFlight, Rejected),
            (InFlight, Done),
            (InFlight, Pending),
            (InFlight, Failed),
            (Failed, Pending),
            (ExistsIdUnknown, Created),
        ];
        for &from in ItemState::ALL {
            for &to in ItemState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn settled_and_initial_states() {
        let settled: Vec<_> = ItemState::ALL
            .iter()
            .copied()
            .filter(|s| s.is_settled())
            .collect();
        assert_eq!(
            settled,
            [
                Invalid,
                Created,
                ExistsBeforeRun,
                ExistsIdUnknown,
                Rejected,
                Skipped,
                Done
            ]
        );
        // Nothing settled can ever move again, except an unknown id becoming known.
        for &s in &settled {
            for &to in ItemState::ALL {
                assert_eq!(
                    s.can_become(to),
                    (s, to) == (ExistsIdUnknown, Created),
                    "{s} -> {to}"
                );
            }
        }
        let initial: Vec<_> = ItemState::ALL
            .iter()
            .copied()
            .filter(|s| s.is_initial())
            .collect();
        assert_eq!(initial, [Invalid, Pending, Skipped]);
    }

    #[test]
    fn already_exists_depends_on_earlier_sends() {
        let o = ItemOutcome::AlreadyExists {
            status_code: "01".into(),
            description: None,
        };
        assert_eq!(o.target_state(0), ExistsBeforeRun);
        assert_eq!(o.target_state(1), ExistsIdUnknown);
        assert_eq!(o.target_state(3), ExistsIdUnknown);
    }

    #[test]
    fn every_outcome_is_a_legal_edge_from_in_flight() {
        let outcomes = [
            ItemOutcome::Created {
                connectpay_id: "1".into(),
                fee: None,
                status_code: "00".into(),
                description: None,
            },
            ItemOutcome::AlreadyExists {
                status_code: "01".into(),
                description: None,
            },
            ItemOutcome::ExistsBeforeRun {
                status_code: "01".into(),
                description: None,
            },
            ItemOutcome::ExistsIdUnknown {
                status_code: "01".into(),
                description: None,
            },
            ItemOutcome::Rejected {
                status_code: "03".into(),
                description: None,
            },
            ItemOutcome::Retry {
                last_error: "x".into(),
            },
            ItemOutcome::Failed {
                last_error: "x".into(),
            },
            ItemOutcome::Unsent,
            ItemOutcome::Done {
                status_code: "00".into(),
                description: None,
            },
        ];
        for o in &outcomes {
            for earlier in [0, 1] {
                let to = o.target_state(earlier);
                assert!(InFlight.can_become(to), "{o:?}");
            }
        }
        assert_eq!(outcomes[5].attempt_result(1), "retry");
        assert_eq!(outcomes[7].attempt_result(1), "unsent");
        assert_eq!(outcomes[0].attempt_result(0), "created");
        assert_eq!(outcomes[8].attempt_result(1), "done");
    }

    #[test]
    fn state_names_round_trip() {
        for &s in ItemState::ALL {
            assert_eq!(ItemState::parse(s.as_str()), Some(s));
        }
        for &s in RunState::ALL {
            assert_eq!(RunState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ItemState::InFlight.as_str(), "in_flight");
        assert_eq!(RunState::StoppedAuth.as_str(), "stopped_auth");
        assert_eq!(ItemState::parse("sent"), None);
    }

    #[test]
    fn counts_add_up() {
        let mut c = StateCounts::default();
        c.add(Created, 5);
        c.add(Pending, 2);
        c.add(Failed, 1);
        c.add(Skipped, 3);
        assert_eq!(c.total(), 11);
        assert_eq!(c.settled(), 8);
        assert_eq!(c.unsettled(), 3);
    }

    #[test]
    fn prior_creation_reads_like_the_issue() {
        let p = PriorCreation {
            run: RunId(12),
            row: 48,
            connectpay_id: Some("00342000600028".into()),
            state: Created,
        };
        assert_eq!(
            p.to_string(),
            "created in run 12, row 48, ConnectPayId 00342000600028"
        );
    }
}
