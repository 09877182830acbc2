//! Decisions that need a whole column: which character separates decimals in its text
//! amounts, and whether its numeric dates are day-first or month-first. A cell that reads
//! two ways (`1.200`, `05/12/2026`) is never read by a guess.
//!
//! Amounts (per column):
//! 1. Text that can only be written one way is evidence: `1500,5` or `1.200,50` prove a
//!    decimal comma, `1500.50` or `1,200.50` a decimal point. The column follows its own
//!    evidence when it all points one way.
//! 2. A column without evidence follows the file's other amount columns, then a `;` CSV
//!    (Excel writes `;` where the decimal separator is a comma). A `,` CSV proves nothing.
//! 3. Still undecided, or evidence both ways: a text amount that reads two ways is an
//!    error naming both readings ("1.200 could be 1200 or 1.2: write 1200 or 1.20").
//!    Text that reads one way is read so in every case.
//! 4. A decided column reads a two-way amount only as thousands (`1.200` is 1200 with a
//!    decimal comma): the other reading has three decimals, which money does not have,
//!    so `1,090` in a decimal-comma column (or `10.500` in a decimal-point one) is
//!    refused rather than read as 1.09 (or 10.50).
//! 5. A column read with a decimal comma gets one warning that says so.
//!
//! Dates (per column):
//! 1. Numeric text that is a date only one way is evidence: `20/12/2026` proves day-first,
//!    `12/20/2026` month-first. Same day and month (`07/07/2026`), date cells, serials,
//!    ISO dates and month names read one way and prove nothing.
//! 2. Evidence one way decides; month-first gets one warning for the column.
//! 3. No evidence: the configured order (day-first by default, as the guide writes dates),
//!    with one warning for the column when some of its dates could be read either way.
//! 4. Evidence both ways: the order with more evidence is the column's order and rows
//!    that prove the other one contradict it (errors); values that read both ways are
//!    errors, the column giving no safe reading. With as much evidence each way, every
//!    value whose reading depends on the order is an error.

use super::coerce::{Convention, DateOrder};
use crate::domain::Money;
use chrono::NaiveDate;

/// How often a column's values proved one thing, and where first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub count: u32,
    /// Row and text of the first value that proved it.
    pub first: Option<(u32, String)>,
}

impl Evidence {
    pub fn add(&mut self, row: u32, text: &str) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((row, text.to_string()));
        }
    }

    fn example(&self) -> String {
        match &self.first {
            Some((row, text)) => format!("row {row} \"{text}\""),
            None => "no row".to_string(),
        }
    }
}

/// What a column's text amounts showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmountEvidence {
    pub point: Evidence,
    pub comma: Evidence,
    /// Values read two ways (first one kept for the warning).
    pub ambiguous: Evidence,
}

impl AmountEvidence {
    pub fn merge(&mut self, other: &AmountEvidence) {
        for (mine, theirs) in [
            (&mut self.point, &other.point),
            (&mut self.comma, &other.comma),
            (&mut self.ambiguous, &other.ambiguous),
        ] {
            mine.count += theirs.count;
            if mine.first.is_none() {
                mine.first.clone_from(&theirs.first);
            }
        }
    }

    fn one_way(&self) -> Option<Convention> {
        match (self.point.count, self.comma.count) {
            (0, 0) => None,
            (_, 0) => Some(Convention::DecimalPoint),
            (0, _) => Some(Convention::DecimalComma),
            _ => None,
        }
    }

    fn mixed(&self) -> bool {
        self.point.count > 0 && self.comma.count > 0
    }
}

/// A column's reading of amounts that read two ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountVerdict {
    /// Read with this convention, because of `why` (for the warning).
    Use(Convention, String),
    /// Nothing decides.
    Undecided,
    /// The column proves both conventions.
    Mixed { point: String, comma: String },
}

/// The verdict for one amount column, given its own evidence, the whole file's (every
/// amount column together) and the CSV separator, if any.
pub fn decide_amounts(
    column: &AmountEvidence,
    file: &AmountEvidence,
    csv_delimiter: Option<u8>,
) -> AmountVerdict {
    if column.mixed() {
        return AmountVerdict::Mixed {
            point: column.point.example(),
            comma: column.comma.example(),
        };
    }
    if let Some(c) = column.one_way() {
        let e = match c {
            Convention::DecimalPoint => &column.point,
            Convention::DecimalComma => &column.comma,
        };
        return AmountVerdict::Use(c, format!("as {} shows", e.example()));
    }
    if let Some(c) = file.one_way() {
        let e = match c {
            Convention::DecimalPoint => &file.point,
            Convention::DecimalComma => &file.comma,
        };
        return AmountVerdict::Use(
            c,
            format!(
                "as another amount column of the file shows ({})",
                e.example()
            ),
        );
    }
    if !file.mixed() && csv_delimiter == Some(b';') {
        return AmountVerdict::Use(
            Convention::DecimalComma,
            "as the file's ';' separator shows (Excel writes ';' where the decimal separator is a comma)".to_string(),
        );
    }
    if file.mixed() {
        return AmountVerdict::Mixed {
            point: file.point.example(),
            comma: file.comma.example(),
        };
    }
    AmountVerdict::Undecided
}

/// The amount a two-way value stands for under `verdict`, or why it cannot be read.
/// `thousands` is the convention in which its one separator groups thousands: read the
/// other way it has three decimals, which money does not have, so that reading is never
/// taken (`1,090` in a decimal-comma column is refused, not read as 1.09). `shown` is the
/// cell as messages quote it.
pub fn resolve_amount(
    verdict: &AmountVerdict,
    point: &Result<Money, String>,
    comma: &Result<Money, String>,
    thousands: Convention,
    shown: &str,
) -> Result<Money, String> {
    match verdict {
        AmountVerdict::Use(convention, _) => {
            let chosen = match convention {
                Convention::DecimalPoint => point,
                Convention::DecimalComma => comma,
            };
            if *convention == thousands || chosen.is_err() {
                return chosen.clone();
            }
            let separator = match convention {
                Convention::DecimalPoint => '.',
                Convention::DecimalComma => ',',
            };
            Err(format!(
                "{shown} could be {}: read with '{separator}' before the decimals, as the rest of the column, it has three decimals, which an amount does not have: write {}",
                readings(point, comma),
                suggestions(point, comma)
            ))
        }
        AmountVerdict::Undecided => Err(format!(
            "{shown} could be {} (nothing in the file shows whether ',' or '.' separates the decimals): write {}",
            readings(point, comma),
            suggestions(point, comma)
        )),
        AmountVerdict::Mixed { point: p, comma: c } => Err(format!(
            "{shown} could be {}, and the amounts mix decimal points ({p}) and decimal commas ({c}): write {}",
            readings(point, comma),
            suggestions(point, comma)
        )),
    }
}

/// `1200 or 1.2`: the comma reading first when it is the larger (the thousands one).
fn readings(point: &Result<Money, String>, comma: &Result<Money, String>) -> String {
    let plain = |m: &Result<Money, String>, raw_scale_hint: &str| match m {
        Ok(m) => m.value().normalize().to_string(),
        Err(_) => raw_scale_hint.to_string(),
    };
    let p = plain(point, "a number with 3 decimals");
    let c = plain(comma, "a number with 3 decimals");
    // Valid readings first, the larger first.
    let comma_larger = match (point, comma) {
        (Ok(p), Ok(c)) => c > p,
        (Err(_), Ok(_)) => true,
        _ => false,
    };
    if comma_larger {
        format!("{c} or {p}")
    } else {
        format!("{p} or {c}")
    }
}

/// How to write each valid reading so that it reads one way: `1200 or 1.20`.
fn suggestions(point: &Result<Money, String>, comma: &Result<Money, String>) -> String {
    let mut valid: Vec<Money> = [point, comma]
        .into_iter()
        .filter_map(|m| m.as_ref().ok().copied())
        .collect();
    valid.sort_by(|a, b| b.cmp(a));
    valid.dedup();
    let unambiguous = |m: &Money| {
        if m.value().fract().is_zero() {
            m.value().trunc().to_string()
        } else {
            m.to_string()
        }
    };
    let forms: Vec<String> = valid.iter().map(unambiguous).collect();
    forms.join(" or ")
}

/// What a column's numeric text dates showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateEvidence {
    pub day_first: Evidence,
    pub month_first: Evidence,
    pub ambiguous: Evidence,
}

/// A column's order for numeric dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateVerdict {
    /// Every numeric date is read in this order; `proof` is the example that decided it,
    /// `None` when the configured default decided.
    Use {
        order: DateOrder,
        proof: Option<String>,
    },
    /// Evidence both ways: `majority` when one order has more of it.
    Mixed {
        majority: Option<DateOrder>,
        day_first: String,
        month_first: String,
    },
}

pub fn decide_dates(e: &DateEvidence, default: DateOrder) -> DateVerdict {
    let (d, m) = (e.day_first.count, e.month_first.count);
    match (d, m) {
        (0, 0) => DateVerdict::Use {
            order: default,
            proof: None,
        },
        (_, 0) => DateVerdict::Use {
            order: DateOrder::DayFirst,
            proof: Some(e.day_first.example()),
        },
        (0, _) => DateVerdict::Use {
            order: DateOrder::MonthFirst,
            proof: Some(e.month_first.example()),
        },
        _ => DateVerdict::Mixed {
            majority: match d.cmp(&m) {
                std::cmp::Ordering::Greater => Some(DateOrder::DayFirst),
                std::cmp::Ordering::Less => Some(DateOrder::MonthFirst),
                std::cmp::Ordering::Equal => None,
            },
            day_first: e.day_first.example(),
            month_first: e.month_first.example(),
        },
    }
}

/// The date a numeric text date stands for under `verdict`, or why it cannot be read.
pub fn resolve_date(
    verdict: &DateVerdict,
    day_first: Option<NaiveDate>,
    month_first: Option<NaiveDate>,
    shown: &str,
) -> Result<NaiveDate, String> {
    let long = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    let write_as = |d: NaiveDate| format!("{} or {}", d.format("%Y-%m-%d"), d.format("%-d-%b-%Y"));
    match verdict {
        DateVerdict::Use { order, proof } => {
            let reading = match order {
                DateOrder::DayFirst => day_first,
                DateOrder::MonthFirst => month_first,
            };
            reading.ok_or_else(|| {
                format!(
                    "{shown} is not a date when read {} as the rest of the column{}",
                    order.describe(),
                    proof
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default()
                )
            })
        }
        DateVerdict::Mixed {
            majority,
            day_first: d_example,
            month_first: m_example,
        } => match (day_first, month_first, majority) {
            (Some(d), None, Some(DateOrder::DayFirst)) => Ok(d),
            (None, Some(m), Some(DateOrder::MonthFirst)) => Ok(m),
            (Some(d), None, Some(DateOrder::MonthFirst)) => Err(format!(
                "{shown} can only be {} (day-first), which contradicts the column's month-first dates ({m_example}): check the date and write it as {}",
                long(d),
                write_as(d)
            )),
            (None, Some(m), Some(DateOrder::DayFirst)) => Err(format!(
                "{shown} can only be {} (month-first), which contradicts the column's day-first dates ({d_example}): check the date and write it as {}",
                long(m),
                write_as(m)
            )),
            (Some(d), Some(m), _) => Err(format!(
                "{shown} could be {} or {}, and the column mixes day-first ({d_example}) and month-first ({m_example}) dates: write it as {} or {}",
                long(d),
                long(m),
                d.format("%Y-%m-%d"),
                m.format("%Y-%m-%d")
            )),
            (Some(only), None, None) | (None, Some(only), None) => Err(format!(
                "{shown} is {}, but the column has as many day-first ({d_example}) as month-first ({m_example}) dates, so its order is unknown: write it as {}",
                long(only),
                write_as(only)
            )),
            (None, None, _) => Err(format!("{shown} is not a date")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(point: u32, comma: u32) -> AmountEvidence {
        let mut e = AmountEvidence::default();
        for i in 0..point {
            e.point.add(i + 2, "1500.50");
        }
        for i in 0..comma {
            e.comma.add(i + 10, "1500,5");
        }
        e
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap_or_else(|_| Money::zero())
    }

    #[test]
    fn amount_columns_follow_their_own_evidence_then_the_file_then_a_semicolon() {
        let none = AmountEvidence::default();
        assert!(matches!(
            decide_amounts(&ev(1, 0), &ev(1, 5), Some(b';')),
            AmountVerdict::Use(Convention::DecimalPoint, _)
        ));
        assert!(matches!(
            decide_amounts(&none, &ev(0, 2), None),
            AmountVerdict::Use(Convention::DecimalComma, _)
        ));
        assert!(matches!(
            decide_amounts(&none, &none, Some(b';')),
            AmountVerdict::Use(Convention::DecimalComma, _)
        ));
        assert_eq!(
            decide_amounts(&none, &none, Some(b',')),
            AmountVerdict::Undecided
        );
        assert!(matches!(
            decide_amounts(&ev(2, 1), &ev(2, 1), None),
            AmountVerdict::Mixed { .. }
        ));
    }

    #[test]
    fn two_way_amounts_are_read_by_the_verdict_or_refused_naming_both() {
        let (p, c) = (Ok(m("1.20")), Ok(m("1200")));
        let comma = AmountVerdict::Use(Convention::DecimalComma, String::new());
        let dot_groups = Convention::DecimalComma;
        assert_eq!(
            resolve_amount(&comma, &p, &c, dot_groups, "\"1.200\""),
            Ok(m("1200"))
        );
        // With a decimal point, 1.200 would have three decimals: refused, not 1.20.
        let point = AmountVerdict::Use(Convention::DecimalPoint, String::new());
        let e = resolve_amount(&point, &p, &c, dot_groups, "\"1.200\"").unwrap_err();
        assert!(e.contains("it has three decimals"), "{e}");
        let e =
            resolve_amount(&AmountVerdict::Undecided, &p, &c, dot_groups, "\"1.200\"").unwrap_err();
        assert!(
            e.starts_with("\"1.200\" could be 1200 or 1.2 (nothing in the file shows"),
            "{e}"
        );
        assert!(e.ends_with("write 1200 or 1.20"), "{e}");
        let e = resolve_amount(
            &AmountVerdict::Undecided,
            &Ok(m("1005")),
            &Err("x".into()),
            Convention::DecimalPoint,
            "\"1,005\"",
        )
        .unwrap_err();
        assert!(
            e.contains("could be 1005 or a number with 3 decimals"),
            "{e}"
        );
        assert!(e.ends_with("write 1005"), "{e}");
    }

    fn dates(d: u32, m: u32) -> DateEvidence {
        let mut e = DateEvidence::default();
        for i in 0..d {
            e.day_first.add(i + 2, "20/12/2026");
        }
        for i in 0..m {
            e.month_first.add(i + 20, "12/20/2026");
        }
        e
    }
    fn d(y: i32, mo: u32, da: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, da).unwrap_or_default()
    }

    #[test]
    fn date_columns_are_decided_by_evidence_or_the_default() {
        let v = decide_dates(&dates(0, 2), DateOrder::DayFirst);
        assert!(matches!(
            v,
            DateVerdict::Use {
                order: DateOrder::MonthFirst,
                proof: Some(_)
            }
        ));
        assert_eq!(
            resolve_date(
                &v,
                Some(d(2026, 12, 5)),
                Some(d(2026, 5, 12)),
                "\"5/12/2026\""
            ),
            Ok(d(2026, 5, 12))
        );
        let v = decide_dates(&dates(0, 0), DateOrder::DayFirst);
        assert_eq!(
            resolve_date(&v, Some(d(2026, 12, 5)), Some(d(2026, 5, 12)), "x"),
            Ok(d(2026, 12, 5))
        );
        let v = decide_dates(&dates(0, 0), DateOrder::MonthFirst);
        assert_eq!(
            resolve_date(&v, Some(d(2026, 12, 5)), Some(d(2026, 5, 12)), "x"),
            Ok(d(2026, 5, 12))
        );
    }

    #[test]
    fn mixed_date_columns_refuse_what_they_cannot_read_safely() {
        let v = decide_dates(&dates(1, 3), DateOrder::DayFirst);
        // Agrees with the majority (month-first only): read.
        assert_eq!(
            resolve_date(&v, None, Some(d(2026, 12, 20)), "\"12/20/2026\""),
            Ok(d(2026, 12, 20))
        );
        // Proves the minority order: contradicts.
        let e = resolve_date(&v, Some(d(2026, 12, 20)), None, "\"20/12/2026\"").unwrap_err();
        assert!(
            e.contains("contradicts the column's month-first dates"),
            "{e}"
        );
        // Two readings in a mixed column: refused.
        let e = resolve_date(
            &v,
            Some(d(2026, 12, 5)),
            Some(d(2026, 5, 12)),
            "\"5/12/2026\"",
        )
        .unwrap_err();
        assert!(e.contains("could be 5 December 2026 or 12 May 2026"), "{e}");
        let tie = decide_dates(&dates(2, 2), DateOrder::DayFirst);
        assert!(resolve_date(&tie, Some(d(2026, 12, 20)), None, "x").is_err());
    }
}
