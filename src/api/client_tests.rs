//! The client against small local HTTP servers (axum and raw TCP on 127.0.0.1, OS port):
//! what goes on the wire per endpoint, result semantics, transport failures, redaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::domain::Money;

const PASSWORD: &str = "S3cr&t pw/\"x";

#[derive(Debug, Clone)]
struct Captured {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    raw_query: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Captured {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn query_names(&self) -> Vec<&str> {
        self.query.iter().map(|(k, _)| k.as_str()).collect()
    }
}

struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: &str) -> Reply {
    Reply {
        status: 200,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

type Responder = Arc<dyn Fn(&Captured, usize) -> Reply + Send + Sync>;

struct Server {
    base_url: String,
    seen: Arc<Mutex<Vec<Captured>>>,
}

impl Server {
    fn seen(&self) -> Vec<Captured> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(responder: impl Fn(&Captured, usize) -> Reply + Send + Sync + 'static) -> Server {
    let seen: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let responder: Responder = Arc::new(responder);
    let seen2 = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen2.clone();
            let responder = responder.clone();
            async move {
                let raw_query = uri.query().unwrap_or("").to_string();
                let cap = Captured {
                    method,
                    path: uri.path().to_string(),
                    query: url::form_urlencoded::parse(raw_query.as_bytes())
                        .into_owned()
                        .collect(),
                    raw_query,
                    content_type: headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                    body: body.to_vec(),
                };
                let n = {
                    let mut s = seen.lock().unwrap();
                    s.push(cap.clone());
                    s.len() - 1
                };
                let reply = responder(&cap, n);
                tokio::time::sleep(reply.delay).await;
                (
                    StatusCode::from_u16(reply.status).unwrap(),
                    [("content-type", "application/json; charset=utf-8")],
                    reply.body,
                )
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base_url: format!("http://{addr}"),
        seen,
    }
}

fn client(base_url: &str) -> Client {
    Client::new(ClientConfig::new(base_url, "demo", Secret::new(PASSWORD))).unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn order(n: &str) -> Order {
    Order {
        order_number: n.into(),
        amount: money("4400"),
        due_date: NaiveDate::from_ymd_opt(2020, 3, 21).unwrap(),
        issue_date: NaiveDate::from_ymd_opt(2020, 3, 14).unwrap(),
        customer_name: "Umer Aziz".into(),
        customer_mobile: "03123456789".into(),
        customer_email: "".into(),
        customer_address: "".into(),
        expire_after_seconds: None,
        amount_within_due_date: None,
        amount_after_due_date: None,
    }
}

/// The single file part of a multipart body: (part headers, content).
fn file_part(cap: &Captured) -> (String, String) {
    let ct = cap.content_type.clone().unwrap();
    assert!(ct.starts_with("multipart/form-data"), "{ct}");
    let boundary = ct.split("boundary=").nth(1).unwrap().trim_matches('"');
    let body = String::from_utf8(cap.body.clone()).unwrap();
    let delim = format!("--{boundary}");
    let parts: Vec<&str> = body
        .split(delim.as_str())
        .filter(|p| !p.trim().is_empty() && p.trim() != "--")
        .collect();
    assert_eq!(parts.len(), 1, "exactly one part: {body}");
    let (head, content) = parts[0].split_once("\r\n\r\n").unwrap();
    (
        head.to_string(),
        content.trim_end_matches("\r\n").to_string(),
    )
}

fn assert_no_password(text: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    assert!(!text.contains(PASSWORD), "password in: {text}");
    assert!(!text.contains(&encoded), "encoded password in: {text}");
    assert!(!text.contains("S3cr"), "password prefix in: {text}");
}

const CO_OK: &str = r#"[{"Status":"00"},{"Description":"Order number A-1 created successfully","OrderAmount":"4400","ConnectPayFee":"60","ConnectPayId":"00342000600028","OrderNumber":"A-1","IsFeeApplied":"True"}]"#;

#[tokio::test]
async fn co_posts_ojson_in_the_query_with_an_empty_body() {
    let srv = serve(|_, _| ok(CO_OK)).await;
    let item = client(&srv.base_url)
        .create_order(&order("A-1"))
        .await
        .unwrap();
    assert_eq!(item.connectpay_id.as_deref(), Some("00342000600028"));
    assert_eq!(item.status, ItemStatus::Inferred(CreateStatus::Created));
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    let cap = &seen[0];
    assert_eq!(cap.method, Method::POST);
    assert_eq!(cap.path, "/cpay/co");
    assert_eq!(cap.query_names(), vec!["oJson"]);
    assert!(cap.body.is_empty());
    let v: serde_json::Value = serde_json::from_str(cap.q("oJson").unwrap()).unwrap();
    assert_eq!(v[0]["MerchantId"], "demo");
    assert_eq!(v[0]["MerchantPassword"], PASSWORD);
    assert_eq!(v[1]["OrderNumber"], "A-1");
    assert_eq!(v[1]["OrderAmount"], "4400");
    assert_eq!(v[1]["OrderDueDate"], "21/03/2020");
    // The raw query is percent-encoded: no raw JSON punctuation or spaces.
    assert!(!cap.raw_query.contains('"') && !cap.raw_query.contains(' '));
}

#[tokio::test]
async fn co_non_success_is_a_status_error_with_description() {
    let srv = serve(|_, _| {
        ok(r#"[{"Status":"01"},{"Description":"Order number A-1 already exist","OrderNumber":"A-1"}]"#)
    })
    .await;
    let err = client(&srv.base_url)
        .create_order(&order("A-1"))
        .await
        .unwrap_err();
    match &err {
        ApiError::Status {
            endpoint: Endpoint::Co,
            status: ApiStatus::Create(CreateStatus::AlreadyExists),
            description,
        } => assert!(description.contains("already exist")),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    let srv = serve(|_, _| ok(r#"[{"Status":"02","Description":"Service Fail"}]"#)).await;
    let err = client(&srv.base_url)
        .create_order(&order("A-1"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn cmo_uploads_one_file_part_and_returns_mixed_items() {
    let srv = serve(|_, _| {
        ok(r#"[{"Status":"01","Description":"Order number A-2 already exist"},
            {"Status":"00","Description":"Order number A-1 created successfully","OrderNumber":"A-1","ConnectPayId":"00340000000001","ConnectPayFee":"60","OrderAmount":"4400","IsFeeApplied":"True","PayProId":"x","1LinkCharge":0},
            {"Status":"01","Description":"Order number A-2 already exist","OrderNumber":"A-2"}]"#)
    })
    .await;
    let orders = vec![order("A-1"), order("A-2")];
    let resp = client(&srv.base_url).create_orders(&orders).await.unwrap();
    assert_eq!(resp.status, CreateStatus::AlreadyExists);
    let paired = resp.pair(&orders);
    assert_eq!(
        paired[0].unwrap().status,
        ItemStatus::Stated(CreateStatus::Created)
    );
    assert_eq!(
        paired[0].unwrap().connectpay_id.as_deref(),
        Some("00340000000001")
    );
    assert_eq!(
        paired[1].unwrap().status,
        ItemStatus::Stated(CreateStatus::AlreadyExists)
    );

    let seen = srv.seen();
    let cap = &seen[0];
    assert_eq!(cap.method, Method::POST);
    assert_eq!(cap.path, "/cpay/cmo");
    assert!(
        cap.query.is_empty(),
        "nothing in the query: {:?}",
        cap.query
    );
    let (head, content) = file_part(cap);
    assert!(head.contains(r#"name="file""#), "{head}");
    assert!(head.contains(r#"filename="orders.txt""#), "{head}");
    let v: serde_json::Value = serde_json::from_str(&content).unwrap();
    assert_eq!(v[0]["MerchantPassword"], PASSWORD);
    assert_eq!(v[1]["OrderNumber"], "A-1");
    assert_eq!(v[2]["OrderNumber"], "A-2");
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn cmo_whole_request_failure_is_an_error_and_prechecks_send_nothing() {
    let srv = serve(|_, _| ok(r#"[{"Status":"04","Description":"User not Authorized"}]"#)).await;
    let c = client(&srv.base_url);
    let err = c.create_orders(&[order("A-1")]).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(!err.is_retryable());

    let many: Vec<Order> = (0..51).map(|i| order(&format!("N-{i}"))).collect();
    let err = c.create_orders(&many).await.unwrap_err();
    assert!(matches!(
        err,
        ApiError::Request {
            problem: RequestProblem::TooManyItems { count: 51, max: 50 },
            ..
        }
    ));
    assert!(matches!(
        c.create_orders(&[]).await,
        Err(ApiError::Request {
            problem: RequestProblem::Empty,
            ..
        })
    ));
    assert!(matches!(
        c.mark_paid(&[]).await,
        Err(ApiError::Request { .. })
    ));
    assert_eq!(
        srv.seen().len(),
        1,
        "only the first call reached the server"
    );
}

#[tokio::test]
async fn gpojson_query_names_and_no_records_is_empty() {
    let srv = serve(|_, _| ok(r#"[{"Status":"03","Description":"No data available"}]"#)).await;
    let c = client(&srv.base_url);
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2020, 1, 31).unwrap();
    assert_eq!(c.paid_orders(start, end).await.unwrap(), vec![]);
    let cap = &srv.seen()[0];
    assert_eq!(cap.method, Method::GET);
    assert_eq!(cap.path, "/cpay/gpojson");
    assert_eq!(
        cap.query_names(),
        vec!["username", "password", "startDate", "endDate"]
    );
    assert_eq!(cap.q("username"), Some("demo"));
    assert_eq!(cap.q("password"), Some(PASSWORD));
    assert_eq!(cap.q("startDate"), Some("2020-01-01"));
    assert_eq!(cap.q("endDate"), Some("2020-01-31"));

    assert!(matches!(
        c.paid_orders(end, start).await,
        Err(ApiError::Request {
            problem: RequestProblem::DateRange { .. },
            ..
        })
    ));
    assert_eq!(srv.seen().len(), 1);

    let srv = serve(|_, _| {
        ok(r#"[{"Status":"02","Description":"Service Failed. User is not Authorized for this service"}]"#)
    })
    .await;
    let err = client(&srv.base_url)
        .paid_orders(start, end)
        .await
        .unwrap_err();
    assert!(err.is_auth());
}

#[tokio::test]
async fn mark_paid_splits_at_4000_chars_and_merges_failures() {
    let srv = serve(|cap, n| {
        // The whole parameter counts, credentials included.
        assert!(cap.q("csvOrders").unwrap().encode_utf16().count() <= 4000);
        let v: serde_json::Value = serde_json::from_str(cap.q("csvOrders").unwrap()).unwrap();
        let csv = v["CsvOrderNumbers"].as_str().unwrap();
        if n == 0 {
            ok(r#"[{"Status":"00"}]"#)
        } else {
            let first = csv.split(',').next().unwrap();
            ok(&format!(
                r#"[{{"Status":"01"}},{{"OrderNumber":"{first}","OrderStatus":"PAID","ConnectPayId":"00440000000001"}}]"#
            ))
        }
    })
    .await;
    let refs: Vec<OrderRef> = (0..600)
        .map(|i| OrderRef {
            order_number: format!("ORD-{i:05}"),
        })
        .collect();
    // `{"Username":"demo","Password":"S3cr&t pw/\"x","CsvOrderNumbers":""}` is 67
    // characters: 393 numbers of 9 fit beside it (393*9 + 392 commas = 3929).
    let result = client(&srv.base_url).mark_paid(&refs).await.unwrap();
    assert_eq!(result.calls, 2);
    assert_eq!(result.failed.len(), 1);
    assert_eq!(result.failed[0].order_number, "ORD-00393");
    assert_eq!(result.failed[0].order_status, Some(OrderStatus::Paid));

    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    let mut all = Vec::new();
    for cap in &seen {
        assert_eq!(cap.method, Method::GET);
        assert_eq!(cap.path, "/cpay/moap");
        assert_eq!(cap.query_names(), vec!["csvOrders"]);
        let v: serde_json::Value = serde_json::from_str(cap.q("csvOrders").unwrap()).unwrap();
        assert_eq!(v["Username"], "demo");
        assert_eq!(v["Password"], PASSWORD);
        all.extend(
            v["CsvOrderNumbers"]
                .as_str()
                .unwrap()
                .split(',')
                .map(str::to_string),
        );
    }
    let sent: Vec<String> = refs.into_iter().map(|r| r.order_number).collect();
    assert_eq!(all, sent, "every order sent once, in order");
}

#[tokio::test]
async fn mark_stops_on_a_failing_chunk_and_reports_what_was_confirmed() {
    let srv = serve(|_, n| {
        if n == 0 {
            ok(r#"[{"Status":"01"},{"OrderNumber":"ORD-00003","OrderStatus":"Blocked","ConnectPayId":"1"}]"#)
        } else {
            Reply {
                status: 503,
                body: "<html>busy</html>".into(),
                delay: Duration::ZERO,
            }
        }
    })
    .await;
    let refs: Vec<OrderRef> = (0..600)
        .map(|i| OrderRef {
            order_number: format!("ORD-{i:05}"),
        })
        .collect();
    let err = client(&srv.base_url).mark_blocked(&refs).await.unwrap_err();
    match &err {
        ApiError::Partial {
            endpoint: Endpoint::Moab,
            confirmed: 393,
            failed,
            source,
        } => {
            assert_eq!(failed.len(), 1);
            assert!(matches!(**source, ApiError::Http { status: 503, .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn mark_status_semantics() {
    for (body, ok_expected) in [
        (r#"[{"Status":"00"}]"#, true),
        (r#"[{"Status":"01","Description":"Invalid Format"}]"#, false),
        (r#"[{"Status":"02"}]"#, false),
        (
            r#"[{"Status":"03","Description":"No data available"}]"#,
            false,
        ),
    ] {
        let srv = serve(move |_, _| ok(body)).await;
        let r = client(&srv.base_url)
            .refund(&[Refund {
                order_number: "HR-100178".into(),
                amount: money("450"),
            }])
            .await;
        assert_eq!(r.is_ok(), ok_expected, "{body}: {r:?}");
        let cap = &srv.seen()[0];
        assert_eq!(cap.path, "/cpay/mofr");
        let v: serde_json::Value = serde_json::from_str(cap.q("csvOrders").unwrap()).unwrap();
        assert_eq!(v["CsvOrderNumbers"], "HR-100178,450");
    }
}

#[tokio::test]
async fn refund_joins_with_pipes() {
    let srv = serve(|_, _| ok(r#"[{"Status":"00"}]"#)).await;
    client(&srv.base_url)
        .refund(&[
            Refund {
                order_number: "HR-100178".into(),
                amount: money("450"),
            },
            Refund {
                order_number: "KV-1011".into(),
                amount: money("12.5"),
            },
        ])
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(srv.seen()[0].q("csvOrders").unwrap()).unwrap();
    assert_eq!(v["CsvOrderNumbers"], "HR-100178,450|KV-1011,12.50");
}

#[tokio::test]
async fn gos_and_gcd_query_names() {
    let srv = serve(|cap, _| {
        if cap.path.ends_with("/gos") {
            ok(r#"[{"Status":"00"},{"OrderStatus":"UNPAID","OrderAmountPaid":0.0000,"DatePaid":null,"OrderNumber":"X-1"}]"#)
        } else {
            ok(r#"[{"Description":"Record fetched successfully","Status":"00"},{"FullConsumerCode":"00441234567","CreatedOn":"2020-06-10T10:17:45.247","ConsumerCode":"1234567","CompanyCode":"0044","Name":"User"}]"#)
        }
    })
    .await;
    let c = client(&srv.base_url);
    let info = c.order_status(" 00471910900006 ").await.unwrap();
    assert_eq!(info.order_status, OrderStatus::Unpaid);
    assert_eq!(info.amount_paid, Some(rust_decimal::Decimal::ZERO));
    assert_eq!(info.date_paid, None);
    let data = c.consumer_data("00441234567").await.unwrap();
    assert_eq!(data.company_code.as_deref(), Some("0044"));
    let seen = srv.seen();
    assert_eq!(seen[0].path, "/cpay/gos");
    assert_eq!(
        seen[0].query_names(),
        vec!["userName", "password", "cpayId"]
    );
    assert_eq!(seen[0].q("cpayId"), Some("00471910900006"));
    assert_eq!(seen[1].path, "/cpay/gcd");
    assert_eq!(
        seen[1].query_names(),
        vec!["userName", "password", "fullConsumerCode"]
    );
    assert!(matches!(
        c.order_status("  ").await,
        Err(ApiError::Request { .. })
    ));
}

#[tokio::test]
async fn consumer_endpoints() {
    let srv = serve(|cap, _| match cap.path.as_str() {
        "/cpay/cc" => ok(r#"[{"Status":"00"},{"FullConsumerCode":"0044123456780","Description":"Consumer number created successfully","ConsumerNumber":123456780}]"#),
        "/cpay/uc" => ok(r#"[{"Status":"03","Description":"No data available"}]"#),
        "/cpay/cmc" => ok(
            r#"[{"Status":"00"},{"FullConsumerCode":"0110123456785","ConsumerNumber":"123456785"},{"FullConsumerCode":"01100000000786","ConsumerNumber":786}]"#,
        ),
        _ => ok(r#"[{"Status":"00"},{"Description":"ConsumerID 0110123456785 updated successfully","ConsumerID":"0110123456785"}]"#),
    })
    .await;
    let c = client(&srv.base_url);
    let created = c
        .create_consumer(&Consumer {
            consumer_id: "123456780".into(),
            name: "Usman".into(),
            mobile: "".into(),
            email: "".into(),
            address: "".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.consumer_number.as_deref(), Some("123456780"));
    let upd = ConsumerUpdate {
        consumer_id: "0110123456785".into(),
        name: Some("New".into()),
        mobile: None,
        email: None,
        address: None,
    };
    let err = c.update_consumer(&upd).await.unwrap_err();
    assert!(matches!(
        err,
        ApiError::Status {
            status: ApiStatus::Consumer(ConsumerStatus::NoData),
            ..
        }
    ));
    let resp = c
        .update_consumers(std::slice::from_ref(&upd))
        .await
        .unwrap();
    assert_eq!(
        resp.pair_updates(std::slice::from_ref(&upd))[0]
            .unwrap()
            .status
            .known(),
        Some(&ConsumerStatus::Ok)
    );
    let sent: Vec<Consumer> = ["0000000786", "123456785"]
        .iter()
        .map(|id| Consumer {
            consumer_id: id.to_string(),
            name: "N".into(),
            mobile: "".into(),
            email: "".into(),
            address: "".into(),
        })
        .collect();
    let resp = c.create_consumers(&sent).await.unwrap();
    let paired = resp.pair_consumers(&sent);
    // Leading zeros lost in the numeric ConsumerNumber; the full code still matches.
    assert_eq!(
        paired[0].unwrap().full_consumer_code.as_deref(),
        Some("01100000000786")
    );
    assert_eq!(
        paired[1].unwrap().full_consumer_code.as_deref(),
        Some("0110123456785")
    );
    let seen = srv.seen();
    assert_eq!(seen[3].path, "/cpay/cmc");
    let (head, _) = file_part(&seen[3]);
    assert!(head.contains(r#"filename="consumers.txt""#), "{head}");
    let v: serde_json::Value = serde_json::from_str(seen[1].q("oJson").unwrap()).unwrap();
    assert_eq!(
        v[1],
        serde_json::json!({"ConsumerID":"0110123456785","Name":"New"})
    );
    assert_eq!(seen[2].path, "/cpay/umc");
    let (head, content) = file_part(&seen[2]);
    assert!(head.contains(r#"name="file""#));
    assert!(content.starts_with(r#"[{"MerchantId":"demo""#), "{content}");
}

#[tokio::test]
async fn http_errors_and_bodies_are_redacted() {
    // A server error page that echoes the request line, password and all.
    let srv = serve(|cap, _| Reply {
        status: 500,
        body: format!(
            "<html><body>Server Error in '/' Application. Request: /cpay/gpojson?{} password={PASSWORD}</body></html>",
            cap.raw_query
        ),
        delay: Duration::ZERO,
    })
    .await;
    let d = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let err = client(&srv.base_url).paid_orders(d, d).await.unwrap_err();
    assert!(matches!(err, ApiError::Http { status: 500, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_no_password(&err.to_string());
    assert_no_password(&format!("{err:?}"));
    assert!(err.to_string().contains("Server Error"), "{err}");

    // HTML with 200, and a JSON description echoing the password.
    let srv = serve(|_, _| {
        ok(&format!(
            "<!DOCTYPE html><html>Login failed for {PASSWORD}</html>"
        ))
    })
    .await;
    let err = client(&srv.base_url).order_status("1").await.unwrap_err();
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert_no_password(&format!("{err} {err:?}"));
    let srv = serve(|_, _| {
        ok(&format!(
            r#"[{{"Status":"01","Description":"Username or password is invalid: {}"}}]"#,
            PASSWORD.replace('"', "\\\"")
        ))
    })
    .await;
    let err = client(&srv.base_url).order_status("1").await.unwrap_err();
    assert!(matches!(err, ApiError::Status { .. }), "{err:?}");
    assert_no_password(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn empty_and_truncated_bodies_are_decode_errors() {
    for body in ["", "   ", r#"[{"Status":"00"},{"Descri"#] {
        let srv = serve(move |_, _| ok(body)).await;
        let err = client(&srv.base_url)
            .create_order(&order("A-1"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{body}: {err:?}");
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn timeout_is_a_transport_error() {
    let srv = serve(|_, _| Reply {
        status: 200,
        body: CO_OK.into(),
        delay: Duration::from_secs(5),
    })
    .await;
    let mut cfg = ClientConfig::new(&srv.base_url, "demo", Secret::new(PASSWORD));
    cfg.request_timeout = Duration::from_millis(200);
    let err = Client::new(cfg)
        .unwrap()
        .create_order(&order("A-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_no_password(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn refused_connection_is_a_connect_error_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}"))
        .order_status("00471910900006")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert_no_password(&text);
    assert!(!text.contains("cpayId"), "{text}");
}

/// A raw TCP server that reads the request head and then runs `then` on the socket.
async fn raw_server<F, Fut>(then: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            then(sock).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn closed_connection_and_short_body_are_transport_errors() {
    let base = raw_server(|sock| async move { drop(sock) }).await;
    let err = client(&base).order_status("1").await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::ConnectionClosed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());

    let base = raw_server(|mut sock| async move {
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{\"Status\":\"00\"},{")
            .await;
        let _ = sock.shutdown().await;
    })
    .await;
    let err = client(&base).order_status("1").await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::ConnectionClosed,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_client_many_tasks() {
    let srv = serve(|cap, _| {
        ok(&format!(
            r#"[{{"Status":"00"}},{{"OrderStatus":"Paid","OrderAmountPaid":"10","OrderNumber":"{}"}}]"#,
            cap.q("cpayId").unwrap()
        ))
    })
    .await;
    let c = client(&srv.base_url);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.order_status(&format!("ID{i}")).await
        }));
    }
    let mut got = HashMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let info = t.await.unwrap().unwrap();
        got.insert(i, info.order_number.unwrap());
    }
    for i in 0..16 {
        assert_eq!(got[&i], format!("ID{i}"));
    }
}

#[test]
fn config_errors() {
    assert!(matches!(
        Client::new(ClientConfig::new("not a url", "m", Secret::new("p"))),
        Err(ApiError::Config(_))
    ));
    assert!(matches!(
        Client::new(ClientConfig::new("ftp://x", "m", Secret::new("p"))),
        Err(ApiError::Config(_))
    ));
    let mut cfg = ClientConfig::new("http://127.0.0.1:1", "m", Secret::new("p"));
    cfg.order_date_format = "%Q".into();
    assert!(matches!(Client::new(cfg), Err(ApiError::Config(_))));
    let dbg = format!(
        "{:?}",
        ClientConfig::new("http://127.0.0.1:1", "m", Secret::new(PASSWORD))
    );
    assert_no_password(&dbg);
    let c = Client::new(ClientConfig::new(
        "http://127.0.0.1:1",
        "m",
        Secret::new(PASSWORD),
    ))
    .unwrap();
    assert_no_password(&format!("{c:?}"));
}

#[tokio::test]
async fn https_base_builds_a_rustls_client_and_fails_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("https://{addr}"))
        .consumer_data("00441234567")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn batch_calls_hand_back_the_exchange_redacted_whatever_the_decision() {
    let echo = PASSWORD.replace('"', "\\\"");
    // A mixed answer whose description echoes the password.
    let body = format!(
        r#"[{{"Status":"01"}},{{"Status":"00","OrderNumber":"A-1","ConnectPayId":"00340000000001"}},{{"Status":"03","OrderNumber":"A-2","Description":"bad {echo}"}}]"#
    );
    let srv = serve(move |_, _| ok(&body)).await;
    let c = client(&srv.base_url);
    let got = c
        .create_orders_with_exchange(&[order("A-1"), order("A-2")])
        .await;
    let resp = got.result.unwrap();
    assert_eq!(resp.items.len(), 2);
    let x = got.exchange.unwrap();
    assert_eq!(x.http_status, 200);
    assert!(x.body.contains("00340000000001"), "{}", x.body);
    assert!(x.body.contains("bad "), "{}", x.body);
    assert_no_password(&x.body);
    assert_no_password(&format!("{x:?}"));

    // A non-2xx answer: the error, and the whole body with its real status.
    let srv = serve(|_, _| Reply {
        status: 503,
        body: format!("<html>Service Unavailable for {PASSWORD}</html>"),
        delay: Duration::ZERO,
    })
    .await;
    let got = client(&srv.base_url)
        .create_consumers_with_exchange(&[consumer("C-1")])
        .await;
    assert!(
        matches!(got.result, Err(ApiError::Http { status: 503, .. })),
        "{:?}",
        got.result
    );
    let x = got.exchange.unwrap();
    assert_eq!(x.http_status, 503);
    assert!(x.body.contains("Service Unavailable"), "{}", x.body);
    assert_no_password(&x.body);

    // A 2xx body that is not JSON, and a refusal of the whole request: both kept.
    for (body, decode) in [
        ("<html>maintenance</html>", true),
        (r#"[{"Status":"03","Description":"Invalid Data"}]"#, false),
    ] {
        let srv = serve(move |_, _| ok(body)).await;
        let got = client(&srv.base_url)
            .update_consumers_with_exchange(&[update("C-1")])
            .await;
        let err = got.result.unwrap_err();
        if decode {
            assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
        } else {
            assert!(matches!(err, ApiError::Status { .. }), "{err:?}");
        }
        assert_eq!(
            got.exchange,
            Some(Exchange {
                http_status: 200,
                body: body.to_string()
            })
        );
    }

    // No response: refused before sending, or no connection.
    let got = c.create_orders_with_exchange(&[]).await;
    assert!(matches!(got.result, Err(ApiError::Request { .. })));
    assert!(got.exchange.is_none());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let got = client(&format!("http://{addr}"))
        .create_orders_with_exchange(&[order("A-1")])
        .await;
    assert!(matches!(
        got.result,
        Err(ApiError::Transport {
            kind: TransportKind::Connect,
            ..
        })
    ));
    assert!(got.exchange.is_none());
}

fn consumer(id: &str) -> Consumer {
    Consumer {
        consumer_id: id.into(),
        name: "N".into(),
        mobile: "".into(),
        email: "".into(),
        address: "".into(),
    }
}

fn update(id: &str) -> ConsumerUpdate {
    ConsumerUpdate {
        consumer_id: id.into(),
        name: Some("New".into()),
        mobile: None,
        email: None,
        address: None,
    }
}
