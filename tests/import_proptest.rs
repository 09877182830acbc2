#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Arbitrary cell values in every column never panic the importer, and its result is
//! consistent: a row has an item exactly when it has no error, every non-blank row is
//! reported once with the row number it came from.

use calamine::{ExcelDateTime, ExcelDateTimeType};
use paypro_console::domain::Kind;
use paypro_console::domain::fields::fields;
use paypro_console::sheet::{self, CellValue, Importer, coerce};
use proptest::prelude::*;
use std::borrow::Cow;
use std::path::Path;

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{1,14}",
        "[+0-9 ()-]{0,20}",
        "-?[0-9,]{1,12}(\\.[0-9]{0,4})?",
        "[0-9]{1,2}[/.-][0-9A-Za-z]{1,3}[/.-][0-9]{1,5}( [0-9:]{0,8}( AM)?)?",
        "[a-z.]{0,20}@{0,2}[a-z.]{0,20}",
        Just("#N/A".to_string()),
        Just(" ".to_string()),
        "[ \\t\\n]{0,3}[A-Za-z ]{0,40}",
    ]
}

fn cell_strategy() -> impl Strategy<Value = CellValue<'static>> {
    prop_oneof![
        Just(CellValue::Empty),
        any::<i64>().prop_map(CellValue::Int),
        any::<f64>().prop_map(CellValue::Float),
        (-1e6f64..1e11).prop_map(CellValue::Float),
        any::<bool>().prop_map(CellValue::Bool),
        text_strategy().prop_map(CellValue::owned_text),
        (any::<f64>(), any::<bool>(), any::<bool>()).prop_map(|(v, dur, is_1904)| {
            let t = if dur {
                ExcelDateTimeType::TimeDelta
            } else {
                ExcelDateTimeType::DateTime
            };
            CellValue::DateTime(ExcelDateTime::new(v, t, is_1904))
        }),
        (30000f64..80000.0).prop_map(|v| CellValue::DateTime(ExcelDateTime::new(
            v,
            ExcelDateTimeType::DateTime,
            false
        ))),
        text_strategy().prop_map(|s| CellValue::DateTimeIso(Cow::Owned(s))),
        text_strategy().prop_map(|s| CellValue::DurationIso(Cow::Owned(s))),
        prop_oneof![Just("#N/A"), Just("#VALUE!"), Just("#REF!")]
            .prop_map(|e| CellValue::Error(e.to_string())),
        "[=A-Z0-9+*()]{0,12}".prop_map(CellValue::NoValue),
    ]
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn coercions_never_panic(cell in cell_strategy(), max in 0usize..40) {
        let _ = coerce::amount(&cell);
        let _ = coerce::date(&cell, false);
        let _ = coerce::date(&cell, true);
        let _ = coerce::contact_mobile(&cell, max);
        let _ = coerce::contact_email(&cell, max);
        let _ = coerce::key_text(&cell, max);
        let _ = coerce::mobile(&cell);
        let _ = coerce::text(&cell, max);
        let _ = coerce::email(&cell, max);
        let _ = coerce::seconds(&cell);
        let _ = coerce::list_order_number(&cell, max);
        let _ = coerce::full_consumer_code(&cell, max);
        let _ = coerce::constant(&cell, "Service", "OrderType");
        let _ = cell.to_string();
        let _ = cell.plain();
        if let Ok(m) = coerce::amount(&cell) {
            let readings = match m.value {
                coerce::AmountCell::Read { money, .. } => vec![money],
                coerce::AmountCell::Ambiguous { point, comma, .. } => {
                    prop_assert!(point.is_ok() || comma.is_ok());
                    point.into_iter().chain(comma).collect()
                }
            };
            for money in readings {
                prop_assert!(!money.is_zero());
                prop_assert_eq!(money.value().scale(), 2);
            }
        }
        if let Ok(m) = coerce::mobile(&cell) {
            prop_assert!(m.value.is_empty() || paypro_console::domain::rules::is_valid_mobile(&m.value));
        }
    }

    #[test]
    fn arbitrary_rows_in_every_column_never_panic(
        kind in kind_strategy(),
        guess in any::<bool>(),
        extra_header in text_strategy(),
        rows in prop::collection::vec(prop::collection::vec(cell_strategy(), 0..16), 0..25),
    ) {
        let mut header: Vec<CellValue<'static>> = fields(kind)
            .iter()
            .map(|f| CellValue::owned_text(f.name.to_string()))
            .collect();
        header.push(CellValue::owned_text(extra_header));
        // A one-column list never names its kind: guessing needs two columns.
        let guess = guess && fields(kind).len() >= 2;
        let mut importer = Importer::new(Path::new("prop.xlsx"), "Sheet1", if guess { None } else { Some(kind) });
        importer.push_row(1, &header).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut expected_rows = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let n = i as u32 + 2;
            importer.push_row(n, row).unwrap();
            if !row.iter().all(CellValue::is_blank) {
                expected_rows.push(n);
            }
        }
        let imp = importer.finish().unwrap().unwrap();
        let got: Vec<u32> = imp.rows.iter().map(|r| r.row).collect();
        prop_assert_eq!(got, expected_rows);
        for r in &imp.rows {
            let has_error = r.issues.iter().any(|i| i.is_error());
            prop_assert_eq!(r.item.is_some(), !has_error, "row {}: {:?}", r.row, r.issues);
            prop_assert!(r.issues.iter().all(|i| i.row == r.row));
            prop_assert!(r.item.is_some() || r.raw.len() <= imp.columns.len());
            if let Some(item) = &r.item {
                prop_assert_eq!(item.key(), r.key.as_str());
            }
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(
        kind in prop::option::of(kind_strategy()),
        header in prop::collection::vec(cell_strategy(), 0..12),
        row in prop::collection::vec(cell_strategy(), 0..12),
    ) {
        let mut importer = Importer::new(Path::new("h.xlsx"), "S", kind);
        if importer.push_row(1, &header).is_ok() {
            let _ = importer.push_row(2, &row);
        }
        let _ = importer.finish();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Through real files: a workbook written by rust_xlsxwriter and a CSV of arbitrary
    /// text, read back by `sheet::read`.
    #[test]
    fn arbitrary_workbooks_and_csv_never_panic(
        kind in kind_strategy(),
        cells in prop::collection::vec(prop::collection::vec(
            prop_oneof![
                text_strategy().prop_map(Err),
                (-1e12f64..1e12).prop_map(Ok),
            ], 0..10), 0..12),
        csv in any::<Vec<u8>>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arb.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, f) in fields(kind).iter().enumerate() {
            ws.write_string(0, c as u16, f.name).unwrap();
        }
        for (r, row) in cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match v {
                    Err(s) => { let _ = ws.write_string(r, c, s); }
                    Ok(n) => { ws.write_number(r, c, *n).unwrap(); }
                }
            }
        }
        wb.save(&path).unwrap();
        let _ = sheet::read(&path, None, None);
        let _ = sheet::read(&path, Some(kind), None);

        let csv_path = dir.path().join("arb.csv");
        std::fs::write(&csv_path, &csv).unwrap();
        let _ = sheet::read(&csv_path, None, None);
        let as_xlsx = dir.path().join("bytes.xlsx");
        std::fs::write(&as_xlsx, &csv).unwrap();
        let _ = sheet::read(&as_xlsx, Some(kind), None);
    }
}

// ------------------------------------------------------------------------------------
// Amounts and dates written either way: read back exactly, or refused.

mod corpus;

use chrono::{Datelike, NaiveDate};
use paypro_console::domain::{Money, Order};
use paypro_console::sheet::{DateOrder, ImportOptions, Imported, Item};

const HEADERS: [&str; 8] = corpus::HEADERS;

/// How one amount is written.
#[derive(Debug, Clone)]
enum AmountCell {
    /// A number cell holding the amount.
    Number,
    /// Text: decimal comma or point, thousands separators or not, whole amounts with or
    /// without decimals, a currency prefix or not.
    Text {
        comma: bool,
        grouped: bool,
        decimals: bool,
        prefix: bool,
    },
}

fn write_amount(cents: u64, how: &AmountCell) -> CellValue<'static> {
    let (whole, frac) = (cents / 100, cents % 100);
    match how {
        AmountCell::Number => CellValue::Float(cents as f64 / 100.0),
        AmountCell::Text {
            comma,
            grouped,
            decimals,
            prefix,
        } => {
            let (thousands, decimal) = if *comma { ('.', ',') } else { (',', '.') };
            let digits = whole.to_string();
            let mut int = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if *grouped && i > 0 && (digits.len() - i) % 3 == 0 {
                    int.push(thousands);
                }
                int.push(ch);
            }
            let mut text = if frac != 0 || *decimals {
                format!("{int}{decimal}{frac:02}")
            } else {
                int
            };
            if *prefix {
                text = format!("Rs. {text}");
            }
            CellValue::owned_text(text)
        }
    }
}

fn amount_cell() -> impl Strategy<Value = AmountCell> {
    prop_oneof![
        Just(AmountCell::Number),
        (
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.3),
            any::<bool>()
        )
            .prop_map(|(comma, grouped, decimals, prefix)| AmountCell::Text {
                comma,
                grouped,
                decimals,
                prefix
            }),
    ]
}

/// How one date is written.
#[derive(Debug, Clone, Copy)]
enum DateCell {
    /// Numeric text in the column's writer order, with a separator, zero-padded or not,
    /// with a midnight time or not.
    Numeric {
        sep: char,
        padded: bool,
        midnight: bool,
    },
    Iso,
    MonthName,
    /// A date cell (the workbook's date system).
    Cell,
    /// A plain number holding the serial.
    Serial,
}

fn date_cell() -> impl Strategy<Value = DateCell> {
    prop_oneof![
        4 => (prop::sample::select(vec!['/', '.', '-']), any::<bool>(), any::<bool>())
            .prop_map(|(sep, padded, midnight)| DateCell::Numeric { sep, padded, midnight }),
        1 => Just(DateCell::Iso),
        1 => Just(DateCell::MonthName),
        1 => Just(DateCell::Cell),
        1 => Just(DateCell::Serial),
    ]
}

fn serial(day: NaiveDate, is_1904: bool) -> f64 {
    let epoch = if is_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()
    };
    (day - epoch).num_days() as f64
}

fn write_date(
    day: NaiveDate,
    how: DateCell,
    writer: DateOrder,
    is_1904: bool,
) -> CellValue<'static> {
    match how {
        DateCell::Numeric {
            sep,
            padded,
            midnight,
        } => {
            let (a, b) = match writer {
                DateOrder::DayFirst => (day.day(), day.month()),
                DateOrder::MonthFirst => (day.month(), day.day()),
            };
            let mut text = if padded {
                format!("{a:02}{sep}{b:02}{sep}{}", day.year())
            } else {
                format!("{a}{sep}{b}{sep}{}", day.year())
            };
            if midnight {
                text.push_str(" 00:00");
            }
            CellValue::owned_text(text)
        }
        DateCell::Iso => CellValue::owned_text(day.format("%Y-%m-%d").to_string()),
        DateCell::MonthName => CellValue::owned_text(day.format("%d-%b-%Y").to_string()),
        DateCell::Cell => CellValue::DateTime(ExcelDateTime::new(
            serial(day, is_1904),
            ExcelDateTimeType::DateTime,
            is_1904,
        )),
        DateCell::Serial => CellValue::Float(serial(day, is_1904)),
    }
}

/// A clean row around one amount and one due date (issue date 1 Jan 2000, the earliest
/// due date the strategies produce).
fn row_with(
    n: usize,
    amount: CellValue<'static>,
    due: CellValue<'static>,
) -> Vec<CellValue<'static>> {
    vec![
        CellValue::owned_text(format!("P-{n}")),
        amount,
        due,
        CellValue::owned_text("2000-01-01".into()),
        CellValue::owned_text("Ali Khan".into()),
        CellValue::owned_text("03123456789".into()),
        CellValue::owned_text("ali@example.pk".into()),
        CellValue::owned_text("Lahore".into()),
    ]
}

fn import_rows(rows: &[Vec<CellValue<'static>>], options: ImportOptions) -> Imported {
    let mut importer =
        Importer::new(Path::new("p.xlsx"), "S", Some(Kind::Orders)).with_options(options);
    let header: Vec<CellValue<'static>> = HEADERS
        .iter()
        .map(|h| CellValue::owned_text(h.to_string()))
        .collect();
    importer.push_row(1, &header).unwrap();
    for (i, row) in rows.iter().enumerate() {
        importer.push_row(i as u32 + 2, row).unwrap();
    }
    importer.finish().unwrap().unwrap()
}

fn order_at(imp: &Imported, i: usize) -> Option<&Order> {
    match &imp.rows[i].item {
        Some(Item::Order(o)) => Some(o),
        _ => None,
    }
}

fn refused_in(imp: &Imported, i: usize, column: &str) -> bool {
    imp.rows[i]
        .issues
        .iter()
        .any(|x| x.is_error() && x.column == column)
}

/// Any amount, or a whole one (whole amounts written without decimals are the ones whose
/// thousands separator reads as a decimal one).
/// Magnitudes spread evenly (1 paisa to a billion), so that short amounts, whose single
/// thousands separator could be a decimal one, are as common as long ones.
fn cents_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0u32..11).prop_flat_map(|e| 10u64.pow(e)..10u64.pow(e + 1)),
        (0u32..9).prop_flat_map(|e| (10u64.pow(e)..10u64.pow(e + 1)).prop_map(|w| w * 100)),
    ]
}

fn day_strategy() -> impl Strategy<Value = NaiveDate> {
    (0i64..36_500)
        .prop_map(|n| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(n as u64))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// A column of amounts written as number cells or as text in either convention
    /// (mixed if the strategy says so), in a CSV of either separator or a workbook: each
    /// row holds exactly the amount written, or is refused. A column written one way
    /// with text that shows it (or a `;` CSV for decimal commas) is read entirely.
    #[test]
    fn amounts_written_either_way_read_back_exactly_or_refused(
        values in prop::collection::vec((cents_strategy(), amount_cell()), 1..6),
        delimiter in prop::sample::select(vec![None, Some(b';'), Some(b','), Some(b'\t')]),
        one_convention in prop::option::of(any::<bool>()),
    ) {
        let values: Vec<(u64, AmountCell)> = values
            .into_iter()
            .map(|(c, how)| match (how, one_convention) {
                (AmountCell::Text { grouped, decimals, prefix, .. }, Some(comma)) => {
                    (c, AmountCell::Text { comma, grouped, decimals, prefix })
                }
                (how, _) => (c, how),
            })
            .collect();
        let rows: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, (cents, how))| {
                row_with(i, write_amount(*cents, how), CellValue::owned_text("2000-01-01".into()))
            })
            .collect();
        let imp = import_rows(&rows, ImportOptions { csv_delimiter: delimiter, ..ImportOptions::default() });
        for (i, (cents, how)) in values.iter().enumerate() {
            let written = rows[i][1].to_string();
            match order_at(&imp, i) {
                Some(o) => prop_assert_eq!(
                    o.amount,
                    Money::from_cents(*cents as i64).unwrap(),
                    "{} read as {}", written, o.amount
                ),
                None => prop_assert!(
                    refused_in(&imp, i, "OrderAmount"),
                    "{}: refused without an amount error: {:?}", written, imp.rows[i].issues
                ),
            }
            if matches!(how, AmountCell::Number) {
                prop_assert!(order_at(&imp, i).is_some(), "number cell {} refused", written);
            }
        }
        // Liveness: one convention shown by the column (a value that can only be read
        // its way) or by a `;` CSV reads every row.
        if let Some(comma) = one_convention {
            let shown = values.iter().any(|(cents, how)| match how {
                AmountCell::Text { decimals, .. } => *cents % 100 != 0 || *decimals,
                AmountCell::Number => false,
            }) || (comma && delimiter == Some(b';'));
            if shown {
                prop_assert_eq!(imp.valid_count(), values.len(), "{:?}", imp.all_issues().collect::<Vec<_>>());
            }
        }
    }

    /// A column of due dates written in one order (day-first or month-first) in numeric
    /// text of any separator, or as ISO text, month names, date cells or serials (1900 or
    /// 1904 workbooks), read with either configured order: each row holds exactly the
    /// date written, or is refused — except a column that nothing decides, read in the
    /// configured order with a warning that says so. A column that shows its order, or
    /// is read with the order it was written in, is read entirely.
    #[test]
    fn dates_written_either_way_read_back_exactly_or_refused(
        values in prop::collection::vec((day_strategy(), date_cell()), 1..12),
        writer in prop::sample::select(vec![DateOrder::DayFirst, DateOrder::MonthFirst]),
        configured in prop::sample::select(vec![DateOrder::DayFirst, DateOrder::MonthFirst]),
        is_1904 in any::<bool>(),
    ) {
        let rows: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, (day, how))| {
                row_with(i, CellValue::Float(1500.5), write_date(*day, *how, writer, is_1904))
            })
            .collect();
        let imp = import_rows(&rows, ImportOptions { date_order: configured, is_1904, ..ImportOptions::default() });
        let proven = values.iter().any(|(day, how)| {
            matches!(how, DateCell::Numeric { .. }) && day.day() > 12
        });
        let warned = imp.issues.iter().any(|i| i.column == "OrderDueDate" && i.message.contains("could be day-first or month-first"));
        for (i, (day, _)) in values.iter().enumerate() {
            let written = rows[i][2].to_string();
            match order_at(&imp, i) {
                Some(o) if o.due_date == *day => {}
                Some(o) => prop_assert!(
                    warned && !proven && writer != configured,
                    "{} read as {} without a warning", written, o.due_date
                ),
                None => prop_assert!(
                    refused_in(&imp, i, "OrderDueDate"),
                    "{}: refused without a date error: {:?}", written, imp.rows[i].issues
                ),
            }
        }
        if proven || writer == configured {
            prop_assert_eq!(imp.valid_count(), values.len(), "{:?}", imp.all_issues().collect::<Vec<_>>());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// The same through real files: a `;` CSV written with decimal commas and day-first
    /// dates, and a workbook with number, date and text cells (1900 or 1904), read back
    /// exactly.
    #[test]
    fn files_written_either_way_read_back_exactly(
        values in prop::collection::vec((1u64..100_000_000, day_strategy()), 1..8),
        is_1904 in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("decimal-comma.csv");
        let mut text = HEADERS.join(";") + "\r\n";
        for (i, (cents, day)) in values.iter().enumerate() {
            let amount = write_amount(*cents, &AmountCell::Text { comma: true, grouped: true, decimals: true, prefix: false });
            text += &format!(
                "P-{i};{};{};2000-01-01;Ali Khan;03123456789;ali@example.pk;Lahore\r\n",
                amount.plain(),
                day.format("%d/%m/%Y")
            );
        }
        std::fs::write(&csv, text).unwrap();
        let wb = dir.path().join("cells.xlsx");
        let mut rows = vec![HEADERS.iter().map(|h| corpus::s(h)).collect::<Vec<_>>()];
        for (i, (cents, day)) in values.iter().enumerate() {
            let due = if is_1904 { corpus::C::Serial(serial(*day, true)) } else { corpus::C::D(*day) };
            rows.push(vec![
                corpus::s(&format!("P-{i}")),
                corpus::C::N(*cents as f64 / 100.0),
                due,
                corpus::s("2000-01-01"),
                corpus::s("Ali Khan"),
                corpus::s("03123456789"),
                corpus::s("ali@example.pk"),
                corpus::s("Lahore"),
            ]);
        }
        corpus::xlsx(&wb, &[corpus::Sheet { name: "Orders", hidden: false, rows }], true);
        if is_1904 {
            corpus::make_1904(&wb);
        }
        for file in [&csv, &wb] {
            let imp = sheet::read(file, Some(Kind::Orders), None).unwrap();
            prop_assert_eq!(imp.valid_count(), values.len(), "{:?}", imp.all_issues().collect::<Vec<_>>());
            for (i, (cents, day)) in values.iter().enumerate() {
                let o = order_at(&imp, i).unwrap();
                prop_assert_eq!(o.amount, Money::from_cents(*cents as i64).unwrap());
                prop_assert_eq!(o.due_date, *day);
            }
        }
    }
}
