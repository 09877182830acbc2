#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What is checked about the connection before anything is sent (issue 11, problem
//! 10), through the real binary: the merchant's amount limits from the profile (at
//! `validate` and `submit`), the merchant id's length, and a plain `http://` base URL
//! to another machine (the password travels in query strings).

mod common;

use common::{Sim, console, run, text};

/// A profile file with the demo merchant's limits narrowed to 10..5000.
fn limits_profile(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("profiles.toml");
    std::fs::write(
        &path,
        "[default]\nmerchant_id = \"demo\"\nmin_amount = \"10\"\nmax_amount = 5000\n",
    )
    .unwrap();
    path
}

/// 720 orders, the last twenty over 5,000.
fn sheet(dir: &std::path::Path) -> std::path::PathBuf {
    let csv = dir.join("orders.csv");
    common::write_orders_csv(&csv, "LIM", 720);
    csv
}

#[test]
fn amount_limits_from_the_profile_apply_at_validate_and_submit() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let profiles = limits_profile(dir.path());
    let csv = sheet(dir.path());
    // Order i's amount is 100 + 7i (and i % 100 cents): 5,000.00 at i = 700 is the
    // limit itself; from i = 701 (5,007.01) they are over it.
    let over: Vec<usize> = (1..=720).filter(|i| 100 + i * 7 > 5000).collect();
    assert!(!over.is_empty());

    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_CONFIG", &profiles)
        .args(["validate", csv.to_str().unwrap(), "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invalid"], over.len(), "{}", v["issues"]);
    let first = &v["issues"][0];
    assert_eq!(first["column"], "OrderAmount", "{first}");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("above the merchant's maximum of 5000.00"),
        "{first}"
    );
    // Without the profile's limits the sheet is valid.
    let mut cmd = console(&journal, &sim);
    cmd.args(["validate", csv.to_str().unwrap()]);
    assert_eq!(run(cmd).status.code(), Some(0));

    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_CONFIG", &profiles)
        .args(["submit", csv.to_str().unwrap(), "--yes", "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = common::summary(&out);
    assert_eq!(s["invalid"], over.len(), "{s}");
    assert_eq!(s["created"], 720 - over.len(), "{s}");
    let held = sim.orders_by_number();
    for i in &over {
        assert!(
            !held.contains_key(&format!("LIM-{i:05}")),
            "row {i} was sent"
        );
    }
}

#[test]
fn a_merchant_id_too_long_for_paypro_is_refused_before_any_request() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "LONG", 120);
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_MERCHANT_ID", "merchant-0123456").args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
    ]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "merchant id 'merchant-0123456' is 16 characters; Connect Pay accepts at most 15"
        ),
        "{stderr}"
    );
    assert!(sim.orders().is_empty(), "nothing was sent");
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_asked_for() {
    let sim = Sim::start(&[]);
    let dir = common::tempdir();
    let journal = dir.path().join("j.sqlite3");
    let csv = dir.path().join("orders.csv");
    common::write_orders_csv(&csv, "HTTP", 3);
    // 192.0.2.0/24 is reserved for documentation: nothing answers there, and nothing
    // is tried: the refusal comes first.
    let mut cmd = console(&journal, &sim);
    cmd.env("PAYPRO_BASE_URL", "http://192.0.2.10:8080").args([
        "submit",
        csv.to_str().unwrap(),
        "--yes",
    ]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--insecure-http"), "{stderr}");
    assert!(stderr.contains("query strings"), "{stderr}");
    assert!(
        common::runs(&journal, &sim).is_empty(),
        "no run was journaled"
    );

    // On loopback, http:// is fine (the simulator).
    let mut cmd = console(&journal, &sim);
    cmd.args(["submit", csv.to_str().unwrap(), "--yes"]);
    assert_eq!(run(cmd).status.code(), Some(0));
}
