//! Fault injection for `/cpay/` requests: latency with jitter and, at configured rates,
//! HTTP 500, an HTML error page with HTTP 200, a truncated JSON body, and a connection
//! dropped before or after the request's changes are stored. Decisions come from one
//! ChaCha stream seeded with `--seed`, so a run with the same requests in the same
//! order meets the same faults.

use super::SimError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;
use std::time::Duration;

/// Rates are probabilities per `/cpay/` request (0.0–1.0, summing to at most 1.0).
/// Deserialises from JSON with these field names (missing fields are 0) for
/// `POST /__sim/faults`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Fixed delay before each answer.
    pub latency_ms: u64,
    /// Extra random delay, uniform in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// HTTP 500 with a short text body; nothing is processed.
    pub http_500: f64,
    /// HTTP 200 with an HTML error page; nothing is processed.
    pub html_200: f64,
    /// The request is processed (and stored), the JSON answer is cut in the middle.
    pub truncated_json: f64,
    /// The connection is closed with no answer and nothing stored.
    pub drop_before_store: f64,
    /// The request is processed and stored, then the connection is closed with no
    /// answer (the lost-response case).
    pub drop_after_store: f64,
}

impl FaultConfig {
    pub fn check(&self) -> Result<(), SimError> {
        let rates = [
            ("--fail-500-rate", self.http_500),
            ("--html-200-rate", self.html_200),
            ("--truncate-rate", self.truncated_json),
            ("--drop-before-rate", self.drop_before_store),
            ("--drop-after-rate", self.drop_after_store),
        ];
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(SimError::Config(format!(
                    "{name} must be between 0.0 and 1.0, got {r}"
                )));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(SimError::Config(format!(
                "fault rates add up to {sum}, more than 1.0"
            )));
        }
        Ok(())
    }

    fn any_rate(&self) -> bool {
        self.http_500
            + self.html_200
            + self.truncated_json
            + self.drop_before_store
            + self.drop_after_store
            > 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Http500,
    Html200,
    TruncatedJson,
    DropBeforeStore,
    DropAfterStore,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub delay: Duration,
    pub fault: Fault,
}

pub struct Faults {
    config: Mutex<FaultConfig>,
    rng: Mutex<ChaCha8Rng>,
}

impl Faults {
    pub fn new(config: FaultConfig, seed: u64) -> Faults {
        Faults {
            config: Mutex::new(config),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    pub fn config(&self) -> FaultConfig {
        match self.config.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the configuration; the random stream continues where it was.
    pub fn set_config(&self, config: FaultConfig) -> Result<(), SimError> {
        config.check()?;
        match self.config.lock() {
            Ok(mut g) => *g = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    /// Draws the plan for the next request. Always draws the same number of values
    /// per request so that one request's plan does not depend on the configured rates
    /// of faults it did not meet.
    pub fn plan(&self) -> Plan {
        let c = self.config();
        let (jitter, roll) = {
            let mut rng = match self.rng.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let jitter = rng.random_range(0..=c.jitter_ms);
            let roll: f64 = rng.random();
            (jitter, roll)
        };
        let delay = Duration::from_millis(c.latency_ms.saturating_add(jitter));
        if !c.any_rate() {
            return Plan {
                delay,
                fault: Fault::None,
            };
        }
        let mut edge = 0.0;
        for (rate, fault) in [
            (c.http_500, Fault::Http500),
            (c.html_200, Fault::Html200),
            (c.truncated_json, Fault::TruncatedJson),
            (c.drop_before_store, Fault::DropBeforeStore),
            (c.drop_after_store, Fault::DropAfterStore),
        ] {
            edge += rate;
            if roll < edge {
                return Plan { delay, fault };
            }
        }
        Plan {
            delay,
            fault: Fault::None,
        }
    }
}

/// The body a truncated answer keeps: the first half, cut on a character boundary.
pub fn truncate_body(body: &[u8]) -> Vec<u8> {
    let mut cut = body.len() / 2;
    if let Ok(s) = std::str::from_utf8(body) {
        while cut > 0 && !s.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    body[..cut].to_vec()
}

pub const HTML_ERROR_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Runtime Error</title></head>\n<body><h1>Server Error in '/' Application.</h1>\n<p>The service is temporarily unavailable. Please try again later.</p></body></html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn count(config: FaultConfig, seed: u64, n: usize) -> Vec<Fault> {
        let f = Faults::new(config, seed);
        (0..n).map(|_| f.plan().fault).collect()
    }

    #[test]
    fn same_seed_same_faults() {
        let c = FaultConfig {
            http_500: 0.2,
            drop_after_store: 0.2,
            jitter_ms: 50,
            ..FaultConfig::default()
        };
        assert_eq!(count(c.clone(), 7, 200), count(c.clone(), 7, 200));
        assert_ne!(count(c.clone(), 7, 200), count(c, 8, 200));
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let c = FaultConfig {
            http_500: 0.25,
            html_200: 0.25,
            ..FaultConfig::default()
        };
        let v = count(c, 1, 4000);
        let n500 = v.iter().filter(|f| **f == Fault::Http500).count();
        let nhtml = v.iter().filter(|f| **f == Fault::Html200).count();
        let none = v.iter().filter(|f| **f == Fault::None).count();
        assert!((800..1200).contains(&n500), "{n500}");
        assert!((800..1200).contains(&nhtml), "{nhtml}");
        assert!((1800..2200).contains(&none), "{none}");
        let all = count(
            FaultConfig {
                drop_before_store: 1.0,
                ..FaultConfig::default()
            },
            1,
            50,
        );
        assert!(all.iter().all(|f| *f == Fault::DropBeforeStore));
    }

    #[test]
    fn latency_and_jitter_bounds() {
        let f = Faults::new(
            FaultConfig {
                latency_ms: 100,
                jitter_ms: 20,
                ..FaultConfig::default()
            },
            3,
        );
        for _ in 0..100 {
            let d = f.plan().delay.as_millis();
            assert!((100..=120).contains(&d), "{d}");
        }
    }

    #[test]
    fn config_checks() {
        assert!(FaultConfig::default().check().is_ok());
        let bad = FaultConfig {
            http_500: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad.check().is_err());
        let sum = FaultConfig {
            http_500: 0.6,
            html_200: 0.6,
            ..FaultConfig::default()
        };
        assert!(sum.check().is_err());
        let nan = FaultConfig {
            http_500: f64::NAN,
            ..FaultConfig::default()
        };
        assert!(nan.check().is_err());
    }

    #[test]
    fn truncation_cuts_valid_json() {
        let body = r#"[{"Status":"00"},{"Description":"Order créé"}]"#.as_bytes();
        let cut = truncate_body(body);
        assert!(cut.len() < body.len() && !cut.is_empty());
        assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
    }
}
