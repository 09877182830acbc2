#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Credentials revoked mid-run: the simulator's password is changed while a run is
//! sending (`POST /__sim/credentials`); the first 04 stops the run with nothing more
//! sent (the journal's record of every request shows it), the exit code is 1 and the
//! message says what to do; with the new password, `resume` completes it and every
//! order exists once.

mod common;

use common::{Sim, console, show, spawn_watched, summary};
use paypro_console::journal::{Journal, RunId};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[test]
fn a_04_mid_run_stops_it_and_resume_with_the_new_password_completes_it() {
    let sim = Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "AUTH", 1000);
    let concurrency = 2;

    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"])
        .args(["--concurrency", &concurrency.to_string()]);
    let mut w = spawn_watched(cmd);
    w.wait_for("run 1: started", Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.orders().len() < 100 {
        assert!(Instant::now() < deadline, "the run does not progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = sim.post(
        "/__sim/credentials",
        &json!({"MerchantId": "demo", "Password": "new-pass"}),
    );
    assert_eq!(status, 200, "{body}");

    let (code, stdout, stderr) = w.finish();
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refused the merchant id or password"),
        "{stderr}"
    );
    assert!(stderr.contains("resume 1"), "{stderr}");
    assert!(!stderr.contains("demo-pass") && !stdout.contains("demo-pass"));
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["state"], "stopped_auth");
    let pending = s["pending"].as_u64().unwrap();
    assert!(pending > 0 && pending <= 900, "{s}");

    // Nothing else was sent: the simulator holds exactly what the journal created, and
    // of the rows left pending only those of the requests already in flight when the
    // password changed were ever sent.
    let rows = show(&journal, &sim, 1);
    let created: HashSet<&str> = rows
        .iter()
        .filter(|r| r["state"] == "created")
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    let held = sim.orders_by_number();
    assert_eq!(held.len(), created.len());
    assert!(held.keys().all(|k| created.contains(k.as_str())));
    let sent_pending = rows
        .iter()
        .filter(|r| r["state"] == "pending" && r["attempts"].as_u64().unwrap() > 0)
        .count();
    assert!(
        sent_pending <= concurrency * 50,
        "{sent_pending} pending rows were sent"
    );
    // Every request the run sent is journaled with its answer. After the password
    // changed, each turn on the wire could carry at most one request answered 04: the
    // first 04 stops the run before its turn is given back. A run that went on sending
    // after a 04 would have more of them.
    let j = Journal::open(&journal).unwrap();
    let mut outcomes: HashMap<i64, String> = HashMap::new();
    for item in j.items(RunId(1), None).unwrap() {
        for a in j.item_attempts(item.id).unwrap() {
            outcomes.insert(a.batch.0, a.batch_outcome.unwrap_or_default());
        }
    }
    let refused = outcomes.values().filter(|o| o.contains("04")).count();
    assert!(
        (1..=concurrency).contains(&refused),
        "{refused} requests were answered 04: {outcomes:?}"
    );
    assert!(
        outcomes
            .values()
            .all(|o| o == "ok" || o.contains("04") || o.starts_with("not sent")),
        "{outcomes:?}"
    );
    drop(j);
    let orders_before = sim.orders().len();

    // The old password still fails (exit 2: nothing could be done this time).
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "1", "--yes", "--json"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out.stderr));
    assert_eq!(sim.orders().len(), orders_before);

    // The new one completes the run.
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_PASSWORD", "new-pass")
        .args(["resume", "1", "--yes", "--json"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["state"], "completed");
    assert_eq!(
        s["created"].as_u64().unwrap() + s["exists_id_unknown"].as_u64().unwrap(),
        1000
    );
    let held = sim.orders_by_number();
    assert_eq!(held.len(), 1000);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));
}
