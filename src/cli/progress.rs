//! Renders the engine's [`Event`]s for the headless commands: a live progress bar
//! (indicatif) when stderr is a terminal, otherwise plain lines at most once a second,
//! so a log of a 20,000-row run stays readable. Progress always goes to stderr: stdout
//! carries the summary (and only the JSON object with `--json`).

use crate::engine::{Event, Progress};
use crate::journal::RunId;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Plain mode prints at most one progress line per this interval.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(1);

/// What the progress line shows of one drive: the engine's [`Progress`] (counts, rate,
/// ETA) plus what only a renderer needs (items waiting for a resend, the last retry's
/// reason).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub progress: Progress,
    pub run: Option<RunId>,
    /// Items sent, counting every resend.
    pub sent: u64,
    /// Item sends scheduled again (Σ `RetryScheduled::items`).
    pub retries: u64,
    pub last_retry_reason: Option<String>,
    pub stopped: Option<String>,
    pub finished: bool,
}

impl Tally {
    pub fn apply(&mut self, event: &Event, now: Instant) {
        self.progress.apply(event, now);
        match event {
            Event::RunStarted { run, .. } => {
                *self = Tally {
                    progress: self.progress.clone(),
                    run: Some(*run),
                    ..Tally::default()
                };
            }
            Event::BatchSent { items, .. } => self.sent += *items as u64,
            Event::RetryScheduled { items, reason, .. } => {
                self.retries += *items as u64;
                self.last_retry_reason = Some(reason.clone());
            }
            Event::RunStopped { reason } => self.stopped = Some(reason.clone()),
            Event::RunFinished { .. } => self.finished = true,
            Event::BatchDone { .. } => {}
        }
    }

    /// Items waiting to be sent again. Every send beyond the first sends is a resend,
    /// so what was sent back and not yet resent is still waiting.
    pub fn retrying(&self) -> u64 {
        let resent = self.sent.saturating_sub(self.progress.to_send);
        self.progress.requeued.saturating_sub(resent)
    }

    /// Rows settled in the whole run so far (for the bar's position).
    pub fn position(&self) -> u64 {
        let p = &self.progress;
        (p.settled_before + p.done).min(p.total)
    }

    /// The counts after `done/total`: `148 created, 2 retrying, 312 rows/s, ETA 3s`.
    pub fn details(&self, now: Instant) -> String {
        let p = &self.progress;
        let mut parts = vec![format!("{} created", p.created)];
        if p.exists > 0 {
            parts.push(format!("{} existed", p.exists));
        }
        if p.rejected > 0 {
            parts.push(format!("{} rejected", p.rejected));
        }
        if p.failed > 0 {
            parts.push(format!("{} failed", p.failed));
        }
        let retrying = self.retrying();
        if retrying > 0 {
            parts.push(format!("{retrying} retrying"));
        }
        if let Some(rate) = p.rows_per_sec(now) {
            parts.push(format!("{rate:.0} rows/s"));
        }
        if !self.finished
            && p.remaining() > 0
            && let Some(eta) = p.eta(now)
        {
            parts.push(format!("ETA {}", short_duration(eta)));
        }
        parts.join(", ")
    }

    /// One plain progress line.
    pub fn line(&self, now: Instant) -> String {
        format!(
            "run {}: {}/{} done, {}",
            self.run.map_or_else(|| "?".to_string(), |r| r.to_string()),
            self.position(),
            self.progress.total,
            self.details(now)
        )
    }
}

/// `250ms`, `3s`, `2m05s`, `1h02m`.
pub fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs_f64().ceil() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

enum Mode {
    Bar(ProgressBar),
    Plain {
        last: Option<Instant>,
        last_retry: Option<Instant>,
    },
}

/// Draws the progress of one drive on stderr.
pub struct Renderer {
    tally: Tally,
    mode: Mode,
}

impl Renderer {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Renderer {
        Renderer::with_terminal(std::io::stderr().is_terminal())
    }

    pub fn with_terminal(terminal: bool) -> Renderer {
        let mode = if terminal {
            // Hidden until the run starts, so no empty bar is drawn before it has a
            // length.
            let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::hidden());
            if let Ok(style) =
                ProgressStyle::with_template("run {prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            Mode::Bar(bar)
        } else {
            Mode::Plain {
                last: None,
                last_retry: None,
            }
        };
        Renderer {
            tally: Tally::default(),
            mode,
        }
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Prints a message above the bar (or as its own line).
    pub fn note(&self, text: &str) {
        match &self.mode {
            Mode::Bar(bar) => bar.println(text),
            Mode::Plain { .. } => eprintln!("{text}"),
        }
    }

    pub fn event(&mut self, event: &Event) {
        let now = Instant::now();
        self.tally.apply(event, now);
        match event {
            Event::RunStarted {
                run,
                total,
                to_send,
                settled,
            } => {
                // "Settled" here means nothing left to send: invalid or skipped rows, or
                // rows an earlier invocation of this run already finished.
                let text = format!(
                    "run {run}: started: {total} rows, {to_send} to send, {settled} with nothing to send (invalid, skipped or already done)"
                );
                match &mut self.mode {
                    Mode::Bar(bar) => {
                        eprintln!("{text}");
                        bar.set_prefix(run.to_string());
                        bar.set_length((*total).max(1));
                        bar.set_position(self.tally.position());
                        bar.set_draw_target(ProgressDrawTarget::stderr());
                        bar.enable_steady_tick(Duration::from_millis(200));
                    }
                    Mode::Plain { last, .. } => {
                        eprintln!("{text}");
                        *last = Some(now);
                    }
                }
            }
            Event::RunStopped { reason } => {
                self.note(&format!("stopped: {reason}"));
            }
            Event::RunFinished { .. } => match &mut self.mode {
                Mode::Bar(bar) => {
                    // The final figures as a plain line: it ends with a newline, so
                    // the summary that follows on stdout starts on its own line.
                    bar.finish_and_clear();
                    eprintln!("{}", self.tally.line(now));
                }
                Mode::Plain { last, .. } => {
                    eprintln!("{}", self.tally.line(now));
                    *last = Some(now);
                }
            },
            _ => match &mut self.mode {
                Mode::Bar(bar) => {
                    bar.set_position(self.tally.position());
                    bar.set_message(self.tally.details(now));
                }
                Mode::Plain { last, last_retry } => {
                    // Retries are worth a line of their own, but not one per batch.
                    if let Event::RetryScheduled {
                        items,
                        delay,
                        reason,
                        ..
                    } = event
                        && last_retry.is_none_or(|t| now.duration_since(t) >= PLAIN_INTERVAL)
                    {
                        eprintln!(
                            "run {}: {items} rows to send again in {}: {reason}",
                            self.tally
                                .run
                                .map_or_else(|| "?".to_string(), |r| r.to_string()),
                            short_duration(*delay)
                        );
                        *last_retry = Some(now);
                    }
                    if last.is_none_or(|t| now.duration_since(t) >= PLAIN_INTERVAL) {
                        eprintln!("{}", self.tally.line(now));
                        *last = Some(now);
                    }
                }
            },
        }
    }

    /// Leaves the bar as it is (after an error, so the message is not drawn over).
    pub fn abandon(&self) {
        if let Mode::Bar(bar) = &self.mode
            && !bar.is_finished()
        {
            bar.abandon();
        }
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{BatchId, RunState, StateCounts};

    fn done(created: usize, retrying: usize) -> Event {
        Event::BatchDone {
            batch: BatchId(1),
            created,
            exists: 0,
            rejected: 0,
            retrying,
            failed: 0,
            elapsed: Duration::from_millis(10),
        }
    }

    fn sent(items: usize) -> Event {
        Event::BatchSent {
            batch: BatchId(1),
            items,
        }
    }

    #[test]
    fn tally_counts_and_line() {
        let t0 = Instant::now();
        let mut t = Tally::default();
        t.apply(
            &Event::RunStarted {
                run: RunId(3),
                total: 1000,
                to_send: 1000,
                settled: 0,
            },
            t0,
        );
        for _ in 0..3 {
            t.apply(&sent(50), t0);
        }
        t.apply(&done(50, 0), t0);
        t.apply(&done(48, 2), t0);
        t.apply(
            &Event::RetryScheduled {
                items: 2,
                attempt: 1,
                delay: Duration::from_millis(250),
                reason: "HTTP 500".into(),
            },
            t0,
        );
        assert_eq!(t.progress.done, 98);
        assert_eq!(t.retrying(), 2);
        assert_eq!(t.retries, 2);
        let now = t0 + Duration::from_secs(1);
        assert_eq!(
            t.line(now),
            "run 3: 98/1000 done, 98 created, 2 retrying, 98 rows/s, ETA 10s"
        );
        // The two go out again (after all 1000 first sends) and come back created.
        t.apply(&sent(850), t0);
        t.apply(&sent(2), t0);
        assert_eq!(t.retrying(), 0);
        t.apply(&done(2, 0), t0);
        t.apply(
            &Event::RunFinished {
                run: RunId(3),
                state: RunState::Completed,
                counts: StateCounts::default(),
                elapsed: Duration::from_secs(1),
            },
            t0,
        );
        assert!(!t.line(now).contains("ETA"));
    }

    #[test]
    fn resumed_run_position_counts_earlier_rows() {
        let t0 = Instant::now();
        let mut t = Tally::default();
        t.apply(
            &Event::RunStarted {
                run: RunId(1),
                total: 100,
                to_send: 40,
                settled: 60,
            },
            t0,
        );
        t.apply(&done(10, 0), t0);
        assert_eq!(t.position(), 70);
        assert!(t.line(t0).starts_with("run 1: 70/100 done, 10 created"));
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(short_duration(Duration::from_millis(2100)), "3s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(short_duration(Duration::from_secs(3720)), "1h02m");
    }
}
