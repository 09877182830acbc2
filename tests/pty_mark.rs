#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Marking a sheet paid in the console, in a real pseudo-terminal against the
//! simulator: Home, `m` Operations, "Mark orders paid", the file browser, the preview
//! of the list, Confirm (which says it cannot be undone), `y`, Progress to the end,
//! the run in Runs as done; every order paid at the simulator, once; terminal restored.

mod common;
mod pty_support;

use pty_support::{Pty, against, console};

#[test]
fn a_sheet_is_marked_paid_from_the_console() {
    let sim = common::Sim::start(&["--latency-ms", "150"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    // The orders to mark, created by a headless run of ours.
    let orders = dir.path().join("november.csv");
    common::write_orders_csv(&orders, "PTYM", 120);
    let mut cmd = common::console(&journal, &sim);
    cmd.args(["submit", orders.to_str().unwrap(), "--yes", "--json"]);
    assert_eq!(common::summary(&common::run_ok(cmd))["created"], 120);
    let list = dir.path().join("paid-at-counter.csv");
    let numbers: Vec<String> = (1..=120).map(|i| format!("PTYM-{i:05}")).collect();
    std::fs::write(&list, format!("Order No\n{}\n", numbers.join("\n"))).unwrap();

    let mut cmd = console(&journal, &dir.path().join("logs"));
    against(&mut cmd, &sim.url);
    cmd.cwd(dir.path());
    let mut pty = Pty::spawn(cmd, 80, 24);
    pty.wait_text("paypro-console · Home");
    pty.send("m");
    pty.wait_text("paypro-console · Operations");
    pty.wait_text("> Mark orders paid");
    pty.enter();
    pty.wait_text("(a sheet of mark-paid)");
    pty.send("paid-at");
    pty.wait_text("Filter  paid-at");
    pty.enter();
    // Read as a mark-paid list at once: no kind to choose.
    pty.wait_text("120 rows");
    pty.send("s");
    pty.wait_text("Mark 120 orders PAID");
    assert!(
        pty.screen().contains("cannot be undone"),
        "{}",
        pty.screen()
    );
    assert!(
        sim.orders().iter().all(|o| o["OrderStatus"] == "Unpaid"),
        "nothing is sent before y"
    );
    pty.send("y");
    pty.wait_text("paypro-console · Progress");
    pty.wait_text("FINISHED");
    pty.wait_text("✓ 120 marked paid");

    pty.send("r");
    pty.wait_text("Every run in the journal");
    pty.wait_text("mark-paid");
    pty.wait_text("120 done");
    pty.send("q");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(pty.terminal_restored());

    let held = sim.orders_by_number();
    assert!(numbers.iter().all(|n| held[n]["OrderStatus"] == "Paid"));
    // One call carried them all (120 order numbers fit in 4000 characters).
    let (status, body) = common::http("GET", &format!("{}/__sim/mark-calls", sim.url), None);
    assert_eq!(status, 200);
    let calls: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["Orders"], 120);
}
