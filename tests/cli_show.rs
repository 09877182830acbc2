#![allow(clippy::unwrap_used, clippy::expect_used)]
//! "What happened to row 1,734 / to order INV-0201?" answered by the headless commands
//! without paging through a run: `show RUN --row N`, `show RUN --key K` (every request
//! the row was in and what the server answered) and `find KEY` (the key in every run);
//! and `show RUN` listing a run of more than one page.

mod common;

use common::{Sim, console, run, run_ok, summary, text};
use serde_json::Value;

#[test]
fn a_row_a_key_and_a_key_across_runs() {
    // Every third request fails with HTTP 500 (seeded): some rows are sent twice.
    let sim = Sim::start(&["--fail-500-rate", "0.3", "--seed", "4"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "SHOW", 1200);
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["created"], 1200);

    // The whole run, read a page at a time, as JSON and as a table.
    let rows = common::show(&journal, &sim, 1);
    assert_eq!(rows.len(), 1200);
    assert!(
        rows.windows(2)
            .all(|w| w[0]["row"].as_u64() < w[1]["row"].as_u64())
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1"]);
    let table = text(&run_ok(cmd).stdout);
    assert!(table.starts_with("run 1: orders.csv (orders)"), "{table}");
    assert!(
        table.lines().nth(1).unwrap().starts_with("  started by "),
        "who started it: {table}"
    );
    assert_eq!(
        table
            .lines()
            .skip_while(|l| !l.starts_with("   ROW"))
            .count(),
        1201,
        "one header, then every row"
    );
    assert_eq!(table.lines().filter(|l| l.starts_with("   ROW")).count(), 1);

    // One row in detail: the row sent twice, if the faults made one.
    let resent = rows
        .iter()
        .find(|r| r["attempts"].as_u64() > Some(1))
        .expect("a fault made some row be sent twice");
    let row = resent["row"].as_u64().unwrap().to_string();
    let key = resent["key"].as_str().unwrap().to_string();
    let id = resent["connectpay_id"].as_str().unwrap().to_string();
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--row", &row, "--json"]);
    let detail: Value = serde_json::from_slice(&run_ok(cmd).stdout).unwrap();
    assert_eq!(detail["key"], key.as_str());
    assert_eq!(detail["state"], "created");
    let requests = detail["requests"].as_array().unwrap();
    assert_eq!(requests.len() as u64, resent["attempts"].as_u64().unwrap());
    assert_eq!(requests[0]["http_status"], 500);
    assert_eq!(requests[0]["result"], "retry");
    let last = requests.last().unwrap();
    assert_eq!(last["http_status"], 200);
    assert_eq!(last["result"], "created");
    assert!(
        last["response_body"].as_str().unwrap().contains(&id),
        "{last}"
    );
    assert!(last["position"].as_u64() < last["batch_size"].as_u64());

    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--row", &row]);
    let said = text(&run_ok(cmd).stdout);
    assert!(
        said.starts_with(&format!(
            "run 1, row {row} ({key}), from orders.csv: created"
        )),
        "{said}"
    );
    assert!(said.contains(&format!("ConnectPayId {id}")), "{said}");
    assert!(said.contains("request 1 (batch"), "{said}");
    assert!(said.contains("HTTP 500"), "{said}");
    // The answer shown is the one about this row.
    let answer = said.lines().rfind(|l| l.contains("answer:")).unwrap();
    assert!(answer.contains(&key) && answer.contains(&id), "{answer}");

    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--key", &key, "--json"]);
    let by_key: Vec<Value> = serde_json::from_slice(&run_ok(cmd).stdout).unwrap();
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0]["row"].to_string(), row);

    // Rows and keys that are not there.
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--row", "99999"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no row 99999"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--key", "NOPE-1"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no row with order number NOPE-1"));

    // The same sheet sent again (allowed), with no faults this time: the key is in two
    // runs, and PayPro had it before the second.
    let (status, body) = sim.post("/__sim/faults", &serde_json::json!({}));
    assert_eq!(status, 200, "{body}");
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--json",
        "--allow-resend",
    ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut cmd = console(&journal, &sim);
    cmd.args(["find", &key, "--json"]);
    let hits: Vec<Value> = serde_json::from_slice(&run_ok(cmd).stdout).unwrap();
    let found: Vec<(u64, &str, &str)> = hits
        .iter()
        .map(|h| {
            (
                h["run"].as_u64().unwrap(),
                h["state"].as_str().unwrap(),
                h["run_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (1, "created", "completed"),
            // Run 1 of this journal sent it: the 01 is ours, not "existed before".
            (2, "exists_id_unknown", "completed")
        ]
    );
    assert_eq!(hits[0]["connectpay_id"], id.as_str());
    assert_eq!(hits[0]["merchant_id"], "demo");
    let mut cmd = console(&journal, &sim);
    cmd.args(["find", &key]);
    let table = text(&run_ok(cmd).stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.contains("exists_id_unknown"), "{table}");

    let mut cmd = console(&journal, &sim);
    cmd.args(["find", "NOPE-1"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("NOPE-1 is in no run"));
}
