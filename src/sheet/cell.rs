//! `CellValue`: one spreadsheet cell as read, independent of the file format, with the
//! display form used in messages and error reports.

use calamine::{CellErrorType, Data, DataRef, ExcelDateTime};
use std::borrow::Cow;
use std::fmt;

/// A cell as the file holds it. Text borrows from the reader when it can, so that the
/// valid rows of a large sheet cost one allocation per kept value, not per cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CellValue<'a> {
    #[default]
    Empty,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(Cow<'a, str>),
    /// A number cell formatted as a date or time in Excel.
    DateTime(ExcelDateTime),
    /// A date written as ISO 8601 text by the file format (ODS).
    DateTimeIso(Cow<'a, str>),
    /// An ISO 8601 duration (ODS).
    DurationIso(Cow<'a, str>),
    /// An error result such as `#N/A`.
    Error(String),
    /// A formula whose result the file does not hold (written by a program and never
    /// calculated), with the formula's text when the file gives it.
    NoValue(String),
}

/// The spellings Excel uses for error results; CSV exports carry them as text.
const ERROR_LITERALS: &[&str] = &[
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#NUM!",
    "#NAME?",
    "#NULL!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
];

impl<'a> CellValue<'a> {
    /// A text cell, or an error cell when the text is exactly an Excel error literal
    /// (how errors survive a CSV export).
    pub fn text(s: &'a str) -> CellValue<'a> {
        let t = s.trim();
        if t.starts_with('#') && ERROR_LITERALS.contains(&t) {
            CellValue::Error(t.to_string())
        } else {
            CellValue::Text(Cow::Borrowed(s))
        }
    }

    pub fn owned_text(s: String) -> CellValue<'static> {
        let t = s.trim();
        if t.starts_with('#') && ERROR_LITERALS.contains(&t) {
            CellValue::Error(t.to_string())
        } else {
            CellValue::Text(Cow::Owned(s))
        }
    }

    /// Empty, or text that is only white space.
    pub fn is_blank(&self) -> bool {
        match self {
            CellValue::Empty => true,
            // Asked of every cell, twice: most text starts with a visible ASCII character.
            CellValue::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(b) if b.is_ascii_graphic() => false,
                Some(_) => s.trim().is_empty(),
            },
            _ => false,
        }
    }

    pub fn from_data_ref(d: DataRef<'a>) -> CellValue<'a> {
        match d {
            DataRef::Empty => CellValue::Empty,
            DataRef::Int(i) => CellValue::Int(i),
            DataRef::Float(f) => CellValue::Float(f),
            DataRef::Bool(b) => CellValue::Bool(b),
            DataRef::String(s) => CellValue::owned_text(s),
            DataRef::SharedString(s) => CellValue::text(s),
            DataRef::DateTime(dt) => CellValue::DateTime(dt),
            DataRef::DateTimeIso(s) => CellValue::DateTimeIso(Cow::Owned(s)),
            DataRef::DurationIso(s) => CellValue::DurationIso(Cow::Owned(s)),
            DataRef::Error(e) => CellValue::Error(error_literal(&e)),
        }
    }

    pub fn from_data(d: &'a Data) -> CellValue<'a> {
        match d {
            Data::Empty => CellValue::Empty,
            Data::Int(i) => CellValue::Int(*i),
            Data::Float(f) => CellValue::Float(*f),
            Data::Bool(b) => CellValue::Bool(*b),
            Data::String(s) => CellValue::text(s),
            Data::DateTime(dt) => CellValue::DateTime(*dt),
            Data::DateTimeIso(s) => CellValue::DateTimeIso(Cow::Borrowed(s)),
            Data::DurationIso(s) => CellValue::DurationIso(Cow::Borrowed(s)),
            Data::Error(e) => CellValue::Error(error_literal(e)),
        }
    }

    /// The value as plain text, as a clerk would read it in the cell (used for headers
    /// and for the raw values kept with invalid rows).
    pub fn plain(&self) -> String {
        match self {
            CellValue::Empty => String::new(),
            CellValue::Int(i) => i.to_string(),
            CellValue::Float(f) => format_number(*f),
            CellValue::Bool(true) => "TRUE".into(),
            CellValue::Bool(false) => "FALSE".into(),
            CellValue::Text(s) | CellValue::DateTimeIso(s) | CellValue::DurationIso(s) => {
                s.to_string()
            }
            CellValue::DateTime(dt) => {
                let (y, m, d, hh, mm, ss, _) = dt.to_ymd_hms_milli();
                if (hh, mm, ss) == (0, 0, 0) {
                    format!("{d:02}/{m:02}/{y:04}")
                } else {
                    format!("{d:02}/{m:02}/{y:04} {hh:02}:{mm:02}:{ss:02}")
                }
            }
            CellValue::Error(e) => e.clone(),
            CellValue::NoValue(f) if f.is_empty() => "(formula)".into(),
            CellValue::NoValue(f) => format!("={}", f.trim_start_matches('=')),
        }
    }
}

/// How a value is quoted in a message: text in quotes, numbers bare, dates described.
impl fmt::Display for CellValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellValue::Empty => f.write_str("(empty)"),
            CellValue::Text(_) | CellValue::DateTimeIso(_) | CellValue::DurationIso(_) => {
                write!(f, "{:?}", truncate_for_message(&self.plain()))
            }
            CellValue::DateTime(_) => write!(f, "the date {}", self.plain()),
            _ => f.write_str(&self.plain()),
        }
    }
}

/// Keeps messages one line and readable when a cell holds a novel.
fn truncate_for_message(s: &str) -> Cow<'_, str> {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        Cow::Borrowed(s)
    } else {
        let head: String = s.chars().take(MAX).collect();
        Cow::Owned(format!("{head}…"))
    }
}

/// A number as Excel shows it in a General cell: integers without `.0`.
pub fn format_number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

pub fn error_literal(e: &CellErrorType) -> String {
    match e {
        CellErrorType::Div0 => "#DIV/0!",
        CellErrorType::NA => "#N/A",
        CellErrorType::Name => "#NAME?",
        CellErrorType::Null => "#NULL!",
        CellErrorType::Num => "#NUM!",
        CellErrorType::Ref => "#REF!",
        CellErrorType::Value => "#VALUE!",
        CellErrorType::GettingData => "#GETTING_DATA",
    }
    .to_string()
}

/// `A1`-style reference of a 0-based column and a 1-based row.
pub fn cell_ref(col: usize, row: u32) -> String {
    format!("{}{row}", column_letters(col))
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
pub fn column_letters(col: usize) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_ref(7, 14), "H14");
    }

    #[test]
    fn error_literals_in_text_are_errors() {
        assert_eq!(CellValue::text(" #N/A "), CellValue::Error("#N/A".into()));
        assert_eq!(CellValue::text("#hash"), CellValue::Text("#hash".into()));
    }

    #[test]
    fn display_forms() {
        assert_eq!(CellValue::Float(3123456789.0).to_string(), "3123456789");
        assert_eq!(CellValue::Float(10.5).to_string(), "10.5");
        assert_eq!(CellValue::text("a\"b").to_string(), "\"a\\\"b\"");
        let dt = ExcelDateTime::new(46356.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(CellValue::DateTime(dt).to_string(), "the date 30/11/2026");
        assert!(CellValue::text("  ").is_blank());
        assert!(!CellValue::Int(0).is_blank());
    }
}
