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
                coerce::AmountCell::Ambiguous { point, comma } => {
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
