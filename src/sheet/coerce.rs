//! Turning one cell, whatever its type, into one typed value: dates, amounts, mobile
//! numbers, text, e-mail addresses, seconds. Each function is pure: it returns the value
//! with an optional warning (the value was changed on the way), or the message of an
//! error. Messages name the value and what was expected; the row and column are added by
//! the caller.

use super::cell::{CellValue, format_number};
use crate::domain::money::strip_thousands;
use crate::domain::rules::{
    COMPANY_CODE_LEN, CUSTOMER_MOBILE_MAX, is_valid_email, is_valid_mobile,
};
use crate::domain::{Money, MoneyError};
use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use std::str::FromStr;

/// A coerced value and, when the cell was not already in the API's form, why it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Coerced<T> {
    pub value: T,
    pub warning: Option<String>,
}

impl<T> Coerced<T> {
    fn ok(value: T) -> Result<Coerced<T>, String> {
        Ok(Coerced {
            value,
            warning: None,
        })
    }

    fn warn(value: T, warning: String) -> Result<Coerced<T>, String> {
        Ok(Coerced {
            value,
            warning: Some(warning),
        })
    }
}

pub type CoerceResult<T> = Result<Coerced<T>, String>;

const AMOUNT_EXPECTED: &str =
    "expected an amount more than 0 with at most 2 decimals, e.g. 1500.50";
const DATE_EXPECTED: &str = "expected a date such as 30/11/2026, 2026-11-30 or 30-Nov-2026";
const MOBILE_EXPECTED: &str = "expected 11 digits starting with 0, e.g. 03123456789";

/// Years a date must fall in: wider than any invoice, narrow enough to catch `30/11/26`
/// read as year 26 and plain numbers that are not date serials.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

fn other_type(cell: &CellValue<'_>, expected: &str) -> String {
    match cell {
        CellValue::Bool(_) => format!("{cell} is a TRUE/FALSE cell ({expected})"),
        CellValue::DateTime(_) => format!("{cell} is a date cell ({expected})"),
        CellValue::DurationIso(_) => format!("{cell} is a duration ({expected})"),
        CellValue::Empty => format!("is empty ({expected})"),
        _ => format!("{cell} is not valid ({expected})"),
    }
}

// ---------------------------------------------------------------- amounts

/// An amount more than zero, exactly representable at two decimals.
pub fn amount(cell: &CellValue<'_>) -> CoerceResult<Money> {
    let decimal = match cell {
        CellValue::Int(i) => Decimal::from(*i),
        CellValue::Float(f) => float_to_cents(*f)
            .ok_or_else(|| format!("{cell} is not a usable amount ({AMOUNT_EXPECTED})"))?,
        CellValue::Text(s) => text_to_decimal(s)
            .ok_or_else(|| format!("{cell} is not an amount ({AMOUNT_EXPECTED})"))?,
        _ => return Err(other_type(cell, AMOUNT_EXPECTED)),
    };
    let money = Money::new(decimal).map_err(|e| match e {
        MoneyError::TooManyDecimals(d) => format!(
            "{cell} has {} decimal places ({AMOUNT_EXPECTED})",
            d.normalize().scale()
        ),
        MoneyError::Negative(_) => format!("{cell} is negative ({AMOUNT_EXPECTED})"),
        MoneyError::TooLarge(_) => format!("{cell} is too large for decimal(18,2)"),
        MoneyError::NotANumber(_) => format!("{cell} is not an amount ({AMOUNT_EXPECTED})"),
    })?;
    if money.is_zero() {
        return Err(format!("{cell} is zero ({AMOUNT_EXPECTED})"));
    }
    Coerced::ok(money)
}

/// A float from a number cell, as a decimal. Binary noise such as 4400.099999999999 is
/// rounded to cents; a real third decimal (10.005) is kept so that `Money` rejects it.
fn float_to_cents(f: f64) -> Option<Decimal> {
    if !f.is_finite() || f.abs() >= 1e16 {
        return None;
    }
    let cents = (f * 100.0).round();
    let noise = (f - cents / 100.0).abs();
    // f64 carries ~15.9 significant digits: anything below this is representation error.
    let tolerance = f.abs() * 1e-12 + 1e-9;
    if noise <= tolerance {
        Some(Decimal::new(cents as i64, 2))
    } else {
        // Shortest round-trip text keeps what the clerk typed (10.005, not 10.00499…).
        Decimal::from_str(&format!("{f}")).ok()
    }
}

/// `1500.50`, `4,400`, `Rs. 1,500`, `PKR 200`. Commas only as thousands separators in
/// groups of three: `1500,50` (a decimal comma) is refused rather than guessed.
fn text_to_decimal(s: &str) -> Option<Decimal> {
    let mut t = s.trim();
    for prefix in ["PKR", "Rs.", "Rs"] {
        if let Some(head) = t.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            t = t[prefix.len()..].trim_start();
            break;
        }
    }
    if t.is_empty() {
        return None;
    }
    let cleaned;
    if t.contains(',') {
        cleaned = strip_thousands(t)?;
        t = &cleaned;
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}

// ---------------------------------------------------------------- dates

/// A date from a date cell, a date serial in a number cell, or text in one of the
/// accepted formats. A time of day other than midnight is refused: the API takes dates.
pub fn date(cell: &CellValue<'_>) -> CoerceResult<NaiveDate> {
    match cell {
        CellValue::DateTime(dt) => {
            if dt.is_duration() {
                return Err(format!("{cell} is a duration ({DATE_EXPECTED})"));
            }
            let (y, m, d, hh, mm, ss, ms) = dt.to_ymd_hms_milli();
            let date = NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
                .ok_or_else(|| format!("{cell} is not a real date ({DATE_EXPECTED})"))?;
            if (hh, mm, ss, ms) != (0, 0, 0, 0) {
                return Err(format!(
                    "{cell} has a time of day {hh:02}:{mm:02} (expected a date only)"
                ));
            }
            in_years(cell, date)
        }
        CellValue::Int(i) => serial_date(cell, *i as f64),
        CellValue::Float(f) => serial_date(cell, *f),
        CellValue::Text(s) | CellValue::DateTimeIso(s) => match parse_date_text(s) {
            Ok(date) => in_years(cell, date),
            Err(DateTextError::TimeOfDay(t)) => Err(format!(
                "{cell} has a time of day {t} (expected a date only)"
            )),
            Err(DateTextError::NotADate) => Err(format!("{cell} is not a date ({DATE_EXPECTED})")),
        },
        _ => Err(other_type(cell, DATE_EXPECTED)),
    }
}

fn in_years(cell: &CellValue<'_>, date: NaiveDate) -> CoerceResult<NaiveDate> {
    if YEARS.contains(&date.year()) {
        Coerced::ok(date)
    } else {
        Err(format!(
            "{cell} is in the year {} (expected a date in {}–{})",
            date.year(),
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// An Excel serial (days since 1899-12-30 in the 1900 system) in a plain number cell.
pub fn serial_date(cell: &CellValue<'_>, serial: f64) -> CoerceResult<NaiveDate> {
    let lo = excel_serial(*YEARS.start(), 1, 1);
    let hi = excel_serial(*YEARS.end() + 1, 1, 1);
    if !serial.is_finite() || serial < lo || serial >= hi {
        return Err(format!(
            "{cell} is a number, not a date ({DATE_EXPECTED}; as a date serial it must lie in {}–{})",
            YEARS.start(),
            YEARS.end()
        ));
    }
    if serial.fract().abs() > 1e-9 {
        return Err(format!("{cell} has a time of day (expected a date only)"));
    }
    let date = epoch()
        .checked_add_days(Days::new(serial as u64))
        .ok_or_else(|| format!("{cell} is not a date ({DATE_EXPECTED})"))?;
    Coerced::ok(date)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

fn excel_serial(y: i32, m: u32, d: u32) -> f64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .map(|date| (date - epoch()).num_days() as f64)
        .unwrap_or(0.0)
}

#[derive(Debug, PartialEq)]
enum DateTextError {
    NotADate,
    TimeOfDay(String),
}

/// Formats accepted as text, dd/MM first: Pakistani clerks write the day first.
const DATE_FORMATS: &[&str] = &[
    "%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y", "%Y/%m/%d", "%d.%m.%Y", "%d %b %Y", "%d-%m-%Y",
];

fn parse_date_text(s: &str) -> Result<NaiveDate, DateTextError> {
    let t = s.trim();
    let (date_part, time_part) = match t.find(['T', ' ']) {
        // `30 Nov 2026` has spaces inside the date: only split when a time follows.
        Some(i) if t[i + 1..].contains(':') => (&t[..i], Some(t[i + 1..].trim())),
        _ => (t, None),
    };
    let date = DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(date_part, f).ok())
        .ok_or(DateTextError::NotADate)?;
    if let Some(time) = time_part {
        let clock = time
            .strip_suffix("AM")
            .or_else(|| time.strip_suffix("am"))
            .map(str::trim);
        let midnight = match clock {
            // 12:00 AM is midnight on a 12-hour clock.
            Some(c) => {
                c.starts_with("12") && c[2..].chars().all(|ch| matches!(ch, '0' | ':' | '.'))
            }
            None => time.chars().all(|ch| matches!(ch, '0' | ':' | '.')),
        };
        if !midnight {
            return Err(DateTextError::TimeOfDay(time.to_string()));
        }
    }
    Ok(date)
}

// ---------------------------------------------------------------- mobile numbers

/// A mobile number in the API's form (`03123456789`). Excel's lost leading zero, `+92`,
/// `0092`, spaces and dashes are repaired with a warning; anything else is an error.
pub fn mobile(cell: &CellValue<'_>) -> CoerceResult<String> {
    let digits_source: String = match cell {
        CellValue::Int(i) if *i >= 0 => i.to_string(),
        CellValue::Float(f) if f.is_finite() && f.fract() == 0.0 && *f >= 0.0 && *f < 1e15 => {
            format_number(*f)
        }
        CellValue::Text(s) => s.trim().to_string(),
        CellValue::Empty => return Coerced::ok(String::new()),
        CellValue::Int(_) | CellValue::Float(_) => {
            return Err(format!("{cell} is not a mobile number ({MOBILE_EXPECTED})"));
        }
        _ => return Err(other_type(cell, MOBILE_EXPECTED)),
    };
    let is_number_cell = matches!(cell, CellValue::Int(_) | CellValue::Float(_));
    if is_valid_mobile(&digits_source) {
        return Coerced::ok(digits_source);
    }
    let not_mobile = || format!("{cell} is not a mobile number ({MOBILE_EXPECTED})");
    let mut t: String = digits_source
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
        .collect();
    if let Some(rest) = t.strip_prefix("+92").or_else(|| t.strip_prefix("0092")) {
        t = format!("0{rest}");
    } else if t.len() == 12 && t.starts_with("92") {
        t = format!("0{}", &t[2..]);
    }
    if t.len() == CUSTOMER_MOBILE_MAX - 1
        && !t.starts_with('0')
        && t.bytes().all(|b| b.is_ascii_digit())
    {
        t = format!("0{t}");
        if is_number_cell {
            return Coerced::warn(
                t.clone(),
                format!("{cell} was read as {t} (Excel dropped the leading zero)"),
            );
        }
        return Coerced::warn(
            t.clone(),
            format!("{cell} was read as {t} (leading zero added)"),
        );
    }
    if is_valid_mobile(&t) {
        return Coerced::warn(t.clone(), format!("{cell} was normalised to {t}"));
    }
    Err(not_mobile())
}

// ---------------------------------------------------------------- text

/// Trimmed text of at most `max` characters. Numbers become their General form; line
/// breaks inside a cell (Alt+Enter) become spaces, with a warning.
pub fn text(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let (value, mut warning) = match cell {
        CellValue::Text(s) => clean_text(s),
        CellValue::Int(i) => (i.to_string(), None),
        CellValue::Float(f) if f.is_finite() => (format_number(*f), None),
        CellValue::Empty => (String::new(), None),
        CellValue::DateTime(_) => {
            return Err(format!(
                "{cell} is a date cell (expected text; Excel may have turned the text into a date: format the column as Text)"
            ));
        }
        _ => return Err(other_type(cell, "expected text")),
    };
    let len = char_len(&value);
    if len > max {
        return Err(format!(
            "{cell} is {len} characters long (expected at most {max})"
        ));
    }
    if warning.is_some() {
        warning = (!value.is_empty())
            .then(|| format!("{cell} had line breaks or control characters, replaced by spaces"));
    }
    Ok(Coerced { value, warning })
}

/// Characters, not bytes (Urdu names are multi-byte); ASCII text is counted for free.
fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn clean_text(s: &str) -> (String, Option<String>) {
    let t = s.trim();
    let has_control = if t.is_ascii() {
        t.bytes().any(|b| b.is_ascii_control())
    } else {
        t.chars().any(char::is_control)
    };
    if !has_control {
        return (t.to_string(), None);
    }
    let mut out = String::with_capacity(t.len());
    let mut last_space = false;
    for c in t.chars() {
        if c.is_control() || c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    // The caller words the warning: it knows the cell.
    (out, Some(String::new()))
}

/// An e-mail address, empty allowed (reference §1).
pub fn email(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let expected = format!("expected name@domain, at most {max} characters");
    let s = match cell {
        CellValue::Text(s) => s.trim(),
        CellValue::Empty => return Coerced::ok(String::new()),
        _ => return Err(other_type(cell, &expected)),
    };
    if s.is_empty() {
        return Coerced::ok(String::new());
    }
    let len = char_len(s);
    if len > max {
        return Err(format!("{cell} is {len} characters long ({expected})"));
    }
    if !is_valid_email(s) {
        return Err(format!("{cell} is not a valid e-mail address ({expected})"));
    }
    Coerced::ok(s.to_string())
}

/// Whole seconds more than zero (`OrderExpireAfterSeconds`).
pub fn seconds(cell: &CellValue<'_>) -> CoerceResult<u64> {
    const EXPECTED: &str = "expected whole seconds more than 0, e.g. 86400";
    let n: Option<i128> = match cell {
        CellValue::Int(i) => Some(i128::from(*i)),
        CellValue::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 => {
            Some(*f as i128)
        }
        CellValue::Text(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match n.and_then(|n| u64::try_from(n).ok()) {
        Some(n) if n > 0 => Coerced::ok(n),
        _ => Err(format!("{cell} is not valid ({EXPECTED})")),
    }
}

/// A text key (order number, consumer id). Number cells are accepted in their General
/// form.
pub fn key_text(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    text(cell, max)
}

/// An order number that will travel inside `CsvOrderNumbers` (`A-1,A-2` or
/// `A-1,450|A-2,450`): the separators cannot appear in it.
pub fn list_order_number(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let c = text(cell, max)?;
    if c.value.contains([',', '|']) {
        return Err(format!(
            "{cell} contains ',' or '|', which separate orders in the API's list (expected an order number without them)"
        ));
    }
    Ok(c)
}

/// A full consumer code: the 4-digit company code, then the consumer id. A number cell
/// is refused: Excel drops the company code's leading zeros (`0044…` becomes `44…`),
/// which would address another consumer.
pub fn full_consumer_code(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let expected = "expected the full consumer code: the 4-digit company code followed by the consumer id, e.g. 0044123456780";
    if matches!(cell, CellValue::Int(_) | CellValue::Float(_)) {
        return Err(format!(
            "{cell} is a number cell, which loses the leading zeros of the company code ({expected}; format the column as Text)"
        ));
    }
    let c = text(cell, max)?;
    let v = &c.value;
    let prefix_ok = v.len() > COMPANY_CODE_LEN
        && v.is_char_boundary(COMPANY_CODE_LEN)
        && v[..COMPANY_CODE_LEN].bytes().all(|b| b.is_ascii_digit());
    if !prefix_ok {
        return Err(format!("{cell} is not a full consumer code ({expected})"));
    }
    Ok(c)
}

/// The column's one legal value, compared without regard to case.
pub fn constant(cell: &CellValue<'_>, legal: &'static str, column: &str) -> CoerceResult<String> {
    match cell {
        CellValue::Text(s) if s.trim().eq_ignore_ascii_case(legal) => {
            Coerced::ok(legal.to_string())
        }
        _ => Err(format!(
            "{cell} is not a valid {column} (expected {legal}, the only value the API accepts)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    fn t(s: &str) -> CellValue<'_> {
        CellValue::text(s)
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap_or_else(|_| Money::zero())
    }
    fn d(y: i32, mo: u32, da: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, da).unwrap_or_default()
    }

    #[test]
    fn amounts_from_numbers_and_text() {
        assert_eq!(
            amount(&CellValue::Int(4400)).map(|c| c.value),
            Ok(m("4400"))
        );
        assert_eq!(
            amount(&CellValue::Float(1500.5)).map(|c| c.value),
            Ok(m("1500.50"))
        );
        assert_eq!(
            amount(&CellValue::Float(4400.099999999999)).map(|c| c.value),
            Ok(m("4400.10"))
        );
        assert_eq!(
            amount(&CellValue::Float(0.1 + 0.2)).map(|c| c.value),
            Ok(m("0.30"))
        );
        assert_eq!(amount(&t("1500.50")).map(|c| c.value), Ok(m("1500.50")));
        assert_eq!(amount(&t(" 4,400 ")).map(|c| c.value), Ok(m("4400")));
        assert_eq!(
            amount(&t("1,234,567.25")).map(|c| c.value),
            Ok(m("1234567.25"))
        );
        assert_eq!(amount(&t("Rs. 1,500")).map(|c| c.value), Ok(m("1500")));
        assert_eq!(amount(&t("10.500")).map(|c| c.value), Ok(m("10.50")));
    }

    #[test]
    fn amounts_refused() {
        let e = amount(&CellValue::Float(10.005)).err().unwrap_or_default();
        assert!(e.contains("10.005 has 3 decimal places"), "{e}");
        let e = amount(&t("10.005")).err().unwrap_or_default();
        assert!(e.contains("\"10.005\" has 3 decimal places"), "{e}");
        assert!(
            amount(&CellValue::Int(0))
                .err()
                .unwrap_or_default()
                .contains("is zero")
        );
        assert!(
            amount(&t("0.00"))
                .err()
                .unwrap_or_default()
                .contains("is zero")
        );
        assert!(
            amount(&CellValue::Float(-5.0))
                .err()
                .unwrap_or_default()
                .contains("negative")
        );
        assert!(
            amount(&t("-5"))
                .err()
                .unwrap_or_default()
                .contains("negative")
        );
        assert!(
            amount(&t("abc"))
                .err()
                .unwrap_or_default()
                .contains("\"abc\" is not an amount")
        );
        assert!(amount(&t("1500,50")).is_err());
        assert!(amount(&t("4,4000")).is_err());
        assert!(amount(&CellValue::Float(f64::NAN)).is_err());
        assert!(amount(&CellValue::Float(1e300)).is_err());
        assert!(amount(&CellValue::Bool(true)).is_err());
        assert!(amount(&t("1e400")).is_err());
        // A multi-byte first character must not be cut by the currency-prefix check.
        assert!(amount(&t("🩨1")).is_err());
    }

    #[test]
    fn dates_from_cells_serials_and_text() {
        let cell = CellValue::DateTime(ExcelDateTime::new(
            46356.0,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(date(&cell).map(|c| c.value), Ok(d(2026, 11, 30)));
        assert_eq!(
            date(&CellValue::Int(46356)).map(|c| c.value),
            Ok(d(2026, 11, 30))
        );
        assert_eq!(
            date(&CellValue::Float(46356.0)).map(|c| c.value),
            Ok(d(2026, 11, 30))
        );
        for s in [
            "30/11/2026",
            "2026-11-30",
            "30-Nov-2026",
            "30-nov-2026",
            "2026/11/30",
            "30/11/2026 00:00",
            "30/11/2026 00:00:00",
            "2026-11-30T00:00:00",
            "30/11/2026 12:00:00 AM",
            " 30/11/2026 ",
        ] {
            assert_eq!(date(&t(s)).map(|c| c.value), Ok(d(2026, 11, 30)), "{s}");
        }
        assert_eq!(date(&t("1/2/2027")).map(|c| c.value), Ok(d(2027, 2, 1)));
    }

    #[test]
    fn dates_refused() {
        let with_time = CellValue::DateTime(ExcelDateTime::new(
            46356.5,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert!(
            date(&with_time)
                .err()
                .unwrap_or_default()
                .contains("time of day 12:00")
        );
        assert!(
            date(&CellValue::Float(46356.25))
                .err()
                .unwrap_or_default()
                .contains("time of day")
        );
        assert!(
            date(&t("30/11/2026 14:30"))
                .err()
                .unwrap_or_default()
                .contains("time of day 14:30")
        );
        assert!(
            date(&t("31/02/2026"))
                .err()
                .unwrap_or_default()
                .contains("is not a date")
        );
        assert!(date(&t("11/30/2026")).is_err());
        assert!(
            date(&t("30/11/26"))
                .err()
                .unwrap_or_default()
                .contains("year 26")
        );
        assert!(date(&t("tomorrow")).is_err());
        assert!(
            date(&CellValue::Int(15))
                .err()
                .unwrap_or_default()
                .contains("not a date")
        );
        assert!(date(&CellValue::Int(20261130)).is_err());
        assert!(date(&CellValue::Bool(false)).is_err());
        let dur = CellValue::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert!(date(&dur).is_err());
    }

    #[test]
    fn mobiles() {
        let ok = |c: CellValue<'_>| mobile(&c);
        assert_eq!(ok(t("03123456789")), Coerced::ok("03123456789".to_string()));
        assert_eq!(ok(CellValue::Empty), Coerced::ok(String::new()));
        let r = ok(CellValue::Float(3123456789.0)).unwrap_or_else(|_| Coerced {
            value: String::new(),
            warning: None,
        });
        assert_eq!(r.value, "03123456789");
        assert!(
            r.warning
                .unwrap_or_default()
                .contains("Excel dropped the leading zero")
        );
        let r = ok(CellValue::Int(3123456789)).map(|c| c.value);
        assert_eq!(r, Ok("03123456789".into()));
        for s in [
            "+92 312 3456789",
            "0312-3456789",
            "+923123456789",
            "0092 312 3456789",
            "923123456789",
            "3123456789",
            "(0312) 345-6789",
        ] {
            let r = ok(t(s));
            assert_eq!(
                r.as_ref().map(|c| c.value.as_str()),
                Ok("03123456789"),
                "{s}"
            );
            assert!(r.map(|c| c.warning.is_some()).unwrap_or(false), "{s}");
        }
        for s in [
            "12345",
            "031234567890",
            "0312345678a",
            "phone",
            "+1 415 555 0100",
        ] {
            let e = ok(t(s)).err().unwrap_or_default();
            assert!(e.contains("is not a mobile number"), "{s}: {e}");
        }
        assert!(ok(CellValue::Float(3.5)).is_err());
        assert!(ok(CellValue::Int(-3123456789)).is_err());
        assert!(ok(CellValue::Bool(true)).is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(
            text(&t("  Ali Khan "), 32).map(|c| c.value),
            Ok("Ali Khan".into())
        );
        assert_eq!(
            text(&CellValue::Float(1001.0), 32).map(|c| c.value),
            Ok("1001".into())
        );
        let r = text(&t("House 5\nStreet 2"), 64);
        assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("House 5 Street 2"));
        assert!(r.map(|c| c.warning.is_some()).unwrap_or(false));
        let long = "x".repeat(33);
        let e = text(&t(&long), 32).err().unwrap_or_default();
        assert!(
            e.contains("is 33 characters long (expected at most 32)"),
            "{e}"
        );
        // Characters, not bytes: Urdu names are multi-byte.
        assert!(text(&t(&"ع".repeat(32)), 32).is_ok());
        let date_cell = CellValue::DateTime(ExcelDateTime::new(
            46356.0,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert!(
            text(&date_cell, 64)
                .err()
                .unwrap_or_default()
                .contains("format the column as Text")
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(&t(" ali@x.pk "), 32).map(|c| c.value),
            Ok("ali@x.pk".into())
        );
        assert_eq!(email(&t(""), 32).map(|c| c.value), Ok(String::new()));
        assert_eq!(
            email(&t("ali@@x.pk"), 32).err(),
            Some("\"ali@@x.pk\" is not a valid e-mail address (expected name@domain, at most 32 characters)".into())
        );
        let long = format!("{}@example.com.pk", "a".repeat(25));
        assert_eq!(long.len(), 40);
        assert!(
            email(&t(&long), 32)
                .err()
                .unwrap_or_default()
                .contains("is 40 characters long")
        );
        assert!(email(&CellValue::Int(5), 32).is_err());
    }

    #[test]
    fn seconds_keys_and_constants() {
        assert_eq!(seconds(&CellValue::Int(86400)).map(|c| c.value), Ok(86400));
        assert_eq!(seconds(&t("3600")).map(|c| c.value), Ok(3600));
        assert!(seconds(&CellValue::Int(0)).is_err());
        assert!(seconds(&CellValue::Float(1.5)).is_err());
        assert!(list_order_number(&t("INV-1,INV-2"), 256).is_err());
        assert!(list_order_number(&t("INV|1"), 256).is_err());
        assert_eq!(
            list_order_number(&t("INV-1"), 256).map(|c| c.value),
            Ok("INV-1".into())
        );
        assert_eq!(
            full_consumer_code(&t("0044123"), 4000).map(|c| c.value),
            Ok("0044123".into())
        );
        assert!(full_consumer_code(&CellValue::Int(44123), 4000).is_err());
        assert!(full_consumer_code(&t("0044"), 4000).is_err());
        assert!(full_consumer_code(&t("AB44123"), 4000).is_err());
        assert_eq!(
            constant(&t(" service "), "Service", "OrderType").map(|c| c.value),
            Ok("Service".into())
        );
        assert!(
            constant(&t("Product"), "Service", "OrderType")
                .err()
                .unwrap_or_default()
                .contains("expected Service")
        );
    }
}
