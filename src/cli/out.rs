//! The headless commands' own writing to the terminal, which must never stop a run:
//! a write to a closed stdout or stderr (`submit … 2>&1 | head -1`, a terminal that
//! went away) is dropped, never a panic; and after a hang-up (SIGHUP: the SSH session
//! dropped) nothing more is written at all — the run goes on to its end, journaled
//! and logged to the log file as always.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static DETACHED: AtomicBool = AtomicBool::new(false);

/// The terminal is gone: write nothing more to it.
pub fn detach() {
    DETACHED.store(true, Ordering::SeqCst);
}

pub fn detached() -> bool {
    DETACHED.load(Ordering::SeqCst)
}

/// Writes `text` to stderr as it is; a failure is ignored.
pub fn err(text: &str) {
    if detached() {
        return;
    }
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.flush();
}

/// Writes `text` and a line break to stderr; a failure is ignored.
pub fn errln(text: &str) {
    err(&format!("{text}\n"));
}

/// Writes `text` to stdout as it is; a failure is ignored.
pub fn out(text: &str) {
    if detached() {
        return;
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_never_panics() {
        // Whatever the test harness does with the streams, these return.
        err("");
        out("");
    }
}
