//! `JournalError`: every way a journal operation can fail, worded for the clerk or the
//! operator who has to act on it. No message ever carries a credential: the journal
//! stores none, and free text is redacted before it is written.

use super::model::{BatchId, ItemId, ItemState, RunId};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed while the journal was doing `context`.
    #[error("journal: {context}: {source}")]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("journal file {path}: {context}: {source}")]
    Io {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// Another process drives the run: a live one on this host, or one recorded by
    /// another host (`other_host`), which cannot be checked from here. `since` is a
    /// UTC time, already formatted.
    #[error("{}", locked_message(*run, *pid, host, since, *other_host))]
    Locked {
        run: RunId,
        pid: u32,
        host: String,
        since: String,
        other_host: bool,
    },

    /// Rows of a new run are in another run's hands (pending or in flight in a run
    /// that is not finished, or created since the plan). Nothing was written.
    #[error("{}; nothing was journaled or sent", holds.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    HeldByOtherRuns { holds: Vec<super::items::RunHold> },

    /// The journal path names something that is not a journal (a directory, a
    /// device, a spreadsheet, another program's database). Nothing was changed.
    #[error("{}: not a paypro-console journal: {reason}; nothing was changed. Give a journal file, or a new path, with --journal or PAYPRO_JOURNAL", path.display())]
    NotAJournal { path: PathBuf, reason: String },

    /// SQLite failed while opening the journal at `path`.
    #[error("journal {}: {context}: {source}", path.display())]
    Open {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A call that drives a run (sending, recovering, retrying) was made without this
    /// process holding the run's lock.
    #[error(
        "run {run} is not locked by this process; lock it (Journal::lock_run) before driving it"
    )]
    NotLocked { run: RunId },

    #[error(
        "the journal {path} has schema version {found}, newer than this program supports \
         ({supported}); use a newer paypro-console or another journal file (--journal)"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// An item was asked to move along an edge the state machine does not have. Nothing
    /// of the operation was written.
    #[error("row {row} (item {item}) cannot go from {from} to {to}; nothing was recorded")]
    InvalidTransition {
        item: ItemId,
        row: u32,
        from: ItemState,
        to: ItemState,
    },

    /// `add_items` was given an item in a state items are not born in. Nothing was added.
    #[error(
        "row {row} cannot be journaled as {state}: new items are pending, invalid or skipped; nothing was added"
    )]
    InvalidNewItem { row: u32, state: ItemState },

    /// `finish_batch` was given outcomes that do not match the batch's items. Nothing
    /// was recorded.
    #[error("batch {batch}: {problem}; nothing was recorded")]
    BatchMismatch { batch: BatchId, problem: String },

    /// A group of writes ([`super::Journal::write_group`]) could not be committed:
    /// none of it was written.
    #[error("journal: {context}: {detail}; nothing of these writes was recorded")]
    GroupFailed {
        context: &'static str,
        detail: String,
    },

    /// The journal's writer thread has stopped (it failed or the program is ending).
    #[error("the journal's writer has stopped; nothing more can be recorded")]
    WriterGone,

    #[error("batch {batch} is already finished; nothing was recorded")]
    BatchFinished { batch: BatchId },

    /// WAL needs shared memory, which some network file systems do not offer.
    #[error(
        "SQLite could not put the journal in WAL mode (it stays in {mode} mode); keep the journal on a local disk"
    )]
    WalUnavailable { mode: String },

    #[error("{what} not found in the journal")]
    NotFound { what: String },

    /// The file holds a value this program never writes (hand-edited or damaged).
    #[error("journal is damaged: {detail}")]
    Corrupt { detail: String },

    #[error(
        "no home directory found to put the journal in; give a path with --journal or PAYPRO_JOURNAL"
    )]
    NoDataDirectory,
}

/// The words of [`JournalError::Locked`].
pub fn locked_message(run: RunId, pid: u32, host: &str, since: &str, other_host: bool) -> String {
    if other_host {
        format!(
            "run {run} is held by process {pid} on host {host} since {since}; that is another \
             host, so whether the process still runs cannot be checked from here. If it is \
             gone (the machine was renamed or recreated), clear the lock with: \
             paypro-console unlock {run}"
        )
    } else {
        format!(
            "run {run} is being driven by process {pid} on host {host} since {since}; wait for \
             it to finish or stop that process first (once it has ended, its lock is taken \
             over by the next resume)"
        )
    }
}

/// Attaches what the journal was doing to a SQLite error.
pub(crate) trait Context<T> {
    fn ctx(self, context: &'static str) -> Result<T, JournalError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &'static str) -> Result<T, JournalError> {
        self.map_err(|source| JournalError::Sqlite { context, source })
    }
}
