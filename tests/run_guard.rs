#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The cross-run guard over unfinished runs, through the real binary (issue 11, problem
//! 1): one sheet submitted twice at once, or again while its first run is interrupted,
//! is never sent by both. Every order is created by exactly one request, and no row is
//! journaled `exists_before_run` ("we never sent it") when a run of this journal did.

mod common;

use common::{Sim, console, run, summary, text};
use serde_json::Value;

const ROWS: usize = 1000;

/// Every row of every run of the journal.
fn all_rows(journal: &std::path::Path, sim: &Sim) -> Vec<Value> {
    common::runs(journal, sim)
        .iter()
        .flat_map(|r| common::show(journal, sim, r["run"].as_i64().unwrap()))
        .collect()
}

#[test]
fn two_submits_of_one_sheet_at_once_send_each_order_once() {
    // 20 batches of 100 ms, two at a time: a run of about a second, so the two
    // processes overlap.
    let sim = Sim::start(&["--latency-ms", "100"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "TWICE", ROWS);
    let submit = || {
        let mut cmd = console(&journal, &sim);
        cmd.args([
            "submit",
            csv.to_str().unwrap(),
            "--yes",
            "--json",
            "--concurrency",
            "2",
        ]);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (a, b) = (submit(), submit());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];

    let held = sim.orders_by_number();
    assert_eq!(held.len(), ROWS, "every order created");
    for (number, o) in &held {
        assert_eq!(o["CreateRequests"], 1, "{number} was sent by both: {o}");
    }
    // One process sent the sheet; the other was refused naming the run that holds
    // it (or, had the first already finished, skipped every row).
    let mut senders = 0;
    for out in &outs {
        let stderr = text(&out.stderr);
        match out.status.code() {
            Some(0) if summary(out)["sent"] == ROWS as u64 => senders += 1,
            Some(0) => assert_eq!(summary(out)["skipped"], ROWS as u64, "{stderr}"),
            Some(2) => {
                assert!(
                    stderr.contains("holds 1000 of these rows"),
                    "the refusal names the run holding the rows: {stderr}"
                );
                assert!(stderr.contains("Nothing was sent"), "{stderr}");
            }
            other => panic!("exit {other:?}: {stderr}"),
        }
    }
    assert_eq!(senders, 1);
    for r in all_rows(&journal, &sim) {
        assert_ne!(r["state"], "exists_before_run", "{r}");
    }
}

#[test]
fn a_sheet_whose_run_is_interrupted_is_refused_until_resumed_or_resent_on_purpose() {
    let sim = Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "AGAIN", ROWS);

    // The first run is killed part-way: some orders sent, the rest pending.
    let mut first = common::submit_part_way(&journal, &sim, &csv, &[], 1, 1);
    common::sigkill(&mut first.child);
    let sent_first = sim.orders().len();
    assert!(sent_first < ROWS, "the first run finished before the kill");

    // Submitting the sheet again is refused: run 1 holds its rows.
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is interrupted: resume 1"),
        "the refusal says how to go on: {stderr}"
    );
    assert!(stderr.contains("resume 1"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(common::runs(&journal, &sim).len(), 1, "no second run");
    assert_eq!(sim.orders().len(), sent_first, "nothing sent");

    // On purpose: --allow-resend sends them; what run 1 sent comes back 01, which is
    // ours (id unknown here), never "existed before the run".
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--json",
        "--allow-resend",
        "--concurrency",
        "8",
    ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["exists_before_run"], 0, "{s}");
    assert_eq!(
        s["created"].as_u64().unwrap() + s["exists_id_unknown"].as_u64().unwrap(),
        ROWS as u64,
        "{s}"
    );
    let held = sim.orders_by_number();
    assert_eq!(held.len(), ROWS);
}
