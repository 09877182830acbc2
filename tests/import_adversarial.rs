#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every case of the adversarial corpus (tests/corpus) gets its verdict and message from
//! `sheet::read`: the rows that should reach PayPro hold exactly what the clerk meant,
//! the others are refused naming the row, column and what is wrong, and the files that
//! cannot be used are refused in one sentence. Issues point at their cell.

mod corpus;

use corpus::{Case, Meant, Row, Verdict};
use paypro_console::domain::{Kind, Money, Order};
use paypro_console::sheet::{self, Imported, Item};

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

/// The order as the clerk meant it, for comparison with what the importer built.
pub fn order_of(m: &Meant) -> Order {
    Order {
        order_number: m.number.clone(),
        amount: money(&m.amount),
        due_date: m.due,
        issue_date: m.issue,
        customer_name: m.name.clone(),
        customer_mobile: m.mobile.clone(),
        customer_email: m.email.clone(),
        customer_address: m.address.clone(),
        expire_after_seconds: m.expire,
        amount_within_due_date: m.within.as_deref().map(money),
        amount_after_due_date: m.after.as_deref().map(money),
    }
}

fn check_rows(case: &Case, imp: &Imported, rows: &[Row], notes: &[&str]) {
    let code = case.code;
    assert_eq!(imp.kind, Kind::Orders, "{code}");
    let got: Vec<u32> = imp.rows.iter().map(|r| r.row).collect();
    let want: Vec<u32> = rows.iter().map(Row::row).collect();
    assert_eq!(got, want, "{code}: rows read");
    for expected in rows {
        let r = imp.rows.iter().find(|r| r.row == expected.row()).unwrap();
        let found: Vec<String> = r.issues.iter().map(|i| i.to_string()).collect();
        match expected {
            Row::Sent { meant, warning, .. } => {
                let Some(Item::Order(o)) = &r.item else {
                    panic!("{code} row {}: refused: {found:#?}", r.row)
                };
                assert_eq!(o, &order_of(meant), "{code} row {}", r.row);
                assert!(r.raw.is_empty(), "{code} row {}", r.row);
                match warning {
                    Some((column, needle)) => assert!(
                        r.issues.iter().any(|i| !i.is_error()
                            && i.column == *column
                            && i.message.contains(needle)),
                        "{code} row {}: no warning in {column} with {needle:?}: {found:#?}",
                        r.row
                    ),
                    None => assert!(
                        r.issues.is_empty(),
                        "{code} row {}: unexpected {found:#?}",
                        r.row
                    ),
                }
            }
            Row::Refused { column, needle, .. } => {
                assert!(r.item.is_none(), "{code} row {} was accepted", r.row);
                let hit = r
                    .issues
                    .iter()
                    .find(|i| i.is_error() && i.column == *column && i.message.contains(needle));
                let Some(hit) = hit else {
                    panic!(
                        "{code} row {}: no error in {column:?} with {needle:?}: {found:#?}",
                        r.row
                    )
                };
                // A cell's issue points at the cell: its column and header as found.
                if !column.is_empty() {
                    let index = hit.column_index.unwrap();
                    let col = &imp.columns[index];
                    assert_eq!(col.field, Some(*column), "{code} row {}", r.row);
                    assert_eq!(hit.header.as_deref(), Some(col.header.as_str()));
                } else {
                    assert_eq!(hit.column_index, None);
                }
                // Raw cells for the error report, no further than the named columns.
                assert_eq!(r.raw.len(), imp.columns.len(), "{code} row {}", r.row);
            }
        }
    }
    let sheet_notes: Vec<String> = imp.issues.iter().map(|i| i.to_string()).collect();
    for needle in notes {
        assert!(
            sheet_notes.iter().any(|n| n.contains(needle)),
            "{code}: no sheet note with {needle:?}: {sheet_notes:#?}"
        );
    }
    assert_eq!(
        imp.has_errors(),
        rows.iter().any(|r| matches!(r, Row::Refused { .. })) || rows.is_empty(),
        "{code}: {sheet_notes:#?}"
    );
}

/// The corpus is built once for both checks (the shared-strings bomb takes a moment);
/// `PAYPRO_CORPUS_DIR` keeps the files for a look by hand.
#[test]
fn every_case_of_the_corpus_gets_its_verdict_and_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("PAYPRO_CORPUS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let cases = corpus::build(&dir);
    covers_every_point(&cases);
    for case in &cases {
        let read = sheet::read(&case.file, None, None);
        match (&case.verdict, read) {
            (Verdict::Unusable(needle), Err(e)) => {
                let msg = e.to_string();
                assert!(msg.contains(needle), "{}: {msg}", case.code);
                assert!(!msg.contains('\n'), "{}: one line: {msg}", case.code);
                assert!(
                    msg.starts_with(&case.file.display().to_string()),
                    "{}: names the file: {msg}",
                    case.code
                );
            }
            (Verdict::Unusable(needle), Ok(imp)) => panic!(
                "{} ({}) should be refused with {needle:?}; read {} rows",
                case.code,
                case.covers,
                imp.rows.len()
            ),
            (Verdict::Rows { rows, sheet_notes }, Ok(imp)) => {
                check_rows(case, &imp, rows, sheet_notes)
            }
            (Verdict::Rows { .. }, Err(e)) => {
                panic!("{} ({}): refused: {e}", case.code, case.covers)
            }
        }
    }
}

fn covers_every_point(cases: &[Case]) {
    assert!(cases.len() >= 30, "{}", cases.len());
    let codes: Vec<&str> = cases.iter().map(|c| c.code).collect();
    // One or more cases per Build point (A amounts, B CSV rows, F formulas, D dates,
    // I invisible characters, N numbers as keys, S sheets and headers, M bounded memory,
    // R clear refusals) and the table's rows.
    for prefix in ["A", "B", "F", "D", "I", "N", "S", "M", "R", "E"] {
        assert!(
            codes.iter().any(|c| c.starts_with(prefix)),
            "no case for {prefix}"
        );
    }
    let mut unique = codes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "case codes are unique");
}
