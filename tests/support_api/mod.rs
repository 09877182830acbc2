//! Shared by the client-against-simulator tests (`api_contract`, `api_faults`,
//! `api_redaction`): an in-process simulator on an OS-chosen loopback port (started by
//! the one test-support module, `tests/common/inproc.rs`), a client for it, sample
//! orders and consumers, and readers for the `/__sim/` endpoints.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/inproc.rs"]
mod inproc;

use chrono::NaiveDate;
use paypro_console::Secret;
use paypro_console::api::{Client, ClientConfig};
use paypro_console::domain::{Consumer, ConsumerUpdate, Money, Order, OrderRef, Refund};
use paypro_console::sim::{self, BatchMode, FaultConfig, Merchant, RunningSim, SimConfig};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::str::FromStr;
use std::time::Duration;

pub const MID: &str = "PayProUser";
/// Distinctive: a space, `@`, `/`, `&`, `+`, `%` and a quote all change under URL
/// encoding or JSON escaping, so every spelling of it can be searched for.
pub const PW: &str = "S3cr3t p@ss/wo\"rd&x+%";
pub const COMPANY: &str = "0034";

/// The merchant the tests log in as: fee 75.50 (not the default, so the test sees the
/// configured value travel), amounts 10 to 5000.
pub fn merchant() -> Merchant {
    let mut m = Merchant::new(MID, PW, COMPANY);
    m.fee = money("75.50");
    m.min_amount = money("10");
    m.max_amount = money("5000");
    m
}

pub async fn start(
    merchants: Vec<Merchant>,
    batch_mode: BatchMode,
    faults: FaultConfig,
) -> RunningSim {
    inproc::start(SimConfig {
        merchants,
        batch_mode,
        faults,
        ..SimConfig::default()
    })
    .await
}

/// The simulator with [`merchant`], no faults, answering batches exactly in the guide's
/// shape (`--guide-responses`: no per-item `Status`).
pub async fn start_guide(batch_mode: BatchMode) -> RunningSim {
    let config = SimConfig {
        merchants: vec![merchant()],
        batch_mode,
        guide_responses: true,
        ..SimConfig::default()
    };
    sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The simulator with [`merchant`], per-item batches, no faults.
pub async fn start_default() -> RunningSim {
    start(vec![merchant()], BatchMode::PerItem, FaultConfig::default()).await
}

pub fn config(base_url: &str, id: &str, password: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base_url, id, Secret::new(password));
    c.connect_timeout = Duration::from_secs(5);
    c.request_timeout = Duration::from_secs(20);
    c
}

/// A client logged in as [`merchant`].
pub fn client(sim: &RunningSim) -> Client {
    Client::new(config(&sim.base_url, MID, PW)).unwrap()
}

pub fn client_as(sim: &RunningSim, id: &str, password: &str) -> Client {
    Client::new(config(&sim.base_url, id, password)).unwrap()
}

pub fn money(s: &str) -> Money {
    s.parse().unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A valid order: due 28/02/2027, issued 12/02/2026 (day > 12, so day and month
/// cannot be swapped unnoticed).
pub fn order(number: &str, amount: &str) -> Order {
    Order {
        order_number: number.to_string(),
        amount: money(amount),
        due_date: date(2027, 2, 28),
        issue_date: date(2026, 2, 12),
        customer_name: "Umer Aziz".into(),
        customer_mobile: "03123456789".into(),
        customer_email: "umer@example.com".into(),
        customer_address: "Plot 5, Karachi".into(),
        expire_after_seconds: None,
        amount_within_due_date: None,
        amount_after_due_date: None,
    }
}

pub fn order_ref(number: &str) -> OrderRef {
    OrderRef {
        order_number: number.to_string(),
    }
}

pub fn refund(number: &str, amount: &str) -> Refund {
    Refund {
        order_number: number.to_string(),
        amount: money(amount),
    }
}

pub fn consumer(id: &str, name: &str) -> Consumer {
    Consumer {
        consumer_id: id.to_string(),
        name: name.to_string(),
        mobile: "03001234567".into(),
        email: "usman@example.com".into(),
        address: "House 1, Lahore".into(),
    }
}

pub fn update(full_code: &str) -> ConsumerUpdate {
    ConsumerUpdate {
        consumer_id: full_code.to_string(),
        name: None,
        mobile: None,
        email: None,
        address: None,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `GET /__sim/orders` (never faulted).
pub async fn stored_orders(sim: &RunningSim) -> Vec<Value> {
    inproc::list(&sim.base_url, "orders").await
}

/// The stored order with this number, if any.
pub async fn stored_order(sim: &RunningSim, number: &str) -> Option<Value> {
    stored_orders(sim)
        .await
        .into_iter()
        .find(|o| o["OrderNumber"] == number)
}

/// `GET /__sim/consumers`.
pub async fn stored_consumers(sim: &RunningSim) -> Vec<Value> {
    inproc::list(&sim.base_url, "consumers").await
}

/// `POST /__sim/pay` for these ConnectPayIds on `date_paid` (yyyy-MM-dd); returns the
/// ids the simulator paid.
pub async fn pay(sim: &RunningSim, ids: &[&str], date_paid: &str) -> Vec<String> {
    let r = http()
        .post(format!("{}/__sim/pay", sim.base_url))
        .json(&json!({"ConnectPayIds": ids, "DatePaid": date_paid}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["Paid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Creates `number` with `co` through the client and returns its ConnectPayId.
pub async fn create(client: &Client, number: &str, amount: &str) -> String {
    client
        .create_order(&order(number, amount))
        .await
        .unwrap()
        .connectpay_id
        .unwrap()
}

/// A merchant like [`merchant`] allowed everything except `denied`.
pub fn merchant_without(denied: sim::Service) -> Merchant {
    let mut m = merchant();
    m.services.remove(&denied);
    m
}
