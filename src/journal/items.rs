//! Items: journaling a run's rows, reading them back, and the cross-run guard. The
//! guard compares a key only with runs of the same kind, merchant *and* service (base
//! URL, with or without a trailing slash): a sandbox run says nothing about production.
//! It finds keys an earlier run created ([`Journal::created_elsewhere_many`]) and keys
//! another unfinished run holds pending or in flight ([`Journal::held_elsewhere`],
//! and inside the creation of a run, `check_holds`).

use super::error::{Context, JournalError};
use super::lock::read_holder;
use super::model::{Item, ItemId, ItemState, NewItem, NewRun, PriorCreation, RunId, RunState};
use super::{Journal, LockHolder, now_text, parse_json, parse_time, to_u32};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::HashMap;
use std::fmt;

/// Runs whose rows another run must not send: not finished (open, running,
/// interrupted, or stopped for its credentials).
const UNFINISHED_RUNS: &str = "'open', 'running', 'interrupted', 'stopped_auth'";

/// Rows of a new sheet that another run of the same merchant, kind and service has
/// in hand: pending or in flight in a run that is not finished (`rows`), or created
/// since the sheet was planned (`created`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHold {
    pub run: RunId,
    pub state: RunState,
    /// Rows it holds pending or in flight.
    pub rows: u64,
    /// Rows it created after the plan was shown (found only when the run is
    /// journaled).
    pub created: u64,
    /// Its lock holder, if any.
    pub holder: Option<LockHolder>,
}

impl fmt::Display for RunHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = self.run;
        if self.rows > 0 {
            write!(f, "run {run} holds {} of these rows and is ", self.rows)?;
            match (self.state, &self.holder) {
                (RunState::StoppedAuth, _) => write!(
                    f,
                    "stopped (PayPro refused the credentials): fix the password, then resume {run}"
                )?,
                (_, Some(h)) => write!(
                    f,
                    "held by process {} on host {}: let it finish (or, once it is gone, resume {run})",
                    h.pid, h.host
                )?,
                (state, None) => write!(f, "{state}: resume {run}")?,
            }
        }
        if self.created > 0 {
            if self.rows > 0 {
                f.write_str("; it also ")?;
            } else {
                write!(f, "run {run} ")?;
            }
            write!(
                f,
                "created {} of these rows after the preview was made: submit again to see them skipped",
                self.created
            )?;
        }
        Ok(())
    }
}

/// Fills the connection's temporary key table with `keys` (emptied first).
fn load_guard_keys<I>(tx: &Connection, keys: I) -> Result<(), JournalError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    // The temp table lives in the connection's temp database, never in the file.
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS guard_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM temp.guard_keys;",
    )
    .ctx("checking earlier runs")?;
    let mut insert = tx
        .prepare_cached("INSERT OR IGNORE INTO temp.guard_keys (key) VALUES (?1)")
        .ctx("checking earlier runs")?;
    for key in keys {
        insert
            .execute([key.as_ref()])
            .ctx("checking earlier runs")?;
    }
    Ok(())
}

/// Groups per run the rows of `sql`'s answer (run id, state, held rows, created rows)
/// and names each run's lock holder when it still drives the run (`alive`); a run
/// left `running` by a holder that has ended is reported as interrupted, which it is.
fn holds_from(
    tx: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    alive: &dyn Fn(RunId, &LockHolder) -> bool,
) -> Result<Vec<RunHold>, JournalError> {
    let found: Vec<(i64, RunState, i64, i64)> = {
        let mut stmt = tx.prepare_cached(sql).ctx("checking other runs")?;
        stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .ctx("checking other runs")?
            .collect::<rusqlite::Result<_>>()
            .ctx("checking other runs")?
    };
    let mut out = Vec::with_capacity(found.len());
    for (run, state, rows, created) in found {
        let run = RunId(run);
        let holder = read_holder(tx, run)?.flatten().filter(|h| alive(run, h));
        let state = match state {
            RunState::Running if holder.is_none() => RunState::Interrupted,
            other => other,
        };
        out.push(RunHold {
            run,
            state,
            rows: u64::try_from(rows).unwrap_or(0),
            created: u64::try_from(created).unwrap_or(0),
            holder,
        });
    }
    Ok(out)
}

/// Inside the creation of `run` (its rows written, the transaction open): refuses it
/// when another run of the same merchant, kind and service (`base_url`, as stored)
/// holds one of its pending rows' keys pending or in flight and is not finished, or
/// created one (after the plan, since the plan skipped those it knew of).
pub(crate) fn check_holds(
    tx: &Connection,
    run: RunId,
    new: &NewRun,
    base_url: &str,
    alive: &dyn Fn(RunId, &LockHolder) -> bool,
) -> Result<(), JournalError> {
    let holds = holds_from(
        tx,
        &format!(
            "SELECT o.run_id, r.state,
                    SUM(o.state IN ('pending', 'in_flight')),
                    SUM(o.state IN ({CREATED_STATES}))
             FROM items n
             JOIN items o ON o.key = n.key AND o.run_id <> n.run_id
             JOIN runs r ON r.id = o.run_id
             WHERE n.run_id = ?1 AND n.state = 'pending'
               AND r.merchant_id = ?2 AND r.kind = ?3
               AND rtrim(trim(r.base_url), '/') = rtrim(trim(?4), '/')
               AND ((o.state IN ('pending', 'in_flight') AND r.state IN ({UNFINISHED_RUNS}))
                    OR o.state IN ({CREATED_STATES}))
             GROUP BY o.run_id, r.state ORDER BY o.run_id"
        ),
        &[&run.0, &new.merchant_id, &new.kind, &base_url],
        alive,
    )?;
    if holds.is_empty() {
        Ok(())
    } else {
        Err(JournalError::HeldByOtherRuns { holds })
    }
}

/// The columns [`item_from_row`] reads, from [`ITEM_TABLES`].
pub(crate) const ITEM_COLUMNS: &str = "id, run_id, row, key, payload, issues, state, \
     connectpay_id, fee, status_code, description, attempts, last_error, created_at, updated_at";

/// An item whole: its changing part (`items`) with what the sheet said of it
/// (`item_inputs`, written once). No column name is in both, so conditions on either
/// need no table name.
pub(crate) const ITEM_TABLES: &str = "items JOIN item_inputs ON item_id = id";

pub(crate) fn item_from_row(r: &Row<'_>) -> rusqlite::Result<Item> {
    let fee: Option<String> = r.get(8)?;
    Ok(Item {
        id: ItemId(r.get(0)?),
        run: RunId(r.get(1)?),
        row: to_u32(r.get(2)?)?,
        key: r.get(3)?,
        payload: parse_json(&r.get::<_, String>(4)?)?,
        issues: parse_json(&r.get::<_, String>(5)?)?,
        state: r.get(6)?,
        connectpay_id: r.get(7)?,
        fee: fee
            .map(|f| {
                f.parse().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        8,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })
            .transpose()?,
        status_code: r.get(9)?,
        description: r.get(10)?,
        attempts: to_u32(r.get(11)?)?,
        last_error: r.get(12)?,
        created_at: parse_time(&r.get::<_, String>(13)?)?,
        updated_at: parse_time(&r.get::<_, String>(14)?)?,
    })
}

/// The states in which a key counts as created at PayPro by a run of ours (for a mark
/// run: as done, marked or refunded).
const CREATED_STATES: &str = "'created', 'exists_id_unknown', 'exists_before_run', 'done'";

/// Refuses an item in a state items are not born in.
pub(crate) fn check_new_item(item: &NewItem) -> Result<(), JournalError> {
    if item.state.is_initial() {
        Ok(())
    } else {
        Err(JournalError::InvalidNewItem {
            row: item.row,
            state: item.state,
        })
    }
}

/// Inserts a run's rows inside the caller's transaction, one at a time as `items`
/// yields them; an item in a state items are not born in, a duplicate row or an item
/// that fails to come fails it (the caller rolls back).
pub(crate) fn insert_items<I, E>(
    tx: &Connection,
    run: RunId,
    items: I,
    now: &str,
) -> Result<Vec<ItemId>, E>
where
    I: IntoIterator<Item = Result<NewItem, E>>,
    E: From<JournalError>,
{
    insert_items_with_cells(
        tx,
        run,
        items.into_iter().map(|i| i.map(|i| (i, None))),
        now,
    )
}

/// [`insert_items`] with each row's cells as the clerk typed them (kept for the run's
/// results files), when the sheet's cells were read.
pub(crate) fn insert_items_with_cells<I, E>(
    tx: &Connection,
    run: RunId,
    items: I,
    now: &str,
) -> Result<Vec<ItemId>, E>
where
    I: IntoIterator<Item = Result<(NewItem, Option<Vec<String>>), E>>,
    E: From<JournalError>,
{
    let items = items.into_iter();
    let mut ids = Vec::with_capacity(items.size_hint().0);
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO items (run_id, row, key, state, attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
        )
        .ctx("journaling items")?;
    let mut inputs = tx
        .prepare_cached(
            "INSERT INTO item_inputs (item_id, payload, issues, cells) VALUES (?1, ?2, ?3, ?4)",
        )
        .ctx("journaling items")?;
    for item in items {
        let (item, cells) = item?;
        check_new_item(&item)?;
        let issues = if item.issues.is_null() {
            "[]".to_string()
        } else {
            item.issues.to_string()
        };
        let cells = cells.map(|c| serde_json::Value::from(c).to_string());
        insert
            .execute(params![run.0, item.row, item.key, item.state, now])
            .ctx("journaling items")?;
        let id = tx.last_insert_rowid();
        inputs
            .execute(params![id, item.payload.to_string(), issues, cells])
            .ctx("journaling items")?;
        ids.push(ItemId(id));
    }
    Ok(ids)
}

impl Journal {
    /// Journals a run's rows in one transaction (all or none). Each item's state must
    /// be `pending`, `invalid` or `skipped`; rows must be unique within the run.
    pub fn add_items(&self, run: RunId, items: &[NewItem]) -> Result<Vec<ItemId>, JournalError> {
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("journaling items")?;
        let exists: bool = tx
            .query_row("SELECT 1 FROM runs WHERE id = ?1", [run.0], |_| Ok(true))
            .optional()
            .ctx("journaling items")?
            .unwrap_or(false);
        if !exists {
            return Err(JournalError::NotFound {
                what: format!("run {run}"),
            });
        }
        let ids = insert_items(&tx, run, items.iter().cloned().map(Ok), &now)?;
        tx.commit().ctx("journaling items")?;
        Ok(ids)
    }

    /// A run's items in row order, optionally only those in one state.
    pub fn items(&self, run: RunId, filter: Option<ItemState>) -> Result<Vec<Item>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES}
                 WHERE run_id = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY row"
            ))
            .ctx("reading items")?;
        stmt.query_map(params![run.0, filter], item_from_row)
            .ctx("reading items")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading items")
    }

    /// What resume or a run sends next: the pending items, in row order.
    pub fn sendable_items(&self, run: RunId) -> Result<Vec<Item>, JournalError> {
        self.items(run, Some(ItemState::Pending))
    }

    pub fn item(&self, id: ItemId) -> Result<Option<Item>, JournalError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES} WHERE id = ?1"),
            [id.0],
            item_from_row,
        )
        .optional()
        .ctx("reading an item")
    }

    /// The item journaled for a spreadsheet row (as Excel numbers it).
    pub fn item_by_row(&self, run: RunId, row: u32) -> Result<Option<Item>, JournalError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES} WHERE run_id = ?1 AND row = ?2"),
            params![run.0, row],
            item_from_row,
        )
        .optional()
        .ctx("reading an item")
    }

    /// Cross-run guard for one key: the earlier creation of `key` by another run of the
    /// same `kind` for the same merchant at the same service, if any (preferring one
    /// with a ConnectPayId, then the earliest).
    pub fn created_elsewhere(
        &self,
        kind: &str,
        merchant_id: &str,
        base_url: &str,
        key: &str,
        except_run: Option<RunId>,
    ) -> Result<Option<PriorCreation>, JournalError> {
        Ok(self
            .created_elsewhere_many(kind, merchant_id, base_url, [key], except_run)?
            .remove(key))
    }

    /// The unfinished runs of the same `kind`, merchant and service that hold some of
    /// `keys` pending or in flight (what a new run of them must not send), in run
    /// order. One query over a temporary table.
    pub fn held_elsewhere<I>(
        &self,
        kind: &str,
        merchant_id: &str,
        base_url: &str,
        keys: I,
    ) -> Result<Vec<RunHold>, JournalError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let base_url = self.redact(base_url);
        let mut conn = self.conn();
        let tx = conn.transaction().ctx("checking other runs")?;
        load_guard_keys(&tx, keys)?;
        let holds = holds_from(
            &tx,
            &format!(
                "SELECT o.run_id, r.state, COUNT(*), 0
                 FROM temp.guard_keys g
                 JOIN items o ON o.key = g.key AND o.state IN ('pending', 'in_flight')
                 JOIN runs r ON r.id = o.run_id
                 WHERE r.merchant_id = ?1 AND r.kind = ?2
                   AND rtrim(trim(r.base_url), '/') = rtrim(trim(?3), '/')
                   AND r.state IN ({UNFINISHED_RUNS})
                 GROUP BY o.run_id, r.state ORDER BY o.run_id"
            ),
            &[&merchant_id, &kind, &base_url],
            &|run, h| self.liveness(run, h) != super::Liveness::Gone,
        )?;
        tx.execute_batch("DELETE FROM temp.guard_keys")
            .ctx("checking other runs")?;
        tx.commit().ctx("checking other runs")?;
        Ok(holds)
    }

    /// Cross-run guard for a whole sheet at once (one query over a temporary table, so
    /// 20,000 keys cost one pass): keys another run of the same `kind`, merchant and
    /// service (`base_url`) created. Returns only the keys that were created before.
    pub fn created_elsewhere_many<I>(
        &self,
        kind: &str,
        merchant_id: &str,
        base_url: &str,
        keys: I,
        except_run: Option<RunId>,
    ) -> Result<HashMap<String, PriorCreation>, JournalError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let base_url = self.redact(base_url);
        let mut conn = self.conn();
        let tx = conn.transaction().ctx("checking earlier runs")?;
        load_guard_keys(&tx, keys)?;
        let mut found: HashMap<String, PriorCreation> = HashMap::new();
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT i.key, i.run_id, i.row, i.connectpay_id, i.state
                     FROM temp.guard_keys g
                     JOIN items i ON i.key = g.key AND i.state IN ({CREATED_STATES})
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = ?2
                       AND (?3 IS NULL OR r.id <> ?3)
                       AND rtrim(trim(r.base_url), '/') = rtrim(trim(?4), '/')
                     ORDER BY i.key, (i.connectpay_id IS NULL), i.run_id, i.row"
                ))
                .ctx("checking earlier runs")?;
            let rows = stmt
                .query_map(
                    params![merchant_id, kind, except_run.map(|r| r.0), base_url],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            PriorCreation {
                                run: RunId(r.get(1)?),
                                row: to_u32(r.get(2)?)?,
                                connectpay_id: r.get(3)?,
                                state: r.get(4)?,
                            },
                        ))
                    },
                )
                .ctx("checking earlier runs")?;
            for row in rows {
                let (key, prior) = row.ctx("checking earlier runs")?;
                // Rows come best first per key.
                found.entry(key).or_insert(prior);
            }
        }
        tx.execute_batch("DELETE FROM temp.guard_keys")
            .ctx("checking earlier runs")?;
        tx.commit().ctx("checking earlier runs")?;
        Ok(found)
    }
}
