#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A run outlives its console, in a real pseudo-terminal against the simulator:
//! - killed (SIGKILL) mid-run: the next console's Home offers to resume it, and the
//!   resume completes with every order created exactly once;
//! - hung up (SIGHUP) mid-run: the console gives the terminal up, the run completes
//!   headless and the process exits; a console started meanwhile shows it driven by
//!   another process, then completed.

mod common;
mod pty_support;

use paypro_console::journal::{Journal, RunState};
use pty_support::{Pty, against, console, orders_csv, submit_from_home};

fn start(dir: &std::path::Path, sim: &common::Sim) -> Pty {
    let mut cmd = console(&dir.join("j.sqlite3"), &dir.join("logs"));
    against(&mut cmd, &sim.url);
    cmd.args(["--concurrency", "1"]);
    cmd.cwd(dir);
    Pty::spawn(cmd, 80, 24)
}

#[test]
fn killed_mid_run_then_resumed_from_home_creates_every_order_once() {
    let sim = common::Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    orders_csv(dir.path(), "kill.csv", "KILL", 400);
    let mut pty = start(dir.path(), &sim);
    submit_from_home(&pty, "kill.csv", "400");
    pty.wait_text("batch 2:");
    pty.signal(libc::SIGKILL);
    pty.wait_exit();
    let held = sim.orders().len();
    assert!(held < 400, "the run ended before the kill: {held}");

    let mut pty = start(dir.path(), &sim);
    pty.wait_text("interrupted,");
    pty.wait_text("R resumes it");
    pty.send("R");
    pty.wait_text("paypro-console · Progress");
    pty.wait_text("FINISHED");
    pty.wait_text("100.0%");
    pty.send("q");
    assert!(pty.wait_exit().success());
    let orders = sim.orders_by_number(); // panics on an order held twice
    assert_eq!(orders.len(), 400);
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let runs = journal.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run.state, RunState::Completed);
}

#[test]
fn a_hang_up_never_stops_a_run() {
    let sim = common::Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    orders_csv(dir.path(), "hup.csv", "HUP", 1000);
    let mut first = start(dir.path(), &sim);
    submit_from_home(&first, "hup.csv", "1,000");
    first.wait_text("batch 2:");
    first.signal(libc::SIGHUP);

    // Meanwhile another console shows the run live, driven by another process.
    let mut second = start(dir.path(), &sim);
    second.wait_text("is being sent by another process");

    // The run goes on headless to its end, then that process exits.
    let status = first.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(first.terminal_restored());
    let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let runs = journal.runs().unwrap();
    assert_eq!(runs[0].run.state, RunState::Completed);
    assert_eq!(runs[0].counts.created, 1000);
    assert_eq!(sim.orders_by_number().len(), 1000);

    // The second console, still open, now shows it completed.
    second.wait_gone("is being sent by another process");
    second.wait_text("✓ completed");
    second.send("q");
    assert!(second.wait_exit().success());
}
