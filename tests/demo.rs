#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console demo`: runs to completion with exit 0 against its in-process
//! simulator, every sample row settled and at least one injected fault retried; the
//! journal it names holds the run.

mod common;

use common::{summary, text};
use std::process::{Command, Stdio};

#[test]
fn demo_completes_with_a_retry_and_names_its_journal() {
    let dir = common::tempdir();
    let journal = dir.path().join("demo.sqlite3");
    let out = Command::new(common::BIN)
        .env(
            "PAYPRO_LOG_DIR",
            std::env::temp_dir().join("paypro-console-test-logs"),
        )
        .args([
            "--journal",
            journal.to_str().unwrap(),
            "demo",
            "--headless",
            "--json",
        ])
        // The demo needs none of these, and must not write into PAYPRO_JOURNAL.
        .env("PAYPRO_JOURNAL", dir.path().join("not-this.sqlite3"))
        .env_remove("PAYPRO_PASSWORD")
        .env_remove("PAYPRO_BASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let s = summary(&out);
    assert_eq!(s["rows"], 200, "{s}");
    assert_eq!(s["sent"], 200, "{s}");
    let settled = s["created"].as_u64().unwrap()
        + s["exists_before_run"].as_u64().unwrap()
        + s["exists_id_unknown"].as_u64().unwrap();
    assert_eq!(settled, 200, "{s}");
    for key in ["rejected", "failed", "pending", "invalid"] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    assert!(s["retries"].as_u64().unwrap() >= 1, "{s}");
    assert!(
        stderr.contains("simulator at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("retried after injected faults"), "{stderr}");
    assert!(stderr.contains(journal.to_str().unwrap()), "{stderr}");
    assert!(!dir.path().join("not-this.sqlite3").exists());

    // The journal it names holds the run, and a second demo starts a fresh simulator
    // (nothing is skipped as "created by an earlier run").
    let j = paypro_console::journal::Journal::open(&journal).unwrap();
    assert_eq!(j.runs().unwrap().len(), 1);
    let again = Command::new(common::BIN)
        .env(
            "PAYPRO_LOG_DIR",
            std::env::temp_dir().join("paypro-console-test-logs"),
        )
        .args([
            "--journal",
            journal.to_str().unwrap(),
            "demo",
            "--headless",
            "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(summary(&again)["skipped"], 0);
}

#[test]
fn demo_without_a_journal_keeps_a_temporary_one_and_says_where() {
    let out = Command::new(common::BIN)
        .env(
            "PAYPRO_LOG_DIR",
            std::env::temp_dir().join("paypro-console-test-logs"),
        )
        .args(["demo", "--headless"])
        .env_remove("PAYPRO_JOURNAL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("completed"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("demo: the journal is "))
        .unwrap_or_else(|| panic!("no journal line in {stdout}"));
    let path = line
        .trim_start_matches("demo: the journal is ")
        .trim_end_matches(" (kept); look inside with:");
    let path = std::path::Path::new(path);
    assert!(path.is_file(), "{path:?}");
    // Tidy up what the demo deliberately left.
    if let Some(parent) = path.parent() {
        std::fs::remove_dir_all(parent).unwrap();
    }
}
