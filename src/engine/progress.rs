//! Rows per second and an ETA, derived from the engine's [`Event`]s, so that the TUI
//! and the headless CLI show the same figures.

use super::Event;
use std::time::{Duration, Instant};

/// Running totals of one drive, fed with every event in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Items in the run.
    pub total: u64,
    /// Items pending when the drive started.
    pub to_send: u64,
    /// Items settled before the drive started.
    pub settled_before: u64,
    /// Items decided in this drive (created, exists, rejected or failed).
    pub done: u64,
    pub created: u64,
    pub exists: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Item sends scheduled again (retries, splits, atomic refusals).
    pub requeued: u64,
    pub requests: u64,
    started: Option<Instant>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Takes one event into account; `now` is when it was received.
    pub fn apply(&mut self, event: &Event, now: Instant) {
        match event {
            Event::RunStarted {
                total,
                to_send,
                settled,
                ..
            } => {
                *self = Progress {
                    total: *total,
                    to_send: *to_send,
                    settled_before: *settled,
                    started: Some(now),
                    ..Progress::default()
                };
            }
            Event::BatchSent { .. } => self.requests += 1,
            Event::BatchDone {
                created,
                exists,
                rejected,
                retrying,
                failed,
                ..
            } => {
                let n = |v: &usize| u64::try_from(*v).unwrap_or(u64::MAX);
                self.created += n(created);
                self.exists += n(exists);
                self.rejected += n(rejected);
                self.failed += n(failed);
                self.requeued += n(retrying);
                self.done += n(created) + n(exists) + n(rejected) + n(failed);
            }
            Event::RetryScheduled { .. } | Event::RunStopped { .. } | Event::RunFinished { .. } => {
            }
        }
    }

    /// Items still to decide in this drive.
    pub fn remaining(&self) -> u64 {
        self.to_send.saturating_sub(self.done)
    }

    /// Items decided per second since the drive started.
    pub fn rows_per_sec(&self, now: Instant) -> Option<f64> {
        let elapsed = now.checked_duration_since(self.started?)?.as_secs_f64();
        (elapsed > 0.0 && self.done > 0).then(|| self.done as f64 / elapsed)
    }

    /// Time left at the rate so far.
    pub fn eta(&self, now: Instant) -> Option<Duration> {
        let rate = self.rows_per_sec(now)?;
        Duration::try_from_secs_f64(self.remaining() as f64 / rate).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{BatchId, RunId};

    #[test]
    fn rate_and_eta_follow_the_events() {
        let t0 = Instant::now();
        let mut p = Progress::new();
        p.apply(
            &Event::RunStarted {
                run: RunId(1),
                total: 120,
                to_send: 100,
                settled: 20,
            },
            t0,
        );
        assert_eq!(p.rows_per_sec(t0 + Duration::from_secs(1)), None);
        p.apply(
            &Event::BatchSent {
                batch: BatchId(1),
                items: 50,
            },
            t0,
        );
        p.apply(
            &Event::BatchDone {
                batch: BatchId(1),
                created: 40,
                exists: 3,
                rejected: 2,
                retrying: 5,
                failed: 0,
                elapsed: Duration::from_millis(100),
            },
            t0,
        );
        assert_eq!(p.done, 45);
        assert_eq!(p.remaining(), 55);
        assert_eq!(p.requests, 1);
        let now = t0 + Duration::from_secs(9);
        assert_eq!(p.rows_per_sec(now), Some(5.0));
        assert_eq!(p.eta(now), Some(Duration::from_secs(11)));
    }
}
