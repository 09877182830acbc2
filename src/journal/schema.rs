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

/// Bulk order operations and look-ups (issue 14).
///
/// - Items of mark runs (mark paid, mark blocked, refunds) end `done` when PayPro took
///   them. The state list is a CHECK constraint, which SQLite cannot alter; rebuilding
///   `items` would cascade-delete every attempt through the foreign keys, so the
///   constraint's text is widened in place, SQLite's documented way for a change that
///   every stored row already satisfies (sqlite.org/lang_altertable.html, "making
///   other kinds of table schema changes"). `writable_schema = RESET` makes this
///   connection read the schema again, and the tables created after it change the
///   schema cookie, so every other connection reads it again too.
/// - `status_checks` / `order_status`: what PayPro said of orders (status refresh with
///   `gos`, or a paid-orders report) and when; refunds are checked against the latest.
/// - `consumer_lookups` / `consumer_data`: consumers looked up with `gcd`.
const V5_OPERATIONS: &str = r#"
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''failed'',''skipped'')', '''failed'',''skipped'',''done'')')
 WHERE type = 'table' AND name = 'items';
PRAGMA writable_schema = RESET;

CREATE TABLE status_checks (
    id            INTEGER PRIMARY KEY,
    merchant_id   TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    run_id        INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    source        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE TABLE order_status (
    check_id      INTEGER NOT NULL REFERENCES status_checks(id) ON DELETE CASCADE,
    connectpay_id TEXT NOT NULL,
    order_number  TEXT,
    status        TEXT,      -- PayPro's word, trimmed; NULL when the check failed
    amount_paid   TEXT,      -- decimal as text, never REAL
    date_paid     TEXT,      -- as PayPro gave it, ISO 8601 without a zone
    checked_at    TEXT NOT NULL,
    error         TEXT,      -- why there is no status (not found, refused, transport)
    PRIMARY KEY (check_id, connectpay_id)
) WITHOUT ROWID;
CREATE INDEX order_status_number ON order_status(order_number, checked_at);
CREATE INDEX order_status_id ON order_status(connectpay_id, checked_at);

CREATE TABLE consumer_lookups (
    id            INTEGER PRIMARY KEY,
    merchant_id   TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    source        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE TABLE consumer_data (
    lookup_id          INTEGER NOT NULL REFERENCES consumer_lookups(id) ON DELETE CASCADE,
    row                INTEGER NOT NULL,
    code               TEXT NOT NULL,
    found              INTEGER NOT NULL,
    full_consumer_code TEXT,
    consumer_code      TEXT,
    company_code       TEXT,
    name               TEXT,
    mobile             TEXT,
    email              TEXT,
    address            TEXT,
    created_on         TEXT,
    status_code        TEXT,
    message            TEXT,
    checked_at         TEXT NOT NULL,
    PRIMARY KEY (lookup_id, row)
) WITHOUT ROWID;
CREATE INDEX consumer_data_code ON consumer_data(code);
"#;

/// Every migration step, in order.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3_REPORTS, V4_AUDIT, V5_OPERATIONS];

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: &str = "2026-01-01T00:00:00.000Z";

    /// A file at version 3 with an item and an attempt, as an older program left it.
    fn v3_file(path: &Path) {
        let mut conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for (i, step) in MIGRATIONS[..3].iter().enumerate() {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(step).unwrap();
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO runs (id, kind, source_file, source_sha256, merchant_id, base_url,
                               state, created_at, updated_at)
             VALUES (1, 'orders', 'a.csv', '', 'm', 'http://x', 'completed', '{NOW}', '{NOW}');
             INSERT INTO items (id, run_id, row, key, payload, issues, state, attempts,
                                created_at, updated_at)
             VALUES (1, 1, 2, 'A', '{{}}', '[]', 'created', 1, '{NOW}', '{NOW}');
             INSERT INTO batches (id, run_id, endpoint, item_count, started_at)
             VALUES (1, 1, 'cmo', 1, '{NOW}');
             INSERT INTO attempts (batch_id, item_id, position) VALUES (1, 1, 0);"
        ))
        .unwrap();
    }

    #[test]
    fn the_done_state_is_added_in_place_keeping_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        v3_file(&path);
        // A connection that read the old schema before the migration reads the new one
        // after it.
        let other = Connection::open(&path).unwrap();
        let before: i64 = other
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(before, 1);

        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrate(&mut conn, &path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        // Nothing was lost: the item and its attempt are still there.
        let attempts: i64 = conn
            .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(attempts, 1);
        for c in [&conn, &other] {
            c.execute("UPDATE items SET state = 'done' WHERE id = 1", [])
                .unwrap();
            // Still a constraint: a word outside the list is refused.
            assert!(
                c.execute("UPDATE items SET state = 'sent' WHERE id = 1", [])
                    .is_err()
            );
            c.execute(
                "INSERT INTO status_checks (merchant_id, base_url, source, started_at)
                 VALUES ('m', 'http://x', 'test', ?1)",
                [NOW],
            )
            .unwrap();
        }
        // Opening again changes nothing.
        migrate(&mut conn, &path).unwrap();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'items'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sql.matches("'done'").count(), 1, "{sql}");
    }
}
