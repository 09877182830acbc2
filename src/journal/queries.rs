//! What faces read, without ever loading a whole run: a run's items a page at a time
//! (filtered by state and text, in row order, resuming after the last row seen),
//! counts done in SQL, one item's requests with what the server answered, one key
//! across every run, and the engine's pages of pending items.
//!
//! Paging is by row ("after row N"), never by offset, so a page costs the same at row
//! 100,000 as at row 1: every query here walks an index in row order and stops after
//! `limit` rows.

use super::batches::{attempt_from_row, item_attempts_sql};
use super::body::ReadBody;
use super::error::{Context, JournalError};
use super::items::{ITEM_COLUMNS, ITEM_TABLES, item_from_row};
use super::model::{AttemptInfo, Item, ItemId, ItemState, Run, RunId, StateCounts};
use super::{Journal, to_u32};
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use serde::Serialize;

/// Which of a run's items a face wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only items in these states; empty means every state.
    pub states: Vec<ItemState>,
    /// Only items whose key, ConnectPayId, server message or last error contains this
    /// (case-insensitive for ASCII), or whose row number it is.
    pub text: Option<String>,
}

impl ItemFilter {
    pub fn all() -> ItemFilter {
        ItemFilter::default()
    }

    pub fn state(state: ItemState) -> ItemFilter {
        ItemFilter {
            states: vec![state],
            text: None,
        }
    }

    fn text(&self) -> Option<&str> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

/// A run's counts by state, and how many of its items were ever sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunTotals {
    pub counts: StateCounts,
    /// Items sent at least once (in any drive of the run).
    pub sent: u64,
}

/// One of an item's requests, with the (redacted, capped) body the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptDetail {
    pub attempt: AttemptInfo,
    pub response_body: Option<String>,
}

/// A key found in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyHit {
    pub run: Run,
    pub item: Item,
}

/// A pending item as the engine reads it to send: the payload stays text until the
/// engine parses it into what it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingItem {
    pub id: ItemId,
    pub row: u32,
    pub key: String,
    pub payload: String,
    /// Sends that may have reached the server before (an earlier drive's, or one a
    /// crash left in flight): a mark run reads "already Paid" after them as its own.
    pub attempts: u32,
}

/// `%text%` for LIKE, with the pattern characters of the text taken literally.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The WHERE clause (after `run_id = ?1`) and its parameters for a filter, with at most
/// one state (several states are queried one by one, see [`Journal::items_page`]).
fn conditions(state: Option<ItemState>, text: Option<&str>, params: &mut Vec<Value>) -> String {
    let mut sql = String::new();
    if let Some(state) = state {
        params.push(Value::Text(state.as_str().to_string()));
        sql.push_str(&format!(" AND state = ?{}", params.len()));
    }
    if let Some(text) = text {
        params.push(Value::Text(like_pattern(text)));
        let p = params.len();
        let mut any = format!(
            "key LIKE ?{p} ESCAPE '\\' OR connectpay_id LIKE ?{p} ESCAPE '\\' \
             OR description LIKE ?{p} ESCAPE '\\' OR last_error LIKE ?{p} ESCAPE '\\'"
        );
        if let Ok(row) = text.parse::<u32>() {
            params.push(Value::Integer(i64::from(row)));
            any.push_str(&format!(" OR row = ?{}", params.len()));
        }
        sql.push_str(&format!(" AND ({any})"));
    }
    sql
}

impl Journal {
    /// Up to `limit` items of `run` matching `filter`, in row order, starting after row
    /// `after` (`None`: from the first row). The next page starts after the last row of
    /// this one.
    pub fn items_page(
        &self,
        run: RunId,
        filter: &ItemFilter,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<Item>, JournalError> {
        let mut states = filter.states.clone();
        states.sort_by_key(|s| s.as_str());
        states.dedup();
        if states.len() <= 1 {
            return self.items_page_one(run, states.first().copied(), filter.text(), after, limit);
        }
        // Each state's items come from its own walk of the (run, state, row) index, so a
        // page of a rare state among 100,000 rows is as quick as one of a common state;
        // the pages are merged by row.
        let mut merged = Vec::new();
        for state in states {
            merged.extend(self.items_page_one(run, Some(state), filter.text(), after, limit)?);
        }
        merged.sort_by_key(|item| item.row);
        merged.truncate(limit);
        Ok(merged)
    }

    fn items_page_one(
        &self,
        run: RunId,
        state: Option<ItemState>,
        text: Option<&str>,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<Item>, JournalError> {
        let mut params = vec![
            Value::Integer(run.0),
            Value::Integer(after.map_or(-1, i64::from)),
        ];
        let more = conditions(state, text, &mut params);
        params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES} WHERE run_id = ?1 AND row > ?2{more}
             ORDER BY row LIMIT ?{}",
            params.len()
        );
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql).ctx("reading a page of items")?;
        stmt.query_map(params_from_iter(params), item_from_row)
            .ctx("reading a page of items")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading a page of items")
    }

    /// How many items of `run` match `filter` (for "page 3 of 40" and the counters of a
    /// filtered table).
    pub fn items_count(&self, run: RunId, filter: &ItemFilter) -> Result<u64, JournalError> {
        let mut params = vec![Value::Integer(run.0)];
        let mut sql = String::from("SELECT COUNT(*) FROM items WHERE run_id = ?1");
        if !filter.states.is_empty() {
            let mut marks = Vec::new();
            for state in &filter.states {
                params.push(Value::Text(state.as_str().to_string()));
                marks.push(format!("?{}", params.len()));
            }
            sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
        }
        sql.push_str(&conditions(None, filter.text(), &mut params));
        let conn = self.conn();
        let n: i64 = conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(params), |r| r.get(0)))
            .ctx("counting items")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A run's counts by state and how many of its items were ever sent, in one query.
    pub fn run_totals(&self, run: RunId) -> Result<RunTotals, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT state, COUNT(*), SUM(attempts > 0) FROM items
                 WHERE run_id = ?1 GROUP BY state",
            )
            .ctx("counting items")?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .ctx("counting items")?;
        let mut totals = RunTotals::default();
        for row in rows {
            let (state, n, sent) = row.ctx("counting items")?;
            totals.counts.add(state, u64::try_from(n).unwrap_or(0));
            totals.sent += u64::try_from(sent).unwrap_or(0);
        }
        Ok(totals)
    }

    /// The items of `run` with this key (a key repeated in a sheet is journaled once
    /// per row), in row order.
    pub fn items_by_key(&self, run: RunId, key: &str) -> Result<Vec<Item>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES}
                 WHERE run_id = ?1 AND key = ?2 ORDER BY row"
            ))
            .ctx("finding a key")?;
        stmt.query_map(rusqlite::params![run.0, key.trim()], item_from_row)
            .ctx("finding a key")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("finding a key")
    }

    /// Every item with this key (order number, consumer id) in every run, oldest run
    /// first, each with its run: "what happened to order INV-0201?".
    pub fn find_key(&self, key: &str) -> Result<Vec<KeyHit>, JournalError> {
        let items = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ITEM_COLUMNS} FROM {ITEM_TABLES}
                     WHERE key = ?1 ORDER BY run_id, row"
                ))
                .ctx("finding a key")?;
            stmt.query_map([key.trim()], item_from_row)
                .ctx("finding a key")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("finding a key")?
        };
        let mut hits: Vec<KeyHit> = Vec::with_capacity(items.len());
        for item in items {
            let run = match hits.last() {
                Some(hit) if hit.run.id == item.run => hit.run.clone(),
                _ => self.run(item.run)?.ok_or_else(|| JournalError::Corrupt {
                    detail: format!(
                        "item {} belongs to run {}, which is missing",
                        item.id, item.run
                    ),
                })?,
            };
            hits.push(KeyHit { run, item });
        }
        Ok(hits)
    }

    /// Every request an item was part of, oldest first, with the body of each answer.
    /// A body the file holds damaged is shown as a note saying so: the rest of the
    /// item's history is still worth reading.
    pub fn item_history(&self, item: ItemId) -> Result<Vec<AttemptDetail>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&item_attempts_sql(", b.response_body"))
            .ctx("reading an item's requests")?;
        stmt.query_map([item.0], |r| {
            Ok(AttemptDetail {
                attempt: attempt_from_row(r)?,
                response_body: match r.get::<_, ReadBody>(13) {
                    Ok(body) => body.0,
                    Err(rusqlite::Error::FromSqlConversionFailure(_, _, why)) => {
                        Some(format!("[not shown: {why}]"))
                    }
                    Err(e) => return Err(e),
                },
            })
        })
        .ctx("reading an item's requests")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading an item's requests")
    }

    /// Up to `limit` pending items of `run` after row `after`, in row order: what the
    /// engine sends next, read a few batches at a time so that it never holds a copy
    /// of the run.
    pub fn pending_page(
        &self,
        run: RunId,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<PendingItem>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, row, key, payload, attempts FROM items
                 JOIN item_inputs ON item_id = id
                 WHERE run_id = ?1 AND state = 'pending' AND row > ?2
                 ORDER BY row LIMIT ?3",
            )
            .ctx("reading items to send")?;
        stmt.query_map(
            rusqlite::params![
                run.0,
                after.map_or(-1, i64::from),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(PendingItem {
                    id: ItemId(r.get(0)?),
                    row: to_u32(r.get(1)?)?,
                    key: r.get(2)?,
                    payload: r.get(3)?,
                    attempts: to_u32(r.get(4)?)?,
                })
            },
        )
        .ctx("reading items to send")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading items to send")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_the_text_literally() {
        assert_eq!(like_pattern("INV-02"), "%INV-02%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn conditions_number_their_parameters_after_the_fixed_ones() {
        let mut params = vec![Value::Integer(1), Value::Integer(-1)];
        let sql = conditions(Some(ItemState::Failed), Some("17"), &mut params);
        assert!(sql.contains("state = ?3"), "{sql}");
        assert!(sql.contains("key LIKE ?4"), "{sql}");
        assert!(sql.contains("row = ?5"), "{sql}");
        assert_eq!(params.len(), 5);
        let mut params = vec![Value::Integer(1)];
        assert_eq!(conditions(None, None, &mut params), "");
    }
}
