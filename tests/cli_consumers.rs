#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Consumers through the real binary against `paypro-console sim`: the sample consumers
//! sheet is created with `cmc` and the sample updates sheet applied with `umc`, by the
//! same `submit` (and so the same engine and journal) as orders, on a clean simulator
//! and on one that loses answers. What the simulator holds afterwards is what the
//! sheets say, and the journal records the full consumer codes and the endpoints used.

mod common;

use common::{Sim, console, run, run_ok, sample, show, summary, text};
use paypro_console::domain::{ConsumerUpdate, Kind};
use paypro_console::journal::{Journal, RunId};
use paypro_console::sheet::Item;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The demo merchant's company code in the simulator (the first merchant gets 0044).
const COMPANY_CODE: &str = "0044";

/// Name, mobile, email and address as the simulator lists a consumer.
type Fields = [String; 4];

fn sim_fields(c: &Value) -> Fields {
    ["Name", "Mobile", "Email", "Address"].map(|f| c[f].as_str().unwrap_or_default().to_string())
}

/// The simulator's consumers by full consumer code, asserting none is held twice and
/// each code is the company code followed by the merchant's own id.
fn sim_consumers(sim: &Sim) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for c in sim.consumers() {
        let id = c["ConsumerID"].as_str().unwrap();
        let code = c["FullConsumerCode"].as_str().unwrap().to_string();
        assert_eq!(code, format!("{COMPANY_CODE}{id}"), "{c}");
        assert_eq!(c["MerchantId"], "demo", "{c}");
        assert!(
            map.insert(code.clone(), c).is_none(),
            "the simulator holds consumer {code} twice"
        );
    }
    map
}

/// `validate FILE --json` must see the sheet as `kind` with every row valid; returns
/// the row count.
fn validates_as(file: &Path, kind: &str) -> u64 {
    let out = run_ok({
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.env(
            "PAYPRO_LOG_DIR",
            std::env::temp_dir().join("paypro-console-test-logs"),
        );
        cmd.arg("validate").arg(file).arg("--json");
        cmd
    });
    let v = summary(&out);
    assert_eq!(v["kind"], kind, "{v}");
    assert_eq!(v["invalid"], 0, "{v}");
    assert_eq!(v["valid"], v["rows"], "{v}");
    v["rows"].as_u64().unwrap()
}

/// The two sample sheets, checked with `validate` and read with the importer.
struct Sheets {
    consumers_file: std::path::PathBuf,
    updates_file: std::path::PathBuf,
    /// Each sample consumer's fields by full consumer code, as created.
    created: BTreeMap<String, Fields>,
    /// The same after the updates: filled cells replace a field, empty ones keep it.
    updated: BTreeMap<String, Fields>,
    updates: Vec<ConsumerUpdate>,
}

fn sheets() -> Sheets {
    let consumers_file = sample("consumers.xlsx");
    let updates_file = sample("consumer-updates.xlsx");
    let n_consumers = validates_as(&consumers_file, "consumers");
    let n_updates = validates_as(&updates_file, "consumer-updates");

    let mut created: BTreeMap<String, Fields> = BTreeMap::new();
    for row in paypro_console::sheet::read(&consumers_file, Some(Kind::Consumers), None)
        .unwrap()
        .rows
    {
        let Some(Item::Consumer(c)) = row.item else {
            panic!("row {} is not a consumer: {:?}", row.row, row.issues)
        };
        let code = format!("{COMPANY_CODE}{}", c.consumer_id);
        let fields = [c.name, c.mobile, c.email, c.address];
        assert!(created.insert(code, fields).is_none());
    }
    assert_eq!(created.len() as u64, n_consumers);
    let updates: Vec<ConsumerUpdate> =
        paypro_console::sheet::read(&updates_file, Some(Kind::ConsumerUpdates), None)
            .unwrap()
            .rows
            .into_iter()
            .map(|row| match row.item {
                Some(Item::ConsumerUpdate(u)) => u,
                other => panic!("row {} is not a consumer update: {other:?}", row.row),
            })
            .collect();
    assert_eq!(updates.len() as u64, n_updates);

    let mut updated = created.clone();
    let (mut changed, mut kept) = (0, 0);
    for u in &updates {
        let fields = updated
            .get_mut(&u.consumer_id)
            .unwrap_or_else(|| panic!("{} updates no sample consumer", u.consumer_id));
        let new = [&u.name, &u.mobile, &u.email, &u.address];
        for (field, value) in fields.iter_mut().zip(new) {
            match value {
                Some(v) if v != field => {
                    *field = v.clone();
                    changed += 1;
                }
                Some(_) => {}
                None => kept += 1,
            }
        }
    }
    // Otherwise comparing the simulator with `updated` could not tell an update from
    // none, nor "left unchanged" from "emptied".
    assert!(changed > 0 && kept > 0, "changed {changed}, kept {kept}");
    Sheets {
        consumers_file,
        updates_file,
        created,
        updated,
        updates,
    }
}

/// `submit FILE --kind KIND --yes --json`, which must complete with every row sent and
/// none left failed or pending; returns the summary.
fn submit(journal: &Path, sim: &Sim, file: &Path, kind: &str, rows: usize) -> Value {
    let mut cmd = console(journal, sim);
    cmd.arg("submit")
        .arg(file)
        .args(["--kind", kind, "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["state"], "completed", "{s}");
    assert_eq!(s["rows"], rows as u64, "{s}");
    assert_eq!(s["sent"], rows as u64, "{s}");
    for key in [
        "exists_before_run",
        "rejected",
        "failed",
        "pending",
        "invalid",
        "skipped",
    ] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    s
}

/// Every attempt the journal recorded for `run` used `endpoint`; returns how many
/// requests the run made.
fn endpoints_used(journal: &Path, run: i64, endpoint: &str) -> usize {
    let j = Journal::open(journal).unwrap();
    let mut batches = BTreeSet::new();
    for item in j.items(RunId(run), None).unwrap() {
        let attempts = j.item_attempts(item.id).unwrap();
        assert!(!attempts.is_empty(), "{} was never sent", item.key);
        for a in attempts {
            assert_eq!(a.endpoint, endpoint, "{}: {a:?}", item.key);
            assert!(a.batch_size <= 50, "{a:?}");
            batches.insert(a.batch);
        }
    }
    batches.len()
}

/// The simulator holds exactly the sample consumers, each once, with these fields.
fn assert_sim_holds(sim: &Sim, expected: &BTreeMap<String, Fields>) {
    let held = sim_consumers(sim);
    assert_eq!(
        held.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>(),
        "the simulator's consumers are not exactly the sheet's"
    );
    for (code, fields) in expected {
        assert_eq!(&sim_fields(&held[code]), fields, "{code}");
    }
}

/// The runs `runs --json` lists, by number, with their kinds.
fn run_kinds(journal: &Path, sim: &Sim) -> BTreeMap<i64, String> {
    common::runs(journal, sim)
        .iter()
        .map(|r| {
            (
                r["run"].as_i64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn sample_consumers_are_created_with_cmc_then_updated_with_umc() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let sh = sheets();
    let (n_consumers, n_updates) = (sh.created.len(), sh.updates.len());

    let s = submit(&journal, &sim, &sh.consumers_file, "consumers", n_consumers);
    assert_eq!(s["created"], n_consumers as u64, "{s}");
    assert_eq!(s["retries"], 0, "{s}");
    let created_run = s["run"].as_i64().unwrap();
    assert_sim_holds(&sim, &sh.created);
    let rows = show(&journal, &sim, created_run);
    assert_eq!(rows.len(), n_consumers);
    for r in &rows {
        let code = format!("{COMPANY_CODE}{}", r["key"].as_str().unwrap());
        assert!(sh.created.contains_key(&code), "{r}");
        assert_eq!(r["state"], "created", "{r}");
        assert_eq!(r["status_code"], "00", "{r}");
        assert_eq!(r["connectpay_id"], code.as_str(), "{r}");
        assert_eq!(r["attempts"], 1, "{r}");
    }
    // 60 consumers: a request of 50 and one of 10.
    assert_eq!(endpoints_used(&journal, created_run, "cmc"), 2);

    // The cross-run guard does not hold back updates of consumers an earlier run
    // created.
    let s = submit(
        &journal,
        &sim,
        &sh.updates_file,
        "consumer-updates",
        n_updates,
    );
    // The engine journals an applied update as `created` (the request succeeded).
    assert_eq!(s["created"], n_updates as u64, "{s}");
    let update_run = s["run"].as_i64().unwrap();
    assert_ne!(update_run, created_run);
    assert_sim_holds(&sim, &sh.updated);
    let rows = show(&journal, &sim, update_run);
    assert_eq!(rows.len(), n_updates);
    let codes: BTreeSet<&str> = sh.updates.iter().map(|u| u.consumer_id.as_str()).collect();
    for r in &rows {
        let code = r["key"].as_str().unwrap();
        assert!(codes.contains(code), "{r}");
        assert_eq!(r["state"], "created", "{r}");
        assert_eq!(r["status_code"], "00", "{r}");
        assert_eq!(r["connectpay_id"], code, "{r}");
        assert_eq!(r["attempts"], 1, "{r}");
    }
    assert_eq!(endpoints_used(&journal, update_run, "umc"), 1);

    assert_eq!(
        run_kinds(&journal, &sim),
        BTreeMap::from([
            (created_run, "consumers".to_string()),
            (update_run, "consumer-updates".to_string())
        ])
    );
}

#[test]
fn consumers_and_their_updates_survive_lost_answers_without_duplicates() {
    // With this seed the simulator's first five requests meet: a drop after store and
    // a truncated answer (the two cmc requests, in either order), two clean ones (their
    // resends, answered 01), a drop after store (the umc request, applied but
    // unanswered), then no fault for at least 15 requests.
    let sim = Sim::with_every_fault("431032", "0.04");
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let sh = sheets();
    let (n_consumers, n_updates) = (sh.created.len(), sh.updates.len());

    let s = submit(&journal, &sim, &sh.consumers_file, "consumers", n_consumers);
    let created_run = s["run"].as_i64().unwrap();
    assert!(s["retries"].as_u64().unwrap() > 0, "{s}");
    // Stored but unanswered, then answered 01 when sent again.
    assert!(s["exists_id_unknown"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["created"].as_u64().unwrap() + s["exists_id_unknown"].as_u64().unwrap(),
        n_consumers as u64,
        "{s}"
    );
    assert_sim_holds(&sim, &sh.created);
    for r in show(&journal, &sim, created_run) {
        let code = format!("{COMPANY_CODE}{}", r["key"].as_str().unwrap());
        match r["state"].as_str().unwrap() {
            "created" => assert_eq!(r["connectpay_id"], code.as_str(), "{r}"),
            "exists_id_unknown" => {
                assert!(r["attempts"].as_u64().unwrap() >= 2, "{r}");
                assert_eq!(r["status_code"], "01", "{r}");
            }
            other => panic!("{code} ended {other}: {r}"),
        }
    }
    endpoints_used(&journal, created_run, "cmc");

    // An update whose answer was lost is sent again and applied again: harmless.
    let s = submit(
        &journal,
        &sim,
        &sh.updates_file,
        "consumer-updates",
        n_updates,
    );
    assert_eq!(s["created"], n_updates as u64, "{s}");
    assert!(s["retries"].as_u64().unwrap() > 0, "{s}");
    let update_run = s["run"].as_i64().unwrap();
    assert_sim_holds(&sim, &sh.updated);
    for r in show(&journal, &sim, update_run) {
        assert_eq!(r["state"], "created", "{r}");
        assert_eq!(r["connectpay_id"], r["key"], "{r}");
    }
    endpoints_used(&journal, update_run, "umc");
}
