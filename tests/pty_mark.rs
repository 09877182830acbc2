#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Marking a sheet paid in the console, in a real pseudo-terminal against the
//! simulator: Home, `m` Operations, "Mark orders paid", the file browser, the preview
//! of the list, Confirm (which says it cannot be undone), `y`, Progress to the end,
//! the run in Runs as done and its results exported (`x`); then the orders run's
//! status refresh (`s`) shows them all paid, and the Report screen (`p`) fetches and
//! exports the paid-orders report; every order paid at the simulator, once; terminal
//! restored.

mod common;
mod pty_support;

use pty_support::{Pty, against, console};

#[test]
fn a_sheet_is_marked_paid_from_the_console() {
    let sim = common::Sim::start(&["--latency-ms", "40"]);
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
    // The mark run's results, written through the workbook writer.
    pty.send("x");
    pty.wait_text("run-2-results.xlsx");
    pty.enter();
    pty.wait_gone("run-2-results.xlsx");
    assert!(dir.path().join("run-2-results.xlsx").is_file());

    // Which orders are paid now? The orders run's status refresh says all of them.
    pty.send("\x1b[B"); // Down: the orders run
    pty.send("s");
    pty.wait_text("paypro-console · Status");
    pty.wait_text("done (journaled as check");
    let screen = pty.screen();
    assert!(screen.contains("120/120 looked up"), "{screen}");
    assert!(screen.contains("paid     120"), "{screen}");
    assert!(screen.contains("unpaid   0"), "{screen}");
    pty.esc();
    pty.wait_text("Every run in the journal");
    pty.esc();
    pty.wait_text("paypro-console · Progress");
    pty.esc();
    pty.wait_text("paypro-console · Home");

    // The paid-orders report of this month so far lists them; exported.
    pty.send("p");
    pty.wait_text("paypro-console · Report");
    pty.enter();
    pty.wait_text("120 paid orders");
    pty.send("x");
    pty.wait_text("paid-orders-demo-");
    pty.enter();
    let written = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("paid-orders-demo-")
        });
    assert!(written, "the report's workbook is in the start folder");
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
