//! `AmountLimits`: the merchant's per-order amount limits. The reference leaves them per
//! merchant ("configured in the simulator and mirrored in the client's profile so
//! validation catches them before submission"); an order outside them would get `03`.

use super::Money;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountLimits {
    /// Smallest accepted `OrderAmount`, inclusive.
    pub min: Money,
    /// Largest accepted `OrderAmount`, inclusive.
    pub max: Money,
}

impl AmountLimits {
    /// Why `amount` is refused, or `None` when it is within the limits.
    pub fn check(&self, amount: Money) -> Option<String> {
        if amount < self.min {
            Some(format!(
                "{amount} is below the merchant's minimum of {} per order",
                self.min
            ))
        } else if amount > self.max {
            Some(format!(
                "{amount} is above the merchant's maximum of {} per order",
                self.max
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        let m = |s: &str| s.parse::<Money>().unwrap_or_else(|_| Money::zero());
        let l = AmountLimits {
            min: m("100"),
            max: m("500000"),
        };
        assert_eq!(l.check(m("100")), None);
        assert_eq!(l.check(m("500000")), None);
        assert_eq!(
            l.check(m("99.99")),
            Some("99.99 is below the merchant's minimum of 100.00 per order".into())
        );
        assert!(l.check(m("500000.01")).is_some_and(|s| s.contains("above")));
    }
}
