//! The journal's schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a file from version `i` to `i + 1`. Steps are only ever
//! appended: a released step is never edited, because files written by it exist.

use super::error::{Context, JournalError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
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

/// Cheaper state changes (issue 10: the journal's cost per batch). An item's state
/// changes twice per request; what each change costs was measured, not guessed:
/// - `items` is narrowed to what a run changes (state, attempts, the answer's fields)
///   and what finds an item (run, row, key). What the sheet said of it (payload,
///   issues, cells) is written once into `item_inputs` and never rewritten: before,
///   every state change rewrote ~400 bytes of payload per item, several pages per
///   request, each a WAL frame.
/// - The state check is written as a chain of `=`: SQLite evaluates `state IN (ten
///   constants)` by building a temporary index of the list on every execution of an
///   UPDATE, which was half the cost of recording an answer. The accepted values are
///   the same (`done` included, as step 5 widened the list).
/// - An attempt (one item's part in one request) is no longer a row of its own,
///   written when the request began and again when it was answered (two B-tree
///   entries, two foreign-key look-ups): a request's row holds its members and, once
///   answered, their results, in the same order, and an item lists the requests it
///   was sent in (`sent_in`), which is how its history is found.
/// - Only unanswered requests are indexed by run (recovery looks for them).
///
/// SQLite cannot change a CHECK in place, so the table is rebuilt (SQLite's documented
/// procedure: new table, copy, drop, rename, indexes). [`migrate`] runs every step with
/// foreign keys off (otherwise dropping the old table would cascade into the tables
/// that point at it) and checks them before committing. Ids are kept, so everything
/// that points at an item still does. Any later step that adds a column to `items`
/// must come after this one.
const V6_NARROW_ITEMS: &str = r#"
CREATE TABLE item_inputs (
    item_id       INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    payload       TEXT NOT NULL,
    issues        TEXT NOT NULL,
    cells         TEXT       -- JSON array of the row's cells as text; NULL if not kept
);
INSERT INTO item_inputs (item_id, payload, issues, cells)
    SELECT id, payload, issues, cells FROM items;

CREATE TABLE items_v4 (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    row           INTEGER NOT NULL,
    key           TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (
                    state = 'invalid' OR state = 'pending' OR state = 'in_flight'
                    OR state = 'created' OR state = 'exists_before_run'
                    OR state = 'exists_id_unknown' OR state = 'rejected'
                    OR state = 'failed' OR state = 'skipped' OR state = 'done'),
    attempts      INTEGER NOT NULL DEFAULT 0,
    connectpay_id TEXT,
    fee           TEXT,      -- decimal as text, never REAL
    status_code   TEXT,
    description   TEXT,
    last_error    TEXT,
    id_source     TEXT,
    -- The requests the item was sent in, oldest first ("3,17"); NULL if none.
    sent_in       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (run_id, row)
);
INSERT INTO items_v4 (id, run_id, row, key, state, attempts, connectpay_id, fee,
                      status_code, description, last_error, id_source, sent_in,
                      created_at, updated_at)
    SELECT id, run_id, row, key, state, attempts, connectpay_id, fee, status_code,
           description, last_error, id_source,
           (SELECT group_concat(batch_id, ',' ORDER BY batch_id) FROM attempts
            WHERE item_id = items.id),
           created_at, updated_at
    FROM items;
DROP TABLE items;
ALTER TABLE items_v4 RENAME TO items;
CREATE INDEX items_run_state ON items(run_id, state, row);
CREATE INDEX items_run_key ON items(run_id, key);
CREATE INDEX items_key ON items(key);

-- A request's members, in the order sent (JSON array of item ids), and once it is
-- answered their results, in the same order (JSON array of [result, status_code,
-- description, error]): an item's attempt is its place in both. The `attempts` table
-- (one row per item per request, two B-tree entries and two foreign-key look-ups
-- each) is folded into them; an item finds its requests through `sent_in`.
ALTER TABLE batches ADD COLUMN members TEXT;
ALTER TABLE batches ADD COLUMN results TEXT;
UPDATE batches SET
    members = (SELECT json_group_array(item_id ORDER BY position)
               FROM attempts WHERE batch_id = batches.id),
    results = CASE WHEN finished_at IS NULL THEN NULL ELSE
              (SELECT json_group_array(json_array(result, status_code, description, error)
                                       ORDER BY position)
               FROM attempts WHERE batch_id = batches.id) END;
DROP TABLE attempts;
-- Only unanswered requests are looked up by run (to close them after a crash): the
-- index holds just those, so answering a request deletes an entry instead of moving it.
DROP INDEX batches_run_open;
CREATE INDEX batches_open ON batches(run_id) WHERE finished_at IS NULL;
"#;

/// Step 7: from it on, `batches.response_body` may hold a zlib-compressed blob (see
/// `journal::body`); the version moves so that a program of an earlier version refuses
/// the file ("written by a newer version") instead of failing on the first compressed
/// body it reads. And the state index carries the attempt count, so a run's counts
/// (`run_totals`: by state, and how many were ever sent) are read from the index alone
/// instead of every row; a request changes an item's state and attempts together, so
/// the index is written no more often than before.
const V7_COMPRESSED_BODIES: &str = r#"
-- batches.response_body: text, or a zlib-compressed blob of a body of 2 KB or more.
DROP INDEX items_run_state;
CREATE INDEX items_run_state ON items(run_id, state, row, attempts);
"#;

/// Every migration step, in order.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3_REPORTS,
    V4_AUDIT,
    V5_OPERATIONS,
    V6_NARROW_ITEMS,
    V7_COMPRESSED_BODIES,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file up to [`SCHEMA_VERSION`], one transaction per step, so that a crash
/// mid-migration leaves the file at the last completed version. Refuses a newer file.
///
/// Steps run with foreign keys off, as SQLite's procedure for rebuilding a table asks
/// (a dropped table must not cascade into the tables that point at it), and each is
/// committed only if `foreign_key_check` then finds nothing out of place. Foreign keys
/// are on again afterwards, whatever happened.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
    // The pragma is a no-op inside a transaction: set it before the steps begin.
    conn.pragma_update(None, "foreign_keys", "OFF")
        .ctx("turning foreign keys off to migrate")?;
    let migrated = migrate_steps(conn, path);
    let restored = conn
        .pragma_update(None, "foreign_keys", "ON")
        .ctx("turning foreign keys back on");
    migrated.and(restored)
}

fn migrate_steps(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
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
        check_foreign_keys(&tx, index + 1)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .ctx("recording the schema version")?;
        tx.commit().ctx("committing a schema migration")?;
    }
    Ok(())
}

/// Refuses a migration step that left a row pointing at nothing.
fn check_foreign_keys(tx: &Connection, version: usize) -> Result<(), JournalError> {
    let broken: Option<(String, i64, String)> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                r.get(2)?,
            ))
        })
        .optional()
        .ctx("checking foreign keys after a migration")?;
    match broken {
        None => Ok(()),
        Some((table, rowid, parent)) => Err(JournalError::Corrupt {
            detail: format!(
                "after migrating to schema version {version}, row {rowid} of {table} \
                 points at a missing row of {parent}; the migration was not committed"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::journal::{BatchId, INTERRUPTED_OUTCOME, ItemId, ItemState, Journal, RunId};

    /// A file left at `version` by an older program, with a run mid-way: one item
    /// answered, one in flight, one pending, each with its payload and cells.
    fn old_file(dir: &Path, version: usize) -> std::path::PathBuf {
        let path = dir.join("old.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for step in &MIGRATIONS[..version] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn.execute_batch(
            r#"
            INSERT INTO runs (id, kind, source_file, source_sha256, merchant_id, base_url,
                              state, created_at, updated_at, columns)
                VALUES (7, 'orders', 'a.xlsx', '00', 'M', 'http://x', 'running',
                        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
                        '["OrderNumber","Amount"]');
            INSERT INTO items (id, run_id, row, key, payload, issues, state, connectpay_id,
                               fee, status_code, description, attempts, last_error,
                               created_at, updated_at, cells, id_source)
                VALUES
                (11, 7, 2, 'INV-1', '{"order_number":"INV-1"}', '[]', 'created',
                 '00342000600028', '60.00', '00', 'created', 1, NULL,
                 '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z',
                 '["INV-1","100"]', NULL),
                (12, 7, 3, 'INV-2', '{"order_number":"INV-2"}', '[{"x":1}]', 'in_flight',
                 NULL, NULL, NULL, NULL, 2, 'transport: timeout',
                 '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:02.000Z',
                 '["INV-2","200"]', 'report'),
                (13, 7, 4, 'INV-3', '{"order_number":"INV-3"}', '[]', 'pending',
                 NULL, NULL, NULL, NULL, 0, NULL,
                 '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', NULL, NULL);
            INSERT INTO batches (id, run_id, endpoint, item_count, started_at, finished_at,
                                 outcome)
                VALUES (1, 7, '/cpay/co', 2, '2026-01-01T00:00:00.500Z',
                        '2026-01-01T00:00:01.000Z', 'ok'),
                       (2, 7, '/cpay/co', 1, '2026-01-01T00:00:01.500Z', NULL, NULL);
            INSERT INTO attempts (batch_id, item_id, position, result, status_code)
                VALUES (1, 11, 0, 'created', '00'), (1, 12, 1, 'retry', NULL),
                       (2, 12, 0, NULL, NULL);
            "#,
        )
        .unwrap();
        path
    }

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn narrowing_items_keeps_every_item_its_inputs_and_its_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_file(dir.path(), 3);
        let j = Journal::open(&path).unwrap();
        let settings = j.settings().unwrap();
        assert_eq!(settings.schema_version, SCHEMA_VERSION);
        assert!(
            settings.foreign_keys,
            "foreign keys are on again after migrating"
        );

        let items = j.items(RunId(7), None).unwrap();
        let got: Vec<_> = items
            .iter()
            .map(|i| {
                (
                    i.id,
                    i.row,
                    i.key.as_str(),
                    i.state,
                    i.attempts,
                    i.connectpay_id.as_deref(),
                    i.last_error.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    ItemId(11),
                    2,
                    "INV-1",
                    ItemState::Created,
                    1,
                    Some("00342000600028"),
                    None
                ),
                (
                    ItemId(12),
                    3,
                    "INV-2",
                    ItemState::InFlight,
                    2,
                    None,
                    Some("transport: timeout")
                ),
                (ItemId(13), 4, "INV-3", ItemState::Pending, 0, None, None),
            ]
        );
        assert_eq!(items[0].fee, Some(rust_decimal::Decimal::new(6000, 2)));
        assert_eq!(
            items[1].payload,
            serde_json::json!({"order_number": "INV-2"})
        );
        assert_eq!(items[1].issues, serde_json::json!([{"x": 1}]));
        assert_eq!(
            items[1].updated_at.to_rfc3339(),
            "2026-01-01T00:00:02+00:00"
        );
        // Every attempt is in its item's history, at its place in its request, with
        // its result; the older program's unanswered request with none yet.
        let before = j.item_attempts(ItemId(12)).unwrap();
        assert_eq!(before.len(), 2, "{before:?}");
        assert_eq!(
            (
                before[0].batch,
                before[0].position,
                before[0].result.as_deref()
            ),
            (BatchId(1), 1, Some("retry"))
        );
        assert_eq!((before[1].position, before[1].result.as_deref()), (0, None));
        let answered = j.item_attempts(ItemId(11)).unwrap();
        assert_eq!(answered.len(), 1);
        assert_eq!(
            (
                answered[0].position,
                answered[0].result.as_deref(),
                answered[0].status_code.as_deref()
            ),
            (0, Some("created"), Some("00"))
        );
        assert!(j.item_attempts(ItemId(13)).unwrap().is_empty());
        // That request is closed like one of this program's when the run is resumed.
        let lock = j.lock_run(RunId(7)).unwrap();
        let recovery = j.recover(RunId(7)).unwrap();
        assert_eq!((recovery.items_reset, recovery.batches_closed), (1, 1));
        let after = j.item_attempts(ItemId(12)).unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(after[1].result.as_deref(), Some("interrupted"));
        assert_eq!(after[1].error.as_deref(), Some(INTERRUPTED_OUTCOME));
        assert!(after[1].finished_at.is_some());
        lock.release().unwrap();
        drop(j);

        let conn = Connection::open(&path).unwrap();
        let cells: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT item_id, cells FROM item_inputs ORDER BY item_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            cells,
            [
                (11, Some(r#"["INV-1","100"]"#.to_string())),
                (12, Some(r#"["INV-2","200"]"#.to_string())),
                (13, None)
            ]
        );
        let id_source: Option<String> = conn
            .query_row("SELECT id_source FROM items WHERE id = 12", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(id_source.as_deref(), Some("report"));
        // Every column of the old table is in exactly one of the two.
        let mut now = columns(&conn, "items");
        now.extend(columns(&conn, "item_inputs"));
        now.retain(|c| c != "item_id" && c != "sent_in");
        now.sort();
        let mut was = [
            "id",
            "run_id",
            "row",
            "key",
            "payload",
            "issues",
            "state",
            "connectpay_id",
            "fee",
            "status_code",
            "description",
            "attempts",
            "last_error",
            "created_at",
            "updated_at",
            "cells",
            "id_source",
        ];
        was.sort_unstable();
        assert_eq!(now, was);
        // The attempts are in their requests' rows and their items' lists.
        assert!(columns(&conn, "attempts").is_empty(), "the table is gone");
        let requests: Vec<(Option<String>, Option<String>)> = conn
            .prepare("SELECT members, results FROM batches ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let interrupted = format!(r#"[["interrupted",null,null,"{INTERRUPTED_OUTCOME}"]]"#);
        assert_eq!(
            requests,
            [
                (
                    Some("[11,12]".to_string()),
                    Some(r#"[["created","00",null,null],["retry",null,null,null]]"#.to_string())
                ),
                (Some("[12]".to_string()), Some(interrupted)),
            ]
        );
        let sent_in: Vec<Option<String>> = conn
            .prepare("SELECT sent_in FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sent_in, [Some("1".into()), Some("1,2".into()), None]);
        // The state check accepts exactly what it did.
        for state in ItemState::ALL {
            conn.execute(
                "UPDATE items SET state = ?1 WHERE id = 13",
                [state.as_str()],
            )
            .unwrap();
        }
        let refused = conn.execute("UPDATE items SET state = 'sent' WHERE id = 13", []);
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn a_step_that_would_leave_a_dangling_row_is_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_file(dir.path(), 3);
        {
            // A request of a run that is gone (written with foreign keys off).
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
            conn.execute(
                "INSERT INTO batches (id, run_id, endpoint, item_count, started_at)
                 VALUES (3, 99, '/cpay/co', 0, '2026-01-01T00:00:00.000Z')",
                [],
            )
            .unwrap();
        }
        let err = Journal::open(&path).unwrap_err();
        assert!(
            matches!(&err, JournalError::Corrupt { detail } if detail.contains("batches")),
            "{err:?}"
        );
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(
            version, 3,
            "the file stays at the last version that completed"
        );
        assert!(columns(&conn, "items").contains(&"payload".to_string()));
    }

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
        // Nothing was lost: the item and its attempt are still there (the attempt as
        // its place in its request's members, the request in the item's list).
        let kept: (String, String) = conn
            .query_row(
                "SELECT b.members, i.sent_in FROM batches b, items i
                 WHERE b.id = 1 AND i.id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(kept, ("[1]".to_string(), "1".to_string()));
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
