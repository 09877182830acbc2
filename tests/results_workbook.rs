#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console results RUN` through the real binary: a run against the simulator
//! with created, already existing (before the run, and skipped as created by an earlier
//! run), id-unknown (a lost answer), rejected, failed and invalid rows puts each row in
//! its sheet with the spreadsheet's own columns and cell texts and its outcome and
//! message; `--csv` writes the same; the Summary counts them. Runs journaled before
//! cells were kept show their typed fields.

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::{Sim, console, run, run_ok, summary, text};
use paypro_console::journal::{ItemState, Journal, NewItem, NewRun};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

const HEADER: &str = "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress,Notes";

fn line(number: &str, amount: &str, notes: &str) -> String {
    let today = chrono::Local::now().date_naive();
    let due = today + chrono::Days::new(30);
    format!(
        "{number},{amount},{},{},Name of {number},03001234567,{}@example.pk,House 1 Lahore,{notes}",
        due.format("%d/%m/%Y"),
        today.format("%d/%m/%Y"),
        number.to_lowercase()
    )
}

fn write_csv(path: &Path, lines: &[String]) {
    let mut text = format!("{HEADER}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Cells of a results sheet by row, as text (numbers as their shortest text).
fn sheet_rows(path: &Path, sheet: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::DateTime(d) => format!("date {}", d.as_f64()),
                    other => panic!("{sheet}: unexpected cell {other:?}"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_row_of_a_run_lands_in_its_outcome_sheet_with_its_own_cells_and_message() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");

    // Orders PayPro has before the run, unknown to this journal.
    let pre = dir.path().join("pre.csv");
    write_csv(
        &pre,
        &[line("PRE-1", "10.00", ""), line("PRE-2", "20.00", "")],
    );
    let mut cmd = console(&dir.path().join("other.sqlite3"), &sim);
    cmd.args(["submit", pre.to_str().unwrap(), "--yes"]);
    run_ok(cmd);
    // An order an earlier run of this journal created.
    let old = dir.path().join("old.csv");
    write_csv(&old, &[line("OLD-1", "30.00", "")]);
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", old.to_str().unwrap(), "--yes"]);
    run_ok(cmd);

    // The simulator stores the SIMLOST rows and loses the answer of the request that
    // carried them (whichever it is); sent again, they exist with ids we cannot know.
    let mut lines = Vec::new();
    for i in 1..=46 {
        lines.push(line(
            &format!("SIMLOST-{i:03}"),
            "100.50",
            &format!("lost {i}"),
        ));
        if i == 10 {
            lines.push(line("BAD-1", "abc", "not a number"));
        }
        if i == 20 {
            lines.push(line("OLD-1", "30.00", "sent before"));
        }
    }
    lines.push(line("REJ-1", "2000000.00", "over the limit"));
    lines.push(line("REJ-2", "3000000.00", "over the limit"));
    lines.push(line("SIMFAIL02-1", "5.00", "server fails"));
    lines.push(line("SIMFAIL02-2", "6.00", "server fails"));
    for i in 1..=5 {
        lines.push(line(&format!("NEW-{i}"), &format!("{i}000.25"), "fine"));
    }
    lines.push(line("PRE-1", "10.00", "exists already"));
    lines.push(line("PRE-2", "20.00", "exists already"));
    lines.push(line("BAD-2", "12.345", "three decimals"));
    let sheet = dir.path().join("month.csv");
    write_csv(&sheet, &lines);

    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        sheet.to_str().unwrap(),
        "--yes",
        "--json",
        "--concurrency",
        "1",
        "--max-attempts",
        "2",
    ]);
    let out = run(cmd);
    let s = summary(&out);
    let want = [
        ("created", 5),
        ("exists_before_run", 2),
        ("exists_id_unknown", 46),
        ("rejected", 2),
        ("failed", 2),
        ("invalid", 2),
        ("skipped", 1),
        ("pending", 0),
    ];
    for (k, n) in want {
        assert_eq!(s[k], n, "{k}: {s}\n{}", text(&out.stderr));
    }
    let run_id = s["run"].as_i64().unwrap();

    let mut cmd = console(&journal, &sim);
    cmd.current_dir(dir.path())
        .args(["results", &run_id.to_string()]);
    let out = run_ok(cmd);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "run {run_id}: 60 rows: 5 created, 3 already existed, 46 id unknown, 2 rejected, 2 failed, 0 not sent, 2 invalid"
        )),
        "{stdout}"
    );
    let path = dir.path().join(format!("run-{run_id}-results.xlsx"));
    assert!(
        stdout.contains(&format!("wrote run-{run_id}-results.xlsx")),
        "{stdout}"
    );

    // Row number, then the sheet's own cells exactly as in the file, per row.
    let csv_cells: HashMap<String, (u32, Vec<String>)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let cells: Vec<String> = l.split(',').map(String::from).collect();
            (cells[0].clone(), (i as u32 + 2, cells))
        })
        .collect();
    let remote = sim.orders_by_number();
    let old_id = remote["OLD-1"]["ConnectPayId"]
        .as_str()
        .unwrap()
        .to_string();
    let headers: Vec<String> = ["Row"]
        .iter()
        .map(|s| s.to_string())
        .chain(HEADER.split(',').map(String::from))
        .chain(
            [
                "State",
                "ConnectPayId",
                "Fee",
                "Status code",
                "Server message",
                "Attempts",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();
    let groups: [(&str, &[&str]); 7] = [
        ("Created", &["NEW-"]),
        ("Already existed", &["PRE-", "OLD-"]),
        ("Id unknown", &["SIMLOST-"]),
        ("Rejected", &["REJ-"]),
        ("Failed", &["SIMFAIL02-"]),
        ("Not sent", &[]),
        ("Invalid", &["BAD-"]),
    ];
    let mut seen = 0;
    for (sheet_name, prefixes) in groups {
        let rows = sheet_rows(&path, sheet_name);
        assert_eq!(rows[0], headers, "{sheet_name}");
        let want: Vec<&String> = {
            let mut keys: Vec<&String> = csv_cells
                .keys()
                .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
                .collect();
            keys.sort_by_key(|k| csv_cells[*k].0);
            keys
        };
        assert_eq!(rows.len() - 1, want.len(), "{sheet_name}");
        for (r, key) in rows[1..].iter().zip(want) {
            let (row, cells) = &csv_cells[key];
            assert_eq!(r[0], row.to_string(), "{sheet_name} {key}");
            assert_eq!(
                &r[1..10],
                &cells[..],
                "{sheet_name} {key}: the row's own cells"
            );
            let (state, id, fee, code, message, attempts) =
                (&r[10], &r[11], &r[12], &r[13], &r[14], &r[15]);
            match sheet_name {
                "Created" => {
                    assert_eq!(state, "created");
                    assert_eq!(id, remote[key]["ConnectPayId"].as_str().unwrap());
                    assert_eq!(fee, "60");
                    assert_eq!(code, "00");
                    assert!(message.contains("created"), "{message}");
                    assert_eq!(attempts, "1");
                }
                "Already existed" if key == "OLD-1" => {
                    assert_eq!(state, "skipped");
                    assert_eq!(id, &old_id);
                    assert_eq!(
                        message,
                        &format!("not sent: created in run 1, row 2, ConnectPayId {old_id}")
                    );
                    assert_eq!(attempts, "0");
                }
                "Already existed" => {
                    assert_eq!(state, "exists_before_run");
                    assert_eq!(code, "01");
                    assert!(
                        message.to_lowercase().contains("already exist"),
                        "{message}"
                    );
                }
                "Id unknown" => {
                    assert_eq!(state, "exists_id_unknown");
                    assert_eq!(id, "");
                    assert_eq!(code, "01");
                    assert_eq!(attempts, "2");
                }
                "Rejected" => {
                    assert_eq!(state, "rejected");
                    assert_eq!(code, "03");
                    assert!(!message.is_empty());
                }
                "Failed" => {
                    assert_eq!(state, "failed");
                    assert!(message.contains("02"), "{message}");
                    assert_eq!(attempts, "2");
                }
                "Invalid" => {
                    assert_eq!(state, "invalid");
                    assert!(message.starts_with("OrderAmount: "), "{message}");
                    assert_eq!(attempts, "0");
                }
                other => panic!("{other}"),
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 60);
    let summary_rows = sheet_rows(&path, "Summary");
    let counts: Vec<(String, String)> = summary_rows[12..20]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        counts,
        [
            ("Created", "5"),
            ("Already existed", "3"),
            ("Id unknown", "46"),
            ("Rejected", "2"),
            ("Failed", "2"),
            ("Not sent", "0"),
            ("Invalid", "2"),
            ("Total", "60"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Order amount of the created rows: 1000.25 + ... + 5000.25.
    assert_eq!(summary_rows[12][2], "15001.25");

    // The same as CSV files.
    let mut cmd = console(&journal, &sim);
    cmd.current_dir(dir.path())
        .args(["results", &run_id.to_string(), "--csv", "--json"]);
    let out = run_ok(cmd);
    let j: Value = summary(&out);
    assert_eq!(j["rows"], 60);
    assert_eq!(j["files"].as_array().unwrap().len(), 8);
    let failed =
        std::fs::read_to_string(dir.path().join(format!("run-{run_id}-results-failed.csv")))
            .unwrap();
    let mut reader = csv::Reader::from_reader(failed.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][1], "SIMFAIL02-1");
    assert_eq!(&rows[0][10], "failed");

    // Refused without --force; a run that does not exist is named.
    let mut cmd = console(&journal, &sim);
    cmd.current_dir(dir.path())
        .args(["results", &run_id.to_string()]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = console(&journal, &sim);
    cmd.current_dir(dir.path()).args(["results", "999"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("run 999 is not in the journal"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn runs_journaled_before_cells_were_kept_show_their_typed_fields() {
    let dir = common::tempdir();
    let path = dir.path().join("j.sqlite3");
    let j = Journal::open(&path).unwrap();
    let order = json!({
        "order_number": "A-1", "amount": "1500.00", "due_date": "2026-12-31",
        "issue_date": "2026-12-01", "customer_name": "Ali", "customer_mobile": "03001234567",
        "customer_email": "", "customer_address": "", "expire_after_seconds": null,
        "amount_within_due_date": null, "amount_after_due_date": null
    });
    j.create_run_with_items(
        &NewRun {
            kind: "orders".into(),
            source_file: "old.xlsx".into(),
            source_sha256: "00".into(),
            sheet: Some("Orders".into()),
            merchant_id: "demo".into(),
            base_url: "http://127.0.0.1:1".into(),
        },
        &[
            NewItem {
                row: 2,
                key: "A-1".into(),
                payload: order,
                issues: json!([]),
                state: ItemState::Pending,
            },
            NewItem {
                row: 3,
                key: "A-2".into(),
                payload: json!({"raw": ["A-2", "abc"]}),
                issues: json!([{"row": 3, "column": "OrderAmount", "severity": "error", "message": "\"abc\" is not an amount"}]),
                state: ItemState::Invalid,
            },
        ],
    )
    .unwrap();
    drop(j);
    let out_path = dir.path().join("old.xlsx");
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.arg("--journal")
        .arg(&path)
        .env("PAYPRO_LOG_DIR", dir.path().join("logs"))
        .args(["results", "1", "-o"])
        .arg(&out_path);
    run_ok(cmd);
    let created = sheet_rows(&out_path, "Not sent");
    assert_eq!(
        created[0][..9],
        [
            "Row",
            "OrderNumber",
            "OrderAmount",
            "OrderDueDate",
            "IssueDate",
            "CustomerName",
            "CustomerMobile",
            "CustomerEmail",
            "CustomerAddress"
        ]
    );
    assert_eq!(
        created[1][..7],
        [
            "2",
            "A-1",
            "1500.00",
            "2026-12-31",
            "2026-12-01",
            "Ali",
            "03001234567"
        ]
    );
    let invalid = sheet_rows(&out_path, "Invalid");
    assert_eq!(invalid[1][1], "A-2");
    let message = &invalid[1][13];
    assert_eq!(
        message,
        "OrderAmount: \"abc\" is not an amount; cells as read: A-2 | abc"
    );
}

#[test]
fn an_xlsx_sheets_own_cells_reach_the_results_as_the_clerk_saw_them() {
    use paypro_console::sheet::CellValue;
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let sample = common::sample("orders-with-errors.xlsx");
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", sample.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    let s = summary(&out);
    assert!(s["invalid"].as_u64().unwrap() > 0, "{s}");
    assert!(s["created"].as_u64().unwrap() > 0, "{s}");
    let run_id = s["run"].as_i64().unwrap();
    let results = dir.path().join("r.xlsx");
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "results",
        &run_id.to_string(),
        "-o",
        results.to_str().unwrap(),
    ]);
    run_ok(cmd);

    // The sample's cells by Excel row number, as the importer shows cells.
    let mut wb: Xlsx<_> = open_workbook(&sample).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let (first_row, first_col) = range.start().unwrap();
    assert_eq!(first_col, 0);
    let width = range.width();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| CellValue::from_data(c).plain())
        .collect();
    let by_row: HashMap<u32, Vec<String>> = range
        .rows()
        .enumerate()
        .skip(1)
        .map(|(i, r)| {
            (
                first_row + i as u32 + 1,
                r.iter().map(|c| CellValue::from_data(c).plain()).collect(),
            )
        })
        .collect();
    let mut checked = 0;
    for sheet in ["Created", "Invalid"] {
        let rows = sheet_rows(&results, sheet);
        assert_eq!(rows[0][1..=width], header[..], "{sheet}");
        for r in &rows[1..] {
            let row: u32 = r[0].parse().unwrap();
            assert_eq!(r[1..=width], by_row[&row][..], "{sheet} row {row}");
            checked += 1;
        }
    }
    assert_eq!(
        checked as u64,
        s["created"].as_u64().unwrap() + s["invalid"].as_u64().unwrap()
    );
}
