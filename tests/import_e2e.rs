#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The end-to-end property of issue 9: the whole adversarial corpus (tests/corpus) is
//! submitted to the simulator with `submit --yes` through the real binary, and then every
//! order the simulator holds is compared, field by field through `GET /__sim/orders`,
//! with what the clerk meant. Every row is either refused before sending (nothing of it
//! on the server) or held exactly as meant, created by one request; nothing else reaches
//! the server.

mod common;
mod corpus;

use common::{Sim, console, run, text};
use corpus::{Meant, Row, Verdict};
use paypro_console::domain::Money;
use serde_json::Value;
use std::collections::BTreeMap;

fn money(v: &Value) -> Option<Money> {
    v.as_str().map(|s| s.parse().unwrap())
}

fn check_stored(number: &str, meant: &Meant, o: &Value) {
    let day = |d: chrono::NaiveDate| Value::from(d.format("%Y-%m-%d").to_string());
    let m = |s: &str| s.parse::<Money>().unwrap();
    assert_eq!(
        money(&o["OrderAmount"]),
        Some(m(&meant.amount)),
        "{number}: {o}"
    );
    assert_eq!(o["OrderDueDate"], day(meant.due), "{number}: {o}");
    assert_eq!(o["IssueDate"], day(meant.issue), "{number}: {o}");
    assert_eq!(o["OrderType"], "Service", "{number}");
    assert_eq!(o["CustomerName"], meant.name.as_str(), "{number}: {o}");
    assert_eq!(o["CustomerMobile"], meant.mobile.as_str(), "{number}: {o}");
    assert_eq!(o["CustomerEmail"], meant.email.as_str(), "{number}: {o}");
    assert_eq!(
        o["CustomerAddress"],
        meant.address.as_str(),
        "{number}: {o}"
    );
    assert_eq!(
        o["OrderExpireAfterSeconds"].as_u64(),
        meant.expire,
        "{number}: {o}"
    );
    assert_eq!(
        money(&o["OrderAmountWithinDueDate"]),
        meant.within.as_deref().map(m),
        "{number}: {o}"
    );
    assert_eq!(
        money(&o["OrderAmountAfterDueDate"]),
        meant.after.as_deref().map(m),
        "{number}: {o}"
    );
    assert_eq!(o["CreateRequests"], 1, "{number}: created by one request");
    assert_eq!(o["OrderStatus"], "Unpaid", "{number}");
}

#[test]
fn the_whole_corpus_reaches_the_server_exactly_as_meant_or_not_at_all() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cases = corpus::build(dir.path());
    let journal = dir.path().join("journal.sqlite3");
    let mut meant: BTreeMap<String, Meant> = BTreeMap::new();
    let mut refused_rows = 0;
    for case in &cases {
        let mut cmd = console(&journal, &sim);
        cmd.arg("submit").arg(&case.file).args(["--yes", "--json"]);
        let out = run(cmd);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let expected_exit = match &case.verdict {
            Verdict::Unusable(needle) => {
                assert!(
                    stderr.contains(needle) || stdout.contains(needle),
                    "{}: {needle:?} not said\nstdout: {stdout}\nstderr: {stderr}",
                    case.code
                );
                2
            }
            Verdict::Rows { rows, .. } => {
                for row in rows {
                    match row {
                        Row::Sent { meant: m, .. } => {
                            assert!(
                                meant.insert(m.number.clone(), (**m).clone()).is_none(),
                                "{}: {} twice in the corpus",
                                case.code,
                                m.number
                            );
                        }
                        Row::Refused { .. } => refused_rows += 1,
                    }
                }
                let any_refused = rows.iter().any(|r| matches!(r, Row::Refused { .. }));
                if any_refused || rows.is_empty() { 1 } else { 0 }
            }
        };
        assert_eq!(
            out.status.code(),
            Some(expected_exit),
            "{} ({}): stdout: {stdout}\nstderr: {stderr}",
            case.code,
            case.covers
        );
    }
    assert!(
        refused_rows > 20 && meant.len() > 30,
        "{refused_rows} / {}",
        meant.len()
    );

    let stored = sim.orders_by_number();
    let held: Vec<&String> = stored.keys().collect();
    let expected: Vec<&String> = meant.keys().collect();
    assert_eq!(
        {
            let mut h = held.clone();
            h.sort();
            h
        },
        expected,
        "exactly the rows meant to be sent are on the server"
    );
    for (number, m) in &meant {
        check_stored(number, m, &stored[number]);
    }
}
