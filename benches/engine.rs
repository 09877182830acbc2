#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Engine throughput against the in-process simulator (`cargo bench --bench engine`).
//!
//! 1. 20,000 orders, 100 ms server latency, concurrency 4, batches of 50: orders/s next
//!    to the ceiling 50 * 4 / 0.1 s = 2,000/s (target: at least 85 % of it).
//! 2. The same with no latency: the journal's share of wall time (time inside journal
//!    calls, which are serialised, over the run's elapsed time).
//!
//! The journal lives under `target/` (a real disk, fsync per commit) unless
//! `PAYPRO_BENCH_DIR` names another directory. `PAYPRO_BENCH_ORDERS` changes the count.

use chrono::NaiveDate;
use paypro_console::api::{Client, ClientConfig};
use paypro_console::domain::{Kind, Money, Order};
use paypro_console::engine::{self, EngineSettings, Event, RunSource};
use paypro_console::journal::{Journal, RunState};
use paypro_console::secret::Secret;
use paypro_console::sheet::{Imported, ImportedRow, Item};
use paypro_console::sim::{self, FaultConfig, SimConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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
    requests: u64,
    created: u64,
    /// Mean time from a request leaving to its answer being journaled.
    request_ms: f64,
}

async fn run_once(n: usize, latency_ms: u64, prefix: &str) -> Outcome {
    let config = SimConfig {
        faults: FaultConfig {
            latency_ms,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = std::env::var_os("PAYPRO_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
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
    let client = Client::new(ClientConfig::new(
        sim.base_url.clone(),
        sim::DEMO_MERCHANT_ID,
        Secret::new(sim::DEMO_MERCHANT_PASSWORD),
    ))
    .unwrap();
    let settings = EngineSettings {
        concurrency: 4,
        batch_size: 50,
        seed: Some(1),
        ..EngineSettings::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // A UI would read the events; read them so they do not pile up.
    let reader = tokio::spawn(async move {
        let mut sent = std::collections::HashMap::new();
        let (mut total, mut count) = (Duration::ZERO, 0u32);
        while let Some(event) = rx.recv().await {
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
    let started = Instant::now();
    let report = engine::drive(
        Arc::new(Mutex::new(journal)),
        client,
        prepared.run,
        &settings,
        CancellationToken::new(),
        tx,
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let request_ms = reader.await.unwrap();
    assert_eq!(report.state, RunState::Completed);
    sim.shutdown().await;
    Outcome {
        elapsed,
        journal: report.journal_time,
        requests: report.requests,
        created: report.counts.created,
        request_ms,
    }
}

fn main() {
    // `cargo bench` passes --bench. Without it (`cargo test --all-targets` runs bench
    // targets as smoke tests) do not spend minutes: say so and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("engine bench: run with `cargo bench --bench engine`");
        return;
    }
    let n: usize = std::env::var("PAYPRO_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let o = rt.block_on(run_once(n, 100, "LAT"));
    let rate = o.created as f64 / o.elapsed.as_secs_f64();
    let ceiling = 50.0 * 4.0 / 0.1;
    println!(
        "engine: {n} orders, latency 100 ms, concurrency 4, batch 50: {:.2} s, {} requests, \
         {rate:.0} orders/s; ceiling {ceiling:.0}/s; ratio {:.1} % (target >= 85 %)",
        o.elapsed.as_secs_f64(),
        o.requests,
        100.0 * rate / ceiling
    );
    println!(
        "engine:   journal time {:.2} s ({:.1} % of wall time); mean request, sent to \
         journaled: {:.1} ms",
        o.journal.as_secs_f64(),
        100.0 * o.journal.as_secs_f64() / o.elapsed.as_secs_f64(),
        o.request_ms
    );

    let o = rt.block_on(run_once(n, 0, "ZERO"));
    let rate = o.created as f64 / o.elapsed.as_secs_f64();
    println!(
        "engine: {n} orders, no latency, concurrency 4, batch 50: {:.2} s, {rate:.0} orders/s; \
         journal {:.2} s = {:.1} % of wall time",
        o.elapsed.as_secs_f64(),
        o.journal.as_secs_f64(),
        100.0 * o.journal.as_secs_f64() / o.elapsed.as_secs_f64()
    );
}
