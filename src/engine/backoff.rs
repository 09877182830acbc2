//! Retry delays: exponential backoff with "equal jitter" (half fixed, half random), so
//! that batches failing together do not all come back at the same instant, yet none
//! comes back sooner than half its nominal delay.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, seed: Option<u64>) -> Backoff {
        let rng = match seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_os_rng(),
        };
        Backoff { base, max, rng }
    }

    /// The nominal delay after the `attempt`-th failed send (1-based):
    /// `base * 2^(attempt-1)`, capped at `max`.
    pub(crate) fn nominal(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay to wait: half the nominal delay plus a random part up to the other half.
    pub(crate) fn delay(&mut self, attempt: u32) -> Duration {
        let nominal = self.nominal(attempt);
        let half = nominal / 2;
        let spread = u64::try_from((nominal - half).as_micros()).unwrap_or(u64::MAX);
        let extra = if spread == 0 {
            0
        } else {
            self.rng.random_range(0..=spread)
        };
        half + Duration::from_micros(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff::new(Duration::from_millis(250), Duration::from_secs(20), Some(1));
        assert_eq!(b.nominal(1), Duration::from_millis(250));
        assert_eq!(b.nominal(2), Duration::from_millis(500));
        assert_eq!(b.nominal(4), Duration::from_secs(2));
        assert_eq!(b.nominal(8), Duration::from_secs(20));
        assert_eq!(b.nominal(u32::MAX), Duration::from_secs(20));
        assert_eq!(b.nominal(0), Duration::from_millis(250));
    }

    #[test]
    fn jitter_stays_within_half_to_full_and_is_seeded() {
        let mut a = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), Some(7));
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), Some(7));
        let mut distinct = std::collections::HashSet::new();
        for attempt in 1..=8 {
            for _ in 0..20 {
                let d = a.delay(attempt);
                assert_eq!(d, b.delay(attempt), "same seed, same delays");
                let n = a.nominal(attempt);
                assert!(d >= n / 2 && d <= n, "{d:?} outside {:?}..={n:?}", n / 2);
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 100, "jitter should spread the delays");
        let mut zero = Backoff::new(Duration::ZERO, Duration::ZERO, None);
        assert_eq!(zero.delay(3), Duration::ZERO);
    }
}
