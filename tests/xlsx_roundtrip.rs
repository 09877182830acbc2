#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The workbook writer, read back with calamine: every cell's value and type (dates are
//! dates, amounts numbers, ids text with their zeros), the totals (SUM formulas whose
//! cached results are the exact decimal sums, cross-checked against the cells), the
//! Summary, the sheet's dressing (bold frozen header, autofilter, fitted widths, the
//! chart), an empty report, a cancelled export and a value Excel cannot hold (nothing
//! under the final name), and the results workbook and its CSV twin.

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{NaiveDate, NaiveDateTime};
use paypro_console::sheet::write::{
    self, Overwrite, PAID_COLUMNS, PaidOrderRow, PaidOrdersDoc, RESULT_COLUMNS, ResultGroup,
    ResultRow, ResultsDoc, WriteError, Written,
};
use rust_decimal::Decimal;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDateTime {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.3f").unwrap()
}

fn rows() -> Vec<PaidOrderRow> {
    vec![
        PaidOrderRow {
            order_number: "HR-100013".into(),
            connectpay_id: Some("00391836100002".into()),
            customer_name: Some("Ali Khan".into()),
            mobile: Some("03123456789".into()),
            email: Some("abcd@paypro.com.pk".into()),
            address: Some("House 12, Street 4, Gulberg III, Lahore".into()),
            issue_date: Some(day("2018-12-30")),
            due_date: Some(day("2018-12-20")),
            date_created: Some(at("2018-12-27 15:04:25.923")),
            date_paid: Some(day("2019-01-01")),
            order_amount: Some(dec("45050")),
            amount_paid: Some(dec("45050.00")),
            refunded: None,
        },
        PaidOrderRow {
            order_number: "HR-100017".into(),
            connectpay_id: Some("00391900100005".into()),
            customer_name: None,
            mobile: Some("03333473876".into()),
            email: None,
            address: Some("0012".into()),
            issue_date: Some(day("2018-12-30")),
            due_date: Some(day("2018-12-20")),
            date_created: Some(at("2019-01-01 10:12:43.720")),
            date_paid: Some(day("2019-01-01")),
            order_amount: Some(dec("1234567.89")),
            amount_paid: Some(dec("1234567.89")),
            refunded: Some(dec("100.50")),
        },
        PaidOrderRow {
            // Text that Excel would otherwise take for a formula or a number.
            order_number: "=1+2".into(),
            connectpay_id: Some("0000000000007".into()),
            customer_name: Some("Sana Raza".into()),
            mobile: None,
            email: Some("s@x.pk".into()),
            address: None,
            issue_date: None,
            due_date: Some(day("2019-02-01")),
            date_created: Some(at("2019-01-02 00:00:00.000")),
            date_paid: Some(at("2019-01-03 14:30:00.000")),
            order_amount: Some(dec("0.07")),
            amount_paid: Some(dec("0.1")),
            refunded: Some(dec("0.05")),
        },
    ]
}

fn doc<'a>(rows: &[PaidOrderRow], notes: &'a [(String, String)]) -> PaidOrdersDoc<'a> {
    PaidOrdersDoc {
        merchant_id: "acme",
        start: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2019, 1, 31).unwrap(),
        generated_at: at("2019-02-01 09:30:15.000"),
        expected_rows: rows.len() as u64,
        notes,
    }
}

fn ymd_hms(d: &Data) -> (u16, u8, u8, u8, u8, u8, u16) {
    match d {
        Data::DateTime(dt) => {
            assert!(dt.is_datetime(), "{d:?}");
            dt.to_ymd_hms_milli()
        }
        other => panic!("expected a date cell, got {other:?}"),
    }
}

fn expect_date(d: &Data, want: Option<NaiveDateTime>) {
    match want {
        None => assert_eq!(d, &Data::Empty),
        Some(t) => {
            let got = ymd_hms(d);
            let want_parts = (
                t.format("%Y").to_string().parse().unwrap(),
                t.format("%m").to_string().parse().unwrap(),
                t.format("%d").to_string().parse().unwrap(),
                t.format("%H").to_string().parse().unwrap(),
                t.format("%M").to_string().parse().unwrap(),
                t.format("%S").to_string().parse().unwrap(),
                t.format("%3f").to_string().parse().unwrap(),
            );
            assert_eq!(got, want_parts, "{t}");
        }
    }
}

/// A number cell read back as the decimal it shows (the shortest text of the f64).
fn money(d: &Data) -> Decimal {
    match d {
        Data::Float(f) => Decimal::from_str(&f.to_string()).unwrap(),
        other => panic!("expected a number, got {other:?}"),
    }
}

fn expect_money(d: &Data, want: Option<Decimal>) {
    match want {
        None => assert_eq!(d, &Data::Empty),
        Some(w) => assert_eq!(money(d), w.normalize()),
    }
}

fn expect_text(d: &Data, want: Option<&str>) {
    match want {
        None => assert_eq!(d, &Data::Empty),
        Some(w) => assert_eq!(d, &Data::String(w.to_string())),
    }
}

/// The file's parts as text (for what calamine does not expose).
fn part(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} missing"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn parts(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let zip = zip::ZipArchive::new(file).unwrap();
    zip.file_names().map(|n| n.unwrap().into_owned()).collect()
}

/// The attribute `name` of the first element `<tag ...>` whose text contains `marker`.
fn attr(xml: &str, marker: &str, name: &str) -> Option<String> {
    let at = xml.find(marker)?;
    let start = xml[..at].rfind('<')?;
    let end = at + xml[at..].find('>')?;
    let element = &xml[start..end];
    let key = format!(" {name}=\"");
    let from = element.find(&key)? + key.len();
    let len = element[from..].find('"')?;
    Some(element[from..from + len].to_string())
}

/// Whether the cell `r` is drawn with a bold font.
fn is_bold(path: &Path, sheet_xml: &str, r: &str) -> bool {
    let sheet = part(path, sheet_xml);
    let xf: usize = attr(&sheet, &format!("r=\"{r}\""), "s")
        .map(|s| s.parse().unwrap())
        .unwrap_or(0);
    let styles = part(path, "xl/styles.xml");
    let cell_xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf_elem = cell_xfs.split("<xf ").nth(xf + 1).unwrap();
    let font_id: usize = attr(&format!("<xf {xf_elem}"), "fontId", "fontId")
        .unwrap()
        .parse()
        .unwrap();
    let fonts = &styles[styles.find("<fonts").unwrap()..styles.find("</fonts>").unwrap()];
    let font = fonts.split("<font>").nth(font_id + 1).unwrap();
    font.contains("<b/>")
}

/// Column widths from `<cols>`, by 1-based column (adjacent columns of one width
/// share an element).
fn widths(xml: &str) -> Vec<(usize, f64)> {
    let mut out = Vec::new();
    for col in xml.split("<col ").skip(1) {
        let col = format!("<col {col}");
        let min: usize = attr(&col, "min=", "min").unwrap().parse().unwrap();
        let max: usize = attr(&col, "max=", "max").unwrap().parse().unwrap();
        let w: f64 = attr(&col, "width=", "width").unwrap().parse().unwrap();
        out.extend((min..=max).map(|c| (c, w)));
    }
    out
}

#[test]
fn every_cell_of_the_paid_orders_sheet_reads_back_with_its_value_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paid.xlsx");
    let rows = rows();
    let notes = vec![("Fetched in".to_string(), "1 request".to_string())];
    let written = write::write_paid_orders(
        &path,
        &doc(&rows, &notes),
        &rows,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap();
    assert_eq!(written.path, path);
    assert_eq!(written.orders, 3);
    assert_eq!(written.total_order_amount, dec("1279617.96"));
    assert_eq!(written.total_paid, dec("1279617.99"));
    assert_eq!(written.total_refunded, dec("100.55"));

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), ["Paid orders", "Summary"]);
    let sheet = wb.worksheet_range("Paid orders").unwrap();
    assert_eq!(sheet.start(), Some((0, 0)));
    for (col, h) in PAID_COLUMNS.iter().enumerate() {
        assert_eq!(sheet.get((0, col)), Some(&Data::String(h.to_string())));
    }
    for (i, r) in rows.iter().enumerate() {
        let c = |col: usize| sheet.get((i + 1, col)).cloned().unwrap_or(Data::Empty);
        expect_text(&c(0), Some(&r.order_number));
        expect_text(&c(1), r.connectpay_id.as_deref());
        expect_text(&c(2), r.customer_name.as_deref());
        expect_text(&c(3), r.mobile.as_deref());
        expect_text(&c(4), r.email.as_deref());
        expect_text(&c(5), r.address.as_deref());
        expect_date(&c(6), r.issue_date);
        expect_date(&c(7), r.due_date);
        expect_date(&c(8), r.date_created);
        expect_date(&c(9), r.date_paid);
        expect_money(&c(10), r.order_amount);
        expect_money(&c(11), r.amount_paid);
        expect_money(&c(12), r.refunded);
    }
    // Ids and numbers-as-text keep their zeros.
    assert_eq!(
        sheet.get((3, 1)),
        Some(&Data::String("0000000000007".into()))
    );
    assert_eq!(sheet.get((2, 5)), Some(&Data::String("0012".into())));

    // A blank row, then the totals: SUM formulas with the exact sums cached.
    assert!((0..13).all(|col| matches!(sheet.get((4, col)), None | Some(Data::Empty))));
    assert_eq!(sheet.get((5, 0)), Some(&Data::String("Total".into())));
    let formulas = wb.worksheet_formula("Paid orders").unwrap();
    for (col, letter, want) in [
        (10usize, "K", "1279617.96"),
        (11, "L", "1279617.99"),
        (12, "M", "100.55"),
    ] {
        assert_eq!(
            formulas.get_value((5, col as u32)).map(String::as_str),
            Some(format!("SUM({letter}2:{letter}5)").as_str())
        );
        assert_eq!(money(sheet.get((5, col)).unwrap()), dec(want));
        // Cross-check: the cells above add up to the cached total.
        let sum: Decimal = (1..=3)
            .filter_map(|r| match sheet.get((r, col)) {
                Some(d @ Data::Float(_)) => Some(money(d)),
                _ => None,
            })
            .sum();
        assert_eq!(sum, dec(want), "column {letter}");
    }

    // The Summary.
    let summary = wb.worksheet_range("Summary").unwrap();
    let s = |r: usize, c: usize| summary.get((r, c)).cloned().unwrap_or(Data::Empty);
    let labels: Vec<String> = (0..12).map(|r| s(r, 0).to_string()).collect();
    assert_eq!(
        labels,
        [
            "Report",
            "Merchant",
            "From",
            "To",
            "Generated at",
            "Orders",
            "Total order amount",
            "Total paid",
            "Total refunded",
            "Fetched in",
            "",
            "Date paid"
        ]
    );
    expect_text(&s(1, 1), Some("acme"));
    expect_date(&s(2, 1), Some(day("2019-01-01")));
    expect_date(&s(3, 1), Some(day("2019-01-31")));
    expect_date(&s(4, 1), Some(at("2019-02-01 09:30:15.000")));
    assert_eq!(s(5, 1), Data::Float(3.0));
    assert_eq!(money(&s(6, 1)), dec("1279617.96"));
    assert_eq!(money(&s(7, 1)), dec("1279617.99"));
    assert_eq!(money(&s(8, 1)), dec("100.55"));
    expect_text(&s(9, 1), Some("1 request"));
    let sf = wb.worksheet_formula("Summary").unwrap();
    assert_eq!(
        sf.get_value((5, 1)).map(String::as_str),
        Some("COUNTA('Paid orders'!A2:A5)")
    );
    assert_eq!(
        sf.get_value((7, 1)).map(String::as_str),
        Some("SUM('Paid orders'!L2:L5)")
    );
    // Paid per day: 1 January (two orders), 3 January (one, paid at 14:30).
    expect_text(&s(11, 1), Some("Orders"));
    expect_text(&s(11, 2), Some("Amount paid"));
    expect_date(&s(12, 0), Some(day("2019-01-01")));
    assert_eq!(s(12, 1), Data::Float(2.0));
    assert_eq!(money(&s(12, 2)), dec("1279617.89"));
    expect_date(&s(13, 0), Some(day("2019-01-03")));
    assert_eq!(s(13, 1), Data::Float(1.0));
    assert_eq!(money(&s(13, 2)), dec("0.1"));
    assert_eq!(s(14, 0), Data::Empty);
    assert_eq!(
        written.per_day,
        vec![
            (
                NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
                2,
                dec("1279617.89")
            ),
            (NaiveDate::from_ymd_opt(2019, 1, 3).unwrap(), 1, dec("0.1")),
        ]
    );

    // Dressing: bold frozen header, autofilter over the data, fitted widths, a chart
    // of the per-day table.
    let xml = part(&path, "xl/worksheets/sheet1.xml");
    assert!(
        xml.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{xml:.600}"
    );
    assert!(xml.contains(r#"<autoFilter ref="A1:M4"/>"#), "{xml:.600}");
    for col in ["A1", "F1", "M1"] {
        assert!(is_bold(&path, "xl/worksheets/sheet1.xml", col), "{col}");
    }
    assert!(!is_bold(&path, "xl/worksheets/sheet1.xml", "A2"));
    let w = widths(&xml);
    assert_eq!(w.len(), 13);
    let width_of = |col: usize| w.iter().find(|(c, _)| *c == col).unwrap().1;
    // Each column fits its longest value (or header), within 6..=60.
    assert!(width_of(6) > "House 12, Street 4, Gulberg III, Lahore".len() as f64);
    assert!(width_of(9) > "dd/mm/yyyy hh:mm:ss".len() as f64);
    assert!(width_of(11) > "1,234,567.89".len() as f64);
    assert!(width_of(4) < width_of(6));
    let names = parts(&path);
    assert!(
        names.iter().any(|n| n == "xl/charts/chart1.xml"),
        "{names:?}"
    );
    let chart = part(&path, "xl/charts/chart1.xml");
    assert!(chart.contains("<c:barDir val=\"col\"/>"), "a column chart");
    assert!(chart.contains("Summary!$C$13:$C$14"), "{chart:.2000}");
    assert!(chart.contains("Summary!$A$13:$A$14"));
}

#[test]
fn an_empty_report_is_a_valid_workbook_with_headers_and_zero_totals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.xlsx");
    let written = write::write_paid_orders(
        &path,
        &doc(&[], &[]),
        Vec::<PaidOrderRow>::new(),
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap();
    assert_eq!(written.orders, 0);
    assert_eq!(written.total_paid, Decimal::ZERO);
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = wb.worksheet_range("Paid orders").unwrap();
    for (col, h) in PAID_COLUMNS.iter().enumerate() {
        assert_eq!(sheet.get((0, col)), Some(&Data::String(h.to_string())));
    }
    assert!((0..13).all(|c| matches!(sheet.get((1, c)), None | Some(Data::Empty))));
    assert_eq!(sheet.get((2, 0)), Some(&Data::String("Total".into())));
    let formulas = wb.worksheet_formula("Paid orders").unwrap();
    for (col, l) in [(10usize, "K"), (11, "L"), (12, "M")] {
        // Over the blank row: never the totals row itself (no circular reference).
        assert_eq!(
            formulas.get_value((2, col as u32)).map(String::as_str),
            Some(format!("SUM({l}2:{l}2)").as_str())
        );
        assert_eq!(sheet.get((2, col)), Some(&Data::Float(0.0)));
    }
    let summary = wb.worksheet_range("Summary").unwrap();
    assert_eq!(summary.get((5, 0)), Some(&Data::String("Orders".into())));
    assert_eq!(summary.get((5, 1)), Some(&Data::Float(0.0)));
    assert_eq!(summary.get((7, 1)), Some(&Data::Float(0.0)));
    assert_eq!(
        summary.get((10, 0)),
        Some(&Data::String("Date paid".into()))
    );
    assert!(matches!(summary.get((11, 0)), None | Some(Data::Empty)));
    assert!(!parts(&path).iter().any(|n| n.starts_with("xl/charts/")));
    let xml = part(&path, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"<autoFilter ref="A1:M2"/>"#));
}

fn many(n: usize) -> Vec<PaidOrderRow> {
    (0..n)
        .map(|i| PaidOrderRow {
            order_number: format!("ORD-{i:06}"),
            connectpay_id: Some(format!("0044{i:010}")),
            date_paid: Some(day("2026-01-05")),
            order_amount: Some(Decimal::new(100_000 + i as i64, 2)),
            amount_paid: Some(Decimal::new(100_000 + i as i64, 2)),
            ..PaidOrderRow::default()
        })
        .collect()
}

#[test]
fn a_cancelled_export_leaves_nothing_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paid.xlsx");
    let rows = many(5_000);
    let mut calls = Vec::new();
    let mut cancel = |w: Written| {
        calls.push(w.rows);
        if w.rows >= 2_000 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = write::write_paid_orders(
        &path,
        &doc(&rows, &[]),
        &rows,
        Overwrite::Refuse,
        &mut cancel,
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Cancelled { .. }), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(calls, [1_000, 2_000]);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no temp"
    );

    // Replacing an existing file and cancelling keeps the old file whole.
    std::fs::write(&path, b"last month's report").unwrap();
    let err = write::write_paid_orders(
        &path,
        &doc(&rows, &[]),
        &rows,
        Overwrite::Replace,
        &mut |w: Written| {
            if w.rows >= 1_000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Cancelled { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), b"last month's report");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // Without --force an existing file is refused before anything is written.
    let err = write::write_paid_orders(
        &path,
        &doc(&rows, &[]),
        &rows,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
}

#[test]
fn a_value_excel_cannot_hold_fails_the_export_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paid.xlsx");
    let mut rows = many(3);
    rows[1].address = Some("x".repeat(40_000));
    let err = write::write_paid_orders(
        &path,
        &doc(&rows, &[]),
        &rows,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap_err();
    match &err {
        WriteError::Cell {
            sheet, row, column, ..
        } => {
            assert_eq!(sheet, "Paid orders");
            assert_eq!(*row, 3);
            assert_eq!(column, "Address");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("40000 characters of text; an Excel cell holds at most 32,767"),
        "{text}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn results_doc() -> ResultsDoc {
    ResultsDoc {
        run: 7,
        file: "/data/orders.xlsx".into(),
        sheet: Some("Orders".into()),
        kind: "orders".into(),
        merchant_id: "acme".into(),
        base_url: "http://127.0.0.1:1".into(),
        state: "completed".into(),
        created_at: at("2026-01-05 10:00:00.000"),
        finished_at: Some(at("2026-01-05 10:05:00.000")),
        generated_at: at("2026-01-06 08:00:00.000"),
        columns: vec!["Order No".into(), "Amount".into(), "Mobile".into()],
    }
}

fn result(group: ResultGroup, row: u32, state: &str, amount: Option<&str>) -> ResultRow {
    ResultRow {
        group,
        row,
        cells: vec![
            format!("A-{row}"),
            amount.unwrap_or("abc").to_string(),
            "03001234567".into(),
        ],
        state: state.into(),
        connectpay_id: (group == ResultGroup::Created).then(|| format!("004400000000{row}")),
        fee: (group == ResultGroup::Created).then(|| dec("60")),
        status_code: match group {
            ResultGroup::Created => Some("00".into()),
            ResultGroup::Rejected => Some("03".into()),
            _ => None,
        },
        message: Some(format!("message of row {row}")),
        attempts: 1,
        amount: amount.map(dec),
    }
}

fn result_rows() -> Vec<ResultRow> {
    vec![
        result(ResultGroup::Created, 2, "created", Some("1000.50")),
        result(ResultGroup::Invalid, 3, "invalid", None),
        result(ResultGroup::Created, 4, "created", Some("2000")),
        result(
            ResultGroup::AlreadyExisted,
            5,
            "exists_before_run",
            Some("5"),
        ),
        result(ResultGroup::IdUnknown, 6, "exists_id_unknown", Some("6")),
        result(ResultGroup::Rejected, 7, "rejected", Some("7")),
        result(ResultGroup::Failed, 8, "failed", Some("8")),
        result(ResultGroup::NotSent, 9, "pending", Some("9")),
    ]
}

#[test]
fn the_results_workbook_puts_each_row_in_its_group_with_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.xlsx");
    let rows = result_rows();
    let written = write::write_results(
        &path,
        &results_doc(),
        rows.iter().cloned().map(Ok::<_, std::io::Error>),
        rows.len() as u64,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap();
    assert_eq!(written.rows(), 8);
    assert_eq!(written.of(ResultGroup::Created).rows, 2);
    assert_eq!(written.of(ResultGroup::Created).amount, dec("3000.50"));
    assert_eq!(written.of(ResultGroup::Created).fees, dec("120"));

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Created",
            "Already existed",
            "Id unknown",
            "Rejected",
            "Failed",
            "Not sent",
            "Invalid"
        ]
    );
    let headers: Vec<String> = ["Row", "Order No", "Amount", "Mobile"]
        .iter()
        .map(|s| s.to_string())
        .chain(RESULT_COLUMNS.iter().map(|s| s.to_string()))
        .collect();
    for g in ResultGroup::ALL {
        let sheet = wb.worksheet_range(g.sheet_name()).unwrap();
        let got: Vec<String> = (0..headers.len())
            .map(|c| sheet.get((0, c)).unwrap().to_string())
            .collect();
        assert_eq!(got, headers, "{g:?}");
        let mine: Vec<&ResultRow> = rows.iter().filter(|r| r.group == g).collect();
        assert_eq!(sheet.height(), mine.len() + 1, "{g:?}");
        for (i, r) in mine.iter().enumerate() {
            let c = |col: usize| sheet.get((i + 1, col)).cloned().unwrap_or(Data::Empty);
            assert_eq!(c(0), Data::Float(f64::from(r.row)));
            for (k, cell) in r.cells.iter().enumerate() {
                // The sheet's own cells stay text: "1000.50" keeps its zero.
                assert_eq!(c(1 + k), Data::String(cell.clone()));
            }
            expect_text(&c(4), Some(&r.state));
            expect_text(&c(5), r.connectpay_id.as_deref());
            expect_money(&c(6), r.fee);
            expect_text(&c(7), r.status_code.as_deref());
            expect_text(&c(8), r.message.as_deref());
            assert_eq!(c(9), Data::Float(f64::from(r.attempts)));
        }
    }
    let summary = wb.worksheet_range("Summary").unwrap();
    let s = |r: usize, c: usize| summary.get((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(s(0, 1), Data::String("7".into()));
    expect_text(&s(1, 1), Some("/data/orders.xlsx"));
    expect_date(&s(7, 1), Some(at("2026-01-05 10:00:00.000")));
    expect_text(&s(11, 0), Some("Outcome"));
    for (i, g) in ResultGroup::ALL.iter().enumerate() {
        let t = written.of(*g);
        expect_text(&s(12 + i, 0), Some(g.sheet_name()));
        assert_eq!(s(12 + i, 1), Data::Float(t.rows as f64));
        assert_eq!(money(&s(12 + i, 2)), t.amount.normalize());
        assert_eq!(money(&s(12 + i, 3)), t.fees.normalize());
    }
    expect_text(&s(19, 0), Some("Total"));
    assert_eq!(s(19, 1), Data::Float(8.0));
    assert_eq!(money(&s(19, 2)), dec("3035.5"));
    assert_eq!(money(&s(19, 3)), dec("120"));
    let sf = wb.worksheet_formula("Summary").unwrap();
    assert_eq!(
        sf.get_value((19, 2)).map(String::as_str),
        Some("SUM(C13:C19)")
    );
}

#[test]
fn the_results_csv_files_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = result_rows();
    let written = write::write_results_csv(
        dir.path(),
        "run-7-results",
        &results_doc(),
        rows.iter().cloned().map(Ok::<_, std::io::Error>),
        rows.len() as u64,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap();
    assert_eq!(written.paths.len(), 8);
    for g in ResultGroup::ALL {
        let path = dir
            .path()
            .join(format!("run-7-results-{}.csv", g.file_suffix()));
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers[..4], ["Row", "Order No", "Amount", "Mobile"]);
        assert_eq!(headers[4..], RESULT_COLUMNS);
        let got: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        let want: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r.group == g)
            .map(|r| {
                let mut v = vec![r.row.to_string()];
                v.extend(r.cells.iter().cloned());
                v.push(r.state.clone());
                v.push(r.connectpay_id.clone().unwrap_or_default());
                v.push(r.fee.map(|_| "60.00".to_string()).unwrap_or_default());
                v.push(r.status_code.clone().unwrap_or_default());
                v.push(r.message.clone().unwrap_or_default());
                v.push(r.attempts.to_string());
                v
            })
            .collect();
        assert_eq!(got, want, "{g:?}");
    }
    let summary = std::fs::read_to_string(dir.path().join("run-7-results-summary.csv")).unwrap();
    assert!(summary.contains("Created,2,3000.50,120.00\n"), "{summary}");
    assert!(summary.contains("Total,8,3035.50,120.00\n"), "{summary}");

    // Nothing is replaced without --force, not even one of the files.
    let err = write::write_results_csv(
        dir.path(),
        "run-7-results",
        &results_doc(),
        rows.iter().cloned().map(Ok::<_, std::io::Error>),
        rows.len() as u64,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Exists { .. }), "{err}");
}
