#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console report paid` through the real binary against `paypro-console sim`:
//! a range fetched in several requests with paid orders in each, merged into one
//! workbook whose ids and amounts are the simulator's; an empty range gives a valid
//! workbook with zero totals; bad credentials, a bad range and an existing file give a
//! clear error and no file; Ctrl-C during the fetch leaves no file.

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::{Sim, console, run, run_ok, text};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Submits `n` orders numbered `{prefix}-00001`... and returns the simulator's orders
/// by number.
fn create_orders(sim: &Sim, journal: &Path, prefix: &str, n: usize) -> HashMap<String, Value> {
    let csv = journal.with_file_name(format!("{prefix}.csv"));
    common::write_orders_csv(&csv, prefix, n);
    let mut cmd = console(journal, sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let out = run_ok(cmd);
    assert_eq!(common::summary(&out)["created"], n as u64);
    sim.orders_by_number()
}

fn pay(sim: &Sim, ids: &[&str], date: &str) {
    let (status, body) = sim.post(
        "/__sim/pay",
        &json!({ "ConnectPayIds": ids, "DatePaid": date }),
    );
    assert_eq!(status, 200, "{body}");
    let paid: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(paid["Paid"].as_array().unwrap().len(), ids.len(), "{body}");
}

fn id_of<'a>(orders: &'a HashMap<String, Value>, number: &str) -> &'a str {
    orders[number]["ConnectPayId"].as_str().unwrap()
}

fn money(d: &Data) -> Decimal {
    match d {
        Data::Float(f) => Decimal::from_str(&f.to_string()).unwrap(),
        other => panic!("expected a number, got {other:?}"),
    }
}

/// Order number, ConnectPay Id, customer name, date paid (y, m, d), amount paid.
type PaidLine = (String, String, String, (u16, u8, u8), Decimal);

fn read_paid_sheet(path: &Path) -> Vec<PaidLine> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let sheet = wb.worksheet_range("Paid orders").unwrap();
    let mut out = Vec::new();
    for r in 1.. {
        match sheet.get((r, 0)) {
            Some(Data::String(n)) if n != "Total" => {
                let s = |c: usize| match sheet.get((r, c)) {
                    Some(Data::String(s)) => s.clone(),
                    _ => String::new(),
                };
                let paid = match sheet.get((r, 9)) {
                    Some(Data::DateTime(dt)) => {
                        let (y, m, d, ..) = dt.to_ymd_hms_milli();
                        (y, m, d)
                    }
                    other => panic!("date paid of row {r}: {other:?}"),
                };
                out.push((
                    n.clone(),
                    s(1),
                    s(2),
                    paid,
                    money(sheet.get((r, 11)).unwrap()),
                ));
            }
            _ => break,
        }
    }
    out
}

/// `report paid ARGS` with this journal and simulator, run in `dir`.
fn report_paid(journal: &Path, sim: &Sim, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = console(journal, sim);
    cmd.current_dir(dir).args(["report", "paid"]).args(args);
    cmd
}

#[test]
fn a_range_fetched_in_several_requests_merges_into_one_workbook_of_the_simulators_orders() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let orders = create_orders(&sim, &journal, "PAY", 9);
    let ids: Vec<&str> = (1..=9)
        .map(|i| id_of(&orders, &format!("PAY-{i:05}")))
        .collect();
    // Paid orders in each month; one never paid.
    pay(&sim, &ids[0..3], "2026-01-10");
    pay(&sim, &ids[3..6], "2026-02-15");
    pay(&sim, &ids[6..8], "2026-03-31");

    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &["--from", "2026-01-01", "--to", "31/03/2026"],
    );
    let out = run_ok(cmd);
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    for line in [
        "fetching paid orders from 2026-01-01 to 2026-03-31 in 3 requests",
        "(2026-01-01 to 2026-01-31): 3 paid orders",
        "(2026-02-01 to 2026-02-28): 3 paid orders",
        "(2026-03-01 to 2026-03-31): 2 paid orders",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }
    assert!(
        stdout.contains("8 paid orders from 01/01/2026 to 31/03/2026 for merchant demo"),
        "{stdout}"
    );
    let file = dir
        .path()
        .join("paid-orders-demo-2026-01-01-to-2026-03-31.xlsx");
    assert!(stdout.contains(&format!(
        "wrote {}",
        file.file_name().unwrap().to_string_lossy()
    )));

    let rows = read_paid_sheet(&file);
    assert_eq!(rows.len(), 8);
    let mut total = Decimal::ZERO;
    for (i, (number, id, name, paid, amount)) in rows.iter().enumerate() {
        let n = i + 1;
        assert_eq!(number, &format!("PAY-{n:05}"), "sorted by date paid");
        let sim_order = &orders[number];
        assert_eq!(id, sim_order["ConnectPayId"].as_str().unwrap());
        // The API's report has no customer name: it comes from the journal.
        assert_eq!(name, &format!("Customer {n}"));
        let want_day = match n {
            1..=3 => (2026, 1, 10),
            4..=6 => (2026, 2, 15),
            _ => (2026, 3, 31),
        };
        assert_eq!(*paid, want_day);
        let sim_amount = Decimal::from_str(sim_order["OrderAmount"].as_str().unwrap()).unwrap();
        assert_eq!(*amount, sim_amount.normalize());
        total += sim_amount;
    }
    let mut wb: Xlsx<_> = open_workbook(&file).unwrap();
    let sheet = wb.worksheet_range("Paid orders").unwrap();
    assert_eq!(sheet.get((10, 0)), Some(&Data::String("Total".into())));
    assert_eq!(money(sheet.get((10, 11)).unwrap()), total.normalize());

    // The same range in 10-day requests: the same orders, as JSON.
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--chunk-days",
            "10",
            "-o",
            "tens.xlsx",
            "--json",
        ],
    );
    let out = run_ok(cmd);
    let s = common::summary(&out);
    assert_eq!(s["chunks"], 9);
    assert_eq!(s["orders"], 8);
    assert_eq!(s["duplicates_removed"], 0);
    assert_eq!(s["ids_filled"], 0);
    assert_eq!(
        Decimal::from_str(s["total_paid"].as_str().unwrap()).unwrap(),
        total
    );
    assert_eq!(
        read_paid_sheet(&dir.path().join("tens.xlsx")),
        rows,
        "the chunking does not change the report"
    );
}

#[test]
fn an_empty_range_gives_a_valid_workbook_with_headers_and_zero_totals() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-15",
            "-o",
            "empty.xlsx",
        ],
    );
    let out = run_ok(cmd);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("(2025-02-01 to 2025-02-15): 0 paid orders"),
        "{stderr}"
    );
    let path = dir.path().join("empty.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = wb.worksheet_range("Paid orders").unwrap();
    assert_eq!(
        sheet.get((0, 1)),
        Some(&Data::String("ConnectPay Id".into()))
    );
    assert_eq!(sheet.get((2, 0)), Some(&Data::String("Total".into())));
    assert_eq!(sheet.get((2, 11)), Some(&Data::Float(0.0)));
    let summary = wb.worksheet_range("Summary").unwrap();
    assert_eq!(summary.get((5, 1)), Some(&Data::Float(0.0)));
}

#[test]
fn bad_credentials_give_a_clear_error_and_no_file() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &["--from", "2026-01-01", "--to", "2026-03-31"],
    );
    cmd.env("PAYPRO_PASSWORD", "wrong-secret-123");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("PayPro refused the merchant id or password for the paid-orders report"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-123"), "{stderr}");
    assert!(!text(&out.stdout).contains("wrong-secret-123"));
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("j."))
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn a_bad_range_or_an_existing_file_is_refused_before_anything_is_fetched() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &["--from", "2026-02-01", "--to", "2026-01-01"],
    );
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("--from 2026-02-01 is after --to 2026-01-01; nothing was fetched"),
        "{}",
        text(&out.stderr)
    );

    let existing = dir.path().join("march.xlsx");
    std::fs::write(&existing, b"keep me").unwrap();
    let args = [
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "-o",
        "march.xlsx",
    ];
    let cmd = report_paid(&journal, &sim, dir.path(), &args);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("march.xlsx already exists"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(
        !stderr.contains("fetching"),
        "refused before fetching: {stderr}"
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");

    let mut cmd = report_paid(&journal, &sim, dir.path(), &args);
    cmd.arg("--force");
    run_ok(cmd);
    let mut wb: Xlsx<_> = open_workbook(&existing).unwrap();
    assert!(wb.worksheet_range("Paid orders").is_ok());
}

#[test]
fn ctrl_c_while_fetching_leaves_no_file() {
    // Every answer takes 20 s: the fetch is certainly under way when Ctrl-C comes.
    let sim = Sim::start(&["--latency-ms", "20000"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let cmd = report_paid(
        &journal,
        &sim,
        dir.path(),
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "-o",
            "q1.xlsx",
        ],
    );
    let mut watched = common::spawn_watched(cmd);
    watched.wait_for("fetching paid orders", Duration::from_secs(20));
    common::sigint(&watched.child);
    let (code, _, stderr) = watched.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stopped; nothing was written"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("q1"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
