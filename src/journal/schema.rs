//! The journal's schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a file from version `i` to `i + 1`. Steps are only ever
//! appended: a released step is never edited, because files written by it exist.

use super::error::{Context, JournalError};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

const V1: &str = r#"
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    source_file   TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    sheet         TEXT,
    merchant_id   TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN
                    ('open','running','interrupted','completed','cancelled','stopped_auth')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT,
    -- The process driving the run; all NULL when nobody holds the lock.
    lock_pid      INTEGER,
    lock_host     TEXT,
    lock_start    INTEGER,   -- /proc/<pid>/stat field 22, guards against pid reuse
    lock_token    INTEGER,   -- tells two locks of one process apart on release
    lock_since    TEXT
);
CREATE INDEX runs_merchant_kind ON runs(merchant_id, kind);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    row           INTEGER NOT NULL,
    key           TEXT NOT NULL,
    payload       TEXT NOT NULL,
    issues        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN
                    ('invalid','pending','in_flight','created','exists_before_run',
                     'exists_id_unknown','rejected','failed','skipped')),
    connectpay_id TEXT,
    fee           TEXT,      -- decimal as text, never REAL
    status_code   TEXT,
    description   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (run_id, row)
);
CREATE INDEX items_run_state ON items(run_id, state, row);
CREATE INDEX items_key ON items(key, state);

-- One HTTP request.
CREATE TABLE batches (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    endpoint      TEXT NOT NULL,
    item_count    INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    duration_ms   INTEGER,
    http_status   INTEGER,
    outcome       TEXT,
    response_body TEXT
);
CREATE INDEX batches_run_open ON batches(run_id, finished_at);

-- One item's part in one request.
CREATE TABLE attempts (
    batch_id      INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    item_id       INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    result        TEXT,
    status_code   TEXT,
    description   TEXT,
    error         TEXT,
    PRIMARY KEY (batch_id, item_id)
) WITHOUT ROWID;
CREATE INDEX attempts_item ON attempts(item_id);
"#;

/// Indexes for the queries of faces and for cheaper writes.
/// - `items_run_key`: a key's rows within a run (`show RUN --key K`) without walking
///   the run;
/// - `items_key` on the key alone: the cross-run guard and `find KEY` look keys up and
///   read the state from the row, so the index no longer changes with every state
///   change of every item (two of them per request).
const V2: &str = r#"
CREATE INDEX items_run_key ON items(run_id, key);
DROP INDEX items_key;
CREATE INDEX items_key ON items(key);
"#;

/// Reports and results files (issue 13): the spreadsheet's header names on the run and
/// each row's cells on its item (what the results workbook shows as the row's own
/// columns), and where an id came from when not from the create answer (an id filled
/// in from a paid-orders report). NULL in rows journaled before this step.
const V3_REPORTS: &str = r#"
ALTER TABLE runs ADD COLUMN columns TEXT;      -- JSON array of header names
ALTER TABLE items ADD COLUMN cells TEXT;       -- JSON array of the row's cells as text
ALTER TABLE items ADD COLUMN id_source TEXT;
"#;

/// Runs that stay right (issue 11): who started a run and what was done to it since
/// (resume, retry, unlock: an audit starts with "who sent these?"), why it stopped
/// early (`note`: "server unreachable since 14:05"), and the OS user of a lock's
/// holder for the messages.
const V4_AUDIT: &str = r#"
ALTER TABLE runs ADD COLUMN started_by TEXT;   -- user@host
ALTER TABLE runs ADD COLUMN note TEXT;
ALTER TABLE runs ADD COLUMN lock_user TEXT;
CREATE TABLE run_actions (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    action    TEXT NOT NULL,
    os_user   TEXT NOT NULL,
    host      TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    detail    TEXT
);
CREATE INDEX run_actions_run ON run_actions(run_id, id);
"#;

/// Every migration step, in order.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3_REPORTS, V4_AUDIT];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file up to [`SCHEMA_VERSION`], one transaction per step, so that a crash
/// mid-migration leaves the file at the last completed version. Refuses a newer file.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("reading the schema version")?;
    if found > SCHEMA_VERSION {
        return Err(JournalError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found).map_err(|_| JournalError::Corrupt {
        detail: format!("negative schema version {found}"),
    })?;
    for (index, step) in MIGRATIONS.iter().enumerate().skip(start) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a schema migration")?;
        // Another process may have migrated while we waited for the write lock.
        let now: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("reading the schema version")?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(step).ctx("migrating the schema")?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .ctx("recording the schema version")?;
        tx.commit().ctx("committing a schema migration")?;
    }
    Ok(())
}
