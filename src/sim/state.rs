//! The simulator's store: orders, consumers and ConnectPayId serials, in memory, and
//! optionally written through to SQLite (`--state FILE`) so they survive a restart.
//!
//! Handlers change the in-memory copy under one lock and then call [`Store::commit`],
//! which writes every changed row in one transaction before the answer is sent.

use super::config::Merchant;
use super::validate::{ConsumerFields, ValidOrder};
use crate::domain::Money;
use chrono::{NaiveDate, NaiveDateTime};
use rusqlite::{Connection, params};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Unpaid,
    Paid,
    Blocked,
    Refunded,
}

impl OrderStatus {
    /// The guide's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "Unpaid",
            OrderStatus::Paid => "Paid",
            OrderStatus::Blocked => "Blocked",
            OrderStatus::Refunded => "Refunded",
        }
    }

    fn parse(s: &str) -> Option<OrderStatus> {
        [
            OrderStatus::Unpaid,
            OrderStatus::Paid,
            OrderStatus::Blocked,
            OrderStatus::Refunded,
        ]
        .into_iter()
        .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub merchant_id: String,
    pub order_number: String,
    pub connectpay_id: String,
    pub amount: Money,
    pub fee: Money,
    pub due_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub customer_name: String,
    pub customer_mobile: String,
    pub customer_email: String,
    pub customer_address: String,
    pub expire_after_seconds: Option<u64>,
    pub amount_within_due_date: Option<Money>,
    pub amount_after_due_date: Option<Money>,
    pub status: OrderStatus,
    pub amount_paid: Money,
    pub date_paid: Option<NaiveDate>,
    pub amount_refunded: Money,
    pub created_at: NaiveDateTime,
    /// Create requests (co or cmo items) that named this order number, including the
    /// one that created it and those answered `01`.
    pub create_requests: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConsumer {
    pub merchant_id: String,
    pub consumer_id: String,
    pub company_code: String,
    pub name: String,
    pub mobile: String,
    pub email: String,
    pub address: String,
    pub created_at: NaiveDateTime,
}

impl StoredConsumer {
    pub fn full_code(&self) -> String {
        format!("{}{}", self.company_code, self.consumer_id)
    }
}

#[derive(Default)]
pub struct Store {
    orders: Vec<StoredOrder>,
    by_number: HashMap<(String, String), usize>,
    by_cpay: HashMap<String, usize>,
    consumers: Vec<StoredConsumer>,
    consumer_by_id: HashMap<(String, String), usize>,
    /// Last serial used per company code.
    serials: HashMap<String, u64>,
    /// Create requests (co/cmo items) per (merchant, order number), whether or not an
    /// order with that number was stored at the time.
    create_requests: HashMap<(String, String), u32>,
    db: Option<Connection>,
    dirty_orders: BTreeSet<usize>,
    dirty_consumers: BTreeSet<usize>,
    dirty_serials: BTreeSet<String>,
    dirty_requests: BTreeSet<(String, String)>,
    /// Unpaid orders with `OrderExpireAfterSeconds` > 0, still to be blocked.
    expiring: Vec<usize>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    merchant_id TEXT NOT NULL,
    order_number TEXT NOT NULL,
    connectpay_id TEXT NOT NULL UNIQUE,
    amount TEXT NOT NULL,
    fee TEXT NOT NULL,
    due_date TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_mobile TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    expire_after_seconds INTEGER,
    status TEXT NOT NULL,
    amount_paid TEXT NOT NULL,
    date_paid TEXT,
    amount_refunded TEXT NOT NULL,
    created_at TEXT NOT NULL,
    create_requests INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    amount_within_due_date TEXT,
    amount_after_due_date TEXT,
    PRIMARY KEY (merchant_id, order_number)
);
CREATE TABLE IF NOT EXISTS consumers (
    merchant_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    company_code TEXT NOT NULL,
    name TEXT NOT NULL,
    mobile TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, consumer_id)
);
CREATE TABLE IF NOT EXISTS create_requests (
    merchant_id TEXT NOT NULL,
    order_number TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, order_number)
);
CREATE TABLE IF NOT EXISTS serials (
    company_code TEXT PRIMARY KEY,
    last_serial INTEGER NOT NULL
);
";

const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f";

fn conv_err(col: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        format!("bad {what} '{value}' in simulator state").into(),
    )
}

fn money_col(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<Money> {
    let s: String = row.get(col)?;
    s.parse().map_err(|_| conv_err(col, "amount", &s))
}

fn opt_money_col(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<Option<Money>> {
    let s: Option<String> = row.get(col)?;
    s.map(|s| s.parse().map_err(|_| conv_err(col, "amount", &s)))
        .transpose()
}

/// State files written before the optional amounts were kept lack their columns.
fn add_optional_amount_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('orders')")?;
    let columns: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for column in ["amount_within_due_date", "amount_after_due_date"] {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE orders ADD COLUMN {column} TEXT"))?;
        }
    }
    Ok(())
}

fn date_col(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<NaiveDate> {
    let s: String = row.get(col)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| conv_err(col, "date", &s))
}

fn ts_col(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<NaiveDateTime> {
    let s: String = row.get(col)?;
    NaiveDateTime::parse_from_str(&s, TS_FORMAT).map_err(|_| conv_err(col, "timestamp", &s))
}

impl Store {
    pub fn in_memory() -> Store {
        Store::default()
    }

    /// Opens (creating if needed) a state file and loads everything in it.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")?;
        conn.execute_batch(SCHEMA)?;
        add_optional_amount_columns(&conn)?;
        let mut store = Store::default();
        {
            let mut stmt = conn.prepare(
                "SELECT merchant_id, order_number, connectpay_id, amount, fee, due_date,
                        issue_date, customer_name, customer_mobile, customer_email,
                        customer_address, expire_after_seconds, status, amount_paid,
                        date_paid, amount_refunded, created_at, create_requests,
                        amount_within_due_date, amount_after_due_date
                 FROM orders ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                let status: String = r.get(12)?;
                let date_paid: Option<String> = r.get(14)?;
                let expire: Option<i64> = r.get(11)?;
                Ok(StoredOrder {
                    merchant_id: r.get(0)?,
                    order_number: r.get(1)?,
                    connectpay_id: r.get(2)?,
                    amount: money_col(r, 3)?,
                    fee: money_col(r, 4)?,
                    due_date: date_col(r, 5)?,
                    issue_date: date_col(r, 6)?,
                    customer_name: r.get(7)?,
                    customer_mobile: r.get(8)?,
                    customer_email: r.get(9)?,
                    customer_address: r.get(10)?,
                    expire_after_seconds: expire.and_then(|e| u64::try_from(e).ok()),
                    status: OrderStatus::parse(&status)
                        .ok_or_else(|| conv_err(12, "status", &status))?,
                    amount_paid: money_col(r, 13)?,
                    date_paid: match date_paid {
                        None => None,
                        Some(s) => Some(
                            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                                .map_err(|_| conv_err(14, "date", &s))?,
                        ),
                    },
                    amount_refunded: money_col(r, 15)?,
                    created_at: ts_col(r, 16)?,
                    create_requests: r.get(17)?,
                    amount_within_due_date: opt_money_col(r, 18)?,
                    amount_after_due_date: opt_money_col(r, 19)?,
                })
            })?;
            for o in rows {
                store.push_order(o?);
            }
            let mut stmt = conn.prepare(
                "SELECT merchant_id, consumer_id, company_code, name, mobile, email, address,
                        created_at
                 FROM consumers ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredConsumer {
                    merchant_id: r.get(0)?,
                    consumer_id: r.get(1)?,
                    company_code: r.get(2)?,
                    name: r.get(3)?,
                    mobile: r.get(4)?,
                    email: r.get(5)?,
                    address: r.get(6)?,
                    created_at: ts_col(r, 7)?,
                })
            })?;
            for c in rows {
                store.push_consumer(c?);
            }
            let mut stmt = conn.prepare("SELECT company_code, last_serial FROM serials")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (code, serial) = row?;
                store
                    .serials
                    .insert(code, u64::try_from(serial).unwrap_or_default());
            }
            let mut stmt =
                conn.prepare("SELECT merchant_id, order_number, count FROM create_requests")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                ))
            })?;
            for row in rows {
                let (merchant, number, count) = row?;
                store.create_requests.insert((merchant, number), count);
            }
        }
        store.db = Some(conn);
        Ok(store)
    }

    fn push_order(&mut self, o: StoredOrder) -> usize {
        let idx = self.orders.len();
        self.by_number
            .insert((o.merchant_id.clone(), o.order_number.clone()), idx);
        self.by_cpay.insert(o.connectpay_id.clone(), idx);
        if o.status == OrderStatus::Unpaid && o.expire_after_seconds.is_some_and(|s| s > 0) {
            self.expiring.push(idx);
        }
        self.orders.push(o);
        idx
    }

    fn push_consumer(&mut self, c: StoredConsumer) -> usize {
        let idx = self.consumers.len();
        self.consumer_by_id
            .insert((c.merchant_id.clone(), c.consumer_id.clone()), idx);
        self.consumers.push(c);
        idx
    }

    pub fn orders(&self) -> &[StoredOrder] {
        &self.orders
    }

    pub fn consumers(&self) -> &[StoredConsumer] {
        &self.consumers
    }

    pub fn order(&self, merchant_id: &str, order_number: &str) -> Option<&StoredOrder> {
        self.order_index(merchant_id, order_number)
            .and_then(|i| self.orders.get(i))
    }

    fn order_index(&self, merchant_id: &str, order_number: &str) -> Option<usize> {
        self.by_number
            .get(&(merchant_id.to_string(), order_number.to_string()))
            .copied()
    }

    /// A mutable order; the change is written at the next [`Store::commit`].
    pub fn order_mut(&mut self, merchant_id: &str, order_number: &str) -> Option<&mut StoredOrder> {
        let idx = self.order_index(merchant_id, order_number)?;
        self.dirty_orders.insert(idx);
        self.orders.get_mut(idx)
    }

    pub fn order_by_cpay(&self, connectpay_id: &str) -> Option<&StoredOrder> {
        self.by_cpay
            .get(connectpay_id)
            .and_then(|&i| self.orders.get(i))
    }

    pub fn order_by_cpay_mut(&mut self, connectpay_id: &str) -> Option<&mut StoredOrder> {
        let idx = *self.by_cpay.get(connectpay_id)?;
        self.dirty_orders.insert(idx);
        self.orders.get_mut(idx)
    }

    /// A fresh ConnectPayId: company code + 10-digit serial, counting on from the
    /// last one ever issued for that company code (also across restarts).
    fn next_connectpay_id(&mut self, company_code: &str) -> String {
        let serial = self.serials.entry(company_code.to_string()).or_insert(0);
        *serial += 1;
        let id = format!("{company_code}{:010}", *serial);
        self.dirty_serials.insert(company_code.to_string());
        id
    }

    /// Counts one create request (a co or cmo item) naming `order_number`, stored or
    /// not; the stored order's `create_requests` follows the count.
    pub fn note_create_request(&mut self, merchant_id: &str, order_number: &str) {
        let key = (merchant_id.to_string(), order_number.to_string());
        let count = self.create_requests.entry(key.clone()).or_insert(0);
        *count += 1;
        let count = *count;
        self.dirty_requests.insert(key);
        if let Some(o) = self.order_mut(merchant_id, order_number) {
            o.create_requests = count;
        }
    }

    fn request_count(&self, merchant_id: &str, order_number: &str) -> u32 {
        self.create_requests
            .get(&(merchant_id.to_string(), order_number.to_string()))
            .copied()
            .unwrap_or(0)
            .max(1)
    }

    pub fn insert_order(
        &mut self,
        merchant: &Merchant,
        v: ValidOrder,
        now: NaiveDateTime,
    ) -> &StoredOrder {
        let connectpay_id = self.next_connectpay_id(&merchant.company_code);
        let create_requests = self.request_count(&merchant.id, &v.order_number);
        let idx = self.push_order(StoredOrder {
            merchant_id: merchant.id.clone(),
            order_number: v.order_number,
            connectpay_id,
            amount: v.amount,
            fee: merchant.fee,
            due_date: v.due_date,
            issue_date: v.issue_date,
            customer_name: v.customer_name,
            customer_mobile: v.customer_mobile,
            customer_email: v.customer_email,
            customer_address: v.customer_address,
            expire_after_seconds: v.expire_after_seconds,
            amount_within_due_date: v.amount_within_due_date,
            amount_after_due_date: v.amount_after_due_date,
            status: OrderStatus::Unpaid,
            amount_paid: Money::zero(),
            date_paid: None,
            amount_refunded: Money::zero(),
            created_at: now,
            create_requests,
        });
        self.dirty_orders.insert(idx);
        &self.orders[idx]
    }

    pub fn consumer(&self, merchant_id: &str, consumer_id: &str) -> Option<&StoredConsumer> {
        self.consumer_by_id
            .get(&(merchant_id.to_string(), consumer_id.to_string()))
            .and_then(|&i| self.consumers.get(i))
    }

    /// Finds a consumer by full code (company code + id) or, failing that, by short id.
    pub fn find_consumer_id(&self, merchant: &Merchant, code: &str) -> Option<String> {
        if let Some(short) = code.strip_prefix(merchant.company_code.as_str())
            && self.consumer(&merchant.id, short).is_some()
        {
            return Some(short.to_string());
        }
        self.consumer(&merchant.id, code)
            .map(|c| c.consumer_id.clone())
    }

    pub fn insert_consumer(
        &mut self,
        merchant: &Merchant,
        f: ConsumerFields,
        now: NaiveDateTime,
    ) -> &StoredConsumer {
        let idx = self.push_consumer(StoredConsumer {
            merchant_id: merchant.id.clone(),
            consumer_id: f.consumer_id,
            company_code: merchant.company_code.clone(),
            name: f.name.unwrap_or_default(),
            mobile: f.mobile.unwrap_or_default(),
            email: f.email.unwrap_or_default(),
            address: f.address.unwrap_or_default(),
            created_at: now,
        });
        self.dirty_consumers.insert(idx);
        &self.consumers[idx]
    }

    /// Applies the given fields of `f` to an existing consumer.
    pub fn update_consumer(
        &mut self,
        merchant_id: &str,
        consumer_id: &str,
        f: ConsumerFields,
    ) -> Option<&StoredConsumer> {
        let idx = *self
            .consumer_by_id
            .get(&(merchant_id.to_string(), consumer_id.to_string()))?;
        let c = self.consumers.get_mut(idx)?;
        if let Some(v) = f.name {
            c.name = v;
        }
        if let Some(v) = f.mobile {
            c.mobile = v;
        }
        if let Some(v) = f.email {
            c.email = v;
        }
        if let Some(v) = f.address {
            c.address = v;
        }
        self.dirty_consumers.insert(idx);
        self.consumers.get(idx)
    }

    /// Writes every row changed since the last commit, in one transaction. A no-op
    /// for an in-memory store.
    pub fn commit(&mut self) -> rusqlite::Result<()> {
        let orders = std::mem::take(&mut self.dirty_orders);
        let consumers = std::mem::take(&mut self.dirty_consumers);
        let serials = std::mem::take(&mut self.dirty_serials);
        let requests = std::mem::take(&mut self.dirty_requests);
        let Some(db) = self.db.as_mut() else {
            return Ok(());
        };
        let tx = db.transaction()?;
        for idx in orders {
            let Some(o) = self.orders.get(idx) else {
                continue;
            };
            tx.execute(
                "INSERT OR REPLACE INTO orders VALUES
                 (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
                params![
                    o.merchant_id,
                    o.order_number,
                    o.connectpay_id,
                    o.amount.to_string(),
                    o.fee.to_string(),
                    o.due_date.format("%Y-%m-%d").to_string(),
                    o.issue_date.format("%Y-%m-%d").to_string(),
                    o.customer_name,
                    o.customer_mobile,
                    o.customer_email,
                    o.customer_address,
                    o.expire_after_seconds.and_then(|e| i64::try_from(e).ok()),
                    o.status.as_str(),
                    o.amount_paid.to_string(),
                    o.date_paid.map(|d| d.format("%Y-%m-%d").to_string()),
                    o.amount_refunded.to_string(),
                    o.created_at.format(TS_FORMAT).to_string(),
                    o.create_requests,
                    i64::try_from(idx).unwrap_or(i64::MAX),
                    o.amount_within_due_date.map(|m| m.to_string()),
                    o.amount_after_due_date.map(|m| m.to_string()),
                ],
            )?;
        }
        for idx in consumers {
            let Some(c) = self.consumers.get(idx) else {
                continue;
            };
            tx.execute(
                "INSERT OR REPLACE INTO consumers VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    c.merchant_id,
                    c.consumer_id,
                    c.company_code,
                    c.name,
                    c.mobile,
                    c.email,
                    c.address,
                    c.created_at.format(TS_FORMAT).to_string(),
                    i64::try_from(idx).unwrap_or(i64::MAX),
                ],
            )?;
        }
        for key in requests {
            let count = self.create_requests.get(&key).copied().unwrap_or_default();
            tx.execute(
                "INSERT OR REPLACE INTO create_requests VALUES (?1, ?2, ?3)",
                params![key.0, key.1, count],
            )?;
        }
        for code in serials {
            let serial = self.serials.get(&code).copied().unwrap_or_default();
            tx.execute(
                "INSERT OR REPLACE INTO serials VALUES (?1, ?2)",
                params![code, i64::try_from(serial).unwrap_or(i64::MAX)],
            )?;
        }
        tx.commit()
    }

    /// Blocks unpaid orders whose `OrderExpireAfterSeconds` have passed ("the time
    /// after which order is blocked"). `0` means no expiry, as in the guide's samples.
    pub fn expire_due(&mut self, now: NaiveDateTime) {
        let mut keep = Vec::new();
        for idx in std::mem::take(&mut self.expiring) {
            let Some(o) = self.orders.get_mut(idx) else {
                continue;
            };
            if o.status != OrderStatus::Unpaid {
                continue;
            }
            let secs = o.expire_after_seconds.unwrap_or(0);
            let due = i64::try_from(secs)
                .ok()
                .and_then(chrono::TimeDelta::try_seconds)
                .and_then(|d| o.created_at.checked_add_signed(d));
            match due {
                Some(due) if due <= now => {
                    o.status = OrderStatus::Blocked;
                    self.dirty_orders.insert(idx);
                }
                Some(_) => keep.push(idx),
                // Too far in the future to represent: never expires.
                None => {}
            }
        }
        self.expiring = keep;
    }

    /// The last serial issued for a company code (tests and diagnostics).
    pub fn last_serial(&self, company_code: &str) -> Option<u64> {
        self.serials.get(company_code).copied()
    }

    /// Whether the store writes through to a file.
    pub fn is_persistent(&self) -> bool {
        self.db.is_some()
    }

    #[cfg(test)]
    fn db_order_count(&self) -> Option<i64> {
        let db = self.db.as_ref()?;
        db.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(n: &str) -> ValidOrder {
        let d = NaiveDate::from_ymd_opt(2020, 3, 21).unwrap();
        ValidOrder {
            order_number: n.to_string(),
            amount: "4400".parse().unwrap(),
            due_date: d,
            issue_date: d,
            customer_name: "Umer".into(),
            customer_mobile: String::new(),
            customer_email: String::new(),
            customer_address: String::new(),
            expire_after_seconds: Some(0),
            amount_within_due_date: None,
            amount_after_due_date: "4500".parse().ok(),
        }
    }

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_milli_opt(3, 4, 5, 678)
            .unwrap()
    }

    #[test]
    fn ids_count_per_company_code() {
        let mut s = Store::in_memory();
        let a = Merchant::new("a", "p", "0044");
        let b = Merchant::new("b", "p", "0045");
        assert_eq!(
            s.insert_order(&a, valid("1"), now()).connectpay_id,
            "00440000000001"
        );
        assert_eq!(
            s.insert_order(&a, valid("2"), now()).connectpay_id,
            "00440000000002"
        );
        assert_eq!(
            s.insert_order(&b, valid("1"), now()).connectpay_id,
            "00450000000001"
        );
        assert!(s.order("a", "2").is_some());
        assert!(s.order("b", "2").is_none());
        assert_eq!(
            s.order_by_cpay("00450000000001")
                .map(|o| o.merchant_id.as_str()),
            Some("b")
        );
    }

    #[test]
    fn orders_expire_into_blocked() {
        let mut s = Store::in_memory();
        let m = Merchant::new("a", "p", "0044");
        let mut soon = valid("soon");
        soon.expire_after_seconds = Some(60);
        s.insert_order(&m, soon, now());
        s.insert_order(&m, valid("never"), now());
        s.expire_due(now() + chrono::TimeDelta::seconds(59));
        assert_eq!(s.order("a", "soon").unwrap().status, OrderStatus::Unpaid);
        s.expire_due(now() + chrono::TimeDelta::seconds(60));
        assert_eq!(s.order("a", "soon").unwrap().status, OrderStatus::Blocked);
        assert_eq!(s.order("a", "never").unwrap().status, OrderStatus::Unpaid);
    }

    #[test]
    fn create_requests_count_before_and_after_storing() {
        let mut s = Store::in_memory();
        let m = Merchant::new("a", "p", "0044");
        s.note_create_request("a", "1");
        s.note_create_request("a", "1");
        assert_eq!(s.insert_order(&m, valid("1"), now()).create_requests, 2);
        s.note_create_request("a", "1");
        assert_eq!(s.order("a", "1").unwrap().create_requests, 3);
        s.note_create_request("b", "1");
        assert_eq!(s.order("a", "1").unwrap().create_requests, 3);
    }

    #[test]
    fn state_files_without_the_optional_amounts_gain_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            let old = SCHEMA.replace(
                "    amount_within_due_date TEXT,\n    amount_after_due_date TEXT,\n",
                "",
            );
            assert_ne!(old, SCHEMA);
            conn.execute_batch(&old).unwrap();
        }
        let m = Merchant::new("a", "p", "0044");
        {
            let mut s = Store::open(&path).unwrap();
            s.insert_order(&m, valid("1"), now());
            s.commit().unwrap();
        }
        let s = Store::open(&path).unwrap();
        let o = s.order("a", "1").unwrap();
        assert_eq!(
            o.amount_after_due_date.map(|m| m.to_wire()),
            Some("4500".into())
        );
    }

    #[test]
    fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.db");
        let m = Merchant::new("a", "p", "0044");
        {
            let mut s = Store::open(&path).unwrap();
            s.insert_order(&m, valid("1"), now());
            s.insert_consumer(
                &m,
                ConsumerFields {
                    consumer_id: "77".into(),
                    name: Some("N".into()),
                    mobile: None,
                    email: None,
                    address: None,
                },
                now(),
            );
            s.commit().unwrap();
            let o = s.order_mut("a", "1").unwrap();
            o.status = OrderStatus::Paid;
            o.date_paid = NaiveDate::from_ymd_opt(2026, 1, 3);
            o.amount_paid = o.amount;
            s.commit().unwrap();
            assert_eq!(s.db_order_count(), Some(1));
        }
        let mut s = Store::open(&path).unwrap();
        let o = s.order("a", "1").unwrap().clone();
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(o.created_at, now());
        assert_eq!(o.amount_paid.to_wire(), "4400");
        assert_eq!(o.expire_after_seconds, Some(0));
        assert_eq!(o.amount_within_due_date, None);
        assert_eq!(
            o.amount_after_due_date.map(|m| m.to_wire()),
            Some("4500".into())
        );
        assert_eq!(
            s.consumer("a", "77").map(|c| c.full_code()),
            Some("004477".into())
        );
        assert_eq!(
            s.insert_order(&m, valid("2"), now()).connectpay_id,
            "00440000000002"
        );
    }
}
