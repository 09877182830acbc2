#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Two processes on one run: the second is refused (exit 2, naming the holder's pid)
//! while the first lives; after the first is SIGKILLed its lock is taken over and the
//! run completes with every order sent once.

mod common;

use common::{Sim, console, spawn_watched, summary, text};
use std::time::Duration;

#[test]
fn a_second_process_is_refused_until_the_holder_dies() {
    let sim = Sim::start(&["--latency-ms", "250"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "LOCK", 1000);

    // One request at a time of 250 ms: 20 batches take about 5 s.
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--concurrency",
        "1",
    ]);
    let mut first = spawn_watched(cmd);
    first.wait_for("run 1: started", Duration::from_secs(60));
    let holder = first.child.id();

    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "1", "--yes", "--json"]);
    let out = common::run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("process {holder}")),
        "the refusal should name pid {holder}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    // `runs` shows who holds it.
    let listed = common::runs(&journal, &sim);
    assert_eq!(listed[0]["locked_by_pid"], holder);

    common::sigkill(&mut first.child);
    let held_at_kill = sim.orders().len();
    assert!(
        held_at_kill < 1000,
        "the first process finished before the kill"
    );

    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "1", "--yes", "--json", "--concurrency", "8"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["state"], "completed");
    assert_eq!(s["pending"], 0);
    let held = sim.orders_by_number();
    assert_eq!(held.len(), 1000);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));
    assert_eq!(
        common::runs(&journal, &sim)[0]["locked_by_pid"],
        serde_json::Value::Null
    );
}
