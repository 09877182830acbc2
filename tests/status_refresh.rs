#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `status RUN` and `status --ids FILE` against the simulator (a child process on
//! 127.0.0.1): the simulator pays some orders (`/__sim/pay`) and a run of ours blocks
//! others; the refresh's tally is the simulator's own count of its orders by state, the
//! journal keeps every answer with the time of the check, a second refresh sees what
//! changed since, and an ids file with an unknown id and a number cell says so.

mod common;

use common::{Sim, console, run, run_ok, show, summary, text};
use paypro_console::journal::{CheckId, Journal};
use serde_json::{Value, json};
use std::collections::HashMap;

fn tally_of_sim(sim: &Sim, prefix: &str) -> HashMap<String, u64> {
    let mut t = HashMap::new();
    for o in sim.orders() {
        if o["OrderNumber"].as_str().unwrap().starts_with(prefix) {
            *t.entry(o["OrderStatus"].as_str().unwrap().to_ascii_lowercase())
                .or_insert(0) += 1;
        }
    }
    t
}

#[test]
fn a_refresh_tallies_what_the_simulator_paid_and_journals_each_answer() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "ST", 50);
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let run_id = summary(&run_ok(cmd))["run"].as_i64().unwrap();
    let rows = show(&journal, &sim, run_id);
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r["connectpay_id"].as_str().unwrap().to_string())
        .collect();

    // Customers pay 20 of them; a run of ours blocks 5 others.
    let (status, body) = sim.post("/__sim/pay", &json!({ "ConnectPayIds": &ids[..20] }));
    assert_eq!(status, 200, "{body}");
    let block = dir.path().join("block.csv");
    std::fs::write(
        &block,
        "Order Number\nST-00046\nST-00047\nST-00048\nST-00049\nST-00050\n",
    )
    .unwrap();
    let mut cmd = console(&journal, &sim);
    cmd.args(["mark", "blocked", block.to_str().unwrap(), "--yes"]);
    run_ok(cmd);

    let mut cmd = console(&journal, &sim);
    cmd.args([
        "status",
        &run_id.to_string(),
        "--json",
        "--concurrency",
        "8",
    ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s: Value = summary(&out);
    let expected = tally_of_sim(&sim, "ST-");
    assert_eq!(s["paid"], expected["paid"]);
    assert_eq!(s["unpaid"], expected["unpaid"]);
    assert_eq!(s["blocked"], expected["blocked"]);
    assert_eq!(
        (
            s["paid"].as_u64(),
            s["unpaid"].as_u64(),
            s["blocked"].as_u64()
        ),
        (Some(20), Some(25), Some(5))
    );
    assert_eq!(
        (s["refunded"].as_u64(), s["expired"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        (s["not_found"].as_u64(), s["failed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(s["orders"], 50);

    // Every answer is journaled with what PayPro said and when.
    let check = CheckId(s["check"].as_i64().unwrap());
    let j = Journal::open(&journal).unwrap();
    let seen = j.status_check_observations(check).unwrap();
    assert_eq!(seen.len(), 50);
    let held = sim.orders_by_number();
    for o in &seen {
        let number = o.order_number.as_deref().unwrap();
        let at_sim = &held[number];
        assert_eq!(o.connectpay_id, at_sim["ConnectPayId"].as_str().unwrap());
        assert_eq!(o.status.as_deref(), at_sim["OrderStatus"].as_str());
        if o.status.as_deref() == Some("Paid") {
            assert_eq!(
                o.amount_paid.map(|a| a.normalize().to_string()),
                Some(
                    at_sim["AmountPaid"]
                        .as_str()
                        .unwrap()
                        .parse::<rust_decimal::Decimal>()
                        .unwrap()
                        .normalize()
                        .to_string()
                )
            );
            assert!(o.date_paid.is_some(), "{o:?}");
        }
        assert!(o.error.is_none());
    }
    drop(j);

    // Five more paid since: the next refresh sees them; the text form says so.
    let (status, _) = sim.post("/__sim/pay", &json!({ "ConnectPayIds": &ids[20..25] }));
    assert_eq!(status, 200);
    let mut cmd = console(&journal, &sim);
    cmd.args(["status", &run_id.to_string()]);
    let out = text(&run_ok(cmd).stdout);
    assert!(
        out.contains("(50 orders, check 2): 20 unpaid, 25 paid, 5 blocked, 0 refunded, 0 expired"),
        "{out}"
    );
}

#[test]
fn an_ids_file_names_what_it_could_not_look_up() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "IDS", 3);
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let run_id = summary(&run_ok(cmd))["run"].as_i64().unwrap();
    let rows = show(&journal, &sim, run_id);
    let first = rows[0]["connectpay_id"].as_str().unwrap();
    let second = rows[1]["connectpay_id"].as_str().unwrap();
    let (status, _) = sim.post("/__sim/pay", &json!({ "ConnectPayIds": [second] }));
    assert_eq!(status, 200);

    let ids = dir.path().join("ids.csv");
    std::fs::write(
        &ids,
        format!("Order,ConnectPay Id\nA,{first}\nB,{second}\nC,00449999999999\nD,not-an-id\n"),
    )
    .unwrap();
    let mut cmd = console(&journal, &sim);
    cmd.args(["status", "--ids", ids.to_str().unwrap(), "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (
            s["unpaid"].as_u64(),
            s["paid"].as_u64(),
            s["not_found"].as_u64(),
            s["rows_left_out"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(s["run"], Value::Null);
    let err = text(&out.stderr);
    assert!(
        err.contains("row 5, ConnectPay Id: \"not-an-id\" is not a ConnectPay Id"),
        "{err}"
    );

    // A run that is not an orders run has nothing to look up.
    let mut cmd = console(&journal, &sim);
    cmd.args(["status", "999"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("run 999 is not in the journal"));
}
