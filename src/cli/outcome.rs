//! How a headless run ends: the summary (text and the `--json` object), and the exit
//! code scripts rely on: 0 when every valid row ended created or existing, 1 when some
//! were rejected, failed, invalid or left unsent, 2 when the run could not start, 130
//! (SIGINT) or 143 (SIGTERM) when the clerk stopped it.

use crate::engine::RunReport;
use crate::journal::{RunId, RunState, RunTotals};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// Every valid row ended created or existing.
pub const EXIT_OK: u8 = 0;
/// Some rows were rejected, failed, invalid or are still unsent.
pub const EXIT_PROBLEMS: u8 = 1;
/// The run could not start: bad file, bad settings, credentials refused, run locked.
pub const EXIT_NOT_STARTED: u8 = 2;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM (128 + 15).
pub const EXIT_TERMINATED: u8 = 143;

/// The `--json` summary printed once at the end of `submit`, `resume`, `retry` and
/// `demo`. The first ten fields are the documented interface; the rest are extra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub run: RunId,
    /// Every row journaled: valid, invalid and skipped.
    pub rows: u64,
    /// Items sent at least once (in any invocation on this run).
    pub sent: u64,
    pub created: u64,
    pub exists_before_run: u64,
    pub exists_id_unknown: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Not settled yet: pending, plus any left in flight.
    pub pending: u64,
    pub invalid: u64,
    /// Rows an earlier run had already created (cross-run guard); not sent.
    pub skipped: u64,
    /// Mark runs: orders PayPro marked paid or blocked, or refunded.
    pub done: u64,
    /// Item sends in this invocation that failed retryably and were sent again.
    pub retries: u64,
    /// The run's state as journaled (`completed`, `interrupted`, `stopped_auth`, ...).
    pub state: RunState,
    /// The journal file, for `show` and `resume`.
    pub journal: String,
    /// What the run sends (`orders`, `mark-paid`, ...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Summary {
    /// The summary of a drive, from its report (counts are the journal's, read in SQL
    /// when the drive ended).
    pub fn of(report: &RunReport, journal: &Path) -> Summary {
        let totals = RunTotals {
            counts: report.counts,
            sent: report.sent,
        };
        Summary::new(report.run, &totals, report.state, report.retries, journal)
    }

    pub fn new(
        run: RunId,
        totals: &RunTotals,
        state: RunState,
        retries: u64,
        journal: &Path,
    ) -> Summary {
        let counts = &totals.counts;
        Summary {
            run,
            rows: counts.total(),
            sent: totals.sent,
            created: counts.created,
            exists_before_run: counts.exists_before_run,
            exists_id_unknown: counts.exists_id_unknown,
            rejected: counts.rejected,
            failed: counts.failed,
            pending: counts.pending + counts.in_flight,
            invalid: counts.invalid,
            skipped: counts.skipped,
            done: counts.done,
            retries,
            state,
            journal: journal.display().to_string(),
            kind: None,
        }
    }

    /// The same summary, naming the run's kind (a mark run reads "done").
    pub fn with_kind(mut self, kind: &str) -> Summary {
        self.kind = Some(kind.to_string());
        self
    }

    /// Every valid row ended created, existing or done (skipped rows were created or
    /// done by an earlier run, so they count as done).
    pub fn all_done(&self) -> bool {
        self.rejected == 0 && self.failed == 0 && self.pending == 0 && self.invalid == 0
    }

    /// The exit code for a run that started and ended this way.
    pub fn exit_code(&self) -> u8 {
        if self.all_done() {
            EXIT_OK
        } else {
            EXIT_PROBLEMS
        }
    }

    /// The readable summary: counts, then what to do about what is left. `command` is
    /// how to call the program on this journal (`paypro-console --journal PATH`).
    pub fn render_text(&self, command: &str) -> String {
        if self.done > 0 || self.kind_is_mark() {
            return self.render_mark_text(command);
        }
        let mut out = format!(
            "run {}: {}: {} rows, {} sent: {} created, {} already existed, {} existed (id unknown), \
             {} rejected, {} failed, {} pending, {} invalid, {} skipped; {} retried sends\n",
            self.run,
            self.state,
            self.rows,
            self.sent,
            self.created,
            self.exists_before_run,
            self.exists_id_unknown,
            self.rejected,
            self.failed,
            self.pending,
            self.invalid,
            self.skipped,
            self.retries
        );
        self.advice(&mut out, command);
        out
    }

    /// Whether the run's rows end done rather than created.
    fn kind_is_mark(&self) -> bool {
        matches!(
            self.kind.as_deref(),
            Some("mark-paid" | "mark-blocked" | "refunds")
        )
    }

    /// The readable summary of a mark run: done rather than created.
    fn render_mark_text(&self, command: &str) -> String {
        let mut out = format!(
            "run {}: {}: {} rows, {} sent: {} done, {} rejected, {} failed, {} pending, \
             {} invalid, {} done by an earlier run (skipped); {} retried sends\n",
            self.run,
            self.state,
            self.rows,
            self.sent,
            self.done,
            self.rejected,
            self.failed,
            self.pending,
            self.invalid,
            self.skipped,
            self.retries
        );
        self.advice(&mut out, command);
        out
    }

    /// What to do about what is left.
    fn advice(&self, out: &mut String, command: &str) {
        if self.rejected > 0 {
            out.push_str(&format!(
                "{} rejected by PayPro: {command} show {} --state rejected\n",
                self.rejected, self.run
            ));
        }
        if self.invalid > 0 {
            out.push_str(&format!(
                "{} invalid rows were not sent: {command} show {} --state invalid\n",
                self.invalid, self.run
            ));
        }
        if self.failed > 0 {
            out.push_str(&format!(
                "{} failed after repeated errors: {command} retry {}\n",
                self.failed, self.run
            ));
        }
        if self.pending > 0 && self.state != RunState::StoppedAuth {
            out.push_str(&format!(
                "{} not sent yet: {command} resume {}\n",
                self.pending, self.run
            ));
        }
    }
}

/// `ExitCode` from one of the codes above.
pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// Quotes a path for a command line to copy, only when it needs it.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::journal::StateCounts;

    fn summary(counts: StateCounts, state: RunState) -> Summary {
        Summary::new(
            RunId(3),
            &RunTotals { counts, sent: 0 },
            state,
            2,
            Path::new("/tmp/j.sqlite3"),
        )
    }

    #[test]
    fn exit_code_follows_the_rows() {
        let ok = StateCounts {
            created: 5,
            exists_before_run: 1,
            exists_id_unknown: 1,
            skipped: 2,
            ..Default::default()
        };
        assert_eq!(summary(ok, RunState::Completed).exit_code(), EXIT_OK);
        for bad in [
            StateCounts { rejected: 1, ..ok },
            StateCounts { failed: 1, ..ok },
            StateCounts { invalid: 1, ..ok },
            StateCounts { pending: 1, ..ok },
            StateCounts { in_flight: 1, ..ok },
        ] {
            assert_eq!(
                summary(bad, RunState::Completed).exit_code(),
                EXIT_PROBLEMS,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn json_has_the_documented_fields() {
        let s = summary(
            StateCounts {
                created: 4,
                pending: 1,
                in_flight: 1,
                invalid: 2,
                ..Default::default()
            },
            RunState::Interrupted,
        );
        let v = serde_json::to_value(&s).unwrap();
        for key in [
            "run",
            "rows",
            "sent",
            "created",
            "exists_before_run",
            "exists_id_unknown",
            "rejected",
            "failed",
            "pending",
            "invalid",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["run"], 3);
        assert_eq!(v["rows"], 8);
        assert_eq!(v["pending"], 2);
        assert_eq!(v["state"], "interrupted");
    }

    #[test]
    fn text_says_what_to_do() {
        let s = summary(
            StateCounts {
                created: 4,
                rejected: 1,
                failed: 2,
                pending: 3,
                ..Default::default()
            },
            RunState::Interrupted,
        );
        let text = s.render_text("paypro-console --journal /tmp/j.sqlite3");
        assert!(text.contains("show 3 --state rejected"), "{text}");
        assert!(text.contains("retry 3"), "{text}");
        assert!(text.contains("resume 3"), "{text}");
        assert!(text.contains("--journal /tmp/j.sqlite3"), "{text}");
    }

    #[test]
    fn mark_runs_read_done() {
        let s = summary(
            StateCounts {
                done: 7,
                rejected: 2,
                skipped: 1,
                ..Default::default()
            },
            RunState::Completed,
        )
        .with_kind("mark-paid");
        let text = s.render_text("paypro-console");
        assert!(text.contains("7 done, 2 rejected"), "{text}");
        assert!(
            text.contains("1 done by an earlier run (skipped)"),
            "{text}"
        );
        assert!(text.contains("show 3 --state rejected"), "{text}");
        assert_eq!(s.exit_code(), EXIT_PROBLEMS);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            (v["done"].as_u64(), v["kind"].as_str()),
            (Some(7), Some("mark-paid"))
        );
        let all = summary(
            StateCounts {
                done: 3,
                ..Default::default()
            },
            RunState::Completed,
        );
        assert_eq!(all.exit_code(), EXIT_OK);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/tmp/a.sqlite3"), "/tmp/a.sqlite3");
        assert_eq!(shell_quote("/tmp/my file"), "'/tmp/my file'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
