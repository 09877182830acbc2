#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Mark runs end to end against the simulator (a child process on 127.0.0.1): a
//! 1,000-order `mark paid` file goes out in calls whose whole `csvOrders` parameter is
//! at most 4000 characters, each as full as that allows (measured where the server
//! counts it, `/__sim/mark-calls`); mixed lists (unpaid, already paid, blocked, unknown)
//! end in the right item states with PayPro's words; `show`, `runs` and `results` show
//! the run as done / rejected; refunds of paid orders go out and refunds of unpaid,
//! unknown or over-paid ones are refused before sending.

mod common;

use calamine::{Data, Reader, open_workbook_auto};
use common::{Sim, console, run, run_ok, show, summary, text};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// Submits `n` orders `{prefix}-00001`... and returns the run.
fn submit_orders(journal: &Path, sim: &Sim, dir: &Path, prefix: &str, n: usize) -> i64 {
    let csv = dir.join(format!("{prefix}.csv"));
    common::write_orders_csv(&csv, prefix, n);
    let mut cmd = console(journal, sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let s = summary(&run_ok(cmd));
    assert_eq!(s["created"], n as u64);
    s["run"].as_i64().unwrap()
}

/// A one-column list of order numbers (with amounts when given).
fn list(dir: &Path, name: &str, rows: &[(&str, Option<&str>)]) -> std::path::PathBuf {
    let path = dir.join(name);
    let refunds = rows.iter().any(|(_, a)| a.is_some());
    let mut out = String::from(if refunds {
        "Order Number,Refund Amount\n"
    } else {
        "Order Number\n"
    });
    for (n, a) in rows {
        out.push_str(n);
        if let Some(a) = a {
            out.push(',');
            out.push_str(a);
        }
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    path
}

fn mark_calls(sim: &Sim) -> Vec<Value> {
    let (status, body) = common::http("GET", &format!("{}/__sim/mark-calls", sim.url), None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn by_key(rows: &[Value]) -> HashMap<String, Value> {
    rows.iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// Pays these orders at the simulator (as customers would).
fn pay(sim: &Sim, journal: &Path, run: i64, keys: &[&str]) {
    let rows = by_key(&show(journal, sim, run));
    let ids: Vec<&str> = keys
        .iter()
        .map(|k| rows[*k]["connectpay_id"].as_str().unwrap())
        .collect();
    let (status, body) = sim.post("/__sim/pay", &json!({ "ConnectPayIds": ids }));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_thousand_orders_go_out_in_calls_as_full_as_4000_characters_allow() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    submit_orders(&journal, &sim, dir.path(), "PACK", 1000);
    let numbers: Vec<String> = (1..=1000).map(|i| format!("PACK-{i:05}")).collect();
    let rows: Vec<(&str, Option<&str>)> = numbers.iter().map(|n| (n.as_str(), None)).collect();
    let file = list(dir.path(), "paid-at-counter.csv", &rows);

    let mut cmd = console(&journal, &sim);
    cmd.args(["mark", "paid", file.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["rows"].as_u64(), s["done"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(s["kind"], "mark-paid");
    let run_id = s["run"].as_i64().unwrap();

    // As the server counted them: every call within 4000 characters, credentials
    // included, and each one but the rest of the list so full that the next order (10
    // characters and a comma) would not have fitted.
    let calls = mark_calls(&sim);
    let overhead = r#"{"Username":"demo","Password":"demo-pass","CsvOrderNumbers":""}"#.len();
    let per_call = (4000 - overhead + 1) / 11;
    assert_eq!(calls.len(), 1000_usize.div_ceil(per_call), "{calls:?}");
    // The calls go out at once (four at a time), so they arrive in any order; the one
    // with the rest of the list may be any of them.
    let mut total = 0;
    let mut short = 0;
    for (i, c) in calls.iter().enumerate() {
        assert_eq!(c["Endpoint"], "moap");
        assert_eq!(c["Status"], "00", "{c}");
        let chars = c["Characters"].as_u64().unwrap() as usize;
        let orders = c["Orders"].as_u64().unwrap() as usize;
        assert!(chars <= 4000, "call {i}: {c}");
        assert_eq!(chars, overhead + orders * 11 - 1, "call {i}: {c}");
        if orders == per_call {
            assert!(chars + 11 > 4000, "call {i} had room for one more: {c}");
        } else {
            short += 1;
            assert_eq!(
                orders,
                1000 % per_call,
                "only the rest of the list is short: {c}"
            );
        }
        total += orders;
    }
    assert_eq!(short, 1, "{calls:?}");
    assert_eq!(total, 1000, "every order once");

    let journaled = show(&journal, &sim, run_id);
    assert!(
        journaled
            .iter()
            .all(|r| r["state"] == "done" && r["message"] == "marked paid")
    );
    let held = sim.orders_by_number();
    assert!(numbers.iter().all(|n| held[n]["OrderStatus"] == "Paid"));
    // Each row's request is one of those calls: its size is the call's.
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", &run_id.to_string(), "--row", "2", "--json"]);
    let detail: Value = serde_json::from_slice(&run_ok(cmd).stdout).unwrap();
    assert_eq!(detail["requests"][0]["endpoint"], "moap");
    assert_eq!(detail["requests"][0]["batch_size"], per_call as u64);
}

#[test]
fn mixed_lists_end_in_the_right_item_states() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let orders = submit_orders(&journal, &sim, dir.path(), "MIX", 4);
    pay(&sim, &journal, orders, &["MIX-00002"]);
    // MIX-00003 blocked by a mark-blocked run of ours.
    let block = list(dir.path(), "block.csv", &[("MIX-00003", None)]);
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "mark",
        "blocked",
        block.to_str().unwrap(),
        "--yes",
        "--json",
    ]);
    assert_eq!(summary(&run_ok(cmd))["done"], 1);

    let file = list(
        dir.path(),
        "mixed.csv",
        &[
            ("MIX-00001", None),
            ("MIX-00002", None),
            ("MIX-00003", None),
            ("NEVER-SEEN-1", None),
        ],
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["mark", "paid", file.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some were refused: {}",
        text(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(
        (s["done"].as_u64(), s["rejected"].as_u64()),
        (Some(1), Some(3))
    );
    let run_id = s["run"].as_i64().unwrap();

    let rows = by_key(&show(&journal, &sim, run_id));
    let state = |k: &str| rows[k]["state"].as_str().unwrap().to_string();
    let message = |k: &str| rows[k]["message"].as_str().unwrap().to_string();
    assert_eq!(state("MIX-00001"), "done");
    assert!(message("MIX-00001").starts_with("marked paid (not among the orders PayPro listed"));
    assert_eq!(state("MIX-00002"), "rejected");
    assert!(
        message("MIX-00002").starts_with("not marked paid: already Paid"),
        "{}",
        message("MIX-00002")
    );
    assert_eq!(state("MIX-00003"), "rejected");
    assert!(
        message("MIX-00003").starts_with("not marked paid: Blocked"),
        "{}",
        message("MIX-00003")
    );
    assert_eq!(state("NEVER-SEEN-1"), "rejected");
    assert!(
        message("NEVER-SEEN-1").contains("Not Found"),
        "{}",
        message("NEVER-SEEN-1")
    );
    assert_eq!(rows["MIX-00002"]["status_code"], "01");

    // The simulator agrees, and nothing was created for the unknown order.
    let held = sim.orders_by_number();
    assert_eq!(held["MIX-00001"]["OrderStatus"], "Paid");
    assert_eq!(held["MIX-00002"]["OrderStatus"], "Paid");
    assert_eq!(held["MIX-00003"]["OrderStatus"], "Blocked");
    assert!(!held.contains_key("NEVER-SEEN-1"));
    assert_eq!(held["MIX-00004"]["OrderStatus"], "Unpaid");
    // One call carried the four.
    let calls = mark_calls(&sim);
    assert_eq!(calls.last().unwrap()["Orders"], 4);

    // `runs` counts them, and the same file again skips what is done.
    let listed = common::runs(&journal, &sim);
    let mine = listed.iter().find(|r| r["run"] == run_id).unwrap();
    assert_eq!(
        (
            mine["counts"]["done"].as_u64(),
            mine["counts"]["rejected"].as_u64()
        ),
        (Some(1), Some(3))
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["mark", "paid", file.to_str().unwrap(), "--yes", "--json"]);
    let again = summary(&run(cmd));
    assert_eq!(
        (again["skipped"].as_u64(), again["rejected"].as_u64()),
        (Some(1), Some(3))
    );

    // The results workbook has the mark run's own sheets.
    let results = dir.path().join("results.xlsx");
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "results",
        &run_id.to_string(),
        "-o",
        results.to_str().unwrap(),
    ]);
    run_ok(cmd);
    let mut wb = open_workbook_auto(&results).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Done",
            "Done earlier",
            "Rejected",
            "Failed",
            "Not sent",
            "Invalid"
        ]
    );
    let done = wb.worksheet_range("Done").unwrap();
    assert_eq!(done.height(), 2);
    assert_eq!(done.get((1, 1)), Some(&Data::String("MIX-00001".into())));
    let rejected = wb.worksheet_range("Rejected").unwrap();
    assert_eq!(rejected.height(), 4);
    let messages: Vec<String> = (1..4)
        .map(|r| rejected.get((r, 6)).unwrap().to_string())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("already Paid")),
        "{messages:?}"
    );
}

#[test]
fn refunds_of_paid_orders_go_out_and_the_others_are_refused_before_sending() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let orders = submit_orders(&journal, &sim, dir.path(), "REF", 4);
    pay(&sim, &journal, orders, &["REF-00001", "REF-00002"]);
    // The journal learns who paid from a status refresh.
    let mut cmd = console(&journal, &sim);
    cmd.args(["status", &orders.to_string(), "--json"]);
    let tally = summary(&run_ok(cmd));
    assert_eq!(
        (tally["paid"].as_u64(), tally["unpaid"].as_u64()),
        (Some(2), Some(2))
    );
    let held = sim.orders_by_number();
    let paid_1 = held["REF-00001"]["OrderAmount"]
        .as_str()
        .unwrap()
        .to_string();

    let file = list(
        dir.path(),
        "refunds.csv",
        &[
            ("REF-00001", Some(paid_1.as_str())),
            ("REF-00002", Some("10.00")),
            ("REF-00003", Some("10.00")),
            ("REF-00004", Some("99999.00")),
            ("NOBODY-1", Some("5.00")),
        ],
    );
    let before = mark_calls(&sim).len();
    let mut cmd = console(&journal, &sim);
    cmd.args(["refund", file.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["done"].as_u64(), s["invalid"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(s["sent"], 2, "the refused rows were never sent");
    let err = text(&out.stderr);
    assert!(
        err.contains("row 4, OrderNumber: order REF-00003 is Unpaid, not paid"),
        "{err}"
    );
    assert!(
        err.contains("order NOBODY-1 is not known to the journal"),
        "{err}"
    );

    // One mofr call carried only the two paid orders.
    let calls = mark_calls(&sim);
    assert_eq!(calls.len(), before + 1);
    assert_eq!(
        (
            calls[before]["Endpoint"].as_str(),
            calls[before]["Orders"].as_u64()
        ),
        (Some("mofr"), Some(2))
    );
    let held = sim.orders_by_number();
    assert_eq!(held["REF-00001"]["OrderStatus"], "Refunded");
    assert_eq!(held["REF-00002"]["OrderStatus"], "Refunded");
    assert_eq!(held["REF-00003"]["OrderStatus"], "Unpaid");
    assert_eq!(held["REF-00004"]["OrderStatus"], "Unpaid");

    let rows = by_key(&show(&journal, &sim, s["run"].as_i64().unwrap()));
    assert_eq!(rows["REF-00001"]["state"], "done");
    assert!(
        rows["REF-00001"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("refunded {paid_1}"))
    );
    assert_eq!(rows["REF-00003"]["state"], "invalid");
    assert_eq!(rows["REF-00003"]["attempts"], 0);
    assert!(
        rows["REF-00004"]["message"]
            .as_str()
            .unwrap()
            .contains("not paid")
    );

    // Refunding REF-00002 again for more than what is left is refused by the journal's
    // own record of the first refund (the status it saw still says paid), before
    // anything is sent.
    let paid_2: f64 = held["REF-00002"]["OrderAmount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let more = format!("{:.2}", paid_2 - 5.0);
    let again = list(
        dir.path(),
        "again.csv",
        &[("REF-00002", Some(more.as_str()))],
    );
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "refund",
        again.to_str().unwrap(),
        "--yes",
        "--json",
        "--allow-resend",
    ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("left to refund of order REF-00002"), "{err}");
    assert!(err.contains("already refunded by run"), "{err}");
    assert_eq!(mark_calls(&sim).len(), before + 1, "nothing more was sent");
}
