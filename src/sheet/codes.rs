//! A list of codes to look up, one per row: ConnectPay ids for a status refresh
//! (`status --ids FILE`), full consumer codes for a consumer look-up (`consumer --file
//! FILE`). A text file with one code a line, a CSV, or the first visible sheet of a
//! workbook; the column is the one whose header names the code (`ConnectPay Id`,
//! `cpayId`, ...), else the first column when the first row already holds a code.
//!
//! Codes are strings of digits whose leading zeros matter (`0044…`): a number cell lost
//! them, so it is refused naming the row and how to fix it, never padded back by guess.
//! Blank rows are skipped; a code given twice is looked up once (a warning says so).

use super::cell::CellValue;
use super::{SheetError, clean};
use crate::domain::{Issue, fields::normalize_header};
use calamine::{Data, Reader, SheetType, SheetVisible};
use std::collections::HashMap;
use std::path::Path;

/// What the list holds.
#[derive(Debug, Clone, Copy)]
pub struct CodeList {
    /// The code's name in messages and as the column's field (`ConnectPay Id`).
    pub what: &'static str,
    /// Headers that name the column, normalised ([`normalize_header`]).
    pub headers: &'static [&'static str],
}

/// ConnectPay ids (`status --ids FILE`).
pub const CONNECTPAY_IDS: CodeList = CodeList {
    what: "ConnectPay Id",
    headers: &["connectpayid", "cpayid", "connectpay", "id", "ids"],
};

/// Full consumer codes (`consumer --file FILE`).
pub const CONSUMER_CODES: CodeList = CodeList {
    what: "FullConsumerCode",
    headers: &[
        "fullconsumercode",
        "consumercode",
        "consumerid",
        "consumer",
        "code",
    ],
};

/// One code and the row it was on (as Excel numbers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub row: u32,
    pub code: String,
}

/// The codes read, and what was wrong with the rows that gave none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes {
    pub codes: Vec<Code>,
    /// Errors (a row left out) and warnings (a repeat).
    pub issues: Vec<Issue>,
}

/// Reads the list of codes in `path`.
pub fn read_codes(path: &Path, list: &CodeList) -> Result<Codes, SheetError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let rows: Vec<Vec<CellValue<'static>>> = match ext.as_str() {
        "csv" | "tsv" | "txt" => text_rows(path)?,
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => workbook_rows(path)?,
        _ => {
            return Err(SheetError::Unsupported {
                file: path.to_path_buf(),
            });
        }
    };
    Ok(codes_of(&rows, list))
}

fn text_rows(path: &Path) -> Result<Vec<Vec<CellValue<'static>>>, SheetError> {
    let bytes = std::fs::read(path).map_err(|e| SheetError::Open {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        SheetError::NotUtf8 {
            file: path.to_path_buf(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count() as u64,
            detail: String::new(),
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let delimiter = [b',', b';', b'\t'].into_iter().find(|d| {
        text.lines()
            .next()
            .is_some_and(|l| l.as_bytes().contains(d))
    });
    let Some(delimiter) = delimiter else {
        return Ok(text
            .lines()
            .map(|l| vec![CellValue::owned_text(l.to_string())])
            .collect());
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| SheetError::NotASpreadsheet {
            file: path.to_path_buf(),
            format: "text (CSV)",
            reason: format!("line {}: {e}", i + 1),
        })?;
        rows.push(
            record
                .iter()
                .map(|f| CellValue::owned_text(f.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn workbook_rows(path: &Path) -> Result<Vec<Vec<CellValue<'static>>>, SheetError> {
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| SheetError::Open {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let name = wb
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .ok_or_else(|| SheetError::Empty {
            file: path.to_path_buf(),
            sheet: None,
        })?;
    let range = wb.worksheet_range(&name).map_err(|e| SheetError::Damaged {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let (top, _) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<CellValue<'static>>> = vec![Vec::new(); top as usize];
    for r in range.rows() {
        rows.push(r.iter().map(owned).collect());
    }
    Ok(rows)
}

fn owned(d: &Data) -> CellValue<'static> {
    match d {
        Data::String(s) => CellValue::owned_text(s.clone()),
        Data::Int(i) => CellValue::Int(*i),
        Data::Float(f) => CellValue::Float(*f),
        Data::Bool(b) => CellValue::Bool(*b),
        Data::Empty => CellValue::Empty,
        other => CellValue::owned_text(other.to_string()),
    }
}

/// The codes of `rows` (row 1 first), column and header found as the module says.
fn codes_of(rows: &[Vec<CellValue<'static>>], list: &CodeList) -> Codes {
    let mut issues = Vec::new();
    let first = rows.iter().position(|r| r.iter().any(|c| !c.is_blank()));
    let Some(first) = first else {
        return Codes {
            codes: Vec::new(),
            issues,
        };
    };
    let header_col = rows[first].iter().position(
        |c| matches!(c, CellValue::Text(t) if list.headers.contains(&normalize_header(t).as_str())),
    );
    let (col, start) = match header_col {
        Some(c) => (c, first + 1),
        None => {
            let lead = rows[first].iter().position(|c| !c.is_blank()).unwrap_or(0);
            if code_text(&rows[first][lead]).is_some() {
                (lead, first)
            } else {
                issues.push(Issue::error(
                    first as u32 + 1,
                    list.what,
                    format!(
                        "the first row names no {} column (headers such as {}) and holds no code; \
                         put the codes in a column with that header",
                        list.what, list.what
                    ),
                ));
                return Codes {
                    codes: Vec::new(),
                    issues,
                };
            }
        }
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut codes = Vec::new();
    for (i, r) in rows.iter().enumerate().skip(start) {
        let row = i as u32 + 1;
        let Some(cell) = r.get(col).filter(|c| !c.is_blank()) else {
            continue;
        };
        let code = match cell {
            CellValue::Int(_) | CellValue::Float(_) => {
                issues.push(Issue::error(
                    row,
                    list.what,
                    format!(
                        "{} is a number cell, so any leading zeros are lost; format the column \
                         as Text and type the code again (left out)",
                        cell.plain()
                    ),
                ));
                continue;
            }
            other => match code_text(other) {
                Some(c) => c,
                None => {
                    issues.push(Issue::error(
                        row,
                        list.what,
                        format!(
                            "\"{}\" is not a {} (digits only) (left out)",
                            other.plain(),
                            list.what
                        ),
                    ));
                    continue;
                }
            },
        };
        if let Some(earlier) = seen.get(&code) {
            issues.push(Issue::warning(
                row,
                list.what,
                format!("{code} repeats row {earlier}; looked up once"),
            ));
            continue;
        }
        seen.insert(code.clone(), row);
        codes.push(Code { row, code });
    }
    Codes { codes, issues }
}

/// The code a text cell holds: digits, after the invisible characters and spaces a
/// copy-paste brings are removed.
fn code_text(cell: &CellValue<'_>) -> Option<String> {
    let CellValue::Text(t) = cell else {
        return None;
    };
    let (t, _) = clean::strip_invisible(t);
    let t = t.trim();
    (!t.is_empty() && t.chars().all(|c| c.is_ascii_digit())).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(rows: &[&[&str]]) -> Vec<Vec<CellValue<'static>>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|c| CellValue::owned_text(c.to_string()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_header_names_the_column_and_zeros_are_kept() {
        let rows = text(&[
            &["Order", "ConnectPay Id"],
            &["A-1", "00440000000001"],
            &["", ""],
            &["A-2", " 00440000000002\u{200b}"],
            &["A-3", "00440000000001"],
            &["A-4", "abc"],
        ]);
        let got = codes_of(&rows, &CONNECTPAY_IDS);
        assert_eq!(
            got.codes,
            vec![
                Code {
                    row: 2,
                    code: "00440000000001".into()
                },
                Code {
                    row: 4,
                    code: "00440000000002".into()
                },
            ]
        );
        assert_eq!(got.issues.len(), 2);
        assert!(got.issues[0].message.contains("repeats row 2"));
        assert!(got.issues[1].is_error() && got.issues[1].row == 6);
    }

    #[test]
    fn without_a_header_the_first_column_is_the_list_and_numbers_are_refused() {
        let mut rows = text(&[&["0044123"], &["0044124"]]);
        rows.push(vec![CellValue::Float(44125.0)]);
        let got = codes_of(&rows, &CONSUMER_CODES);
        assert_eq!(got.codes.len(), 2);
        assert_eq!(
            got.codes[0],
            Code {
                row: 1,
                code: "0044123".into()
            }
        );
        assert!(
            got.issues[0].message.contains("number cell"),
            "{:?}",
            got.issues
        );
        let none = codes_of(&text(&[&["Name"], &["x"]]), &CONSUMER_CODES);
        assert!(none.codes.is_empty() && none.issues[0].is_error());
    }

    #[test]
    fn a_workbook_gives_its_first_visible_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let hidden = wb.add_worksheet();
        hidden.set_name("Old").unwrap();
        hidden.write_string(0, 0, "99999999999999").unwrap();
        hidden.set_hidden(true);
        let ws = wb.add_worksheet();
        ws.set_name("Paid orders").unwrap();
        // A hidden sheet cannot be the active one (the first, unless told).
        ws.set_active(true);
        ws.write_string(0, 0, "Order Number").unwrap();
        ws.write_string(0, 1, "ConnectPay Id").unwrap();
        ws.write_string(1, 0, "A-1").unwrap();
        ws.write_string(1, 1, "00440000000001").unwrap();
        ws.write_string(2, 0, "A-2").unwrap();
        ws.write_number(2, 1, 440000000002.0).unwrap();
        wb.save(&path).unwrap();
        let got = read_codes(&path, &CONNECTPAY_IDS).unwrap();
        assert_eq!(
            got.codes,
            vec![Code {
                row: 2,
                code: "00440000000001".into()
            }]
        );
        assert_eq!(got.issues.len(), 1);
        assert_eq!(got.issues[0].row, 3);
        assert!(
            got.issues[0].message.contains("number cell"),
            "{:?}",
            got.issues
        );
    }

    #[test]
    fn text_files_one_code_a_line_or_csv() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("ids.txt");
        std::fs::write(&plain, "00440000000001\n\n00440000000002\n").unwrap();
        let got = read_codes(&plain, &CONNECTPAY_IDS).unwrap();
        assert_eq!(got.codes.len(), 2);
        let csv = dir.path().join("ids.csv");
        std::fs::write(&csv, "\u{feff}Order;ConnectPay Id\nA;0044000000009\n").unwrap();
        let got = read_codes(&csv, &CONNECTPAY_IDS).unwrap();
        assert_eq!(
            got.codes,
            vec![Code {
                row: 2,
                code: "0044000000009".into()
            }]
        );
        assert!(matches!(
            read_codes(&dir.path().join("x.pdf"), &CONNECTPAY_IDS),
            Err(SheetError::Unsupported { .. })
        ));
    }
}
