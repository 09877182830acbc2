#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The committed samples in samples/ import as their generator (examples/gen_samples.rs)
//! intends: the clean files are all valid, and every mistake labelled in the Notes column
//! of orders-with-errors.xlsx is found on its row and column, and nothing else is.

use calamine::{Data, Reader, Xlsx, open_workbook};
use paypro_console::domain::{Kind, Severity};
use paypro_console::sheet::{self, Imported, Item};
use std::collections::HashSet;
use std::path::PathBuf;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn read(name: &str) -> Imported {
    sheet::read(&sample(name), None, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A one-column list names no kind: it is read with `--kind`.
fn read_as(name: &str, kind: Kind) -> Imported {
    sheet::read(&sample(name), Some(kind), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_clean(imp: &Imported, kind: Kind, rows: usize) {
    assert_eq!(imp.kind, kind);
    assert_eq!(imp.rows.len(), rows);
    assert_eq!(imp.valid_count(), rows);
    let issues: Vec<String> = imp.all_issues().map(|i| i.to_string()).collect();
    assert!(issues.is_empty(), "{issues:#?}");
}

fn order_numbers(imp: &Imported) -> HashSet<String> {
    imp.valid_items()
        .map(|(_, i)| i.key().to_string())
        .collect()
}

#[test]
fn orders_xlsx_is_200_valid_orders() {
    let imp = read("orders.xlsx");
    assert_clean(&imp, Kind::Orders, 200);
    assert_eq!(imp.rows[0].key, "INV-2026-11-0001");
    assert_eq!(imp.rows[199].row, 201);
    for (_, item) in imp.valid_items() {
        let Item::Order(o) = item else {
            panic!("not an order: {item:?}")
        };
        assert!(o.customer_email.len() <= 32);
        assert!(o.due_date > o.issue_date);
        assert!(o.due_date.format("%Y-%m").to_string() == "2026-12", "{o:?}");
        assert!(o.customer_mobile.starts_with("03") && o.customer_mobile.len() == 11);
    }
    let with_paise = imp
        .valid_items()
        .filter(|(_, i)| matches!(i, Item::Order(o) if !o.amount.value().fract().is_zero()))
        .count();
    assert!(with_paise > 50, "amounts with paise: {with_paise}");
}

#[test]
fn other_clean_samples_are_valid() {
    assert_clean(&read("consumers.xlsx"), Kind::Consumers, 60);
    let updates = read("consumer-updates.xlsx");
    assert_clean(&updates, Kind::ConsumerUpdates, 20);
    for (_, item) in updates.valid_items() {
        assert!(item.key().starts_with("0044"), "{item:?}");
    }
    assert_clean(&read("orders.csv"), Kind::Orders, 25);
    assert_clean(
        &read_as("mark-paid.xlsx", Kind::MarkPaid),
        Kind::MarkPaid,
        30,
    );
    assert_clean(&read("refunds.xlsx"), Kind::Refunds, 10);
}

#[test]
fn refunds_and_mark_paid_reference_orders_of_orders_xlsx() {
    let orders = read("orders.xlsx");
    let known = order_numbers(&orders);
    let amounts: std::collections::HashMap<&str, _> = orders
        .valid_items()
        .filter_map(|(_, i)| match i {
            Item::Order(o) => Some((o.order_number.as_str(), o.amount)),
            _ => None,
        })
        .collect();
    let paid = order_numbers(&read_as("mark-paid.xlsx", Kind::MarkPaid));
    assert!(paid.is_subset(&known));
    let refunds = read("refunds.xlsx");
    for (_, item) in refunds.valid_items() {
        let Item::Refund(r) = item else { panic!() };
        assert!(
            paid.contains(&r.order_number),
            "refund of an unpaid order {}",
            r.order_number
        );
        assert!(r.amount <= amounts[r.order_number.as_str()]);
    }
    let csv = order_numbers(&read("orders.csv"));
    assert!(
        csv.is_disjoint(&known),
        "orders.csv has its own order numbers"
    );
}

/// The Notes column, read straight from the file: (Excel row, label, column).
fn labels() -> Vec<(u32, String, String)> {
    let mut wb: Xlsx<_> = open_workbook(sample("orders-with-errors.xlsx")).unwrap();
    let range = wb.worksheet_range("November").unwrap();
    let notes_col = (0..range.width())
        .find(|&c| range.get((0, c)) == Some(&Data::String("Notes".into())))
        .unwrap();
    let (row0, _) = range.start().unwrap();
    let mut out = Vec::new();
    for r in 1..range.height() {
        if let Some(Data::String(note)) = range.get((r, notes_col)) {
            let (label, rest) = note.split_once(':').unwrap();
            let (severity, column) = label.split_once(' ').unwrap_or((label, ""));
            let _ = rest;
            out.push((
                row0 + r as u32 + 1,
                severity.to_string(),
                column.to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_labelled_mistake_is_found_and_nothing_else() {
    let imp = read("orders-with-errors.xlsx");
    assert_eq!(imp.kind, Kind::Orders);
    assert_eq!(imp.sheet, "November");
    assert_eq!(imp.unknown_columns, vec!["Notes".to_string()]);
    let labels = labels();
    assert!(labels.len() >= 30);
    assert_eq!(imp.rows.len(), labels.len(), "the blank row is skipped");
    let mut kinds_seen = HashSet::new();
    for (row, severity, column) in &labels {
        let r = imp
            .rows
            .iter()
            .find(|r| r.row == *row)
            .unwrap_or_else(|| panic!("row {row} missing"));
        let found: Vec<String> = r.issues.iter().map(|i| i.to_string()).collect();
        match severity.as_str() {
            "OK" => {
                assert!(r.is_valid() && r.issues.is_empty(), "row {row}: {found:#?}");
            }
            "WARNING" => {
                assert!(r.is_valid(), "row {row}: {found:#?}");
                assert_eq!(r.issues.len(), 1, "row {row}: {found:#?}");
                assert_eq!(r.issues[0].severity, Severity::Warning);
                assert_eq!(&r.issues[0].column, column, "row {row}");
            }
            "ERROR" => {
                assert!(!r.is_valid(), "row {row} should be invalid");
                let errors: Vec<_> = r.issues.iter().filter(|i| i.is_error()).collect();
                assert_eq!(errors.len(), 1, "row {row}: {found:#?}");
                assert_eq!(&errors[0].column, column, "row {row}: {found:#?}");
                assert_eq!(
                    r.raw.len(),
                    imp.columns.len(),
                    "row {row} keeps its raw cells"
                );
            }
            other => panic!("unknown label {other}"),
        }
        kinds_seen.insert(format!("{severity} {column}"));
    }
    for expected in [
        "ERROR OrderAmount",
        "ERROR OrderDueDate",
        "ERROR IssueDate",
        "ERROR OrderType",
        "ERROR CustomerName",
        "ERROR CustomerMobile",
        "ERROR CustomerEmail",
        "ERROR CustomerAddress",
        "ERROR OrderNumber",
        "WARNING CustomerMobile",
        "WARNING CustomerName",
        "WARNING OrderAmount",
    ] {
        assert!(
            kinds_seen.contains(expected),
            "no sample row for {expected}"
        );
    }
    let messages: Vec<String> = imp.all_issues().map(|i| i.to_string()).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(has("holds the error #N/A"));
    assert!(has("holds the error #VALUE!"));
    assert!(has("Excel dropped the leading zero"));
    assert!(has("\"ERR-0001\" repeats the order number of row 2"));
    assert!(has(
        "\"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)"
    ));
    assert!(has("starts with \"mailto:\""));
    assert!(has("has only invisible characters, so it is empty"));
    assert!(has("contains an invisible zero-width space (U+200B)"));
    // The sheet-level notes: the ignored Notes column and nothing about the dates, whose
    // order row ERR-0032 proves.
    let sheet_notes: Vec<String> = imp.issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(sheet_notes.len(), 1, "{sheet_notes:#?}");
}

/// A face can follow a long read: every format publishes the number of the row it has
/// reached, ending at the last row of the sheet.
#[test]
fn the_row_reached_is_published_while_reading() {
    for name in ["orders.xlsx", "orders.csv"] {
        let path = sample(name);
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let imp = sheet::read_with(
            &path,
            &sheet::ReadOptions {
                rows_read: Some(&counter),
                ..Default::default()
            },
        )
        .unwrap();
        let last = imp.rows.iter().map(|r| r.row).max().unwrap();
        assert!(
            counter.load(std::sync::atomic::Ordering::Relaxed) >= last,
            "{name}: {counter:?} < {last}"
        );
    }
}
