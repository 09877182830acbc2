#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Orders read from workbooks written at test time with rust_xlsxwriter: typed date
//! cells, numbers, text, blank rows and error cells, through `sheet::read`.

use paypro_console::domain::{Issue, Kind, Money, Severity};
use paypro_console::sheet::{self, Imported, Item, SheetError};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use std::path::{Path, PathBuf};

#[derive(Clone)]
enum C {
    S(&'static str),
    N(f64),
    D(u16, u8, u8),
    Dt(u16, u8, u8, u16, u8),
    E(&'static str),
    Blank,
}
use C::*;

fn write_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    first_row: u32,
    headers: &[&str],
    rows: &[Vec<C>],
) {
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let datetime = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(first_row, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = first_row + 1 + r as u32;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                S(s) => {
                    ws.write_string(r, c, *s).unwrap();
                }
                N(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                D(y, m, d) => {
                    let dt = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                    ws.write_datetime_with_format(r, c, &dt, &date).unwrap();
                }
                Dt(y, m, d, hh, mm) => {
                    let dt = ExcelDateTime::from_ymd(*y, *m, *d)
                        .unwrap()
                        .and_hms(*hh, *mm, 0)
                        .unwrap();
                    ws.write_datetime_with_format(r, c, &dt, &datetime).unwrap();
                }
                E(e) => {
                    ws.write_formula(r, c, Formula::new("=1/0").set_result(*e))
                        .unwrap();
                }
                Blank => {}
            }
        }
    }
}

fn workbook(dir: &Path, name: &str, headers: &[&str], rows: &[Vec<C>]) -> PathBuf {
    let path = dir.join(name);
    let mut wb = Workbook::new();
    write_sheet(wb.add_worksheet(), 0, headers, rows);
    wb.save(&path).unwrap();
    path
}

const HEADERS: &[&str] = &[
    "OrderNumber",
    "OrderAmount",
    "OrderDueDate",
    "IssueDate",
    "CustomerName",
    "CustomerMobile",
    "CustomerEmail",
    "CustomerAddress",
];

/// A valid row; tests change one cell.
fn good(n: &'static str) -> Vec<C> {
    vec![
        S(n),
        N(1500.5),
        D(2026, 12, 15),
        D(2026, 11, 24),
        S("Ali Khan"),
        S("03123456789"),
        S("ali@example.pk"),
        S("House 5, Gulberg, Lahore"),
    ]
}

fn with(mut row: Vec<C>, col: usize, cell: C) -> Vec<C> {
    row[col] = cell;
    row
}

fn import(rows: &[Vec<C>]) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    let path = workbook(dir.path(), "orders.xlsx", HEADERS, rows);
    sheet::read(&path, Some(Kind::Orders), None).unwrap()
}

fn issues_of(imp: &Imported, row: u32) -> Vec<&Issue> {
    imp.all_issues().filter(|i| i.row == row).collect()
}

fn only_error(imp: &Imported, row: u32, column: &str) -> String {
    let issues = issues_of(imp, row);
    let errors: Vec<_> = issues.iter().filter(|i| i.is_error()).collect();
    assert_eq!(errors.len(), 1, "row {row}: {issues:?}");
    assert_eq!(errors[0].column, column, "row {row}: {issues:?}");
    let r = imp.rows.iter().find(|r| r.row == row).unwrap();
    assert!(
        r.item.is_none(),
        "row {row} with an error must have no item"
    );
    assert!(!r.raw.is_empty(), "invalid row {row} keeps its raw values");
    errors[0].message.clone()
}

fn order(imp: &Imported, row: u32) -> paypro_console::domain::Order {
    match imp
        .rows
        .iter()
        .find(|r| r.row == row)
        .and_then(|r| r.item.clone())
    {
        Some(Item::Order(o)) => o,
        other => panic!(
            "row {row}: expected an order, got {other:?}; issues {:?}",
            issues_of(imp, row)
        ),
    }
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn typed_row_becomes_an_order_with_implied_order_type() {
    let imp = import(&[good("INV-2026-11-0001")]);
    assert_eq!(imp.kind, Kind::Orders);
    assert_eq!(imp.header_row, 1);
    assert_eq!(imp.rows.len(), 1);
    assert_eq!(imp.all_issues().count(), 0, "{:?}", imp.issues);
    let o = order(&imp, 2);
    assert_eq!(o.order_number, "INV-2026-11-0001");
    assert_eq!(o.amount, money("1500.50"));
    assert_eq!(o.due_date, date(2026, 12, 15));
    assert_eq!(o.issue_date, date(2026, 11, 24));
    assert_eq!(o.customer_name, "Ali Khan");
    assert_eq!(o.customer_mobile, "03123456789");
    assert_eq!(o.customer_email, "ali@example.pk");
    assert_eq!(o.customer_address, "House 5, Gulberg, Lahore");
    assert_eq!(o.expire_after_seconds, None);
    assert!(imp.columns.iter().all(|c| c.field.is_some()));
}

#[test]
fn blank_rows_are_skipped_and_rows_keep_excel_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gaps.xlsx");
    let mut wb = Workbook::new();
    // Header on Excel row 3, data on rows 4, 6 (row 5 blank, row 7 only spaces), 8.
    let rows = vec![
        good("A-1"),
        vec![Blank; 8],
        good("A-2"),
        vec![S("   "), Blank, Blank],
        good("A-3"),
    ];
    write_sheet(wb.add_worksheet(), 2, HEADERS, &rows);
    wb.save(&path).unwrap();
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Orders);
    assert!(imp.kind_guessed);
    assert_eq!(imp.header_row, 3);
    let numbers: Vec<u32> = imp.rows.iter().map(|r| r.row).collect();
    assert_eq!(numbers, vec![4, 6, 8]);
    assert_eq!(imp.valid_count(), 3);
}

#[test]
fn dates_from_date_cells_serials_and_text() {
    let imp = import(&[
        with(good("D-1"), 2, Dt(2026, 12, 15, 0, 0)),
        with(good("D-2"), 2, N(46371.0)),
        with(good("D-3"), 2, S("15/12/2026")),
        with(good("D-4"), 2, S("2026-12-15")),
        with(good("D-5"), 2, S("15-Dec-2026")),
        with(good("D-6"), 2, Dt(2026, 12, 15, 14, 30)),
        with(good("D-7"), 2, S("31/02/2026")),
        with(good("D-8"), 2, N(12.0)),
        with(good("D-9"), 2, S("next week")),
    ]);
    for row in 2..=6 {
        assert_eq!(order(&imp, row).due_date, date(2026, 12, 15), "row {row}");
        assert!(issues_of(&imp, row).is_empty(), "row {row}");
    }
    let m = only_error(&imp, 7, "OrderDueDate");
    assert!(m.contains("has a time of day 14:30"), "{m}");
    let m = only_error(&imp, 8, "OrderDueDate");
    assert_eq!(
        m,
        "\"31/02/2026\" is not a date (expected a date such as 30/11/2026, 2026-11-30 or 30-Nov-2026)"
    );
    let m = only_error(&imp, 9, "OrderDueDate");
    assert!(m.starts_with("12 is a number, not a date"), "{m}");
    only_error(&imp, 10, "OrderDueDate");
}

#[test]
fn amounts_from_numbers_and_text() {
    let imp = import(&[
        with(good("M-1"), 1, N(4400.099999999999)),
        with(good("M-2"), 1, S("1500.50")),
        with(good("M-3"), 1, S("4,400")),
        with(good("M-4"), 1, N(4400.0)),
        with(good("M-5"), 1, N(10.005)),
        with(good("M-6"), 1, N(0.0)),
        with(good("M-7"), 1, N(-250.0)),
        with(good("M-8"), 1, S("fifteen hundred")),
        with(good("M-9"), 1, S("10.005")),
    ]);
    assert_eq!(order(&imp, 2).amount, money("4400.10"));
    assert_eq!(order(&imp, 2).amount.to_string(), "4400.10");
    assert_eq!(order(&imp, 3).amount, money("1500.50"));
    assert_eq!(order(&imp, 4).amount, money("4400"));
    assert_eq!(order(&imp, 5).amount.to_wire(), "4400");
    assert!(only_error(&imp, 6, "OrderAmount").contains("10.005 has 3 decimal places"));
    assert!(only_error(&imp, 7, "OrderAmount").contains("0 is zero"));
    assert!(only_error(&imp, 8, "OrderAmount").contains("-250 is negative"));
    assert!(only_error(&imp, 9, "OrderAmount").contains("\"fifteen hundred\" is not an amount"));
    assert!(only_error(&imp, 10, "OrderAmount").contains("\"10.005\" has 3 decimal places"));
}

#[test]
fn mobile_numbers_are_repaired_with_a_warning_or_refused() {
    let imp = import(&[
        with(good("P-1"), 5, N(3123456789.0)),
        with(good("P-2"), 5, S("+92 312 3456789")),
        with(good("P-3"), 5, S("0312-3456789")),
        with(good("P-4"), 5, Blank),
        with(good("P-5"), 5, S("12345")),
        with(good("P-6"), 5, S("call me")),
    ]);
    for row in [2, 3, 4] {
        assert_eq!(order(&imp, row).customer_mobile, "03123456789", "row {row}");
        let issues = issues_of(&imp, row);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].severity, Severity::Warning);
        assert_eq!(issues[0].column, "CustomerMobile");
    }
    assert_eq!(
        issues_of(&imp, 2)[0].message,
        "3123456789 was read as 03123456789 (Excel dropped the leading zero)"
    );
    assert!(
        issues_of(&imp, 3)[0]
            .message
            .contains("\"+92 312 3456789\" was normalised to 03123456789")
    );
    assert_eq!(order(&imp, 5).customer_mobile, "");
    assert!(issues_of(&imp, 5).is_empty());
    assert_eq!(
        only_error(&imp, 6, "CustomerMobile"),
        "\"12345\" is not a mobile number (expected 11 digits starting with 0, e.g. 03123456789)"
    );
    only_error(&imp, 7, "CustomerMobile");
    assert_eq!(imp.warning_count(), 3);
}

#[test]
fn text_is_trimmed_and_limited_and_emails_checked() {
    let long_email = "muhammad.abdullah.qureshi@mail.pk"; // 33 characters
    assert_eq!(long_email.len(), 33);
    let imp = import(&[
        with(good("T-1"), 4, S("   Ayesha Siddiqui   ")),
        with(good("T-2"), 4, S("Muhammad Abdullah Khan Qureshi Jr.")),
        with(good("T-3"), 6, S("ali@@x.pk")),
        with(good("T-4"), 6, S(long_email)),
        with(good("T-5"), 6, Blank),
        with(good("T-6"), 4, Blank),
        with(
            good("T-7"),
            7,
            S(&*Box::leak("x".repeat(65).into_boxed_str())),
        ),
    ]);
    assert_eq!(order(&imp, 2).customer_name, "Ayesha Siddiqui");
    assert!(
        only_error(&imp, 3, "CustomerName").contains("is 34 characters long (expected at most 32)")
    );
    let m = only_error(&imp, 4, "CustomerEmail");
    assert_eq!(
        m,
        "\"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)"
    );
    let issue = imp.all_issues().find(|i| i.row == 4).unwrap();
    assert_eq!(
        issue.to_string(),
        "row 4, CustomerEmail: \"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)"
    );
    assert!(only_error(&imp, 5, "CustomerEmail").contains("is 33 characters long"));
    assert_eq!(order(&imp, 6).customer_email, "");
    assert_eq!(
        only_error(&imp, 7, "CustomerName"),
        "is empty (CustomerName is mandatory)"
    );
    assert!(
        only_error(&imp, 8, "CustomerAddress").contains("65 characters long (expected at most 64)")
    );
}

#[test]
fn error_cells_are_errors_naming_the_cell() {
    let imp = import(&[
        with(good("E-1"), 1, E("#N/A")),
        with(good("E-2"), 3, E("#VALUE!")),
    ]);
    assert_eq!(
        only_error(&imp, 2, "OrderAmount"),
        "cell B2 holds the error #N/A (expected an amount)"
    );
    assert_eq!(
        only_error(&imp, 3, "IssueDate"),
        "cell D3 holds the error #VALUE! (expected a date)"
    );
}

#[test]
fn repeated_order_numbers_are_errors_naming_the_first_row() {
    let imp = import(&[good("INV-1"), good("INV-2"), good("INV-1"), good("inv-1")]);
    assert!(order(&imp, 2).order_number == "INV-1");
    assert_eq!(order(&imp, 3).order_number, "INV-2");
    assert_eq!(
        only_error(&imp, 4, "OrderNumber"),
        "\"INV-1\" repeats the order number of row 2"
    );
    assert_eq!(
        only_error(&imp, 5, "OrderNumber"),
        "\"inv-1\" repeats the order number of row 2"
    );
    assert_eq!(imp.valid_count(), 2);
    assert_eq!(imp.invalid_count(), 2);
    assert_eq!(imp.rows[2].key, "INV-1");
}

#[test]
fn due_date_before_issue_date_is_an_error() {
    let imp = import(&[with(good("X-1"), 2, D(2026, 11, 1))]);
    let m = only_error(&imp, 2, "OrderDueDate");
    assert!(
        m.contains("the due date 01/11/2026 is before the issue date 24/11/2026"),
        "{m}"
    );
}

#[test]
fn number_cells_in_text_columns_read_as_excel_shows_them() {
    let imp = import(&[with(good("X"), 0, N(1001.0))]);
    assert_eq!(order(&imp, 2).order_number, "1001");
}

#[test]
fn headers_match_synonyms_and_unknown_columns_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let headers = [
        "Order No",
        "Amount",
        "Due Date",
        "issue_date",
        "Customer Name",
        "Mobile",
        "Email",
        "ADDRESS",
        "Notes",
    ];
    let mut row = good("S-1");
    row.push(S("a note"));
    let path = workbook(dir.path(), "synonyms.xlsx", &headers, &[row]);
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.kind, Kind::Orders);
    assert_eq!(imp.valid_count(), 1);
    assert_eq!(imp.unknown_columns, vec!["Notes".to_string()]);
    assert_eq!(imp.issues.len(), 1);
    assert_eq!(imp.issues[0].severity, Severity::Warning);
    assert_eq!(imp.issues[0].row, 1);
    assert!(
        imp.issues[0]
            .message
            .contains("column I \"Notes\" is not a column of orders")
    );
    assert_eq!(imp.columns[0].field, Some("OrderNumber"));
    assert_eq!(imp.columns[2].field, Some("OrderDueDate"));
}

#[test]
fn missing_mandatory_column_is_one_error_naming_it_and_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let headers = [
        "OrderNumber",
        "OrderAmount",
        "IssueDate",
        "CustomerName",
        "CustomerMobile",
        "CustomerEmail",
        "CustomerAddress",
    ];
    let path = workbook(dir.path(), "nodue.xlsx", &headers, &[]);
    let err = sheet::read(&path, Some(Kind::Orders), None).unwrap_err();
    assert!(
        matches!(&err, SheetError::MissingColumns { missing, .. } if missing == &vec!["OrderDueDate".to_string()])
    );
    let msg = err.to_string();
    assert!(
        msg.contains("missing mandatory column OrderDueDate for orders"),
        "{msg}"
    );
    assert!(
        msg.contains("\"OrderNumber\", \"OrderAmount\", \"IssueDate\""),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn order_type_column_may_be_absent_but_only_holds_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut headers = HEADERS.to_vec();
    headers.push("OrderType");
    let rows = vec![
        {
            let mut r = good("O-1");
            r.push(S("Service"));
            r
        },
        {
            let mut r = good("O-2");
            r.push(S(" service "));
            r
        },
        {
            let mut r = good("O-3");
            r.push(Blank);
            r
        },
        {
            let mut r = good("O-4");
            r.push(S("Product"));
            r
        },
    ];
    let path = workbook(dir.path(), "types.xlsx", &headers, &rows);
    let imp = sheet::read(&path, Some(Kind::Orders), None).unwrap();
    assert_eq!(imp.valid_count(), 3);
    assert_eq!(
        only_error(&imp, 5, "OrderType"),
        "\"Product\" is not a valid OrderType (expected Service, the only value the API accepts)"
    );
}

#[test]
fn sheet_by_name_or_first_non_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheets.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("Cover").unwrap();
    write_sheet(
        wb.add_worksheet().set_name("November").unwrap(),
        0,
        HEADERS,
        &[good("N-1")],
    );
    write_sheet(
        wb.add_worksheet().set_name("December").unwrap(),
        0,
        HEADERS,
        &[good("D-1"), good("D-2")],
    );
    wb.save(&path).unwrap();
    let first = sheet::read(&path, None, None).unwrap();
    assert_eq!(first.sheet, "November");
    assert_eq!(first.rows.len(), 1);
    let named = sheet::read(&path, None, Some("december")).unwrap();
    assert_eq!(named.sheet, "December");
    assert_eq!(named.rows.len(), 2);
    let err = sheet::read(&path, None, Some("January")).unwrap_err();
    assert!(
        err.to_string()
            .contains("no sheet named \"January\" (sheets: \"Cover\", \"November\", \"December\")"),
        "{err}"
    );
    let err = sheet::read(&path, None, Some("Cover")).unwrap_err();
    assert!(
        err.to_string().contains("sheet \"Cover\" is empty"),
        "{err}"
    );
}

#[test]
fn optional_order_columns_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut headers = HEADERS.to_vec();
    headers.extend([
        "OrderExpireAfterSeconds",
        "OrderAmountWithinDueDate",
        "OrderAmountAfterDueDate",
    ]);
    let mut r = good("Q-1");
    r.extend([N(86400.0), N(1500.5), S("1,600.00")]);
    let mut bad = good("Q-2");
    bad.extend([N(1.5), Blank, Blank]);
    let path = workbook(dir.path(), "extra.xlsx", &headers, &[r, bad]);
    let imp = sheet::read(&path, Some(Kind::Orders), None).unwrap();
    let o = order(&imp, 2);
    assert_eq!(o.expire_after_seconds, Some(86400));
    assert_eq!(o.amount_within_due_date, Some(money("1500.50")));
    assert_eq!(o.amount_after_due_date, Some(money("1600")));
    only_error(&imp, 3, "OrderExpireAfterSeconds");
}

#[test]
fn an_orders_sheet_missing_a_column_is_not_guessed_as_a_mark_list() {
    let dir = tempfile::tempdir().unwrap();
    let headers: Vec<&str> = HEADERS
        .iter()
        .copied()
        .filter(|h| *h != "IssueDate")
        .collect();
    let path = workbook(dir.path(), "november.xlsx", &headers, &[]);
    let err = sheet::read(&path, None, None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("missing mandatory column IssueDate for orders (guessed from the headers; use --kind to choose)"),
        "{msg}"
    );
}

#[test]
fn merchant_amount_limits_from_the_profile_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        with(good("L-1"), 1, N(99.99)),
        with(good("L-2"), 1, N(100.0)),
        with(good("L-3"), 1, N(500_000.01)),
    ];
    let path = workbook(dir.path(), "limits.xlsx", HEADERS, &rows);
    let options = sheet::ReadOptions {
        kind: Some(Kind::Orders),
        sheet: None,
        amount_limits: Some(paypro_console::domain::AmountLimits {
            min: money("100"),
            max: money("500000"),
        }),
        ..Default::default()
    };
    let imp = sheet::read_with(&path, &options).unwrap();
    assert_eq!(
        only_error(&imp, 2, "OrderAmount"),
        "99.99 is below the merchant's minimum of 100.00 per order"
    );
    assert_eq!(order(&imp, 3).amount, money("100"));
    assert!(
        only_error(&imp, 4, "OrderAmount").contains("above the merchant's maximum of 500000.00")
    );
    // Without limits, the same rows are all valid.
    assert_eq!(sheet::read(&path, None, None).unwrap().valid_count(), 3);
}

#[test]
fn hidden_sheets_are_read_only_when_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.xlsx");
    let mut wb = Workbook::new();
    let archive = wb.add_worksheet().set_name("Archive").unwrap();
    write_sheet(archive, 0, HEADERS, &[good("OLD-1")]);
    archive.set_hidden(true);
    let current = wb.add_worksheet().set_name("November").unwrap();
    write_sheet(current, 0, HEADERS, &[good("NEW-1")]);
    current.set_active(true);
    wb.save(&path).unwrap();
    let imp = sheet::read(&path, None, None).unwrap();
    assert_eq!(imp.sheet, "November");
    assert_eq!(order(&imp, 2).order_number, "NEW-1");
    assert_eq!(
        imp.issues[0].to_string(),
        "warning: the workbook also has hidden sheet \"Archive\", not read (name one with --sheet to read it)"
    );
    let named = sheet::read(&path, None, Some("Archive")).unwrap();
    assert_eq!(order(&named, 2).order_number, "OLD-1");
    let err = sheet::read(&path, None, Some("December")).unwrap_err();
    assert!(
        err.to_string()
            .contains("(sheets: \"Archive\" (hidden), \"November\")"),
        "{err}"
    );

    // Only the hidden sheet has data: refused, saying where the data is.
    let path = dir.path().join("only-hidden.xlsx");
    let mut wb = Workbook::new();
    let archive = wb.add_worksheet().set_name("Archive").unwrap();
    write_sheet(archive, 0, HEADERS, &[good("OLD-1")]);
    archive.set_hidden(true);
    wb.add_worksheet()
        .set_name("Blank")
        .unwrap()
        .set_active(true);
    wb.save(&path).unwrap();
    let err = sheet::read(&path, None, None).unwrap_err().to_string();
    assert!(
        err.contains("\"Blank\" is empty; hidden, not read: \"Archive\""),
        "{err}"
    );
}
