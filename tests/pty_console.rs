#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The console binary in a real pseudo-terminal against the simulator: the first frame
//! before anything else, the file browser, a preview of `samples/orders-with-errors.xlsx`
//! with its invalid rows marked and filtered, help, resize and "terminal too small",
//! and a quit that gives the terminal back.

mod common;
mod pty_support;

use pty_support::{Pty, against, console, samples};

#[test]
fn preview_marks_and_filters_invalid_rows_and_quit_restores_the_terminal() {
    let sim = common::Sim::start(&[]);
    let dir = common::tempdir();
    let mut cmd = console(&dir.path().join("j.sqlite3"), &dir.path().join("logs"));
    against(&mut cmd, &sim.url);
    cmd.cwd(samples());
    let mut pty = Pty::spawn(cmd, 80, 24);
    pty.wait_text("paypro-console · Home");
    pty.wait_text("No runs yet");
    pty.send("o");
    pty.wait_text("orders-with-errors.xlsx");
    pty.send("with");
    pty.wait_gone("consumers.xlsx");
    pty.enter();
    // The kind, pre-selected from the headers.
    pty.wait_text("orders  ← from the headers");
    pty.enter();
    pty.wait_text("invalid");
    let screen = pty.screen();
    assert!(screen.contains("orders-with-errors.xlsx"), "{screen}");
    // Invalid cells carry the glyph, and REVERSED even under NO_COLOR.
    let (row, col) = pty
        .with_screen(|s| find(s, "!10.005"))
        .expect("an invalid cell");
    assert!(
        pty.with_screen(|s| s.cell(row, col).unwrap().inverse()),
        "{}",
        pty.screen()
    );

    pty.send("e");
    pty.wait_text("invalid rows only");
    // Every row of the table is an invalid one.
    let rows: Vec<String> = pty.with_screen(|s| {
        s.contents()
            .lines()
            .skip(5)
            .take_while(|l| !l.contains("Selected row"))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    });
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|l| l.starts_with('!')), "{rows:#?}");

    // Help is generated from the key map of the screen.
    pty.send("?");
    pty.wait_text("Keys: Preview");
    pty.wait_text("read the file again after fixing it in Excel");
    pty.esc();
    pty.wait_gone("Keys: Preview");

    // Resizing redraws; below 80x24 the console says so.
    pty.resize(60, 20);
    pty.wait_text("terminal too small");
    pty.resize(100, 30);
    pty.wait_text("invalid rows only");

    pty.send("q");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(pty.terminal_restored(), "the terminal was not given back");
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let dir = common::tempdir();
    let cmd = console(&dir.path().join("j.sqlite3"), &dir.path().join("logs"));
    let mut pty = Pty::spawn(cmd, 80, 24);
    pty.wait_text("paypro-console · Home");
    pty.send("\x03");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(pty.terminal_restored());
}

/// Row and column of `needle` on the screen.
fn find(s: &vt100::Screen, needle: &str) -> Option<(u16, u16)> {
    for (row, line) in s.contents().lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let col = line[..byte].chars().count();
            return Some((u16::try_from(row).ok()?, u16::try_from(col).ok()?));
        }
    }
    None
}
