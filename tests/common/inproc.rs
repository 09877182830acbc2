//! The simulator inside the test process (for tests that drive the engine or the client
//! directly), on 127.0.0.1 with an OS-assigned port, and readers for its `/__sim/`
//! inspection endpoints. Part of the one test-support module (`tests/common`); the
//! client tests reach it through `tests/support_api`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use paypro_console::sim::{self, RunningSim, SimConfig};
use serde_json::Value;
use std::time::Duration;

/// Starts `config`'s simulator on a free loopback port.
pub async fn start(config: SimConfig) -> RunningSim {
    sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `GET {base_url}/__sim/{what}` (`orders`, `consumers`, `faults`): never faulted.
pub async fn list(base_url: &str, what: &str) -> Vec<Value> {
    let r = http()
        .get(format!("{base_url}/__sim/{what}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

/// `POST {base_url}{path}` with a JSON body; the status and the body as text.
pub async fn post(base_url: &str, path: &str, body: &Value) -> (u16, String) {
    let r = http()
        .post(format!("{base_url}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}
