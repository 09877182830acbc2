#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console validate` as a clerk runs it: the real binary, exit codes 0/1/2, the
//! readable report, the `--json` shape, and unusable files refused in one line.

use rust_xlsxwriter::Workbook;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paypro-console"))
        // Keep the test's logs out of the user's data directory.
        .env(
            "PAYPRO_LOG_DIR",
            std::env::temp_dir().join("paypro-console-test-logs"),
        )
        .arg("validate")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn orders_xlsx(dir: &Path, name: &str, rows: &[[&str; 8]]) -> PathBuf {
    let path = dir.join(name);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Orders").unwrap();
    let headers = [
        "OrderNumber",
        "OrderAmount",
        "OrderDueDate",
        "IssueDate",
        "CustomerName",
        "CustomerMobile",
        "CustomerEmail",
        "CustomerAddress",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save(&path).unwrap();
    path
}

const OK1: [&str; 8] = [
    "INV-1",
    "1500.50",
    "15/12/2026",
    "24/11/2026",
    "Ali Khan",
    "3123456789",
    "ali@x.pk",
    "Lahore",
];
const OK2: [&str; 8] = [
    "INV-2",
    "4,400",
    "2026-12-20",
    "2026-11-24",
    "Sara Ahmed",
    "",
    "",
    "",
];
const BAD: [&str; 8] = [
    "INV-3",
    "10.005",
    "15/12/2026",
    "24/11/2026",
    "Umar",
    "",
    "ali@@x.pk",
    "",
];

/// Exit 2, nothing on stdout, one line on stderr naming the file, no panic.
fn assert_unusable(o: &Output, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout {} stderr {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{err:?} should contain {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(o).is_empty());
}

#[test]
fn all_valid_exits_0_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = orders_xlsx(dir.path(), "good.xlsx", &[OK1, OK2]);
    let o = validate(&[path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("sheet \"Orders\": orders (guessed from the headers"),
        "{out}"
    );
    assert!(
        out.contains("2 rows: 2 valid, 0 invalid, 1 warnings"),
        "{out}"
    );
    assert!(
        out.contains("row 2, CustomerMobile (warning): \"3123456789\" was read as 03123456789"),
        "{out}"
    );
}

#[test]
fn some_invalid_exits_1_and_lists_each_issue() {
    let dir = tempfile::tempdir().unwrap();
    let path = orders_xlsx(dir.path(), "mixed.xlsx", &[OK1, BAD, OK1]);
    let o = validate(&[path.to_str().unwrap(), "--kind", "orders"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("3 rows: 1 valid, 2 invalid"), "{out}");
    assert!(
        out.contains("row 3, OrderAmount: \"10.005\" has 3 decimal places"),
        "{out}"
    );
    assert!(out.contains(
        "row 3, CustomerEmail: \"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)"
    ), "{out}");
    assert!(
        out.contains("row 4, OrderNumber: \"INV-1\" repeats the order number of row 2"),
        "{out}"
    );
    assert!(!out.contains("guessed"));
}

#[test]
fn json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = orders_xlsx(dir.path(), "mixed.xlsx", &[OK1, BAD]);
    let o = validate(&[path.to_str().unwrap(), "--json", "--sheet", "Orders"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "errors", "file", "invalid", "issues", "kind", "rows", "sheet", "valid", "warnings"
        ]
    );
    assert_eq!(v["file"], path.to_str().unwrap());
    assert_eq!(v["kind"], "orders");
    assert_eq!(v["sheet"], "Orders");
    assert_eq!(v["rows"], 2);
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["warnings"], 1);
    let issues = v["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 3);
    assert_eq!(
        issues[2],
        serde_json::json!({
            "row": 3,
            "column": "CustomerEmail",
            "severity": "error",
            "message": "\"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)",
            "column_index": 6,
            "header": "CustomerEmail"
        })
    );
    assert_eq!(issues[0]["severity"], "warning");
}

#[test]
fn a_png_renamed_xlsx_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.xlsx");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10").unwrap();
    let o = validate(&[path.to_str().unwrap()]);
    assert_unusable(&o, "not an Excel workbook (.xlsx): it is an image");
}

#[test]
fn an_empty_workbook_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet();
    wb.save(&path).unwrap();
    let o = validate(&[path.to_str().unwrap()]);
    assert_unusable(&o, "the workbook has no non-empty sheet");
}

#[test]
fn a_sheet_without_header_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noheader.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "INV-1").unwrap();
    ws.write_number(0, 1, 1500.0).unwrap();
    ws.write_string(1, 0, "INV-2").unwrap();
    wb.save(&path).unwrap();
    let o = validate(&[path.to_str().unwrap()]);
    assert_unusable(
        &o,
        "no header row: expected a row naming two or more columns of one kind",
    );
    assert!(stderr(&o).contains("the first non-empty row (1) has \"INV-1\", \"1500\""));
    let o = validate(&[path.to_str().unwrap(), "--kind", "refunds"]);
    assert_unusable(
        &o,
        "two or more of the columns of refunds (OrderNumber, Amount)",
    );
}

#[test]
fn missing_file_missing_column_and_unknown_sheet_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = validate(&[dir.path().join("absent.xlsx").to_str().unwrap()]);
    assert_unusable(&o, "cannot open");

    let path = dir.path().join("refunds.csv");
    std::fs::write(&path, "OrderNumber,Notes\nINV-1,x\n").unwrap();
    let o = validate(&[path.to_str().unwrap(), "--kind", "refunds"]);
    assert_unusable(
        &o,
        "missing mandatory column Amount for refunds; headers found: \"OrderNumber\", \"Notes\"",
    );

    let good = orders_xlsx(dir.path(), "good.xlsx", &[OK1]);
    let o = validate(&[good.to_str().unwrap(), "--sheet", "Nope"]);
    assert_unusable(&o, "no sheet named \"Nope\"");
}

#[test]
fn an_unknown_kind_is_a_usage_error() {
    let o = validate(&["x.xlsx", "--kind", "invoices"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("consumer-updates"), "{}", stderr(&o));
}

#[test]
fn json_on_exit_2_is_an_object_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.xlsx");
    std::fs::write(&path, "OrderNumber,OrderAmount\nINV-1,1500\n").unwrap();
    let o = validate(&[path.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["file"], path.to_str().unwrap());
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains(
            "not an .xlsx file: it is not a ZIP archive but plain text — was it saved as CSV"
        ),
        "{error}"
    );
    assert!(stderr(&o).contains(error), "{}", stderr(&o));
}

#[test]
fn text_caps_repeated_messages_per_column_and_json_stays_complete() {
    let dir = tempfile::tempdir().unwrap();
    let bad: Vec<[String; 8]> = (0..45)
        .map(|i| {
            [
                format!("INV-{i}"),
                "1500.50".into(),
                "15/12/2026".into(),
                "24/11/2026".into(),
                "Ali".into(),
                String::new(),
                format!("ali{i}@@x.pk"),
                String::new(),
            ]
        })
        .collect();
    let rows: Vec<[&str; 8]> = bad
        .iter()
        .map(|r| std::array::from_fn(|i| r[i].as_str()))
        .collect();
    let path = orders_xlsx(dir.path(), "many.xlsx", &rows);
    let o = validate(&[path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(out.matches("CustomerEmail: ").count(), 20, "{out}");
    assert!(
        out.contains("... and 25 more issues in CustomerEmail (--json lists them all)"),
        "{out}"
    );
    let o = validate(&[path.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["issues"].as_array().unwrap().len(), 45);
    assert_eq!(v["errors"], 45);
}

#[test]
fn a_header_without_data_rows_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = orders_xlsx(dir.path(), "header-only.xlsx", &[]);
    let o = validate(&[path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("row 1: the sheet has a header (row 1) but no data rows below it"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn date_order_decides_a_column_that_nothing_else_decides() {
    let dir = tempfile::tempdir().unwrap();
    let mut row = OK1;
    row[2] = "05/12/2026";
    row[3] = "2026-01-01";
    let path = orders_xlsx(dir.path(), "ambiguous.xlsx", &[row]);
    let read = |order: &str| {
        let o = validate(&[path.to_str().unwrap(), "--json", "--date-order", order]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let warning = v["issues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["column"] == "OrderDueDate")
            .cloned()
            .unwrap();
        warning["message"].as_str().unwrap().to_string()
    };
    assert!(read("day-first").contains("read day-first"));
    assert!(read("month-first").contains("read month-first"));
}
