#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console submit` (and `runs`, `show`, `resume` after Ctrl-C) driven as a
//! clerk or a script would, against `paypro-console sim`: what reaches the simulator,
//! what the journal records, what is printed, and the exit codes.

mod common;

use common::{Sim, console, run, show, summary, text};
use paypro_console::journal::{Journal, RunId};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

fn samples(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn happy_path_sends_every_sample_order_once_in_batches_of_at_most_50() {
    let sim = Sim::start(&["--latency-ms", "5"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", &samples("orders.xlsx"), "--yes", "--json"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let s = summary(&out);
    assert_eq!(s["run"], 1);
    assert_eq!(s["rows"], 200);
    assert_eq!(s["sent"], 200);
    assert_eq!(s["created"], 200);
    for key in [
        "exists_before_run",
        "exists_id_unknown",
        "rejected",
        "failed",
        "pending",
        "invalid",
    ] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    // The preview and the progress went to stderr, leaving stdout to the JSON.
    assert!(
        stderr.contains("200 rows: 200 valid, 0 invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("total amount"), "{stderr}");
    assert!(stderr.contains("run 1: started"), "{stderr}");

    // The simulator holds each order once, with the id and fee the journal recorded.
    let held = sim.orders_by_number();
    assert_eq!(held.len(), 200);
    let rows = show(&journal, &sim, 1);
    assert_eq!(rows.len(), 200);
    for r in &rows {
        let key = r["key"].as_str().unwrap();
        let o = &held[key];
        assert_eq!(r["state"], "created", "{r}");
        assert_eq!(r["connectpay_id"], o["ConnectPayId"], "{r}");
        assert_eq!(o["CreateRequests"], 1, "{o}");
        assert_eq!(r["attempts"], 1, "{r}");
        assert_eq!(r["status_code"], "00", "{r}");
        let fee: f64 = r["fee"].as_str().unwrap().parse().unwrap();
        assert!(fee > 0.0, "{r}");
        for field in [
            "row",
            "key",
            "state",
            "connectpay_id",
            "fee",
            "status_code",
            "message",
            "attempts",
        ] {
            assert!(r.get(field).is_some(), "{field} missing in {r}");
        }
    }

    // Every request held at most 50 items (read from the journal's attempt records).
    let j = Journal::open(&journal).unwrap();
    let mut batches = HashSet::new();
    for item in j.items(RunId(1), None).unwrap() {
        for a in j.item_attempts(item.id).unwrap() {
            assert!(a.batch_size <= 50, "{a:?}");
            assert_eq!(a.endpoint, "cmo", "{a:?}");
            batches.insert(a.batch);
        }
    }
    assert_eq!(batches.len(), 4);

    // `runs` lists it as completed; `show --state` filters.
    let listed = common::runs(&journal, &sim);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "completed");
    assert_eq!(listed[0]["counts"]["created"], 200);
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--state", "rejected", "--json"]);
    let none: Vec<Value> = serde_json::from_slice(&run(cmd).stdout).unwrap();
    assert!(none.is_empty());

    // Submitting the same sheet again sends nothing: every row was created by run 1.
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", &samples("orders.xlsx"), "--yes", "--json"]);
    let again = run(cmd);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let s = summary(&again);
    assert_eq!(
        (s["skipped"].clone(), s["sent"].clone()),
        (json!(200), json!(0))
    );
    assert!(text(&again.stderr).contains("200 already created by an earlier run"));
    let skipped = show(&journal, &sim, 2);
    assert_eq!(skipped[0]["state"], "skipped");
    assert!(
        skipped[0]["message"]
            .as_str()
            .unwrap()
            .contains("created in run 1"),
        "{}",
        skipped[0]
    );
    assert!(sim.orders().iter().all(|o| o["CreateRequests"] == 1));

    // --allow-resend sends them anyway; PayPro answers 01 and nothing is created twice.
    // Run 1 of this journal sent them, so they did not "exist before the run": they
    // are ours (their ids are in run 1).
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        &samples("orders.xlsx"),
        "--yes",
        "--json",
        "--allow-resend",
    ]);
    let resent = run(cmd);
    assert_eq!(resent.status.code(), Some(0), "{}", text(&resent.stderr));
    let s = summary(&resent);
    assert_eq!(
        (
            s["skipped"].clone(),
            s["sent"].clone(),
            s["exists_before_run"].clone(),
            s["exists_id_unknown"].clone()
        ),
        (json!(0), json!(200), json!(0), json!(200))
    );
    assert!(text(&resent.stderr).contains("will be sent again"));
    assert_eq!(sim.orders().len(), 200);
    assert!(sim.orders().iter().all(|o| o["CreateRequests"] == 2));
}

#[test]
fn invalid_rows_are_journaled_not_sent_and_exit_1() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", &samples("orders-with-errors.xlsx"), "--yes"]);
    let out = run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("invalid rows were not sent"), "{stdout}");
    assert!(stdout.contains("show 1 --state invalid"), "{stdout}");
    let invalid = {
        let mut cmd = console(&journal, &sim);
        cmd.args(["show", "1", "--state", "invalid", "--json"]);
        serde_json::from_slice::<Vec<Value>>(&run(cmd).stdout).unwrap()
    };
    assert!(!invalid.is_empty());
    for r in &invalid {
        assert_eq!(r["attempts"], 0, "{r}");
        assert!(!r["message"].as_str().unwrap().is_empty(), "{r}");
    }
    // The simulator holds exactly the rows the journal created, each once (a row whose
    // order number repeats an earlier row's is invalid and was not sent).
    let created: HashSet<String> = show(&journal, &sim, 1)
        .iter()
        .filter(|r| r["state"] == "created")
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    let held: HashSet<String> = sim.orders_by_number().into_keys().collect();
    assert!(!created.is_empty());
    assert_eq!(created, held);
}

#[test]
fn runs_that_cannot_start_exit_2_and_send_nothing() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");

    // A file that is not there.
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", "/nonexistent/orders.xlsx", "--yes"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/orders.xlsx"));

    // No terminal to confirm on and no --yes.
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", &samples("orders.csv")]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("pass --yes"),
        "{}",
        text(&out.stderr)
    );

    // No base URL anywhere.
    let mut cmd = console(&journal, &sim);
    cmd.env_remove("PAYPRO_BASE_URL")
        .args(["submit", &samples("orders.csv"), "--yes"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--base-url"),
        "{}",
        text(&out.stderr)
    );

    // A profile file holding a password is refused, naming the key, not the value.
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(
        &profiles,
        "[default]\nmerchant_id = \"demo\"\npassword = \"pr0file-s3cret\"\n",
    )
    .unwrap();
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_CONFIG", &profiles)
        .args(["submit", &samples("orders.csv"), "--yes"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("profiles never hold one"), "{stderr}");
    assert!(!stderr.contains("pr0file-s3cret"), "{stderr}");

    assert!(sim.orders().is_empty());
    assert!(common::runs(&journal, &sim).is_empty());
}

#[test]
fn a_profile_gives_the_url_and_merchant() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(
        &profiles,
        format!(
            "[local]\nbase_url = \"{}\"\nmerchant_id = \"demo\"\n",
            sim.url
        ),
    )
    .unwrap();
    let mut cmd = console(&journal, &sim);
    cmd.env_remove("PAYPRO_BASE_URL")
        .env_remove("PAYPRO_MERCHANT_ID")
        .args(["submit", &samples("orders.csv"), "--yes", "--json"])
        .args([
            "--profiles",
            profiles.to_str().unwrap(),
            "--profile",
            "local",
        ]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["created"], 25);
    assert_eq!(sim.orders().len(), 25);
}

#[test]
fn refused_credentials_from_the_start_exit_2_without_leaking_the_password() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_PASSWORD", "Wr0ng-s3cret").args([
        "submit",
        &samples("orders.csv"),
        "--yes",
        "--json",
    ]);
    let out = run(cmd);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("refused the merchant id or password"),
        "{stderr}"
    );
    assert!(stderr.contains("resume 1"), "{stderr}");
    let s = summary(&out);
    assert_eq!(s["created"], 0);
    assert_eq!(s["pending"], 25);
    assert_eq!(s["state"], "stopped_auth");
    assert!(sim.orders().is_empty());
    for (what, t) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!t.contains("Wr0ng-s3cret"), "password in {what}: {t}");
    }
    // Nor in the journal file.
    Journal::open(&journal).unwrap().checkpoint().unwrap();
    let bytes = std::fs::read(&journal).unwrap();
    assert!(
        !bytes.windows(12).any(|w| w == b"Wr0ng-s3cret"),
        "the password is in the journal file"
    );

    // With the right password the same run completes.
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "1", "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["created"], 25);
}

#[test]
fn ctrl_c_stops_sending_records_what_was_in_flight_and_resume_finishes() {
    // Slow enough that the run is far from done when Ctrl-C comes.
    let sim = Sim::start(&["--latency-ms", "300"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("big.csv");
    common::write_orders_csv(&csv, "CTRLC", 600);
    let mut cmd = console(&journal, &sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--json",
        "--concurrency",
        "2",
    ]);
    let mut w = common::spawn_watched(cmd);
    w.wait_for("run 1: started", Duration::from_secs(30));
    // Ctrl-C once the run is under way: some orders are created, most are not.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.orders().len() < 100 {
        assert!(Instant::now() < deadline, "the run does not progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    common::sigint(&w.child);
    let (code, stdout, stderr) = w.finish();
    assert_eq!(code, Some(130), "{stdout}{stderr}");
    assert!(
        stderr.contains("interrupted: resume with paypro-console --journal"),
        "{stderr}"
    );
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["state"], "interrupted");
    let pending = s["pending"].as_u64().unwrap();
    assert!(pending > 0 && pending < 600, "{s}");
    // What was in flight was answered and recorded: nothing is left in flight, and the
    // simulator holds exactly the rows the journal says were created.
    let rows = show(&journal, &sim, 1);
    assert!(rows.iter().all(|r| r["state"] != "in_flight"));
    let created: HashSet<&str> = rows
        .iter()
        .filter(|r| r["state"] == "created")
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    let held = sim.orders_by_number();
    assert_eq!(created.len(), held.len());
    assert!(held.keys().all(|k| created.contains(k.as_str())));

    // A new submit mentions the interrupted run; resume without RUN picks it.
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", "/nonexistent.csv", "--yes"]);
    let out = run(cmd);
    assert!(
        text(&out.stderr).contains("run 1 (big.csv) was interrupted: paypro-console --journal"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "--yes", "--json", "--concurrency", "8"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["created"], 600);
    assert_eq!(sim.orders().len(), 600);
    assert!(sim.orders().iter().all(|o| o["CreateRequests"] == 1));
}

#[test]
fn failed_rows_are_sent_again_by_retry() {
    let sim = Sim::start(&["--fail-500-rate", "1.0"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", &samples("orders.csv"), "--yes", "--json"])
        .args(["--max-attempts", "1"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["failed"].clone(), s["created"].clone()),
        (json!(25), json!(0))
    );
    assert_eq!(s["sent"], 25);
    let mut cmd = console(&journal, &sim);
    cmd.args(["show", "1", "--state", "failed", "--json"]);
    let failed: Vec<Value> = serde_json::from_slice(&run(cmd).stdout).unwrap();
    assert_eq!(failed.len(), 25);
    assert!(
        failed[0]["message"].as_str().unwrap().contains("500"),
        "{}",
        failed[0]
    );
    // The text summary says what to do.
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "1", "--yes"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("retry 1"),
        "{}",
        text(&out.stdout)
    );

    let (status, body) = sim.post("/__sim/faults", &json!({}));
    assert_eq!(status, 200, "{body}");
    let mut cmd = console(&journal, &sim);
    cmd.args(["retry", "1", "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["failed"].clone(), s["created"].clone()),
        (json!(0), json!(25))
    );
    let held = sim.orders_by_number();
    assert_eq!(held.len(), 25);
    assert!(held.values().all(|o| o["CreateRequests"] == 1));
}

#[test]
fn resume_without_a_run_picks_the_interrupted_one_or_lists_them() {
    let sim = Sim::start(&["--latency-ms", "300"]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    for name in ["a.csv", "b.csv"] {
        let csv = dir.path().join(name);
        common::write_orders_csv(&csv, name.trim_end_matches(".csv"), 300);
        let mut cmd = console(&journal, &sim);
        cmd.args([
            "submit",
            csv.to_str().unwrap(),
            "--yes",
            "--concurrency",
            "1",
        ]);
        let mut w = common::spawn_watched(cmd);
        w.wait_for(": started:", Duration::from_secs(30));
        common::sigkill(&mut w.child);
    }
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "--yes"]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("several runs were interrupted"), "{stderr}");
    assert!(stderr.contains("run 1 (a.csv"), "{stderr}");
    assert!(stderr.contains("run 2 (b.csv"), "{stderr}");
    assert!(stderr.contains("resume 2"), "{stderr}");

    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "2", "--yes", "--json", "--concurrency", "8"]);
    assert_eq!(run(cmd).status.code(), Some(0));
    // Now only run 1 is left, and `resume` alone takes it.
    let mut cmd = console(&journal, &sim);
    cmd.args(["resume", "--yes", "--json", "--concurrency", "8"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["run"], 1);
    let mut cmd = console(&journal, &sim);
    cmd.arg("resume");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("no interrupted run"));
    assert_eq!(sim.orders_by_number().len(), 600);
}
