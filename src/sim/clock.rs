//! The simulator's sense of time: when orders were created, when they expire, and what
//! "today" is for `DatePaid`. Injectable, so that tests move time forward instead of
//! sleeping (`POST /__sim/clock`, [`super::RunningSim::advance_clock`]).

use chrono::{Local, NaiveDateTime, TimeDelta};
use std::sync::{Arc, Mutex};

/// A source of local time (the API works in local time, without zones).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> NaiveDateTime;
}

/// The machine's local time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        Local::now().naive_local()
    }
}

/// A base clock plus an offset that only grows: what the simulator reads. Moving time
/// forward is how a test makes an order expire; time never runs backwards, because
/// expiry already applied could not be undone.
pub struct SimClock {
    base: Arc<dyn Clock>,
    offset: Mutex<TimeDelta>,
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClock")
            .field("offset", &self.offset())
            .finish_non_exhaustive()
    }
}

impl SimClock {
    pub fn new(base: Arc<dyn Clock>) -> SimClock {
        SimClock {
            base,
            offset: Mutex::new(TimeDelta::zero()),
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        let now = self.base.now();
        now.checked_add_signed(self.offset()).unwrap_or(now)
    }

    /// How far the clock has been moved ahead of its base.
    pub fn offset(&self) -> TimeDelta {
        match self.offset.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Moves time forward by `by` and returns the new time; a negative `by` is refused.
    pub fn advance(&self, by: TimeDelta) -> Result<NaiveDateTime, ClockError> {
        if by < TimeDelta::zero() {
            return Err(ClockError::Backwards);
        }
        {
            let mut offset = match self.offset.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let next = offset.checked_add(&by).ok_or(ClockError::OutOfRange)?;
            self.base
                .now()
                .checked_add_signed(next)
                .ok_or(ClockError::OutOfRange)?;
            *offset = next;
        }
        Ok(self.now())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the simulator's clock only moves forward")]
    Backwards,
    #[error("that would move the simulator's clock out of the representable range")]
    OutOfRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(NaiveDateTime);
    impl Clock for Fixed {
        fn now(&self) -> NaiveDateTime {
            self.0
        }
    }

    #[test]
    fn advances_forward_only() {
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        let c = SimClock::new(Arc::new(Fixed(t0)));
        assert_eq!(c.now(), t0);
        assert_eq!(
            c.advance(TimeDelta::seconds(90)),
            Ok(t0 + TimeDelta::seconds(90))
        );
        assert_eq!(c.now(), t0 + TimeDelta::seconds(90));
        assert_eq!(
            c.advance(TimeDelta::seconds(-1)),
            Err(ClockError::Backwards)
        );
        assert_eq!(c.advance(TimeDelta::MAX), Err(ClockError::OutOfRange));
        assert_eq!(c.offset(), TimeDelta::seconds(90));
    }
}
