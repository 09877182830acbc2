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
mod body;
mod checkpoints;
mod error;
mod items;
mod lock;
mod model;
pub mod queries;
mod remote;
mod reports;
mod runs;
mod schema;
mod writer;

pub use batches::{Applied, GroupOp, GroupResult, INTERRUPTED_OUTCOME};
pub use error::JournalError;
pub use error::locked_message;
pub use items::RunHold;
pub use lock::{Liveness, RunLock, this_host};
pub use model::{
    AttemptInfo, AttemptRecord, BatchId, Item, ItemId, ItemOutcome, ItemState, LockHolder, NewItem,
    NewRun, PriorCreation, Recovery, Run, RunAction, RunActionRecord, RunId, RunState, RunSummary,
    StateCounts,
};
pub use queries::{AttemptDetail, ItemFilter, KeyHit, PendingItem, RunTotals};
pub use remote::{
    CheckId, ConsumerRecord, CreatedOrder, KnownStatus, LookupId, NewCheck, OrderKnowledge,
    OrderObservation,
};
pub use reports::{FilledId, ItemWithCells, KnownOrder, RowReader};
pub use runs::UnfinishedRun;
pub use schema::SCHEMA_VERSION;
pub use writer::{CheckpointFigures, JournalWriter};

use crate::Secret;
use crate::secret::Redactor;
use chrono::{DateTime, SecondsFormat, Utc};
use error::Context;
use rusqlite::Connection;
use rusqlite::config::DbConfig;
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
    /// Nothing is changed before the path is known to be a journal of this program or
    /// a new one: anything but a regular file (a directory, `/dev/null`) is refused;
    /// an existing file must carry SQLite's header and a schema version this program
    /// knows, both read from its first bytes before SQLite opens it (so a newer file is
    /// refused byte-for-byte unchanged, before WAL is switched on); an SQLite database
    /// of another program (tables, no version of ours) is refused. Only a file this
    /// call creates gets mode 0600 (with missing parent directories 0700); an existing
    /// file keeps its mode (a warning is logged when others can read it). Every error
    /// names the path.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |context: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io {
                path,
                context,
                source,
            }
        };
        let not_a_journal = |reason: String| JournalError::NotAJournal {
            path: path.to_path_buf(),
            reason,
        };
        let mut meta = std::fs::metadata(path);
        let mut created = false;
        if matches!(&meta, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io("creating the journal's directory"))?;
            }
            // create_new: a file that appeared meanwhile (another process opening the
            // same new journal) is not ours to create, nor to chmod; it is checked as
            // any existing file.
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(file) => {
                    created = true;
                    meta = file.metadata();
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    meta = std::fs::metadata(path);
                }
                Err(e) => return Err(io("creating the journal file")(e)),
            }
        }
        match meta {
            Ok(_) if created => {}
            Ok(meta) if meta.is_file() => {
                check_header(path, &meta).map_err(not_a_journal)?;
                if let Some(found) = header_version(path).map_err(io("reading the journal file"))?
                    && found > SCHEMA_VERSION
                {
                    return Err(JournalError::NewerSchema {
                        path: path.to_path_buf(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{:o}", meta.permissions().mode() & 0o777),
                        "the journal file can be read by others; it was not created by this \
                         program, so its mode is left as it is"
                    );
                }
            }
            Ok(meta) => {
                let what = if meta.is_dir() {
                    "it is a directory".to_string()
                } else {
                    "it is not a regular file (a device, a pipe or a socket)".to_string()
                };
                return Err(not_a_journal(what));
            }
            Err(e) => return Err(io("reading the journal file")(e)),
        }

        let at = |context: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Open {
                path,
                context,
                source,
            }
        };
        let mut conn = Connection::open(path).map_err(at("opening the journal"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(at("setting the busy timeout"))?;
        // The header said a known version; the WAL (if any) has the last word, and
        // reading it changes nothing.
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(at("reading the schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(JournalError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == 0 {
            let tables: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                    [],
                    |r| r.get(0),
                )
                .map_err(at("reading the journal's tables"))?;
            if tables > 0 {
                return Err(not_a_journal(format!(
                    "it is an SQLite database of another program ({tables} tables, no journal schema version)"
                )));
            }
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(at("switching to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::WalUnavailable { mode });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(at("setting synchronous=FULL"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(at("enabling foreign keys"))?;
        // Deleted content is overwritten, so nothing once written lingers in free pages.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(at("enabling secure_delete"))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Plans that do not depend on the values bound. Without this, SQLite's planner
        // reads some bound values (`run_id = ?` beside an ORDER BY, for one), and every
        // statement it did that for is expired by the statement cache's clearing of
        // the bindings: each call parsed and planned it again (measured: the engine's
        // read of pending items, at every page). The journal's queries were written for
        // one plan each (the `+column` hints), so none loses a better plan.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(at("fixing the query plans"))?;
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

/// SQLite's file header: the first 16 bytes of every database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether an existing regular file may be opened as a journal: empty (SQLite makes it
/// a database), or starting with SQLite's header. The reason it may not, otherwise.
fn check_header(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    });
    match read {
        Ok(n) if n == head.len() && &head == SQLITE_HEADER => Ok(()),
        Ok(_) => Err(format!(
            "it is not an SQLite database (a {} file that does not start with SQLite's header)",
            human_size(meta.len())
        )),
        Err(e) => Err(format!("it cannot be read: {e}")),
    }
}

/// The schema version (`user_version`, bytes 60..64 big-endian) in an SQLite file's
/// header, or `None` for an empty file.
fn header_version(path: &Path) -> std::io::Result<Option<i64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    if file.metadata()?.len() < 64 {
        return Ok(None);
    }
    let mut bytes = [0u8; 4];
    file.seek(SeekFrom::Start(60))?;
    file.read_exact(&mut bytes)?;
    Ok(Some(i64::from(i32::from_be_bytes(bytes))))
}

fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes}-byte")
    } else {
        format!("{} KB", bytes / 1024)
    }
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

    /// A cached statement whose plan SQLite could tie to a bound value (here `run_id =
    /// ?1` beside an ORDER BY, as the engine's read of pending items) is not parsed and
    /// planned again at every use.
    #[test]
    fn cached_statements_are_not_prepared_again_at_every_use() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let conn = journal.conn();
        let sql = "SELECT id, row FROM items WHERE run_id = ?1 AND state = 'pending' AND row > ?2
                   ORDER BY row LIMIT ?3";
        for (run, after) in [(1, -1), (2, 10), (3, 20)] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let rows = stmt
                .query_map(rusqlite::params![run, after, 800], |_| Ok(()))
                .unwrap()
                .count();
            assert_eq!(rows, 0);
        }
        let stmt = conn.prepare_cached(sql).unwrap();
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "the statement was parsed and planned again"
        );
    }

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
