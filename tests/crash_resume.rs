#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety of the whole program: a 1,000-order run against a simulator with
//! latency and a few faults is killed with SIGKILL at seeded random moments (sometimes
//! its first resume is killed too), then resumed to completion. After every kill the
//! journal and the simulator must agree, and at the end every row is settled, no order
//! exists twice, and no order was sent more often than the journal counted sends (so
//! nothing was ever sent after the journal had it settled). It runs twice: with the
//! simulator's default answers (each item with its own `Status`) and with answers
//! shaped exactly like the guide's samples (`--guide-responses`: no per-item `Status`,
//! element 0 with the envelope code), which is how the real service answers.

mod common;

use common::{Sim, console, show, start_and_kill, summary, text};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const ROWS: usize = 1000;
/// Kill-and-resume rounds per answer shape.
const ITERATIONS: usize = 6;

/// What must hold between the journal and the simulator at any moment, even right
/// after a kill: every order the simulator holds was journaled as sent (write-ahead),
/// at least as many times as the simulator saw it; ids the journal holds are the
/// simulator's; nothing the journal settled as created is missing from the simulator.
fn check_agreement(rows: &[Value], held: &HashMap<String, Value>, prefix: &str) {
    let mut journaled = 0;
    for r in rows {
        let key = r["key"].as_str().unwrap();
        let state = r["state"].as_str().unwrap();
        let attempts = r["attempts"].as_u64().unwrap();
        journaled += 1;
        if let Some(o) = held.get(key) {
            let requests = o["CreateRequests"].as_u64().unwrap();
            assert!(
                requests <= attempts,
                "{key}: the simulator saw {requests} creates, the journal counted {attempts} sends: {r}"
            );
            assert!(
                state != "failed" && !(state == "pending" && attempts == 0),
                "{key} is held by the simulator but {state} in the journal: {r}"
            );
            assert_ne!(
                state, "exists_before_run",
                "{key}: we sent it, so it did not exist before: {r}"
            );
            if let Some(id) = r["connectpay_id"].as_str() {
                assert_eq!(Some(id), o["ConnectPayId"].as_str(), "{key}: {r}");
            }
        } else {
            assert!(
                !matches!(state, "created" | "exists_before_run" | "exists_id_unknown"),
                "{key} is {state} in the journal but the simulator does not hold it: {r}"
            );
        }
    }
    assert_eq!(journaled, ROWS);
    assert!(held.keys().all(|k| k.starts_with(prefix)));
}

#[test]
fn killed_runs_resume_to_completion_without_loss_or_duplicates() {
    killed_runs_resume(&[], 0x5eed_c0de);
}

#[test]
fn killed_runs_resume_to_completion_with_guide_shaped_answers() {
    killed_runs_resume(&["--guide-responses"], 0x6d1d_e5a9);
}

fn killed_runs_resume(shape: &[&str], seed: u64) {
    let mut args = vec![
        "--latency-ms",
        "60",
        "--jitter-ms",
        "60",
        "--fail-500-rate",
        "0.03",
        "--drop-after-rate",
        "0.03",
        "--seed",
        "11",
    ];
    args.extend_from_slice(shape);
    let sim = Sim::start(&args);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let started = std::time::Instant::now();
    let mut killed_mid_run = 0;

    for i in 0..ITERATIONS {
        let prefix = format!("CRASH{i}");
        let csv = dir.path().join(format!("orders-{i}.csv"));
        common::write_orders_csv(&csv, &prefix, ROWS);
        let by_prefix = |held: HashMap<String, Value>| -> HashMap<String, Value> {
            held.into_iter()
                .filter(|(k, _)| k.starts_with(&format!("{prefix}-")))
                .collect()
        };

        let delay = Duration::from_millis(rng.random_range(0..600));
        let mut cmd = console(&journal, &sim);
        cmd.args([
            "submit",
            csv.to_str().unwrap(),
            "--yes",
            "--concurrency",
            "4",
        ]);
        let run = start_and_kill(cmd, delay);
        let rows = show(&journal, &sim, run);
        let held = by_prefix(sim.orders_by_number());
        check_agreement(&rows, &held, &format!("{prefix}-"));
        let unsettled = rows
            .iter()
            .filter(|r| !common::SETTLED.contains(&r["state"].as_str().unwrap()))
            .count();
        if unsettled > 0 {
            killed_mid_run += 1;
        }
        eprintln!(
            "iteration {i}: killed after {delay:?}: {unsettled} rows unsettled, simulator holds {}",
            held.len()
        );

        // Every other time, the first resume is killed as well.
        if i % 2 == 1 {
            let delay = Duration::from_millis(rng.random_range(0..400));
            let mut cmd = console(&journal, &sim);
            cmd.args(["resume", &run.to_string(), "--yes"]);
            start_and_kill(cmd, delay);
            check_agreement(
                &show(&journal, &sim, run),
                &by_prefix(sim.orders_by_number()),
                &format!("{prefix}-"),
            );
        }

        let mut cmd = console(&journal, &sim);
        cmd.args([
            "resume",
            &run.to_string(),
            "--yes",
            "--json",
            "--concurrency",
            "8",
        ]);
        let out = common::run(cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{shape:?} iteration {i} (kill after {delay:?}): {}",
            text(&out.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["rows"], ROWS as u64);
        assert_eq!(s["pending"], 0);
        assert_eq!(s["failed"], 0);

        let rows = show(&journal, &sim, run);
        let held = by_prefix(sim.orders_by_number());
        check_agreement(&rows, &held, &format!("{prefix}-"));
        assert_eq!(held.len(), ROWS, "iteration {i}: orders lost");
        for r in &rows {
            let state = r["state"].as_str().unwrap();
            assert!(
                matches!(state, "created" | "exists_id_unknown"),
                "iteration {i}: row not settled as sent: {r}"
            );
        }
    }
    // Otherwise the kills proved nothing.
    assert!(
        killed_mid_run * 2 >= ITERATIONS,
        "only {killed_mid_run} of {ITERATIONS} kills landed mid-run"
    );
    eprintln!(
        "{shape:?}: {ITERATIONS} kill-and-resume iterations took {:?}",
        started.elapsed()
    );
}

#[test]
fn write_orders_csv_is_importable() {
    let dir = common::tempdir();
    let csv = dir.path().join("o.csv");
    common::write_orders_csv(&csv, "T", 3);
    let imported = paypro_console::sheet::read(Path::new(&csv), None, None).unwrap();
    assert_eq!(imported.valid_count(), 3, "{:?}", imported.issues);
}
