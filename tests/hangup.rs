#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A run outlives its terminal, through the real binary (issue 11, problems 2 and 6):
//! a dropped SSH session (SIGHUP) stops the writing, never the run, which completes
//! without `resume`; and output streams closed under it (`submit … 2>&1 | head -1`)
//! are ignored, never a panic with rows in flight.

mod common;

use common::{Sim, console, run_entry, wait_until};
use std::time::Duration;

const ROWS: usize = 1000;

#[test]
fn a_hang_up_mid_run_lets_the_run_complete_without_resume() {
    // One request of 100 ms at a time: 20 batches, about two seconds.
    let sim = Sim::start(&["--latency-ms", "100"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "HUP", ROWS);
    let w = common::submit_part_way(&journal, &sim, &csv, &[], 1, 1);
    common::signal(&w.child, libc::SIGHUP);
    let pid = w.child.id();

    // Still driven by its process (unless it already finished), then completed.
    let entry = run_entry(&journal, &sim, 1);
    if entry["state"] == "running" {
        assert_eq!(entry["locked_by_pid"], pid, "{entry}");
    } else {
        assert_eq!(entry["state"], "completed", "{entry}");
    }
    let (code, _stdout, _stderr) = w.finish();
    assert_eq!(code, Some(0), "the run ends as if nothing happened");
    let entry = run_entry(&journal, &sim, 1);
    assert_eq!(entry["state"], "completed", "{entry}");
    assert_eq!(entry["counts"]["created"], ROWS as u64, "{entry}");
    assert_eq!(entry["locked_by_pid"], serde_json::Value::Null);
    let held = sim.orders_by_number();
    assert_eq!(held.len(), ROWS);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));
    // Nobody resumed it.
    let history: Vec<&str> = entry["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["started"]);
    // The log says what happened.
    let logs = journal.with_extension("logs");
    let log: String = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(log.contains("the terminal hung up"), "{log}");
}

#[test]
fn a_closed_output_pipe_never_stops_a_run() {
    let sim = Sim::start(&["--latency-ms", "20"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "PIPE", ROWS);
    // `head -1` reads the first line and goes: every later write of the run meets a
    // closed pipe, on stdout and stderr alike.
    let line = format!(
        "'{}' --journal '{}' submit '{}' --yes --concurrency 1 2>&1 | head -1",
        common::BIN,
        journal.display(),
        csv.display()
    );
    let env = console(&journal, &sim);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(&line).stdin(std::process::Stdio::null());
    for (k, v) in env.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = sh.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "{out:?}"
    );
    // The run went on to its end: completed, nothing in flight, every order once.
    let entry = wait_until("the run to end", Duration::from_secs(60), || {
        let e = common::runs(&journal, &sim)
            .into_iter()
            .find(|r| r["run"] == 1)?;
        (e["state"] != "running" && e["state"] != "open").then_some(e)
    });
    assert_eq!(entry["state"], "completed", "{entry}");
    assert_eq!(entry["counts"]["created"], ROWS as u64, "{entry}");
    assert_eq!(entry["counts"]["in_flight"], 0, "{entry}");
    let held = sim.orders_by_number();
    assert_eq!(held.len(), ROWS);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));
}
