//! The journal: one local SQLite file that is the single source of truth of every
//! submission run. It owns the schema and its migrations, runs, items and the item
//! state machine, batches and per-item attempts, the run lock, the cross-run duplicate
//! guard, and the queries resume, retry and the result files are built from. It never
//! calls the network.
//!
//! Durability: WAL with `synchronous=FULL`, and every state change is one transaction.
//! A batch's items are written `in_flight` *before* its request is sent
//! ([`Journal::begin_batch`]), and the answer is written in one transaction
//! ([`Journal::finish_batch`]); after a crash, [`Journal::recover`] puts in-flight items
//! back to pending with their attempt count kept, which is how a later `01` for them is
//! recorded as "exists, id unknown" rather than as a second order (reference §7).
//!
//! Secrets: the journal stores no credential. As defence in depth, every free text it
//! stores (response bodies, errors, descriptions, outcomes, endpoint and base URL) is
//! passed through a [`crate::secret::Redactor`] of the secrets given to
//! [`Journal::set_redactions`].
//!
//! How the engine drives it (through a [`JournalWriter`], one thread that owns the
//! run's writes):
//! - new run: `created_elsewhere_many` (cross-run guard) → `create_run_with_items` (one
//!   transaction) → `lock_run` → `set_run_state(Running)` → send loop → terminal
//!   `set_run_state` → release the [`RunLock`].
//! - send loop: `pending_page` (a few batches at a time, in row order) → batches of
//!   ≤50 → `begin_batch` → HTTP → `finish_batch` with one [`ItemOutcome`] per item of
//!   the batch; records that arrive together share one commit ([`Journal::write_group`]).
//! - resume: `interrupted_runs` → `lock_run` (takes over a dead holder's lock) →
//!   `recover` → `set_run_state(Running)` → send loop.
//! - retry: `lock_run` → `retry_failed` → send loop.
//!
//! `begin_batch`, `recover` and `retry_failed` require this process to hold the run's
//! lock; `finish_batch` does not (an answer that arrived is always recorded).
//!
//! Faces read with their own [`Journal`] (a connection of its own: WAL lets it read
//! while the writer writes): `runs`, `run_totals`, `items_page`, `item_history`,
//! `find_key` ([`queries`]).
//!
//! Threads: a [`Journal`] is a handle around one connection behind a mutex; its
//! clones share that connection. Calls block on disk (an fsync per commit): async
//! code writes through a [`JournalWriter`] and reads from `spawn_blocking`.

mod batches;
mod error;
mod items;
mod lock;
mod model;
pub mod queries;
mod reports;
mod runs;
mod schema;
mod writer;

pub use batches::{Applied, GroupOp, GroupResult, INTERRUPTED_OUTCOME};
pub use error::JournalError;
pub use lock::RunLock;
pub use model::{
    AttemptInfo, AttemptRecord, BatchId, Item, ItemId, ItemOutcome, ItemState, LockHolder, NewItem,
    NewRun, PriorCreation, Recovery, Run, RunId, RunState, RunSummary, StateCounts,
};
pub use queries::{AttemptDetail, ItemFilter, KeyHit, PendingItem, RunTotals};
pub use reports::{FilledId, ItemWithCells, KnownOrder, RowReader};
pub use schema::SCHEMA_VERSION;
pub use writer::JournalWriter;

use crate::Secret;
use crate::secret::Redactor;
use chrono::{DateTime, SecondsFormat, Utc};
use error::Context;
use rusqlite::Connection;
use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// The journal's file name inside the data directory.
pub const FILE_NAME: &str = "journal.sqlite3";

/// The environment variable that overrides the default journal path.
pub const ENV_VAR: &str = "PAYPRO_JOURNAL";

/// How long a call waits for another process's write to finish before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Response bodies longer than this are cut (after redaction) when stored.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The default journal file: `$XDG_DATA_HOME/paypro-console/journal.sqlite3` on Linux
/// (the platform's data directory elsewhere).
pub fn default_path() -> Result<PathBuf, JournalError> {
    directories::ProjectDirs::from("pk.com", "PayPro", "paypro-console")
        .map(|dirs| dirs.data_dir().join(FILE_NAME))
        .ok_or(JournalError::NoDataDirectory)
}

/// The journal path to use: `--journal`, else `PAYPRO_JOURNAL`, else [`default_path`].
pub fn resolve_path(cli: Option<&Path>) -> Result<PathBuf, JournalError> {
    resolve_path_from(cli, std::env::var_os(ENV_VAR))
}

/// [`resolve_path`] with the environment value passed in (testable without touching
/// the process environment). An empty value counts as unset.
pub fn resolve_path_from(
    cli: Option<&Path>,
    env: Option<OsString>,
) -> Result<PathBuf, JournalError> {
    if let Some(path) = cli {
        return Ok(path.to_path_buf());
    }
    match env {
        Some(value) if !value.is_empty() => Ok(PathBuf::from(value)),
        _ => default_path(),
    }
}

/// A handle on an open journal file. Clones share one connection.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    redactions: RwLock<Redactor>,
    path: PathBuf,
    me: lock::ProcessIdentity,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    ///
    /// Missing parent directories are created with mode 0700 and the file with mode
    /// 0600 before SQLite touches it; an existing file readable by others is narrowed
    /// to 0600. A file written by a newer program is refused
    /// ([`JournalError::NewerSchema`]) and left untouched.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |context: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io {
                path,
                context,
                source,
            }
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io("creating the journal's directory"))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io("creating the journal file"))?;
        let meta = file.metadata().map_err(io("reading the journal file"))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "journal file was readable by others; setting mode 0600");
            file.set_permissions(Permissions::from_mode(0o600))
                .map_err(io("setting the journal file's mode"))?;
        }
        drop(file);

        let mut conn = Connection::open(path).ctx("opening the journal")?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("setting the busy timeout")?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .ctx("switching to WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::WalUnavailable { mode });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .ctx("setting synchronous=FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .ctx("enabling foreign keys")?;
        // Deleted content is overwritten, so nothing once written lingers in free pages.
        conn.pragma_update(None, "secure_delete", "ON")
            .ctx("enabling secure_delete")?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn, path)?;
        restrict_side_files(path)?;

        Ok(Journal {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                redactions: RwLock::new(Redactor::default()),
                path: path.to_path_buf(),
                me: lock::ProcessIdentity::current(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Secrets to redact out of every free text stored from now on (the merchant
    /// password, API secrets). Replaces the previous list.
    pub fn set_redactions(&self, secrets: Vec<Secret>) {
        let secrets: Vec<Secret> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        let redactor = Redactor::new(&secrets);
        match self.inner.redactions.write() {
            Ok(mut guard) => *guard = redactor,
            Err(poisoned) => *poisoned.into_inner() = redactor,
        }
    }

    /// The connection's durability settings as SQLite reports them (for `doctor`-style
    /// checks and tests).
    pub fn settings(&self) -> Result<JournalSettings, JournalError> {
        let conn = self.conn();
        let journal_mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .ctx("reading settings")?;
        let synchronous: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .ctx("reading settings")?;
        let foreign_keys: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .ctx("reading settings")?;
        let schema_version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("reading settings")?;
        Ok(JournalSettings {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous: match synchronous {
                0 => "off",
                1 => "normal",
                2 => "full",
                3 => "extra",
                _ => "unknown",
            }
            .to_string(),
            foreign_keys,
            schema_version,
        })
    }

    /// Copies the WAL into the main file and empties it (for backups and tests; SQLite
    /// also does this by itself).
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .ctx("checkpointing the WAL")?;
        drop(conn);
        restrict_side_files(&self.inner.path)
    }

    /// The connection. A panic while it was held leaves no half transaction behind
    /// (rusqlite rolls back on drop), so a poisoned mutex is safe to reuse.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn redact(&self, text: &str) -> String {
        let redactor = self
            .inner
            .redactions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = redactor.redact(text);
        // A URL's user-info password is a credential whether or not we were told of it.
        // (Only text with an `@` can hold one: the rest, nearly every status and
        // description of an answer, is not parsed.)
        if out.contains('@')
            && let Ok(mut url) = url::Url::parse(&out)
            && url.password().is_some()
            && url.set_password(Some("***")).is_ok()
        {
            out = url.to_string();
        }
        out
    }

    fn redact_opt(&self, text: Option<&str>) -> Option<String> {
        text.map(|t| self.redact(t))
    }

    /// Redacts, then caps at [`MAX_BODY_BYTES`] (redacting first so that a secret cut
    /// by the cap cannot survive half-hidden).
    fn redact_body(&self, body: &str) -> String {
        let redacted = self.redact(body);
        if redacted.len() <= MAX_BODY_BYTES {
            return redacted;
        }
        let mut end = MAX_BODY_BYTES;
        while !redacted.is_char_boundary(end) {
            end -= 1;
        }
        format!(
            "{}… [cut: {} bytes in all]",
            &redacted[..end],
            redacted.len()
        )
    }
}

/// What [`Journal::settings`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSettings {
    /// `wal` when open.
    pub journal_mode: String,
    /// `full` when open.
    pub synchronous: String,
    pub foreign_keys: bool,
    pub schema_version: i64,
}

/// SQLite creates `-wal` and `-shm` with the main file's mode; this makes sure of it.
fn restrict_side_files(path: &Path) -> Result<(), JournalError> {
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_os_string();
        side.push(suffix);
        let side = PathBuf::from(side);
        match std::fs::metadata(&side) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&side, Permissions::from_mode(0o600)).map_err(
                    |source| JournalError::Io {
                        path: side.clone(),
                        context: "setting the mode of a journal side file",
                        source,
                    },
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Now, as stored: RFC 3339 UTC with milliseconds (sorts as text).
pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_time(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("bad timestamp {text:?}: {e}").into(),
            )
        })
}

pub(crate) fn parse_json(text: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// i64 from SQLite to a non-negative Rust integer.
pub(crate) fn to_u32(value: i64) -> rusqlite::Result<u32> {
    u32::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_can_be_shared_between_threads_and_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<Journal>();
        fn sendable<T: Send + 'static>() {}
        sendable::<RunLock>();
    }

    #[test]
    fn resolve_prefers_cli_then_env_then_default() {
        let cli = PathBuf::from("/tmp/cli.sqlite3");
        assert_eq!(
            resolve_path_from(Some(&cli), Some("/tmp/env.sqlite3".into())).unwrap(),
            cli
        );
        assert_eq!(
            resolve_path_from(None, Some("/tmp/env.sqlite3".into())).unwrap(),
            PathBuf::from("/tmp/env.sqlite3")
        );
        if let Ok(default) = default_path() {
            assert_eq!(resolve_path_from(None, Some("".into())).unwrap(), default);
            assert_eq!(resolve_path_from(None, None).unwrap(), default);
            assert!(default.ends_with(Path::new("paypro-console").join(FILE_NAME)));
        }
    }

    #[test]
    fn redaction_covers_secrets_and_url_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        j.set_redactions(vec![Secret::new("pa ss&1"), Secret::new("")]);
        assert_eq!(j.redact("pw=pa+ss%261 and pa ss&1"), "pw=*** and ***");
        assert_eq!(
            j.redact("https://merchant:hunter2@api.example/cpay"),
            "https://merchant:***@api.example/cpay"
        );
        assert_eq!(j.redact("no secret"), "no secret");
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let body = "é".repeat(MAX_BODY_BYTES);
        let stored = j.redact_body(&body);
        assert!(stored.len() < body.len());
        assert!(stored.ends_with(&format!("[cut: {} bytes in all]", body.len())));
        assert_eq!(j.redact_body("short"), "short");
    }
}
