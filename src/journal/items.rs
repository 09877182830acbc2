//! Items: journaling a run's rows, reading them back, and the cross-run guard that
//! finds keys already created by an earlier run of the same merchant.

use super::error::{Context, JournalError};
use super::model::{Item, ItemId, ItemState, NewItem, PriorCreation, RunId};
use super::{Journal, now_text, parse_json, parse_time, to_u32};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::HashMap;

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

/// The states in which a key counts as created at PayPro by a run of ours.
const CREATED_STATES: &str = "'created', 'exists_id_unknown', 'exists_before_run'";

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
    /// same `kind` for the same merchant, if any (preferring one with a ConnectPayId,
    /// then the earliest).
    pub fn created_elsewhere(
        &self,
        kind: &str,
        merchant_id: &str,
        key: &str,
        except_run: Option<RunId>,
    ) -> Result<Option<PriorCreation>, JournalError> {
        Ok(self
            .created_elsewhere_many(kind, merchant_id, [key], except_run)?
            .remove(key))
    }

    /// Cross-run guard for a whole sheet at once (one query over a temporary table, so
    /// 20,000 keys cost one pass). Returns only the keys that were created before.
    pub fn created_elsewhere_many<I>(
        &self,
        kind: &str,
        merchant_id: &str,
        keys: I,
        except_run: Option<RunId>,
    ) -> Result<HashMap<String, PriorCreation>, JournalError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut conn = self.conn();
        // The temp table lives in the connection's temp database, never in the file,
        // and is emptied before and after use.
        let tx = conn.transaction().ctx("checking earlier runs")?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS guard_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.guard_keys;",
        )
        .ctx("checking earlier runs")?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO temp.guard_keys (key) VALUES (?1)")
                .ctx("checking earlier runs")?;
            for key in keys {
                insert
                    .execute([key.as_ref()])
                    .ctx("checking earlier runs")?;
            }
        }
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
                     ORDER BY i.key, (i.connectpay_id IS NULL), i.run_id, i.row"
                ))
                .ctx("checking earlier runs")?;
            let rows = stmt
                .query_map(params![merchant_id, kind, except_run.map(|r| r.0)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        PriorCreation {
                            run: RunId(r.get(1)?),
                            row: to_u32(r.get(2)?)?,
                            connectpay_id: r.get(3)?,
                            state: r.get(4)?,
                        },
                    ))
                })
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
