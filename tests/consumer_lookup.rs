#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `consumer CODE` and `consumer --file FILE` against the simulator (a child process on
//! 127.0.0.1): consumers created by a run of ours are looked up with `gcd`; what PayPro
//! returns is journaled and written to the look-up's workbook (codes and mobiles as
//! text with their zeros, Created On a real date), codes it does not know go to "Not
//! found" with its reason, and the exit code says whether every code was found.

mod common;

use calamine::{Data, Reader, open_workbook_auto};
use common::{Sim, console, run, run_ok, summary, text};
use paypro_console::journal::{Journal, LookupId};

#[test]
fn consumers_are_looked_up_into_the_journal_and_the_workbook() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let consumers = dir.path().join("consumers.csv");
    std::fs::write(
        &consumers,
        "ConsumerID,Name,Mobile,Email,Address\n\
         123456780,Usman Ali,03001234567,usman@example.pk,House 1 Lahore\n\
         000777,Sana Raza,,,\n",
    )
    .unwrap();
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", consumers.to_str().unwrap(), "--yes", "--json"]);
    assert_eq!(summary(&run_ok(cmd))["created"], 2);

    // One code: printed.
    let mut cmd = console(&journal, &sim);
    cmd.args(["consumer", "0044123456780"]);
    let out = text(&run_ok(cmd).stdout);
    assert!(out.contains("Name              Usman Ali"), "{out}");
    assert!(out.contains("Mobile            03001234567"), "{out}");

    // A file of them: the workbook, the journal, the JSON.
    let codes = dir.path().join("codes.csv");
    std::fs::write(
        &codes,
        "Consumer Code\n0044123456780\n0044000777\n00449999\n0044123456780\n",
    )
    .unwrap();
    let book = dir.path().join("looked-up.xlsx");
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "consumer",
        "--file",
        codes.to_str().unwrap(),
        "-o",
        book.to_str().unwrap(),
        "--json",
    ]);
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one was not found: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("repeats row 2; looked up once"));
    let s = summary(&out);
    assert_eq!(
        (s["found"].as_u64(), s["not_found"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(s["consumers"][1]["consumer_code"], "000777");

    let mut wb = open_workbook_auto(&book).unwrap();
    assert_eq!(wb.sheet_names(), ["Consumers", "Not found", "Summary"]);
    let found = wb.worksheet_range("Consumers").unwrap();
    assert_eq!(found.height(), 3);
    let cell = |r: usize, c: usize| found.get((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(cell(1, 0), Data::Float(2.0), "the file's row");
    assert_eq!(cell(1, 2), Data::String("0044123456780".into()));
    assert_eq!(cell(1, 5), Data::String("Usman Ali".into()));
    assert_eq!(
        cell(1, 6),
        Data::String("03001234567".into()),
        "mobile keeps its zero"
    );
    assert_eq!(
        cell(2, 3),
        Data::String("000777".into()),
        "code keeps its zeros"
    );
    assert!(
        matches!(cell(1, 9), Data::DateTime(_)),
        "Created On is a date: {:?}",
        cell(1, 9)
    );
    let missing = wb.worksheet_range("Not found").unwrap();
    assert_eq!(missing.height(), 2);
    assert_eq!(missing.get((1, 1)), Some(&Data::String("00449999".into())));
    assert_eq!(missing.get((1, 2)), Some(&Data::String("03".into())));
    assert!(
        missing
            .get((1, 3))
            .unwrap()
            .to_string()
            .contains("no consumer with this code")
    );

    let j = Journal::open(&journal).unwrap();
    let records = j
        .consumer_records(LookupId(s["lookup"].as_i64().unwrap()))
        .unwrap();
    assert_eq!(records.len(), 3);
    assert!(records[0].found && records[0].name.as_deref() == Some("Usman Ali"));
    assert!(!records[2].found);

    // The workbook is never overwritten unasked.
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "consumer",
        "--file",
        codes.to_str().unwrap(),
        "-o",
        book.to_str().unwrap(),
    ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
}
