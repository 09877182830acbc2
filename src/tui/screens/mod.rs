//! One module per screen: its state, what its keys do, and how it is drawn.

pub mod confirm;
pub mod home;
pub mod open_file;
pub mod operations;
pub mod preview;
pub mod progress;
pub mod report;
pub mod runs;
pub mod status;

use crate::journal::{RunState, RunSummary};

/// `orders.xlsx` from a journaled source path.
pub fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A run's state as a word a clerk reads, with a glyph so it reads without colour.
pub fn run_state_label(state: RunState) -> &'static str {
    match state {
        RunState::Open => "○ open",
        RunState::Running => "▶ running",
        RunState::Interrupted => "‖ interrupted",
        RunState::Completed => "✓ completed",
        RunState::Cancelled => "× cancelled",
        RunState::StoppedAuth => "× refused",
    }
}

/// `148 created · 2 failed · 3 invalid` (only the states that hold something).
pub fn counts_line(s: &RunSummary) -> String {
    let c = &s.counts;
    let mut parts = Vec::new();
    let created = c.created + c.exists_id_unknown;
    for (n, label) in [
        (created, "created"),
        (c.done, "done"),
        (c.exists_before_run, "existed"),
        (c.rejected, "rejected"),
        (c.failed, "failed"),
        (c.pending + c.in_flight, "to send"),
        (c.invalid, "invalid"),
        (c.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{} {label}", super::widgets::thousands(n)));
        }
    }
    if parts.is_empty() {
        "no rows".into()
    } else {
        parts.join(" · ")
    }
}
