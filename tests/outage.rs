#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A server outage is an interruption, not a failure (issue 11, problem 3), through the
//! real binary: the simulator is killed mid-run, so every request is refused; after
//! `--give-up-after` the run stops `interrupted` with "server unreachable since HH:MM",
//! no row `failed`. The simulator comes back on the same port with its `--state`
//! file, and a plain `resume` completes the run: every order once.

mod common;

use common::{Sim, console, run, show, summary, text};

const ROWS: usize = 1000;

#[test]
fn a_server_that_goes_away_interrupts_the_run_and_plain_resume_completes_it() {
    let dir = common::tempdir();
    let state = dir.path().join("sim-state.sqlite3");
    let state_arg = state.to_str().unwrap().to_string();
    let sim_args = ["--latency-ms", "50", "--state", state_arg.as_str()];
    let sim = Sim::start(&sim_args);
    let listen = sim.url.trim_start_matches("http://").to_string();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "DOWN", ROWS);

    let w = common::submit_part_way(
        &journal,
        &sim,
        &csv,
        &["--json", "--give-up-after", "2"],
        1,
        100,
    );
    let sent_before = sim.orders().len();
    drop(sim); // SIGKILL: the server is gone, its port refuses connections.

    let (code, stdout, stderr) = w.finish();
    assert_eq!(code, Some(1), "rows are left to send: {stderr}");
    assert!(
        stderr.contains("server unreachable since "),
        "the clerk is told why: {stderr}"
    );
    assert!(stderr.contains("no row was marked failed"), "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["state"], "interrupted", "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert!(s["pending"].as_u64().unwrap() > 0, "{s}");

    // Back on the same port with the orders it had.
    let sim = Sim::start_on(&listen, &sim_args);
    assert!(
        sim.orders().len() >= sent_before,
        "the state file kept them"
    );
    let entry = common::run_entry(&journal, &sim, 1);
    assert_eq!(entry["state"], "interrupted", "{entry}");
    assert!(
        entry["note"]
            .as_str()
            .unwrap()
            .starts_with("server unreachable since "),
        "{entry}"
    );
    let rows = show(&journal, &sim, 1);
    assert!(rows.iter().all(|r| r["state"] != "failed"), "no row failed");

    // A plain resume finds it and completes it.
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["run"], 1);
    assert_eq!(s["state"], "completed");
    assert_eq!(s["failed"], 0);
    assert_eq!(s["pending"], 0);
    let held = sim.orders_by_number();
    assert_eq!(held.len(), ROWS, "every order, once");
    for r in show(&journal, &sim, 1) {
        let state = r["state"].as_str().unwrap();
        assert!(matches!(state, "created" | "exists_id_unknown"), "{r}");
        let o = &held[r["key"].as_str().unwrap()];
        assert!(
            o["CreateRequests"].as_u64() <= r["attempts"].as_u64(),
            "{r} {o}"
        );
    }
    let entry = common::run_entry(&journal, &sim, 1);
    assert_eq!(entry["note"], serde_json::Value::Null, "{entry}");
    let actions: Vec<&str> = entry["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["started", "resumed"], "{entry}");
}
