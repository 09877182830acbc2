#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A whole run in the console, in a real pseudo-terminal against the simulator: open
//! `samples/orders.xlsx`, confirm, pause (nothing more is sent while paused: the
//! simulator's order count holds), continue, watch it reach 100%, see the run in Runs,
//! quit, terminal restored; every order created exactly once.

mod common;
mod pty_support;

use pty_support::{Pty, against, console, samples, submit_from_home};
use std::time::{Duration, Instant};

#[test]
fn open_confirm_pause_continue_finish_and_see_it_in_runs() {
    // One request at a time, each slow enough to pause between batches.
    let sim = common::Sim::start(&["--latency-ms", "400"]);
    let dir = common::tempdir();
    let mut cmd = console(&dir.path().join("j.sqlite3"), &dir.path().join("logs"));
    against(&mut cmd, &sim.url);
    cmd.args(["--concurrency", "1"]);
    cmd.cwd(samples());
    let mut pty = Pty::spawn(cmd, 80, 24);
    submit_from_home(&pty, "orders.x", "200");
    pty.wait_text("SENDING");
    pty.wait_text("batch 1:");
    pty.send("p");
    pty.wait_text("PAUSED");
    // Paused: nothing is on the wire and nothing more reaches the simulator. Checked
    // against the simulator twice over a few request latencies.
    let held = sim.orders().len();
    assert!(held < 200, "paused after everything was sent: {held}");
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        assert_eq!(
            sim.orders().len(),
            held,
            "an order was created while paused"
        );
        assert!(pty.screen().contains("PAUSED"));
        std::thread::sleep(Duration::from_millis(100));
    }
    pty.send("p");
    pty.wait_text("100.0%");
    pty.wait_text("FINISHED");
    let screen = pty.screen();
    assert!(screen.contains("200 created"), "{screen}");
    assert!(screen.contains("0 in flight"), "{screen}");

    // The run is in Runs, completed.
    pty.send("r");
    pty.wait_text("Every run in the journal");
    pty.wait_text("✓ completed");
    pty.enter();
    pty.wait_text("✓ created");
    pty.esc();
    pty.wait_text("Every run in the journal");

    pty.send("q");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(pty.terminal_restored());
    let orders = sim.orders_by_number();
    assert_eq!(orders.len(), 200);
}
