#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A 1,000-order `submit` through the real binary against `paypro-console sim` with
//! 20% of requests faulted (HTTP 500, an HTML page with 200, JSON cut short, the
//! connection dropped before or after the orders are stored), finished as a clerk
//! would (with `retry` if rows are left failed): every order exists exactly once, the
//! journal's ids are the simulator's, and the journal shows that every kind of fault
//! was met and handled.

mod common;

use common::{Sim, console, run, show, summary, text};
use paypro_console::journal::{AttemptInfo, Journal, RunId};
use std::collections::{BTreeSet, HashMap};

const ROWS: usize = 1000;

/// For this seed the simulator's fault stream holds exactly five faults in its first 30
/// draws, one of each kind, all within the first 10 requests (`...BTH5..A`, B = drop
/// before store, T = truncated, H = HTML, 5 = HTTP 500, A = drop after store). The 20
/// first sends are out long before the first backoff ends, so each fault meets a
/// different batch's first send and [`fault_kinds_met`] can tell every kind apart.
const SEED: &str = "214954";

/// The fault kinds the journal proves were met. An attempt that ended with no per-item
/// status (to be sent again, or given up on until the clerk's `retry`) met a fault. The
/// answer the order finally got says whether its faulted sends stored it: `00` means
/// none did (an unreadable 200 was the HTML page, no answer was a drop before store),
/// `01` means one did. A 500 never stores, so when the other faults an order met are
/// all of one transport, that transport tells which kind stored it (an unreadable 200:
/// truncated JSON; no answer: a drop after store).
fn fault_kinds_met(attempts: &[Vec<AttemptInfo>]) -> BTreeSet<&'static str> {
    let mut kinds = BTreeSet::new();
    for item in attempts {
        let Some(last) = item.last() else { continue };
        let faults: Vec<&AttemptInfo> = item
            .iter()
            .filter(|a| {
                a.status_code.is_none() && matches!(a.result.as_deref(), Some("retry" | "failed"))
            })
            .collect();
        if faults.iter().any(|a| a.http_status == Some(500)) {
            kinds.insert("http 500");
        }
        let storing: Vec<Option<u16>> = faults
            .iter()
            .map(|a| a.http_status)
            .filter(|s| *s != Some(500))
            .collect();
        match last.status_code.as_deref() {
            Some("00") => {
                if storing.contains(&Some(200)) {
                    kinds.insert("html 200");
                }
                if storing.contains(&None) {
                    kinds.insert("drop before store");
                }
            }
            Some("01") if !storing.is_empty() => {
                if storing.iter().all(|s| *s == Some(200)) {
                    kinds.insert("truncated json");
                }
                if storing.iter().all(Option::is_none) {
                    kinds.insert("drop after store");
                }
            }
            _ => {}
        }
    }
    kinds
}

#[test]
fn a_thousand_orders_through_every_kind_of_fault_are_each_created_exactly_once() {
    every_kind_of_fault(&[]);
}

/// The same with batch answers shaped exactly like the guide's samples (no per-item
/// `Status`; each order decided by its own content).
#[test]
fn every_kind_of_fault_with_guide_shaped_answers() {
    every_kind_of_fault(&["--guide-responses"]);
}

fn every_kind_of_fault(shape: &[&str]) {
    let sim = Sim::with_every_fault_shaped(SEED, "0.04", shape);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("faults.csv");
    common::write_orders_csv(&csv, "FLT", ROWS);
    let numbers: BTreeSet<String> = (1..=ROWS).map(|i| format!("FLT-{i:05}")).collect();

    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let mut out = run(cmd);
    let mut s = summary(&out);
    let run_id = s["run"].as_i64().unwrap();
    // A clerk sends failed rows again; after a few rounds something is really wrong.
    // Rows sent again: by the engine within an invocation, or by the clerk's `retry`.
    let mut sent_again = s["retries"].as_u64().unwrap();
    let mut rounds = 0;
    while s["failed"] != 0 && rounds < 3 {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        rounds += 1;
        sent_again += s["failed"].as_u64().unwrap();
        let mut cmd = console(&journal, &sim);
        cmd.args(["retry", &run_id.to_string(), "--yes", "--json"]);
        out = run(cmd);
        s = summary(&out);
        sent_again += s["retries"].as_u64().unwrap();
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "after {rounds} retries: {s}\n{}",
        text(&out.stderr)
    );
    assert_eq!(s["run"], run_id);
    assert_eq!(s["state"], "completed", "{s}");
    assert_eq!(s["rows"], ROWS as u64, "{s}");
    assert_eq!(s["sent"], ROWS as u64, "{s}");
    for key in [
        "exists_before_run",
        "rejected",
        "failed",
        "pending",
        "invalid",
        "skipped",
    ] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    let count = |key: &str| s[key].as_u64().unwrap();
    let settled: u64 = [
        "created",
        "exists_before_run",
        "exists_id_unknown",
        "rejected",
        "failed",
        "pending",
        "invalid",
        "skipped",
    ]
    .iter()
    .map(|k| count(k))
    .sum();
    assert_eq!(settled, ROWS as u64, "the counts do not add up: {s}");
    assert!(sent_again > 0, "no row was sent again: {s}");
    // A lost answer to a request that stored its orders (truncated, dropped after
    // store) leaves them existing with an id the run never saw.
    assert!(count("exists_id_unknown") > 0, "{s}");

    // The simulator holds each order once, and nothing else.
    let held = sim.orders_by_number();
    assert_eq!(
        held.keys().cloned().collect::<BTreeSet<_>>(),
        numbers,
        "the simulator's orders are not exactly the sheet's"
    );

    let rows = show(&journal, &sim, run_id);
    assert_eq!(rows.len(), ROWS);
    let mut by_state: HashMap<&str, u64> = HashMap::new();
    let mut resent = 0;
    for r in &rows {
        let key = r["key"].as_str().unwrap();
        let state = r["state"].as_str().unwrap();
        let attempts = r["attempts"].as_u64().unwrap();
        *by_state.entry(state).or_default() += 1;
        let o = &held[key];
        let requests = o["CreateRequests"].as_u64().unwrap();
        assert!(
            requests <= attempts,
            "{key}: the simulator saw {requests} creates, the journal counted {attempts} sends: {r}"
        );
        if attempts > 1 {
            resent += 1;
        }
        match state {
            "created" => assert_eq!(r["connectpay_id"], o["ConnectPayId"], "{r}\n{o}"),
            "exists_id_unknown" => {
                // Only our own earlier, unanswered send can have created it.
                assert!(attempts >= 2, "{r}");
                assert!(r["connectpay_id"].is_null(), "{r}");
            }
            other => panic!("{key} ended {other}: {r}"),
        }
    }
    assert!(resent > 0, "no row shows more than one send");
    assert_eq!(by_state.get("created").copied(), Some(count("created")));
    assert_eq!(
        by_state
            .get("exists_id_unknown")
            .copied()
            .unwrap_or_default(),
        count("exists_id_unknown")
    );

    // Every kind of fault was met, and each ended as it must.
    let j = Journal::open(&journal).unwrap();
    let items = j.items(RunId(run_id), None).unwrap();
    assert_eq!(items.len(), ROWS);
    let attempts: Vec<Vec<AttemptInfo>> = items
        .iter()
        .map(|item| j.item_attempts(item.id).unwrap())
        .collect();
    for a in attempts.iter().flatten() {
        assert_eq!(a.endpoint, "cmo", "{a:?}");
        assert!(a.batch_size <= 50, "{a:?}");
    }
    let kinds = fault_kinds_met(&attempts);
    let all: BTreeSet<&str> = [
        "http 500",
        "html 200",
        "truncated json",
        "drop before store",
        "drop after store",
    ]
    .into_iter()
    .collect();
    assert_eq!(kinds, all, "fault kinds the journal shows were met");
    eprintln!(
        "{} rows created, {} existed after a lost answer, {resent} sent more than once, {rounds} retry rounds",
        count("created"),
        count("exists_id_unknown"),
    );
}
