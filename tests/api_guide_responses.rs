#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Batch answers shaped exactly like the guide's samples (`sim --guide-responses`: no
//! per-item `Status`, element 0 with the envelope code only), through the real binary:
//! `submit` must journal every order in its true state from the order's own answer,
//! never from element 0's code (connectpay-api.md §2). The same sheet under the
//! default shape (each item with its own `Status`) must end the same way.

mod common;

use common::{Sim, console, run, show, summary, text};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

const ROWS: usize = 150;
/// Pre-created before the run, each the first order of a batch of 50: element 0 of
/// their batch's answer says `01`.
const DUPLICATES: [usize; 3] = [1, 51, 101];
/// Above the merchant's 5,000 limit: refused by the server (not by the importer, which
/// knows no limits without a profile).
const REFUSED: [usize; 3] = [2, 60, 150];
/// Stored by the simulator but answered with nothing to go on.
const SILENT: usize = 75;

fn key(i: usize) -> String {
    if i == SILENT {
        format!("{}-{i:05}", paypro_console::sim::SIMSILENT_PREFIX)
    } else {
        format!("GS-{i:05}")
    }
}

fn write_sheet(path: &Path) {
    let today = chrono::Local::now().date_naive();
    let due = today + chrono::Days::new(30);
    let mut out = String::from(
        "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
    );
    for i in 1..=ROWS {
        let amount = if REFUSED.contains(&i) { 9000 } else { 100 + i };
        out.push_str(&format!(
            "{},{amount},{},{},Customer {i},,,\n",
            key(i),
            due.format("%d/%m/%Y"),
            today.format("%d/%m/%Y"),
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// The demo merchant with amounts limited to 1..5000.
fn merchants_file(dir: &Path) -> String {
    let path = dir.join("merchants.toml");
    std::fs::write(
        &path,
        "[[merchant]]\nid = \"demo\"\npassword = \"demo-pass\"\nmax_amount = 5000\n",
    )
    .unwrap();
    path.display().to_string()
}

/// Creates the order `number` directly at the simulator, as if an earlier system had.
fn precreate(sim: &Sim, number: &str) {
    let today = chrono::Local::now().date_naive();
    let body = json!([
        {"MerchantId": "demo", "MerchantPassword": "demo-pass"},
        {"OrderNumber": number, "OrderAmount": "10", "OrderDueDate": (today + chrono::Days::new(30)).format("%d/%m/%Y").to_string(),
         "OrderType": "Service", "IssueDate": today.format("%d/%m/%Y").to_string(), "CustomerName": "Earlier",
         "CustomerMobile": "", "CustomerEmail": "", "CustomerAddress": ""}
    ]);
    let (status, answer) = common::http(
        "POST",
        &format!("{}/cpay/co", sim.url),
        Some(body.to_string()),
    );
    assert_eq!(status, 200, "{answer}");
    let a: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(a[0]["Status"], "00", "{a}");
}

/// Submits the sheet against a simulator started with `shape_args` and checks every
/// row's journal state against what the simulator holds.
fn submit_and_check(shape_args: &[&str]) {
    let dir = common::tempdir();
    let merchants = merchants_file(dir.path());
    let mut args = vec!["--merchants", merchants.as_str()];
    args.extend_from_slice(shape_args);
    let sim = Sim::start(&args);
    for i in DUPLICATES {
        precreate(&sim, &key(i));
    }
    let sheet = dir.path().join("orders.csv");
    write_sheet(&sheet);
    let journal = dir.path().join("journal.sqlite3");
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", sheet.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    // Exit 1: some rows were rejected.
    assert_eq!(out.status.code(), Some(1), "{shape_args:?}: {stderr}");
    let s = summary(&out);
    let good = ROWS - DUPLICATES.len() - REFUSED.len() - 1;
    assert_eq!(s["created"], good, "{shape_args:?}: {s}");
    assert_eq!(s["exists_before_run"], DUPLICATES.len(), "{s}");
    assert_eq!(s["exists_id_unknown"], 1, "{s}");
    assert_eq!(s["rejected"], REFUSED.len(), "{s}");
    for k in ["failed", "pending", "invalid"] {
        assert_eq!(s[k], 0, "{k}: {s}");
    }

    let held = sim.orders_by_number();
    let rows = show(&journal, &sim, 1);
    assert_eq!(rows.len(), ROWS);
    let by_key: HashMap<String, &Value> = rows
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r))
        .collect();
    for i in 1..=ROWS {
        let k = key(i);
        let r = by_key[&k];
        let o = held.get(&k);
        let ctx = format!("{shape_args:?} row {i} {k}: {r} / {o:?}");
        if DUPLICATES.contains(&i) {
            assert_eq!(r["state"], "exists_before_run", "{ctx}");
            assert!(
                r["message"].as_str().unwrap().contains("already exist"),
                "{ctx}"
            );
            assert!(r["connectpay_id"].is_null(), "{ctx}");
            // The earlier system's request and ours: still one order.
            assert_eq!(o.unwrap()["CreateRequests"], 2, "{ctx}");
        } else if REFUSED.contains(&i) {
            assert_eq!(r["state"], "rejected", "{ctx}");
            assert_eq!(
                r["message"], "Invalid Data. Order amount 9000 is out of limits (1 to 5000)",
                "{ctx}"
            );
            assert_eq!(r["attempts"], 1, "refused once, not retried: {ctx}");
            assert!(o.is_none(), "{ctx}");
        } else if i == SILENT {
            // Nothing to go on: sent again as maybe-sent, and the 01 that came back
            // is "exists, id unknown", never a second order.
            assert_eq!(r["state"], "exists_id_unknown", "{ctx}");
            assert_eq!(r["attempts"], 2, "{ctx}");
            assert_eq!(o.unwrap()["CreateRequests"], 2, "{ctx}");
        } else {
            assert_eq!(r["state"], "created", "{ctx}");
            assert_eq!(r["connectpay_id"], o.unwrap()["ConnectPayId"], "{ctx}");
            assert_eq!(o.unwrap()["CreateRequests"], 1, "{ctx}");
        }
    }
    assert_eq!(
        held.len(),
        ROWS - REFUSED.len(),
        "nothing but the sheet's orders"
    );
}

#[test]
fn guide_shaped_batches_end_each_order_in_its_true_state() {
    submit_and_check(&["--guide-responses"]);
}

#[test]
fn the_default_shape_with_item_status_ends_the_same_way() {
    submit_and_check(&[]);
}
