#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The journal as a file and across processes: permissions, durability settings,
//! migrations, crash and resume with a really killed process, retry, the run lock
//! against real processes, the cross-run guard, and no password in the file's bytes.

use paypro_console::Secret;
use paypro_console::journal::{
    AttemptRecord, BatchId, GroupOp, GroupResult, INTERRUPTED_OUTCOME, ItemFilter, ItemId,
    ItemOutcome, ItemState, Journal, JournalError, JournalWriter, NewItem, NewRun, RunId, RunState,
    SCHEMA_VERSION,
};
use rust_decimal::Decimal;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHILD_MODE: &str = "JOURNAL_TEST_CHILD";
const CHILD_PATH: &str = "JOURNAL_TEST_PATH";
const CHILD_RUN: &str = "JOURNAL_TEST_RUN";
const READY: &str = "JOURNAL-CHILD-READY";

const BASE: &str = "https://demoapi.paypro.com.pk";

fn new_run(merchant: &str) -> NewRun {
    NewRun {
        kind: "orders".into(),
        source_file: "march.xlsx".into(),
        source_sha256: "ab".repeat(32),
        sheet: Some("Orders".into()),
        merchant_id: merchant.into(),
        base_url: "https://demoapi.paypro.com.pk".into(),
    }
}

fn pending(row: u32, key: &str) -> NewItem {
    NewItem {
        row,
        key: key.into(),
        payload: json!({"order_number": key, "amount": "450.00"}),
        issues: json!([]),
        state: ItemState::Pending,
    }
}

/// A journal in a fresh directory with one run of `n` pending items (rows 2..).
fn journal_with_run(n: u32) -> (tempfile::TempDir, PathBuf, Journal, RunId, Vec<ItemId>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite3");
    let j = Journal::open(&path).unwrap();
    let run = j.create_run(&new_run("M1")).unwrap();
    let items: Vec<NewItem> = (0..n).map(|i| pending(i + 2, &format!("A-{i}"))).collect();
    let ids = j.add_items(run, &items).unwrap();
    (dir, path, j, run, ids)
}

fn record(outcome: &str) -> AttemptRecord {
    AttemptRecord {
        http_status: Some(200),
        duration_ms: 12,
        outcome: outcome.into(),
        response_body: Some("[{\"Status\":\"00\"}]".into()),
    }
}

fn created(id: &str) -> ItemOutcome {
    ItemOutcome::Created {
        connectpay_id: id.into(),
        fee: Some(Decimal::new(6000, 2)),
        status_code: "00".into(),
        description: Some("Order created successfully".into()),
    }
}

fn exists() -> ItemOutcome {
    ItemOutcome::AlreadyExists {
        status_code: "01".into(),
        description: Some("Order number already exists".into()),
    }
}

// ---------------------------------------------------------------------------------------
// A child process: this same test binary, re-run on one ignored test that acts as a
// second paypro-console process driving a run, until it is killed.

/// Kills the child when the test ends, whichever way it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(mode: &str, path: &Path, run: RunId) -> ChildGuard {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_driving_a_run",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .env(CHILD_PATH, path)
        .env(CHILD_RUN, run.0.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            // libtest prints the test's name on the same line first.
            Some(Ok(line)) if line.contains(READY) => break,
            Some(Ok(_)) => continue,
            _ => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let _ = child.kill();
                panic!("child ended before it was ready: {err}");
            }
        }
    }
    ChildGuard(child)
}

/// Kills the child the hard way (no destructors, no lock release) and reaps it.
fn kill_hard(mut guard: ChildGuard) {
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
}

#[test]
#[ignore = "not a test: the second process used by the lock and crash tests"]
fn child_process_driving_a_run() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(CHILD_PATH).unwrap());
    let run = RunId(std::env::var(CHILD_RUN).unwrap().parse().unwrap());
    let j = Journal::open(&path).unwrap();
    let lock = j.lock_run(run).unwrap();
    if mode == "crash-mid-batch" {
        j.set_run_state(run, RunState::Running).unwrap();
        let first: Vec<ItemId> = j
            .sendable_items(run)
            .unwrap()
            .iter()
            .take(3)
            .map(|i| i.id)
            .collect();
        j.begin_batch(run, "cpay/cmo", &first).unwrap();
        // The request would go out now; the process dies before the answer is recorded.
    }
    println!("{READY}");
    std::thread::sleep(Duration::from_secs(120));
    drop(lock);
}

// ---------------------------------------------------------------------------------------

#[test]
fn file_is_private_wal_and_fully_synchronous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("data")
        .join("paypro")
        .join("journal.sqlite3");
    let j = Journal::open(&path).unwrap();

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("data")), 0o700);

    let s = j.settings().unwrap();
    assert_eq!(s.journal_mode, "wal");
    assert_eq!(s.synchronous, "full");
    assert!(s.foreign_keys);
    assert_eq!(s.schema_version, SCHEMA_VERSION);

    // Write something so the WAL exists, then check the side files too.
    let run = j.create_run(&new_run("M1")).unwrap();
    j.add_items(run, &[pending(2, "A-1")]).unwrap();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let shm = PathBuf::from(format!("{}-shm", path.display()));
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(&shm), 0o600);

    // WAL is a property of the file: another connection sees it.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let jm: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(jm, "wal");
}

#[test]
fn an_existing_file_keeps_its_mode() {
    // Only a file this program creates is made 0600: one that was there is the
    // clerk's, and its mode is theirs to choose.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite3");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Journal::open(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

/// The bytes and mode of a file, to show it was not touched.
fn snapshot(path: &Path) -> (Vec<u8>, u32) {
    (
        std::fs::read(path).unwrap(),
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777,
    )
}

#[test]
fn a_path_that_is_not_a_journal_is_refused_untouched_and_named() {
    let dir = tempfile::tempdir().unwrap();
    // A spreadsheet given as the journal.
    let csv = dir.path().join("orders.csv");
    std::fs::write(&csv, "OrderNumber,OrderAmount\nA-1,100\n").unwrap();
    std::fs::set_permissions(&csv, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(&csv);
    let err = Journal::open(&csv).unwrap_err();
    assert!(matches!(err, JournalError::NotAJournal { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&csv.display().to_string()), "{msg}");
    assert!(msg.contains("not an SQLite database"), "{msg}");
    assert_eq!(snapshot(&csv), before, "bytes and mode unchanged");
    assert!(!dir.path().join("orders.csv-wal").exists());

    // A directory, and a device.
    let err = Journal::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("it is a directory"), "{err}");
    let null = Path::new("/dev/null");
    let mode_before = std::fs::metadata(null).unwrap().permissions().mode();
    let err = Journal::open(null).unwrap_err().to_string();
    assert!(
        err.contains("/dev/null") && err.contains("not a regular file"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(null).unwrap().permissions().mode(),
        mode_before
    );

    // Another program's SQLite database.
    let other = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&other).unwrap();
    raw.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(raw);
    let before = snapshot(&other);
    let err = Journal::open(&other).unwrap_err().to_string();
    assert!(err.contains("another program"), "{err}");
    assert_eq!(snapshot(&other), before);
}

#[test]
fn a_newer_schema_is_refused_byte_for_byte_unchanged() {
    let (_dir, path, j, _run, _) = journal_with_run(2);
    j.checkpoint().unwrap();
    drop(j);
    // As a newer program would leave it: a newer version, and rollback mode (so the
    // switch to WAL would rewrite the header).
    let raw = rusqlite::Connection::open(&path).unwrap();
    let _: String = raw
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(raw);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = snapshot(&path);
    let err = Journal::open(&path).unwrap_err();
    assert!(matches!(err, JournalError::NewerSchema { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(snapshot(&path), before, "bytes and mode unchanged");
}

#[test]
fn reopening_keeps_everything_and_a_newer_schema_is_refused() {
    let (_dir, path, j, run, _) = journal_with_run(3);
    drop(j);

    let j = Journal::open(&path).unwrap();
    assert_eq!(j.settings().unwrap().schema_version, SCHEMA_VERSION);
    assert_eq!(j.items(run, None).unwrap().len(), 3);
    drop(j);

    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);
    let err = Journal::open(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::NewerSchema { found: 99, supported, .. } if supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("schema version 99") && msg.contains("newer"),
        "{msg}"
    );
    // Refused means untouched.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn a_killed_process_mid_batch_leaves_a_resumable_run_and_nothing_is_lost() {
    let (_dir, path, j, run, ids) = journal_with_run(5);
    let child = spawn_child("crash-mid-batch", &path, run);

    // While the child lives, the run is not "interrupted" and cannot be taken.
    assert!(j.interrupted_runs().unwrap().is_empty());
    assert!(matches!(j.lock_run(run), Err(JournalError::Locked { .. })));
    assert_eq!(j.counts(run).unwrap().in_flight, 3);

    kill_hard(child);

    let j = Journal::open(&path).unwrap(); // a new process starting up
    let found = j.interrupted_runs().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, run);
    assert_eq!(found[0].state, RunState::Running);

    let lock = j.lock_run(run).unwrap(); // taken over from the dead child
    let rec = j.recover(run).unwrap();
    assert_eq!(rec.items_reset, 3);
    assert_eq!(rec.batches_closed, 1);
    assert_eq!(j.run(run).unwrap().unwrap().state, RunState::Interrupted);

    let items = j.items(run, None).unwrap();
    assert_eq!(items.len(), 5, "no item lost");
    assert!(items.iter().all(|i| i.state == ItemState::Pending));
    let attempts: Vec<u32> = items.iter().map(|i| i.attempts).collect();
    assert_eq!(attempts, [1, 1, 1, 0, 0]);

    let history = j.item_attempts(ids[0]).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].result.as_deref(), Some("interrupted"));
    assert_eq!(
        history[0].batch_outcome.as_deref(),
        Some(INTERRUPTED_OUTCOME)
    );
    assert_eq!(history[0].endpoint, "cpay/cmo");
    assert_eq!(history[0].batch_size, 3);
    assert!(history[0].finished_at.is_some());

    // Resume: everything pending goes out again. The server says 01 for the three whose
    // first answer was lost (they were ours) and for one never sent (not ours).
    j.set_run_state(run, RunState::Running).unwrap();
    let send: Vec<ItemId> = j
        .sendable_items(run)
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(send, ids);
    let batch = j.begin_batch(run, "cpay/cmo", &send).unwrap();
    let outcomes = vec![
        (ids[0], exists()),
        (ids[1], exists()),
        (ids[2], exists()),
        (ids[3], exists()),
        (ids[4], created("00342000600028")),
    ];
    j.finish_batch(batch, &record("status 01"), &outcomes)
        .unwrap();
    let states: Vec<ItemState> = j
        .items(run, None)
        .unwrap()
        .iter()
        .map(|i| i.state)
        .collect();
    use ItemState::*;
    assert_eq!(
        states,
        [
            ExistsIdUnknown,
            ExistsIdUnknown,
            ExistsIdUnknown,
            ExistsBeforeRun,
            Created
        ]
    );
    assert!(j.interrupted_runs().unwrap().is_empty());
    lock.release().unwrap();
    assert!(j.run(run).unwrap().unwrap().lock.is_none());
}

#[test]
fn retry_sends_failed_items_again_in_the_same_run() {
    let (_dir, _path, j, run, ids) = journal_with_run(3);
    assert!(matches!(
        j.retry_failed(run),
        Err(JournalError::NotLocked { .. })
    ));
    let _lock = j.lock_run(run).unwrap();
    let b = j.begin_batch(run, "cpay/cmo", &ids).unwrap();
    let fail = |e: &str| ItemOutcome::Failed {
        last_error: e.into(),
    };
    j.finish_batch(
        b,
        &record("transport: connection reset"),
        &[
            (ids[0], fail("transport: connection reset")),
            (ids[1], created("1")),
            (ids[2], fail("status 02: service failure")),
        ],
    )
    .unwrap();
    assert_eq!(j.counts(run).unwrap().failed, 2);
    assert!(j.sendable_items(run).unwrap().is_empty());

    assert_eq!(j.retry_failed(run).unwrap(), 2);
    let again = j.sendable_items(run).unwrap();
    assert_eq!(
        again.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
    assert!(again.iter().all(|i| i.attempts == 1));
    assert_eq!(
        again[1].last_error.as_deref(),
        Some("status 02: service failure")
    );
    let b2 = j.begin_batch(run, "cpay/cmo", &[ids[0], ids[2]]).unwrap();
    j.finish_batch(
        b2,
        &record("ok"),
        &[(ids[0], created("2")), (ids[2], created("3"))],
    )
    .unwrap();
    let c = j.counts(run).unwrap();
    assert_eq!((c.created, c.failed, c.unsettled()), (3, 0, 0));
    let item = j.item(ids[2]).unwrap().unwrap();
    assert_eq!(item.attempts, 2);
    assert_eq!(item.last_error, None, "a success clears the old error");
    assert_eq!(item.fee, Some(Decimal::new(6000, 2)));
    let history = j.item_attempts(ids[2]).unwrap();
    assert_eq!(
        history
            .iter()
            .map(|a| a.result.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["failed", "created"]
    );
    assert_eq!(j.retry_failed(run).unwrap(), 0);
}

#[test]
fn a_live_process_holding_the_lock_is_named_and_a_killed_one_is_taken_over() {
    let (_dir, path, j, run, ids) = journal_with_run(2);
    let child = spawn_child("hold-lock", &path, run);
    let child_pid = child.0.id();

    let err = j.lock_run(run).unwrap_err();
    match &err {
        JournalError::Locked { run: r, pid, .. } => {
            assert_eq!(*r, run);
            assert_eq!(*pid, child_pid);
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "run {run} is being driven by process {child_pid} on host "
        )) && msg.contains(" since "),
        "{msg}"
    );
    // Nor can this process send for that run.
    assert!(matches!(
        j.begin_batch(run, "cpay/cmo", &ids),
        Err(JournalError::Locked { .. })
    ));
    assert_eq!(j.counts(run).unwrap().pending, 2);

    kill_hard(child);
    let lock = j.lock_run(run).unwrap();
    let holder = j.run(run).unwrap().unwrap().lock.unwrap();
    assert_eq!(holder.pid, std::process::id());
    j.begin_batch(run, "cpay/cmo", &ids).unwrap();
    drop(lock);
}

#[test]
fn a_lock_is_released_on_drop_and_not_taken_twice_by_one_process() {
    let (_dir, _path, j, run, ids) = journal_with_run(1);
    assert!(matches!(
        j.begin_batch(run, "cpay/co", &ids),
        Err(JournalError::NotLocked { .. })
    ));
    let lock = j.lock_run(run).unwrap();
    assert_eq!(lock.run(), run);
    let err = j.lock_run(run).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    drop(lock);
    assert!(j.run(run).unwrap().unwrap().lock.is_none());
    let again = j.lock_run(run).unwrap();
    again.release().unwrap();
    assert!(matches!(
        j.lock_run(RunId(999)),
        Err(JournalError::NotFound { .. })
    ));
}

/// Our host name as the journal records it.
fn own_host(j: &Journal, run: RunId) -> String {
    let lock = j.lock_run(run).unwrap();
    let host = j.run(run).unwrap().unwrap().lock.unwrap().host;
    drop(lock);
    host
}

fn start_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn write_holder(path: &Path, run: RunId, pid: u32, host: &str, start: Option<u64>) {
    let raw = rusqlite::Connection::open(path).unwrap();
    raw.busy_timeout(Duration::from_secs(5)).unwrap();
    raw.execute(
        "UPDATE runs SET lock_pid = ?2, lock_host = ?3, lock_start = ?4, lock_token = 1,
                         lock_since = '2026-11-24T16:40:03.000Z'
         WHERE id = ?1",
        rusqlite::params![run.0, pid, host, start.map(|s| s as i64)],
    )
    .unwrap();
}

#[test]
fn liveness_is_the_os_file_lock_and_another_hosts_lock_is_cleared_by_unlock() {
    let (_dir, path, j, run, _) = journal_with_run(1);
    let host = own_host(&j, run);

    // A process of this host holds it: refused, named.
    let child = spawn_child("hold", &path, run);
    let pid = child.0.id();
    let err = j.lock_run(run).unwrap_err();
    assert!(
        matches!(&err, JournalError::Locked { pid: p, other_host: false, .. } if *p == pid),
        "{err:?}"
    );
    assert!(j.interrupted_runs().unwrap().is_empty());
    assert!(j.break_lock(run).is_err(), "a live holder is not unlocked");

    // Killed outright: the kernel released its file lock; the record is taken over
    // at once, whatever its pid now is.
    kill_hard(child);
    assert_eq!(j.interrupted_runs().unwrap().len(), 1);
    j.lock_run(run).unwrap().release().unwrap();

    // A record naming a live process of this host that holds no file lock (a reused
    // pid: here, a sleeping process) is not a holder either.
    let sleeper = ChildGuard(Command::new("sleep").arg("30").spawn().unwrap());
    write_holder(
        &path,
        run,
        sleeper.0.id(),
        &host,
        Some(start_ticks(sleeper.0.id())),
    );
    j.lock_run(run).unwrap().release().unwrap();
    drop(sleeper);

    // Another host cannot be checked: respected, and the message says how to clear it.
    write_holder(&path, run, 4242, "another-host", None);
    let err = j.lock_run(run).unwrap_err();
    assert!(
        matches!(
            &err,
            JournalError::Locked {
                other_host: true,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("on host another-host"), "{msg}");
    assert!(
        msg.contains(&format!("paypro-console unlock {run}")),
        "{msg}"
    );
    assert!(!msg.contains("automatically"), "{msg}");
    assert!(j.interrupted_runs().unwrap().is_empty());
    let former = j.break_lock(run).unwrap().unwrap();
    assert_eq!((former.host.as_str(), former.pid), ("another-host", 4242));
    let history = j.run_history(run).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, paypro_console::journal::RunAction::Unlocked);
    assert!(last.detail.as_deref().unwrap().contains("another-host"));
    assert_eq!(last.host, host);
    j.lock_run(run).unwrap().release().unwrap();
}

#[test]
fn cross_run_guard_finds_earlier_creations_of_the_same_merchant_and_kind() {
    let (_dir, _path, j, run1, ids) = journal_with_run(4); // keys A-0..A-3, rows 2..5
    let lock = j.lock_run(run1).unwrap();
    let b = j.begin_batch(run1, "cpay/cmo", &ids).unwrap();
    j.finish_batch(
        b,
        &record("status 03"),
        &[
            (ids[0], created("00342000600028")),
            (
                ids[1],
                ItemOutcome::ExistsIdUnknown {
                    status_code: "01".into(),
                    description: None,
                },
            ),
            (
                ids[2],
                ItemOutcome::Rejected {
                    status_code: "03".into(),
                    description: Some("bad mobile".into()),
                },
            ),
            (ids[3], ItemOutcome::Unsent),
        ],
    )
    .unwrap();
    drop(lock);
    let run2 = j.create_run(&new_run("M1")).unwrap();

    let hit = j
        .created_elsewhere("orders", "M1", BASE, "A-0", Some(run2))
        .unwrap()
        .unwrap();
    assert_eq!((hit.run, hit.row), (run1, 2));
    assert_eq!(
        hit.to_string(),
        format!("created in run {run1}, row 2, ConnectPayId 00342000600028")
    );
    let unknown = j
        .created_elsewhere("orders", "M1", BASE, "A-1", Some(run2))
        .unwrap()
        .unwrap();
    assert_eq!(unknown.state, ItemState::ExistsIdUnknown);
    assert!(unknown.to_string().contains("ConnectPayId unknown"));
    // The same service written with a trailing slash is the same service.
    assert!(
        j.created_elsewhere("orders", "M1", &format!("{BASE}/"), "A-0", Some(run2))
            .unwrap()
            .is_some()
    );
    // Rejected and never-created keys are free; other merchants, other kinds, another
    // service of the same merchant (a sandbox says nothing about production) and the
    // run itself do not count.
    for (kind, merchant, base, key, except) in [
        ("orders", "M1", BASE, "A-2", Some(run2)),
        ("orders", "M1", BASE, "A-3", Some(run2)),
        ("orders", "M2", BASE, "A-0", Some(run2)),
        ("consumers", "M1", BASE, "A-0", Some(run2)),
        (
            "orders",
            "M1",
            "https://sandbox.paypro.com.pk",
            "A-0",
            Some(run2),
        ),
        ("orders", "M1", BASE, "A-0", Some(run1)),
    ] {
        assert_eq!(
            j.created_elsewhere(kind, merchant, base, key, except)
                .unwrap(),
            None,
            "{kind} {merchant} {base} {key}"
        );
    }

    // A second creation of A-0 in a later run (resent on purpose, 01) does not hide the
    // first one, which has the ConnectPayId.
    let lock2 = j.lock_run(run2).unwrap();
    let again = j.add_items(run2, &[pending(9, "A-0")]).unwrap();
    let b2 = j.begin_batch(run2, "cpay/co", &again).unwrap();
    j.finish_batch(b2, &record("status 01"), &[(again[0], exists())])
        .unwrap();
    drop(lock2);
    let best = j
        .created_elsewhere("orders", "M1", BASE, "A-0", None)
        .unwrap()
        .unwrap();
    assert_eq!(
        (best.run, best.row, best.state),
        (run1, 2, ItemState::Created)
    );

    // The bulk form over a whole sheet of 20,000 keys.
    let mut keys: Vec<String> = (0..20_000).map(|i| format!("B-{i}")).collect();
    keys[7] = "A-0".into();
    keys[19_999] = "A-1".into();
    keys.push("A-1".into()); // duplicates in the sheet are harmless
    let found = j
        .created_elsewhere_many("orders", "M1", BASE, &keys, None)
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found["A-0"].connectpay_id.as_deref(),
        Some("00342000600028")
    );
    assert_eq!(found["A-1"].row, 3);
    // The temporary key table does not leak between calls.
    let none = j
        .created_elsewhere_many("orders", "M1", BASE, ["B-1"], None)
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn a_password_never_reaches_the_file() {
    const PASSWORD: &str = "Zq7!pa ss/w0rd&x";
    let encoded: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    let json_escaped = PASSWORD.replace('/', "\\/");
    let needles = [
        PASSWORD.to_string(),
        encoded.clone(),
        encoded.replace('+', "%20"),
        json_escaped.clone(),
        "Zq7!pa".to_string(),
    ];

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite3");
    let j = Journal::open(&path).unwrap();
    j.set_redactions(vec![Secret::new(PASSWORD)]);
    let mut nr = new_run("M1");
    nr.base_url = "https://merchant:hunter2@demoapi.paypro.com.pk".into();
    let run = j.create_run(&nr).unwrap();
    let ids = j
        .add_items(run, &[pending(2, "A-1"), pending(3, "A-2")])
        .unwrap();
    let lock = j.lock_run(run).unwrap();
    let b = j
        .begin_batch(run, &format!("cpay/gos?password={encoded}"), &ids)
        .unwrap();
    let body = format!(
        "MARKER-BODY [{{\"Status\":\"03\",\"MerchantPassword\":\"{json_escaped}\"}}] \
         url=https://h/cpay/co?password={encoded} plain={PASSWORD}"
    );
    j.finish_batch(
        b,
        &AttemptRecord {
            http_status: Some(200),
            duration_ms: 40,
            outcome: format!("status 03 for password {PASSWORD}"),
            response_body: Some(body),
        },
        &[
            (
                ids[0],
                ItemOutcome::Failed {
                    last_error: format!("MARKER-ERROR transport: GET ...password={encoded}"),
                },
            ),
            (
                ids[1],
                ItemOutcome::Rejected {
                    status_code: "03".into(),
                    description: Some(format!("MARKER-DESC bad credentials {PASSWORD}")),
                },
            ),
        ],
    )
    .unwrap();

    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let scan = |label: &str| {
        let mut bytes = std::fs::read(&path).unwrap();
        if let Ok(w) = std::fs::read(&wal) {
            bytes.extend_from_slice(&w);
        }
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{label}: {needle:?} found in the journal's bytes"
            );
        }
        assert!(
            !bytes.windows(7).any(|w| w == b"hunter2"),
            "{label}: URL password stored"
        );
        bytes
    };
    // While open: the new content is in the WAL.
    let bytes = scan("open");
    for marker in ["MARKER-BODY", "MARKER-ERROR", "MARKER-DESC"] {
        assert!(
            bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} not in the file: the scan would prove nothing"
        );
    }
    let item = j.item(ids[0]).unwrap().unwrap();
    assert_eq!(
        item.last_error.as_deref(),
        Some("MARKER-ERROR transport: GET ...password=***")
    );
    let stored = j.batch_response_body(b).unwrap().unwrap();
    assert!(
        stored.contains(r#""MerchantPassword":"***""#) && stored.ends_with("plain=***"),
        "{stored}"
    );
    drop(lock);
    j.checkpoint().unwrap();
    drop(j);
    // Closed: everything is in the main file.
    let bytes = scan("closed");
    assert!(bytes.windows(11).any(|w| w == b"MARKER-BODY"));
}

#[test]
fn double_sending_and_mismatched_answers_are_refused_without_writing() {
    let (_dir, _path, j, run, ids) = journal_with_run(4);
    let _lock = j.lock_run(run).unwrap();
    let b = j.begin_batch(run, "cpay/cmo", &ids[..2]).unwrap();

    // An item already in flight cannot go into a second request; nothing of that call
    // is written (ids[2] stays pending with no attempt).
    let err = j
        .begin_batch(run, "cpay/cmo", &[ids[2], ids[1]])
        .unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::InvalidTransition {
                from: ItemState::InFlight,
                to: ItemState::InFlight,
                row: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let third = j.item(ids[2]).unwrap().unwrap();
    assert_eq!((third.state, third.attempts), (ItemState::Pending, 0));
    assert!(j.item_attempts(ids[2]).unwrap().is_empty());

    // Answers must cover exactly the batch's items.
    let missing = j.finish_batch(b, &record("ok"), &[(ids[0], created("1"))]);
    assert!(
        matches!(&missing, Err(JournalError::BatchMismatch { problem, .. }) if problem.contains(&ids[1].to_string())),
        "{missing:?}"
    );
    let stranger = j.finish_batch(
        b,
        &record("ok"),
        &[
            (ids[0], created("1")),
            (ids[1], created("2")),
            (ids[3], created("3")),
        ],
    );
    assert!(matches!(stranger, Err(JournalError::BatchMismatch { .. })));
    let twice = j.finish_batch(
        b,
        &record("ok"),
        &[(ids[0], created("1")), (ids[0], created("1"))],
    );
    assert!(matches!(twice, Err(JournalError::BatchMismatch { .. })));
    // None of those wrote anything.
    assert_eq!(j.counts(run).unwrap().in_flight, 2);
    assert_eq!(j.counts(run).unwrap().created, 0);

    j.finish_batch(
        b,
        &record("status 04"),
        &[(ids[0], ItemOutcome::Unsent), (ids[1], ItemOutcome::Unsent)],
    )
    .unwrap();
    let first = j.item(ids[0]).unwrap().unwrap();
    assert_eq!(
        (first.state, first.attempts),
        (ItemState::Pending, 0),
        "an unsent try does not count"
    );
    assert!(matches!(
        j.finish_batch(b, &record("ok"), &[]),
        Err(JournalError::BatchFinished { .. })
    ));
    // Settled items cannot be sent again.
    let b2 = j.begin_batch(run, "cpay/co", &[ids[0]]).unwrap();
    j.finish_batch(b2, &record("ok"), &[(ids[0], created("9"))])
        .unwrap();
    let err = j.begin_batch(run, "cpay/co", &[ids[0]]).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot go from created to in_flight"),
        "{err}"
    );
}

/// A batch's items are marked one by one with the check folded into each mark: one
/// that cannot go (named twice, of another run, unknown, not pending) is named with
/// why, and nothing of the batch is kept, however far the marking got.
#[test]
fn a_batch_with_an_item_it_cannot_send_names_it_and_writes_nothing() {
    let (_dir, _path, j, run, ids) = journal_with_run(4);
    let other = j.create_run(&new_run("M1")).unwrap();
    let stranger = j.add_items(other, &[pending(2, "B-0")]).unwrap()[0];
    let _lock = j.lock_run(run).unwrap();

    let twice = j
        .begin_batch(run, "cpay/cmo", &[ids[0], ids[1], ids[2], ids[1]])
        .unwrap_err();
    assert!(
        matches!(
            twice,
            JournalError::InvalidTransition { item, row: 3, from: ItemState::InFlight, .. }
                if item == ids[1]
        ),
        "{twice:?}"
    );
    let elsewhere = j
        .begin_batch(run, "cpay/cmo", &[ids[0], stranger])
        .unwrap_err();
    assert!(
        matches!(&elsewhere, JournalError::NotFound { what } if what.contains(&stranger.to_string())),
        "{elsewhere:?}"
    );
    let unknown = j
        .begin_batch(run, "cpay/cmo", &[ids[3], ItemId(999_999)])
        .unwrap_err();
    assert!(
        matches!(unknown, JournalError::NotFound { .. }),
        "{unknown:?}"
    );

    for id in &ids {
        let item = j.item(*id).unwrap().unwrap();
        assert_eq!(
            (item.state, item.attempts),
            (ItemState::Pending, 0),
            "row {}",
            item.row
        );
        assert!(j.item_attempts(*id).unwrap().is_empty(), "row {}", item.row);
    }
    assert_eq!(j.run_totals(run).unwrap().counts.in_flight, 0);
    // The batches refused left no request behind.
    let b = j.begin_batch(run, "cpay/cmo", &ids).unwrap();
    assert_eq!(j.item_attempts(ids[0]).unwrap()[0].batch, b);
    assert_eq!(j.run_totals(run).unwrap().counts.in_flight, 4);
}

/// Consecutive items are marked with one statement; one of them that cannot go still
/// refuses the whole batch, named, with nothing of it kept.
#[test]
fn a_run_of_consecutive_items_with_one_in_flight_is_refused_whole() {
    let (_dir, _path, j, run, ids) = journal_with_run(5);
    let other = j.create_run(&new_run("M1")).unwrap();
    let _lock = j.lock_run(run).unwrap();
    let first = j.begin_batch(run, "cpay/cmo", &ids[2..4]).unwrap();
    let refused = j.begin_batch(run, "cpay/cmo", &ids[..3]).unwrap_err();
    assert!(
        matches!(
            refused,
            JournalError::InvalidTransition { item, row: 4, from: ItemState::InFlight, .. }
                if item == ids[2]
        ),
        "{refused:?}"
    );
    // The next run's first item follows this run's last: a range across runs is not
    // this run's.
    let stranger = j.add_items(other, &[pending(2, "B-0")]).unwrap()[0];
    assert_eq!(stranger.0, ids[4].0 + 1);
    let across = j
        .begin_batch(run, "cpay/cmo", &[ids[4], stranger])
        .unwrap_err();
    assert!(
        matches!(across, JournalError::NotFound { .. }),
        "{across:?}"
    );
    let state = |i: usize| j.item(ids[i]).unwrap().unwrap();
    for i in [0, 1, 4] {
        assert_eq!((state(i).state, state(i).attempts), (ItemState::Pending, 0));
        assert!(j.item_attempts(ids[i]).unwrap().is_empty());
    }
    assert_eq!(j.item_attempts(ids[2]).unwrap()[0].batch, first);
    // A whole range goes in flight with its attempts and its request.
    let second = j.begin_batch(run, "cpay/cmo", &ids[..2]).unwrap();
    for i in [0, 1] {
        assert_eq!(
            (state(i).state, state(i).attempts),
            (ItemState::InFlight, 1)
        );
        assert_eq!(j.item_attempts(ids[i]).unwrap()[0].batch, second);
    }
    assert_eq!(j.run_totals(run).unwrap().counts.in_flight, 4);
}

/// An item's history shows the request it is in while that request is unanswered,
/// at its place in the request, with no result; an answer or a recovery then gives
/// that same request its result, at the same place.
#[test]
fn an_unanswered_request_is_in_its_items_history_until_answered_or_closed() {
    let (_dir, _path, j, run, ids) = journal_with_run(3);
    let lock = j.lock_run(run).unwrap();
    let first = j.begin_batch(run, "cpay/cmo", &ids[..2]).unwrap();
    j.finish_batch(
        first,
        &record("ok"),
        &[
            (ids[0], created("00342000600028")),
            (
                ids[1],
                ItemOutcome::Retry {
                    last_error: "transport: timeout".into(),
                },
            ),
        ],
    )
    .unwrap();
    let second = j.begin_batch(run, "cpay/co", &[ids[2], ids[1]]).unwrap();

    let open = j.item_attempts(ids[1]).unwrap();
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(
        (open[0].batch, open[0].position, open[0].result.as_deref()),
        (first, 1, Some("retry"))
    );
    assert_eq!(open[0].error.as_deref(), Some("transport: timeout"));
    assert_eq!(
        (open[1].batch, open[1].position, open[1].batch_size),
        (second, 1, 2)
    );
    assert_eq!(open[1].endpoint, "cpay/co");
    assert!(open[1].result.is_none() && open[1].finished_at.is_none());
    let detail = j.item_history(ids[1]).unwrap();
    assert_eq!(detail.len(), 2);
    assert_eq!(detail[1].attempt, open[1]);
    // Items of no open request show none.
    assert_eq!(j.item_attempts(ids[0]).unwrap().len(), 1);

    // The process dies with the request unanswered; the next one closes it.
    drop(lock);
    let _lock = j.lock_run(run).unwrap();
    let rec = j.recover(run).unwrap();
    assert_eq!((rec.items_reset, rec.batches_closed), (2, 1));
    let closed = j.item_attempts(ids[1]).unwrap();
    assert_eq!(closed.len(), 2);
    assert_eq!(
        (closed[1].batch, closed[1].position),
        (second, 1),
        "the same request, at the same place"
    );
    assert_eq!(closed[1].result.as_deref(), Some("interrupted"));
    assert_eq!(closed[1].error.as_deref(), Some(INTERRUPTED_OUTCOME));
    assert!(closed[1].finished_at.is_some());
    let third = j.item_attempts(ids[2]).unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(
        (third[0].position, third[0].result.as_deref()),
        (0, Some("interrupted"))
    );
}

#[test]
fn runs_list_with_counts_and_state_times() {
    let (_dir, _path, j, run1, _) = journal_with_run(3);
    let run2 = j.create_run(&new_run("M2")).unwrap();
    j.add_items(
        run2,
        &[
            pending(2, "C-1"),
            NewItem {
                state: ItemState::Invalid,
                issues: json!([{"column": "OrderAmount", "message": "must be > 0"}]),
                ..pending(3, "C-2")
            },
            NewItem {
                state: ItemState::Skipped,
                ..pending(4, "C-3")
            },
        ],
    )
    .unwrap();
    let list = j.runs().unwrap();
    assert_eq!(
        list.iter().map(|s| s.run.id).collect::<Vec<_>>(),
        [run2, run1]
    );
    let c = list[0].counts;
    assert_eq!((c.pending, c.invalid, c.skipped, c.total()), (1, 1, 1, 3));
    assert_eq!(list[1].counts.pending, 3);
    let invalid = j.item_by_row(run2, 3).unwrap().unwrap();
    assert_eq!(invalid.issues[0]["column"], "OrderAmount");
    assert_eq!(invalid.payload["order_number"], "C-2");

    let r = j.run(run1).unwrap().unwrap();
    assert_eq!((r.state, r.finished_at), (RunState::Open, None));
    assert_eq!(r.sheet.as_deref(), Some("Orders"));
    j.set_run_state(run1, RunState::Completed).unwrap();
    assert!(j.run(run1).unwrap().unwrap().finished_at.is_some());
    j.set_run_state(run1, RunState::Running).unwrap();
    assert!(j.run(run1).unwrap().unwrap().finished_at.is_none());
    assert!(matches!(
        j.set_run_state(RunId(999), RunState::Running),
        Err(JournalError::NotFound { .. })
    ));
    // Open runs whose process is gone are offered for resuming; a finished one is not.
    j.set_run_state(run1, RunState::Cancelled).unwrap();
    let offered: Vec<RunId> = j.interrupted_runs().unwrap().iter().map(|r| r.id).collect();
    assert_eq!(offered, [run2]);
}

#[test]
fn adding_items_is_all_or_nothing_and_handles_a_big_sheet() {
    let (_dir, _path, j, run, _) = journal_with_run(0);
    let big: Vec<NewItem> = (0..20_000)
        .map(|i| pending(i + 2, &format!("K-{i}")))
        .collect();
    assert_eq!(j.add_items(run, &big).unwrap().len(), 20_000);
    assert_eq!(j.counts(run).unwrap().pending, 20_000);

    // A duplicate row fails the whole call.
    let err = j
        .add_items(run, &[pending(50_000, "X-1"), pending(2, "X-2")])
        .unwrap_err();
    assert!(matches!(err, JournalError::Sqlite { .. }), "{err:?}");
    assert!(j.item_by_row(run, 50_000).unwrap().is_none());

    // Items cannot be born in flight or settled by a server.
    let err = j
        .add_items(
            run,
            &[NewItem {
                state: ItemState::Created,
                ..pending(60_000, "X-3")
            }],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::InvalidNewItem {
                row: 60_000,
                state: ItemState::Created
            }
        ),
        "{err:?}"
    );
    assert!(j.item_by_row(run, 60_000).unwrap().is_none());
    assert!(matches!(
        j.add_items(RunId(999), &[pending(2, "X")]),
        Err(JournalError::NotFound { .. })
    ));
}

#[test]
fn a_run_and_its_items_are_created_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("journal.sqlite3")).unwrap();
    let (run, ids) = j
        .create_run_with_items(&new_run("M1"), &[pending(2, "A-1"), pending(3, "A-2")])
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(j.item(ids[1]).unwrap().unwrap().key, "A-2");
    assert_eq!(j.counts(run).unwrap().pending, 2);
    assert_eq!(j.run(run).unwrap().unwrap().state, RunState::Open);

    // A duplicate row fails the insert of the items: no run is left behind.
    let err = j
        .create_run_with_items(
            &new_run("M1"),
            &[pending(2, "B-1"), pending(3, "B-2"), pending(2, "B-3")],
        )
        .unwrap_err();
    assert!(matches!(err, JournalError::Sqlite { .. }), "{err:?}");
    // Nor does an item born in a state items are not born in.
    let err = j
        .create_run_with_items(
            &new_run("M1"),
            &[NewItem {
                state: ItemState::InFlight,
                ..pending(2, "C-1")
            }],
        )
        .unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidNewItem { row: 2, .. }),
        "{err:?}"
    );
    let runs = j.runs().unwrap();
    assert_eq!(runs.len(), 1, "only the first run exists");
    assert_eq!(runs[0].run.id, run);
    // The journal is still usable: the next run gets the next id and its items.
    let (next, ids) = j
        .create_run_with_items(&new_run("M1"), &[pending(2, "D-1")])
        .unwrap();
    assert_ne!(next, run);
    assert_eq!(j.items(next, None).unwrap()[0].id, ids[0]);
}

// ---------------------------------------------------------------------------------------
// What faces read: pages of a 100,000-item run with filters, counts, one item's history,
// one key across runs; and group commits.

/// A 100,000-item run where every 50th item was sent: most created (ConnectPayId
/// `CP{i}`), every 1000th (from the 50th) rejected with "bad amount {i}", every 5000th
/// failed. Item `i` is row `i + 2`, key `Q-{i:06}`.
fn big_run() -> (tempfile::TempDir, Journal, RunId, Vec<ItemId>) {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("journal.sqlite3")).unwrap();
    let items =
        (0..100_000u32).map(|i| Ok::<_, JournalError>(pending(i + 2, &format!("Q-{i:06}"))));
    let (run, ids) = j.create_run_from(&new_run("M1"), items).unwrap();
    let lock = j.lock_run(run).unwrap();
    let sent: Vec<usize> = (0..100_000).step_by(50).collect();
    for chunk in sent.chunks(500) {
        let begins: Vec<GroupOp> = chunk
            .chunks(50)
            .map(|c| GroupOp::Begin {
                run,
                endpoint: "cmo".into(),
                items: c.iter().map(|&i| ids[i]).collect(),
            })
            .collect();
        let batches: Vec<_> = j
            .write_group(&begins)
            .into_iter()
            .map(|r| match r {
                GroupResult::Begun(Ok(b)) => b,
                other => panic!("{other:?}"),
            })
            .collect();
        let finishes: Vec<GroupOp> = chunk
            .chunks(50)
            .zip(batches)
            .map(|(c, batch)| GroupOp::Finish {
                batch,
                record: record("ok"),
                outcomes: c
                    .iter()
                    .map(|&i| {
                        let outcome = if i % 5000 == 0 {
                            ItemOutcome::Failed {
                                last_error: format!("HTTP 500 for {i}"),
                            }
                        } else if i % 1000 == 50 {
                            ItemOutcome::Rejected {
                                status_code: "03".into(),
                                description: Some(format!("bad amount {i}")),
                            }
                        } else {
                            created(&format!("CP{i}"))
                        };
                        (ids[i], outcome)
                    })
                    .collect(),
            })
            .collect();
        for r in j.write_group(&finishes) {
            assert!(matches!(r, GroupResult::Finished(Ok(_))), "{r:?}");
        }
    }
    lock.release().unwrap();
    (dir, j, run, ids)
}

/// Every item matching `filter`, read a page of `limit` at a time.
fn all_pages(j: &Journal, run: RunId, filter: &ItemFilter, limit: usize) -> Vec<u32> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = j.items_page(run, filter, after, limit).unwrap();
        assert!(page.len() <= limit);
        rows.extend(page.iter().map(|i| i.row));
        match page.last() {
            Some(last) if page.len() == limit => after = Some(last.row),
            _ => break,
        }
    }
    rows
}

#[test]
fn items_page_over_a_hundred_thousand_items_with_filters() {
    let (_dir, j, run, _ids) = big_run();
    let expect = |pick: &dyn Fn(usize) -> bool| -> Vec<u32> {
        (0..100_000usize)
            .filter(|&i| pick(i))
            .map(|i| i as u32 + 2)
            .collect()
    };
    let sent = |i: usize| i.is_multiple_of(50);
    let failed = |i: usize| sent(i) && i.is_multiple_of(5000);
    let rejected = |i: usize| sent(i) && !failed(i) && i % 1000 == 50;

    // The first page, and one deep in the run, in row order.
    let first = j.items_page(run, &ItemFilter::all(), None, 100).unwrap();
    assert_eq!(first.len(), 100);
    assert_eq!(first[0].row, 2);
    assert_eq!(first[99].row, 101);
    let deep = j
        .items_page(run, &ItemFilter::all(), Some(99_950), 100)
        .unwrap();
    let rows: Vec<u32> = deep.iter().map(|i| i.row).collect();
    assert_eq!(rows, (99_951..=100_001).collect::<Vec<_>>());

    // One state, rare, paged across the whole run.
    let f = ItemFilter::state(ItemState::Failed);
    assert_eq!(all_pages(&j, run, &f, 3), expect(&failed));
    assert_eq!(j.items_count(run, &f).unwrap(), 20);
    // Several states, merged in row order across pages.
    let f = ItemFilter {
        states: vec![ItemState::Rejected, ItemState::Failed],
        text: None,
    };
    assert_eq!(
        all_pages(&j, run, &f, 7),
        expect(&|i| failed(i) || rejected(i))
    );
    assert_eq!(j.items_count(run, &f).unwrap(), 120);
    // The common state, in big pages.
    let f = ItemFilter::state(ItemState::Pending);
    let pending = all_pages(&j, run, &f, 5000);
    assert_eq!(pending, expect(&|i| !sent(i)));

    // Text: a ConnectPayId, a server message (and with a state), a key, a row number.
    let text = |t: &str| ItemFilter {
        states: Vec::new(),
        text: Some(t.into()),
    };
    let hit = j.items_page(run, &text("CP99100"), None, 10).unwrap();
    assert_eq!(hit.len(), 1);
    assert_eq!(
        (hit[0].row, hit[0].connectpay_id.as_deref()),
        (99_102, Some("CP99100"))
    );
    assert_eq!(
        all_pages(&j, run, &text("BAD AMOUNT"), 30),
        expect(&rejected)
    );
    let f = ItemFilter {
        states: vec![ItemState::Created],
        text: Some("bad amount".into()),
    };
    assert!(j.items_page(run, &f, None, 10).unwrap().is_empty());
    assert_eq!(j.items_count(run, &f).unwrap(), 0);
    let hit = j.items_page(run, &text("Q-012345"), None, 10).unwrap();
    assert_eq!(hit.iter().map(|i| i.row).collect::<Vec<_>>(), [12_347]);
    let by_row = j.items_page(run, &text("1734"), None, 1000).unwrap();
    assert!(
        by_row.iter().any(|i| i.row == 1734),
        "the row number matches"
    );
    assert!(
        by_row
            .iter()
            .all(|i| i.row == 1734 || i.key.contains("1734") || format!("{i:?}").contains("1734"))
    );
    // Pattern characters are taken literally.
    assert!(j.items_page(run, &text("%"), None, 10).unwrap().is_empty());
    assert!(
        j.items_page(run, &text("Q_0"), None, 10)
            .unwrap()
            .is_empty()
    );

    // Counts by state and sends, in SQL.
    let totals = j.run_totals(run).unwrap();
    assert_eq!(totals.counts.total(), 100_000);
    assert_eq!(totals.counts.failed, 20);
    assert_eq!(totals.counts.rejected, 100);
    assert_eq!(totals.counts.created, 2000 - 120);
    assert_eq!(totals.counts.pending, 98_000);
    assert_eq!(totals.sent, 2000);
    assert_eq!(j.items_count(run, &ItemFilter::all()).unwrap(), 100_000);
}

#[test]
fn an_items_history_a_key_in_a_run_and_a_key_across_runs() {
    let (_dir, _path, j, run, ids) = journal_with_run(3);
    let lock = j.lock_run(run).unwrap();
    let b1 = j.begin_batch(run, "cmo", &ids).unwrap();
    let mut failed = record("HTTP 500");
    failed.http_status = Some(500);
    failed.response_body = Some("Internal Server Error".into());
    j.finish_batch(
        b1,
        &failed,
        &ids.iter()
            .map(|id| {
                (
                    *id,
                    ItemOutcome::Retry {
                        last_error: "HTTP 500".into(),
                    },
                )
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let b2 = j.begin_batch(run, "cmo", &ids[1..2]).unwrap();
    j.finish_batch(b2, &record("ok"), &[(ids[1], created("00440000000001"))])
        .unwrap();
    lock.release().unwrap();

    let history = j.item_history(ids[1]).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].attempt.batch, b1);
    assert_eq!(history[0].attempt.http_status, Some(500));
    assert_eq!(history[0].attempt.result.as_deref(), Some("retry"));
    assert_eq!(
        history[0].response_body.as_deref(),
        Some("Internal Server Error")
    );
    assert_eq!(
        (history[1].attempt.position, history[1].attempt.batch_size),
        (0, 1)
    );
    assert_eq!(history[1].attempt.result.as_deref(), Some("created"));
    assert_eq!(
        history[1].response_body.as_deref(),
        Some("[{\"Status\":\"00\"}]")
    );
    assert!(j.item_history(ItemId(999)).unwrap().is_empty());

    // A second run of another merchant repeats a key.
    let run2 = j.create_run(&new_run("M2")).unwrap();
    j.add_items(run2, &[pending(7, "A-1"), pending(8, "A-1")])
        .unwrap();
    let in_run = j.items_by_key(run2, " A-1 ").unwrap();
    assert_eq!(in_run.iter().map(|i| i.row).collect::<Vec<_>>(), [7, 8]);
    assert!(j.items_by_key(run, "nope").unwrap().is_empty());
    let hits = j.find_key("A-1").unwrap();
    let found: Vec<(RunId, u32, ItemState)> = hits
        .iter()
        .map(|h| (h.run.id, h.item.row, h.item.state))
        .collect();
    assert_eq!(
        found,
        [
            (run, 3, ItemState::Created),
            (run2, 7, ItemState::Pending),
            (run2, 8, ItemState::Pending)
        ]
    );
    assert_eq!(hits[1].run.merchant_id, "M2");
    assert!(j.find_key("A-404").unwrap().is_empty());
}

#[test]
fn a_long_body_is_redacted_before_it_is_compressed_and_a_damaged_one_hides_nothing_else() {
    const PASSWORD: &str = "Zq7!pa ss-w0rd";
    let (_dir, path, j, run, ids) = journal_with_run(2);
    j.set_redactions(vec![Secret::new(PASSWORD)]);
    let _lock = j.lock_run(run).unwrap();
    let b = j.begin_batch(run, "cmo", &ids).unwrap();
    let answer = |i: usize| {
        format!(r#"{{"OrderNumber":"A-{i}","Status":"00","Note":"password {PASSWORD} echoed"}}"#)
    };
    let body = format!("[{}]", (0..40).map(answer).collect::<Vec<_>>().join(","));
    assert!(body.len() > 2048);
    j.finish_batch(
        b,
        &AttemptRecord {
            response_body: Some(body.clone()),
            ..record("ok")
        },
        &[(ids[0], created("1")), (ids[1], created("2"))],
    )
    .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let kind: String = raw
        .query_row(
            "SELECT typeof(response_body) FROM batches WHERE id = ?1",
            [b.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "blob");
    let stored = j.batch_response_body(b).unwrap().unwrap();
    assert_eq!(stored, body.replace(PASSWORD, "***"));

    // One damaged byte: reading that body is an error, and the item's history still
    // shows every request, that body replaced by a note.
    let mut packed: Vec<u8> = raw
        .query_row(
            "SELECT response_body FROM batches WHERE id = ?1",
            [b.0],
            |r| r.get(0),
        )
        .unwrap();
    packed[20] ^= 0xff;
    raw.execute(
        "UPDATE batches SET response_body = ?2 WHERE id = ?1",
        rusqlite::params![b.0, packed],
    )
    .unwrap();
    let err = j.batch_response_body(b).unwrap_err().to_string();
    assert!(err.contains("response body is damaged"), "{err}");
    let history = j.item_history(ids[0]).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].attempt.result.as_deref(), Some("created"));
    let note = history[0].response_body.as_deref().unwrap();
    assert!(
        note.starts_with("[not shown: ") && note.contains("damaged"),
        "{note}"
    );
}

#[test]
fn writes_that_arrive_together_share_one_commit_and_a_refused_one_writes_nothing() {
    let (_dir, _path, j, run, ids) = journal_with_run(6);
    let _lock = j.lock_run(run).unwrap();
    let b1 = j.begin_batch(run, "cmo", &ids[..2]).unwrap();
    let (results, commits) = j.write_group_timed(&[
        // The answer to the first request...
        GroupOp::Finish {
            batch: b1,
            record: record("ok"),
            outcomes: vec![(ids[0], created("1")), (ids[1], created("2"))],
        },
        // ...the next request's write-ahead record...
        GroupOp::Begin {
            run,
            endpoint: "cmo".into(),
            items: ids[2..4].to_vec(),
        },
        // ...a request naming an item already in flight (refused)...
        GroupOp::Begin {
            run,
            endpoint: "cmo".into(),
            items: vec![ids[4], ids[2]],
        },
        // ...and another.
        GroupOp::Begin {
            run,
            endpoint: "cmo".into(),
            items: vec![ids[5]],
        },
    ]);
    assert!(
        matches!(&results[0], GroupResult::Finished(Ok(a)) if a.len() == 2 && a[0].state == ItemState::Created)
    );
    assert!(matches!(results[1], GroupResult::Begun(Ok(_))));
    assert!(
        matches!(
            &results[2],
            GroupResult::Begun(Err(JournalError::InvalidTransition {
                from: ItemState::InFlight,
                ..
            }))
        ),
        "{:?}",
        results[2]
    );
    assert!(matches!(results[3], GroupResult::Begun(Ok(_))));
    // The group was refused before its commit; then one transaction per write, of
    // which the refused one committed nothing.
    assert_eq!(commits.count, 3);
    let state = |i: usize| j.item(ids[i]).unwrap().unwrap().state;
    assert_eq!(
        (0..6).map(state).collect::<Vec<_>>(),
        [
            ItemState::Created,
            ItemState::Created,
            ItemState::InFlight,
            ItemState::InFlight,
            ItemState::Pending,
            ItemState::InFlight
        ]
    );
    // The refused request left no trace: no attempt for its first item.
    assert!(j.item_attempts(ids[4]).unwrap().is_empty());
    assert_eq!(j.item(ids[4]).unwrap().unwrap().attempts, 0);
    // A group nobody refuses is one commit.
    let begun: Vec<BatchId> = results[1..]
        .iter()
        .filter_map(|r| match r {
            GroupResult::Begun(Ok(b)) => Some(*b),
            _ => None,
        })
        .collect();
    let (answers, commits) = j.write_group_timed(&[
        GroupOp::Finish {
            batch: begun[0],
            record: record("ok"),
            outcomes: vec![(ids[2], created("3")), (ids[3], created("4"))],
        },
        GroupOp::Finish {
            batch: begun[1],
            record: record("ok"),
            outcomes: vec![(ids[5], created("6"))],
        },
    ]);
    assert!(
        answers
            .iter()
            .all(|r| matches!(r, GroupResult::Finished(Ok(_))))
    );
    assert_eq!(commits.count, 1);
}

#[test]
fn the_writer_thread_answers_in_queue_order() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, path, j, run, ids) = journal_with_run(3);
    rt.block_on(async {
        let own = Journal::open(&path).unwrap();
        let writer = JournalWriter::start(own).unwrap();
        let lock = writer
            .call(move |j| j.lock_run(run))
            .await
            .unwrap()
            .unwrap();
        let (a, b) = tokio::join!(
            writer.begin_batch(run, "cmo", ids[..2].to_vec()),
            writer.begin_batch(run, "cmo", ids[2..].to_vec())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let applied = writer
            .finish_batch(
                a,
                record("ok"),
                vec![(ids[0], created("1")), (ids[1], exists())],
            )
            .await
            .unwrap();
        assert_eq!(
            applied.iter().map(|x| x.state).collect::<Vec<_>>(),
            [ItemState::Created, ItemState::ExistsBeforeRun]
        );
        assert_eq!(
            applied[1].message.as_deref(),
            Some("Order number already exists")
        );
        // A call queued after the writes sees them.
        let counts = writer.call(move |j| j.counts(run)).await.unwrap().unwrap();
        assert_eq!((counts.created, counts.in_flight), (1, 1));
        writer
            .finish_batch(b, record("ok"), vec![(ids[2], ItemOutcome::Unsent)])
            .await
            .unwrap();
        writer.call(move |_| lock.release()).await.unwrap().unwrap();
        assert!(writer.busy() > Duration::ZERO);
    });
    // Another connection reads what the writer wrote.
    assert_eq!(j.counts(run).unwrap().pending, 1);
    assert!(j.run(run).unwrap().unwrap().lock.is_none());
}
