#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The batch engine against the in-process simulator (127.0.0.1, OS-assigned port) and
//! a journal in a temporary directory: batching, faults of every kind, mixed and
//! all-or-nothing batches, 04, consumers, cancellation, the run lock, crash recovery
//! and the cross-run guard.
//!
//! `tests/engine_guide.rs` runs every test of this file again with the simulator
//! answering batches exactly in the guide's shape (no per-item `Status`); see
//! [`guide_shape`].

mod common;

use chrono::NaiveDate;
use common::inproc;
use paypro_console::api::ClientConfig;
use paypro_console::domain::{Consumer, ConsumerUpdate, Issue, Kind, Money, Order};
use paypro_console::engine::{
    self, EngineError, EngineSettings, Event, ItemUpdate, PreparedRun, RunHandle, RunReport,
    RunSource, Start, StopReason,
};
use paypro_console::journal::{Item, ItemState, Journal, RunId, RunState};
use paypro_console::secret::Secret;
use paypro_console::sheet::{Imported, ImportedRow, Item as SheetItem};
use paypro_console::sim::{self, BatchMode, FaultConfig, Merchant, RunningSim, SimConfig};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MERCHANT: &str = "demo";
const PASSWORD: &str = "demo-pass";

/// Whether this file is compiled as part of `tests/engine_guide.rs`: then every
/// simulator answers batches in the guide's exact shape.
fn guide_shape() -> bool {
    module_path!().starts_with("engine_guide")
}

/// Every simulator of these tests, in the answer shape of this test binary.
fn shaped(config: SimConfig) -> SimConfig {
    SimConfig {
        guide_responses: guide_shape(),
        ..config
    }
}

async fn start_sim(batch_mode: BatchMode, faults: FaultConfig, seed: u64) -> RunningSim {
    inproc::start(shaped(SimConfig {
        merchants: vec![Merchant::demo()],
        batch_mode,
        faults,
        seed,
        ..SimConfig::default()
    }))
    .await
}

fn client(sim: &RunningSim, password: &str) -> ClientConfig {
    client_at(&sim.base_url, password)
}

fn client_at(base_url: &str, password: &str) -> ClientConfig {
    let mut config = ClientConfig::new(base_url, MERCHANT, Secret::new(password));
    config.request_timeout = Duration::from_secs(10);
    config
}

fn fast_settings() -> EngineSettings {
    EngineSettings {
        concurrency: 4,
        batch_size: 50,
        max_attempts: 6,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        seed: Some(7),
        give_up_after: Duration::from_secs(60),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    journal: Journal,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.sqlite3")).unwrap();
    Fixture { journal, _dir: dir }
}

fn order(number: &str, cents: i64) -> Order {
    Order {
        order_number: number.to_string(),
        amount: Money::from_cents(cents).unwrap(),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        issue_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        customer_name: format!("Customer {number}"),
        customer_mobile: "03123456789".to_string(),
        customer_email: String::new(),
        customer_address: String::new(),
        expire_after_seconds: None,
        amount_within_due_date: None,
        amount_after_due_date: None,
    }
}

fn numbers(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i:05}")).collect()
}

fn imported(kind: Kind, items: Vec<SheetItem>) -> Imported {
    let rows = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| ImportedRow {
            row: i as u32 + 2,
            key: item.key().to_string(),
            item: Some(item),
            issues: Vec::new(),
            raw: Vec::new(),
        })
        .collect();
    Imported {
        file: PathBuf::from("sheet.xlsx"),
        sheet: "Sheet1".to_string(),
        kind,
        kind_guessed: false,
        header_row: 1,
        columns: Vec::new(),
        unknown_columns: Vec::new(),
        rows,
        issues: Vec::new(),
    }
}

fn orders_sheet(orders: Vec<Order>) -> Imported {
    imported(
        Kind::Orders,
        orders.into_iter().map(SheetItem::Order).collect(),
    )
}

fn source() -> RunSource {
    RunSource {
        file: PathBuf::from("sheet.xlsx"),
        sha256: "00".repeat(32),
    }
}

fn prepare(f: &Fixture, sheet: &Imported, sim: &RunningSim, allow_resend: bool) -> PreparedRun {
    engine::prepare_run(
        &f.journal,
        sheet,
        &source(),
        MERCHANT,
        &sim.base_url,
        allow_resend,
    )
    .unwrap()
}

/// A run of `n` orders numbered `{prefix}-00001`..., journaled, not yet driven.
fn orders_run(f: &Fixture, sim: &RunningSim, prefix: &str, n: usize) -> PreparedRun {
    let keys = numbers(prefix, n);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 5_000)).collect());
    prepare(f, &sheet, sim, false)
}

/// Starts driving `run` with the good password; the handle comes back at once.
async fn start(f: &Fixture, sim: &RunningSim, run: RunId, settings: &EngineSettings) -> RunHandle {
    engine::start(
        &f.journal,
        Start::Resume(run),
        Some(client(sim, PASSWORD)),
        settings,
    )
    .await
    .unwrap()
}

/// Resumes (or first drives) `run` through the run API and collects every event.
async fn drive(
    f: &Fixture,
    client: ClientConfig,
    run: RunId,
    settings: &EngineSettings,
) -> (Result<RunReport, EngineError>, Vec<Event>) {
    match engine::start(&f.journal, Start::Resume(run), Some(client), settings).await {
        Ok(handle) => watch(handle).await,
        Err(e) => (Err(e), Vec::new()),
    }
}

/// Every event of a drive (the channel closes when the drive has ended), then its
/// report.
async fn watch(handle: RunHandle) -> (Result<RunReport, EngineError>, Vec<Event>) {
    let RunHandle {
        mut events, report, ..
    } = handle;
    let mut out = Vec::new();
    while let Some(e) = events.recv().await {
        out.push(e);
    }
    (report.await, out)
}

/// Waits for the first event `pick` accepts, keeping every event seen in `seen`.
async fn wait_for(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    seen: &mut Vec<Event>,
    what: &str,
    pick: impl Fn(&Event) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) => {
                let hit = pick(&e);
                seen.push(e);
                if hit {
                    return;
                }
            }
            Ok(None) => panic!("the drive ended before {what}; saw {seen:#?}"),
            Err(_) => panic!("no {what} within 60 s; saw {seen:#?}"),
        }
    }
}

fn updates(events: &[Event]) -> Vec<&ItemUpdate> {
    events
        .iter()
        .flat_map(|e| match e {
            Event::BatchDone { items, .. } => items.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn created_in(events: &[Event]) -> usize {
    updates(events)
        .iter()
        .filter(|u| u.state == ItemState::Created)
        .count()
}

async fn sim_list(sim: &RunningSim, what: &str) -> Vec<Value> {
    sim_list_at(&sim.base_url, what).await
}

async fn sim_list_at(base_url: &str, what: &str) -> Vec<Value> {
    inproc::list(base_url, what).await
}

/// Order number -> (ConnectPayId, CreateRequests) as the simulator stores them.
async fn sim_orders(sim: &RunningSim) -> HashMap<String, (String, u64)> {
    sim_orders_at(&sim.base_url).await
}

async fn sim_orders_at(base_url: &str) -> HashMap<String, (String, u64)> {
    let list = sim_list_at(base_url, "orders").await;
    let mut out = HashMap::new();
    for o in &list {
        let number = o["OrderNumber"].as_str().unwrap().to_string();
        let id = o["ConnectPayId"].as_str().unwrap().to_string();
        let requests = o["CreateRequests"].as_u64().unwrap_or(0);
        assert!(
            out.insert(number.clone(), (id, requests)).is_none(),
            "order {number} stored twice"
        );
    }
    out
}

fn items(f: &Fixture, run: RunId) -> Vec<Item> {
    f.journal.items(run, None).unwrap()
}

fn by_key(items: &[Item]) -> HashMap<String, Item> {
    items.iter().map(|i| (i.key.clone(), i.clone())).collect()
}

fn sent_sizes(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BatchSent { items, .. } => Some(items.len()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_sends_230_orders_in_five_batches_and_journals_every_id() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let keys = numbers("HP", 230);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 150_000)).collect());
    let prepared = prepare(&f, &sheet, &sim, false);
    assert_eq!(prepared.pending, 230);
    assert_eq!(
        prepared.total_amount.unwrap(),
        Money::from_cents(230 * 150_000).unwrap()
    );

    let (report, events) = drive(&f, client(&sim, PASSWORD), prepared.run, &fast_settings()).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 230);
    assert_eq!(report.requests, 5);
    let mut sizes = sent_sizes(&events);
    sizes.sort_unstable();
    assert_eq!(sizes, [30, 50, 50, 50, 50]);
    assert!(matches!(
        events.first(),
        Some(Event::RunStarted {
            total: 230,
            to_send: 230,
            settled: 0,
            ..
        })
    ));
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            state: RunState::Completed,
            ..
        })
    ));
    assert_eq!(created_in(&events), 230);

    let stored = sim_orders(&sim).await;
    assert_eq!(stored.len(), 230);
    let journaled = items(&f, prepared.run);
    for item in &journaled {
        assert_eq!(item.state, ItemState::Created, "row {}", item.row);
        let (id, requests) = &stored[&item.key];
        assert_eq!(item.connectpay_id.as_deref(), Some(id.as_str()));
        assert_eq!(*requests, 1, "{} sent more than once", item.key);
        assert_eq!(item.fee.unwrap().to_string(), "60");
        assert_eq!(item.attempts, 1);
    }
    let run = f.journal.run(prepared.run).unwrap().unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert!(run.lock.is_none(), "the lock is released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_of_every_kind_never_duplicate_and_the_journal_matches_the_simulator() {
    let faults = FaultConfig {
        http_500: 0.04,
        html_200: 0.04,
        truncated_json: 0.04,
        drop_before_store: 0.04,
        drop_after_store: 0.04,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 20261124).await;
    let f = fixture();
    let keys = numbers("FT", 1000);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 99_900)).collect());
    let prepared = prepare(&f, &sheet, &sim, false);
    // Small batches make many requests, so each kind of fault is met many times.
    let settings = EngineSettings {
        batch_size: 10,
        max_attempts: 12,
        ..fast_settings()
    };
    let (report, events) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert!(report.retries > 0, "faults were injected");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RetryScheduled { .. }))
    );

    let stored = sim_orders(&sim).await;
    let expected: HashSet<&String> = keys.iter().collect();
    assert_eq!(stored.keys().collect::<HashSet<_>>(), expected);
    let journaled = items(&f, prepared.run);
    assert_eq!(journaled.len(), 1000);
    let mut unknown = 0;
    for item in &journaled {
        let (id, _) = &stored[&item.key];
        match item.state {
            ItemState::Created => {
                assert_eq!(
                    item.connectpay_id.as_deref(),
                    Some(id.as_str()),
                    "{}",
                    item.key
                )
            }
            ItemState::ExistsIdUnknown => {
                unknown += 1;
                assert!(
                    item.attempts >= 2,
                    "{}: a 01 after our own lost answer",
                    item.key
                );
                assert_eq!(item.connectpay_id, None);
            }
            other => panic!("{} ended {other}", item.key),
        }
    }
    assert!(
        unknown > 0,
        "lost answers (drop-after-store, truncated) must have produced exists_id_unknown"
    );
    assert_eq!(
        report.counts.created + report.counts.exists_id_unknown,
        1000
    );
}

fn mixed_sheet(prefix: &str) -> (Imported, Vec<String>, Vec<String>, String) {
    let mut orders = Vec::new();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for i in 1..=12 {
        let number = format!("{prefix}-{i:02}");
        // Amounts above the merchant's limit (1,000,000) pass our checks but not the
        // server's: rows 3, 7 and 11.
        if i % 4 == 3 {
            orders.push(order(&number, 200_000_000));
            invalid.push(number);
        } else {
            orders.push(order(&number, 5_000));
            valid.push(number);
        }
    }
    let failing = format!("{}-{prefix}", sim::SIMFAIL_PREFIX);
    orders.push(order(&failing, 5_000));
    (orders_sheet(orders), valid, invalid, failing)
}

async fn mixed_batch(mode: BatchMode) {
    let sim = start_sim(mode, FaultConfig::default(), 0).await;
    let f = fixture();
    let (sheet, valid, invalid, failing) = mixed_sheet("MX");
    let prepared = prepare(&f, &sheet, &sim, false);
    let settings = EngineSettings {
        max_attempts: 3,
        ..fast_settings()
    };
    let (report, _events) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed, "{mode:?}");
    assert_eq!(report.counts.created, valid.len() as u64);
    assert_eq!(report.counts.rejected, invalid.len() as u64);
    assert_eq!(report.counts.failed, 1);

    let stored = sim_orders(&sim).await;
    assert_eq!(
        stored.keys().collect::<HashSet<_>>(),
        valid.iter().collect::<HashSet<_>>(),
        "{mode:?}: exactly the valid orders exist"
    );
    let journaled = by_key(&items(&f, prepared.run));
    for number in &valid {
        let item = &journaled[number];
        assert_eq!(item.state, ItemState::Created);
        assert_eq!(
            item.connectpay_id.as_deref(),
            Some(stored[number].0.as_str())
        );
        // Sent once (per item) or twice (left out of an all-or-nothing refusal, which
        // takes the send back).
        assert_eq!(item.attempts, 1, "{mode:?} {number}");
    }
    for number in &invalid {
        let item = &journaled[number];
        assert_eq!(item.state, ItemState::Rejected);
        assert_eq!(item.status_code.as_deref(), Some("03"));
        let d = item.description.as_deref().unwrap();
        assert!(
            d.contains("out of limits"),
            "{mode:?}: server's description: {d}"
        );
    }
    let item = &journaled[&failing];
    assert_eq!(item.state, ItemState::Failed);
    assert_eq!(item.attempts, 3);
    let e = item.last_error.as_deref().unwrap();
    assert!(
        e.contains("02") && e.contains("gave up after 3 sends"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_batch_per_item_mode() {
    mixed_batch(BatchMode::PerItem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_batch_all_or_nothing_mode() {
    mixed_batch(BatchMode::Atomic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_id_longer_than_15_is_refused_before_any_request() {
    // Order creation limits MerchantId to 15 characters: every request would be refused
    // whole with 03 and no items, and the engine would split each batch down to single
    // orders before rejecting them all (issue 11). It is checked once, before sending.
    let long_id = "merchant-id-of-20ch";
    let config = SimConfig {
        merchants: vec![Merchant::new(long_id, "pw", "0044")],
        ..SimConfig::default()
    };
    let sim = inproc::start(shaped(config)).await;
    let f = fixture();
    let keys = numbers("SP", 7);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 5_000)).collect());
    let prepared =
        engine::prepare_run(&f.journal, &sheet, &source(), long_id, &sim.base_url, false).unwrap();
    let c = ClientConfig::new(sim.base_url.clone(), long_id, Secret::new("pw"));
    let err = engine::start(
        &f.journal,
        Start::Resume(prepared.run),
        Some(c),
        &fast_settings(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, EngineError::Credentials(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("is 19 characters; Connect Pay accepts at most 15"),
        "{err}"
    );
    for item in items(&f, prepared.run) {
        assert_eq!((item.state, item.attempts), (ItemState::Pending, 0));
    }
    assert!(batches_of(&f, prepared.run).is_empty(), "nothing was sent");
    assert!(sim_orders(&sim).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_are_created_with_cmc_and_updated_with_umc() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let ids: Vec<String> = (1..=60).map(|i| format!("{:08}", 70000000 + i)).collect();
    let consumers: Vec<SheetItem> = ids
        .iter()
        .map(|id| {
            SheetItem::Consumer(Consumer {
                consumer_id: id.clone(),
                name: format!("Name {id}"),
                mobile: String::new(),
                email: String::new(),
                address: String::new(),
            })
        })
        .collect();
    let prepared = prepare(&f, &imported(Kind::Consumers, consumers), &sim, false);
    let (report, events) = drive(&f, client(&sim, PASSWORD), prepared.run, &fast_settings()).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 60);
    assert_eq!(sent_sizes(&events).len(), 2);
    for item in items(&f, prepared.run) {
        assert_eq!(
            item.connectpay_id.as_deref(),
            Some(format!("0044{}", item.key).as_str())
        );
    }

    let mut updates: Vec<SheetItem> = ids
        .iter()
        .map(|id| {
            SheetItem::ConsumerUpdate(ConsumerUpdate {
                consumer_id: format!("0044{id}"),
                name: Some(format!("Renamed {id}")),
                mobile: None,
                email: None,
                address: None,
            })
        })
        .collect();
    updates.push(SheetItem::ConsumerUpdate(ConsumerUpdate {
        consumer_id: "004499999999".to_string(),
        name: Some("Nobody".to_string()),
        mobile: None,
        email: None,
        address: None,
    }));
    let updates = imported(Kind::ConsumerUpdates, updates);
    let prepared = prepare(&f, &updates, &sim, false);
    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &fast_settings()).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 60);
    assert_eq!(report.counts.rejected, 1);
    let missing = by_key(&items(&f, prepared.run))["004499999999"].clone();
    assert!(missing.description.unwrap().contains("does not exist"));
    let stored = sim_list(&sim, "consumers").await;
    assert_eq!(stored.len(), 60);
    // Updating the same consumers again later is not blocked by the cross-run guard
    // (creating them again would be).
    let again = prepare(&f, &updates, &sim, false);
    assert!(again.skipped.is_empty());
    assert_eq!(again.pending, 61);
    let ids_again: Vec<SheetItem> = ids[..2]
        .iter()
        .map(|id| {
            SheetItem::Consumer(Consumer {
                consumer_id: id.clone(),
                name: "Twice".into(),
                mobile: String::new(),
                email: String::new(),
                address: String::new(),
            })
        })
        .collect();
    let twice = prepare(&f, &imported(Kind::Consumers, ids_again), &sim, false);
    assert_eq!((twice.pending, twice.skipped.len()), (0, 2));
    assert!(
        stored
            .iter()
            .all(|c| c["Name"].as_str().unwrap().starts_with("Renamed "))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_waits_for_requests_in_flight_and_the_run_resumes() {
    let faults = FaultConfig {
        latency_ms: 60,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 0).await;
    let f = fixture();
    let prepared = orders_run(&f, &sim, "CN", 400);
    let settings = EngineSettings {
        batch_size: 10,
        concurrency: 2,
        ..fast_settings()
    };
    let mut handle = start(&f, &sim, prepared.run, &settings).await;
    let mut done = 0;
    while let Some(e) = handle.events.recv().await {
        if matches!(e, Event::BatchDone { .. }) {
            done += 1;
            if done == 3 {
                assert!(handle.control.cancel());
                break;
            }
        }
    }
    let (report, rest) = watch(handle).await;
    let report = report.unwrap();
    assert_eq!(report.stop, Some(StopReason::Cancelled));
    let stopping = rest
        .iter()
        .position(|e| matches!(e, Event::Stopping { .. }))
        .expect("a Stopping event");
    assert!(
        !rest[stopping..]
            .iter()
            .any(|e| matches!(e, Event::BatchSent { .. })),
        "nothing leaves after the cancel is taken"
    );
    assert_eq!(report.state, RunState::Interrupted);
    assert_eq!(
        report.counts.in_flight, 0,
        "requests in flight were recorded"
    );
    assert!(report.counts.pending > 0);
    assert_eq!(report.counts.created + report.counts.pending, 400);
    let stored = sim_orders(&sim).await;
    assert_eq!(
        stored.len() as u64,
        report.counts.created,
        "everything the server created is journaled"
    );
    // Batches journaled ahead but not yet on the wire were closed unsent: their
    // items are pending with no send counted.
    let pending = f
        .journal
        .items(prepared.run, Some(ItemState::Pending))
        .unwrap();
    assert!(pending.iter().all(|i| i.attempts == 0));
    assert!(f.journal.run(prepared.run).unwrap().unwrap().lock.is_none());
    assert!(
        f.journal
            .interrupted_runs()
            .unwrap()
            .iter()
            .any(|r| r.id == prepared.run)
    );

    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 400);
    let stored = sim_orders(&sim).await;
    assert_eq!(stored.len(), 400);
    assert!(stored.values().all(|(_, requests)| *requests == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_driven_by_one_drive_is_locked_for_another() {
    let faults = FaultConfig {
        latency_ms: 100,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 0).await;
    let f = fixture();
    let prepared = orders_run(&f, &sim, "LK", 40);
    let settings = EngineSettings {
        batch_size: 10,
        concurrency: 1,
        ..fast_settings()
    };
    let mut first = start(&f, &sim, prepared.run, &settings).await;
    let mut seen = Vec::new();
    wait_for(&mut first.events, &mut seen, "a request", |e| {
        matches!(e, Event::BatchSent { .. })
    })
    .await;
    let (second, events) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    match second {
        Err(EngineError::Locked(by)) => {
            assert_eq!(by.run, prepared.run);
            assert_eq!(by.pid, std::process::id());
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(events.is_empty(), "the refused drive sent nothing");
    let report = first.finish().await.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 40);
    assert!(sim_orders(&sim).await.values().all(|(_, r)| *r == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_left_in_flight_by_a_crash_are_resent_and_a_01_means_id_unknown() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let keys = numbers("CR", 5);
    let orders: Vec<Order> = keys.iter().map(|k| order(k, 5_000)).collect();
    let prepared = prepare(&f, &orders_sheet(orders.clone()), &sim, false);
    let journaled = items(&f, prepared.run);

    // A process wrote rows 1-3 in flight, its request created orders 1 and 2 at the
    // server, and it died before the answer was journaled.
    let lock = f.journal.lock_run(prepared.run).unwrap();
    let in_flight: Vec<_> = journaled[..3].iter().map(|i| i.id).collect();
    f.journal
        .begin_batch(prepared.run, "cmo", &in_flight)
        .unwrap();
    f.journal
        .set_run_state(prepared.run, RunState::Running)
        .unwrap();
    paypro_console::api::Client::new(client(&sim, PASSWORD))
        .unwrap()
        .create_orders(&orders[..2])
        .await
        .unwrap();
    lock.release().unwrap();

    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &fast_settings()).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    let after = by_key(&items(&f, prepared.run));
    for k in &keys[..2] {
        assert_eq!(after[k].state, ItemState::ExistsIdUnknown, "{k}");
        assert_eq!(after[k].status_code.as_deref(), Some("01"));
    }
    for k in &keys[2..] {
        assert_eq!(after[k].state, ItemState::Created, "{k}");
    }
    let stored = sim_orders(&sim).await;
    assert_eq!(stored.len(), 5);
    let attempts = f.journal.item_attempts(after[&keys[0]].id).unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].result.as_deref(), Some("interrupted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cross_run_guard_skips_rows_created_by_an_earlier_run() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let first_keys = numbers("GD", 3);
    let first = prepare(
        &f,
        &orders_sheet(first_keys.iter().map(|k| order(k, 5_000)).collect()),
        &sim,
        false,
    );
    let (report, _) = drive(&f, client(&sim, PASSWORD), first.run, &fast_settings()).await;
    assert_eq!(report.unwrap().counts.created, 3);
    let first_items = by_key(&items(&f, first.run));

    // Second sheet: GD-00002 again (row 2) and a new order, plus an invalid row.
    let mut sheet = orders_sheet(vec![order("GD-00002", 5_000), order("GD-NEW", 5_000)]);
    sheet.rows.push(ImportedRow {
        row: 4,
        key: "GD-BAD".to_string(),
        item: None,
        issues: vec![Issue::error(4, "OrderAmount", "\"abc\" is not an amount")],
        raw: vec!["GD-BAD".to_string(), "abc".to_string()],
    });
    let guard = engine::prior_creations(&f.journal, &sheet, MERCHANT, &sim.base_url).unwrap();
    assert_eq!(guard.len(), 1);
    let second = prepare(&f, &sheet, &sim, false);
    assert_eq!((second.pending, second.invalid), (1, 1));
    assert_eq!(second.skipped.len(), 1);
    let (row, key, prior) = &second.skipped[0];
    assert_eq!((*row, key.as_str()), (2, "GD-00002"));
    let original = &first_items["GD-00002"];
    assert_eq!(
        prior.to_string(),
        format!(
            "created in run {}, row {}, ConnectPayId {}",
            first.run,
            original.row,
            original.connectpay_id.as_deref().unwrap()
        )
    );
    let (report, _) = drive(&f, client(&sim, PASSWORD), second.run, &fast_settings()).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(
        (
            report.counts.created,
            report.counts.skipped,
            report.counts.invalid
        ),
        (1, 1, 1)
    );
    assert_eq!(sim_orders(&sim).await["GD-00002"].1, 1, "not sent again");

    // --allow-resend: sent, and the server's 01 is not "existed before" (we never sent
    // it): the first run of this journal did send it, so it is ours, id unknown here.
    let third = prepare(
        &f,
        &orders_sheet(vec![order("GD-00003", 5_000), order("GD-ELSE", 5_000)]),
        &sim,
        true,
    );
    assert!(third.skipped.is_empty());
    // GD-ELSE was created by someone else (not by a run of this journal).
    let elsewhere = sheet_for_sim_only("GD-ELSE");
    let other = Fixture {
        journal: Journal::open(&other_journal_path(&f)).unwrap(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let p = prepare(&other, &elsewhere, &sim, false);
    let (r, _) = drive(&other, client(&sim, PASSWORD), p.run, &fast_settings()).await;
    assert_eq!(r.unwrap().counts.created, 1);
    let (report, _) = drive(&f, client(&sim, PASSWORD), third.run, &fast_settings()).await;
    let counts = report.unwrap().counts;
    assert_eq!((counts.exists_id_unknown, counts.exists_before_run), (1, 1));
    let third_items = by_key(&items(&f, third.run));
    assert_eq!(third_items["GD-00003"].state, ItemState::ExistsIdUnknown);
    assert_eq!(third_items["GD-ELSE"].state, ItemState::ExistsBeforeRun);
}

fn sheet_for_sim_only(key: &str) -> Imported {
    orders_sheet(vec![order(key, 5_000)])
}

fn other_journal_path(f: &Fixture) -> PathBuf {
    f.journal.path().with_file_name("other-journal.sqlite3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_runs_are_reported_and_files_fingerprinted() {
    // (Mark lists are runs of their own kind now: tests/mark_runs.rs.)
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let (result, _) = drive(&f, client(&sim, PASSWORD), RunId(999), &fast_settings()).await;
    assert!(matches!(result, Err(EngineError::NotFound(RunId(999)))));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    std::fs::write(&path, b"abc").unwrap();
    assert_eq!(
        engine::sha256_file(&path).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(matches!(
        engine::sha256_file(&dir.path().join("missing")),
        Err(EngineError::Io { .. })
    ));
}

/// Drives 200 orders in batches of 10, two at a time, calls `change` once four batches
/// are answered (it makes the server refuse the old password), and checks the run
/// stopped at once with the unsent items pending; then drives again with `new_client`
/// and checks it completes with every order created once.
async fn stopped_by_04_then_resumed<C, Fut>(
    base_url: &str,
    f: &Fixture,
    prefix: &str,
    change: C,
) -> (PreparedRun, Vec<Event>)
where
    C: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let keys = numbers(prefix, 200);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 5_000)).collect());
    let prepared =
        engine::prepare_run(&f.journal, &sheet, &source(), MERCHANT, base_url, false).unwrap();
    let settings = EngineSettings {
        batch_size: 10,
        concurrency: 2,
        ..fast_settings()
    };
    let mut handle = engine::start(
        &f.journal,
        Start::Resume(prepared.run),
        Some(client_at(base_url, PASSWORD)),
        &settings,
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    let mut done = 0;
    while let Some(e) = handle.events.recv().await {
        let is_done = matches!(e, Event::BatchDone { .. });
        events.push(e);
        if is_done {
            done += 1;
            if done == 4 {
                break;
            }
        }
    }
    change().await;
    let (report, rest) = watch(handle).await;
    let report = report.unwrap();
    events.extend(rest);

    assert_eq!(report.state, RunState::StoppedAuth);
    let reason = report.credentials_refused().unwrap().to_string();
    assert!(reason.contains("04"), "{reason}");
    assert!(!reason.contains(PASSWORD));
    assert_eq!(report.counts.in_flight, 0);
    assert!(report.counts.pending > 100, "unsent items stay pending");
    assert_eq!(report.counts.failed, 0);
    assert_eq!(report.counts.rejected, 0);
    let stopped_at = events
        .iter()
        .position(|e| {
            matches!(
                e,
                Event::Stopping {
                    reason: StopReason::CredentialsRefused(_)
                }
            )
        })
        .expect("a Stopping event");
    let sent_after = events[stopped_at..]
        .iter()
        .filter(|e| matches!(e, Event::BatchSent { .. }))
        .count();
    assert!(
        sent_after < settings.concurrency,
        "only requests already dispatched may leave after the 04 ({sent_after})"
    );
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            state: RunState::StoppedAuth,
            ..
        })
    ));
    let run = f.journal.run(prepared.run).unwrap().unwrap();
    assert_eq!(run.state, RunState::StoppedAuth);
    assert!(run.lock.is_none());

    // With the new password the same run completes, each order created once.
    let (report, _) = drive(f, client_at(base_url, "new-pass"), prepared.run, &settings).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created + report.counts.exists_id_unknown, 200);
    let stored = sim_orders_at(base_url).await;
    assert_eq!(stored.len(), 200);
    for item in items(f, prepared.run) {
        if let Some(id) = &item.connectpay_id {
            assert_eq!(id, &stored[&item.key].0);
        }
    }
    (prepared, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_04_mid_run_stops_at_once_and_a_later_drive_with_good_credentials_completes() {
    let faults = FaultConfig {
        latency_ms: 80,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 0).await;
    let f = fixture();
    let url = format!("{}/__sim/credentials", sim.base_url);
    let (_, events) = stopped_by_04_then_resumed(&sim.base_url, &f, "AU", || async {
        let r = reqwest::Client::new()
            .post(&url)
            .json(&serde_json::json!({"MerchantId": MERCHANT, "Password": "new-pass"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    })
    .await;
    // Nothing was retried: a 04 is not a transient failure.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RetryScheduled { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_04_after_the_server_restarts_with_a_new_password_mid_request() {
    // The server goes away with requests on the wire and comes back on the same address
    // and state file with a new password: the interrupted requests fail in transport,
    // are retried, and meet the 04.
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("sim.sqlite3");
    let config = |password: &str| {
        shaped(SimConfig {
            merchants: vec![Merchant::new(MERCHANT, password, "0044")],
            faults: FaultConfig {
                latency_ms: 80,
                ..FaultConfig::default()
            },
            state_file: Some(state_file.clone()),
            ..SimConfig::default()
        })
    };
    let first = sim::start(config(PASSWORD), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (addr, base_url) = (first.addr, first.base_url.clone());
    let f = fixture();
    // The restarted server must outlive the resumed drive inside the helper.
    let second: Arc<Mutex<Option<RunningSim>>> = Arc::new(Mutex::new(None));
    let keep = second.clone();
    let (prepared, events) = stopped_by_04_then_resumed(&base_url, &f, "RS", || async move {
        first.shutdown().await;
        let sim = sim::start(config("new-pass"), addr).await.unwrap();
        *keep.lock().unwrap() = Some(sim);
    })
    .await;
    // The restart cut requests on the wire: they were retried, not lost.
    let interrupted = events
        .iter()
        .any(|e| matches!(e, Event::RetryScheduled { .. }));
    let resent = f
        .journal
        .items(prepared.run, None)
        .unwrap()
        .iter()
        .any(|i| i.attempts > 1);
    assert_eq!(interrupted, resent);
    assert!(second.lock().unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_on_consumer_endpoints_stop_the_run_rather_than_reject_rows() {
    // The consumer endpoints answer a wrong password with 01 "Invalid Data. Username or
    // password is invalid" and no items: a credentials problem, not 60 bad rows.
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let consumers: Vec<SheetItem> = (1..=60)
        .map(|i| {
            SheetItem::Consumer(Consumer {
                consumer_id: format!("{:08}", 80000000 + i),
                name: format!("Name {i}"),
                mobile: String::new(),
                email: String::new(),
                address: String::new(),
            })
        })
        .collect();
    let prepared = prepare(&f, &imported(Kind::Consumers, consumers), &sim, false);
    let (report, events) = drive(
        &f,
        client(&sim, "wrong-pass"),
        prepared.run,
        &fast_settings(),
    )
    .await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::StoppedAuth);
    assert_eq!(report.counts.pending, 60);
    assert_eq!(report.counts.rejected, 0);
    assert!(report.requests <= 2, "{} requests", report.requests);
    assert!(
        report
            .credentials_refused()
            .unwrap()
            .contains("password is invalid")
    );
    assert!(!format!("{events:?}").contains("wrong-pass"));
    for item in items(&f, prepared.run) {
        assert_eq!(
            item.attempts, 0,
            "nothing was created: the sends are taken back"
        );
    }
    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &fast_settings()).await;
    assert_eq!(report.unwrap().counts.created, 60);
}

/// The journal's record of every request: which items, the HTTP status and the body.
fn batches_of(f: &Fixture, run: RunId) -> HashMap<i64, Vec<paypro_console::journal::AttemptInfo>> {
    let mut out: HashMap<i64, Vec<_>> = HashMap::new();
    for item in items(f, run) {
        for a in f.journal.item_attempts(item.id).unwrap() {
            out.entry(a.batch.0).or_default().push(a);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_journaled_with_its_http_status_and_response_body() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    f.journal.set_redactions(vec![Secret::new(PASSWORD)]);
    let keys = numbers("RB", 25);
    let sheet = orders_sheet(keys.iter().map(|k| order(k, 10_000)).collect());
    let prepared = prepare(&f, &sheet, &sim, false);
    let settings = EngineSettings {
        batch_size: 10,
        ..fast_settings()
    };
    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    assert_eq!(report.unwrap().state, RunState::Completed);

    let batches = batches_of(&f, prepared.run);
    assert_eq!(batches.len(), 3, "25 orders in batches of 10");
    let journaled = by_key(&items(&f, prepared.run));
    for (batch, attempts) in &batches {
        let body = f
            .journal
            .batch_response_body(paypro_console::journal::BatchId(*batch))
            .unwrap()
            .expect("the response body is journaled");
        let answer: Value = serde_json::from_str(&body).expect("the server's JSON, whole");
        assert_eq!(answer.as_array().unwrap().len(), attempts.len() + 1);
        assert!(!body.contains(PASSWORD));
        for a in attempts {
            assert_eq!(a.http_status, Some(200));
            assert_eq!(a.batch_outcome.as_deref(), Some("ok"));
            assert!(a.duration_ms.is_some() && a.finished_at.is_some());
        }
        // Every item of the request has its ConnectPayId in the body journaled with it.
        let in_batch: HashSet<_> = attempts.iter().map(|a| a.position).collect();
        assert_eq!(in_batch.len(), attempts.len());
        for item in journaled.values() {
            let here = f
                .journal
                .item_attempts(item.id)
                .unwrap()
                .iter()
                .any(|a| a.batch.0 == *batch);
            if here {
                let id = item.connectpay_id.as_deref().unwrap();
                assert!(body.contains(id), "{}: {id} not in {body}", item.key);
            }
        }
    }
    // Answers of 2 KB or more are stored compressed (and were read back above as the
    // server's JSON, whole); shorter ones stay text.
    let raw = rusqlite::Connection::open(f.journal.path()).unwrap();
    for batch in batches.keys() {
        let body = f
            .journal
            .batch_response_body(paypro_console::journal::BatchId(*batch))
            .unwrap()
            .unwrap();
        let kind: String = raw
            .query_row(
                "SELECT typeof(response_body) FROM batches WHERE id = ?1",
                [batch],
                |r| r.get(0),
            )
            .unwrap();
        let expected = if body.len() >= 2048 { "blob" } else { "text" };
        assert_eq!(
            kind,
            expected,
            "batch {batch}: a body of {} bytes",
            body.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_is_journaled_with_its_real_status_and_body() {
    let faults = FaultConfig {
        http_500: 1.0,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 1).await;
    let f = fixture();
    let sheet = orders_sheet(vec![order("F5-1", 10_000), order("F5-2", 10_000)]);
    let prepared = prepare(&f, &sheet, &sim, false);
    // Every request answered 500 is an outage, not a reason to fail the rows: after
    // `give_up_after` the run is interrupted with both rows pending.
    let settings = EngineSettings {
        max_attempts: 2,
        give_up_after: Duration::from_millis(300),
        ..fast_settings()
    };
    let (report, _) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Interrupted);
    assert!(
        matches!(&report.stop, Some(StopReason::Unreachable { since }) if since.len() == 5),
        "{:?}",
        report.stop
    );
    assert_eq!((report.counts.failed, report.counts.pending), (0, 2));
    let run = f.journal.run(prepared.run).unwrap().unwrap();
    assert!(
        run.note
            .as_deref()
            .unwrap()
            .starts_with("server unreachable since "),
        "{:?}",
        run.note
    );
    let batches = batches_of(&f, prepared.run);
    assert!(
        batches.len() > 2,
        "sent past the attempt limit: {}",
        batches.len()
    );
    for (batch, attempts) in &batches {
        assert!(attempts.iter().all(|a| a.http_status == Some(500)));
        let body = f
            .journal
            .batch_response_body(paypro_console::journal::BatchId(*batch))
            .unwrap();
        assert_eq!(body.as_deref(), Some("Internal Server Error"));
    }

    // No server at all: no status, no body, and the outcome says why.
    let f = fixture();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sheet = orders_sheet(vec![order("F5-3", 10_000)]);
    let prepared =
        engine::prepare_run(&f.journal, &sheet, &source(), MERCHANT, &gone, false).unwrap();
    let settings = EngineSettings {
        max_attempts: 1,
        ..fast_settings()
    };
    let (report, _) = drive(&f, client_at(&gone, PASSWORD), prepared.run, &settings).await;
    assert_eq!(report.unwrap().counts.failed, 1);
    let item = &items(&f, prepared.run)[0];
    let attempts = f.journal.item_attempts(item.id).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].http_status, None);
    assert!(
        attempts[0]
            .batch_outcome
            .as_deref()
            .unwrap()
            .contains("could not connect"),
        "{:?}",
        attempts[0].batch_outcome
    );
    assert_eq!(
        f.journal.batch_response_body(attempts[0].batch).unwrap(),
        None
    );
}

/// A server that answers every upload with `status` and `body`.
async fn canned_server(status: u16, body: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_the_server_echoes_never_reaches_the_journaled_body() {
    const SECRET: &str = "Zq7-unique-Pa55word";
    let answers = [
        (
            200,
            format!(
                r#"[{{"Status":"00","Description":"merchant demo with password {SECRET}"}},{{"Status":"00","OrderNumber":"PW-1","ConnectPayId":"00990000000001","ConnectPayFee":"60"}}]"#
            ),
        ),
        (
            500,
            format!("<html>Server Error. Request: ?password={SECRET}</html>"),
        ),
    ];
    for (status, body) in answers {
        let base = canned_server(status, body).await;
        let f = fixture();
        // The journal is told nothing: the client's own redaction must be enough.
        let sheet = orders_sheet(vec![order("PW-1", 10_000)]);
        let prepared =
            engine::prepare_run(&f.journal, &sheet, &source(), MERCHANT, &base, false).unwrap();
        let settings = EngineSettings {
            max_attempts: 1,
            ..fast_settings()
        };
        let (report, _) = drive(&f, client_at(&base, SECRET), prepared.run, &settings).await;
        report.unwrap();
        let item = &items(&f, prepared.run)[0];
        let attempts = f.journal.item_attempts(item.id).unwrap();
        assert_eq!(attempts[0].http_status, Some(status));
        let stored = f
            .journal
            .batch_response_body(attempts[0].batch)
            .unwrap()
            .unwrap();
        assert!(!stored.contains(SECRET), "{stored}");
        assert!(!stored.contains("Zq7"), "{stored}");
        if status == 200 {
            assert_eq!(item.connectpay_id.as_deref(), Some("00990000000001"));
            assert!(stored.contains("00990000000001"), "{stored}");
        } else {
            assert_eq!(item.state, ItemState::Failed);
            assert!(stored.contains("Server Error"), "{stored}");
        }
        let wal = f.journal.path().with_extension("sqlite3-wal");
        for file in [f.journal.path(), wal.as_path()] {
            let raw = std::fs::read(file).unwrap_or_default();
            assert!(
                !raw.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "the password is in {}",
                file.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_items_cannot_be_journaled_leaves_no_run() {
    let f = fixture();
    let mut sheet = orders_sheet(vec![order("DR-1", 10_000), order("DR-2", 10_000)]);
    // Two rows with one row number: the journal refuses the second.
    sheet.rows[1].row = sheet.rows[0].row;
    let err = engine::prepare_run(
        &f.journal,
        &sheet,
        &source(),
        MERCHANT,
        "http://127.0.0.1:9",
        false,
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Journal(_)), "{err:?}");
    assert!(
        f.journal.runs().unwrap().is_empty(),
        "an empty run was left"
    );
}

// ---------------------------------------------------------------------------------------
// The run API as a face uses it: pause and resume, cancel, the events and what they say
// about each item, a face that goes away, and plan -> start.

/// Index of the first event `pick` accepts.
fn position(events: &[Event], what: &str, pick: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(pick)
        .unwrap_or_else(|| panic!("no {what} in {events:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_new_requests_while_those_on_the_wire_finish_then_resume_continues() {
    let faults = FaultConfig {
        latency_ms: 150,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 0).await;
    let f = fixture();
    let prepared = orders_run(&f, &sim, "PA", 500);
    let settings = EngineSettings {
        concurrency: 2,
        ..fast_settings()
    };
    let mut handle = start(&f, &sim, prepared.run, &settings).await;
    let mut seen = Vec::new();
    // Both turns on the wire are taken, and more requests are journaled, waiting.
    wait_for(
        &mut handle.events,
        &mut seen,
        "two requests on the wire",
        |e| matches!(e, Event::BatchSent { .. }),
    )
    .await;
    wait_for(
        &mut handle.events,
        &mut seen,
        "two requests on the wire",
        |e| matches!(e, Event::BatchSent { .. }),
    )
    .await;
    assert!(handle.control.pause());
    wait_for(&mut handle.events, &mut seen, "Paused", |e| {
        matches!(e, Event::Paused)
    })
    .await;

    // Every request that left before the pause was taken was answered and journaled;
    // none left after it.
    let pausing = position(&seen, "Pausing", |e| matches!(e, Event::Pausing { .. }));
    let sent: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::BatchSent { batch, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    let done: HashSet<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::BatchDone { batch, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    assert!(sent.len() >= 2);
    assert!(sent.iter().all(|b| done.contains(b)), "{seen:#?}");
    assert!(
        !seen[pausing..]
            .iter()
            .any(|e| matches!(e, Event::BatchSent { .. })),
        "a request left after the pause: {seen:#?}"
    );
    let mut progress = engine::Progress::new();
    for e in &seen {
        progress.apply(e, std::time::Instant::now());
    }
    assert!(progress.paused && !progress.pausing);
    assert_eq!(progress.batches_on_the_wire(), 0);

    // Paused: nothing is in flight in the journal, and the server holds exactly what
    // the journal says was created.
    let counts = f.journal.counts(prepared.run).unwrap();
    assert_eq!(counts.in_flight, 0, "{counts:?}");
    assert_eq!(counts.created, progress.created);
    assert!(counts.pending >= 300, "{counts:?}");
    let held = sim_orders(&sim).await;
    assert_eq!(held.len() as u64, counts.created);
    // Requests journaled ahead but held back were taken back: no pending row counts a
    // send.
    let pending = f
        .journal
        .items_page(
            prepared.run,
            &paypro_console::journal::ItemFilter::state(ItemState::Pending),
            None,
            1000,
        )
        .unwrap();
    assert!(pending.iter().all(|i| i.attempts == 0));
    assert_eq!(
        sim_orders(&sim).await.len(),
        held.len(),
        "nothing sent while paused"
    );
    assert_eq!(
        f.journal.run(prepared.run).unwrap().unwrap().state,
        RunState::Running
    );

    assert!(handle.control.resume());
    let (report, rest) = watch(handle).await;
    let report = report.unwrap();
    let resumed = position(&rest, "Resumed", |e| matches!(e, Event::Resumed));
    let next = position(&rest, "a request after the resume", |e| {
        matches!(e, Event::BatchSent { .. })
    });
    assert!(resumed < next);
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(report.counts.created, 500);
    let stored = sim_orders(&sim).await;
    assert_eq!(stored.len(), 500);
    assert!(stored.values().all(|(_, requests)| *requests == 1));
    assert!(items(&f, prepared.run).iter().all(|i| i.attempts == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_keeps_every_items_sends_and_its_backoff() {
    // An HTML page with HTTP 200: the server answers (no outage), unreadably.
    let faults = FaultConfig {
        html_200: 1.0,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 3).await;
    let f = fixture();
    let prepared = orders_run(&f, &sim, "PB", 20);
    let settings = EngineSettings {
        concurrency: 1,
        max_attempts: 3,
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        ..fast_settings()
    };
    let mut handle = start(&f, &sim, prepared.run, &settings).await;
    let mut seen = Vec::new();
    wait_for(&mut handle.events, &mut seen, "a retry", |e| {
        matches!(e, Event::RetryScheduled { attempt: 1, .. })
    })
    .await;
    // Paused while the batch waits for its backoff.
    assert!(handle.control.pause());
    wait_for(&mut handle.events, &mut seen, "Paused", |e| {
        matches!(e, Event::Paused)
    })
    .await;
    for item in items(&f, prepared.run) {
        assert_eq!(
            (item.state, item.attempts),
            (ItemState::Pending, 1),
            "row {}",
            item.row
        );
        assert!(
            item.last_error
                .as_deref()
                .unwrap()
                .contains("unreadable response")
        );
    }

    assert!(handle.control.resume());
    let (report, rest) = watch(handle).await;
    let report = report.unwrap();
    // The backoff goes on from where it was: the next retry is the second, and the
    // items fail after 3 sends in all, not 3 more (as a cancel and a new drive would).
    let attempts: Vec<u32> = rest
        .iter()
        .filter_map(|e| match e {
            Event::RetryScheduled { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [2], "{rest:#?}");
    assert_eq!(report.counts.failed, 20);
    for item in items(&f, prepared.run) {
        assert_eq!((item.state, item.attempts), (ItemState::Failed, 3));
        assert!(
            item.last_error
                .as_deref()
                .unwrap()
                .contains("gave up after 3 sends")
        );
    }
    assert_eq!(
        report.requests, 3,
        "one request before the pause, two after"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_come_in_order_and_tell_every_items_outcome() {
    let faults = FaultConfig {
        http_500: 0.25,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 5).await;
    let f = fixture();
    let (sheet, valid, invalid, failing) = mixed_sheet("EV");
    // An order the server already holds: exists before this run.
    let existing = valid[0].clone();
    paypro_console::api::Client::new(client(&sim, PASSWORD))
        .unwrap()
        .create_order(&order(&existing, 5_000))
        .await
        .unwrap();
    let prepared = prepare(&f, &sheet, &sim, false);
    let settings = EngineSettings {
        batch_size: 4,
        max_attempts: 4,
        ..fast_settings()
    };
    let (report, events) = drive(&f, client(&sim, PASSWORD), prepared.run, &settings).await;
    let report = report.unwrap();
    assert!(matches!(events.first(), Some(Event::RunStarted { .. })));
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            state: RunState::Completed,
            ..
        })
    ));
    // Every answer comes after its request, with the same items in the same order.
    let mut sent: HashMap<_, Vec<_>> = HashMap::new();
    for e in &events {
        match e {
            Event::BatchSent { batch, items } => {
                sent.insert(*batch, items.iter().map(|i| i.id).collect());
            }
            Event::BatchDone { batch, items, .. } => {
                let ids: Vec<_> = items.iter().map(|i| i.id).collect();
                assert_eq!(sent.remove(batch), Some(ids), "batch {batch}");
            }
            _ => {}
        }
    }
    assert!(sent.is_empty(), "requests with no answer: {sent:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RetryScheduled { .. })),
        "the faults made some retries"
    );

    // The last outcome each item was given is what the journal holds.
    let mut last: HashMap<_, &ItemUpdate> = HashMap::new();
    for u in updates(&events) {
        last.insert(u.id, u);
    }
    let journaled = items(&f, prepared.run);
    assert_eq!(last.len(), journaled.len());
    for item in &journaled {
        let u = last[&item.id];
        assert_eq!((u.row, u.key.as_str()), (item.row, item.key.as_str()));
        assert_eq!(u.state, item.state, "{}", item.key);
        assert_eq!(u.connectpay_id, item.connectpay_id, "{}", item.key);
        let message = match item.state {
            ItemState::Failed => item.last_error.clone(),
            _ => item.description.clone(),
        };
        assert_eq!(u.message, message, "{}", item.key);
    }
    let by = by_key(&journaled);
    assert_eq!(by[&existing].state, ItemState::ExistsBeforeRun);
    assert!(
        last[&by[&invalid[0]].id]
            .message
            .as_deref()
            .unwrap()
            .contains("out of limits")
    );
    assert_eq!(last[&by[&failing].id].state, ItemState::Failed);

    // A face folding the events shows the journal's figures.
    let mut progress = engine::Progress::new();
    for e in &events {
        progress.apply(e, std::time::Instant::now());
    }
    let c = report.counts;
    assert_eq!(progress.created, c.created);
    assert_eq!(progress.exists, c.exists_before_run + c.exists_id_unknown);
    assert_eq!(progress.rejected, c.rejected);
    assert_eq!(progress.failed, c.failed);
    assert_eq!(progress.done, 13);
    assert_eq!(progress.requests, report.requests);
    assert_eq!(progress.finished, Some(RunState::Completed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_face_that_goes_away_never_stops_the_run() {
    let faults = FaultConfig {
        latency_ms: 30,
        ..FaultConfig::default()
    };
    let sim = start_sim(BatchMode::PerItem, faults, 0).await;
    let f = fixture();
    let prepared = orders_run(&f, &sim, "GO", 300);
    let handle = start(&f, &sim, prepared.run, &fast_settings()).await;
    // The events, the commands and the report: all gone at once.
    drop(handle);
    wait_until_completed(&f, prepared.run).await;
    assert_eq!(f.journal.counts(prepared.run).unwrap().created, 300);

    // A face that paused its run and went away: nobody is left to resume it, so it
    // goes on.
    let paused = orders_run(&f, &sim, "GP", 300);
    let mut handle = start(&f, &sim, paused.run, &fast_settings()).await;
    assert!(handle.control.pause());
    let mut seen = Vec::new();
    wait_for(&mut handle.events, &mut seen, "Paused", |e| {
        matches!(e, Event::Paused)
    })
    .await;
    drop(handle);
    wait_until_completed(&f, paused.run).await;
    assert_eq!(f.journal.counts(paused.run).unwrap().created, 300);
    let stored = sim_orders(&sim).await;
    assert_eq!(stored.len(), 600);
    assert!(stored.values().all(|(_, requests)| *requests == 1));
}

/// Polls the journal (a face watching a run it does not drive) until `run` is
/// completed and unlocked.
async fn wait_until_completed(f: &Fixture, run: RunId) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let record = f.journal.run(run).unwrap().unwrap();
        if record.state == RunState::Completed && record.lock.is_none() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run stopped with its face: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_previews_what_start_journals_and_sends() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    let csv = f._dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "PL", 60);
    // One row an import refuses: it is journaled invalid, never sent.
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("PL-BAD,not money,31/12/2026,01/11/2026,Bad Row,03001234567,,\n");
    std::fs::write(&csv, text).unwrap();
    let request = engine::PlanRequest {
        file: csv.clone(),
        kind: None,
        sheet: None,
        target: engine::Target {
            base_url: sim.base_url.clone(),
            merchant_id: MERCHANT.to_string(),
        },
        allow_resend: false,
        amount_limits: None,
    };
    let plan = engine::plan(&f.journal, request.clone()).unwrap();
    let p = &plan.preview;
    assert_eq!((p.kind, p.kind_guessed), (Kind::Orders, true));
    assert_eq!(
        (p.rows, p.valid, p.invalid, p.skipped, p.to_send),
        (61, 60, 1, 0, 60)
    );
    assert!(p.total.is_some());
    assert!(plan.source.file.is_absolute());
    assert_eq!(plan.source.sha256.len(), 64);
    // Nothing was written by planning, and a plan that sends needs credentials.
    assert!(f.journal.runs().unwrap().is_empty());
    assert!(matches!(
        engine::start(
            &f.journal,
            Start::plan(plan.clone()),
            None,
            &fast_settings()
        )
        .await,
        Err(EngineError::NoCredentials)
    ));
    assert!(f.journal.runs().unwrap().is_empty());

    let handle = engine::start(
        &f.journal,
        Start::plan(plan),
        Some(client(&sim, PASSWORD)),
        &fast_settings(),
    )
    .await
    .unwrap();
    let run = handle.run;
    let (report, events) = watch(handle).await;
    let report = report.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!((report.counts.created, report.counts.invalid), (60, 1));
    assert_eq!(report.sent, 60);
    assert!(matches!(
        events.first(),
        Some(Event::RunStarted {
            total: 61,
            to_send: 60,
            settled: 1,
            ..
        })
    ));
    let record = f.journal.run(run).unwrap().unwrap();
    assert_eq!(record.merchant_id, MERCHANT);
    assert!(record.source_file.ends_with("orders.csv"));

    // The same file again: the guard skips every row, and starting it sends nothing
    // and needs no password.
    let again = engine::plan(&f.journal, request).unwrap();
    assert_eq!((again.preview.skipped, again.preview.to_send), (60, 0));
    assert_eq!(again.earlier[0].2.run, run);
    assert!(!again.sends_anything());
    let handle = engine::start(&f.journal, Start::plan(again), None, &fast_settings())
        .await
        .unwrap();
    let report = handle.finish().await.unwrap();
    assert_eq!(report.state, RunState::Completed);
    assert_eq!(
        (report.counts.skipped, report.requests, report.sent),
        (60, 0, 0)
    );
    assert_eq!(sim_orders(&sim).await.len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_go_on_stops_says_why_and_stays_resumable() {
    let sim = start_sim(BatchMode::PerItem, FaultConfig::default(), 0).await;
    let f = fixture();
    // A journaled order that cannot be read back as an order (a hand-edited file).
    let (run, _) = f
        .journal
        .create_run_with_items(
            &paypro_console::journal::NewRun {
                kind: "orders".into(),
                source_file: "x.csv".into(),
                source_sha256: "00".into(),
                sheet: None,
                merchant_id: MERCHANT.into(),
                base_url: sim.base_url.clone(),
            },
            &[paypro_console::journal::NewItem {
                row: 2,
                key: "BROKEN-1".into(),
                payload: serde_json::json!({"order_number": "BROKEN-1"}),
                issues: serde_json::json!([]),
                state: ItemState::Pending,
            }],
        )
        .unwrap();
    let (result, events) = drive(&f, client(&sim, PASSWORD), run, &fast_settings()).await;
    match result {
        Err(EngineError::Payload { row: 2, key, .. }) => assert_eq!(key, "BROKEN-1"),
        other => panic!("expected a payload error, got {other:?}"),
    }
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Stopping {
                reason: StopReason::Failed(why)
            } if why.contains("BROKEN-1")
        )),
        "{events:#?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Event::BatchSent { .. })));
    let record = f.journal.run(run).unwrap().unwrap();
    assert_eq!(record.state, RunState::Interrupted);
    assert!(record.lock.is_none());
    assert!(sim_orders(&sim).await.is_empty());
}
