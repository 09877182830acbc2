//! The run this console drives, as the engine's events describe it: the engine's own
//! [`Progress`] (counts, batches done / on the wire / queued, rate, ETA, paused,
//! stopping), a rate history for the sparkline, and a bounded log of batch outcomes and
//! retries. Folded from events only; nothing here decides.

use crate::cli::progress::short_duration;
use crate::domain::Kind;
use crate::engine::{Event, Progress};
use crate::journal::{ItemState, RunId};
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
    /// Cancel asked by the clerk; the engine's `Stopping` confirms it.
    pub cancelling: bool,
    pub finished: bool,
    /// When the run ended: rate and elapsed time stop there.
    pub finished_at: Option<Instant>,
    /// Quit once the run has ended (the clerk quit during the run).
    pub quit_when_done: bool,
    /// How the run ended, in words.
    pub outcome: Option<Result<String, String>>,
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
            cancelling: false,
            finished: false,
            finished_at: None,
            quit_when_done: false,
            outcome: None,
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
                ..
            } => {
                self.run = Some(*run);
                self.log.push(format!(
                    "{t} run {run} started: {total} rows, {to_send} to send, {settled} with nothing to send"
                ));
            }
            Event::BatchSent { .. } => {}
            Event::BatchDone {
                batch,
                items,
                outcome,
                elapsed,
            } => {
                let n = |s: ItemState| Event::count_in(items, s);
                let mark = matches!(
                    self.progress.kind,
                    Some(Kind::MarkPaid | Kind::MarkBlocked | Kind::Refunds)
                );
                let mut parts = vec![if mark {
                    format!("{} done", n(ItemState::Done))
                } else {
                    format!("{} created", n(ItemState::Created))
                }];
                for (count, word) in [
                    (
                        n(ItemState::ExistsBeforeRun) + n(ItemState::ExistsIdUnknown),
                        "existed",
                    ),
                    (n(ItemState::Rejected), "rejected"),
                    (n(ItemState::Pending), "to send again"),
                    (n(ItemState::Failed), "failed"),
                ] {
                    if count > 0 {
                        parts.push(format!("{count} {word}"));
                    }
                }
                self.log.push(format!(
                    "{t} batch {batch}: {} ({outcome}, {})",
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
                self.log.push(format!(
                    "{t} retry: {items} rows again in {} (send {attempt}): {reason}",
                    short_duration(*delay)
                ));
            }
            Event::Pausing { on_the_wire } => self.log.push(format!(
                "{t} pausing: {on_the_wire} requests on the wire finish first"
            )),
            Event::Paused => self.log.push(format!("{t} paused: nothing is being sent")),
            Event::Resumed => self.log.push(format!("{t} sending again")),
            Event::Stopping { reason } => {
                self.log.push(format!("{t} stopping: {reason}"));
            }
            Event::RunFinished { run, state, .. } => {
                self.finished = true;
                self.finished_at.get_or_insert(now);
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

    /// The drive ended (its report in words, or why it failed).
    pub fn ended(&mut self, result: Result<String, String>, now: Instant) {
        self.finished = true;
        self.finished_at.get_or_insert(now);
        self.cancelling = false;
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

    pub fn position(&self) -> u64 {
        self.progress.position()
    }

    pub fn ratio(&self) -> f64 {
        let total = self.progress.total;
        if total == 0 {
            return if self.finished { 1.0 } else { 0.0 };
        }
        self.position() as f64 / total as f64
    }

    /// `starting…`, `sending`, `pausing…`, `paused`, `cancelling…`, `finished`.
    pub fn status_word(&self) -> &'static str {
        let p = &self.progress;
        if self.finished {
            "finished"
        } else if self.cancelling || p.stopping.is_some() {
            "cancelling…"
        } else if p.paused {
            "paused"
        } else if p.pausing {
            "pausing…"
        } else if self.run.is_none() || p.run.is_none() {
            "starting…"
        } else {
            "sending"
        }
    }
}
