#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Engine throughput against the in-process simulator (`cargo bench --bench engine`),
//! for a 20,000-row and a 100,000-row run (`PAYPRO_BENCH_ORDERS=20000,100000` changes
//! the sizes), through the run API (`engine::start`):
//!
//! 1. 100 ms server latency, concurrency 4, batches of 50: orders/s next to the ceiling
//!    50 * 4 / 0.1 s = 2,000/s: `ceiling ratio at 100 ms: N%` (target at least 95 %).
//! 2. No latency: `journal per batch at zero latency: N ms` (target at most 0.5 ms,
//!    "about two fsync'd commits"): the wall time the journal's writer thread spends
//!    inside journal calls (every write and read of the drive: statements, commits,
//!    waiting for fsync, waiting for a CPU), divided by the requests sent. Beside it,
//!    `journal CPU per batch at zero latency: N ms`: that thread's own CPU time in the
//!    same calls (its thread CPU clock: SQLite's work and the kernel's for its writes
//!    and syncs, no waiting), which is what the journal costs on an idle machine with
//!    a fast disk; the wall time of the commits themselves (WAL frames written and
//!    fsync'd: the disk's part), commits per batch, and what one small fsync'd commit
//!    costs on the same disk before and after the run; and the wall time split into
//!    CPU, waiting for a CPU (Linux's run-queue time of the thread: with the simulator
//!    and the client in the same process, the two cores are rarely free) and the rest,
//!    asleep (mostly the commits' fsyncs). The WAL's checkpoints run on a thread of their
//!    own while a run writes: their time is printed on a line of its own and is not in
//!    the writer's figure (the run never waits for them). `journal share at zero
//!    latency: N%` of wall time is for information (it also depends on how fast the
//!    simulator answers).
//! 3. Queries a face makes on the run just driven: a page of 100 rows at the start and
//!    deep into the run, of a rare state, by text, and the counts.
//! 4. `journal alone`: the same writer writing the same records for the same number of
//!    rows, eight requests journaled at once and four answered at a time as concurrency
//!    4 makes them, with no simulator or client beside it (the answers are made up in
//!    the shape and size of the simulator's): what the journal costs with the machine's
//!    cores to itself. `PAYPRO_BENCH_JOURNAL_ONLY=1` runs this
//!    part alone (the quietest A/B comparison of journal changes).
//! 5. `journal floor`: the statements a journal that keeps every item's state current
//!    cannot do without, on the journal's schema with nothing else around them (no
//!    checks, no JSON, no threads), in two commits per batch and in one; and the
//!    requests' rows alone (no item written). The journal's figures read against these
//!    say how much of them is the journal's own overhead and how much the design's.
//!    Runs with part 4.
//!
//! The journal lives under `target/` (a real disk, fsync per commit) unless
//! `PAYPRO_BENCH_DIR` names another directory. `PAYPRO_BENCH_SKIP_LATENCY=1` runs the
//! zero-latency part alone (quick A/B comparisons of the journal: the machine's speed
//! drifts by a fifth within the hour, so compare builds run one after the other).

// The simulator is started as every test starts it in-process.
#[path = "../tests/common/inproc.rs"]
mod inproc;

use chrono::NaiveDate;
use paypro_console::api::{ClientConfig, Endpoint};
use paypro_console::domain::{Kind, Money, Order};
use paypro_console::engine::{self, EngineSettings, Event, RunHandle, RunSource, Start};
use paypro_console::journal::{
    AttemptRecord, CheckpointFigures, ItemFilter, ItemId, ItemOutcome, ItemState, Journal,
    JournalWriter, PendingItem, RunId, RunState,
};
use paypro_console::secret::Secret;
use paypro_console::sheet::{Imported, ImportedRow, Item};
use paypro_console::sim::{self, FaultConfig, SimConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sheet(n: usize, prefix: &str) -> Imported {
    let rows = (0..n)
        .map(|i| {
            let order = Order {
                order_number: format!("{prefix}-{i:06}"),
                amount: Money::from_cents(10_000 + i as i64).unwrap(),
                due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                issue_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                customer_name: format!("Customer {i}"),
                customer_mobile: "03123456789".into(),
                customer_email: "clerk@example.pk".into(),
                customer_address: "Street 1, Lahore".into(),
                expire_after_seconds: None,
                amount_within_due_date: None,
                amount_after_due_date: None,
            };
            ImportedRow {
                row: i as u32 + 2,
                key: order.order_number.clone(),
                item: Some(Item::Order(order)),
                issues: Vec::new(),
                raw: Vec::new(),
            }
        })
        .collect();
    Imported {
        file: PathBuf::from("bench.xlsx"),
        sheet: "Sheet1".into(),
        kind: Kind::Orders,
        kind_guessed: false,
        header_row: 1,
        columns: Vec::new(),
        unknown_columns: Vec::new(),
        rows,
        issues: Vec::new(),
    }
}

struct Outcome {
    elapsed: Duration,
    journal: Duration,
    journal_cpu: Duration,
    journal_call_cpu: Duration,
    journal_commits: u64,
    journal_commit_time: Duration,
    journal_cpu_wait: Option<Duration>,
    checkpoints: CheckpointFigures,
    requests: u64,
    created: u64,
    /// Mean time from a request leaving to its answer being journaled.
    request_ms: f64,
    /// Kept for the query figures.
    journal_file: Journal,
    run: RunId,
    _dir: tempfile::TempDir,
}

async fn run_once(n: usize, latency_ms: u64, prefix: &str) -> Outcome {
    let config = SimConfig {
        faults: FaultConfig {
            latency_ms,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = inproc::start(config).await;
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let journal = Journal::open(&dir.path().join("journal.sqlite3")).unwrap();
    let prepared = engine::prepare_run(
        &journal,
        &sheet(n, prefix),
        &RunSource {
            file: PathBuf::from("bench.xlsx"),
            sha256: "00".repeat(32),
        },
        sim::DEMO_MERCHANT_ID,
        &sim.base_url,
        false,
    )
    .unwrap();
    let connection = ClientConfig::new(
        sim.base_url.clone(),
        sim::DEMO_MERCHANT_ID,
        Secret::new(sim::DEMO_MERCHANT_PASSWORD),
    );
    let settings = EngineSettings {
        concurrency: 4,
        batch_size: 50,
        seed: Some(1),
        ..EngineSettings::default()
    };
    let handle = engine::start(
        &journal,
        Start::Resume(prepared.run),
        Some(connection),
        &settings,
    )
    .await
    .unwrap();
    let RunHandle {
        mut events, report, ..
    } = handle;
    // A face would read the events; read them so they do not pile up.
    let reader = tokio::spawn(async move {
        let mut sent = std::collections::HashMap::new();
        let (mut total, mut count) = (Duration::ZERO, 0u32);
        while let Some(event) = events.recv().await {
            match event {
                Event::BatchSent { batch, .. } => {
                    sent.insert(batch, Instant::now());
                }
                Event::BatchDone { batch, .. } => {
                    if let Some(at) = sent.remove(&batch) {
                        total += at.elapsed();
                        count += 1;
                    }
                }
                _ => {}
            }
        }
        total.as_secs_f64() * 1000.0 / f64::from(count.max(1))
    });
    let report = report.await.unwrap();
    let request_ms = reader.await.unwrap();
    assert_eq!(report.state, RunState::Completed);
    sim.shutdown().await;
    Outcome {
        elapsed: report.elapsed,
        journal: report.journal_time,
        journal_cpu: report.journal_cpu,
        journal_call_cpu: report.journal_call_cpu,
        journal_commits: report.journal_commits,
        journal_commit_time: report.journal_commit_time,
        journal_cpu_wait: report.journal_cpu_wait,
        checkpoints: report.journal_checkpoints,
        requests: report.requests,
        created: report.counts.created,
        request_ms,
        journal_file: journal,
        run: prepared.run,
        _dir: dir,
    }
}

/// Where the bench's journals live: a real disk (fsync per commit).
fn bench_dir() -> PathBuf {
    let base = std::env::var_os("PAYPRO_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// What one fsync'd SQLite commit costs on the bench's disk right now (WAL,
/// `synchronous=FULL`, one small row), so the journal's figure can be read against it:
/// the disk's sync latency varies a lot with what else the machine does.
fn commit_ms(base: &std::path::Path) -> f64 {
    let dir = tempfile::tempdir_in(base).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("fsync-probe.sqlite3")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let n = 50;
    let started = Instant::now();
    for i in 0..n {
        conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
    }
    started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
}

/// Milliseconds `f` takes (best of three, so a page cache miss does not count).
fn time_ms<T>(mut f: impl FnMut() -> T) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// What a face's queries cost on a run just driven.
fn queries(n: usize, o: &Outcome) {
    let j = &o.journal_file;
    let all = ItemFilter::all();
    let deep_row = u32::try_from(n).unwrap() - 100;
    let deep = Some(deep_row);
    let first = time_ms(|| j.items_page(o.run, &all, None, 100).unwrap());
    let deeper = time_ms(|| j.items_page(o.run, &all, deep, 100).unwrap());
    let rare = ItemFilter::state(ItemState::Failed);
    let rare_ms = time_ms(|| j.items_page(o.run, &rare, None, 100).unwrap());
    let text = ItemFilter {
        states: Vec::new(),
        text: Some(format!("-{:06}", n - 7)),
    };
    let text_ms = time_ms(|| j.items_page(o.run, &text, None, 100).unwrap());
    let counts_ms = time_ms(|| j.run_totals(o.run).unwrap());
    let runs_ms = time_ms(|| j.runs().unwrap());
    println!(
        "engine {n} rows: queries: page of 100 first {first:.2} ms, at row {} {deeper:.2} ms; \
         a state no row has {rare_ms:.2} ms; text search {text_ms:.2} ms; counts by state \
         {counts_ms:.2} ms; runs with totals {runs_ms:.2} ms",
        deep_row
    );
}

fn main() {
    // `cargo bench` passes --bench. Without it (`cargo test --all-targets` runs bench
    // targets as smoke tests) do not spend minutes: say so and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("engine bench: run with `cargo bench --bench engine`");
        return;
    }
    let sizes: Vec<usize> = std::env::var("PAYPRO_BENCH_ORDERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20_000, 100_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for n in sizes {
        // For quick comparisons of the journal's own cost: its part alone.
        if std::env::var_os("PAYPRO_BENCH_JOURNAL_ONLY").is_some() {
            rt.block_on(journal_alone(n));
            journal_floor(n);
            continue;
        }
        // For quick comparisons of the journal: the zero-latency part alone.
        if std::env::var_os("PAYPRO_BENCH_SKIP_LATENCY").is_none() {
            let o = rt.block_on(run_once(n, 100, "LAT"));
            let rate = o.created as f64 / o.elapsed.as_secs_f64();
            let ceiling = 50.0 * 4.0 / 0.1;
            println!(
                "engine {n} rows: latency 100 ms, concurrency 4, batch 50: {:.2} s, {} requests, \
                 {rate:.0} orders/s against a ceiling of {ceiling:.0}/s; mean request, sent to \
                 journaled: {:.1} ms",
                o.elapsed.as_secs_f64(),
                o.requests,
                o.request_ms
            );
            println!(
                "engine {n} rows: ceiling ratio at 100 ms: {:.1}%",
                100.0 * rate / ceiling
            );
            drop(o);
        }

        let base = bench_dir();
        let commit_before = commit_ms(&base);
        let o = rt.block_on(run_once(n, 0, "ZERO"));
        let commit_after = commit_ms(&base);
        let rate = o.created as f64 / o.elapsed.as_secs_f64();
        println!(
            "engine {n} rows: no latency: {:.2} s, {} requests, {rate:.0} orders/s, journal \
             writer busy {:.2} s",
            o.elapsed.as_secs_f64(),
            o.requests,
            o.journal.as_secs_f64()
        );
        let per_batch = |d: Duration| d.as_secs_f64() * 1000.0 / o.requests.max(1) as f64;
        let commits = o.journal_commits as f64 / o.requests.max(1) as f64;
        // What a commit of the run cost on average: the disk's part of the wall figure.
        let per_commit =
            o.journal_commit_time.as_secs_f64() * 1000.0 / o.journal_commits.max(1) as f64;
        println!(
            "engine {n} rows: journal per batch at zero latency: {:.3} ms (wall time of the \
             journal's writer inside journal calls, fsync waits included, per request of 50)",
            per_batch(o.journal)
        );
        println!(
            "engine {n} rows: journal CPU per batch at zero latency: {:.3} ms (the writer \
             thread's CPU clock over the same calls; of it reads of pending items and other \
             calls {:.3} ms)",
            per_batch(o.journal_cpu),
            per_batch(o.journal_call_cpu)
        );
        println!(
            "engine {n} rows: of the wall time, commits (WAL written and fsync'd): {:.3} ms \
             per batch; {commits:.2} commits per batch at {per_commit:.3} ms each; one small \
             fsync'd commit on this disk before and after the run: {commit_before:.3} ms, \
             {commit_after:.3} ms",
            per_batch(o.journal_commit_time)
        );
        match o.journal_cpu_wait {
            Some(wait) => {
                // What is neither CPU nor waiting for one: asleep, mostly in the commits'
                // fsyncs (also the writer's own finishing checkpoints).
                let blocked = o.journal.saturating_sub(o.journal_cpu + wait);
                println!(
                    "engine {n} rows: the wall time split: {:.3} ms CPU, {:.3} ms waiting for a \
                     CPU (ready to run while the simulator, the client, the engine and the \
                     checkpoint thread had this machine's {} cores), {:.3} ms blocked (asleep: \
                     mostly the commits' fsyncs) per batch",
                    per_batch(o.journal_cpu),
                    per_batch(wait),
                    cores(),
                    per_batch(blocked)
                );
            }
            None => println!(
                "engine {n} rows: of the wall time, waiting for a CPU: not reported by this \
                 system"
            ),
        }
        let c = o.checkpoints;
        println!(
            "engine {n} rows: checkpoints, on a thread of their own (not in the figure above): \
             {} taking {:.3} ms per batch ({:.3} ms CPU); the WAL held at most {} pages; made \
             by the writer itself (in its figure): {} finishing a copy the thread nearly made, \
             {} at the backstop",
            c.count,
            per_batch(c.wall),
            per_batch(c.cpu),
            c.most_wal_pages,
            c.finishes,
            c.backstops
        );
        println!(
            "engine {n} rows: journal share at zero latency: {:.1}%",
            100.0 * o.journal.as_secs_f64() / o.elapsed.as_secs_f64()
        );
        queries(n, &o);
        drop(o);
        rt.block_on(journal_alone(n));
        journal_floor(n);
    }
}

/// The journal's part of a zero-latency run without the simulator and the client: the
/// same writer (its own connection, redacting the merchant password, as the engine
/// opens it), the same records (write-ahead, then an answer shaped and sized as the
/// simulator's, 50 orders created), as the engine's concurrency 4 makes them: eight
/// requests journaled at once, four of them "on the wire" (here: answered at once),
/// pending items read 800 at a time. Nothing else is on the machine's cores. What the
/// journal costs when it does not share the CPUs with a stand-in for PayPro's server.
async fn journal_alone(n: usize) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let path = dir.path().join("journal.sqlite3");
    let journal = Journal::open(&path).unwrap();
    let run = offline_run(&journal, n, "ALONE");
    let _lock = journal.lock_run(run).unwrap();
    let own = Journal::open(&path).unwrap();
    own.set_redactions(vec![Secret::new(sim::DEMO_MERCHANT_PASSWORD)]);
    let writer = JournalWriter::start(own).unwrap();
    let next: Arc<tokio::sync::Mutex<(Option<u32>, Vec<PendingItem>)>> = Default::default();
    let wire = Arc::new(tokio::sync::Semaphore::new(4));
    let (busy, cpu, commits) = (writer.busy(), writer.cpu(), writer.commits());
    // Not known before the writer's first request: nothing waited before it.
    let wait = writer.cpu_wait().unwrap_or_default();
    let started = Instant::now();
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let (writer, next, wire) = (writer.clone(), next.clone(), wire.clone());
            tokio::spawn(async move {
                let mut requests = 0u64;
                loop {
                    let batch = next_batch(&writer, run, &next).await;
                    if batch.is_empty() {
                        return requests;
                    }
                    let ids = batch.iter().map(|p| p.id).collect();
                    let id = writer
                        .begin_batch(run, Endpoint::Cmo.path(), ids)
                        .await
                        .unwrap();
                    let turn = wire.acquire().await.unwrap();
                    let (body, outcomes) = created_answer(&batch);
                    drop(turn);
                    let record = AttemptRecord {
                        http_status: Some(200),
                        duration_ms: 1,
                        outcome: "ok".into(),
                        response_body: Some(body),
                    };
                    writer.finish_batch(id, record, outcomes).await.unwrap();
                    requests += 1;
                }
            })
        })
        .collect();
    let mut requests = 0;
    for sender in senders {
        requests += sender.await.unwrap();
    }
    let elapsed = started.elapsed();
    let per_batch = |d: Duration| d.as_secs_f64() * 1000.0 / requests.max(1) as f64;
    let wait = writer.cpu_wait().map_or_else(String::new, |to| {
        format!(
            ", waiting for a CPU {:.3} ms",
            per_batch(to.saturating_sub(wait))
        )
    });
    println!(
        "engine {n} rows: journal alone (the same writer and records, eight requests \
         journaled at once, no simulator or client beside it): {requests} requests in {:.2} \
         s; per batch {:.3} ms wall, {:.3} ms CPU{wait}; {:.2} commits per batch",
        elapsed.as_secs_f64(),
        per_batch(writer.busy() - busy),
        per_batch(writer.cpu() - cpu),
        (writer.commits() - commits) as f64 / requests.max(1) as f64
    );
}

/// A run of `n` orders journaled for a server that is never called (the parts that
/// make up the answers themselves).
fn offline_run(journal: &Journal, n: usize, prefix: &str) -> RunId {
    engine::prepare_run(
        journal,
        &sheet(n, prefix),
        &RunSource {
            file: PathBuf::from("bench.xlsx"),
            sha256: "00".repeat(32),
        },
        sim::DEMO_MERCHANT_ID,
        "http://127.0.0.1:9",
        false,
    )
    .unwrap()
    .run
}

/// One batch's statements' values for [`journal_floor`], made before the clock starts.
struct FloorBatch {
    first: i64,
    last: i64,
    members: String,
    /// Per member: its ConnectPay id and its answer's description.
    answers: Vec<(i64, String, String)>,
    results: String,
    body: Vec<u8>,
}

/// The least a journal that keeps every item's state current can cost per batch on
/// this machine: the statements such a journal cannot do without, and nothing else.
/// The journal's own schema, pragmas and indexes, a run of `n` pending orders; per
/// batch, the request's row with its members and the items marked in flight (one
/// statement over the id range, as the writer marks fresh items), then the answer: one
/// statement per item (its state and the answer's fields) and the request's row (its
/// results and the simulator-shaped answer, compressed as the journal compresses it).
/// No lock check, no reading of where the items stand, no checks of the answer, no
/// redaction, compression or JSON building (made before the clock starts), no threads
/// or channels; checkpoints outside the clock. Timed with each batch in two fsync'd
/// commits (write-ahead, answer), and in one (an answer committed together with the
/// next batch's write-ahead: what the writer's group commit does when it can). The
/// journal's figures are read against these: what is left above them is the journal's
/// own overhead; what they cost is the floor of this design. A third timing keeps only
/// the requests' rows (one commit per batch): the floor of a journal that would only
/// append requests and answers and derive the items' states from them, writing neither
/// the item updates nor their index entries.
fn journal_floor(n: usize) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    for (commits_per_batch, items) in [(2, true), (1, true), (1, false)] {
        let path = dir
            .path()
            .join(format!("floor-{commits_per_batch}-{items}.sqlite3"));
        let journal = Journal::open(&path).unwrap();
        let run = offline_run(&journal, n, "FLOOR");
        let batches = floor_batches(&journal, run);
        drop(journal);
        let conn = rusqlite::Connection::open(&path).unwrap();
        // The journal's own settings (`Journal::open`); checkpoints are taken by hand.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON; PRAGMA wal_autocheckpoint = 0;",
        )
        .unwrap();
        let (mut wall, mut cpu) = (Duration::ZERO, Duration::ZERO);
        let mut open_answer: Option<(i64, &FloorBatch)> = None;
        for (i, batch) in batches.iter().enumerate() {
            let (started, started_cpu) = (Instant::now(), thread_cpu());
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            if let Some((id, answered)) = open_answer.take() {
                floor_answer(&conn, id, answered, items);
                if commits_per_batch == 2 {
                    conn.execute_batch("COMMIT; BEGIN IMMEDIATE").unwrap();
                }
            }
            let id = floor_write_ahead(&conn, run, batch, items);
            conn.execute_batch("COMMIT").unwrap();
            open_answer = Some((id, batch));
            if i + 1 == batches.len() {
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                floor_answer(&conn, id, batch, items);
                conn.execute_batch("COMMIT").unwrap();
                open_answer = None;
            }
            wall += started.elapsed();
            cpu += thread_cpu() - started_cpu;
            if i % 100 == 99 {
                conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                    .unwrap();
            }
        }
        assert!(open_answer.is_none());
        let (created, answered): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM items WHERE run_id = ?1 AND state = 'created'),
                        (SELECT count(*) FROM batches WHERE run_id = ?1 AND results IS NOT NULL)",
                [run.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(answered as usize, batches.len(), "every request answered");
        assert_eq!(created as usize, if items { n } else { 0 });
        let per_batch = |d: Duration| d.as_secs_f64() * 1000.0 / batches.len().max(1) as f64;
        let what = if items {
            "the statements alone, on the journal's schema, nothing else on the cores"
        } else {
            "the requests' rows alone, no item written"
        };
        println!(
            "engine {n} rows: journal floor ({what}), {commits_per_batch} commit{} per batch: \
             {:.3} ms wall, {:.3} ms CPU per batch",
            if commits_per_batch == 1 { "" } else { "s" },
            per_batch(wall),
            per_batch(cpu)
        );
    }
}

/// The run's pending items in batches of 50, each with the values its statements bind.
fn floor_batches(journal: &Journal, run: RunId) -> Vec<FloorBatch> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = journal.pending_page(run, after, 800).unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = Some(last.row);
        for batch in page.chunks(50) {
            let ids: Vec<i64> = batch.iter().map(|p| p.id.0).collect();
            assert!(
                ids.windows(2).all(|w| w[0] + 1 == w[1]),
                "fresh ids are consecutive"
            );
            let (body, outcomes) = created_answer(batch);
            let answers = outcomes
                .into_iter()
                .map(|(id, outcome)| match outcome {
                    ItemOutcome::Created {
                        connectpay_id,
                        description,
                        ..
                    } => (id.0, connectpay_id, description.unwrap_or_default()),
                    other => panic!("the bench's answers create every order, not {other:?}"),
                })
                .collect();
            let mut deflate =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut deflate, body.as_bytes()).unwrap();
            out.push(FloorBatch {
                first: ids[0],
                last: ids[ids.len() - 1],
                members: serde_json::to_string(&ids).unwrap(),
                answers,
                results: serde_json::to_string(&vec![
                    ("created", "00", "Success", None::<&str>);
                    ids.len()
                ])
                .unwrap(),
                body: deflate.finish().unwrap(),
            });
        }
    }
}

/// The write-ahead record's statements (`begin_batch`, fresh items): the request's row
/// and (if `items`) its items in flight. Returns the request's id.
fn floor_write_ahead(
    conn: &rusqlite::Connection,
    run: RunId,
    batch: &FloorBatch,
    items: bool,
) -> i64 {
    let now = chrono::Utc::now().to_rfc3339();
    conn.prepare_cached(
        "INSERT INTO batches (run_id, endpoint, item_count, started_at, members)
         VALUES (?1, '/cmo', ?2, ?3, ?4)",
    )
    .unwrap()
    .execute(rusqlite::params![run.0, 50, now, batch.members])
    .unwrap();
    let id = conn.last_insert_rowid();
    if !items {
        return id;
    }
    let marked = conn
        .prepare_cached(
            "UPDATE items SET state = 'in_flight', attempts = attempts + 1, updated_at = ?4,
                sent_in = coalesce(sent_in || ',', '') || ?5
             WHERE id BETWEEN ?2 AND ?3 AND +run_id = ?1 AND +state = 'pending'",
        )
        .unwrap()
        .execute(rusqlite::params![run.0, batch.first, batch.last, now, id])
        .unwrap();
    assert_eq!(marked, batch.answers.len());
    id
}

/// The answer's statements (`finish_batch`): (if `items`) each item's state and
/// fields, then the request's row.
fn floor_answer(conn: &rusqlite::Connection, id: i64, batch: &FloorBatch, items: bool) {
    let now = chrono::Utc::now().to_rfc3339();
    if items {
        let mut settle = conn
            .prepare_cached(
                "UPDATE items SET state = 'created', attempts = 1, connectpay_id = ?2,
                    fee = '35.00', status_code = '00', description = ?3, updated_at = ?4
                 WHERE id = ?1",
            )
            .unwrap();
        for (item, connectpay_id, description) in &batch.answers {
            settle
                .execute(rusqlite::params![item, connectpay_id, description, now])
                .unwrap();
        }
    }
    conn.prepare_cached(
        "UPDATE batches SET finished_at = ?2, duration_ms = 1, http_status = 200, outcome = 'ok',
            response_body = ?3, results = ?4
         WHERE id = ?1",
    )
    .unwrap()
    .execute(rusqlite::params![id, now, batch.body, batch.results])
    .unwrap();
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "the thread CPU clock is unavailable");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The next 50 pending items, read from the journal 800 at a time as the engine reads
/// them; empty once the run has none left.
async fn next_batch(
    writer: &JournalWriter,
    run: RunId,
    next: &tokio::sync::Mutex<(Option<u32>, Vec<PendingItem>)>,
) -> Vec<PendingItem> {
    let mut next = next.lock().await;
    if next.1.is_empty() {
        let after = next.0;
        let mut page = writer
            .call(move |j| j.pending_page(run, after, 800))
            .await
            .unwrap()
            .unwrap();
        next.0 = page.last().map(|p| p.row).or(after);
        page.reverse();
        next.1 = page;
    }
    let at = next.1.len().saturating_sub(50);
    next.1.split_off(at)
}

/// The simulator's answer to a request creating `batch`'s orders, as text, and the
/// outcome of each.
fn created_answer(batch: &[PendingItem]) -> (String, Vec<(ItemId, ItemOutcome)>) {
    let mut answers = Vec::with_capacity(batch.len());
    let mut outcomes = Vec::with_capacity(batch.len());
    for item in batch {
        let id = format!("{:012}", 400_000_000_000u64 + u64::from(item.row));
        let description = format!("Order number {} created successfully", item.key);
        answers.push(serde_json::json!({
            "Status": "00",
            "Description": description,
            "OrderAmount": format!("{}.00", 100 + item.row % 900),
            "ConnectPayFee": "35.00",
            "ConnectPayId": id,
            "OrderNumber": item.key,
            "IsFeeApplied": "True",
            "PayProId": id,
            "BillUrl": format!("https://bill.sim.invalid/{id}"),
            "Click2Pay": format!("https://pay.sim.invalid/{id}"),
            "1LinkCharge": "0",
            "BAFCharge": "False",
            "IPGList": [],
        }));
        outcomes.push((
            item.id,
            ItemOutcome::Created {
                connectpay_id: id,
                fee: Some("35.00".parse().unwrap()),
                status_code: "00".into(),
                description: Some(description),
            },
        ));
    }
    let mut out = vec![serde_json::json!({ "Status": "00", "Description": "Success" })];
    out.extend(answers);
    let body = serde_json::Value::Array(out).to_string();
    (body, outcomes)
}

/// The cores this process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
