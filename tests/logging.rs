#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Logging of the real binary: every command but `sim` logs to a daily file in
//! `PAYPRO_LOG_DIR` (a private directory it creates), never to the terminal, never a
//! password; a directory that cannot be made costs the log file, not the command.

mod common;

use common::{BIN, Sim, console, run, text, write_orders_csv};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MERCHANT: &str = "logm";
/// Distinctive, with characters that URL encoding changes.
const PASSWORD: &str = "Kx7&log-Pw/unique";

fn samples(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// The log files written into `dir` and their text.
fn log_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let path = entry.path();
            let body = std::fs::read_to_string(&path).unwrap();
            out.push((path, body));
        }
    }
    out
}

/// A line as the log formatter writes it: a timestamp, then a level.
fn looks_like_log_line(line: &str) -> bool {
    let levels = [" TRACE ", " DEBUG ", "  INFO ", "  WARN ", " ERROR "];
    line.starts_with("20") && levels.iter().any(|l| line.contains(l))
        || line.contains("paypro_console::")
}

fn assert_no_log_lines(what: &str, output: &str) {
    for line in output.lines() {
        assert!(
            !looks_like_log_line(line),
            "a log line reached {what}: {line}\n{output}"
        );
    }
}

#[test]
fn validate_logs_to_a_private_directory_and_not_to_the_terminal() {
    let tmp = common::tempdir();
    let logs = tmp.path().join("deep").join("logs");
    let out = Command::new(BIN)
        .args(["validate"])
        .arg(samples("orders.xlsx"))
        .env("PAYPRO_LOG_DIR", &logs)
        .env("PAYPRO_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("200 valid"),
        "{}",
        text(&out.stdout)
    );
    assert_no_log_lines("stdout", &text(&out.stdout));
    assert_no_log_lines("stderr", &text(&out.stderr));
    assert!(logs.is_dir(), "the log directory was created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for dir in [logs.as_path(), tmp.path().join("deep").as_path()] {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        }
    }
    let files = log_files(&logs);
    assert_eq!(files.len(), 1, "one file for today: {files:?}");
    let name = files[0]
        .0
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("paypro-console.") && name.ends_with(".log"),
        "{name}"
    );
}

#[test]
fn submit_logs_its_requests_to_the_file_without_the_password() {
    let sim = Sim::start(&["--merchant", &format!("{MERCHANT}:{PASSWORD}")]);
    let tmp = common::tempdir();
    let journal = tmp.path().join("j.sqlite3");
    let csv = tmp.path().join("orders.csv");
    write_orders_csv(&csv, "LOG", 60);
    let logs = tmp.path().join("logs");
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_MERCHANT_ID", MERCHANT)
        .env("PAYPRO_PASSWORD", PASSWORD)
        .env("PAYPRO_LOG_DIR", &logs)
        // The most the program logs.
        .env("PAYPRO_LOG", "trace")
        .args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["created"], 60, "{stdout}");
    assert_no_log_lines("stdout", &stdout);
    assert_no_log_lines("stderr", &stderr);

    let files = log_files(&logs);
    assert_eq!(files.len(), 1, "{files:?}");
    let log = &files[0].1;
    // The guard flushed everything before the process ended.
    assert!(log.contains("run prepared"), "{log}");
    assert!(log.contains("cpay request"), "{log}");
    assert!(
        log.contains("endpoint=\"cmo\"") || log.contains("endpoint=cmo"),
        "{log}"
    );
    assert!(log.contains("run finished"), "{log}");
    assert!(log.lines().all(looks_like_log_line), "{log}");
    let encoded: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    for secret in [PASSWORD, encoded.as_str(), "Kx7"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn a_log_directory_that_cannot_be_made_costs_the_log_not_the_command() {
    let tmp = common::tempdir();
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let out = Command::new(BIN)
        .args(["validate"])
        .arg(samples("orders.xlsx"))
        .env("PAYPRO_LOG_DIR", blocker.join("logs"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(text(&out.stdout).contains("200 valid"));
    assert_eq!(
        stderr.matches("running without a log file").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("not-a-dir"), "{stderr}");
}

#[test]
fn commands_started_together_share_the_log_directory() {
    let tmp = common::tempdir();
    let logs = tmp.path().join("logs");
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(BIN)
                .args(["validate"])
                .arg(samples("orders.xlsx"))
                .env("PAYPRO_LOG_DIR", &logs)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
    }
    assert_eq!(log_files(&logs).len(), 1);
}
