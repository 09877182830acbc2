//! [`Progress`]: what a face shows of a drive, folded from the engine's [`Event`]s in
//! order, so the console and the headless commands show the same figures: counts by
//! outcome, batches done / on the wire / queued, rows per second, an ETA, paused or
//! stopping, and the last retry's reason.

use super::{Event, StopReason};
use crate::domain::Kind;
use crate::journal::{ItemState, RunId, RunState};
use std::time::{Duration, Instant};

/// Running totals of one drive, fed with every event in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub run: Option<RunId>,
    /// What the run sends (a mark run's rows end done, not created).
    pub kind: Option<Kind>,
    /// Items in the run.
    pub total: u64,
    /// Items pending when the drive started.
    pub to_send: u64,
    /// Items settled before the drive started.
    pub settled_before: u64,
    /// Items decided in this drive (created, exists, rejected or failed).
    pub done: u64,
    pub created: u64,
    /// Mark runs: marked paid or blocked, or refunded.
    pub marked: u64,
    pub exists: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Items put back to be sent again (retries, splits, atomic refusals).
    pub requeued: u64,
    /// Item sends, counting every resend.
    pub sent: u64,
    /// Item sends scheduled again after a backoff.
    pub retries: u64,
    pub last_retry_reason: Option<String>,
    /// Requests sent.
    pub requests: u64,
    /// Requests answered and journaled.
    pub batches_done: u64,
    /// Items on the wire now.
    pub items_on_the_wire: u64,
    pub batch_size: usize,
    /// Pause asked, requests on the wire still finishing.
    pub pausing: bool,
    /// Paused: nothing on the wire.
    pub paused: bool,
    pub stopping: Option<StopReason>,
    /// Set by the last event.
    pub finished: Option<RunState>,
    started: Option<Instant>,
    /// Time spent paused so far (not counted in the rate).
    paused_for: Duration,
    paused_since: Option<Instant>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Takes one event into account; `now` is when it was received.
    pub fn apply(&mut self, event: &Event, now: Instant) {
        match event {
            Event::RunStarted {
                run,
                kind,
                total,
                to_send,
                settled,
                batch_size,
                ..
            } => {
                *self = Progress {
                    run: Some(*run),
                    kind: Some(*kind),
                    total: *total,
                    to_send: *to_send,
                    settled_before: *settled,
                    batch_size: *batch_size,
                    started: Some(now),
                    ..Progress::default()
                };
            }
            Event::BatchSent { items, .. } => {
                let n = count(items.len());
                self.requests += 1;
                self.sent += n;
                self.items_on_the_wire += n;
            }
            Event::BatchDone { items, .. } => {
                self.batches_done += 1;
                self.items_on_the_wire = self.items_on_the_wire.saturating_sub(count(items.len()));
                for item in items {
                    match item.state {
                        ItemState::Created => self.created += 1,
                        ItemState::Done => self.marked += 1,
                        ItemState::ExistsBeforeRun | ItemState::ExistsIdUnknown => {
                            self.exists += 1;
                        }
                        ItemState::Rejected => self.rejected += 1,
                        ItemState::Failed => self.failed += 1,
                        _ => self.requeued += 1,
                    }
                    if !matches!(item.state, ItemState::Pending | ItemState::InFlight) {
                        self.done += 1;
                    }
                }
            }
            Event::RetryScheduled { items, reason, .. } => {
                self.retries += count(*items);
                self.last_retry_reason = Some(reason.clone());
            }
            Event::Pausing { .. } => self.pausing = true,
            Event::Paused => {
                self.pausing = false;
                self.paused = true;
                self.paused_since = Some(now);
            }
            Event::Resumed => {
                self.pausing = false;
                self.paused = false;
                if let Some(since) = self.paused_since.take() {
                    self.paused_for += now.saturating_duration_since(since);
                }
            }
            Event::Stopping { reason } => {
                if self.stopping.is_none() {
                    self.stopping = Some(reason.clone());
                }
            }
            Event::RunFinished { state, .. } => {
                self.finished = Some(*state);
                self.pausing = false;
                self.paused = false;
            }
        }
    }

    /// Items still to decide in this drive.
    pub fn remaining(&self) -> u64 {
        self.to_send.saturating_sub(self.done)
    }

    /// Rows settled in the whole run so far (a progress bar's position).
    pub fn position(&self) -> u64 {
        (self.settled_before + self.done).min(self.total)
    }

    /// Items put back to be sent again that have not been sent since. Every send
    /// beyond each item's first is a resend.
    pub fn retrying(&self) -> u64 {
        let resent = self.sent.saturating_sub(self.to_send);
        self.requeued.saturating_sub(resent)
    }

    /// Requests on the wire now.
    pub fn batches_on_the_wire(&self) -> u64 {
        self.requests.saturating_sub(self.batches_done)
    }

    /// Requests still to send for the items neither decided nor on the wire (an
    /// estimate: splits and retries may add some).
    pub fn batches_queued(&self) -> u64 {
        let waiting = self.remaining().saturating_sub(self.items_on_the_wire);
        let size = count(self.batch_size.max(1));
        waiting.div_ceil(size)
    }

    /// Items decided per second of sending (pauses left out).
    pub fn rows_per_sec(&self, now: Instant) -> Option<f64> {
        let mut elapsed = now.checked_duration_since(self.started?)?;
        elapsed = elapsed.saturating_sub(self.paused_for);
        if let Some(since) = self.paused_since {
            elapsed = elapsed.saturating_sub(now.saturating_duration_since(since));
        }
        let secs = elapsed.as_secs_f64();
        (secs > 0.0 && self.done > 0).then(|| self.done as f64 / secs)
    }

    /// Time left at the rate so far (none while paused).
    pub fn eta(&self, now: Instant) -> Option<Duration> {
        if self.paused {
            return None;
        }
        let rate = self.rows_per_sec(now)?;
        Duration::try_from_secs_f64(self.remaining() as f64 / rate).ok()
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kind;
    use crate::engine::{ItemRef, ItemUpdate};
    use crate::journal::{BatchId, ItemId, StateCounts};

    fn refs(n: usize) -> Vec<ItemRef> {
        (0..n)
            .map(|i| ItemRef {
                id: ItemId(i as i64),
                row: i as u32 + 2,
                key: format!("K{i}"),
            })
            .collect()
    }

    fn done(states: &[(ItemState, usize)]) -> Event {
        let mut items = Vec::new();
        for (state, n) in states {
            for _ in 0..*n {
                items.push(ItemUpdate {
                    id: ItemId(0),
                    row: 2,
                    key: "K".into(),
                    state: *state,
                    message: None,
                    connectpay_id: None,
                });
            }
        }
        Event::BatchDone {
            batch: BatchId(1),
            items,
            outcome: "ok".into(),
            elapsed: Duration::from_millis(100),
        }
    }

    fn started(total: u64, to_send: u64) -> Event {
        Event::RunStarted {
            run: RunId(1),
            kind: Kind::Orders,
            total,
            to_send,
            settled: total - to_send,
            batch_size: 50,
            concurrency: 4,
        }
    }

    #[test]
    fn rate_eta_and_batches_follow_the_events() {
        let t0 = Instant::now();
        let mut p = Progress::new();
        p.apply(&started(120, 100), t0);
        assert_eq!(p.rows_per_sec(t0 + Duration::from_secs(1)), None);
        assert_eq!(p.batches_queued(), 2);
        p.apply(
            &Event::BatchSent {
                batch: BatchId(1),
                items: refs(50),
            },
            t0,
        );
        assert_eq!((p.batches_on_the_wire(), p.batches_queued()), (1, 1));
        p.apply(
            &done(&[
                (ItemState::Created, 40),
                (ItemState::ExistsIdUnknown, 3),
                (ItemState::Rejected, 2),
                (ItemState::Pending, 5),
            ]),
            t0,
        );
        assert_eq!((p.done, p.created, p.exists, p.rejected), (45, 40, 3, 2));
        assert_eq!(p.remaining(), 55);
        assert_eq!(p.retrying(), 5);
        assert_eq!(
            (p.requests, p.batches_done, p.batches_on_the_wire()),
            (1, 1, 0)
        );
        assert_eq!(p.batches_queued(), 2);
        assert_eq!(p.position(), 65);
        let now = t0 + Duration::from_secs(9);
        assert_eq!(p.rows_per_sec(now), Some(5.0));
        assert_eq!(p.eta(now), Some(Duration::from_secs(11)));
    }

    #[test]
    fn a_pause_is_shown_and_left_out_of_the_rate() {
        let t0 = Instant::now();
        let mut p = Progress::new();
        p.apply(&started(100, 100), t0);
        p.apply(&done(&[(ItemState::Created, 10)]), t0);
        p.apply(
            &Event::Pausing { on_the_wire: 1 },
            t0 + Duration::from_secs(1),
        );
        assert!(p.pausing && !p.paused);
        p.apply(&Event::Paused, t0 + Duration::from_secs(1));
        assert!(p.paused && !p.pausing);
        assert_eq!(p.eta(t0 + Duration::from_secs(5)), None);
        p.apply(&Event::Resumed, t0 + Duration::from_secs(11));
        assert!(!p.paused);
        // 10 rows in 2 s of sending, not 12 s.
        assert_eq!(p.rows_per_sec(t0 + Duration::from_secs(12)), Some(5.0));
        p.apply(
            &Event::Stopping {
                reason: StopReason::Cancelled,
            },
            t0,
        );
        p.apply(
            &Event::RunFinished {
                run: RunId(1),
                state: RunState::Interrupted,
                counts: StateCounts::default(),
                elapsed: Duration::from_secs(12),
            },
            t0,
        );
        assert_eq!(p.stopping, Some(StopReason::Cancelled));
        assert_eq!(p.finished, Some(RunState::Interrupted));
    }
}
