//! Renders the engine's [`Event`]s for the headless commands: a live progress bar
//! (indicatif) when stderr is a terminal, otherwise plain lines at most once a second,
//! so a log of a 20,000-row run stays readable. The figures are the engine's
//! [`Progress`]; this file only words them. Progress always goes to stderr: stdout
//! carries the summary (and only the JSON object with `--json`).

use super::out;
use crate::engine::{Event, Progress, StopReason};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Plain mode prints at most one progress line per this interval.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(1);

/// The counts after `done/total`: `148 created, 2 retrying, 312 rows/s, ETA 3s`.
pub fn details(p: &Progress, now: Instant) -> String {
    use crate::domain::Kind;
    let mut parts = vec![match p.kind {
        Some(Kind::MarkPaid) => format!("{} marked paid", p.marked),
        Some(Kind::MarkBlocked) => format!("{} marked blocked", p.marked),
        Some(Kind::Refunds) => format!("{} refunded", p.marked),
        _ => format!("{} created", p.created),
    }];
    if p.exists > 0 {
        parts.push(format!("{} existed", p.exists));
    }
    if p.rejected > 0 {
        parts.push(format!("{} rejected", p.rejected));
    }
    if p.failed > 0 {
        parts.push(format!("{} failed", p.failed));
    }
    let retrying = p.retrying();
    if retrying > 0 {
        parts.push(format!("{retrying} retrying"));
    }
    if p.paused {
        parts.push("paused".to_string());
    } else if p.pausing {
        parts.push("pausing".to_string());
    }
    if let Some(rate) = p.rows_per_sec(now) {
        parts.push(format!("{rate:.0} rows/s"));
    }
    if p.finished.is_none()
        && p.remaining() > 0
        && let Some(eta) = p.eta(now)
    {
        parts.push(format!("ETA {}", short_duration(eta)));
    }
    parts.join(", ")
}

fn run_name(p: &Progress) -> String {
    p.run.map_or_else(|| "?".to_string(), |r| r.to_string())
}

/// One plain progress line.
pub fn line(p: &Progress, now: Instant) -> String {
    format!(
        "run {}: {}/{} done, {}",
        run_name(p),
        p.position(),
        p.total,
        details(p, now)
    )
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
    progress: Progress,
    mode: Mode,
    detached: bool,
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
            progress: Progress::new(),
            mode,
            detached: false,
        }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Prints a message above the bar (or as its own line).
    pub fn note(&self, text: &str) {
        match &self.mode {
            Mode::Bar(bar) => bar.println(text),
            Mode::Plain { .. } => out::errln(text),
        }
    }

    /// The terminal is gone: draw nothing more (plain lines go through [`out`], which
    /// is detached already).
    pub fn detach(&mut self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        self.detached = true;
    }

    pub fn event(&mut self, event: &Event) {
        let now = Instant::now();
        self.progress.apply(event, now);
        match event {
            Event::RunStarted {
                run,
                total,
                to_send,
                settled,
                ..
            } => {
                // "Settled" here means nothing left to send: invalid or skipped rows, or
                // rows an earlier invocation of this run already finished.
                out::errln(&format!(
                    "run {run}: started: {total} rows, {to_send} to send, {settled} with nothing to send (invalid, skipped or already done)"
                ));
                let detached = self.detached;
                match &mut self.mode {
                    Mode::Bar(bar) => {
                        bar.set_prefix(run.to_string());
                        bar.set_length((*total).max(1));
                        bar.set_position(self.progress.position());
                        if !detached {
                            bar.set_draw_target(ProgressDrawTarget::stderr());
                            bar.enable_steady_tick(Duration::from_millis(200));
                        }
                    }
                    Mode::Plain { last, .. } => *last = Some(now),
                }
            }
            Event::Stopping { reason } => match reason {
                // The command that cancelled has said so already.
                StopReason::Cancelled => {}
                other => self.note(&format!("stopped: {other}")),
            },
            Event::Paused => self.note(&format!(
                "run {}: paused: nothing on the wire",
                run_name(&self.progress)
            )),
            Event::Resumed => self.note(&format!("run {}: resumed", run_name(&self.progress))),
            Event::RunFinished { .. } => {
                if let Mode::Bar(bar) = &self.mode {
                    // The final figures as a plain line: it ends with a newline, so the
                    // summary that follows on stdout starts on its own line.
                    bar.finish_and_clear();
                }
                out::errln(&line(&self.progress, now));
                if let Mode::Plain { last, .. } = &mut self.mode {
                    *last = Some(now);
                }
            }
            _ => self.update(event, now),
        }
    }

    fn update(&mut self, event: &Event, now: Instant) {
        let progress = &self.progress;
        match &mut self.mode {
            Mode::Bar(bar) => {
                bar.set_position(progress.position());
                bar.set_message(details(progress, now));
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
                    out::errln(&format!(
                        "run {}: {items} rows to send again in {}: {reason}",
                        run_name(progress),
                        short_duration(*delay)
                    ));
                    *last_retry = Some(now);
                }
                if last.is_none_or(|t| now.duration_since(t) >= PLAIN_INTERVAL) {
                    out::errln(&line(progress, now));
                    *last = Some(now);
                }
            }
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
    use crate::domain::Kind;
    use crate::engine::{ItemRef, ItemUpdate};
    use crate::journal::{BatchId, ItemId, ItemState, RunId, RunState, StateCounts};

    fn done(created: usize, retrying: usize) -> Event {
        let update = |state| ItemUpdate {
            id: ItemId(1),
            row: 2,
            key: "K".into(),
            state,
            message: None,
            connectpay_id: None,
        };
        let mut items = vec![update(ItemState::Created); created];
        items.extend(vec![update(ItemState::Pending); retrying]);
        Event::BatchDone {
            batch: BatchId(1),
            items,
            outcome: "ok".into(),
            elapsed: Duration::from_millis(10),
        }
    }

    fn sent(items: usize) -> Event {
        Event::BatchSent {
            batch: BatchId(1),
            items: vec![
                ItemRef {
                    id: ItemId(1),
                    row: 2,
                    key: "K".into(),
                };
                items
            ],
        }
    }

    fn started(total: u64, to_send: u64) -> Event {
        Event::RunStarted {
            run: RunId(3),
            kind: Kind::Orders,
            total,
            to_send,
            settled: total - to_send,
            batch_size: 50,
            concurrency: 4,
        }
    }

    #[test]
    fn counts_and_line() {
        let t0 = Instant::now();
        let mut p = Progress::new();
        p.apply(&started(1000, 1000), t0);
        for _ in 0..3 {
            p.apply(&sent(50), t0);
        }
        p.apply(&done(50, 0), t0);
        p.apply(&done(48, 2), t0);
        p.apply(
            &Event::RetryScheduled {
                items: 2,
                attempt: 1,
                delay: Duration::from_millis(250),
                reason: "HTTP 500".into(),
            },
            t0,
        );
        assert_eq!(p.done, 98);
        assert_eq!(p.retrying(), 2);
        assert_eq!(p.retries, 2);
        let now = t0 + Duration::from_secs(1);
        assert_eq!(
            line(&p, now),
            "run 3: 98/1000 done, 98 created, 2 retrying, 98 rows/s, ETA 10s"
        );
        // The two go out again (after all 1000 first sends) and come back created.
        p.apply(&sent(850), t0);
        p.apply(&sent(2), t0);
        assert_eq!(p.retrying(), 0);
        p.apply(&done(2, 0), t0);
        p.apply(&Event::Paused, t0);
        assert!(line(&p, now).contains("paused"), "{}", line(&p, now));
        p.apply(
            &Event::RunFinished {
                run: RunId(3),
                state: RunState::Completed,
                counts: StateCounts::default(),
                elapsed: Duration::from_secs(1),
            },
            t0,
        );
        assert!(!line(&p, now).contains("ETA"));
    }

    #[test]
    fn resumed_run_position_counts_earlier_rows() {
        let t0 = Instant::now();
        let mut p = Progress::new();
        p.apply(&started(100, 40), t0);
        p.apply(&done(10, 0), t0);
        assert_eq!(p.position(), 70);
        assert!(line(&p, t0).starts_with("run 3: 70/100 done, 10 created"));
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(short_duration(Duration::from_millis(2100)), "3s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(short_duration(Duration::from_secs(3720)), "1h02m");
    }
}
