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

/// Writes a lock record as a process of another host would have left it (a container
/// since recreated, a machine since renamed).
fn foreign_lock(journal: &std::path::Path, run: i64) {
    let raw = rusqlite::Connection::open(journal).unwrap();
    raw.busy_timeout(Duration::from_secs(5)).unwrap();
    raw.execute(
        "UPDATE runs SET lock_pid = 4242, lock_host = 'old-container-7f3a', lock_user = 'clerk',
                         lock_token = 1, lock_since = '2026-11-24T16:40:03.000Z',
                         state = 'running'
         WHERE id = ?1",
        [run],
    )
    .unwrap();
}

#[test]
fn another_hosts_lock_is_cleared_with_unlock_and_plain_resume_says_what_needs_attention() {
    let sim = Sim::start(&["--latency-ms", "100"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "HOST", 300);
    // A run of 300 orders, stopped part-way by a kill.
    let mut first = common::submit_part_way(&journal, &sim, &csv, &[], 1, 1);
    common::sigkill(&mut first.child);
    foreign_lock(&journal, 1);

    // resume and retry are refused, saying exactly how to clear it.
    for args in [vec!["resume", "1", "--yes"], vec!["retry", "1", "--yes"]] {
        let mut cmd = console(&journal, &sim);
        cmd.args(&args);
        let out = common::run(cmd);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("host old-container-7f3a"), "{stderr}");
        assert!(
            stderr.contains(&format!("--journal {} unlock 1", journal.display())),
            "{stderr}"
        );
        assert!(!stderr.contains("automatically"), "{stderr}");
    }
    // A plain resume has nothing it may resume, and says what needs attention.
    let mut cmd = console(&journal, &sim);
    cmd.arg("resume");
    let out = common::run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("run 1 (orders.csv"), "{stdout}");
    assert!(stdout.contains("another host"), "{stdout}");
    assert!(stdout.contains("unlock 1"), "{stdout}");

    // unlock without a terminal needs --yes; it shows the holder first.
    let mut cmd = console(&journal, &sim);
    cmd.args(["unlock", "1"]);
    let out = common::run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "process 4242 on host old-container-7f3a, user clerk, since 2026-11-24 16:40 UTC"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("ago)"), "the lock's age: {stderr}");
    assert_eq!(
        common::runs(&journal, &sim)[0]["locked_by_host"],
        "old-container-7f3a"
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["unlock", "1", "--yes"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("run 1 unlocked"),
        "{}",
        text(&out.stdout)
    );

    // Now the run resumes and completes, each order once.
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "--yes", "--json", "--concurrency", "8"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["state"], "completed");
    let held = sim.orders_by_number();
    assert_eq!(held.len(), 300);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));

    // Who did it: started, unlocked, resumed, each with the OS user and host.
    let entry = common::run_entry(&journal, &sim, 1);
    let history = entry["history"].as_array().unwrap();
    let actions: Vec<&str> = history
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["started", "unlocked", "resumed"], "{entry}");
    let me = history[0]["host"].as_str().unwrap();
    assert!(
        history.iter().all(|h| h["host"] == me && h["user"] != ""),
        "{entry}"
    );
    assert!(
        history[1]["detail"]
            .as_str()
            .unwrap()
            .contains("old-container-7f3a"),
        "{entry}"
    );
    assert_eq!(
        entry["started_by"],
        format!("{}@{me}", history[0]["user"].as_str().unwrap())
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1"]);
    let shown = text(&common::run_ok(cmd).stdout);
    assert!(shown.contains("  unlocked by "), "{shown}");
    assert!(shown.contains("  resumed by "), "{shown}");
}

#[test]
fn plain_resume_lists_a_refused_password_and_a_live_run_and_exits_1() {
    let sim = Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    // Run 1: stopped by refused credentials.
    let csv = dir.path().join("a.csv");
    common::write_orders_csv(&csv, "AUTH", 60);
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_PASSWORD", "wrong")
        .args(["submit", csv.to_str().unwrap(), "--yes"]);
    let out = common::run(cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        common::run_entry(&journal, &sim, 1)["state"],
        "stopped_auth"
    );

    // Before: "no interrupted run" and exit 0 is what the old code said.
    let mut cmd = console(&journal, &sim);
    cmd.arg("resume");
    let out = common::run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("run 1 (a.csv"), "{stdout}");
    assert!(stdout.contains("fix the password, then:"), "{stdout}");
    assert!(stdout.contains("resume 1"), "{stdout}");

    // Run 2: driven right now by another process.
    let csv = dir.path().join("b.csv");
    common::write_orders_csv(&csv, "LIVE", 1000);
    let mut live = common::submit_part_way(&journal, &sim, &csv, &[], 2, 1);
    let mut cmd = console(&journal, &sim);
    cmd.arg("resume");
    let out = common::run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "run 2 (b.csv, merchant demo, 1000 rows left) is being sent by process {}",
            live.child.id()
        )) || stdout.contains(&format!("is being sent by process {}", live.child.id())),
        "{stdout}"
    );
    assert!(stdout.contains("fix the password"), "{stdout}");
    common::sigkill(&mut live.child);
}
