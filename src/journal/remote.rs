//! What PayPro said about orders and consumers when we asked, kept with the time of the
//! asking: order status checks (a status refresh with `gos`, or the orders a paid-orders
//! report listed as paid) and consumer look-ups (`gcd`). Nothing here changes an item:
//! the state machine's items are what our requests did; these are observations.
//!
//! Refunds are checked before sending against these (see `engine::refunds`): what the
//! journal knows of an order is the latest observation of it for the same merchant at
//! the same server, the run of ours that created it, and the refunds our runs made.
//!
//! Every write is one IMMEDIATE transaction; free texts (sources, errors, the base URL)
//! are redacted like everything else the journal stores.

use super::error::{Context, JournalError};
use super::model::RunId;
use super::{Journal, now_text, parse_time, to_u32};
use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// One status check: a refresh of a run's orders, of a file of ids, or a paid-orders
/// report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CheckId(pub i64);

/// One consumer look-up (one code, or a sheet of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LookupId(pub i64);

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for LookupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who asked and about what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheck {
    pub merchant_id: String,
    pub base_url: String,
    /// The run whose orders are checked, if it is one.
    pub run: Option<RunId>,
    /// In words: `run 12`, `ids file /data/ids.csv`, `paid-orders report for ...`.
    pub source: String,
}

/// What PayPro said about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderObservation {
    pub connectpay_id: String,
    pub order_number: Option<String>,
    /// PayPro's word (`Paid`, `UNPAID`, ...), trimmed; `None` when there is no answer.
    pub status: Option<String>,
    pub amount_paid: Option<Decimal>,
    pub date_paid: Option<NaiveDateTime>,
    pub checked_at: DateTime<Utc>,
    /// Why there is no status: not found, refused, the transport failed.
    pub error: Option<String>,
}

/// An observation with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownStatus {
    pub observation: OrderObservation,
    pub source: String,
}

/// An order of ours with its ConnectPay Id: what a status refresh of a run asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    pub row: u32,
    pub order_number: String,
    pub connectpay_id: String,
}

/// What the journal knows of one order number, for the refund checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderKnowledge {
    /// A run of ours created it (or found it existing): that run and row.
    pub created_by: Option<(RunId, u32)>,
    /// The latest observation with a status (a refresh or a report).
    pub latest: Option<KnownStatus>,
    /// What refund runs of ours already refunded of it (items `done`).
    pub refunded: Decimal,
    /// The refund runs that did.
    pub refund_runs: Vec<RunId>,
    /// What refunds of ours that were sent but whose answer was never recorded (items
    /// sent at least once and left `failed`, `pending` or `in_flight`) may have
    /// refunded: PayPro may have done them, so they count against what is left.
    pub maybe_refunded: Decimal,
    /// The refund runs holding those.
    pub maybe_runs: Vec<RunId>,
}

/// One consumer as a look-up found it (or did not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The sheet row (as Excel numbers it); 1 for a single code.
    pub row: u32,
    /// The code as asked.
    pub code: String,
    pub found: bool,
    pub full_consumer_code: Option<String>,
    pub consumer_code: Option<String>,
    pub company_code: Option<String>,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub created_on: Option<NaiveDateTime>,
    pub status_code: Option<String>,
    /// PayPro's description, or why the look-up failed.
    pub message: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// The same base URL written with or without a trailing slash.
fn normalized(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn naive_text(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

fn parse_naive(text: &str) -> rusqlite::Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad date {text:?}: {e}").into(),
        )
    })
}

fn parse_decimal(text: &str) -> rusqlite::Result<Decimal> {
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const OBSERVATION_COLUMNS: &str =
    "s.connectpay_id, s.order_number, s.status, s.amount_paid, s.date_paid, s.checked_at, s.error";

fn observation_from_row(r: &Row<'_>) -> rusqlite::Result<OrderObservation> {
    Ok(OrderObservation {
        connectpay_id: r.get(0)?,
        order_number: r.get(1)?,
        status: r.get(2)?,
        amount_paid: r
            .get::<_, Option<String>>(3)?
            .map(|a| parse_decimal(&a))
            .transpose()?,
        date_paid: r
            .get::<_, Option<String>>(4)?
            .map(|d| parse_naive(&d))
            .transpose()?,
        checked_at: parse_time(&r.get::<_, String>(5)?)?,
        error: r.get(6)?,
    })
}

impl Journal {
    fn insert_check(
        &self,
        tx: &Connection,
        new: &NewCheck,
        now: &str,
    ) -> Result<CheckId, JournalError> {
        tx.execute(
            "INSERT INTO status_checks (merchant_id, base_url, run_id, source, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                new.merchant_id,
                self.redact(normalized(&new.base_url)),
                new.run.map(|r| r.0),
                self.redact(&new.source),
                now
            ],
        )
        .ctx("recording a status check")?;
        Ok(CheckId(tx.last_insert_rowid()))
    }

    fn insert_observations(
        &self,
        tx: &Connection,
        check: CheckId,
        records: &[OrderObservation],
    ) -> Result<(), JournalError> {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO order_status
                    (check_id, connectpay_id, order_number, status, amount_paid, date_paid,
                     checked_at, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .ctx("recording order statuses")?;
        for o in records {
            insert
                .execute(params![
                    check.0,
                    o.connectpay_id.trim(),
                    o.order_number.as_deref().map(str::trim),
                    o.status.as_deref().map(str::trim),
                    o.amount_paid.map(|a| a.to_string()),
                    o.date_paid.map(naive_text),
                    time_text(o.checked_at),
                    o.error.as_deref().map(|e| self.redact(e)),
                ])
                .ctx("recording order statuses")?;
        }
        Ok(())
    }

    /// Starts a status check (its observations come with [`Journal::record_statuses`]).
    pub fn begin_status_check(&self, new: &NewCheck) -> Result<CheckId, JournalError> {
        let now = now_text();
        let conn = self.conn();
        self.insert_check(&conn, new, &now)
    }

    /// Records observations of a check, in one transaction (a later one of the same
    /// order in the same check replaces it).
    pub fn record_statuses(
        &self,
        check: CheckId,
        records: &[OrderObservation],
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("recording order statuses")?;
        self.insert_observations(&tx, check, records)?;
        tx.commit().ctx("recording order statuses")
    }

    /// Marks a check finished.
    pub fn finish_status_check(&self, check: CheckId) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE status_checks SET finished_at = ?2 WHERE id = ?1",
            params![check.0, now_text()],
        )
        .ctx("finishing a status check")?;
        Ok(())
    }

    /// A whole check at once (a paid-orders report): begun, recorded and finished in one
    /// transaction.
    pub fn record_status_check(
        &self,
        new: &NewCheck,
        records: &[OrderObservation],
    ) -> Result<CheckId, JournalError> {
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("recording a status check")?;
        let check = self.insert_check(&tx, new, &now)?;
        self.insert_observations(&tx, check, records)?;
        tx.execute(
            "UPDATE status_checks SET finished_at = ?2 WHERE id = ?1",
            params![check.0, now],
        )
        .ctx("recording a status check")?;
        tx.commit().ctx("recording a status check")?;
        Ok(check)
    }

    /// The observations of one check, by ConnectPay Id.
    pub fn status_check_observations(
        &self,
        check: CheckId,
    ) -> Result<Vec<OrderObservation>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {OBSERVATION_COLUMNS} FROM order_status s
                 WHERE s.check_id = ?1 ORDER BY s.connectpay_id"
            ))
            .ctx("reading a status check")?;
        stmt.query_map([check.0], observation_from_row)
            .ctx("reading a status check")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading a status check")
    }

    /// The orders of a run that PayPro created with a known ConnectPay Id, in row order:
    /// what a status refresh of the run looks up (an order without its id cannot be
    /// looked up; reference §7).
    pub fn created_orders(&self, run: RunId) -> Result<Vec<CreatedOrder>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT row, key, connectpay_id FROM items
                 WHERE run_id = ?1 AND state = 'created'
                   AND connectpay_id IS NOT NULL AND trim(connectpay_id) <> ''
                 ORDER BY row",
            )
            .ctx("reading a run's created orders")?;
        stmt.query_map([run.0], |r| {
            Ok(CreatedOrder {
                row: to_u32(r.get(0)?)?,
                order_number: r.get(1)?,
                connectpay_id: r.get::<_, String>(2)?.trim().to_string(),
            })
        })
        .ctx("reading a run's created orders")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading a run's created orders")
    }

    /// The latest observation with a status of each of a run's orders, by order number
    /// (what the console's Runs screen tallies).
    pub fn latest_statuses_of_run(
        &self,
        run: RunId,
    ) -> Result<HashMap<String, OrderObservation>, JournalError> {
        let record = self.run(run)?.ok_or_else(|| JournalError::NotFound {
            what: format!("run {run}"),
        })?;
        let orders = self.created_orders(run)?;
        let known = self.order_knowledge(
            &record.merchant_id,
            &record.base_url,
            orders.iter().map(|o| o.order_number.as_str()),
        )?;
        Ok(known
            .into_iter()
            .filter_map(|(k, v)| v.latest.map(|l| (k, l.observation)))
            .collect())
    }

    /// What the journal knows of these order numbers of `merchant_id` at `base_url`
    /// (see [`OrderKnowledge`]); numbers it knows nothing of are absent.
    pub fn order_knowledge<'k>(
        &self,
        merchant_id: &str,
        base_url: &str,
        order_numbers: impl IntoIterator<Item = &'k str>,
    ) -> Result<HashMap<String, OrderKnowledge>, JournalError> {
        const CTX: &str = "reading what the journal knows of orders";
        let base = self.redact(normalized(base_url));
        let mut conn = self.conn();
        let tx = conn.transaction().ctx(CTX)?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS known_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.known_keys;",
        )
        .ctx(CTX)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO temp.known_keys (key) VALUES (?1)")
                .ctx(CTX)?;
            for key in order_numbers {
                insert.execute([key.trim()]).ctx(CTX)?;
            }
        }
        let mut known: HashMap<String, OrderKnowledge> = HashMap::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT i.key, i.run_id, i.row FROM temp.known_keys k
                     JOIN items i ON i.key = k.key
                       AND i.state IN ('created', 'exists_id_unknown', 'exists_before_run')
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = 'orders'
                       AND rtrim(trim(r.base_url), '/') = ?2
                     ORDER BY i.run_id DESC, i.row",
                )
                .ctx(CTX)?;
            let rows = stmt
                .query_map(params![merchant_id, base], |r| {
                    Ok((r.get::<_, String>(0)?, RunId(r.get(1)?), to_u32(r.get(2)?)?))
                })
                .ctx(CTX)?;
            for row in rows {
                let (key, run, row) = row.ctx(CTX)?;
                known
                    .entry(key)
                    .or_default()
                    .created_by
                    .get_or_insert((run, row));
            }
        }
        {
            // The latest observation that has a status, per order number; a later
            // failed look-up does not hide what was known.
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {OBSERVATION_COLUMNS}, c.source FROM temp.known_keys k
                     JOIN order_status s ON s.order_number = k.key AND s.status IS NOT NULL
                     JOIN status_checks c ON c.id = s.check_id
                     WHERE c.merchant_id = ?1 AND c.base_url = ?2
                     ORDER BY s.checked_at DESC, c.id DESC"
                ))
                .ctx(CTX)?;
            let rows = stmt
                .query_map(params![merchant_id, base], |r| {
                    Ok(KnownStatus {
                        observation: observation_from_row(r)?,
                        source: r.get(7)?,
                    })
                })
                .ctx(CTX)?;
            for row in rows {
                let status = row.ctx(CTX)?;
                let Some(key) = status.observation.order_number.clone() else {
                    continue;
                };
                known.entry(key).or_default().latest.get_or_insert(status);
            }
        }
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT i.key, i.run_id, json_extract(p.payload, '$.amount'),
                            i.state = 'done'
                     FROM temp.known_keys k
                     JOIN items i ON i.key = k.key
                      AND (i.state = 'done'
                           OR (i.state IN ('failed', 'pending', 'in_flight')
                               AND i.attempts > 0))
                     JOIN item_inputs p ON p.item_id = i.id
                     JOIN runs r ON r.id = i.run_id
                     WHERE r.merchant_id = ?1 AND r.kind = 'refunds'
                       AND rtrim(trim(r.base_url), '/') = ?2
                     ORDER BY i.run_id",
                )
                .ctx(CTX)?;
            let rows = stmt
                .query_map(params![merchant_id, base], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        RunId(r.get(1)?),
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, bool>(3)?,
                    ))
                })
                .ctx(CTX)?;
            for row in rows {
                let (key, run, amount, done) = row.ctx(CTX)?;
                let amount: Decimal =
                    amount.as_deref().unwrap_or_default().parse().map_err(|_| {
                        JournalError::Corrupt {
                            detail: format!(
                                "refund of order {key} in run {run} has amount {amount:?}"
                            ),
                        }
                    })?;
                let entry = known.entry(key).or_default();
                let (sum, runs) = if done {
                    (&mut entry.refunded, &mut entry.refund_runs)
                } else {
                    (&mut entry.maybe_refunded, &mut entry.maybe_runs)
                };
                *sum += amount;
                if !runs.contains(&run) {
                    runs.push(run);
                }
            }
        }
        tx.execute_batch("DELETE FROM temp.known_keys").ctx(CTX)?;
        tx.commit().ctx(CTX)?;
        Ok(known)
    }

    /// Starts a consumer look-up.
    pub fn begin_consumer_lookup(
        &self,
        merchant_id: &str,
        base_url: &str,
        source: &str,
    ) -> Result<LookupId, JournalError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO consumer_lookups (merchant_id, base_url, source, started_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                merchant_id,
                self.redact(normalized(base_url)),
                self.redact(source),
                now_text()
            ],
        )
        .ctx("recording a consumer look-up")?;
        Ok(LookupId(conn.last_insert_rowid()))
    }

    /// Records what a look-up found, in one transaction.
    pub fn record_consumers(
        &self,
        lookup: LookupId,
        records: &[ConsumerRecord],
    ) -> Result<(), JournalError> {
        const CTX: &str = "recording looked-up consumers";
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(CTX)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO consumer_data
                        (lookup_id, row, code, found, full_consumer_code, consumer_code,
                         company_code, name, mobile, email, address, created_on, status_code,
                         message, checked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .ctx(CTX)?;
            for c in records {
                insert
                    .execute(params![
                        lookup.0,
                        c.row,
                        c.code,
                        c.found,
                        c.full_consumer_code,
                        c.consumer_code,
                        c.company_code,
                        c.name,
                        c.mobile,
                        c.email,
                        c.address,
                        c.created_on.map(naive_text),
                        c.status_code,
                        c.message.as_deref().map(|m| self.redact(m)),
                        time_text(c.checked_at),
                    ])
                    .ctx(CTX)?;
            }
        }
        tx.commit().ctx(CTX)
    }

    pub fn finish_consumer_lookup(&self, lookup: LookupId) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE consumer_lookups SET finished_at = ?2 WHERE id = ?1",
            params![lookup.0, now_text()],
        )
        .ctx("finishing a consumer look-up")?;
        Ok(())
    }

    /// What a look-up recorded, in row order.
    pub fn consumer_records(&self, lookup: LookupId) -> Result<Vec<ConsumerRecord>, JournalError> {
        const CTX: &str = "reading looked-up consumers";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT row, code, found, full_consumer_code, consumer_code, company_code, name,
                        mobile, email, address, created_on, status_code, message, checked_at
                 FROM consumer_data WHERE lookup_id = ?1 ORDER BY row",
            )
            .ctx(CTX)?;
        stmt.query_map([lookup.0], |r| {
            Ok(ConsumerRecord {
                row: to_u32(r.get(0)?)?,
                code: r.get(1)?,
                found: r.get(2)?,
                full_consumer_code: r.get(3)?,
                consumer_code: r.get(4)?,
                company_code: r.get(5)?,
                name: r.get(6)?,
                mobile: r.get(7)?,
                email: r.get(8)?,
                address: r.get(9)?,
                created_on: r
                    .get::<_, Option<String>>(10)?
                    .map(|t| parse_naive(&t))
                    .transpose()?,
                status_code: r.get(11)?,
                message: r.get(12)?,
                checked_at: parse_time(&r.get::<_, String>(13)?)?,
            })
        })
        .ctx(CTX)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx(CTX)
    }

    /// The latest record of a full consumer code, in any look-up of this merchant.
    pub fn latest_consumer(
        &self,
        merchant_id: &str,
        code: &str,
    ) -> Result<Option<ConsumerRecord>, JournalError> {
        let conn = self.conn();
        let lookup: Option<(i64, u32)> = conn
            .query_row(
                "SELECT d.lookup_id, d.row FROM consumer_data d
                 JOIN consumer_lookups l ON l.id = d.lookup_id
                 WHERE l.merchant_id = ?1 AND d.code = ?2
                 ORDER BY d.checked_at DESC LIMIT 1",
                params![merchant_id, code.trim()],
                |r| Ok((r.get(0)?, to_u32(r.get(1)?)?)),
            )
            .optional()
            .ctx("reading a looked-up consumer")?;
        drop(conn);
        let Some((lookup, row)) = lookup else {
            return Ok(None);
        };
        Ok(self
            .consumer_records(LookupId(lookup))?
            .into_iter()
            .find(|r| r.row == row))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal::{AttemptRecord, ItemId, ItemOutcome, ItemState, NewItem, NewRun};
    use serde_json::json;

    fn run_of(j: &Journal, kind: &str, items: &[(&str, serde_json::Value)]) -> RunId {
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
        j.create_run_with_items(
            &NewRun {
                kind: kind.into(),
                source_file: "x.csv".into(),
                source_sha256: String::new(),
                sheet: None,
                merchant_id: "acme".into(),
                base_url: "http://pp/".into(),
            },
            &new,
        )
        .unwrap()
        .0
    }

    fn answer(j: &Journal, run: RunId, outcome: impl Fn(&str) -> ItemOutcome) {
        let lock = j.lock_run(run).unwrap();
        let items = j.sendable_items(run).unwrap();
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        let batch = j.begin_batch(run, "x", &ids).unwrap();
        let outcomes: Vec<_> = items.iter().map(|i| (i.id, outcome(&i.key))).collect();
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
        lock.release().unwrap();
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn seen(id: &str, number: &str, status: Option<&str>, when: &str) -> OrderObservation {
        OrderObservation {
            connectpay_id: id.into(),
            order_number: Some(number.into()),
            status: status.map(Into::into),
            amount_paid: status
                .filter(|s| *s == "Paid")
                .map(|_| Decimal::new(45000, 2)),
            date_paid: None,
            checked_at: at(when),
            error: status.is_none().then(|| "transport: timeout".into()),
        }
    }

    #[test]
    fn the_latest_observation_with_a_status_and_our_own_doings_are_known() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let orders = run_of(&j, "orders", &[("A", json!({})), ("B", json!({}))]);
        answer(&j, orders, |k| ItemOutcome::Created {
            connectpay_id: format!("id-{k}"),
            fee: None,
            status_code: "00".into(),
            description: None,
        });
        assert_eq!(j.created_orders(orders).unwrap().len(), 2);
        let new = NewCheck {
            merchant_id: "acme".into(),
            base_url: "http://pp".into(),
            run: Some(orders),
            source: "run 1".into(),
        };
        let first = j.begin_status_check(&new).unwrap();
        j.record_statuses(
            first,
            &[
                seen("id-A", "A", Some("Unpaid"), "2026-01-01T00:00:00Z"),
                seen("id-B", "B", Some("Unpaid"), "2026-01-01T00:00:00Z"),
            ],
        )
        .unwrap();
        j.finish_status_check(first).unwrap();
        // Later: A paid; B's look-up failed, which does not hide that it was unpaid.
        j.record_status_check(
            &new,
            &[
                seen("id-A", "A", Some("Paid"), "2026-01-02T00:00:00Z"),
                seen("id-B", "B", None, "2026-01-02T00:00:00Z"),
            ],
        )
        .unwrap();
        let refunds = run_of(
            &j,
            "refunds",
            &[("A", json!({"order_number": "A", "amount": "100.50"}))],
        );
        answer(&j, refunds, |_| ItemOutcome::Done {
            status_code: "00".into(),
            description: None,
        });
        let known = j
            .order_knowledge("acme", "http://pp/", ["A", "B", "Z"])
            .unwrap();
        let a = &known["A"];
        assert_eq!(a.created_by, Some((orders, 2)));
        let latest = a.latest.as_ref().unwrap();
        assert_eq!(latest.observation.status.as_deref(), Some("Paid"));
        assert_eq!(latest.observation.amount_paid, Some(Decimal::new(45000, 2)));
        assert_eq!(a.refunded, Decimal::new(10050, 2));
        assert_eq!(a.refund_runs, vec![refunds]);
        assert_eq!(a.maybe_refunded, Decimal::ZERO);
        // A refund of ours that left and whose answer never came (failed after its
        // tries) may have been done: it counts apart, against what is left.
        let doubtful = run_of(
            &j,
            "refunds",
            &[("A", json!({"order_number": "A", "amount": "50.00"}))],
        );
        answer(&j, doubtful, |_| ItemOutcome::Failed {
            last_error: "transport: connection reset".into(),
        });
        // One never sent (rows of a run cancelled before they left) does not count.
        run_of(
            &j,
            "refunds",
            &[("A", json!({"order_number": "A", "amount": "70.00"}))],
        );
        let again = j.order_knowledge("acme", "http://pp", ["A"]).unwrap();
        let a = &again["A"];
        assert_eq!(a.refunded, Decimal::new(10050, 2));
        assert_eq!(a.maybe_refunded, Decimal::new(5000, 2));
        assert_eq!(a.maybe_runs, vec![doubtful]);
        let b = &known["B"];
        assert_eq!(
            b.latest.as_ref().unwrap().observation.status.as_deref(),
            Some("Unpaid")
        );
        assert!(!known.contains_key("Z"));
        // Another server knows nothing of them.
        let elsewhere = j.order_knowledge("acme", "http://other", ["A"]).unwrap();
        assert!(
            elsewhere
                .get("A")
                .is_none_or(|k| k.latest.is_none() && k.created_by.is_none())
        );
        let by_run = j.latest_statuses_of_run(orders).unwrap();
        assert_eq!(by_run["A"].status.as_deref(), Some("Paid"));
        assert_eq!(j.status_check_observations(first).unwrap().len(), 2);
    }

    #[test]
    fn consumer_lookups_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        j.set_redactions(vec![crate::Secret::new("hunter2")]);
        let l = j
            .begin_consumer_lookup("acme", "http://pp/", "file c.csv")
            .unwrap();
        let rec = ConsumerRecord {
            row: 2,
            code: "0044123".into(),
            found: true,
            full_consumer_code: Some("0044123".into()),
            consumer_code: Some("123".into()),
            company_code: Some("0044".into()),
            name: Some("Usman".into()),
            mobile: Some("03001234567".into()),
            email: None,
            address: None,
            created_on: NaiveDateTime::parse_from_str("2026-01-05T10:00:00", "%Y-%m-%dT%H:%M:%S")
                .ok(),
            status_code: Some("00".into()),
            message: Some("fetched with hunter2".into()),
            checked_at: at("2026-01-06T00:00:00Z"),
        };
        j.record_consumers(l, std::slice::from_ref(&rec)).unwrap();
        j.finish_consumer_lookup(l).unwrap();
        let got = j.consumer_records(l).unwrap();
        assert_eq!(got[0].message.as_deref(), Some("fetched with ***"));
        assert_eq!(got[0].created_on, rec.created_on);
        assert_eq!(
            j.latest_consumer("acme", "0044123").unwrap().map(|r| r.row),
            Some(2)
        );
    }
}
