//! The one test-support module: it starts simulators and binaries for every test file.
//! Here: the simulator as a child process (its first stdout line is its URL), the
//! console binary with a test journal and the demo merchant's credentials, a
//! generated orders CSV, the samples, and readers for `show --json`, `runs --json`,
//! `GET /__sim/orders` and `GET /__sim/consumers`; in [`inproc`], the simulator inside
//! the test process (the engine and client tests, and `tests/support_api`, use it).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod inproc;

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_paypro-console");

/// `paypro-console sim` on an OS-chosen loopback port; killed when dropped.
pub struct Sim {
    child: Child,
    pub url: String,
}

impl Sim {
    pub fn start(args: &[&str]) -> Sim {
        Sim::start_on("127.0.0.1:0", args)
    }

    /// The simulator on `listen` (`127.0.0.1:PORT` to come back on a port it had).
    pub fn start_on(listen: &str, args: &[&str]) -> Sim {
        let mut child = Command::new(BIN)
            .args(["sim", "--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the simulator");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        lines.read_line(&mut url).unwrap();
        let url = url.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "sim said {url:?}");
        // Keep the pipe drained so the simulator never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Sim { child, url }
    }

    /// A simulator meeting every fault kind (500, HTML 200, truncated JSON, drop before
    /// and after store) at `rate` each, deterministic under `seed`.
    pub fn with_every_fault(seed: &str, rate: &str) -> Sim {
        Sim::with_every_fault_shaped(seed, rate, &[])
    }

    /// [`Sim::with_every_fault`] with more arguments (`--guide-responses`).
    pub fn with_every_fault_shaped(seed: &str, rate: &str, more: &[&str]) -> Sim {
        let mut args = vec![
            "--seed",
            seed,
            "--fail-500-rate",
            rate,
            "--html-200-rate",
            rate,
            "--truncate-rate",
            rate,
            "--drop-before-rate",
            rate,
            "--drop-after-rate",
            rate,
        ];
        args.extend_from_slice(more);
        Sim::start(&args)
    }

    /// Every order the simulator holds.
    pub fn orders(&self) -> Vec<Value> {
        let (status, body) = http("GET", &format!("{}/__sim/orders", self.url), None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The simulator's orders by order number, asserting none is held twice.
    pub fn orders_by_number(&self) -> HashMap<String, Value> {
        let mut map = HashMap::new();
        for o in self.orders() {
            let number = o["OrderNumber"].as_str().unwrap().to_string();
            assert!(
                map.insert(number.clone(), o).is_none(),
                "the simulator holds order {number} twice"
            );
        }
        map
    }

    /// Every consumer the simulator holds.
    pub fn consumers(&self) -> Vec<Value> {
        let (status, body) = http("GET", &format!("{}/__sim/consumers", self.url), None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, String) {
        http(
            "POST",
            &format!("{}{path}", self.url),
            Some(body.to_string()),
        )
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP request with reqwest on a throwaway runtime.
pub fn http(method: &str, url: &str, body: Option<String>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let req = match method {
            "GET" => client.get(url),
            _ => client
                .post(url)
                .header("content-type", "application/json")
                .body(body.unwrap_or_default()),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    })
}

/// The console with this journal, the simulator's URL and the demo merchant's
/// credentials in the environment, and nothing from the user's own settings.
pub fn console(journal: &Path, sim: &Sim) -> Command {
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

/// Runs the console to its end and returns what it printed.
pub fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.output().expect("run the console")
}

/// A file of the crate's samples/ directory.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A CSV of `n` valid orders numbered `{prefix}-00001`...; amounts vary, dates are
/// around today so that no due date is in the past.
pub fn write_orders_csv(path: &Path, prefix: &str, n: usize) {
    let today = chrono::Local::now().date_naive();
    let due = today + chrono::Days::new(30);
    let mut out = String::from(
        "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
    );
    for i in 1..=n {
        out.push_str(&format!(
            "{prefix}-{i:05},{}.{:02},{},{},Customer {i},0300{:07},c{i}@example.pk,House {i} Lahore\n",
            100 + i * 7,
            i % 100,
            due.format("%d/%m/%Y"),
            today.format("%d/%m/%Y"),
            i
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// `show RUN --json`.
pub fn show(journal: &Path, sim: &Sim, run: i64) -> Vec<Value> {
    let mut cmd = console(journal, sim);
    cmd.args(["show", &run.to_string(), "--json"]);
    let out = run_ok(cmd);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `runs --json`.
pub fn runs(journal: &Path, sim: &Sim) -> Vec<Value> {
    let mut cmd = console(journal, sim);
    cmd.args(["runs", "--json"]);
    let out = run_ok(cmd);
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn run_ok(cmd: Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The one JSON object a `--json` command printed on stdout.
pub fn summary(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e})\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Sends SIGKILL to a child (no chance to clean up, like a crash or a pulled plug);
/// std's `Child::kill` is SIGKILL on Unix.
pub fn sigkill(child: &mut Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

/// Sends SIGINT, as Ctrl-C on a terminal does.
pub fn sigint(child: &Child) {
    signal(child, libc::SIGINT);
}

/// Sends `sig` to a child of ours.
pub fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid of our own unreaped child; no memory is involved.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0);
}

/// Polls `check` until it gives a value or `timeout` passes (then panics with `what`).
/// For waiting on the journal's or the simulator's state, never a fixed sleep.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `submit CSV --yes --concurrency 1 MORE…` started in the background; returns once
/// its run `run` has started and the simulator holds at least `stored` orders (so the
/// run is part-way, whatever is done to it next).
pub fn submit_part_way(
    journal: &Path,
    sim: &Sim,
    csv: &Path,
    more: &[&str],
    run: i64,
    stored: usize,
) -> Watched {
    let mut cmd = console(journal, sim);
    cmd.args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
        "--concurrency",
        "1",
    ])
    .args(more);
    let mut w = spawn_watched(cmd);
    w.wait_for(&format!("run {run}: started"), Duration::from_secs(60));
    wait_until("orders stored", Duration::from_secs(30), || {
        (sim.orders().len() >= stored).then_some(())
    });
    w
}

/// The run `run` as `runs --json` lists it.
pub fn run_entry(journal: &Path, sim: &Sim, run: i64) -> Value {
    runs(journal, sim)
        .into_iter()
        .find(|r| r["run"] == run)
        .unwrap_or_else(|| panic!("run {run} is not listed"))
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Settled states of the architecture's state machine, as `show --json` names them.
pub const SETTLED: [&str; 6] = [
    "invalid",
    "created",
    "exists_before_run",
    "exists_id_unknown",
    "rejected",
    "skipped",
];

/// A console process whose stderr lines arrive on a channel (stdout is collected by a
/// thread and returned by [`Watched::finish`]).
pub struct Watched {
    pub child: Child,
    pub lines: std::sync::mpsc::Receiver<String>,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    pub seen: Vec<String>,
}

pub fn spawn_watched(mut cmd: Command) -> Watched {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the console");
    let stderr = child.stderr.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    Watched {
        child,
        lines: rx,
        stdout: Some(out),
        seen: Vec::new(),
    }
}

impl Watched {
    /// Waits for a stderr line containing `needle`; panics after `timeout`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {timeout:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the exit; returns the code, stdout and all of stderr.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), text(&stdout), self.seen.join("\n"))
    }
}

/// Starts a console command, waits for its drive to start, lets it run `delay` (the
/// moment of the kill, not a wait for something to happen), then SIGKILLs it. Returns
/// the run number it announced.
pub fn start_and_kill(cmd: Command, delay: Duration) -> i64 {
    let mut w = spawn_watched(cmd);
    let line = w.wait_for(": started:", Duration::from_secs(60));
    let run: i64 = line
        .strip_prefix("run ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no run number in {line:?}"));
    std::thread::sleep(delay);
    sigkill(&mut w.child);
    run
}
