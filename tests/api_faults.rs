#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fault tests: the client against the simulator with each injected fault (HTTP 500,
//! an HTML page with 200, truncated JSON, the connection dropped before or after the
//! change is stored, latency beyond the request timeout). Each must give the right
//! `ApiError` kind, never a success, on create endpoints (`co`, `cmo`, `cc`) and read
//! endpoints (`gos`, `gpojson`, `gcd`) — and the simulator's state must show whether
//! the request took effect.

mod support_api;

use paypro_console::api::{ApiError, Client, Endpoint, TransportKind};
use paypro_console::sim::{BatchMode, FaultConfig, RunningSim};
use std::time::Duration;
use support_api::*;

/// The calls under test. Create calls name a fresh order/consumer per `tag` so that
/// the state check can tell whether this very request was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Co,
    Cmo,
    Cc,
    Moap,
    Gos,
    Gpojson,
    Gcd,
}

const CREATES: [Call; 3] = [Call::Co, Call::Cmo, Call::Cc];
const READS: [Call; 3] = [Call::Gos, Call::Gpojson, Call::Gcd];

impl Call {
    fn endpoint(self) -> Endpoint {
        match self {
            Call::Co => Endpoint::Co,
            Call::Cmo => Endpoint::Cmo,
            Call::Cc => Endpoint::Cc,
            Call::Moap => Endpoint::Moap,
            Call::Gos => Endpoint::Gos,
            Call::Gpojson => Endpoint::Gpojson,
            Call::Gcd => Endpoint::Gcd,
        }
    }
}

/// A simulator with one paid order (`EXISTING`, id returned) and one consumer
/// (`0034CONS-1`) so that the read endpoints have something to answer.
async fn prepared() -> (RunningSim, Client, String) {
    let sim = start_default().await;
    let c = client(&sim);
    let id = create(&c, "EXISTING", "100").await;
    pay(&sim, &[&id], "2026-03-10").await;
    c.create_consumer(&consumer("CONS-1", "Usman"))
        .await
        .unwrap();
    (sim, c, id)
}

/// Runs `call`; `Ok` carries a short description of the (unexpected) success.
async fn run(c: &Client, call: Call, tag: &str, existing_id: &str) -> Result<String, ApiError> {
    match call {
        Call::Co => c
            .create_order(&order(tag, "100"))
            .await
            .map(|r| format!("{r:?}")),
        Call::Cmo => c
            .create_orders(&[order(tag, "100"), order(&format!("{tag}-b"), "100")])
            .await
            .map(|r| format!("{r:?}")),
        Call::Cc => c
            .create_consumer(&consumer(tag, "Usman"))
            .await
            .map(|r| format!("{r:?}")),
        Call::Moap => c
            .mark_paid(&[order_ref(tag)])
            .await
            .map(|r| format!("{r:?}")),
        Call::Gos => c.order_status(existing_id).await.map(|r| format!("{r:?}")),
        Call::Gpojson => c
            .paid_orders(date(2026, 3, 1), date(2026, 3, 31))
            .await
            .map(|r| format!("{r:?}")),
        Call::Gcd => c
            .consumer_data("0034CONS-1")
            .await
            .map(|r| format!("{r:?}")),
    }
}

/// Whether the create call tagged `tag` left its order or consumer in the simulator.
async fn stored(sim: &RunningSim, call: Call, tag: &str) -> bool {
    match call {
        Call::Co | Call::Cmo => stored_order(sim, tag).await.is_some(),
        Call::Cc => stored_consumers(sim)
            .await
            .iter()
            .any(|c| c["ConsumerID"] == tag),
        _ => unreachable!("only create calls are checked for storage"),
    }
}

/// Runs `calls` with `fault` switched on and checks each error with `expect`; then,
/// with faults off, whether create calls stored their items (`stores`).
async fn check_fault(
    fault: FaultConfig,
    calls: &[Call],
    expect: impl Fn(&ApiError) -> bool,
    stores: bool,
) {
    let (sim, c, existing) = prepared().await;
    sim.set_faults(fault.clone()).unwrap();
    let mut tags = Vec::new();
    for (i, &call) in calls.iter().enumerate() {
        let tag = format!("F-{i}-{call:?}");
        match run(&c, call, &tag, &existing).await {
            Ok(v) => panic!("{fault:?} on {call:?} was read as a success: {v}"),
            Err(e) => {
                assert!(expect(&e), "{fault:?} on {call:?}: wrong error {e:?}");
                assert_eq!(e.endpoint(), Some(call.endpoint()), "{e:?}");
                assert!(e.is_retryable(), "{call:?}: {e:?}");
                assert!(!e.is_auth(), "{call:?}: {e:?}");
            }
        }
        tags.push((call, tag));
    }
    sim.set_faults(FaultConfig::default()).unwrap();
    for (call, tag) in tags {
        if CREATES.contains(&call) {
            assert_eq!(
                stored(&sim, call, &tag).await,
                stores,
                "{fault:?} on {call:?}: stored?"
            );
        }
    }
    // The faults were the only problem: the same client works again.
    run(&c, Call::Gos, "", &existing).await.unwrap();
}

fn all_calls() -> Vec<Call> {
    CREATES.iter().chain(READS.iter()).copied().collect()
}

#[tokio::test]
async fn http_500_is_an_http_error_and_nothing_is_processed() {
    check_fault(
        FaultConfig {
            http_500: 1.0,
            ..FaultConfig::default()
        },
        &all_calls(),
        |e| matches!(e, ApiError::Http { status: 500, .. }),
        false,
    )
    .await;
}

#[tokio::test]
async fn html_page_with_200_is_a_decode_error_and_nothing_is_processed() {
    check_fault(
        FaultConfig {
            html_200: 1.0,
            ..FaultConfig::default()
        },
        &all_calls(),
        |e| match e {
            ApiError::Decode { excerpt, .. } => excerpt.contains("html"),
            _ => false,
        },
        false,
    )
    .await;
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_though_the_request_was_processed() {
    check_fault(
        FaultConfig {
            truncated_json: 1.0,
            ..FaultConfig::default()
        },
        &all_calls(),
        |e| matches!(e, ApiError::Decode { .. }),
        true,
    )
    .await;
}

#[tokio::test]
async fn drop_before_store_is_connection_closed_and_nothing_is_stored() {
    check_fault(
        FaultConfig {
            drop_before_store: 1.0,
            ..FaultConfig::default()
        },
        &all_calls(),
        |e| {
            matches!(
                e,
                ApiError::Transport {
                    kind: TransportKind::ConnectionClosed,
                    ..
                }
            )
        },
        false,
    )
    .await;
}

#[tokio::test]
async fn drop_after_store_is_connection_closed_and_the_order_exists() {
    check_fault(
        FaultConfig {
            drop_after_store: 1.0,
            ..FaultConfig::default()
        },
        &all_calls(),
        |e| {
            matches!(
                e,
                ApiError::Transport {
                    kind: TransportKind::ConnectionClosed,
                    ..
                }
            )
        },
        true,
    )
    .await;
}

#[tokio::test]
async fn lost_response_then_resend_is_already_exists() {
    // The journal's "exists remotely, id unknown" case (reference §7): the order was
    // stored, the answer lost; sending it again is answered 01, not a second order.
    let (sim, c, _) = prepared().await;
    sim.set_faults(FaultConfig {
        drop_after_store: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    let err = c.create_order(&order("LOST-1", "100")).await.unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    sim.set_faults(FaultConfig::default()).unwrap();
    let err = c.create_order(&order("LOST-1", "100")).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ApiError::Status { status, .. } if status.code() == "01"
        ),
        "{err:?}"
    );
    let stored = stored_order(&sim, "LOST-1").await.unwrap();
    assert_eq!(stored["CreateRequests"], 2);
}

#[tokio::test]
async fn mark_call_dropped_after_store_is_applied_but_unconfirmed() {
    let (sim, c, _) = prepared().await;
    create(&c, "TO-MARK", "100").await;
    sim.set_faults(FaultConfig {
        drop_after_store: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    let err = run(&c, Call::Moap, "TO-MARK", "").await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::ConnectionClosed,
                endpoint: Endpoint::Moap,
                ..
            }
        ),
        "{err:?}"
    );
    sim.set_faults(FaultConfig::default()).unwrap();
    assert_eq!(
        stored_order(&sim, "TO-MARK").await.unwrap()["OrderStatus"],
        "Paid"
    );
}

#[tokio::test]
async fn latency_beyond_the_request_timeout_is_a_timeout() {
    let sim = start(vec![merchant()], BatchMode::PerItem, FaultConfig::default()).await;
    // Set-up and the final check use the ordinary client (20 s timeout), so that only
    // the calls meant to time out depend on the 300 ms one.
    let patient = client(&sim);
    let id = create(&patient, "EXISTING", "100").await;
    let mut cfg = config(&sim.base_url, MID, PW);
    cfg.request_timeout = Duration::from_millis(300);
    let c = Client::new(cfg).unwrap();
    // The server would answer after ten minutes: an error within the generous guard
    // below can only be the client's own timeout, and its kind says so.
    sim.set_faults(FaultConfig {
        latency_ms: 600_000,
        ..FaultConfig::default()
    })
    .unwrap();
    for call in [Call::Co, Call::Cmo, Call::Gos, Call::Gpojson] {
        let err = tokio::time::timeout(
            Duration::from_secs(60),
            run(&c, call, &format!("SLOW-{call:?}"), &id),
        )
        .await
        .unwrap_or_else(|_| panic!("{call:?}: the client did not give up at its own timeout"))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::Transport {
                    kind: TransportKind::Timeout,
                    ..
                }
            ),
            "{call:?}: {err:?}"
        );
        assert!(err.is_retryable());
    }
    // Nothing was created by the requests the client gave up on: latency comes before
    // the handler.
    assert!(stored_order(&sim, "SLOW-Co").await.is_none());
    // Latency within the timeout is no fault at all.
    sim.set_faults(FaultConfig {
        latency_ms: 50,
        ..FaultConfig::default()
    })
    .unwrap();
    patient.order_status(&id).await.unwrap();
}
