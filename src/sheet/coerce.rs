//! Turning one cell, whatever its type, into one typed value: dates, amounts, mobile
//! numbers, text, e-mail addresses, seconds, keys. Each function is pure: it returns the
//! value with an optional warning (the value was changed on the way), or the message of
//! an error. Messages name the value and what was expected; the row and column are added
//! by the caller.
//!
//! Two kinds of cell cannot be read alone, and come back with both readings for the
//! importer to choose from the rest of the column (`sheet::decide`): a text amount such as
//! `1.200` (1200 with a decimal comma, 1.2 with a decimal point) and a text date such as
//! `05/12/2026` (5 December day-first, 12 May month-first).

use super::cell::{CellValue, format_number};
use super::clean::{describe, has_compatibility_forms, strip_invisible};
use crate::domain::rules::{
    COMPANY_CODE_LEN, CUSTOMER_MOBILE_MAX, is_valid_email, is_valid_mobile,
};
use crate::domain::{Money, MoneyError};
use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use std::borrow::Cow;
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

/// Excel holds 15 significant digits of a number a person types; a number cell of 16
/// digits or more is no longer what was typed.
const EXCEL_DIGITS: f64 = 1e15;

fn other_type(cell: &CellValue<'_>, expected: &str) -> String {
    match cell {
        CellValue::Bool(_) => format!("{cell} is a TRUE/FALSE cell ({expected})"),
        CellValue::DateTime(_) => format!("{cell} is a date cell ({expected})"),
        CellValue::DurationIso(_) => format!("{cell} is a duration ({expected})"),
        CellValue::Empty => format!("is empty ({expected})"),
        _ => format!("{cell} is not valid ({expected})"),
    }
}

/// Trimmed text without invisible characters, and the warning that says what went.
fn visible_text<'s>(cell: &CellValue<'_>, s: &'s str) -> (Cow<'s, str>, Option<String>) {
    let (visible, removed) = strip_invisible(s.trim());
    let warning = removed.map(|c| {
        format!(
            "{cell} contained an invisible {}, removed",
            describe(c).trim_start_matches("invisible ")
        )
    });
    match visible {
        Cow::Borrowed(b) => (Cow::Borrowed(b), warning),
        Cow::Owned(o) => (Cow::Owned(o.trim().to_string()), warning),
    }
}

// ---------------------------------------------------------------- amounts

/// Which character separates the decimals in a text amount; the other one may group
/// thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `1,200.50`
    DecimalPoint,
    /// `1.200,50`
    DecimalComma,
}

impl Convention {
    pub fn describe(self) -> &'static str {
        match self {
            Convention::DecimalPoint => {
                "a decimal point ('.' before the decimals, ',' between thousands)"
            }
            Convention::DecimalComma => {
                "a decimal comma (',' before the decimals, '.' between thousands)"
            }
        }
    }
}

/// An amount cell as read alone.
#[derive(Debug, Clone, PartialEq)]
pub enum AmountCell {
    /// One possible reading. `proves` is the convention the text can only be written in
    /// (`1500,5` proves a decimal comma), `None` for numbers and for text that reads the
    /// same either way (`1500`).
    Read {
        money: Money,
        proves: Option<Convention>,
    },
    /// Text that reads as two different numbers (`1.200`: 1.2 or 1200; `1,005`: 1005 or
    /// 1.005, which is not an amount): the reading with a decimal point and the one with a
    /// decimal comma, at least one of them an amount. `thousands` is the convention in
    /// which its one separator groups thousands (the other gives it three decimals).
    Ambiguous {
        point: Result<Money, String>,
        comma: Result<Money, String>,
        thousands: Convention,
    },
}

/// An amount more than zero with at most two decimals: number cells exactly, text in
/// either convention (see [`AmountCell`]).
pub fn amount(cell: &CellValue<'_>) -> CoerceResult<AmountCell> {
    match cell {
        CellValue::Int(i) => money_of(cell, Decimal::from(*i)).map(|m| Coerced {
            value: AmountCell::Read {
                money: m,
                proves: None,
            },
            warning: None,
        }),
        CellValue::Float(f) => {
            let (decimal, warning) = float_amount(cell, *f)?;
            let money = money_of(cell, decimal)?;
            Ok(Coerced {
                value: AmountCell::Read {
                    money,
                    proves: None,
                },
                warning,
            })
        }
        CellValue::Text(s) => text_amount(cell, s),
        _ => Err(other_type(cell, AMOUNT_EXPECTED)),
    }
}

/// `decimal` as money, or why it is not an amount.
pub fn money_of(cell: &CellValue<'_>, decimal: Decimal) -> Result<Money, String> {
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
    Ok(money)
}

/// A number cell's value, exactly as its shortest decimal form (what was typed: 10.005
/// stays 10.005 and is refused). The one repair: a calculated value of 16 or more
/// significant digits (`0.1+0.2` = 0.30000000000000004) is binary noise below what Excel
/// shows; it is read as Excel shows it (15 significant digits) when that has at most two
/// decimals, with a warning. No tolerance scales with the amount.
fn float_amount(cell: &CellValue<'_>, f: f64) -> Result<(Decimal, Option<String>), String> {
    if !f.is_finite() {
        return Err(format!("{cell} is not a usable amount ({AMOUNT_EXPECTED})"));
    }
    if f.abs() >= EXCEL_DIGITS {
        return Err(format!(
            "{cell} has more digits than Excel holds exactly in a number cell (15): write it as text"
        ));
    }
    // Fast path: the double nearest to a whole number of cents, below 1e13 (where two
    // amounts of different cents never share a double), is that number of cents.
    if f.abs() < 1e13 {
        let cents = (f * 100.0).round();
        if cents / 100.0 == f {
            return Ok((Decimal::new(cents as i64, 2), None));
        }
    }
    let shortest = format!("{f}");
    let d = Decimal::from_str(&shortest)
        .map_err(|_| format!("{cell} is not a usable amount ({AMOUNT_EXPECTED})"))?;
    if d.normalize().scale() <= 2 {
        return Ok((d, None));
    }
    let significant = shortest
        .trim_start_matches(['-', '0', '.'])
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    if significant >= 16
        && let Some(shown) = d.round_sf(15).map(|s| s.normalize())
        && shown.scale() <= 2
    {
        return Ok((
            shown,
            Some(format!(
                "{cell} is a calculated value; read as {shown}, as Excel shows it"
            )),
        ));
    }
    Ok((d, None))
}

fn text_amount(cell: &CellValue<'_>, s: &str) -> CoerceResult<AmountCell> {
    let (visible, warning) = visible_text(cell, s);
    let t = strip_currency(&visible);
    if t.is_empty() {
        return Err(format!("{cell} is not an amount ({AMOUNT_EXPECTED})"));
    }
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    if unsigned.contains(['e', 'E']) && unsigned.bytes().any(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{cell} is in scientific notation, which Excel shows when a number is too wide for its column and which loses digits (write the amount in full, e.g. 1500.50)"
        ));
    }
    let point = grouped_number(unsigned, ',', '.');
    let comma = grouped_number(unsigned, '.', ',');
    let sign = |d: Decimal| if negative { -d } else { d };
    let value = match (point, comma) {
        (None, None) => return Err(format!("{cell} is not an amount ({AMOUNT_EXPECTED})")),
        (Some(p), Some(c)) if p == c => AmountCell::Read {
            money: money_of(cell, sign(p))?,
            proves: None,
        },
        (Some(p), None) => AmountCell::Read {
            money: money_of(cell, sign(p))?,
            proves: Some(Convention::DecimalPoint),
        },
        (None, Some(c)) => AmountCell::Read {
            money: money_of(cell, sign(c))?,
            proves: Some(Convention::DecimalComma),
        },
        (Some(p), Some(c)) => {
            let point = money_of(cell, sign(p));
            let comma = money_of(cell, sign(c));
            if let (Err(e), Err(_)) = (&point, &comma) {
                return Err(e.clone());
            }
            let thousands = if unsigned.contains('.') {
                Convention::DecimalComma
            } else {
                Convention::DecimalPoint
            };
            AmountCell::Ambiguous {
                point,
                comma,
                thousands,
            }
        }
    };
    Ok(Coerced { value, warning })
}

/// `PKR 1,500`, `Rs. 1500`, `Rs 1,500/-` without the currency.
fn strip_currency(s: &str) -> &str {
    let mut t = s.trim();
    for prefix in ["PKR", "Rs.", "Rs", "₨"] {
        if let Some(head) = t.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            t = t[prefix.len()..].trim_start();
            break;
        }
    }
    for suffix in ["/-", "PKR"] {
        if let Some(head) = t.strip_suffix(suffix) {
            t = head.trim_end();
        }
    }
    t
}

/// Digits with `decimal` before the decimals and `thousands` (or a space) between groups
/// of three before it: `1,234,567.25` with (`,`, `.`). `None` when the text is not such a
/// number. One grouping character per number; at most three decimal digits.
fn grouped_number(t: &str, thousands: char, decimal: char) -> Option<Decimal> {
    let (int_part, frac) = match t.find(decimal) {
        Some(i) => (&t[..i], Some(&t[i + decimal.len_utf8()..])),
        None => (t, None),
    };
    // Money has two decimals; a third can be a thousands group in the other convention
    // (`1.200`). More than three is neither.
    if let Some(f) = frac
        && (f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let is_group_sep = |c: char| c == thousands || matches!(c, ' ' | '\u{a0}' | '\u{202f}');
    let mut seps = int_part.chars().filter(|&c| is_group_sep(c));
    let digits: String = match seps.next() {
        None => {
            if int_part.is_empty() && frac.is_none() {
                return None;
            }
            if !int_part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            int_part.to_string()
        }
        Some(sep) => {
            if seps.any(|c| c != sep) {
                return None;
            }
            let groups: Vec<&str> = int_part.split(sep).collect();
            let first_ok = groups.first().is_some_and(|g| {
                (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit())
            });
            let rest_ok = groups[1..]
                .iter()
                .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
            if !(first_ok && rest_ok) {
                return None;
            }
            groups.concat()
        }
    };
    let text = match frac {
        Some(f) => format!("{}.{f}", if digits.is_empty() { "0" } else { &digits }),
        None => digits,
    };
    Decimal::from_str(&text).ok()
}

// ---------------------------------------------------------------- dates

/// Which number comes first in a numeric date (`05/12/2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DateOrder {
    /// 05/12/2026 is 5 December (the guide's dd/MM/yyyy, and Pakistan's habit).
    #[default]
    DayFirst,
    /// 05/12/2026 is 12 May.
    MonthFirst,
}

impl DateOrder {
    pub fn describe(self) -> &'static str {
        match self {
            DateOrder::DayFirst => "day-first",
            DateOrder::MonthFirst => "month-first",
        }
    }
}

/// A date cell as read alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCell {
    /// Only one reading: date cells, serials, ISO text, month names, and numeric text
    /// whose day and month are the same.
    Fixed(NaiveDate),
    /// Numeric text whose meaning depends on the order: the day-first and month-first
    /// readings, at least one of them a real date in range.
    Ordered {
        day_first: Option<NaiveDate>,
        month_first: Option<NaiveDate>,
    },
}

/// A date from a date cell, a date serial in a number cell (`is_1904`: the workbook
/// counts days from 1904, as Mac Excel did), or text in one of the accepted formats. A
/// time of day other than midnight is refused: the API takes dates.
pub fn date(cell: &CellValue<'_>, is_1904: bool) -> CoerceResult<DateCell> {
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
            in_years(cell, date).map(|c| fixed(c.value))
        }
        CellValue::Int(i) => serial_date(cell, *i as f64, is_1904).map(|c| fixed(c.value)),
        CellValue::Float(f) => serial_date(cell, *f, is_1904).map(|c| fixed(c.value)),
        CellValue::Text(s) | CellValue::DateTimeIso(s) => {
            let (visible, warning) = visible_text(cell, s);
            let read = match parse_date_text(&visible) {
                Ok(read) => read,
                Err(DateTextError::TimeOfDay(t)) => {
                    return Err(format!(
                        "{cell} has a time of day {t} (expected a date only)"
                    ));
                }
                Err(DateTextError::NotADate) => {
                    return Err(format!("{cell} is not a date ({DATE_EXPECTED})"));
                }
            };
            let value = match read {
                DateText::Fixed(d) => DateCell::Fixed(in_years(cell, d)?.value),
                DateText::Numeric {
                    first,
                    second,
                    year,
                } => {
                    if !YEARS.contains(&year) {
                        return Err(format!(
                            "{cell} is in the year {year} (expected a date in {}–{})",
                            YEARS.start(),
                            YEARS.end()
                        ));
                    }
                    let day_first = NaiveDate::from_ymd_opt(year, second, first);
                    let month_first = NaiveDate::from_ymd_opt(year, first, second);
                    match (day_first, month_first) {
                        (None, None) => {
                            return Err(format!("{cell} is not a date ({DATE_EXPECTED})"));
                        }
                        (Some(a), Some(b)) if a == b => DateCell::Fixed(a),
                        (day_first, month_first) => DateCell::Ordered {
                            day_first,
                            month_first,
                        },
                    }
                }
            };
            Ok(Coerced { value, warning })
        }
        _ => Err(other_type(cell, DATE_EXPECTED)),
    }
}

fn fixed(d: NaiveDate) -> Coerced<DateCell> {
    Coerced {
        value: DateCell::Fixed(d),
        warning: None,
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

/// An Excel serial in a plain number cell: days since 1899-12-30 (1900 system) or since
/// 1904-01-01 (1904 system).
pub fn serial_date(cell: &CellValue<'_>, serial: f64, is_1904: bool) -> CoerceResult<NaiveDate> {
    let epoch = epoch(is_1904);
    let serial_of = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .map(|date| (date - epoch).num_days() as f64)
            .unwrap_or(0.0)
    };
    let (lo, hi) = (serial_of(*YEARS.start()), serial_of(*YEARS.end() + 1));
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
    let date = epoch
        .checked_add_days(Days::new(serial as u64))
        .ok_or_else(|| format!("{cell} is not a date ({DATE_EXPECTED})"))?;
    Coerced::ok(date)
}

fn epoch(is_1904: bool) -> NaiveDate {
    if is_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1).unwrap_or_default()
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
    }
}

#[derive(Debug, PartialEq)]
enum DateTextError {
    NotADate,
    TimeOfDay(String),
}

#[derive(Debug, PartialEq)]
enum DateText {
    Fixed(NaiveDate),
    /// `first`/`second`/`year` with one separator (`/`, `.` or `-`).
    Numeric {
        first: u32,
        second: u32,
        year: i32,
    },
}

/// Formats with one reading, whatever the clerk's habit.
const FIXED_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%B-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
];

fn parse_date_text(s: &str) -> Result<DateText, DateTextError> {
    let t = s.trim();
    let (date_part, time_part) = match t.find(['T', ' ']) {
        // `30 Nov 2026` has spaces inside the date: only split when a time follows.
        Some(i) if t[i + 1..].contains(':') => (t[..i].trim(), Some(t[i + 1..].trim())),
        _ => (t, None),
    };
    let date = numeric_date(date_part)
        .or_else(|| {
            FIXED_FORMATS
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(date_part, f).ok())
                .map(DateText::Fixed)
        })
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

/// `5/12/2026`, `05.12.2026`, `05-12-2026`: one or two digits, the same separator twice,
/// then the year (one to four digits, so that `30/11/26` is reported as the year 26).
fn numeric_date(t: &str) -> Option<DateText> {
    let sep = t.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = t.split(sep).collect();
    let [a, b, y] = parts.as_slice() else {
        return None;
    };
    let digits =
        |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(a, 2) && digits(b, 2) && digits(y, 4)) {
        return None;
    }
    Some(DateText::Numeric {
        first: a.parse().ok()?,
        second: b.parse().ok()?,
        year: y.parse().ok()?,
    })
}

// ---------------------------------------------------------------- mobile numbers

/// An order's mobile number in the API's form (`03123456789`). Excel's lost leading
/// zero, `+92`, `0092`, spaces and dashes are repaired with a warning; anything else is an
/// error.
pub fn mobile(cell: &CellValue<'_>) -> CoerceResult<String> {
    let (digits_source, invisible) = match cell {
        CellValue::Int(i) if *i >= 0 => (i.to_string(), None),
        CellValue::Float(f) if f.is_finite() && f.fract() == 0.0 && *f >= 0.0 && *f < 1e15 => {
            (format_number(*f), None)
        }
        CellValue::Text(s) => {
            let (v, w) = visible_text(cell, s);
            (v.into_owned(), w)
        }
        CellValue::Empty => return Coerced::ok(String::new()),
        CellValue::Int(_) | CellValue::Float(_) => {
            return Err(format!("{cell} is not a mobile number ({MOBILE_EXPECTED})"));
        }
        _ => return Err(other_type(cell, MOBILE_EXPECTED)),
    };
    if digits_source.is_empty() {
        return Ok(Coerced {
            value: String::new(),
            warning: invisible,
        });
    }
    let is_number_cell = matches!(cell, CellValue::Int(_) | CellValue::Float(_));
    if is_valid_mobile(&digits_source) {
        return Ok(Coerced {
            value: digits_source,
            warning: invisible,
        });
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

/// A consumer's mobile number: free text of at most `max` characters (reference §8–11 set
/// no format). A number cell that lost Excel's leading zero is repaired with a warning;
/// text is sent as written, with a warning when it is not a mobile number in the usual
/// form.
pub fn contact_mobile(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    if matches!(cell, CellValue::Int(_) | CellValue::Float(_))
        && let Ok(repaired) = mobile(cell)
    {
        return Ok(repaired);
    }
    let c = text(cell, max)?;
    if c.value.is_empty() || is_valid_mobile(&c.value) || c.warning.is_some() {
        return Ok(c);
    }
    Coerced::warn(
        c.value,
        format!("{cell} is not a mobile number in the usual form 03XXXXXXXXX; sent as written"),
    )
}

// ---------------------------------------------------------------- text

/// Trimmed text of at most `max` characters. Numbers become their General form; line
/// breaks inside a cell (Alt+Enter) become spaces and invisible characters go, with a
/// warning.
pub fn text(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let (value, warning) = match cell {
        CellValue::Text(s) => clean_text(cell, s),
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

fn clean_text(cell: &CellValue<'_>, s: &str) -> (String, Option<String>) {
    let (visible, invisible) = visible_text(cell, s);
    let t = visible.as_ref();
    let has_control = if t.is_ascii() {
        t.bytes().any(|b| b.is_ascii_control())
    } else {
        t.chars().any(char::is_control)
    };
    if !has_control {
        return (t.to_string(), invisible);
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
    let warning = invisible.or_else(|| {
        Some(format!(
            "{cell} had line breaks or control characters, replaced by spaces"
        ))
    });
    (out, warning)
}

const EMAIL_EXPECTED: &str = "expected name@domain";

/// An order's e-mail address, empty allowed (reference §1): `max` characters at most and
/// the form of an address, else an error.
pub fn email(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let expected = format!("{EMAIL_EXPECTED}, at most {max} characters");
    let c = email_text(cell, max, &expected)?;
    if c.value.is_empty() {
        return Ok(c);
    }
    if let Some(why) = email_problem(&c.value) {
        return Err(format!(
            "{cell} is not a valid e-mail address: {why} ({expected})"
        ));
    }
    Ok(c)
}

/// A consumer's e-mail address (reference §8–11: optional, at most `max` characters): a
/// format problem is a warning and the address is sent as written.
pub fn contact_email(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let expected = format!("{EMAIL_EXPECTED}, at most {max} characters");
    let c = email_text(cell, max, &expected)?;
    if c.value.is_empty() || c.warning.is_some() {
        return Ok(c);
    }
    match email_problem(&c.value) {
        None => Ok(c),
        Some(why) => Coerced::warn(
            c.value,
            format!("{cell} does not look like an e-mail address ({why}); sent as written"),
        ),
    }
}

fn email_text(cell: &CellValue<'_>, max: usize, expected: &str) -> CoerceResult<String> {
    let (value, warning) = match cell {
        CellValue::Text(s) => {
            let (v, w) = visible_text(cell, s);
            (v.into_owned(), w)
        }
        CellValue::Empty => return Coerced::ok(String::new()),
        _ => return Err(other_type(cell, expected)),
    };
    let len = char_len(&value);
    if len > max {
        return Err(format!("{cell} is {len} characters long ({expected})"));
    }
    Ok(Coerced { value, warning })
}

/// What is wrong with an e-mail address, in the clerk's words, or `None`.
pub fn email_problem(s: &str) -> Option<&'static str> {
    if s.get(..7)
        .is_some_and(|h| h.eq_ignore_ascii_case("mailto:"))
    {
        return Some("it starts with \"mailto:\" (copied from a link; write only the address)");
    }
    if s.chars().any(char::is_whitespace) {
        return Some("it contains a space");
    }
    let Some((local, _)) = s.split_once('@') else {
        return Some("it has no @");
    };
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("a dot starts or ends the name before the @, or two dots meet");
    }
    if !is_valid_email(s) {
        return Some("it is not of the form name@domain.tld");
    }
    None
}

/// Whole seconds after which an unpaid order is blocked; `0` means never (the guide's own
/// samples send 0).
pub fn seconds(cell: &CellValue<'_>) -> CoerceResult<u64> {
    const EXPECTED: &str = "expected whole seconds, e.g. 86400, or 0 for never";
    let n: Option<i128> = match cell {
        CellValue::Int(i) => Some(i128::from(*i)),
        CellValue::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 => {
            Some(*f as i128)
        }
        CellValue::Text(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match n.and_then(|n| u64::try_from(n).ok()) {
        Some(n) => Coerced::ok(n),
        None => Err(format!("{cell} is not valid ({EXPECTED})")),
    }
}

/// A text key (order number, consumer id), exactly as the clerk can read and retype it:
/// invisible and control characters are errors; a number cell is accepted in its General
/// form unless it holds more digits than Excel keeps (then the key is no longer what was
/// typed); look-alike characters (fullwidth letters) are sent as typed, with a warning.
pub fn key_text(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let too_long_number = || {
        format!(
            "{cell} is a number cell with more digits than Excel holds exactly (15), so it is no longer what was typed (format the column as Text in Excel and type the key again)"
        )
    };
    let value = match cell {
        CellValue::Int(i) => {
            if i.unsigned_abs() >= 1_000_000_000_000_000 {
                return Err(too_long_number());
            }
            i.to_string()
        }
        CellValue::Float(f) => {
            if !f.is_finite() || f.abs() >= EXCEL_DIGITS {
                return Err(too_long_number());
            }
            let shown = format!("{f}");
            let significant = shown
                .trim_start_matches(['-', '0', '.'])
                .bytes()
                .filter(u8::is_ascii_digit)
                .count();
            if significant > 15 {
                return Err(too_long_number());
            }
            format_number(*f)
        }
        CellValue::Text(s) => {
            let t = s.trim();
            let (_, invisible) = strip_invisible(t);
            if let Some(c) = invisible {
                return Err(format!(
                    "{cell} contains an invisible {} (expected a key with only visible characters: type it again)",
                    describe(c).trim_start_matches("invisible ")
                ));
            }
            if t.chars().any(char::is_control) {
                return Err(format!(
                    "{cell} contains a line break or control character (expected a key on one line)"
                ));
            }
            t.to_string()
        }
        CellValue::Empty => String::new(),
        CellValue::DateTime(_) => {
            return Err(format!(
                "{cell} is a date cell (expected text; Excel may have turned the key into a date: format the column as Text)"
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
    if has_compatibility_forms(&value) {
        return Coerced::warn(
            value,
            format!(
                "{cell} contains look-alike characters (such as fullwidth letters); sent as typed, and compared with other keys in their plain form"
            ),
        );
    }
    Coerced::ok(value)
}

/// An order number that will travel inside `CsvOrderNumbers` (`A-1,A-2` or
/// `A-1,450|A-2,450`): the separators cannot appear in it.
pub fn list_order_number(cell: &CellValue<'_>, max: usize) -> CoerceResult<String> {
    let c = key_text(cell, max)?;
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
    let c = key_text(cell, max)?;
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
        CellValue::Text(s)
            if strip_invisible(s.trim())
                .0
                .trim()
                .eq_ignore_ascii_case(legal) =>
        {
            Coerced::ok(legal.to_string())
        }
        _ => Err(format!(
            "{cell} is not a valid {column} (expected {legal}, the only value the API accepts)"
        )),
    }
}

#[cfg(test)]
#[path = "coerce_tests.rs"]
mod tests;
