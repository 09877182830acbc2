//! The batch engine, and the run API every face (the console, the headless commands,
//! a test) uses:
//!
//! - [`plan`]: import and validate a spreadsheet, apply the cross-run guard, and
//!   compute the [`Preview`] a clerk confirms (rows to send, skipped and why, invalid,
//!   total amount, target URL and merchant). Nothing is written.
//! - [`start`]: a [`Plan`] (journaled as a new run), or `resume` / `retry` of a
//!   journaled run, driven on its own task; the [`RunHandle`] carries the [`Event`]s,
//!   the commands ([`RunControl`]: pause, resume, cancel) and the final [`RunReport`].
//!   A face that goes away (its handle dropped) never stops the run.
//! - Queries for faces are the journal's (`Journal::runs`, `run_totals`,
//!   `items_page`, `item_history`, `find_key`), on the face's own connection.
//!
//! The engine owns batching (at most 50 items per request; for mark runs — mark paid,
//! mark blocked, refunds — one `csvOrders` call of at most 4000 characters, see
//! `mark`), bounded concurrency, retry with exponential backoff and jitter, the split
//! of refused batches, pause, cancellation and crash recovery. It renders nothing.
//!
//! Beside runs: refunds are checked against the journal before a refund run is
//! journaled (`refunds`), and two read-only look-ups journal what PayPro says:
//! [`status`] (order status refresh) and [`lookup`] (consumer data).
//!
//! The journal is the single source of truth: every batch is written `in_flight`
//! *before* its request leaves, and every answer is written before anything else hears
//! of it, all through one writer thread ([`crate::journal::JournalWriter`]) that
//! commits what arrives together in one transaction. The engine's own memory only
//! decides what to send next (it reads pending items a few batches at a time); after a
//! crash, a resume rebuilds everything from the journal.

mod backoff;
mod classify;
mod drive;
mod events;
pub mod lookup;
mod mark;
mod plan;
mod prepare;
mod progress;
mod refunds;
mod run;
pub mod status;

pub use events::{Event, ItemRef, ItemUpdate, StopReason};
pub use plan::{Plan, PlanRequest, Preview, Target, plan, plan_imported};
pub use prepare::{
    PreparedRun, RunSource, journal_plan, prepare_run, prior_creations, sha256_file,
};
pub use progress::Progress;
pub use run::{
    Attention, AttentionWhy, Command, ResumeChoice, RunConnection, RunControl, RunEnd, RunHandle,
    Start, connection_for_run, needs_attention, resume_choice, resume_choice_for, start,
};

use crate::domain::Kind;
use crate::domain::rules::BATCH_MAX;
use crate::journal::{CheckpointFigures, JournalError, RunHold, RunId, RunState, StateCounts};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Most requests the engine keeps in flight at once.
pub const MAX_CONCURRENCY: usize = 16;

/// How a run is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// Requests in flight at once, 1..=16 (default 4).
    pub concurrency: usize,
    /// Items per request, 1..=50 (default 50).
    pub batch_size: usize,
    /// Sends of an item within one `drive` before it is `failed` (default 6). Counted
    /// per drive, so `retry` and resume give every item a fresh allowance.
    pub max_attempts: u32,
    /// First backoff (default 250 ms), doubled per attempt, plus jitter.
    pub backoff_base: Duration,
    /// Longest backoff (default 20 s).
    pub backoff_max: Duration,
    /// Seed of the jitter RNG (tests); `None` draws one from the OS.
    pub seed: Option<u64>,
    /// How long every request may fail at the transport level (connection refused or
    /// reset, timeout, HTTP 5xx) before the run stops as `interrupted` ("server
    /// unreachable since HH:MM"), default 60 s. Meanwhile no item is `failed` for it.
    pub give_up_after: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            concurrency: 4,
            batch_size: BATCH_MAX,
            max_attempts: 6,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(20),
            seed: None,
            give_up_after: Duration::from_secs(60),
        }
    }
}

impl EngineSettings {
    /// The settings with every value brought into its legal range (a batch size above
    /// 50 would be refused whole by the server).
    pub fn normalized(&self) -> EngineSettings {
        EngineSettings {
            concurrency: self.concurrency.clamp(1, MAX_CONCURRENCY),
            batch_size: self.batch_size.clamp(1, BATCH_MAX),
            max_attempts: self.max_attempts.max(1),
            backoff_base: self.backoff_base,
            backoff_max: self.backoff_max.max(self.backoff_base),
            seed: self.seed,
            give_up_after: self.give_up_after,
        }
    }
}

/// How a drive ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub run: RunId,
    /// `completed`, `interrupted` (cancelled, or a journal failure) or `stopped_auth`.
    pub state: RunState,
    pub counts: StateCounts,
    /// Items of the run sent at least once, in any drive.
    pub sent: u64,
    pub elapsed: Duration,
    /// Item sends that ended in a retryable failure and were scheduled again.
    pub retries: u64,
    /// Why the run stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Requests sent in this drive.
    pub requests: u64,
    /// Time the journal's writer spent on this drive's reads and writes (after the run
    /// was set up), for the benchmark's "journal per batch".
    pub journal_time: Duration,
    /// The CPU time of that work.
    pub journal_cpu: Duration,
    /// Of `journal_cpu`, the reads and other calls (the rest is batch records).
    pub journal_call_cpu: Duration,
    /// Commits of batch records in that time (records that arrive together share one).
    pub journal_commits: u64,
    /// Of `journal_time`, the wall time of those commits (WAL written and fsync'd).
    pub journal_commit_time: Duration,
    /// Of `journal_time`, the time the writer was ready but waited for a CPU (other
    /// threads, the simulator's in a benchmark, had them); `None` where the system does
    /// not report it.
    pub journal_cpu_wait: Option<Duration>,
    /// The journal's checkpoints, on a thread of their own (not in `journal_time`),
    /// since the run's writer started.
    pub journal_checkpoints: CheckpointFigures,
}

impl RunReport {
    /// PayPro's words when it refused the credentials, if that stopped the run.
    pub fn credentials_refused(&self) -> Option<&str> {
        match &self.stop {
            Some(StopReason::CredentialsRefused(reason)) => Some(reason),
            _ => None,
        }
    }
}

/// The process holding a run, as [`EngineError::Locked`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedBy {
    pub run: RunId,
    pub pid: u32,
    pub host: String,
    /// UTC, already formatted.
    pub since: String,
    /// Recorded by another host: cannot be checked from here; `unlock` clears it.
    pub other_host: bool,
}

impl fmt::Display for LockedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::journal::locked_message(
            self.run,
            self.pid,
            &self.host,
            &self.since,
            self.other_host,
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(JournalError),

    /// Rows of the sheet are in another run's hands (pending or in flight in a run that
    /// is not finished): sending them again could bill twice. `--allow-resend` sends
    /// orders and consumers anyway; never marks or refunds.
    #[error(
        "{}; nothing was sent (finish that run first; for orders and consumers, --allow-resend sends them anyway)",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    HeldByOtherRuns(Vec<RunHold>),

    /// The merchant id or password cannot be what PayPro accepts; checked once, before
    /// any request (a long id would otherwise be refused item by item).
    #[error("{0}; nothing was sent")]
    Credentials(String),

    /// The spreadsheet could not be read at all.
    #[error(transparent)]
    Sheet(#[from] crate::sheet::SheetError),

    /// The connection settings cannot make a client (a bad base URL).
    #[error("{0}; check --base-url or PAYPRO_BASE_URL")]
    Connection(String),

    /// Something is to be sent and no credentials were given.
    #[error("there are rows to send and no credentials were given")]
    NoCredentials,

    /// A plan is started with the connection of the merchant it was planned for.
    #[error("the sheet was planned for merchant {planned}; it cannot be sent as merchant {given}")]
    PlannedForAnother { planned: String, given: String },

    /// A run belongs to the merchant it was planned for.
    #[error(
        "run {run} belongs to merchant {run_merchant}, not {given}; unset PAYPRO_MERCHANT_ID or drop --merchant"
    )]
    WrongMerchant {
        run: RunId,
        run_merchant: String,
        given: String,
    },

    /// Another live process (or another drive in this one) holds the run's lock.
    #[error("{0}")]
    Locked(LockedBy),

    /// The run's kind in the journal is not one this program writes.
    #[error("run {run} has kind '{kind}', which this program does not know")]
    UnknownKind { run: RunId, kind: String },

    #[error("run {0} not found in the journal")]
    NotFound(RunId),

    #[error("{}: {context}: {source}", path.display())]
    Io {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A journaled item could not be read back as what the run sends.
    #[error("run {run}, row {row} ({key}): the journaled item cannot be read back: {reason}")]
    Payload {
        run: RunId,
        row: u32,
        key: String,
        reason: String,
    },

    /// An item could not be turned into what the journal stores.
    #[error("row {row}: the item cannot be journaled: {reason}")]
    Serialize { row: u32, reason: String },

    /// A task of the engine panicked or was cancelled by the runtime.
    #[error("engine task failed: {0}")]
    Task(String),
}

impl From<JournalError> for EngineError {
    fn from(e: JournalError) -> Self {
        EngineError::from_journal(e)
    }
}

impl EngineError {
    /// Lifts the journal's lock and guard errors into [`EngineError::Locked`] and
    /// [`EngineError::HeldByOtherRuns`].
    pub(crate) fn from_journal(e: JournalError) -> EngineError {
        match e {
            JournalError::Locked {
                run,
                pid,
                host,
                since,
                other_host,
            } => EngineError::Locked(LockedBy {
                run,
                pid,
                host,
                since,
                other_host,
            }),
            JournalError::HeldByOtherRuns { holds } => EngineError::HeldByOtherRuns(holds),
            other => EngineError::Journal(other),
        }
    }
}

/// Refuses a merchant id or password PayPro cannot accept (reference: merchant id at
/// most 15 characters, password at most 60), naming which and how long.
pub fn check_credentials(merchant_id: &str, password: &crate::Secret) -> Result<(), EngineError> {
    use crate::domain::rules::{MERCHANT_ID_MAX, MERCHANT_PASSWORD_MAX};
    let id_len = merchant_id.chars().count();
    if merchant_id.trim().is_empty() {
        return Err(EngineError::Credentials("the merchant id is empty".into()));
    }
    if id_len > MERCHANT_ID_MAX {
        return Err(EngineError::Credentials(format!(
            "merchant id '{merchant_id}' is {id_len} characters; Connect Pay accepts at most \
             {MERCHANT_ID_MAX}: check --merchant or PAYPRO_MERCHANT_ID"
        )));
    }
    let pw_len = password.expose().chars().count();
    if pw_len > MERCHANT_PASSWORD_MAX {
        return Err(EngineError::Credentials(format!(
            "the password is {pw_len} characters; Connect Pay accepts at most \
             {MERCHANT_PASSWORD_MAX}: check PAYPRO_PASSWORD"
        )));
    }
    Ok(())
}

/// The kinds the engine submits, with the endpoint each uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunKind {
    Orders,
    Consumers,
    ConsumerUpdates,
    /// Mark runs ([`mark`]): many order numbers per call, not at most 50 items.
    MarkPaid,
    MarkBlocked,
    Refunds,
}

impl RunKind {
    pub(crate) fn of(kind: Kind) -> Result<RunKind, EngineError> {
        Ok(match kind {
            Kind::Orders => RunKind::Orders,
            Kind::Consumers => RunKind::Consumers,
            Kind::ConsumerUpdates => RunKind::ConsumerUpdates,
            Kind::MarkPaid => RunKind::MarkPaid,
            Kind::MarkBlocked => RunKind::MarkBlocked,
            Kind::Refunds => RunKind::Refunds,
        })
    }

    /// A mark run: its requests are `moap`/`moab`/`mofr` calls packed to 4000
    /// characters, and its items end `done` rather than created.
    pub(crate) fn is_mark(self) -> bool {
        matches!(
            self,
            RunKind::MarkPaid | RunKind::MarkBlocked | RunKind::Refunds
        )
    }

    /// The run's kind as journaled (`Kind::as_str`).
    pub(crate) fn parse(run: RunId, text: &str) -> Result<RunKind, EngineError> {
        match Kind::ALL.iter().find(|k| k.as_str() == text) {
            Some(kind) => RunKind::of(*kind),
            None => Err(EngineError::UnknownKind {
                run,
                kind: text.to_string(),
            }),
        }
    }

    pub(crate) fn kind(self) -> Kind {
        match self {
            RunKind::Orders => Kind::Orders,
            RunKind::Consumers => Kind::Consumers,
            RunKind::ConsumerUpdates => Kind::ConsumerUpdates,
            RunKind::MarkPaid => Kind::MarkPaid,
            RunKind::MarkBlocked => Kind::MarkBlocked,
            RunKind::Refunds => Kind::Refunds,
        }
    }

    pub(crate) fn endpoint(self) -> crate::api::Endpoint {
        match self {
            RunKind::Orders => crate::api::Endpoint::Cmo,
            RunKind::Consumers => crate::api::Endpoint::Cmc,
            RunKind::ConsumerUpdates => crate::api::Endpoint::Umc,
            RunKind::MarkPaid => crate::api::Endpoint::Moap,
            RunKind::MarkBlocked => crate::api::Endpoint::Moab,
            RunKind::Refunds => crate::api::Endpoint::Mofr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_clamped_to_legal_values() {
        let s = EngineSettings {
            concurrency: 0,
            batch_size: 500,
            max_attempts: 0,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(1),
            seed: Some(1),
            give_up_after: Duration::from_secs(60),
        }
        .normalized();
        assert_eq!(s.concurrency, 1);
        assert_eq!(s.batch_size, BATCH_MAX);
        assert_eq!(s.max_attempts, 1);
        assert_eq!(s.backoff_max, Duration::from_secs(5));
        let s = EngineSettings {
            concurrency: 99,
            batch_size: 0,
            ..EngineSettings::default()
        }
        .normalized();
        assert_eq!(s.concurrency, MAX_CONCURRENCY);
        assert_eq!(s.batch_size, 1);
    }

    #[test]
    fn kinds_and_endpoints() {
        let run = RunId(1);
        assert_eq!(RunKind::parse(run, "orders").unwrap(), RunKind::Orders);
        assert_eq!(
            RunKind::parse(run, "consumer-updates").unwrap().endpoint(),
            crate::api::Endpoint::Umc
        );
        let mark = RunKind::parse(run, "mark-paid").unwrap();
        assert!(mark.is_mark() && !RunKind::Orders.is_mark());
        assert_eq!(mark.endpoint(), crate::api::Endpoint::Moap);
        assert_eq!(
            RunKind::parse(run, "refunds").unwrap().endpoint(),
            crate::api::Endpoint::Mofr
        );
        assert!(matches!(
            RunKind::parse(run, "nonsense"),
            Err(EngineError::UnknownKind { .. })
        ));
    }

    #[test]
    fn lock_error_names_the_holder() {
        let e = EngineError::from_journal(JournalError::Locked {
            run: RunId(7),
            pid: 42,
            host: "box".into(),
            since: "2026-01-01 00:00:00 UTC".into(),
            other_host: true,
        });
        assert!(matches!(e, EngineError::Locked(..)));
        let text = e.to_string();
        assert!(text.contains("run 7") && text.contains("42") && text.contains("box"));
        assert!(text.contains("paypro-console unlock 7"), "{text}");
        assert!(!text.contains("automatically"), "{text}");
    }

    #[test]
    fn credentials_longer_than_paypro_takes_are_refused_before_sending() {
        let pw = crate::Secret::new("p");
        assert!(check_credentials("demo", &pw).is_ok());
        assert!(check_credentials("a".repeat(15).as_str(), &pw).is_ok());
        let e = check_credentials("merchant-id-too-long", &pw).unwrap_err();
        assert!(
            e.to_string()
                .contains("is 20 characters; Connect Pay accepts at most 15"),
            "{e}"
        );
        let e = check_credentials("demo", &crate::Secret::new("x".repeat(61))).unwrap_err();
        assert!(e.to_string().contains("61 characters"), "{e}");
        assert!(
            !e.to_string().contains("xxxx"),
            "the password is never shown"
        );
        assert!(check_credentials(" ", &pw).is_err());
    }
}
