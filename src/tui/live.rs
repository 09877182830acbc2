//! The run this console drives, as its events describe it: the engine's own
//! [`Progress`] (counts, rate, ETA), batches done / in flight / queued, a rate history
//! for the sparkline, pause and cancel as acknowledged by the engine, and a bounded log
//! of batch outcomes and retries. Folded from events only; nothing here decides.

use crate::cli::progress::short_duration;
use crate::engine::{Event, Progress};
use crate::journal::RunId;
use crate::tui::widgets::LogLines;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Rate samples kept for the sparkline.
const RATE_SAMPLES: usize = 120;
/// Log lines kept.
const LOG_LINES: usize = 500;

#[derive(Debug)]
pub struct LiveRun {
    pub run: Option<RunId>,
    pub progress: Progress,
    pub started: Instant,
    /// Requests on the wire.
    pub in_flight: usize,
    pub batches_done: u64,
    pub batch_size: usize,
    /// Item sends scheduled again.
    pub retries: u64,
    /// Pause asked and not yet acknowledged.
    pub pausing: bool,
    pub paused: bool,
    /// Cancel asked: in-flight batches finish, nothing new leaves.
    pub cancelling: bool,
    pub finished: bool,
    /// When the run ended: rate and elapsed time stop there.
    pub finished_at: Option<Instant>,
    /// Quit once the run has ended (the clerk quit during the run).
    pub quit_when_done: bool,
    /// How the run ended, in words.
    pub outcome: Option<Result<String, String>>,
    pub stop_reason: Option<String>,
    pub log: LogLines,
    /// Rows per second, one sample per tick.
    pub rates: VecDeque<u64>,
    last_sample: Option<(Instant, u64)>,
}

impl LiveRun {
    pub fn new(now: Instant) -> LiveRun {
        LiveRun {
            run: None,
            progress: Progress::new(),
            started: now,
            in_flight: 0,
            batches_done: 0,
            batch_size: crate::domain::rules::BATCH_MAX,
            retries: 0,
            pausing: false,
            paused: false,
            cancelling: false,
            finished: false,
            finished_at: None,
            quit_when_done: false,
            outcome: None,
            stop_reason: None,
            log: LogLines::new(LOG_LINES),
            rates: VecDeque::with_capacity(RATE_SAMPLES),
            last_sample: None,
        }
    }

    fn stamp(&self, now: Instant) -> String {
        let s = now.saturating_duration_since(self.started).as_secs();
        format!("{:02}:{:02}", s / 60, s % 60)
    }

    pub fn apply(&mut self, event: &Event, now: Instant) {
        self.progress.apply(event, now);
        let t = self.stamp(now);
        match event {
            Event::RunStarted {
                run,
                total,
                to_send,
                settled,
            } => {
                self.run = Some(*run);
                self.log.push(format!(
                    "{t} run {run} started: {total} rows, {to_send} to send, {settled} with nothing to send"
                ));
            }
            Event::BatchSent { .. } => self.in_flight += 1,
            Event::BatchDone {
                batch,
                created,
                exists,
                rejected,
                retrying,
                failed,
                elapsed,
            } => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.batches_done += 1;
                let mut parts = vec![format!("{created} created")];
                for (n, w) in [
                    (*exists, "existed"),
                    (*rejected, "rejected"),
                    (*retrying, "to retry"),
                    (*failed, "failed"),
                ] {
                    if n > 0 {
                        parts.push(format!("{n} {w}"));
                    }
                }
                self.log.push(format!(
                    "{t} batch {batch}: {} ({})",
                    parts.join(", "),
                    short_duration(*elapsed)
                ));
            }
            Event::RetryScheduled {
                items,
                attempt,
                delay,
                reason,
            } => {
                self.retries += *items as u64;
                self.log.push(format!(
                    "{t} retry: {items} rows again in {} (send {attempt}): {reason}",
                    short_duration(*delay)
                ));
            }
            Event::RunStopped { reason } => {
                self.stop_reason = Some(reason.clone());
                self.log.push(format!("{t} stopped: {reason}"));
            }
            Event::RunFinished { run, state, .. } => {
                self.finished = true;
                self.finished_at.get_or_insert(now);
                self.in_flight = 0;
                self.log.push(format!("{t} run {run} ended: {state}"));
            }
        }
    }

    /// One sample of the rate for the sparkline.
    pub fn tick(&mut self, now: Instant) {
        let done = self.progress.done;
        if let Some((at, before)) = self.last_sample {
            let dt = now.saturating_duration_since(at);
            if dt < Duration::from_millis(200) {
                return;
            }
            let rate = (done.saturating_sub(before) as f64 / dt.as_secs_f64()).round() as u64;
            if self.rates.len() == RATE_SAMPLES {
                self.rates.pop_front();
            }
            if !self.finished {
                self.rates.push_back(rate);
            }
        }
        self.last_sample = Some((now, done));
    }

    /// The drive ended (its report, or why it failed).
    pub fn ended(&mut self, result: Result<String, String>) {
        self.finished = true;
        self.in_flight = 0;
        self.cancelling = false;
        self.pausing = false;
        self.paused = false;
        match &result {
            Ok(text) => self.log.push(text.clone()),
            Err(e) => self.log.push(format!("the run could not go on: {e}")),
        }
        self.outcome = Some(result);
    }

    /// The clock for rates: `now` while the run goes, its end after.
    pub fn clock(&self, now: Instant) -> Instant {
        self.finished_at.map_or(now, |end| end.min(now))
    }

    /// Items of the run decided so far (including those settled before this drive).
    pub fn position(&self) -> u64 {
        let p = &self.progress;
        (p.settled_before + p.done).min(p.total)
    }

    pub fn ratio(&self) -> f64 {
        let total = self.progress.total;
        if total == 0 {
            return if self.finished { 1.0 } else { 0.0 };
        }
        self.position() as f64 / total as f64
    }

    /// Batches still to send, at the run's batch size.
    pub fn queued(&self) -> u64 {
        let unsent = self
            .progress
            .remaining()
            .saturating_sub((self.in_flight * self.batch_size) as u64);
        unsent.div_ceil(self.batch_size.max(1) as u64)
    }

    /// `sending`, `pausing…`, `paused`, `cancelling…`, `finished`.
    pub fn status_word(&self) -> &'static str {
        if self.finished {
            "finished"
        } else if self.cancelling {
            "cancelling…"
        } else if self.paused {
            "paused"
        } else if self.pausing {
            "pausing…"
        } else if self.run.is_none() {
            "starting…"
        } else {
            "sending"
        }
    }
}
