//! `Money`: a positive-or-zero amount with exactly two decimal places, never a float.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An amount of money, always held at scale 2 (`4400` is `4400.00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not a number")]
    NotANumber(String),
    #[error("{0} has more than 2 decimal places")]
    TooManyDecimals(Decimal),
    #[error("{0} is negative")]
    Negative(Decimal),
    #[error("{0} does not fit decimal(18,2)")]
    TooLarge(Decimal),
}

impl Money {
    /// Largest amount that fits the API's decimal(18,2): 16 integer digits.
    pub fn max_value() -> Decimal {
        Decimal::new(9_999_999_999_999_999, 0) + Decimal::new(99, 2)
    }

    /// Accepts a decimal with at most two significant decimal places (`10.50`,
    /// `10.500` are fine, `10.005` is not), zero or more, within decimal(18,2).
    pub fn new(value: Decimal) -> Result<Money, MoneyError> {
        let normalized = value.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::TooManyDecimals(normalized));
        }
        if normalized.is_sign_negative() && !normalized.is_zero() {
            return Err(MoneyError::Negative(normalized));
        }
        if normalized > Self::max_value() {
            return Err(MoneyError::TooLarge(normalized));
        }
        let mut d = normalized;
        d.rescale(2);
        Ok(Money(d))
    }

    pub fn zero() -> Money {
        Money(Decimal::new(0, 2))
    }

    pub fn from_cents(cents: i64) -> Result<Money, MoneyError> {
        Money::new(Decimal::new(cents, 2))
    }

    pub fn value(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The amount as the API's samples write it: no trailing `.00` on whole amounts
    /// (`"4400"`, `"1500.5"` is written `"1500.50"`).
    pub fn to_wire(&self) -> String {
        if self.0.fract().is_zero() {
            self.0.trunc().to_string()
        } else {
            self.0.to_string()
        }
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).and_then(|d| Money::new(d).ok())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let d = Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map_err(|_| MoneyError::NotANumber(s.to_string()))?;
        Money::new(d)
    }
}

impl TryFrom<String> for Money {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.0.to_string()
    }
}

/// An amount written with thousands separators (`4,400`, `-1,500.50`) without them.
/// Commas may stand only between groups of three digits before the decimal point, so a
/// decimal comma (`1500,50`) is refused (`None`) rather than guessed. Shared by the
/// spreadsheet import and the response decoder, which must read amounts alike.
pub(crate) fn strip_thousands(t: &str) -> Option<String> {
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let int_part = unsigned.split('.').next().unwrap_or(unsigned);
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = groups
        .first()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = groups[1..]
        .iter()
        .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = !unsigned[int_part.len()..].contains(',');
    (first_ok && rest_ok && frac_ok).then(|| t.replace(',', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_only_in_groups_of_three() {
        let st = |t: &str| strip_thousands(t);
        assert_eq!(st("4,400").as_deref(), Some("4400"));
        assert_eq!(st("-1,500.50").as_deref(), Some("-1500.50"));
        assert_eq!(st("12,345,678").as_deref(), Some("12345678"));
        assert_eq!(st("1500,50"), None, "a decimal comma is not guessed");
        assert_eq!(st("4,4000"), None);
        assert_eq!(st(",400"), None);
        assert_eq!(st("1,000.5,0"), None, "no comma after the point");
        assert_eq!(st("+1,000"), None);
    }

    #[test]
    fn scale_is_two() {
        assert_eq!(
            "4400".parse::<Money>().map(|m| m.to_string()),
            Ok("4400.00".into())
        );
        assert_eq!(
            "10.500".parse::<Money>().map(|m| m.to_string()),
            Ok("10.50".into())
        );
        assert!(matches!(
            "10.005".parse::<Money>(),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            "-1".parse::<Money>(),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            "abc".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn wire_form_matches_samples() {
        assert_eq!(
            "4400.00".parse::<Money>().map(|m| m.to_wire()),
            Ok("4400".into())
        );
        assert_eq!(
            "1500.5".parse::<Money>().map(|m| m.to_wire()),
            Ok("1500.50".into())
        );
    }

    #[test]
    fn serde_round_trip_as_string() {
        let m: Money = "12.30".parse().unwrap_or_else(|_| Money::zero());
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(json, "\"12.30\"");
        let back: Result<Money, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(m));
    }
}
