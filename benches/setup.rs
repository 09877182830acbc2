#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Run set-up and the memory of a whole submit (`cargo bench --bench setup`), through
//! the real binary as a clerk runs it, for a 10,000- and a 100,000-row CSV
//! (`PAYPRO_BENCH_SETUP_ROWS=10000,100000` changes the sizes):
//!
//! - `import`: `validate` of the same file (reading and checking every row: the floor
//!   a submit cannot go below);
//! - `set-up`: `submit` from its start to its first request ("run N: started", which
//!   the engine says right before the first batch leaves): import, plan, the cross-run
//!   guard, journaling every row in one transaction, the lock;
//! - `submit`: the whole run against the simulator (no latency), and its peak memory:
//!   the child's own `ru_maxrss` from `wait4`.
//!
//! Targets (issue 11): set-up linear in the rows (100k at most 12 times 10k) and a
//! 100,000-row submit under 300 MB; the verdicts are printed last.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_paypro-console");

fn write_csv(path: &Path, n: usize) {
    let today = chrono::Local::now().date_naive();
    let due = (today + chrono::Days::new(30))
        .format("%d/%m/%Y")
        .to_string();
    let issue = today.format("%d/%m/%Y").to_string();
    let mut out = String::with_capacity(n * 110);
    out.push_str(
        "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
    );
    for i in 1..=n {
        out.push_str(&format!(
            "BENCH-{i:06},{}.{:02},{due},{issue},Customer {i},0300{:07},c{i}@example.pk,House {i} Lahore\n",
            100 + i % 5000,
            i % 100,
            i % 10_000_000
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// The simulator as a child process; its first stdout line is its URL.
struct Sim {
    child: std::process::Child,
    url: String,
}

impl Sim {
    fn start() -> Sim {
        let mut child = Command::new(BIN)
            .args(["sim", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        lines.read_line(&mut url).unwrap();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut lines, &mut sink);
        });
        Sim {
            child,
            url: url.trim().to_string(),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn console(journal: &Path, sim: &Sim) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--journal")
        .arg(journal)
        .env_remove("PAYPRO_JOURNAL")
        .env_remove("PAYPRO_PROFILE")
        .env("PAYPRO_CONFIG", journal.with_extension("no-profiles.toml"))
        .env("PAYPRO_LOG_DIR", journal.with_extension("logs"))
        .env("PAYPRO_BASE_URL", &sim.url)
        .env("PAYPRO_MERCHANT_ID", "demo")
        .env("PAYPRO_PASSWORD", "demo-pass")
        .stdin(Stdio::null());
    cmd
}

/// Waits for the child and returns its exit code and its own peak resident memory.
fn wait_with_peak(child: &mut std::process::Child) -> (i32, f64) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: wait4 on our own unreaped child; it only writes into the two values we
    // pass, both valid for writing.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // ru_maxrss is in KiB on Linux.
    (code, usage.ru_maxrss as f64 / 1024.0)
}

struct Figures {
    rows: usize,
    import: Duration,
    set_up: Duration,
    submit: Duration,
    peak_mb: f64,
}

fn measure(dir: &Path, rows: usize) -> Figures {
    let csv = dir.join(format!("orders-{rows}.csv"));
    write_csv(&csv, rows);
    let sim = Sim::start();
    let journal = dir.join(format!("journal-{rows}.sqlite3"));

    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["validate", csv.to_str().unwrap(), "--kind", "orders"])
        .env("PAYPRO_CONFIG", journal.with_extension("no-profiles.toml"))
        .env("PAYPRO_LOG_DIR", journal.with_extension("logs"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let import = started.elapsed();
    assert!(out.success(), "validate failed");

    let started = Instant::now();
    let mut child = console(&journal, &sim)
        .args([
            "submit",
            csv.to_str().unwrap(),
            "--yes",
            "--concurrency",
            "8",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut told = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !told && line.contains(": started:") {
                let _ = tx.send(Instant::now());
                told = true;
            }
        }
    });
    let first_request = rx
        .recv_timeout(Duration::from_secs(600))
        .expect("the run never started");
    let set_up = first_request - started;
    let (code, peak_mb) = wait_with_peak(&mut child);
    let submit = started.elapsed();
    assert_eq!(code, 0, "submit of {rows} rows exited {code}");
    for f in [&csv, &journal] {
        let _ = std::fs::remove_file(f);
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = journal.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    Figures {
        rows,
        import,
        set_up,
        submit,
        peak_mb,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PAYPRO_BENCH_SETUP_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for rows in sizes {
        let f = measure(dir.path(), rows);
        println!(
            "{:>7} rows: import {:>6.2} s, set-up (to first request) {:>6.2} s ({:.2}x import), \
             whole submit {:>6.2} s, peak memory {:>6.1} MB",
            f.rows,
            f.import.as_secs_f64(),
            f.set_up.as_secs_f64(),
            f.set_up.as_secs_f64() / f.import.as_secs_f64().max(1e-9),
            f.submit.as_secs_f64(),
            f.peak_mb
        );
        all.push(f);
    }
    if let (Some(small), Some(big)) = (all.first(), all.last())
        && big.rows > small.rows
    {
        let growth = big.set_up.as_secs_f64() / small.set_up.as_secs_f64().max(1e-9);
        let rows_growth = big.rows as f64 / small.rows as f64;
        println!(
            "set-up {}x the rows: {growth:.1}x the time (target at most {:.0}x): {}",
            rows_growth,
            rows_growth * 1.2,
            if growth <= rows_growth * 1.2 {
                "ok"
            } else {
                "OVER"
            }
        );
        println!(
            "peak memory of the {}-row submit: {:.1} MB (target under 300 MB): {}",
            big.rows,
            big.peak_mb,
            if big.peak_mb < 300.0 { "ok" } else { "OVER" }
        );
    }
}
