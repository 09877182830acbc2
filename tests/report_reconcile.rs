#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Ids the journal could not know: orders whose create answers the simulator dropped
//! (`--drop-after-rate 1.0`) end `exists_id_unknown`; once some are paid
//! (`/__sim/pay`), `report paid` (and `--reconcile-only`) fills their ConnectPay ids
//! into the journal, equal to the simulator's, saying how many and where the ids came
//! from. Orders not in the report, and runs against another server, are left alone.

mod common;

use common::{Sim, console, run, run_ok, show, summary, text};
use paypro_console::journal::{ItemState, Journal, RunId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// A run of `n` orders whose create answers were all lost: submitted while the
/// simulator drops every answer after storing (one try each, so they fail), then sent
/// again with the faults off (`01` after a lost answer: `exists_id_unknown`).
fn run_with_lost_answers(sim: &Sim, journal: &Path, prefix: &str, n: usize, resend: bool) -> i64 {
    let csv = journal.with_file_name(format!("{prefix}.csv"));
    common::write_orders_csv(&csv, prefix, n);
    let mut cmd = console(journal, sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--json",
        "--max-attempts",
        "1",
    ]);
    if resend {
        // The cross-run guard compares merchant ids, not servers.
        cmd.arg("--allow-resend");
    }
    let out = run(cmd);
    let s = summary(&out);
    assert_eq!(s["failed"], n as u64, "{s}\n{}", text(&out.stderr));
    let run_id = s["run"].as_i64().unwrap();

    let (status, body) = sim.post("/__sim/faults", &json!({}));
    assert_eq!(status, 200, "{body}");
    let mut cmd = console(journal, sim);
    cmd.args(["retry", &run_id.to_string(), "--yes", "--json"]);
    let s = summary(&run_ok(cmd));
    assert_eq!(s["exists_id_unknown"], n as u64, "{s}");
    run_id
}

fn pay(sim: &Sim, ids: &[&str], date: &str) {
    let (status, body) = sim.post(
        "/__sim/pay",
        &json!({ "ConnectPayIds": ids, "DatePaid": date }),
    );
    assert_eq!(status, 200, "{body}");
}

fn rows_by_key(journal: &Path, sim: &Sim, run: i64) -> HashMap<String, Value> {
    show(journal, sim, run)
        .into_iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r))
        .collect()
}

/// `report paid ARGS` with this journal and simulator, run in `dir`.
fn report_paid(journal: &Path, sim: &Sim, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = console(journal, sim);
    cmd.current_dir(dir).args(["report", "paid"]).args(args);
    cmd
}

#[test]
fn a_paid_orders_report_fills_in_the_ids_lost_answers_left_unknown() {
    let sim = Sim::start(&["--drop-after-rate", "1.0"]);
    let other = Sim::start(&["--drop-after-rate", "1.0"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let run_id = run_with_lost_answers(&sim, &journal, "LOST", 5, false);
    // The same order numbers at another server, in the same journal.
    let other_run = run_with_lost_answers(&other, &journal, "LOST", 5, true);

    let remote = sim.orders_by_number();
    assert_eq!(remote.len(), 5);
    let id = |n: usize| {
        remote[&format!("LOST-{n:05}")]["ConnectPayId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = rows_by_key(&journal, &sim, run_id);
    for n in 1..=5 {
        let r = &before[&format!("LOST-{n:05}")];
        assert_eq!(r["state"], "exists_id_unknown");
        assert_eq!(r["connectpay_id"], Value::Null);
    }
    pay(&sim, &[&id(1), &id(2), &id(3)], "2026-01-10");

    // --reconcile-only: the ids, no workbook.
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--reconcile-only",
            "--json",
        ],
    );
    let out = run_ok(cmd);
    let s = summary(&out);
    assert_eq!(s["ids_filled"], 3, "{s}");
    assert_eq!(s["file"], Value::Null);
    let filled: Vec<(String, String)> = s["filled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["run"], run_id);
            (
                f["order_number"].as_str().unwrap().to_string(),
                f["connectpay_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        filled,
        (1..=3)
            .map(|n| (format!("LOST-{n:05}"), id(n)))
            .collect::<Vec<_>>()
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("filled 3 ConnectPay ids into the journal"),
        "{stderr}"
    );
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "xlsx")),
        "--reconcile-only writes no workbook"
    );

    // The journal: those three are created with the simulator's ids, and say where
    // the ids came from; the two unpaid ones are still unknown.
    let after = rows_by_key(&journal, &sim, run_id);
    for n in 1..=5 {
        let r = &after[&format!("LOST-{n:05}")];
        if n <= 3 {
            assert_eq!(r["state"], "created", "{r}");
            assert_eq!(r["connectpay_id"], id(n).as_str());
            let message = r["message"].as_str().unwrap();
            assert!(
                message.starts_with(
                    "ConnectPayId from the paid-orders report for 2026-01-01 to 2026-01-31 fetched at "
                ),
                "{message}"
            );
            assert!(message.contains("PayPro had answered:"), "{message}");
        } else {
            assert_eq!(r["state"], "exists_id_unknown", "{r}");
            assert_eq!(r["connectpay_id"], Value::Null);
        }
    }
    let j = Journal::open(&journal).unwrap();
    for item in j.items(RunId(run_id), None).unwrap() {
        let source = j.id_source(item.id).unwrap();
        match item.state {
            ItemState::Created => assert!(
                source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("paid-orders report for 2026-01-01")),
                "{source:?}"
            ),
            _ => assert_eq!(source, None),
        }
    }
    // The run at the other server is not touched: its order numbers are not its ids.
    for item in j.items(RunId(other_run), None).unwrap() {
        assert_eq!(item.state, ItemState::ExistsIdUnknown, "row {}", item.row);
        assert_eq!(item.connectpay_id, None);
    }
    drop(j);

    // Fetched again, nothing is left to fill.
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--reconcile-only",
        ],
    );
    let out = run_ok(cmd);
    assert!(
        text(&out.stdout).contains("no ConnectPay ids to fill in"),
        "{}",
        text(&out.stdout)
    );

    // One more paid later: the full report fills it and writes the workbook.
    pay(&sim, &[&id(4)], "2026-02-03");
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-28",
            "-o",
            "jan-feb.xlsx",
        ],
    );
    let out = run_ok(cmd);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("filled 1 ConnectPay id into the journal"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  run {run_id} row 5 order LOST-00004: {}", id(4))),
        "{stdout}"
    );
    assert!(dir.path().join("jan-feb.xlsx").exists());
    let last = rows_by_key(&journal, &sim, run_id);
    assert_eq!(last["LOST-00004"]["connectpay_id"], id(4).as_str());
    assert_eq!(last["LOST-00005"]["state"], "exists_id_unknown");
    // Still exactly one order per number at the simulator.
    assert_eq!(sim.orders_by_number().len(), 5);
}
