#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Consumers, consumer updates, mark-paid/mark-blocked lists and refunds, from xlsx and
//! CSV (BOM, semicolons), plus guessing the kind from the headers.

use paypro_console::domain::{Consumer, ConsumerUpdate, Kind, OrderRef, Refund};
use paypro_console::sheet::{self, Imported, Item, SheetError};
use rust_xlsxwriter::Workbook;
use std::path::{Path, PathBuf};

enum C {
    S(&'static str),
    N(f64),
    Blank,
}
use C::*;

fn xlsx(dir: &Path, name: &str, headers: &[&str], rows: &[Vec<C>]) -> PathBuf {
    let path = dir.join(name);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell {
                S(s) => {
                    ws.write_string(r, c, *s).unwrap();
                }
                N(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                Blank => {}
            }
        }
    }
    wb.save(&path).unwrap();
    path
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn item(imp: &Imported, row: u32) -> Item {
    let r = imp.rows.iter().find(|r| r.row == row).unwrap();
    r.item
        .clone()
        .unwrap_or_else(|| panic!("row {row} invalid: {:?}", r.issues))
}

fn errors(imp: &Imported, row: u32) -> Vec<(String, String)> {
    imp.all_issues()
        .filter(|i| i.row == row && i.is_error())
        .map(|i| (i.column.clone(), i.message.clone()))
        .collect()
}

#[test]
fn consumers() {
    let dir = tempfile::tempdir().unwrap();
    let path = xlsx(
        dir.path(),
        "people.xlsx",
        &["ConsumerID", "Name", "Mobile", "Email", "Address"],
        &[
            vec![
                S("123456780"),
                S("Bilal Ahmed"),
                N(3001234567.0),
                S("bilal@mail.pk"),
                S("Karachi"),
            ],
            vec![S("123456781"), S("Sana Javed")],
            vec![N(5550.0), S("Numbered")],
            vec![S("123456780"), S("Again")],
            vec![S("123456782"), Blank, S("0300123")],
        ],
    );
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Consumers);
    assert_eq!(
        item(&imp, 2),
        Item::Consumer(Consumer {
            consumer_id: "123456780".into(),
            name: "Bilal Ahmed".into(),
            mobile: "03001234567".into(),
            email: "bilal@mail.pk".into(),
            address: "Karachi".into(),
        })
    );
    assert!(
        matches!(item(&imp, 3), Item::Consumer(c) if c.mobile.is_empty() && c.email.is_empty())
    );
    // A number cell is accepted but warned about: Excel may have dropped leading zeros.
    assert!(matches!(item(&imp, 4), Item::Consumer(c) if c.consumer_id == "5550"));
    assert!(
        imp.all_issues()
            .any(|i| i.row == 4 && !i.is_error() && i.message.contains("leading zeros"))
    );
    assert_eq!(
        errors(&imp, 5),
        vec![(
            "ConsumerID".into(),
            "\"123456780\" repeats the consumer id of row 2".into()
        )]
    );
    let e = errors(&imp, 6);
    assert_eq!(
        e,
        vec![("Name".into(), "is empty (Name is mandatory)".into())]
    );
    // A consumer's mobile is free text (reference §8–11): an odd one is a warning, sent
    // as written.
    assert!(imp.all_issues().any(|i| i.row == 6
        && !i.is_error()
        && i.column == "Mobile"
        && i.message.contains("sent as written")));
}

#[test]
fn consumer_updates() {
    let dir = tempfile::tempdir().unwrap();
    let headers = ["FullConsumerCode", "Name", "Mobile", "Email", "Address"];
    let path = xlsx(
        dir.path(),
        "changes.xlsx",
        &headers,
        &[
            vec![S("0044123456780"), Blank, S("0300-1234567")],
            vec![
                S("0044123456781"),
                S("New Name"),
                Blank,
                Blank,
                S("New address"),
            ],
            vec![S("0044123456782")],
            vec![N(44123456783.0), S("Lost zeros")],
            vec![S("12"), S("Too short")],
        ],
    );
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(
        imp.kind,
        Kind::ConsumerUpdates,
        "FullConsumerCode names the kind"
    );
    assert_eq!(
        item(&imp, 2),
        Item::ConsumerUpdate(ConsumerUpdate {
            consumer_id: "0044123456780".into(),
            name: None,
            mobile: Some("0300-1234567".into()),
            email: None,
            address: None,
        })
    );
    assert!(
        matches!(item(&imp, 3), Item::ConsumerUpdate(u) if u.name.as_deref() == Some("New Name") && u.mobile.is_none())
    );
    assert!(errors(&imp, 4)[0].1.contains("the row changes nothing"));
    assert!(
        errors(&imp, 5)[0]
            .1
            .contains("is a number cell, which loses the leading zeros")
    );
    assert!(errors(&imp, 6)[0].1.contains("is not a full consumer code"));

    // Same columns as consumers: the file name or --kind tells them apart.
    let headers = ["ConsumerID", "Name"];
    let rows = [vec![S("0044123456780"), S("X")]];
    let plain = xlsx(dir.path(), "people.xlsx", &headers, &rows);
    assert_eq!(
        sheet::read(&plain, None, None).unwrap().kind,
        Kind::Consumers
    );
    let named = xlsx(dir.path(), "consumer-updates.xlsx", &headers, &rows);
    assert_eq!(
        sheet::read(&named, None, None).unwrap().kind,
        Kind::ConsumerUpdates
    );
    let forced = sheet::read(&plain, Some(Kind::ConsumerUpdates), None).unwrap();
    assert_eq!(forced.kind, Kind::ConsumerUpdates);
    assert!(!forced.kind_guessed);
}

#[test]
fn mark_lists() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        vec![S("INV-2026-11-0001")],
        vec![S("INV-2026-11-0002")],
        vec![S("INV-1,INV-2")],
        vec![S("INV-2026-11-0001")],
        vec![Blank],
        vec![S("INV|3")],
    ];
    let path = xlsx(dir.path(), "to-mark.xlsx", &["Order No"], &rows);
    // One column never decides the kind (paid or blocked?): --kind is needed.
    let err = sheet::read(&path, None, None).unwrap_err();
    assert!(matches!(err, SheetError::NoHeader { row: 1, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("--kind mark-paid or --kind mark-blocked"),
        "{err}"
    );
    let imp = sheet::read(&path, Some(Kind::MarkPaid), None).unwrap();
    assert_eq!(imp.kind, Kind::MarkPaid);
    assert_eq!(
        item(&imp, 2),
        Item::OrderRef(OrderRef {
            order_number: "INV-2026-11-0001".into()
        })
    );
    assert!(errors(&imp, 4)[0].1.contains("contains ',' or '|'"));
    assert_eq!(
        errors(&imp, 5)[0].1,
        "\"INV-2026-11-0001\" repeats the order number of row 2"
    );
    assert!(errors(&imp, 7)[0].1.contains("contains ',' or '|'"));
    assert_eq!(imp.rows.len(), 5, "the blank row is not counted");

    let forced = sheet::read(&path, Some(Kind::MarkBlocked), None).unwrap();
    assert_eq!(forced.kind, Kind::MarkBlocked);
}

#[test]
fn refunds() {
    let dir = tempfile::tempdir().unwrap();
    let path = xlsx(
        dir.path(),
        "r.xlsx",
        &["OrderNumber", "Refund Amount"],
        &[
            vec![S("INV-1"), N(450.0)],
            vec![S("INV-2"), S("1,250.50")],
            vec![S("INV-3"), N(0.0)],
            vec![S("INV-4"), Blank],
            vec![S("INV-1"), N(10.0)],
        ],
    );
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Refunds);
    assert_eq!(
        item(&imp, 2),
        Item::Refund(Refund {
            order_number: "INV-1".into(),
            amount: "450".parse().unwrap()
        })
    );
    assert!(matches!(item(&imp, 3), Item::Refund(r) if r.amount.to_string() == "1250.50"));
    assert_eq!(errors(&imp, 4)[0].0, "Amount");
    assert_eq!(errors(&imp, 5)[0].1, "is empty (Amount is mandatory)");
    assert!(
        errors(&imp, 6)[0]
            .1
            .contains("repeats the order number of row 2")
    );
}

const CSV_ORDERS: &str = "OrderNumber;OrderAmount;OrderDueDate;IssueDate;CustomerName;CustomerMobile;CustomerEmail;CustomerAddress\r\n\
INV-1;1500.50;15/12/2026;2026-11-24;Ali Khan;3123456789;ali@x.pk;\"Flat 2; Block B, Lahore\"\r\n\
\r\n\
INV-2;\"4,400\";15-Dec-2026;24/11/2026;Sara;;;\r\n\
INV-3;#N/A;15/12/2026;24/11/2026;Umar;;;\r\n";

#[test]
fn csv_with_bom_and_semicolons() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(CSV_ORDERS.as_bytes());
    let path = file(dir.path(), "orders.csv", &bytes);
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Orders);
    assert_eq!(imp.sheet, "orders");
    assert_eq!(
        imp.columns[0].field,
        Some("OrderNumber"),
        "the BOM is not part of the first header"
    );
    let rows: Vec<u32> = imp.rows.iter().map(|r| r.row).collect();
    assert_eq!(
        rows,
        vec![2, 4, 5],
        "row numbers are line numbers; the blank line is skipped"
    );
    let Item::Order(o) = item(&imp, 2) else {
        panic!()
    };
    assert_eq!(o.customer_mobile, "03123456789");
    assert_eq!(o.customer_address, "Flat 2; Block B, Lahore");
    assert_eq!(o.amount.to_string(), "1500.50");
    let Item::Order(o) = item(&imp, 4) else {
        panic!()
    };
    assert_eq!(o.amount.to_string(), "4400.00");
    assert_eq!(
        errors(&imp, 5)[0].1,
        "cell B5 holds the error #N/A (expected an amount)"
    );
}

#[test]
fn csv_with_commas_and_no_bom() {
    let dir = tempfile::tempdir().unwrap();
    // Quoted cells keep their commas: the address and "4,400".
    let text = CSV_ORDERS.replace(';', ",");
    let path = file(dir.path(), "orders-comma.csv", text.as_bytes());
    let imp = sheet::read(&path, Some(Kind::Orders), None).unwrap();
    assert_eq!(imp.valid_count(), 2);
    assert_eq!(imp.invalid_count(), 1);
    let Item::Order(o) = item(&imp, 2) else {
        panic!()
    };
    assert_eq!(o.customer_address, "Flat 2, Block B, Lahore");
    let Item::Order(o) = item(&imp, 4) else {
        panic!()
    };
    assert_eq!(o.amount.to_string(), "4400.00");
}

#[test]
fn csv_that_is_not_utf8_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "latin1.csv", b"OrderNumber\nINV-\xE9\n");
    let err = sheet::read(&path, Some(Kind::MarkPaid), None).unwrap_err();
    assert!(matches!(err, SheetError::NotUtf8 { line: 2, .. }), "{err}");
}

#[test]
fn unusable_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let png = file(dir.path(), "photo.xlsx", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let err = sheet::read(&png, None, None).unwrap_err();
    assert!(matches!(err, SheetError::Mismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("not an Excel workbook (.xlsx): it is an image"),
        "{err}"
    );
    let missing = dir.path().join("nope.xlsx");
    assert!(matches!(
        sheet::read(&missing, None, None),
        Err(SheetError::Open { .. })
    ));
    let odd = file(dir.path(), "orders.pdf", b"%PDF");
    assert!(matches!(
        sheet::read(&odd, None, None),
        Err(SheetError::Unsupported { .. })
    ));
    let empty_csv = file(dir.path(), "empty.csv", b"\xEF\xBB\xBF\r\n\r\n");
    assert!(matches!(
        sheet::read(&empty_csv, None, None),
        Err(SheetError::Empty { .. })
    ));
    let data_only = file(dir.path(), "noheader.csv", b"INV-1,1500,15/12/2026\n");
    assert!(matches!(
        sheet::read(&data_only, None, None),
        Err(SheetError::NoHeader { row: 1, .. })
    ));
    let fake_xls = file(dir.path(), "old.xls", b"not really");
    let err = sheet::read(&fake_xls, None, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("not an .xls file: it is plain text"),
        "{err}"
    );
    let fake_ods = file(dir.path(), "calc.ods", b"PK\x03\x04junk");
    let err = sheet::read(&fake_ods, None, None).unwrap_err();
    assert!(matches!(err, SheetError::Damaged { .. }), "{err}");
}

#[test]
fn two_columns_for_one_field_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = xlsx(
        dir.path(),
        "dup.xlsx",
        &["OrderNumber", "Invoice No"],
        &[vec![S("A"), S("B")]],
    );
    let err = sheet::read(&path, Some(Kind::MarkPaid), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, sheet \"Sheet1\": columns A \"OrderNumber\" and B \"Invoice No\" both match OrderNumber; keep one",
            path.display()
        )
    );
}

/// A minimal OpenDocument spreadsheet: `cells` are (value-type, value, text) per cell.
fn ods(dir: &Path, name: &str, rows: &[Vec<(&str, &str)>]) -> PathBuf {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Orders">"#,
    );
    for row in rows {
        content.push_str("<table:table-row>");
        for (kind, value) in row {
            match *kind {
                "string" => content.push_str(&format!(
                    r#"<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>"#
                )),
                "float" => content.push_str(&format!(
                    r#"<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>"#
                )),
                "date" => content.push_str(&format!(
                    r#"<table:table-cell office:value-type="date" office:date-value="{value}"><text:p>{value}</text:p></table:table-cell>"#
                )),
                _ => content.push_str("<table:table-cell/>"),
            }
        }
        content.push_str("</table:table-row>");
    }
    content.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let path = dir.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (entry, body) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_str()),
    ] {
        zip.start_file(entry, stored).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

#[test]
fn ods_with_typed_dates_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let header: Vec<(&str, &str)> = [
        "OrderNumber",
        "OrderAmount",
        "OrderDueDate",
        "IssueDate",
        "CustomerName",
        "CustomerMobile",
        "CustomerEmail",
        "CustomerAddress",
    ]
    .iter()
    .map(|h| ("string", *h))
    .collect();
    let good = vec![
        ("string", "ODS-1"),
        ("float", "1500.5"),
        ("date", "2026-12-15"),
        ("date", "2026-11-24T00:00:00"),
        ("string", "Ali Khan"),
        ("float", "3123456789"),
        ("string", "ali@x.pk"),
        ("string", "Lahore"),
    ];
    let mut bad = good.clone();
    bad[0] = ("string", "ODS-2");
    bad[2] = ("date", "2026-12-15T14:30:00");
    let path = ods(dir.path(), "orders.ods", &[header, good, vec![], bad]);
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Orders);
    assert_eq!(imp.sheet, "Orders");
    let Item::Order(o) = item(&imp, 2) else {
        panic!()
    };
    assert_eq!(o.amount.to_string(), "1500.50");
    assert_eq!(o.due_date.to_string(), "2026-12-15");
    assert_eq!(o.issue_date.to_string(), "2026-11-24");
    assert_eq!(o.customer_mobile, "03123456789");
    let e = errors(&imp, 4);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].1.contains("has a time of day 14:30"), "{e:?}");
}
