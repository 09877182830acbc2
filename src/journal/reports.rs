//! What the reports read from and write to the journal: filling in the ConnectPay ids
//! that lost answers left unknown (from a fetched paid-orders report), what the journal
//! knows about reported orders (customer name, refunds), and a run's rows for its
//! results files.
//!
//! Reconciliation rule: an order item in state `exists_id_unknown` of a run of the same
//! merchant at the same server whose order number the paid-orders report lists with a
//! ConnectPay Id becomes `created` with that id. Order numbers are unique per merchant
//! at PayPro, so the report's id is that order's id. Nothing else moves: the state
//! machine has exactly this one edge out of a settled state
//! (ARCHITECTURE.md: `exists_id_unknown ──► created`).

use super::error::{Context, JournalError};
use super::items::{ITEM_COLUMNS, ITEM_TABLES, item_from_row};
use super::model::{Item, ItemId, ItemState, RunId};
use super::{Journal, now_text, to_u32};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

/// One id filled in by [`Journal::fill_ids_from_report`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilledId {
    pub run: RunId,
    pub row: u32,
    pub order_number: String,
    pub connectpay_id: String,
}

/// What the journal knows about an order it may have created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownOrder {
    /// From the order as one of our runs sent it.
    pub customer_name: Option<String>,
    /// Sum of the refunds our runs made of it (refund runs' items that succeeded).
    pub refunded: Option<Decimal>,
}

/// The same base URL written with or without a trailing slash.
fn normalized_base(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

/// Fills a temporary key table (in the connection's temp database) with `keys`.
fn load_keys<'k>(
    tx: &Connection,
    keys: impl IntoIterator<Item = &'k str>,
    context: &'static str,
) -> Result<(), JournalError> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS report_keys (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
         DELETE FROM temp.report_keys;",
    )
    .ctx(context)?;
    let mut insert = tx
        .prepare_cached("INSERT OR IGNORE INTO temp.report_keys (key) VALUES (?1)")
        .ctx(context)?;
    for key in keys {
        insert.execute([key]).ctx(context)?;
    }
    Ok(())
}

impl Journal {
    /// Fills the ids a paid-orders report shows for items whose create answer was lost.
    ///
    /// `reported` is (order number, ConnectPay Id) as the report of `merchant_id` at
    /// `base_url` lists them; `source` says where the ids come from (it is recorded on
    /// each item, e.g. "paid-orders report fetched at …"). In one IMMEDIATE transaction
    /// every matching `exists_id_unknown` order item becomes `created` with its id; an
    /// item whose state changed meanwhile is left alone. Returns what was filled, in
    /// run and row order.
    pub fn fill_ids_from_report(
        &self,
        merchant_id: &str,
        base_url: &str,
        reported: &[(String, String)],
        source: &str,
    ) -> Result<Vec<FilledId>, JournalError> {
        const CTX: &str = "filling ids from a paid-orders report";
        let ids: HashMap<&str, &str> = reported
            .iter()
            .filter(|(_, id)| !id.trim().is_empty())
            .map(|(k, id)| (k.as_str(), id.as_str()))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let source = self.redact(source);
        let base = self.redact(normalized_base(base_url));
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(CTX)?;
        load_keys(&tx, ids.keys().copied(), CTX)?;
        let candidates: Vec<(i64, i64, u32, String, ItemState, Option<String>)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT i.id, i.run_id, i.row, i.key, i.state, i.description
                     FROM temp.report_keys k
                     JOIN items i ON i.key = k.key AND i.state = 'exists_id_unknown'
                     JOIN item_inputs p ON p.item_id = i.id
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = 'orders'
                       AND rtrim(trim(r.base_url), '/') = ?2
                     ORDER BY i.run_id, i.row",
                )
                .ctx(CTX)?;
            stmt.query_map(params![merchant_id, base], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    to_u32(r.get(2)?)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .ctx(CTX)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(CTX)?
        };
        let mut filled = Vec::with_capacity(candidates.len());
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE items SET state = 'created', connectpay_id = ?2, id_source = ?3,
                                      description = ?4, updated_at = ?5
                     WHERE id = ?1 AND state = 'exists_id_unknown'",
                )
                .ctx(CTX)?;
            for (item, run, row, key, state, description) in candidates {
                if !state.can_become(ItemState::Created) {
                    return Err(JournalError::InvalidTransition {
                        item: ItemId(item),
                        row,
                        from: state,
                        to: ItemState::Created,
                    });
                }
                let Some(id) = ids.get(key.as_str()) else {
                    continue;
                };
                // The clerk reads the description first: say where the id came from,
                // and keep what PayPro had answered.
                let note = match description.filter(|d| !d.trim().is_empty()) {
                    Some(d) => format!("ConnectPayId from the {source}; PayPro had answered: {d}"),
                    None => format!("ConnectPayId from the {source}"),
                };
                let n = update
                    .execute(params![item, id, source, note, now])
                    .ctx(CTX)?;
                if n == 1 {
                    filled.push(FilledId {
                        run: RunId(run),
                        row,
                        order_number: key,
                        connectpay_id: id.to_string(),
                    });
                }
            }
        }
        tx.execute_batch("DELETE FROM temp.report_keys").ctx(CTX)?;
        tx.commit().ctx(CTX)?;
        Ok(filled)
    }

    /// Where an item's ConnectPay id came from when not from the create answer
    /// (`None` for ids PayPro gave when creating).
    pub fn id_source(&self, item: ItemId) -> Result<Option<String>, JournalError> {
        let conn = self.conn();
        conn.query_row("SELECT id_source FROM items WHERE id = ?1", [item.0], |r| {
            r.get(0)
        })
        .ctx("reading an item")
    }

    /// What the journal knows about these order numbers of `merchant_id` at `base_url`:
    /// the customer name of the order as our runs sent it, and refunds our refund runs
    /// made. Order numbers the journal knows nothing of are absent.
    pub fn known_orders<'k>(
        &self,
        merchant_id: &str,
        base_url: &str,
        order_numbers: impl IntoIterator<Item = &'k str>,
    ) -> Result<HashMap<String, KnownOrder>, JournalError> {
        const CTX: &str = "reading what the journal knows of reported orders";
        let base = self.redact(normalized_base(base_url));
        let mut conn = self.conn();
        let tx = conn.transaction().ctx(CTX)?;
        load_keys(&tx, order_numbers, CTX)?;
        let mut known: HashMap<String, KnownOrder> = HashMap::new();
        {
            // The latest sending of each order wins (a later run may have corrected
            // the name).
            let mut stmt = tx
                .prepare_cached(
                    "SELECT i.key, json_extract(p.payload, '$.customer_name')
                     FROM temp.report_keys k
                     JOIN items i ON i.key = k.key
                       AND i.state IN ('created', 'exists_id_unknown', 'exists_before_run')
                     JOIN item_inputs p ON p.item_id = i.id
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = 'orders'
                       AND rtrim(trim(r.base_url), '/') = ?2
                     ORDER BY i.run_id, i.row",
                )
                .ctx(CTX)?;
            let rows = stmt
                .query_map(params![merchant_id, base], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .ctx(CTX)?;
            for row in rows {
                let (key, name) = row.ctx(CTX)?;
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    known.entry(key).or_default().customer_name = Some(name);
                }
            }
        }
        {
            // Refund runs journal `{order_number, amount}`; a refund that succeeded is
            // `done`.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT i.key, json_extract(p.payload, '$.amount')
                     FROM temp.report_keys k
                     JOIN items i ON i.key = k.key AND i.state = 'done'
                     JOIN item_inputs p ON p.item_id = i.id
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = 'refunds'
                       AND rtrim(trim(r.base_url), '/') = ?2",
                )
                .ctx(CTX)?;
            let rows = stmt
                .query_map(params![merchant_id, base], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .ctx(CTX)?;
            for row in rows {
                let (key, amount) = row.ctx(CTX)?;
                let Some(amount) = amount else { continue };
                let amount: Decimal = amount.parse().map_err(|_| JournalError::Corrupt {
                    detail: format!("refund of order {key} has amount {amount:?}"),
                })?;
                let entry = known.entry(key).or_default();
                entry.refunded = Some(entry.refunded.unwrap_or_default() + amount);
            }
        }
        tx.execute_batch("DELETE FROM temp.report_keys").ctx(CTX)?;
        tx.commit().ctx(CTX)?;
        Ok(known)
    }

    /// The spreadsheet's header names as recorded when the run was created (`None` for
    /// runs journaled before headers were kept).
    pub fn run_columns(&self, run: RunId) -> Result<Option<Vec<String>>, JournalError> {
        let conn = self.conn();
        let text: Option<String> = conn
            .query_row("SELECT columns FROM runs WHERE id = ?1", [run.0], |r| {
                r.get(0)
            })
            .ctx("reading a run's columns")?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| JournalError::Corrupt {
                detail: format!("run {run} columns: {e}"),
            })
        })
        .transpose()
    }

    /// Opens a read-only connection for streaming a run's rows (so a long export never
    /// holds the connection the engine writes through).
    pub fn reader(&self) -> Result<RowReader, JournalError> {
        RowReader::open(self.path())
    }
}

/// A read-only connection to the journal for long reads.
pub struct RowReader {
    conn: Connection,
}

/// One item with its recorded cells (`None` for items journaled before cells were
/// kept) and where its id came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWithCells {
    pub item: Item,
    pub cells: Option<Vec<String>>,
    pub id_source: Option<String>,
}

impl RowReader {
    fn open(path: &Path) -> Result<RowReader, JournalError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ctx("opening the journal for reading")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .ctx("setting the busy timeout")?;
        Ok(RowReader { conn })
    }

    /// Calls `each` with every item of `run`, in row order, inside one read transaction
    /// (a consistent snapshot even while the run is being driven). Stops at the first
    /// error `each` returns.
    pub fn for_each_item<E>(
        &mut self,
        run: RunId,
        mut each: impl FnMut(ItemWithCells) -> Result<(), E>,
    ) -> Result<Result<(), E>, JournalError> {
        const CTX: &str = "reading a run's rows";
        let tx = self.conn.transaction().ctx(CTX)?;
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {ITEM_COLUMNS}, cells, id_source FROM {ITEM_TABLES}
                 WHERE run_id = ?1 ORDER BY row"
            ))
            .ctx(CTX)?;
        let extra = ITEM_COLUMNS.split(',').count();
        let mut rows = stmt.query([run.0]).ctx(CTX)?;
        while let Some(r) = rows.next().ctx(CTX)? {
            let item = item_from_row(r).ctx(CTX)?;
            let cells: Option<String> = r.get(extra).ctx(CTX)?;
            let cells = match cells {
                Some(t) => Some(serde_json::from_str(&t).map_err(|e| JournalError::Corrupt {
                    detail: format!("run {run} row {} cells: {e}", item.row),
                })?),
                None => None,
            };
            let id_source = r.get(extra + 1).ctx(CTX)?;
            if let Err(e) = each(ItemWithCells {
                item,
                cells,
                id_source,
            }) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    /// How many items `run` has.
    pub fn count(&self, run: RunId) -> Result<u64, JournalError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM items WHERE run_id = ?1",
                [run.0],
                |r| r.get(0),
            )
            .ctx("counting a run's rows")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::journal::{AttemptRecord, ItemOutcome, NewItem, NewRun};
    use serde_json::json;

    fn run_of(
        j: &Journal,
        kind: &str,
        base_url: &str,
        items: &[(&str, serde_json::Value)],
    ) -> RunId {
        let new: Vec<NewItem> = items
            .iter()
            .enumerate()
            .map(|(i, (key, payload))| NewItem {
                row: i as u32 + 2,
                key: key.to_string(),
                payload: payload.clone(),
                issues: json!([]),
                state: ItemState::Pending,
            })
            .collect();
        let (run, _) = j
            .create_run_with_items(
                &NewRun {
                    kind: kind.into(),
                    source_file: "x.csv".into(),
                    source_sha256: "00".into(),
                    sheet: None,
                    merchant_id: "acme".into(),
                    base_url: base_url.into(),
                },
                &new,
            )
            .unwrap();
        run
    }

    /// Sends every item of `run` once and records `outcome` for each.
    fn answer(j: &Journal, run: RunId, outcome: impl Fn(&str) -> ItemOutcome) {
        let _lock = j.lock_run(run).unwrap();
        let items = j.sendable_items(run).unwrap();
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        let batch = j.begin_batch(run, "cmo", &ids).unwrap();
        let outcomes: Vec<(ItemId, ItemOutcome)> =
            items.iter().map(|i| (i.id, outcome(&i.key))).collect();
        j.finish_batch(
            batch,
            &AttemptRecord {
                http_status: Some(200),
                duration_ms: 1,
                outcome: "ok".into(),
                response_body: None,
            },
            &outcomes,
        )
        .unwrap();
    }

    fn order(name: &str) -> serde_json::Value {
        json!({"order_number": "x", "amount": "10.00", "customer_name": name})
    }

    #[test]
    fn only_unknown_ids_of_the_same_merchant_and_server_are_filled() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let run = run_of(
            &j,
            "orders",
            "http://pp/",
            &[("A", order("Ali")), ("B", order("Bo")), ("C", order("Cy"))],
        );
        // A: answer lost then 01; B: created with its own id; C: existed before.
        answer(&j, run, |k| match k {
            "A" => ItemOutcome::ExistsIdUnknown {
                status_code: "01".into(),
                description: Some("Order number A already exists".into()),
            },
            "B" => ItemOutcome::Created {
                connectpay_id: "0044000000002".into(),
                fee: None,
                status_code: "00".into(),
                description: None,
            },
            _ => ItemOutcome::ExistsBeforeRun {
                status_code: "01".into(),
                description: None,
            },
        });
        let reported = vec![
            ("A".to_string(), "0044000000001".to_string()),
            ("B".to_string(), "0044999999999".to_string()),
            ("C".to_string(), "0044000000003".to_string()),
        ];
        // Another server or merchant: nothing.
        assert!(
            j.fill_ids_from_report("acme", "http://other", &reported, "r")
                .unwrap()
                .is_empty()
        );
        assert!(
            j.fill_ids_from_report("zeta", "http://pp", &reported, "r")
                .unwrap()
                .is_empty()
        );
        let filled = j
            .fill_ids_from_report("acme", "http://pp", &reported, "report X")
            .unwrap();
        assert_eq!(
            filled,
            vec![FilledId {
                run,
                row: 2,
                order_number: "A".into(),
                connectpay_id: "0044000000001".into()
            }]
        );
        let items = j.items(run, None).unwrap();
        assert_eq!(items[0].state, ItemState::Created);
        assert_eq!(items[0].connectpay_id.as_deref(), Some("0044000000001"));
        assert_eq!(
            items[0].description.as_deref(),
            Some(
                "ConnectPayId from the report X; PayPro had answered: Order number A already exists"
            )
        );
        assert_eq!(
            j.id_source(items[0].id).unwrap().as_deref(),
            Some("report X")
        );
        // Created and existing items keep what they had.
        assert_eq!(items[1].connectpay_id.as_deref(), Some("0044000000002"));
        assert_eq!(items[2].state, ItemState::ExistsBeforeRun);
        assert_eq!(items[2].connectpay_id, None);
        // Done once: a second report fills nothing.
        assert!(
            j.fill_ids_from_report("acme", "http://pp", &reported, "r")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn known_orders_give_customer_names_and_refunds() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let orders = run_of(
            &j,
            "orders",
            "http://pp",
            &[("A", order("Ali Khan")), ("B", order("Bo"))],
        );
        answer(&j, orders, |k| ItemOutcome::Created {
            connectpay_id: format!("id-{k}"),
            fee: None,
            status_code: "00".into(),
            description: None,
        });
        let refunds = run_of(
            &j,
            "refunds",
            "http://pp",
            &[
                ("A", json!({"order_number": "A", "amount": "100.50"})),
                ("A", json!({"order_number": "A", "amount": "1.00"})),
            ],
        );
        answer(&j, refunds, |_| ItemOutcome::Done {
            status_code: "00".into(),
            description: None,
        });
        let known = j
            .known_orders("acme", "http://pp/", ["A", "B", "Z"])
            .unwrap();
        assert_eq!(known["A"].customer_name.as_deref(), Some("Ali Khan"));
        // Two refunds of A add up.
        assert_eq!(known["A"].refunded, Some(Decimal::new(10150, 2)));
        assert_eq!(known["B"].customer_name.as_deref(), Some("Bo"));
        assert_eq!(known["B"].refunded, None);
        assert!(!known.contains_key("Z"));
        assert!(
            j.known_orders("acme", "http://elsewhere", ["A"])
                .unwrap()
                .is_empty()
        );
    }
}
