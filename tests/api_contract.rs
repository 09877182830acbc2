#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Contract tests: the client (`api`) against the simulator (`sim`) over real HTTP on
//! 127.0.0.1, for every endpoint: the typed success result and each status code the
//! reference lists for it, batch pairing in both batch modes, the 4000-character split
//! of mark lists and the date formats sent.

mod support_api;

use chrono::Local;
use paypro_console::api::{
    ApiError, ApiStatus, CSV_ORDERS_MAX, Client, ConsumerStatus, CreateStatus, Endpoint,
    ItemStatus, MarkStatus, OrderStatus, ReportStatus, RequestProblem,
};
use paypro_console::sim::{BatchMode, FaultConfig, Merchant, Service};
use serde_json::json;
use support_api::*;

/// The endpoint, status and description of an `ApiError::Status`; anything else
/// (including success) fails the test.
fn status_err<T: std::fmt::Debug>(r: Result<T, ApiError>) -> (Endpoint, ApiStatus, String) {
    match r {
        Err(ApiError::Status {
            endpoint,
            status,
            description,
        }) => (endpoint, status, description),
        other => panic!("expected a status error, got {other:?}"),
    }
}

fn is_14_digit_id(id: &str) -> bool {
    id.len() == 14 && id.bytes().all(|b| b.is_ascii_digit()) && id.starts_with(COMPANY)
}

// =====================================================================================
// co
// =====================================================================================

#[tokio::test]
async fn co_00_created_with_id_fee_and_amount() {
    let sim = start_default().await;
    let c = client(&sim);
    let r = c.create_order(&order("CO-1", "4400.50")).await.unwrap();
    assert_eq!(
        r.status,
        ItemStatus::Stated(CreateStatus::Created),
        "the simulator sends each item's Status by default"
    );
    assert_eq!(r.order_number.as_deref(), Some("CO-1"));
    let id = r.connectpay_id.clone().unwrap();
    assert!(is_14_digit_id(&id), "{id}");
    assert_eq!(r.connectpay_fee, Some(dec("75.50")));
    assert_eq!(r.order_amount, Some(dec("4400.50")));
    assert_eq!(r.is_fee_applied, Some(true));
    assert!(r.description.unwrap().contains("created successfully"));
    let stored = stored_order(&sim, "CO-1").await.unwrap();
    assert_eq!(stored["ConnectPayId"], id.as_str());
    assert_eq!(stored["OrderAmount"], "4400.50");
    assert_eq!(stored["OrderStatus"], "Unpaid");

    let second = create(&c, "CO-2", "10").await;
    assert!(is_14_digit_id(&second));
    assert_ne!(second, id, "each order gets its own ConnectPayId");
}

#[tokio::test]
async fn co_01_duplicate_order_number() {
    let sim = start_default().await;
    let c = client(&sim);
    let first = create(&c, "DUP-1", "100").await;
    let (ep, st, desc) = status_err(c.create_order(&order("DUP-1", "100")).await);
    assert_eq!(ep, Endpoint::Co);
    assert_eq!(st, ApiStatus::Create(CreateStatus::AlreadyExists));
    assert!(desc.contains("already exists"), "{desc}");
    let stored = stored_order(&sim, "DUP-1").await.unwrap();
    assert_eq!(
        stored["ConnectPayId"],
        first.as_str(),
        "the first one stays"
    );
    assert_eq!(stored["CreateRequests"], 2);
}

#[tokio::test]
async fn co_02_service_failure_is_retryable_and_stores_nothing() {
    let sim = start_default().await;
    let r = client(&sim)
        .create_order(&order("SIMFAIL02-7", "100"))
        .await;
    let err = r.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(!err.is_auth());
    let (_, st, _) = status_err::<()>(Err(err));
    assert_eq!(st, ApiStatus::Create(CreateStatus::ServiceFailure));
    assert!(stored_order(&sim, "SIMFAIL02-7").await.is_none());
}

#[tokio::test]
async fn co_03_invalid_data() {
    let sim = start_default().await;
    let c = client(&sim);
    let mut bad_mobile = order("BAD-M", "100");
    bad_mobile.customer_mobile = "12345".into();
    let mut bad_email = order("BAD-E", "100");
    bad_email.customer_email = "not-an-email".into();
    let cases = [
        ("above the merchant's maximum", order("BIG", "5000.01")),
        ("below the merchant's minimum", order("SMALL", "9.99")),
        ("bad mobile", bad_mobile),
        ("bad e-mail", bad_email),
    ];
    for (what, o) in cases {
        let (ep, st, desc) = status_err(c.create_order(&o).await);
        assert_eq!(ep, Endpoint::Co, "{what}");
        assert_eq!(st, ApiStatus::Create(CreateStatus::InvalidData), "{what}");
        assert!(desc.starts_with("Invalid Data"), "{what}: {desc}");
    }
    // The limits are inclusive.
    create(&c, "EDGE-MAX", "5000").await;
    create(&c, "EDGE-MIN", "10").await;
    let numbers: Vec<String> = stored_orders(&sim)
        .await
        .iter()
        .map(|o| o["OrderNumber"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(numbers, ["EDGE-MAX", "EDGE-MIN"]);
}

#[tokio::test]
async fn co_04_wrong_password_or_service_not_authorised() {
    let sim = start(
        vec![merchant(), {
            let mut m = merchant_without(Service::Co);
            m.id = "NoCo".into();
            m.company_code = "0035".into();
            m
        }],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let wrong = client_as(&sim, MID, "not-the-password");
    let err = wrong.create_order(&order("A-1", "100")).await.unwrap_err();
    assert!(err.is_auth() && !err.is_retryable(), "{err:?}");
    let (_, st, _) = status_err::<()>(Err(err));
    assert_eq!(st, ApiStatus::Create(CreateStatus::NotAuthorised));

    let no_co = client_as(&sim, "NoCo", PW);
    let (_, st, desc) = status_err(no_co.create_order(&order("A-2", "100")).await);
    assert_eq!(st, ApiStatus::Create(CreateStatus::NotAuthorised));
    assert!(desc.contains("not Authorized"), "{desc}");
    // The same merchant may still use cmo: the refusal is per service.
    let ok = no_co.create_orders(&[order("A-3", "100")]).await.unwrap();
    assert_eq!(ok.status, CreateStatus::Created);
    assert_eq!(stored_orders(&sim).await.len(), 1);
}

// =====================================================================================
// cmo
// =====================================================================================

#[tokio::test]
async fn cmo_00_all_created_and_paired() {
    let sim = start_default().await;
    let sent: Vec<_> = (1..=5)
        .map(|i| order(&format!("B-{i}"), &format!("{}.25", 100 * i)))
        .collect();
    let resp = client(&sim).create_orders(&sent).await.unwrap();
    assert_eq!(resp.status, CreateStatus::Created);
    assert_eq!(resp.items.len(), 5);
    let paired = resp.pair(&sent);
    let mut ids = Vec::new();
    for (o, r) in sent.iter().zip(&paired) {
        let r = r.unwrap();
        assert_eq!(r.status, ItemStatus::Stated(CreateStatus::Created));
        assert_eq!(r.order_number.as_deref(), Some(o.order_number.as_str()));
        assert_eq!(r.order_amount, Some(o.amount.value()));
        assert_eq!(r.connectpay_fee, Some(dec("75.50")));
        let id = r.connectpay_id.clone().unwrap();
        assert!(is_14_digit_id(&id), "{id}");
        let stored = stored_order(&sim, &o.order_number).await.unwrap();
        assert_eq!(stored["ConnectPayId"], id.as_str());
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn cmo_per_item_mixed_batch_pairs_each_result_with_its_order() {
    let sim = start_default().await;
    let c = client(&sim);
    create(&c, "OLD-1", "100").await;
    let sent = vec![
        order("NEW-1", "100"),
        order("OLD-1", "100"),       // 01: exists already
        order("SIMFAIL02-X", "100"), // 02
        order("TOO-BIG", "9000"),    // 03: above the limit
        order("NEW-2", "200"),
        order("NEW-1", "100"), // 01: duplicate inside the batch
    ];
    let resp = c.create_orders(&sent).await.unwrap();
    // Element 0 carries the first failing item's code.
    assert_eq!(resp.status, CreateStatus::AlreadyExists);
    let paired = resp.pair(&sent);
    let statuses: Vec<CreateStatus> = paired
        .iter()
        .map(|r| r.unwrap().status.known().unwrap().clone())
        .collect();
    assert_eq!(
        statuses,
        [
            CreateStatus::Created,
            CreateStatus::AlreadyExists,
            CreateStatus::ServiceFailure,
            CreateStatus::InvalidData,
            CreateStatus::Created,
            CreateStatus::AlreadyExists,
        ]
    );
    // Pairing is by key: NEW-2's result is NEW-2's, with its own amount and id.
    let new2 = paired[4].unwrap();
    assert_eq!(new2.order_number.as_deref(), Some("NEW-2"));
    assert_eq!(new2.order_amount, Some(dec("200")));
    assert_eq!(
        stored_order(&sim, "NEW-2").await.unwrap()["ConnectPayId"],
        new2.connectpay_id.clone().unwrap().as_str()
    );
    // The in-batch duplicate is not the created one.
    assert!(paired[0].unwrap().connectpay_id.is_some());
    assert!(paired[5].unwrap().connectpay_id.is_none());
    for failed in [1, 2, 3, 5] {
        assert!(paired[failed].unwrap().connectpay_id.is_none());
    }
    let mut stored: Vec<String> = stored_orders(&sim)
        .await
        .iter()
        .map(|o| o["OrderNumber"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    assert_eq!(stored, ["NEW-1", "NEW-2", "OLD-1"]);
}

#[tokio::test]
async fn cmo_atomic_creates_nothing_and_lists_only_offenders() {
    let sim = start(vec![merchant()], BatchMode::Atomic, FaultConfig::default()).await;
    let c = client(&sim);
    create(&c, "OLD-1", "100").await;
    let sent = vec![
        order("A-1", "100"),
        order("OLD-1", "100"),
        order("A-2", "100"),
        order("A-BIG", "9000"),
    ];
    let resp = c.create_orders(&sent).await.unwrap();
    assert_eq!(resp.status, CreateStatus::InvalidData);
    assert!(
        resp.description
            .as_deref()
            .unwrap()
            .contains("nothing created"),
        "{resp:?}"
    );
    assert_eq!(resp.items.len(), 2);
    let paired = resp.pair(&sent);
    assert!(paired[0].is_none(), "not listed, not created: {paired:?}");
    assert_eq!(
        paired[1].unwrap().status,
        ItemStatus::Stated(CreateStatus::AlreadyExists)
    );
    assert!(paired[2].is_none());
    assert_eq!(
        paired[3].unwrap().status,
        ItemStatus::Stated(CreateStatus::InvalidData)
    );
    assert_eq!(stored_orders(&sim).await.len(), 1, "only OLD-1");

    // The unlisted ones may be sent again and are created.
    let again = vec![sent[0].clone(), sent[2].clone()];
    let resp = c.create_orders(&again).await.unwrap();
    assert_eq!(resp.status, CreateStatus::Created);
    assert!(
        resp.pair(&again)
            .iter()
            .all(|r| r.unwrap().connectpay_id.is_some())
    );

    // Only duplicates: element 0 says 01.
    let resp = c.create_orders(&again).await.unwrap();
    assert_eq!(resp.status, CreateStatus::AlreadyExists);
    assert_eq!(resp.items.len(), 2);
    assert_eq!(stored_orders(&sim).await.len(), 3);
}

#[tokio::test]
async fn cmo_whole_request_refusals() {
    let sim = start(
        vec![merchant(), {
            let mut m = merchant_without(Service::Cmo);
            m.id = "NoCmo".into();
            m.company_code = "0035".into();
            m
        }],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let batch = [order("W-1", "100"), order("W-2", "100")];
    // 04: wrong password, and a merchant not allowed to use cmo. No item is listed.
    let (ep, st, _) = status_err(client_as(&sim, MID, "wrong").create_orders(&batch).await);
    assert_eq!(ep, Endpoint::Cmo);
    assert_eq!(st, ApiStatus::Create(CreateStatus::NotAuthorised));
    let (_, st, _) = status_err(client_as(&sim, "NoCmo", PW).create_orders(&batch).await);
    assert_eq!(st, ApiStatus::Create(CreateStatus::NotAuthorised));

    // 03 for 51 orders: the client refuses before sending (the simulator's own 03 for
    // 51 orders on the wire is in tests/sim_wire.rs).
    let many: Vec<_> = (0..51).map(|i| order(&format!("M-{i}"), "100")).collect();
    let err = client(&sim).create_orders(&many).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Request {
                endpoint: Endpoint::Cmo,
                problem: RequestProblem::TooManyItems { count: 51, max: 50 }
            }
        ),
        "{err:?}"
    );
    assert!(
        stored_orders(&sim).await.is_empty(),
        "nothing reached the sim"
    );
    let resp = client(&sim).create_orders(&many[..50]).await.unwrap();
    assert_eq!(resp.items.len(), 50);
    assert_eq!(stored_orders(&sim).await.len(), 50);
}

#[tokio::test]
async fn guide_shaped_answers_are_decided_item_by_item_never_by_element_0() {
    let sim = start_guide(BatchMode::PerItem).await;
    let c = client(&sim);
    create(&c, "GD-1", "100").await;
    let mut bad = order("GD-2", "100");
    bad.amount = money("9000"); // above the merchant's 5000
    let sent = vec![
        order("GD-1", "100"),
        bad,
        order(
            &format!("{}-GD", paypro_console::sim::SIMFAIL_PREFIX),
            "100",
        ),
        order(
            &format!("{}-GD", paypro_console::sim::SIMSILENT_PREFIX),
            "100",
        ),
        order("GD-3", "100"),
    ];
    let resp = c.create_orders(&sent).await.unwrap();
    assert_eq!(resp.status, CreateStatus::AlreadyExists, "element 0: 01");
    assert_eq!(
        resp.description, None,
        "the guide's element 0 is the code alone"
    );
    let paired = resp.pair(&sent);
    let st: Vec<ItemStatus<CreateStatus>> =
        paired.iter().map(|i| i.unwrap().status.clone()).collect();
    assert_eq!(
        st,
        vec![
            ItemStatus::Inferred(CreateStatus::AlreadyExists),
            ItemStatus::Inferred(CreateStatus::InvalidData),
            ItemStatus::Inferred(CreateStatus::ServiceFailure),
            ItemStatus::Unknown,
            ItemStatus::Inferred(CreateStatus::Created),
        ]
    );
    assert!(
        paired[1]
            .unwrap()
            .description
            .as_deref()
            .unwrap()
            .contains("out of limits")
    );
    let held = stored_order(&sim, "GD-3").await.unwrap();
    assert_eq!(
        paired[4].unwrap().connectpay_id.as_deref(),
        held["ConnectPayId"].as_str()
    );
    assert_eq!(paired[4].unwrap().connectpay_fee, Some(dec("75.50")));

    // co: one item, so element 0 answers for it.
    let (_, st, desc) = status_err(c.create_order(&order("GD-3", "100")).await);
    assert_eq!(st, ApiStatus::Create(CreateStatus::AlreadyExists));
    assert!(desc.contains("already exists"), "{desc}");
    let ok = c.create_order(&order("GD-4", "100")).await.unwrap();
    assert_eq!(ok.status, ItemStatus::Inferred(CreateStatus::Created));

    // cmc / umc in the guide's shape.
    let consumers = vec![consumer("GC-1", "A"), consumer("GC-2", "")];
    let resp = c.create_consumers(&consumers).await.unwrap();
    let st: Vec<Option<ConsumerStatus>> = resp
        .pair_consumers(&consumers)
        .iter()
        .map(|i| i.unwrap().status.known().cloned())
        .collect();
    assert_eq!(
        st,
        vec![
            Some(ConsumerStatus::Ok),
            Some(ConsumerStatus::ExistsOrInvalid)
        ]
    );
    let mut u = update("0034GC-1");
    u.name = Some("B".into());
    let resp = c.update_consumers(std::slice::from_ref(&u)).await.unwrap();
    assert_eq!(
        resp.pair_updates(std::slice::from_ref(&u))[0]
            .unwrap()
            .status,
        ItemStatus::Inferred(ConsumerStatus::Ok)
    );
}

// =====================================================================================
// gpojson
// =====================================================================================

#[tokio::test]
async fn gpojson_00_lists_paid_orders_with_amounts_and_dates() {
    let sim = start_default().await;
    let c = client(&sim);
    let a = create(&c, "P-1", "4400").await;
    let b = create(&c, "P-2", "1500.50").await;
    let d = create(&c, "P-3", "99.99").await;
    let e = create(&c, "P-LATE", "100").await;
    create(&c, "UNPAID", "100").await;
    assert_eq!(pay(&sim, &[&a, &b, &d], "2026-03-10").await.len(), 3);
    assert_eq!(pay(&sim, &[&e], "2026-04-01").await.len(), 1);

    let paid = c
        .paid_orders(date(2026, 3, 1), date(2026, 3, 31))
        .await
        .unwrap();
    // Three rows: the simulator writes amounts as numbers for some and strings for
    // others, as the guide's sample does.
    assert_eq!(paid.len(), 3, "{paid:?}");
    for (number, id, amount) in [
        ("P-1", &a, "4400"),
        ("P-2", &b, "1500.50"),
        ("P-3", &d, "99.99"),
    ] {
        let row = paid.iter().find(|p| p.order_number == number).unwrap();
        assert_eq!(row.connectpay_id.as_deref(), Some(id.as_str()));
        assert_eq!(row.order_amount, Some(dec(amount)), "{number}");
        assert_eq!(row.amount_paid, Some(dec(amount)), "{number}");
        assert_eq!(
            row.date_paid.map(|t| t.date()),
            Some(date(2026, 3, 10)),
            "{number}"
        );
        assert_eq!(row.due_date.map(|t| t.date()), Some(date(2027, 2, 28)));
        assert_eq!(row.issue_date.map(|t| t.date()), Some(date(2026, 2, 12)));
        assert_eq!(row.customer_email.as_deref(), Some("umer@example.com"));
        assert_eq!(row.customer_mobile.as_deref(), Some("03123456789"));
        assert!(row.date_created.is_some());
    }
    // Both ends are inclusive.
    let one_day = c
        .paid_orders(date(2026, 4, 1), date(2026, 4, 1))
        .await
        .unwrap();
    assert_eq!(one_day.len(), 1);
    assert_eq!(one_day[0].order_number, "P-LATE");
}

#[tokio::test]
async fn gpojson_01_bad_credentials_and_start_after_end() {
    let sim = start_default().await;
    let err = client_as(&sim, MID, "wrong")
        .paid_orders(date(2026, 1, 1), date(2026, 1, 31))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let (ep, st, desc) = status_err::<()>(Err(err));
    assert_eq!(ep, Endpoint::Gpojson);
    assert_eq!(st, ApiStatus::Report(ReportStatus::InvalidData));
    assert!(desc.contains("Username or password"), "{desc}");

    // Start after end is 01 on the wire too, but the client refuses it before sending.
    let err = client(&sim)
        .paid_orders(date(2026, 2, 1), date(2026, 1, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Request {
                endpoint: Endpoint::Gpojson,
                problem: RequestProblem::DateRange { .. }
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn gpojson_02_not_authorised() {
    let sim = start(
        vec![merchant_without(Service::Gpojson)],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let err = client(&sim)
        .paid_orders(date(2026, 1, 1), date(2026, 1, 31))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let (_, st, _) = status_err::<()>(Err(err));
    assert_eq!(st, ApiStatus::Report(ReportStatus::NotAuthorised));
}

#[tokio::test]
async fn gpojson_03_no_records_is_an_empty_report() {
    let sim = start_default().await;
    let c = client(&sim);
    let id = create(&c, "P-1", "100").await;
    pay(&sim, &[&id], "2026-05-05").await;
    let empty = c
        .paid_orders(date(2026, 5, 6), date(2026, 5, 31))
        .await
        .unwrap();
    assert!(empty.is_empty());
    // Not vacuous: the same client finds the order in the right range.
    let found = c
        .paid_orders(date(2026, 5, 5), date(2026, 5, 5))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

// =====================================================================================
// moap / moab / mofr
// =====================================================================================

async fn status_word(c: &Client, id: &str) -> OrderStatus {
    c.order_status(id).await.unwrap().order_status
}

#[tokio::test]
async fn moap_00_marks_unpaid_orders_paid() {
    let sim = start_default().await;
    let c = client(&sim);
    let a = create(&c, "M-1", "100").await;
    let b = create(&c, "M-2", "250.75").await;
    let r = c
        .mark_paid(&[order_ref("M-1"), order_ref("M-2")])
        .await
        .unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(r.calls, 1);
    assert_eq!(status_word(&c, &a).await, OrderStatus::Paid);
    let info = c.order_status(&b).await.unwrap();
    assert_eq!(info.amount_paid, Some(dec("250.75")));
    assert_eq!(
        stored_order(&sim, "M-2").await.unwrap()["OrderStatus"],
        "Paid"
    );
}

#[tokio::test]
async fn moap_01_lists_the_already_paid_order_and_marks_the_others() {
    let sim = start_default().await;
    let c = client(&sim);
    let a = create(&c, "M-1", "100").await;
    let b = create(&c, "M-2", "100").await;
    pay(&sim, &[&a], "2026-01-01").await;
    let r = c
        .mark_paid(&[order_ref("M-1"), order_ref("M-2")])
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].order_number, "M-1");
    assert_eq!(r.failed[0].order_status, Some(OrderStatus::Paid));
    assert_eq!(r.failed[0].connectpay_id.as_deref(), Some(a.as_str()));
    assert_eq!(status_word(&c, &b).await, OrderStatus::Paid);
}

#[tokio::test]
async fn mark_02_not_authorised_and_01_bad_credentials() {
    let sim = start(
        vec![
            {
                let mut m = merchant();
                m.services.remove(&Service::Moap);
                m.services.remove(&Service::Moab);
                m.services.remove(&Service::Mofr);
                m
            },
            {
                let mut m = Merchant::new("Full", "full-pass", "0035");
                m.fee = money("0");
                m
            },
        ],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let full = client_as(&sim, "Full", "full-pass");
    create(&full, "F-1", "100").await;
    let denied = client(&sim);
    let refs = [order_ref("F-1")];
    for (ep, r) in [
        (Endpoint::Moap, denied.mark_paid(&refs).await),
        (Endpoint::Moab, denied.mark_blocked(&refs).await),
        (Endpoint::Mofr, denied.refund(&[refund("F-1", "100")]).await),
    ] {
        let (got, st, _) = status_err(r);
        assert_eq!(got, ep);
        assert_eq!(st, ApiStatus::Mark(MarkStatus::NotAuthorised), "{ep}");
    }
    let wrong = client_as(&sim, "Full", "wrong");
    for (ep, r) in [
        (Endpoint::Moap, wrong.mark_paid(&refs).await),
        (Endpoint::Moab, wrong.mark_blocked(&refs).await),
        (Endpoint::Mofr, wrong.refund(&[refund("F-1", "100")]).await),
    ] {
        let err = r.unwrap_err();
        assert!(err.is_auth(), "{ep}: {err:?}");
        let (got, st, _) = status_err::<()>(Err(err));
        assert_eq!(got, ep);
        assert_eq!(st, ApiStatus::Mark(MarkStatus::InvalidData), "{ep}");
    }
    assert_eq!(
        stored_order(&sim, "F-1").await.unwrap()["OrderStatus"],
        "Unpaid"
    );
}

#[tokio::test]
async fn mark_03_unknown_orders_only() {
    let sim = start_default().await;
    let c = client(&sim);
    let refs = [order_ref("NOPE-1"), order_ref("NOPE-2")];
    for (ep, r) in [
        (Endpoint::Moap, c.mark_paid(&refs).await),
        (Endpoint::Moab, c.mark_blocked(&refs).await),
        (Endpoint::Mofr, c.refund(&[refund("NOPE-1", "10")]).await),
    ] {
        let (got, st, _) = status_err(r);
        assert_eq!(got, ep);
        assert_eq!(st, ApiStatus::Mark(MarkStatus::NoData), "{ep}");
    }
    // One known order among unknown ones: 01, the unknown ones listed, the known one
    // marked.
    let id = create(&c, "KNOWN", "100").await;
    let r = c
        .mark_blocked(&[order_ref("NOPE-1"), order_ref("KNOWN")])
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].order_number, "NOPE-1");
    assert_eq!(status_word(&c, &id).await, OrderStatus::Blocked);
}

#[tokio::test]
async fn moab_00_and_01_with_a_blocked_order() {
    let sim = start_default().await;
    let c = client(&sim);
    let a = create(&c, "B-1", "100").await;
    let b = create(&c, "B-2", "100").await;
    let r = c.mark_blocked(&[order_ref("B-1")]).await.unwrap();
    assert!(r.failed.is_empty());
    assert_eq!(status_word(&c, &a).await, OrderStatus::Blocked);
    let r = c
        .mark_blocked(&[order_ref("B-1"), order_ref("B-2")])
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].order_number, "B-1");
    assert_eq!(r.failed[0].order_status, Some(OrderStatus::Blocked));
    assert_eq!(status_word(&c, &b).await, OrderStatus::Blocked);
    // A blocked order cannot be marked paid either.
    let r = c.mark_paid(&[order_ref("B-2")]).await.unwrap();
    assert_eq!(r.failed[0].order_status, Some(OrderStatus::Blocked));
}

#[tokio::test]
async fn mofr_00_and_01_with_an_already_refunded_order() {
    let sim = start_default().await;
    let c = client(&sim);
    let a = create(&c, "R-1", "450").await;
    let b = create(&c, "R-2", "450").await;
    let unpaid = create(&c, "R-3", "450").await;
    pay(&sim, &[&a, &b], "2026-01-01").await;
    let r = c.refund(&[refund("R-1", "450")]).await.unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(status_word(&c, &a).await, OrderStatus::Refunded);
    assert_eq!(
        stored_order(&sim, "R-1").await.unwrap()["AmountRefunded"],
        "450"
    );

    let r = c
        .refund(&[
            refund("R-1", "450"),
            refund("R-2", "200.50"),
            refund("R-3", "1"),
        ])
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 2, "{r:?}");
    assert_eq!(r.failed[0].order_number, "R-1");
    assert_eq!(r.failed[0].order_status, Some(OrderStatus::AlreadyRefunded));
    assert_eq!(
        r.failed[1].order_number, "R-3",
        "an unpaid order cannot be refunded"
    );
    assert_eq!(r.failed[1].order_status, Some(OrderStatus::Unpaid));
    assert_eq!(status_word(&c, &b).await, OrderStatus::Refunded);
    assert_eq!(
        stored_order(&sim, "R-2").await.unwrap()["AmountRefunded"],
        "200.50"
    );
    assert_eq!(status_word(&c, &unpaid).await, OrderStatus::Unpaid);
}

#[tokio::test]
async fn mark_list_over_4000_characters_is_split_and_all_applied() {
    let sim = start_default().await;
    let c = client(&sim);
    // 50 order numbers of 250 characters: 12,549 characters joined, 15 per call.
    let sent: Vec<_> = (0..50)
        .map(|i| order(&format!("{i:03}{}", "x".repeat(247)), "100"))
        .collect();
    let resp = c.create_orders(&sent).await.unwrap();
    assert_eq!(resp.status, CreateStatus::Created);
    // One order of the third call is already paid: its failure must survive the merge.
    let id_33 = resp.pair(&sent)[33].unwrap().connectpay_id.clone().unwrap();
    pay(&sim, &[&id_33], "2026-01-01").await;

    let refs: Vec<_> = sent.iter().map(|o| order_ref(&o.order_number)).collect();
    let r = c.mark_paid(&refs).await.unwrap();
    assert_eq!(r.calls, 4, "{r:?}");
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].order_number, sent[33].order_number);
    let stored = stored_orders(&sim).await;
    assert_eq!(stored.len(), 50);
    assert!(
        stored.iter().all(|o| o["OrderStatus"] == "Paid"),
        "every order of every call was marked"
    );
    let today = Local::now().date_naive().format("%Y-%m-%d").to_string();
    let marked_today = stored
        .iter()
        .filter(|o| o["DatePaid"] == today.as_str())
        .count();
    assert_eq!(marked_today, 49);
}

/// The `csvOrders` parameter the client sends for these order numbers, as the guide
/// writes it: the JSON object, credentials included, before URL encoding.
fn csv_orders_param(numbers: &[String], sep: &str) -> String {
    json!({"Username": MID, "Password": PW, "CsvOrderNumbers": numbers.join(sep)}).to_string()
}

#[tokio::test]
async fn mark_1000_orders_in_calls_each_as_full_as_the_4000_limit_allows() {
    let sim = start_default().await;
    let c = client(&sim);
    // Order numbers of varying length, so that the packing cannot be a fixed count.
    let numbers: Vec<String> = (0..1000)
        .map(|i| format!("INV-2026-{i:04}-{}", "k".repeat(i % 7)))
        .collect();
    for chunk in numbers.chunks(50) {
        let orders: Vec<_> = chunk.iter().map(|n| order(n, "100")).collect();
        assert_eq!(
            c.create_orders(&orders).await.unwrap().status,
            CreateStatus::Created
        );
    }
    let refs: Vec<_> = numbers.iter().map(|n| order_ref(n)).collect();
    let plan = c.plan_mark_calls(&refs).unwrap();
    assert!(plan.len() > 1, "{plan:?}");
    let mut next = 0;
    for range in &plan {
        assert_eq!(range.start, next, "in order, nothing skipped");
        next = range.end;
        let sent = csv_orders_param(&numbers[range.clone()], ",");
        let len = sent.encode_utf16().count();
        assert!(len <= CSV_ORDERS_MAX, "{range:?}: {len}");
        if range.end < numbers.len() {
            let one_more = csv_orders_param(&numbers[range.start..=range.end], ",");
            assert!(
                one_more.encode_utf16().count() > CSV_ORDERS_MAX,
                "{range:?}: the next order would have fitted"
            );
        }
    }
    assert_eq!(next, numbers.len());
    // Sent for real: the simulator refuses any csvOrders over 4000 characters, so
    // every call being accepted shows each was within the limit on the wire.
    let r = c.mark_paid(&refs).await.unwrap();
    assert_eq!(r.calls, plan.len());
    assert!(r.failed.is_empty(), "{r:?}");
    let stored = stored_orders(&sim).await;
    assert_eq!(stored.len(), 1000);
    assert!(stored.iter().all(|o| o["OrderStatus"] == "Paid"));
    // Each planned call packs into exactly one call when sent alone.
    let last = plan.last().unwrap().clone();
    assert_eq!(
        c.plan_mark_calls(&refs[last.clone()]).unwrap(),
        vec![0..last.len()]
    );
}

#[tokio::test]
async fn refunds_are_packed_by_the_whole_parameter_too() {
    let sim = start_default().await;
    let c = client(&sim);
    let numbers: Vec<String> = (0..400).map(|i| format!("RF-{i:05}")).collect();
    for chunk in numbers.chunks(50) {
        let orders: Vec<_> = chunk.iter().map(|n| order(n, "100")).collect();
        c.create_orders(&orders).await.unwrap();
    }
    c.mark_paid(&numbers.iter().map(|n| order_ref(n)).collect::<Vec<_>>())
        .await
        .unwrap();
    let refunds: Vec<_> = numbers.iter().map(|n| refund(n, "12.50")).collect();
    let plan = c.plan_refund_calls(&refunds).unwrap();
    let entries: Vec<String> = numbers.iter().map(|n| format!("{n},12.50")).collect();
    for range in &plan {
        let len = csv_orders_param(&entries[range.clone()], "|")
            .encode_utf16()
            .count();
        assert!(len <= CSV_ORDERS_MAX, "{len}");
        if range.end < entries.len() {
            let more = csv_orders_param(&entries[range.start..=range.end], "|");
            assert!(more.encode_utf16().count() > CSV_ORDERS_MAX);
        }
    }
    let r = c.refund(&refunds).await.unwrap();
    assert_eq!((r.calls, r.failed.len()), (plan.len(), 0));
    let stored = stored_orders(&sim).await;
    assert!(stored.iter().all(|o| o["OrderStatus"] == "Refunded"));
}

#[tokio::test]
async fn mark_split_failing_in_a_later_call_is_partial() {
    let sim = start_default().await;
    let c = client(&sim);
    let known: Vec<_> = (0..20)
        .map(|i| order(&format!("{i:02}{}", "k".repeat(248)), "100"))
        .collect();
    c.create_orders(&known).await.unwrap();
    // 40 entries of 250 characters: calls of 15, 15 and 10. The second call mixes
    // known and unknown orders (01, unknown ones listed); the third has only unknown
    // ones (03), which stops the list.
    let mut refs: Vec<_> = known.iter().map(|o| order_ref(&o.order_number)).collect();
    let unknown: Vec<String> = (0..20)
        .map(|i| format!("{i:02}{}", "u".repeat(248)))
        .collect();
    refs.extend(unknown.iter().map(|n| order_ref(n)));
    match c.mark_paid(&refs).await.unwrap_err() {
        ApiError::Partial {
            endpoint,
            confirmed,
            failed,
            source,
        } => {
            assert_eq!(endpoint, Endpoint::Moap);
            assert_eq!(confirmed, 30);
            let listed: Vec<&str> = failed.iter().map(|f| f.order_number.as_str()).collect();
            assert_eq!(
                listed,
                unknown[..10].iter().map(String::as_str).collect::<Vec<_>>()
            );
            let (_, st, _) = status_err::<()>(Err(*source));
            assert_eq!(st, ApiStatus::Mark(MarkStatus::NoData));
        }
        other => panic!("expected Partial, got {other:?}"),
    }
    let stored = stored_orders(&sim).await;
    assert!(
        stored.iter().all(|o| o["OrderStatus"] == "Paid"),
        "{stored:?}"
    );
}

// =====================================================================================
// gos
// =====================================================================================

#[tokio::test]
async fn gos_00_follows_unpaid_paid_refunded_and_blocked() {
    let sim = start_default().await;
    let c = client(&sim);
    let id = create(&c, "S-1", "300").await;
    let info = c.order_status(&id).await.unwrap();
    assert_eq!(info.order_status, OrderStatus::Unpaid);
    assert_eq!(info.order_number.as_deref(), Some("S-1"));
    assert_eq!(info.amount_paid, Some(dec("0")));
    assert_eq!(info.date_paid, None);

    c.mark_paid(&[order_ref("S-1")]).await.unwrap();
    let info = c.order_status(&id).await.unwrap();
    assert_eq!(info.order_status, OrderStatus::Paid);
    assert_eq!(info.amount_paid, Some(dec("300")));
    assert_eq!(
        info.date_paid.map(|t| t.date()),
        Some(Local::now().date_naive())
    );

    c.refund(&[refund("S-1", "300")]).await.unwrap();
    assert_eq!(status_word(&c, &id).await, OrderStatus::Refunded);

    let other = create(&c, "S-2", "300").await;
    c.mark_blocked(&[order_ref("S-2")]).await.unwrap();
    assert_eq!(status_word(&c, &other).await, OrderStatus::Blocked);
}

#[tokio::test]
async fn gos_01_02_03() {
    let sim = start(
        vec![merchant(), {
            let mut m = merchant_without(Service::Gos);
            m.id = "NoGos".into();
            m.company_code = "0035".into();
            m
        }],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let c = client(&sim);
    let id = create(&c, "S-1", "300").await;

    let err = client_as(&sim, MID, "wrong")
        .order_status(&id)
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let (ep, st, _) = status_err::<()>(Err(err));
    assert_eq!(ep, Endpoint::Gos);
    assert_eq!(st, ApiStatus::Mark(MarkStatus::InvalidData));

    let (_, st, _) = status_err(client_as(&sim, "NoGos", PW).order_status(&id).await);
    assert_eq!(st, ApiStatus::Mark(MarkStatus::NotAuthorised));

    let (_, st, _) = status_err(c.order_status("00349999999999").await);
    assert_eq!(st, ApiStatus::Mark(MarkStatus::NoData));
    // Another merchant's order is not found either.
    let no_gos = client_as(&sim, "NoGos", PW);
    let theirs = create(&no_gos, "THEIRS", "100").await;
    let (_, st, _) = status_err(c.order_status(&theirs).await);
    assert_eq!(st, ApiStatus::Mark(MarkStatus::NoData));
}

// =====================================================================================
// cc / cmc
// =====================================================================================

#[tokio::test]
async fn cc_00_full_consumer_code_is_company_code_plus_id() {
    let sim = start_default().await;
    let r = client(&sim)
        .create_consumer(&consumer("123456780", "Usman"))
        .await
        .unwrap();
    assert_eq!(r.status, ItemStatus::Stated(ConsumerStatus::Ok));
    assert_eq!(r.full_consumer_code.as_deref(), Some("0034123456780"));
    assert_eq!(r.consumer_number.as_deref(), Some("123456780"));
    assert!(r.description.unwrap().contains("created successfully"));
    let stored = stored_consumers(&sim).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["FullConsumerCode"], "0034123456780");
    assert_eq!(stored[0]["Email"], "usman@example.com");
}

fn consumer_only_merchant_pair() -> Vec<Merchant> {
    let mut denied = merchant();
    denied.id = "NoConsumers".into();
    denied.company_code = "0035".into();
    for s in [
        Service::Cc,
        Service::Cmc,
        Service::Uc,
        Service::Umc,
        Service::Gcd,
    ] {
        denied.services.remove(&s);
    }
    vec![merchant(), denied]
}

#[tokio::test]
async fn cc_01_02_03() {
    let sim = start(
        consumer_only_merchant_pair(),
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let c = client(&sim);
    c.create_consumer(&consumer("C-1", "Usman")).await.unwrap();
    // 01: exists.
    let (ep, st, desc) = status_err(c.create_consumer(&consumer("C-1", "Other")).await);
    assert_eq!(ep, Endpoint::Cc);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    assert!(desc.contains("already exists"), "{desc}");
    // 01: bad credentials.
    let err = client_as(&sim, MID, "wrong")
        .create_consumer(&consumer("C-2", "Usman"))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let (_, st, _) = status_err::<()>(Err(err));
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    // 02: not authorised.
    let (_, st, _) = status_err(
        client_as(&sim, "NoConsumers", PW)
            .create_consumer(&consumer("C-3", "Usman"))
            .await,
    );
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NotAuthorised));
    // 03: invalid data (no name, bad mobile).
    let mut bad_mobile = consumer("C-4", "Usman");
    bad_mobile.mobile = "999".into();
    for bad in [consumer("C-5", ""), bad_mobile] {
        let (_, st, _) = status_err(c.create_consumer(&bad).await);
        assert_eq!(
            st,
            ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid),
            "{bad:?}"
        );
    }
    assert_eq!(stored_consumers(&sim).await.len(), 1);
}

#[tokio::test]
async fn cmc_00_and_mixed_batch_paired_by_consumer_id() {
    let sim = start_default().await;
    let c = client(&sim);
    let ok = vec![consumer("K-1", "A"), consumer("K-2", "B")];
    let resp = c.create_consumers(&ok).await.unwrap();
    assert_eq!(resp.status, ConsumerStatus::Ok);
    let codes: Vec<_> = resp
        .pair_consumers(&ok)
        .iter()
        .map(|r| r.unwrap().full_consumer_code.clone().unwrap())
        .collect();
    assert_eq!(codes, ["0034K-1", "0034K-2"]);

    let mixed = vec![
        consumer("K-3", "C"),
        consumer("K-1", "A again"), // 01
        consumer("K-4", ""),        // 01 Invalid Format
        consumer("K-5", "E"),
    ];
    let resp = c.create_consumers(&mixed).await.unwrap();
    assert_eq!(resp.status, ConsumerStatus::ExistsOrInvalid);
    let paired = resp.pair_consumers(&mixed);
    let st: Vec<_> = paired
        .iter()
        .map(|r| r.unwrap().status.known().unwrap().clone())
        .collect();
    // An invalid consumer is 01 "Invalid Format", as the guide says (not 03), and
    // told from "already exists" by its description.
    assert_eq!(
        st,
        [
            ConsumerStatus::Ok,
            ConsumerStatus::ExistsOrInvalid,
            ConsumerStatus::ExistsOrInvalid,
            ConsumerStatus::Ok
        ]
    );
    assert!(
        paired[1]
            .unwrap()
            .description
            .as_deref()
            .unwrap()
            .contains("already exists")
    );
    assert!(
        paired[2]
            .unwrap()
            .description
            .as_deref()
            .unwrap()
            .starts_with("Invalid Format.")
    );
    assert_eq!(
        paired[3].unwrap().full_consumer_code.as_deref(),
        Some("0034K-5")
    );
    assert_eq!(stored_consumers(&sim).await.len(), 4);
}

#[tokio::test]
async fn cmc_whole_request_refusals() {
    let sim = start(
        consumer_only_merchant_pair(),
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let batch = [consumer("K-1", "A")];
    let (ep, st, _) = status_err(client_as(&sim, MID, "wrong").create_consumers(&batch).await);
    assert_eq!(ep, Endpoint::Cmc);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    let (_, st, _) = status_err(
        client_as(&sim, "NoConsumers", PW)
            .create_consumers(&batch)
            .await,
    );
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NotAuthorised));
    let many: Vec<_> = (0..51).map(|i| consumer(&format!("K-{i}"), "A")).collect();
    let err = client(&sim).create_consumers(&many).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Request {
                problem: RequestProblem::TooManyItems { count: 51, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(stored_consumers(&sim).await.is_empty());
}

#[tokio::test]
async fn cmc_atomic_creates_nothing_when_one_consumer_is_bad() {
    let sim = start(vec![merchant()], BatchMode::Atomic, FaultConfig::default()).await;
    let c = client(&sim);
    let sent = vec![
        consumer("K-1", "A"),
        consumer("K-2", ""),
        consumer("K-3", "C"),
    ];
    let resp = c.create_consumers(&sent).await.unwrap();
    assert_eq!(resp.status, ConsumerStatus::ExistsOrInvalid);
    let paired = resp.pair_consumers(&sent);
    assert!(paired[0].is_none() && paired[2].is_none(), "{paired:?}");
    assert_eq!(
        paired[1].unwrap().status,
        ItemStatus::Stated(ConsumerStatus::ExistsOrInvalid)
    );
    assert!(stored_consumers(&sim).await.is_empty());
}

// =====================================================================================
// uc / umc / gcd
// =====================================================================================

#[tokio::test]
async fn uc_00_changes_only_the_fields_given() {
    let sim = start_default().await;
    let c = client(&sim);
    c.create_consumer(&consumer("U-1", "Usman")).await.unwrap();
    let mut u = update("0034U-1");
    u.mobile = Some("03339876543".into());
    let r = c.update_consumer(&u).await.unwrap();
    assert_eq!(r.status, ItemStatus::Stated(ConsumerStatus::Ok));
    assert_eq!(r.consumer_id.as_deref(), Some("0034U-1"));
    assert!(r.description.unwrap().contains("updated successfully"));
    let data = c.consumer_data("0034U-1").await.unwrap();
    assert_eq!(data.mobile.as_deref(), Some("03339876543"));
    assert_eq!(data.name.as_deref(), Some("Usman"), "unchanged");
    assert_eq!(
        data.email.as_deref(),
        Some("usman@example.com"),
        "unchanged"
    );
}

#[tokio::test]
async fn uc_01_02_03() {
    let sim = start(
        consumer_only_merchant_pair(),
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let c = client(&sim);
    c.create_consumer(&consumer("U-1", "Usman")).await.unwrap();
    let mut u = update("0034U-1");
    u.name = Some("New Name".into());
    // 01: bad credentials.
    let (ep, st, _) = status_err(client_as(&sim, MID, "wrong").update_consumer(&u).await);
    assert_eq!(ep, Endpoint::Uc);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    // 02.
    let (_, st, _) = status_err(client_as(&sim, "NoConsumers", PW).update_consumer(&u).await);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NotAuthorised));
    // 03: unknown consumer.
    let (_, st, desc) = status_err(c.update_consumer(&update("0034NOBODY")).await);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NoData));
    assert!(desc.contains("No data"), "{desc}");
    assert_eq!(
        c.consumer_data("0034U-1").await.unwrap().name.as_deref(),
        Some("Usman"),
        "nothing changed"
    );
}

#[tokio::test]
async fn umc_00_mixed_and_refusals() {
    let sim = start(
        consumer_only_merchant_pair(),
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let c = client(&sim);
    c.create_consumers(&[consumer("U-1", "A"), consumer("U-2", "B")])
        .await
        .unwrap();
    let mut a = update("0034U-1");
    a.address = Some("New address".into());
    let mut b = update("0034U-2");
    b.email = Some("b@example.com".into());
    let resp = c.update_consumers(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(resp.status, ConsumerStatus::Ok);
    assert!(
        resp.pair_updates(&[a.clone(), b.clone()])
            .iter()
            .all(|r| r.is_some())
    );
    assert_eq!(
        c.consumer_data("0034U-2").await.unwrap().email.as_deref(),
        Some("b@example.com")
    );

    let mut ghost = update("0034GHOST");
    ghost.name = Some("X".into());
    let sent = [ghost, a.clone()];
    let resp = c.update_consumers(&sent).await.unwrap();
    assert_eq!(resp.status, ConsumerStatus::NoData);
    let paired = resp.pair_updates(&sent);
    assert_eq!(
        paired[0].unwrap().status,
        ItemStatus::Stated(ConsumerStatus::NoData)
    );
    assert_eq!(
        paired[1].unwrap().status,
        ItemStatus::Stated(ConsumerStatus::Ok)
    );

    let (ep, st, _) = status_err(
        client_as(&sim, MID, "wrong")
            .update_consumers(&[a.clone()])
            .await,
    );
    assert_eq!(ep, Endpoint::Umc);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    let (_, st, _) = status_err(
        client_as(&sim, "NoConsumers", PW)
            .update_consumers(&[a])
            .await,
    );
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NotAuthorised));
}

#[tokio::test]
async fn gcd_00_fields() {
    let sim = start_default().await;
    let c = client(&sim);
    c.create_consumer(&consumer("123456780", "Usman"))
        .await
        .unwrap();
    let d = c.consumer_data("0034123456780").await.unwrap();
    assert_eq!(d.full_consumer_code.as_deref(), Some("0034123456780"));
    assert_eq!(d.consumer_code.as_deref(), Some("123456780"));
    assert_eq!(d.company_code.as_deref(), Some(COMPANY));
    assert_eq!(d.name.as_deref(), Some("Usman"));
    assert_eq!(d.mobile.as_deref(), Some("03001234567"));
    assert_eq!(d.email.as_deref(), Some("usman@example.com"));
    assert_eq!(d.address.as_deref(), Some("House 1, Lahore"));
    assert_eq!(
        d.created_on.map(|t| t.date()),
        Some(Local::now().date_naive())
    );
}

#[tokio::test]
async fn gcd_01_02_03() {
    let sim = start(
        consumer_only_merchant_pair(),
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let c = client(&sim);
    c.create_consumer(&consumer("G-1", "Usman")).await.unwrap();
    let err = client_as(&sim, MID, "wrong")
        .consumer_data("0034G-1")
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let (ep, st, _) = status_err::<()>(Err(err));
    assert_eq!(ep, Endpoint::Gcd);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::ExistsOrInvalid));
    let (_, st, _) = status_err(
        client_as(&sim, "NoConsumers", PW)
            .consumer_data("0034G-1")
            .await,
    );
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NotAuthorised));
    let (_, st, _) = status_err(c.consumer_data("0034NOBODY").await);
    assert_eq!(st, ApiStatus::Consumer(ConsumerStatus::NoData));
}

// =====================================================================================
// Dates sent
// =====================================================================================

/// Creates an order with `client`, pays it and reads its dates back from the report.
async fn dates_round_trip(sim: &paypro_console::sim::RunningSim, c: &Client, number: &str) {
    let id = create(c, number, "100").await;
    pay(sim, &[&id], "2026-06-15").await;
    let rows = c
        .paid_orders(date(2026, 6, 15), date(2026, 6, 15))
        .await
        .unwrap();
    let row = rows.iter().find(|r| r.order_number == number).unwrap();
    assert_eq!(row.due_date.map(|t| t.date()), Some(date(2027, 2, 28)));
    assert_eq!(row.issue_date.map(|t| t.date()), Some(date(2026, 2, 12)));
}

#[tokio::test]
async fn order_dates_default_and_custom_formats_are_accepted() {
    let sim = start_default().await;
    // Default: dd/MM/yyyy for orders, yyyy-MM-dd for the report.
    dates_round_trip(&sim, &client(&sim), "D-DEFAULT").await;

    let mut cfg = config(&sim.base_url, MID, PW);
    cfg.order_date_format = "%Y-%m-%d".into();
    cfg.report_date_format = "%Y/%m/%d".into();
    dates_round_trip(&sim, &Client::new(cfg).unwrap(), "D-ISO").await;

    // A format the service does not read is refused with 03: the dates really are
    // checked, so the two cases above prove something.
    let mut cfg = config(&sim.base_url, MID, PW);
    cfg.order_date_format = "%d-%m-%Y".into();
    let (_, st, desc) = status_err(
        Client::new(cfg)
            .unwrap()
            .create_order(&order("D-BAD", "100"))
            .await,
    );
    assert_eq!(st, ApiStatus::Create(CreateStatus::InvalidData));
    assert!(desc.contains("not a valid date"), "{desc}");
}
