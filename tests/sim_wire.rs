#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulator on the wire: the guide's sample requests sent verbatim with a plain
//! HTTP client, every endpoint's status codes, batch modes, faults seen at the HTTP
//! level, and persistence across a restart.

use paypro_console::sim::{self, BatchMode, FaultConfig, Merchant, RunningSim, Service, SimConfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn sim_with(
    merchants: Vec<Merchant>,
    batch_mode: BatchMode,
    faults: FaultConfig,
) -> RunningSim {
    let config = SimConfig {
        merchants,
        batch_mode,
        faults,
        ..SimConfig::default()
    };
    sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn sim_for(id: &str, password: &str, company_code: &str) -> RunningSim {
    sim_with(
        vec![Merchant::new(id, password, company_code)],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// GET or POST a URL written as the guide writes it (reqwest percent-encodes what a
/// URL cannot carry, as a browser would) and decode the JSON answer.
async fn get(url: &str) -> Value {
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

async fn post(url: &str) -> Value {
    let r = client().post(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

/// POST with the JSON form-encoded into the `oJson` query parameter (the client's way).
async fn post_ojson(sim: &RunningSim, endpoint: &str, body: &Value) -> Value {
    let mut url = url::Url::parse(&format!("{}/cpay/{endpoint}", sim.base_url)).unwrap();
    url.query_pairs_mut()
        .append_pair("oJson", &body.to_string());
    post(url.as_str()).await
}

async fn upload(sim: &RunningSim, endpoint: &str, file_text: &str) -> Value {
    let part = reqwest::multipart::Part::bytes(file_text.as_bytes().to_vec())
        .file_name("orders.txt")
        .mime_str("text/plain")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = client()
        .post(format!("{}/cpay/{endpoint}", sim.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn stored_orders(sim: &RunningSim) -> Vec<Value> {
    get(&format!("{}/__sim/orders", sim.base_url))
        .await
        .as_array()
        .unwrap()
        .clone()
}

async fn stored_consumers(sim: &RunningSim) -> Vec<Value> {
    get(&format!("{}/__sim/consumers", sim.base_url))
        .await
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(orders: &'a [Value], number: &str) -> &'a Value {
    orders
        .iter()
        .find(|o| o["OrderNumber"] == number)
        .unwrap_or_else(|| panic!("order {number} not stored: {orders:?}"))
}

fn status(v: &Value) -> &str {
    v[0]["Status"].as_str().unwrap()
}

fn order(number: &str, amount: &str) -> Value {
    json!({
        "OrderNumber": number, "OrderAmount": amount, "OrderDueDate": "28/02/2027",
        "OrderType": "Service", "IssueDate": "12/02/2026", "CustomerName": "Usman",
        "CustomerMobile": "", "CustomerEmail": "", "CustomerAddress": ""
    })
}

fn creds(id: &str, pw: &str) -> Value {
    json!({"MerchantId": id, "MerchantPassword": pw})
}

async fn create(sim: &RunningSim, id: &str, pw: &str, number: &str, amount: &str) -> String {
    let a = post_ojson(sim, "co", &json!([creds(id, pw), order(number, amount)])).await;
    assert_eq!(status(&a), "00", "{a}");
    a[1]["ConnectPayId"].as_str().unwrap().to_string()
}

async fn pay(sim: &RunningSim, ids: &[&str]) -> Value {
    let r = client()
        .post(format!("{}/__sim/pay", sim.base_url))
        .json(&json!({"ConnectPayIds": ids}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const CO_SAMPLE_URL_JSON: &str = r#"[{
"MerchantId": " PayProUser ","MerchantPassword": " Password "}, {"OrderNumber": "OpenCart115319","OrderAmount": "4400","OrderDueDate": "21\/04\/2020","OrderAmountWithinDueDate": "4400","OrderAmountAfterDueDate":"4400","OrderTypeId": "Service","OrderType": "Service","IssueDate": "14\/03\/2020" ,"TransactionStatus": "UNPAID","CustomerName": "Saim Ali","CustomerMobile": "02345678910","CustomerEmail": "","CustomerAddress": "","CustomerBank": ""
}]"#;

const CO_SAMPLE_SINGLE_OBJECT: &str = r#"[{
"MerchantId": "PayProUser",
"MerchantPassword": "Password"
}, {
"OrderNumber": "OpenCart115319",
"OrderAmount": "4400",
"OrderDueDate": "21\/03\/2020",
"OrderAmountWithinDueDate": "4400",
"OrderAmountAfterDueDate": "4400",
"OrderType": "Service",
"IssueDate": "14\/03\/2020",
"OrderExpireAfterSeconds": "0",
"CustomerName": "Umer Aziz",
"CustomerMobile": "03123456789",
"CustomerEmail": "",
"CustomerAddress": ""
}]"#;

#[tokio::test]
async fn co_guide_samples_verbatim() {
    let sim = sim_for("PayProUser", "Password", "0034").await;
    // The guide's URL form: the JSON pasted after `oJson=`, spaces around the
    // credentials, `\/` escaped dates, extra fields the guide does not list.
    let a = post(&format!(
        "{}/cpay/co?oJson={CO_SAMPLE_URL_JSON}",
        sim.base_url
    ))
    .await;
    assert_eq!(status(&a), "00", "{a}");
    let item = &a[1];
    assert_eq!(item["OrderNumber"], "OpenCart115319");
    assert_eq!(item["OrderAmount"], "4400");
    assert_eq!(item["ConnectPayFee"], "60");
    assert_eq!(item["IsFeeApplied"], "True");
    assert_eq!(item["ConnectPayId"], "00340000000001");
    assert_eq!(
        item["Description"],
        "Order number OpenCart115319 created successfully"
    );
    for extra in [
        "PayProId",
        "BillUrl",
        "Click2Pay",
        "1LinkCharge",
        "BAFCharge",
        "IPGList",
    ] {
        assert!(item.get(extra).is_some(), "missing {extra}: {item}");
    }
    // The C# sample: the same JSON uploaded as the raw body.
    let r = client()
        .post(format!("{}/cpay/co", sim.base_url))
        .header("content-type", "application/json")
        .body(CO_SAMPLE_SINGLE_OBJECT)
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(status(&b), "01", "{b}");
    assert_eq!(b[1]["Status"], "01");
    assert_eq!(b[1]["OrderNumber"], "OpenCart115319");
    assert!(
        b[1]["Description"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("already exist")
    );
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(find(&orders, "OpenCart115319")["CreateRequests"], 2);
    assert_eq!(find(&orders, "OpenCart115319")["OrderStatus"], "Unpaid");
}

#[tokio::test]
async fn co_form_body_and_identical_resend() {
    let sim = sim_for("PayProUser", "Password", "0034").await;
    let body = json!([creds("PayProUser", "Password"), order("F-1", "100")]).to_string();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("oJson", &body)
        .finish();
    let r = client()
        .post(format!("{}/cpay/co", sim.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let a: Value = r.json().await.unwrap();
    assert_eq!(status(&a), "00", "{a}");
    let again = post_ojson(&sim, "co", &serde_json::from_str(&body).unwrap()).await;
    assert_eq!(status(&again), "01");
    assert!(again[1].get("ConnectPayId").is_none());
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(find(&orders, "F-1")["CreateRequests"], 2);
}

#[tokio::test]
async fn co_status_codes() {
    let mut limited = Merchant::new("Reporter", "pw", "0050");
    limited.services = [Service::Gos].into_iter().collect();
    let sim = sim_with(
        vec![Merchant::new("PayProUser", "Password", "0034"), limited],
        BatchMode::PerItem,
        FaultConfig::default(),
    )
    .await;
    let ok = creds("PayProUser", "Password");
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!([order("X-1", "10")]), "03", "no credentials object"),
        (
            json!([creds("", "Password"), order("X-1", "10")]),
            "03",
            "empty id",
        ),
        (
            json!([creds("PayProUser", ""), order("X-1", "10")]),
            "03",
            "empty password",
        ),
        (
            json!([creds(&"u".repeat(16), "Password"), order("X-1", "10")]),
            "03",
            "id > 15",
        ),
        (
            json!([creds("PayProUser", &"p".repeat(61)), order("X-1", "10")]),
            "03",
            "pw > 60",
        ),
        (
            json!([creds("PayProUser", "wrong"), order("X-1", "10")]),
            "04",
            "wrong password",
        ),
        (
            json!([creds("Reporter", "pw"), order("X-1", "10")]),
            "04",
            "not authorised",
        ),
        (json!([ok.clone()]), "03", "no order"),
        (json!([ok.clone(), order("X-1", "0")]), "03", "zero amount"),
        (
            json!([ok.clone(), order("X-1", "1000000.01")]),
            "03",
            "above the limit",
        ),
        (
            json!([ok.clone(), order("SIMFAIL02-1", "10")]),
            "02",
            "magic failure",
        ),
    ];
    for (body, want, what) in cases {
        let a = post_ojson(&sim, "co", &body).await;
        assert_eq!(status(&a), want, "{what}: {a}");
        if ["03", "04"].contains(&want) && what != "zero amount" && what != "above the limit" {
            assert_eq!(
                a.as_array().unwrap().len(),
                1,
                "{what}: whole-request failures list no items"
            );
        }
    }
    let mut bad_mobile = order("X-2", "10");
    bad_mobile["CustomerMobile"] = json!("3123456789");
    let a = post_ojson(&sim, "co", &json!([ok.clone(), bad_mobile])).await;
    assert_eq!((status(&a), a[1]["Status"].as_str()), ("03", Some("03")));
    let mut bad_type = order("X-3", "10");
    bad_type["OrderType"] = json!("Goods");
    assert_eq!(
        status(&post_ojson(&sim, "co", &json!([ok.clone(), bad_type])).await),
        "03"
    );
    // Unparseable JSON.
    let a = post(&format!("{}/cpay/co?oJson=[{{not json", sim.base_url)).await;
    assert_eq!(status(&a), "03");
    // Credential keys in other cases are accepted.
    let a = post_ojson(
        &sim,
        "co",
        &json!([{"merchantId": "PayProUser", "password": "Password"}, order("X-4", "10")]),
    )
    .await;
    assert_eq!(status(&a), "00", "{a}");
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1, "only X-4 was stored: {orders:?}");
    assert_eq!(orders[0]["OrderNumber"], "X-4");
}

const CMO_SAMPLE_MULTIPLE: &str = r#"[
{
"MerchantId":"PayPro",
"MerchantPassword":"PayProi517"
},
{
"OrderNumber": "PayPro1022",
"OrderAmount":"55000",
"OrderDueDate":"28/02/2019",
"OrderType":"Service",
"IssueDate":"12/02/2018",
"CustomerName":"Usman",
"CustomerMobile":"",
"CustomerEmail":"",
"CustomerAddress":""
},
{
"OrderNumber": "PayPro1023",
"OrderAmount":"123",
"OrderDueDate":"28/02/2019",
"OrderType":"Service",
"IssueDate":"12/02/2018",
"CustomerName":"Usman",
"CustomerMobile":"",
"CustomerEmail":"",
"CustomerAddress":""
}
]"#;

#[tokio::test]
async fn cmo_multipart_file_sample() {
    let sim = sim_for("PayPro", "PayProi517", "0039").await;
    let a = upload(&sim, "cmo", CMO_SAMPLE_MULTIPLE).await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a.as_array().unwrap().len(), 3);
    assert_eq!(a[1]["OrderNumber"], "PayPro1022");
    assert_eq!(a[1]["ConnectPayId"], "00390000000001");
    assert_eq!(a[2]["OrderNumber"], "PayPro1023");
    assert_eq!(a[2]["ConnectPayId"], "00390000000002");
    assert_eq!(a[2]["OrderAmount"], "123");
    // The same file again as a raw body: both exist now.
    let r = client()
        .post(format!("{}/cpay/cmo", sim.base_url))
        .body(CMO_SAMPLE_MULTIPLE)
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(status(&b), "01");
    assert_eq!(
        (b[1]["Status"].as_str(), b[2]["Status"].as_str()),
        (Some("01"), Some("01"))
    );
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 2);
    assert_eq!(find(&orders, "PayPro1023")["CreateRequests"], 2);
}

#[tokio::test]
async fn cmo_51_orders_refused_whole() {
    let sim = sim_for("PayPro", "PayProi517", "0039").await;
    let mut body = vec![creds("PayPro", "PayProi517")];
    body.extend((0..51).map(|i| order(&format!("B-{i}"), "10")));
    let a = upload(&sim, "cmo", &Value::Array(body.clone()).to_string()).await;
    assert_eq!(status(&a), "03", "{a}");
    assert_eq!(a.as_array().unwrap().len(), 1);
    assert!(stored_orders(&sim).await.is_empty());
    body.pop();
    let a = upload(&sim, "cmo", &Value::Array(body).to_string()).await;
    assert_eq!(status(&a), "00");
    assert_eq!(stored_orders(&sim).await.len(), 50);
}

#[tokio::test]
async fn cmo_per_item_mixed_batch() {
    let sim = sim_for("PayPro", "PayProi517", "0039").await;
    let mut bad = order("M-2", "10");
    bad["CustomerEmail"] = json!("not-an-email");
    let body = json!([
        creds("PayPro", "PayProi517"),
        order("M-1", "10"),
        bad,
        order("M-1", "10"),
        order("SIMFAIL02-x", "10"),
        order("M-3", "10"),
    ]);
    let a = upload(&sim, "cmo", &body.to_string()).await;
    assert_eq!(status(&a), "03", "first failing item's code: {a}");
    let codes: Vec<&str> = a.as_array().unwrap()[1..]
        .iter()
        .map(|i| i["Status"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["00", "03", "01", "02", "00"]);
    assert_eq!(a[2]["OrderNumber"], "M-2");
    assert_eq!(a[3]["OrderNumber"], "M-1");
    assert!(a[3].get("ConnectPayId").is_none());
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 2);
    assert_eq!(find(&orders, "M-1")["CreateRequests"], 2);
    assert_eq!(find(&orders, "M-3")["CreateRequests"], 1);
}

/// The keys of an answer object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

async fn guide_sim(batch_mode: BatchMode) -> RunningSim {
    let config = SimConfig {
        merchants: vec![Merchant::new("PayPro", "PayProi517", "0039")],
        batch_mode,
        guide_responses: true,
        ..SimConfig::default()
    };
    sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn guide_responses_answer_batches_in_the_guides_shape() {
    let sim = guide_sim(BatchMode::PerItem).await;
    let c = creds("PayPro", "PayProi517");
    create(&sim, "PayPro", "PayProi517", "G-DUP", "10").await;
    let mut bad = order("G-BAD", "10");
    bad["CustomerEmail"] = json!("not-an-email");
    let body = json!([
        c.clone(),
        order("G-DUP", "10"),
        bad,
        order("SIMFAIL02-G", "10"),
        order("SIMSILENT-G", "10"),
        order("G-1", "10"),
    ]);
    let a = upload(&sim, "cmo", &body.to_string()).await;
    // Element 0: the envelope code alone, as in every sample of the guide.
    assert_eq!(a[0], json!({"Status": "01"}), "{a}");
    let items = &a.as_array().unwrap()[1..];
    assert!(items.iter().all(|i| i.get("Status").is_none()), "{a}");
    assert_eq!(keys(&items[0]), ["Description", "OrderNumber"]);
    assert_eq!(items[0]["Description"], "Order number G-DUP already exists");
    assert!(
        items[1]["Description"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Data."),
        "{a}"
    );
    assert!(
        items[2]["Description"]
            .as_str()
            .unwrap()
            .starts_with("Service Fail"),
        "{a}"
    );
    assert_eq!(items[3], json!({"OrderNumber": "SIMSILENT-G"}));
    assert_eq!(
        keys(&items[4]),
        [
            "ConnectPayFee",
            "ConnectPayId",
            "Description",
            "IsFeeApplied",
            "OrderAmount",
            "OrderNumber"
        ]
    );
    let orders = stored_orders(&sim).await;
    assert!(orders.iter().any(|o| o["OrderNumber"] == "SIMSILENT-G"));
    assert!(orders.iter().any(|o| o["OrderNumber"] == "G-1"));
    assert!(!orders.iter().any(|o| o["OrderNumber"] == "G-BAD"));

    // All created: element 0 is 00, items as the guide's cmo sample.
    let a = upload(
        &sim,
        "cmo",
        &json!([c.clone(), order("G-2", "10"), order("G-3", "10")]).to_string(),
    )
    .await;
    assert_eq!(a[0], json!({"Status": "00"}));
    assert!(a[1].get("Status").is_none() && a[1]["ConnectPayId"].is_string());

    // co: one item, same shape.
    let a = post_ojson(&sim, "co", &json!([c.clone(), order("G-1", "10")])).await;
    assert_eq!(a[0], json!({"Status": "01"}));
    assert_eq!(keys(&a[1]), ["Description", "OrderNumber"]);

    // cmc, umc: the guide's consumer samples.
    let a = upload(
        &sim,
        "cmc",
        CMC_SAMPLE
            .replace("Your Username", "PayPro")
            .replace("Your Password", "PayProi517")
            .as_str(),
    )
    .await;
    assert_eq!(a[0], json!({"Status": "00"}));
    assert_eq!(
        keys(&a[1]),
        ["ConsumerNumber", "Description", "FullConsumerCode"]
    );
    let a = upload(
        &sim,
        "cmc",
        &json!([c.clone(), {"ConsumerID": "123456785", "Name": "again"}, {"ConsumerID": "77", "Name": "x", "Email": "bad"}])
            .to_string(),
    )
    .await;
    assert_eq!(a[0], json!({"Status": "01"}));
    assert_eq!(keys(&a[1]), ["ConsumerID", "Description"]);
    assert!(
        a[1]["Description"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert!(
        a[2]["Description"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Format.")
    );
    let a = upload(
        &sim,
        "umc",
        &json!([c.clone(), {"ConsumerID": "0039123456785", "Name": "new"}]).to_string(),
    )
    .await;
    assert_eq!(a[0], json!({"Status": "00"}));
    assert_eq!(keys(&a[1]), ["ConsumerID", "Description"]);
    assert_eq!(
        a[1]["Description"],
        "ConsumerID 0039123456785 updated successfully"
    );

    // moap failure: the guide lists OrderNumber, OrderStatus and ConnectPayId only.
    let base = &sim.base_url;
    let moap = |numbers: &str| {
        let mut url = url::Url::parse(&format!("{base}/cpay/moap")).unwrap();
        url.query_pairs_mut().append_pair(
            "csvOrders",
            &json!({"Username": "PayPro", "Password": "PayProi517", "CsvOrderNumbers": numbers})
                .to_string(),
        );
        url.to_string()
    };
    assert_eq!(get(&moap("G-2")).await, json!([{"Status": "00"}]));
    let a = get(&moap("G-2,G-3")).await;
    assert_eq!(a[0], json!({"Status": "01"}));
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(keys(&a[1]), ["ConnectPayId", "OrderNumber", "OrderStatus"]);
    assert_eq!(a[1]["OrderStatus"], "Paid");
}

#[tokio::test]
async fn guide_responses_in_atomic_mode_list_the_offenders_without_status() {
    let sim = guide_sim(BatchMode::Atomic).await;
    let mut bad = order("A-BAD", "10");
    bad["OrderAmount"] = json!("0");
    let a = upload(
        &sim,
        "cmo",
        &json!([creds("PayPro", "PayProi517"), order("A-1", "10"), bad]).to_string(),
    )
    .await;
    assert_eq!(a[0], json!({"Status": "03"}));
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(keys(&a[1]), ["Description", "OrderNumber"]);
    assert!(stored_orders(&sim).await.is_empty());
}

#[tokio::test]
async fn cmo_atomic_creates_nothing_when_one_item_is_bad() {
    let sim = sim_with(
        vec![Merchant::new("PayPro", "PayProi517", "0039")],
        BatchMode::Atomic,
        FaultConfig::default(),
    )
    .await;
    let c = creds("PayPro", "PayProi517");
    let a = upload(
        &sim,
        "cmo",
        &json!([
            c.clone(),
            order("A-1", "10"),
            order("A-2", "-3"),
            order("A-3", "10")
        ])
        .to_string(),
    )
    .await;
    assert_eq!(status(&a), "03", "{a}");
    assert!(
        a[0]["Description"]
            .as_str()
            .unwrap()
            .contains("nothing created")
    );
    assert_eq!(
        a.as_array().unwrap().len(),
        2,
        "only the offending item: {a}"
    );
    assert_eq!(a[1]["OrderNumber"], "A-2");
    assert_eq!(a[1]["Status"], "03");
    assert!(stored_orders(&sim).await.is_empty());
    // Fixed, the batch goes through whole.
    let a = upload(
        &sim,
        "cmo",
        &json!([
            c.clone(),
            order("A-1", "10"),
            order("A-2", "3"),
            order("A-3", "10")
        ])
        .to_string(),
    )
    .await;
    assert_eq!(status(&a), "00");
    assert_eq!(a.as_array().unwrap().len(), 4);
    // Only duplicates: 01, nothing new created.
    let a = upload(
        &sim,
        "cmo",
        &json!([c, order("A-4", "10"), order("A-1", "10")]).to_string(),
    )
    .await;
    assert_eq!(status(&a), "01", "{a}");
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(a[1]["OrderNumber"], "A-1");
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 3);
    assert_eq!(find(&orders, "A-1")["CreateRequests"], 3);
}

#[tokio::test]
async fn mark_paid_and_blocked_samples() {
    let sim = sim_for("PayPro", "PayProi517", "0044").await;
    let base = &sim.base_url;
    let id1 = create(&sim, "PayPro", "PayProi517", "Cpay-10942", "100").await;
    create(&sim, "PayPro", "PayProi517", "CPay-1011", "200").await;
    // moab single sample (password with a leading space, key in lower case).
    let a = get(&format!(
        r#"{base}/cpay/moab?csvOrders={{"Username" : "PayPro","password" :" PayProi517" ,"CsvOrderNumbers" : "Cpay-10942"}}"#
    ))
    .await;
    assert_eq!(a, json!([{"Status": "00", "Description": "Success"}]));
    // moap multiple sample: Cpay-10942 is blocked and listed; CPay-1011 is paid.
    let a = get(&format!(
        r#"{base}/cpay/moap?csvOrders={{"Username":"PayPro","password":"PayProi517","CsvOrderNumbers" : "Cpay-10942,CPay-1011"}}"#
    ))
    .await;
    assert_eq!(status(&a), "01", "{a}");
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(a[1]["OrderNumber"], "Cpay-10942");
    assert_eq!(a[1]["OrderStatus"], "Blocked");
    assert_eq!(a[1]["ConnectPayId"], id1.as_str());
    // moap single sample (leading space in the order number).
    let a = get(&format!(
        r#"{base}/cpay/moap?csvOrders={{"Username":"PayPro","password" :"PayProi517","CsvOrderNumbers" : " Cpay-10942"}}"#
    ))
    .await;
    assert_eq!(status(&a), "01");
    // moab multiple sample: both are no longer unpaid.
    let a = get(&format!(
        r#"{base}/cpay/moab?csvOrders={{"Username": "PayPro","password":"PayProi517","CsvOrderNumbers" : "Cpay-10942,CPay-1011"}}"#
    ))
    .await;
    assert_eq!(status(&a), "01");
    let states: Vec<(&str, &str)> = a.as_array().unwrap()[1..]
        .iter()
        .map(|i| {
            (
                i["OrderNumber"].as_str().unwrap(),
                i["OrderStatus"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("Cpay-10942", "Blocked"), ("CPay-1011", "Paid")]);
    let orders = stored_orders(&sim).await;
    assert_eq!(find(&orders, "Cpay-10942")["OrderStatus"], "Blocked");
    let paid = find(&orders, "CPay-1011");
    assert_eq!(paid["OrderStatus"], "Paid");
    assert_eq!(paid["AmountPaid"], "200");
    assert!(paid["DatePaid"].is_string());

    // Whole-request failures.
    let csv = |json: &str| {
        let mut url = url::Url::parse(&format!("{base}/cpay/moap")).unwrap();
        url.query_pairs_mut().append_pair("csvOrders", json);
        url.to_string()
    };
    let cases = [
        (csv("{not json"), "01"),
        (format!("{base}/cpay/moap"), "01"),
        (
            csv(r#"{"Username":"PayPro","Password":"bad","CsvOrderNumbers":"x"}"#),
            "01",
        ),
        (
            csv(r#"{"Username":"","Password":"PayProi517","CsvOrderNumbers":"x"}"#),
            "01",
        ),
        (
            csv(r#"{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":""}"#),
            "03",
        ),
        (
            csv(
                r#"{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":"nope-1,nope-2"}"#,
            ),
            "03",
        ),
        (
            csv(&format!(
                r#"{{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":"{}"}}"#,
                "A,".repeat(2000) + "B"
            )),
            "01",
        ),
    ];
    for (url, want) in cases {
        let a = get(&url).await;
        assert_eq!(status(&a), want, "{url}: {a}");
    }
    // The whole csvOrders parameter counts, credentials included (connectpay-api.md
    // §4-6): exactly 4000 characters is allowed, 4001 is refused as invalid data.
    let param = |numbers_len: usize| {
        let head = r#"{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":""#;
        let numbers = ("Z,".repeat(numbers_len / 2) + "ZZ")[..numbers_len].to_string();
        format!("{head}{numbers}\"}}")
    };
    let fits = param(4000 - param(0).len());
    assert_eq!(fits.len(), 4000);
    let a = get(&csv(&fits)).await;
    assert_eq!(
        status(&a),
        "03",
        "all unknown, but not refused for length: {a}"
    );
    let over = param(4001 - param(0).len());
    assert_eq!(over.len(), 4001);
    let a = get(&csv(&over)).await;
    assert_eq!(status(&a), "01", "{a}");
    assert!(
        a[0]["Description"]
            .as_str()
            .unwrap()
            .contains("csvOrders is 4001 characters; at most 4000"),
        "{a}"
    );
    // A longer list of the same kind that only fits without the credentials: refused.
    let numbers_only = "Z,".repeat(1999) + "ZZ";
    assert_eq!(numbers_only.len(), 4000);
    let a = get(&csv(&format!(
        r#"{{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":"{numbers_only}"}}"#
    )))
    .await;
    assert_eq!(status(&a), "01", "{a}");
}

#[tokio::test]
async fn mark_not_authorised_is_02() {
    let mut m = Merchant::new("PayPro", "PayProi517", "0044");
    m.services = [Service::Co].into_iter().collect();
    let sim = sim_with(vec![m], BatchMode::PerItem, FaultConfig::default()).await;
    let base = &sim.base_url;
    for ep in ["moap", "moab", "mofr"] {
        let a = get(&format!(
            r#"{base}/cpay/{ep}?csvOrders={{"Username":"PayPro","Password":"PayProi517","CsvOrderNumbers":"A,1"}}"#
        ))
        .await;
        assert_eq!(status(&a), "02", "{ep}");
    }
    for q in [
        "gpojson?username=PayPro&password=PayProi517&startDate=2020-01-01&endDate=2020-01-02",
        "gos?userName=PayPro&password=PayProi517&cpayId=1",
        "gcd?userName=PayPro&password=PayProi517&fullConsumerCode=1",
    ] {
        assert_eq!(status(&get(&format!("{base}/cpay/{q}")).await), "02", "{q}");
    }
    let a = post_ojson(
        &sim,
        "cc",
        &json!([creds("PayPro", "PayProi517"), {"ConsumerID": "1", "Name": "x"}]),
    )
    .await;
    assert_eq!(status(&a), "02");
}

#[tokio::test]
async fn refund_single_sample() {
    let sim = sim_for("PayProUser", "p@ssw0rd", "0044").await;
    let id = create(&sim, "PayProUser", "p@ssw0rd", "89063-3", "450").await;
    let url = format!(
        r#"{}/cpay/mofr?csvOrders={{"Username":"PayProUser","Password":"p@ssw0rd","CsvOrderNumbers" : "89063-3,450|"}}"#,
        sim.base_url
    );
    // Unpaid orders cannot be refunded.
    let a = get(&url).await;
    assert_eq!(status(&a), "01");
    assert_eq!(a[1]["OrderStatus"], "Unpaid");
    assert_eq!(pay(&sim, &[&id]).await, json!({"Paid": [id]}));
    let a = get(&url).await;
    assert_eq!(status(&a), "00", "{a}");
    let a = get(&url).await;
    assert_eq!(status(&a), "01");
    assert_eq!(a[1]["OrderStatus"], "Already Refunded");
    assert_eq!(a[1]["ConnectPayId"], id.as_str());
    assert_eq!(
        find(&stored_orders(&sim).await, "89063-3")["OrderStatus"],
        "Refunded"
    );
}

#[tokio::test]
async fn refund_multiple_sample_amount_above_paid_fails() {
    let sim = sim_for("PayPro", "P@ssw0rd", "0044").await;
    let a = create(&sim, "PayPro", "P@ssw0rd", "HR-100178", "450").await;
    let b = create(&sim, "PayPro", "P@ssw0rd", "KV-1011", "400").await;
    pay(&sim, &[&a, &b]).await;
    let r = get(&format!(
        r#"{}/cpay/mofr?csvOrders={{"Username":"PayPro","Password":"P@ssw0rd","CsvOrderNumbers" : "HR-100178,450|KV-1011,450"}}"#,
        sim.base_url
    ))
    .await;
    assert_eq!(status(&r), "01", "{r}");
    assert_eq!(r.as_array().unwrap().len(), 2);
    assert_eq!(r[1]["OrderNumber"], "KV-1011");
    assert_eq!(r[1]["OrderStatus"], "Paid");
    let orders = stored_orders(&sim).await;
    assert_eq!(find(&orders, "HR-100178")["OrderStatus"], "Refunded");
    assert_eq!(find(&orders, "KV-1011")["OrderStatus"], "Paid");
    // A list the sample's way but malformed: nothing changes.
    let r = get(&format!(
        r#"{}/cpay/mofr?csvOrders={{"Username":"PayPro","Password":"P@ssw0rd","CsvOrderNumbers" : "KV-1011|"}}"#,
        sim.base_url
    ))
    .await;
    assert_eq!(status(&r), "01");
    assert_eq!(r.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn gpojson_report_with_mixed_case_names() {
    let sim = sim_for("PayPro", "PayProi517", "0039").await;
    let base = &sim.base_url;
    let sample = format!(
        "{base}/cpay/gpojson?username=PayPro&password= PayProi517&startDate=2017/01/01&endDate=2020/01/01"
    );
    // The guide's sample: valid request, nothing paid in 2017-2019.
    assert_eq!(status(&get(&sample).await), "03");
    let ids = [
        create(&sim, "PayPro", "PayProi517", "HR-1", "45050").await,
        create(&sim, "PayPro", "PayProi517", "HR-2", "45054").await,
        create(&sim, "PayPro", "PayProi517", "HR-3", "45055.50").await,
    ];
    create(&sim, "PayPro", "PayProi517", "HR-unpaid", "1").await;
    let r = client()
        .post(format!("{base}/__sim/pay"))
        .json(&json!({"ConnectPayIds": ids, "DatePaid": "2019-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = client()
        .get(&sample)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let a: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a.as_array().unwrap().len(), 4);
    let first = &a[1];
    assert_eq!(first["Order Number"], "HR-1");
    assert_eq!(first["ConnectPay Id"], ids[0].as_str());
    assert_eq!(first["Date Paid"], "2019-01-01T00:00:00");
    assert_eq!(first["Order Due Date"], "2027-02-28T00:00:00");
    assert_eq!(first["Issue Date"], "2026-02-12T00:00:00");
    // Numbers and strings mixed as in the guide's sample.
    assert!(first["Order Amount"].is_number());
    assert!(a[2]["Order Amount"].is_string());
    assert_eq!(a[2]["Amount Paid"], "45054");
    assert!(text.contains(r#""Amount Paid":45055.50"#), "{text}");
    for key in [
        "Customer Email",
        "Customer Mobile",
        "Date Created",
        "Customer Address",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    let q = |params: &str| format!("{base}/cpay/gpojson?{params}");
    let cases = [
        (
            "UserName=PayPro&Password=PayProi517&StartDate=2019-01-01&ENDDATE=01/01/2019",
            "00",
        ),
        (
            "userName=PayPro&password=PayProi517&startDate=2019-01-02&endDate=2019-01-01",
            "01",
        ),
        (
            "username=PayPro&password=PayProi517&startDate=2019-13-01&endDate=2019-01-01",
            "01",
        ),
        (
            "username=PayPro&password=PayProi517&endDate=2019-01-01",
            "01",
        ),
        (
            "username=PayPro&password=wrong&startDate=2019-01-01&endDate=2019-01-01",
            "01",
        ),
        (
            "username=&password=PayProi517&startDate=2019-01-01&endDate=2019-01-01",
            "01",
        ),
        ("startDate=2019-01-01&endDate=2019-01-01", "01"),
        (
            "username=PayPro&password=PayProi517&startDate=2019-01-02&endDate=2019-01-02",
            "03",
        ),
    ];
    for (params, want) in cases {
        assert_eq!(status(&get(&q(params)).await), want, "{params}");
    }
}

#[tokio::test]
async fn gos_sample_and_case_variants() {
    let sim = sim_for("ConnectPay", "p@ssw0rd", "0047").await;
    let base = &sim.base_url;
    let sample =
        format!("{base}/cpay/gos?userName=ConnectPay&password=p@ssw0rd&cpayId=00471910900006");
    assert_eq!(status(&get(&sample).await), "03");
    let id = create(&sim, "ConnectPay", "p@ssw0rd", "OpenCart115322", "4400").await;
    for user_key in ["userName", "username", "UserName"] {
        let url = format!("{base}/cpay/gos?{user_key}=ConnectPay&password=p@ssw0rd&cpayId={id}");
        let text = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(r#""OrderAmountPaid":0.0000"#), "{text}");
        assert!(text.contains(r#""DatePaid":null"#), "{text}");
        let a: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status(&a), "00");
        assert_eq!(a[1]["OrderStatus"], "Unpaid");
        assert_eq!(a[1]["OrderNumber"], "OpenCart115322");
    }
    let url = format!("{base}/cpay/gos?userName=ConnectPay&password=p@ssw0rd&cpayId={id}");
    get(&format!(
        r#"{base}/cpay/moab?csvOrders={{"Username":"ConnectPay","Password":"p@ssw0rd","CsvOrderNumbers":"OpenCart115322"}}"#
    ))
    .await;
    assert_eq!(get(&url).await[1]["OrderStatus"], "Blocked");
    assert_eq!(
        status(
            &get(&format!(
                "{base}/cpay/gos?userName=ConnectPay&password=p@ssw0rd"
            ))
            .await
        ),
        "01"
    );
    assert_eq!(
        status(
            &get(&format!(
                "{base}/cpay/gos?userName=ConnectPay&password=x&cpayId={id}"
            ))
            .await
        ),
        "01"
    );
    assert_eq!(
        status(
            &get(&format!(
                "{base}/cpay/gos?userName={}&password=p@ssw0rd&cpayId={id}",
                "u".repeat(61)
            ))
            .await
        ),
        "01"
    );
}

#[tokio::test]
async fn cc_and_uc_samples() {
    // The uc sample's full code 0040123456780 is this merchant's company code + the
    // cc sample's consumer id.
    let sim = sim_for("MerchantUsername", "your password", "0040").await;
    let base = &sim.base_url;
    let cc = format!(
        r#"{base}/cpay/cc?oJson=[{{"MerchantId":"MerchantUsername","MerchantPassword":"your password"}},{{"ConsumerID":"123456780","Name":"Usman","Mobile":"03123456789","Email":"abcd@paypro.com.pk","Address":""}}]"#
    );
    let a = post(&cc).await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a[1]["FullConsumerCode"], "0040123456780");
    assert_eq!(a[1]["ConsumerNumber"], 123456780);
    assert_eq!(
        a[1]["Description"],
        "Consumer number 123456780 created successfully"
    );
    let again = post(&cc).await;
    assert_eq!(status(&again), "01");
    assert_eq!(again[1]["Status"], "01");
    let uc = format!(
        r#"{base}/cpay/uc?oJson=[{{"MerchantId":"MerchantUsername","MerchantPassword":"your password"}},{{"ConsumerID":"0040123456780","Name":"Usman Updated","Mobile":"03123456789","Email":"abcd@paypro.com.pk","Address":""}}]"#
    );
    let a = post(&uc).await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a[1]["ConsumerID"], "0040123456780");
    assert_eq!(
        a[1]["Description"],
        "ConsumerID 0040123456780 updated successfully"
    );
    let consumers = stored_consumers(&sim).await;
    assert_eq!(consumers.len(), 1);
    assert_eq!(consumers[0]["Name"], "Usman Updated");
    // Unknown consumer, bad e-mail, no credentials, wrong password.
    let c = creds("MerchantUsername", "your password");
    let a = post_ojson(
        &sim,
        "uc",
        &json!([c.clone(), {"ConsumerID": "0040999", "Name": "x"}]),
    )
    .await;
    assert_eq!((status(&a), a[1]["Status"].as_str()), ("03", Some("03")));
    let a = post_ojson(
        &sim,
        "cc",
        &json!([c.clone(), {"ConsumerID": "9", "Name": "x", "Email": "bad"}]),
    )
    .await;
    // An invalid consumer is 01 Invalid Format (the guide's code), not 03.
    assert_eq!((status(&a), a[1]["Status"].as_str()), ("01", Some("01")));
    assert!(
        a[1]["Description"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Format."),
        "{a}"
    );
    let a = post_ojson(&sim, "cc", &json!([{"ConsumerID": "9", "Name": "x"}])).await;
    assert_eq!(status(&a), "01");
    let a = post_ojson(
        &sim,
        "cc",
        &json!([creds("MerchantUsername", "no"), {"ConsumerID": "9", "Name": "x"}]),
    )
    .await;
    assert_eq!(status(&a), "01");
    assert_eq!(a.as_array().unwrap().len(), 1);
    let a = post_ojson(
        &sim,
        "cc",
        &json!([c, {"ConsumerID": "SIMFAIL02-9", "Name": "x"}]),
    )
    .await;
    // The service-failure prefix is for orders only: on cc, 02 means "not authorised".
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(stored_consumers(&sim).await.len(), 2);
}

const CMC_SAMPLE: &str = r#"[
{
"MerchantId":"Your Username",
"MerchantPassword":"Your Password"
},
{
"ConsumerID":"123456785",
"Name":"User",
"Mobile":"03123456789",
"Email":"abcd@paypro.com.pk",
"Address":""
},
{
"ConsumerID":"123456786",
"Name":"User 2",
"Mobile":"03123456788",
"Email":"abcd2@paypro.com.pk",
"Address":""
}
]"#;

#[tokio::test]
async fn cmc_umc_samples_and_gcd() {
    let sim = sim_for("Your Username", "Your Password", "0110").await;
    let a = upload(&sim, "cmc", CMC_SAMPLE).await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a[1]["FullConsumerCode"], "0110123456785");
    assert_eq!(a[1]["ConsumerNumber"], "123456785");
    assert_eq!(a[2]["FullConsumerCode"], "0110123456786");
    // umc sample: the same file (short ids) updates both.
    let a = upload(&sim, "umc", CMC_SAMPLE).await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a[1]["ConsumerID"], "0110123456785");
    assert_eq!(
        a[2]["Description"],
        "ConsumerID 0110123456786 updated successfully"
    );
    // cmc again: both exist.
    let a = upload(&sim, "cmc", CMC_SAMPLE).await;
    assert_eq!(status(&a), "01");
    assert_eq!(
        (a[1]["Status"].as_str(), a[2]["Status"].as_str()),
        (Some("01"), Some("01"))
    );
    // 51 consumers: refused whole.
    let mut many = vec![creds("Your Username", "Your Password")];
    many.extend((0..51).map(|i| json!({"ConsumerID": format!("9{i}"), "Name": "n"})));
    let a = upload(&sim, "cmc", &Value::Array(many).to_string()).await;
    assert_eq!(
        status(&a),
        "01",
        "invalid data is 01 on the consumer endpoints"
    );
    assert_eq!(stored_consumers(&sim).await.len(), 2);

    // gcd: the guide's URL spells the parameter with spaces around it.
    let base = &sim.base_url;
    let a = get(&format!(
        "{base}/cpay/gcd?userName=Your Username&password=Your Password& fullConsumerCode =0110123456785"
    ))
    .await;
    assert_eq!(
        a[0],
        json!({"Description": "Record fetched successfully", "Status": "00"})
    );
    assert_eq!(a[1]["FullConsumerCode"], "0110123456785");
    assert_eq!(a[1]["ConsumerCode"], "123456785");
    assert_eq!(a[1]["CompanyCode"], "0110");
    assert_eq!(a[1]["Name"], "User");
    assert_eq!(a[1]["Email"], "abcd@paypro.com.pk");
    assert!(a[1]["CreatedOn"].is_string());
    for (q, want) in [
        (
            "USERNAME=Your Username&Password=Your Password&fullconsumercode=0110123456786",
            "00",
        ),
        (
            "username=Your Username&password=Your Password&fullConsumerCode=0110000",
            "03",
        ),
        ("username=Your Username&password=Your Password", "01"),
        (
            "username=Your Username&password=nope&fullConsumerCode=0110123456786",
            "01",
        ),
    ] {
        assert_eq!(
            status(&get(&format!("{base}/cpay/gcd?{q}")).await),
            want,
            "{q}"
        );
    }
}

#[tokio::test]
async fn gcd_guide_sample() {
    let sim = sim_for("Username", "YourPassword", "0044").await;
    let a = post_ojson(
        &sim,
        "cc",
        &json!([creds("Username", "YourPassword"), {"ConsumerID": "1234567", "Name": "User", "Address": "ABCD"}]),
    )
    .await;
    assert_eq!(status(&a), "00");
    let a = get(&format!(
        "{}/cpay/gcd?userName=Username&password=YourPassword& fullConsumerCode =00441234567",
        sim.base_url
    ))
    .await;
    assert_eq!(status(&a), "00", "{a}");
    assert_eq!(a[1]["FullConsumerCode"], "00441234567");
    assert_eq!(a[1]["Address"], "ABCD");
}

#[tokio::test]
async fn atomic_consumers() {
    let sim = sim_with(
        vec![Merchant::new("Your Username", "Your Password", "0110")],
        BatchMode::Atomic,
        FaultConfig::default(),
    )
    .await;
    let c = creds("Your Username", "Your Password");
    let a = upload(
        &sim,
        "cmc",
        &json!([c.clone(), {"ConsumerID": "1", "Name": "a"}, {"ConsumerID": "2"}]).to_string(),
    )
    .await;
    assert_eq!(status(&a), "01");
    assert_eq!(a[1]["Status"], "01");
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(a[1]["ConsumerID"], "2");
    assert!(stored_consumers(&sim).await.is_empty());
    let a = upload(&sim, "cmc", CMC_SAMPLE).await;
    assert_eq!(status(&a), "00");
    let a = upload(
        &sim,
        "umc",
        &json!([c, {"ConsumerID": "123456785", "Name": "new"}, {"ConsumerID": "404", "Name": "x"}])
            .to_string(),
    )
    .await;
    assert_eq!(status(&a), "03");
    let consumers = stored_consumers(&sim).await;
    assert_eq!(consumers[0]["Name"], "User", "nothing updated");
}

async fn send_co(sim: &RunningSim, number: &str) -> Result<reqwest::Response, reqwest::Error> {
    let mut url = url::Url::parse(&format!("{}/cpay/co", sim.base_url)).unwrap();
    url.query_pairs_mut().append_pair(
        "oJson",
        &json!([creds("demo", "demo-pass"), order(number, "10")]).to_string(),
    );
    client().post(url).send().await
}

async fn demo_sim(faults: FaultConfig) -> RunningSim {
    sim::start(
        SimConfig {
            faults,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn fault_http_500() {
    let sim = demo_sim(FaultConfig {
        http_500: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let r = send_co(&sim, "F-1").await.unwrap();
    assert_eq!(r.status(), 500);
    // /__sim/ is never faulted.
    assert!(stored_orders(&sim).await.is_empty());
}

#[tokio::test]
async fn fault_html_page_with_200() {
    let sim = demo_sim(FaultConfig {
        html_200: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let r = send_co(&sim, "F-1").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("<html>"));
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert!(stored_orders(&sim).await.is_empty());
}

#[tokio::test]
async fn fault_truncated_json_after_storing() {
    let sim = demo_sim(FaultConfig {
        truncated_json: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let r = send_co(&sim, "F-1").await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.starts_with(r#"[{"#), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert_eq!(stored_orders(&sim).await.len(), 1);
}

fn assert_transport_error(r: Result<reqwest::Response, reqwest::Error>) {
    match r {
        Ok(resp) => panic!("expected no HTTP answer, got {}", resp.status()),
        Err(e) => {
            assert!(e.status().is_none());
            assert!(e.is_request() || e.is_connect() || e.is_body(), "{e:?}");
        }
    }
}

#[tokio::test]
async fn fault_drop_before_store() {
    let sim = demo_sim(FaultConfig {
        drop_before_store: 1.0,
        ..FaultConfig::default()
    })
    .await;
    assert_transport_error(send_co(&sim, "F-1").await);
    assert!(stored_orders(&sim).await.is_empty());
}

#[tokio::test]
async fn fault_drop_after_store_is_a_lost_response() {
    let sim = demo_sim(FaultConfig {
        drop_after_store: 1.0,
        ..FaultConfig::default()
    })
    .await;
    assert_transport_error(send_co(&sim, "F-1").await);
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["OrderNumber"], "F-1");
    assert_eq!(orders[0]["CreateRequests"], 1);
    // The retry meets the same fault but is answered 01 underneath: counted again.
    assert_transport_error(send_co(&sim, "F-1").await);
    assert_eq!(stored_orders(&sim).await[0]["CreateRequests"], 2);
}

#[tokio::test]
async fn an_order_named_simlost_loses_its_first_answer_only() {
    let sim = demo_sim(FaultConfig::default()).await;
    assert_transport_error(send_co(&sim, "SIMLOST-1").await);
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(find(&orders, "SIMLOST-1")["CreateRequests"], 1);
    // Sent again, it exists: the answer comes, and it says so.
    let again = send_co(&sim, "SIMLOST-1").await.unwrap();
    assert_eq!(again.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&again.text().await.unwrap()).unwrap();
    assert_eq!(body[0]["Status"], "01", "{body}");
    // Other orders are answered as usual.
    assert_eq!(send_co(&sim, "PLAIN-1").await.unwrap().status(), 200);
}

#[tokio::test]
async fn fault_latency() {
    let sim = demo_sim(FaultConfig {
        latency_ms: 1000,
        jitter_ms: 50,
        ..FaultConfig::default()
    })
    .await;
    let t = Instant::now();
    assert_eq!(send_co(&sim, "F-1").await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(1000));
    // /__sim/ has no latency: with ten minutes of it, an answer within the reader's
    // own timeout (seconds) proves none was applied, however loaded the machine is.
    sim.set_faults(FaultConfig {
        latency_ms: 600_000,
        ..FaultConfig::default()
    })
    .unwrap();
    assert_eq!(find(&stored_orders(&sim).await, "F-1")["CreateRequests"], 1);
}

#[tokio::test]
async fn faults_follow_the_seed() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let sim = sim::start(
            SimConfig {
                seed,
                faults: FaultConfig {
                    http_500: 0.5,
                    ..FaultConfig::default()
                },
                ..SimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        for i in 0..24 {
            out.push(
                send_co(&sim, &format!("S-{i}"))
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let a = pattern(11).await;
    assert_eq!(a, pattern(11).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn state_file_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig {
        state_file: Some(dir.path().join("sim.sqlite")),
        ..SimConfig::default()
    };
    let addr = "127.0.0.1:0".parse().unwrap();
    let sim = sim::start(config.clone(), addr).await.unwrap();
    let first = create(&sim, "demo", "demo-pass", "P-1", "10").await;
    assert_eq!(first, "00440000000001");
    post_ojson(
        &sim,
        "cc",
        &json!([creds("demo", "demo-pass"), {"ConsumerID": "77", "Name": "n"}]),
    )
    .await;
    sim.shutdown().await;

    let sim = sim::start(config, addr).await.unwrap();
    let orders = stored_orders(&sim).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["ConnectPayId"], first.as_str());
    assert_eq!(stored_consumers(&sim).await.len(), 1);
    let again = post_ojson(
        &sim,
        "co",
        &json!([creds("demo", "demo-pass"), order("P-1", "10")]),
    )
    .await;
    assert_eq!(status(&again), "01");
    assert_eq!(
        create(&sim, "demo", "demo-pass", "P-2", "10").await,
        "00440000000002"
    );
    assert_eq!(find(&stored_orders(&sim).await, "P-1")["CreateRequests"], 2);
}

#[tokio::test]
async fn pay_fraction_is_deterministic() {
    async fn paid_with_seed() -> Vec<Value> {
        let sim = demo_sim(FaultConfig::default()).await;
        for i in 0..10 {
            create(&sim, "demo", "demo-pass", &format!("Q-{i}"), "10").await;
        }
        let r = client()
            .post(format!("{}/__sim/pay", sim.base_url))
            .json(&json!({"Fraction": 0.3}))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let paid = v["Paid"].as_array().unwrap().clone();
        let orders = stored_orders(&sim).await;
        assert_eq!(
            orders.iter().filter(|o| o["OrderStatus"] == "Paid").count(),
            3
        );
        paid
    }
    let a = paid_with_seed().await;
    assert_eq!(a.len(), 3);
    assert_eq!(a, paid_with_seed().await);
}

#[tokio::test]
async fn order_expires_into_blocked_when_the_clock_passes_its_expiry() {
    let sim = demo_sim(FaultConfig::default()).await;
    let mut o = order("E-1", "10");
    o["OrderExpireAfterSeconds"] = json!("60");
    let a = post_ojson(&sim, "co", &json!([creds("demo", "demo-pass"), o])).await;
    assert_eq!(status(&a), "00");
    let id = a[1]["ConnectPayId"].as_str().unwrap().to_string();
    let url = format!(
        "{}/cpay/gos?userName=demo&password=demo-pass&cpayId={id}",
        sim.base_url
    );
    assert_eq!(get(&url).await[1]["OrderStatus"], "Unpaid");
    // In process: one second short of the expiry, then past it.
    sim.advance_clock(Duration::from_secs(59)).unwrap();
    assert_eq!(get(&url).await[1]["OrderStatus"], "Unpaid");
    sim.advance_clock(Duration::from_secs(1)).unwrap();
    assert_eq!(get(&url).await[1]["OrderStatus"], "Blocked");
    assert_eq!(pay(&sim, &[&id]).await, json!({"Paid": []}));
}

#[tokio::test]
async fn clock_moves_forward_over_http_and_dates_follow_it() {
    let sim = demo_sim(FaultConfig::default()).await;
    let clock_url = format!("{}/__sim/clock", sim.base_url);
    let before = get(&clock_url).await;
    assert_eq!(before["OffsetSeconds"], 0.0);
    let mut o = order("E-2", "10");
    o["OrderExpireAfterSeconds"] = json!(3600);
    let a = post_ojson(&sim, "co", &json!([creds("demo", "demo-pass"), o])).await;
    let id = a[1]["ConnectPayId"].as_str().unwrap().to_string();
    let advance = |secs: Value| {
        let url = clock_url.clone();
        async move {
            client()
                .post(url)
                .json(&json!({ "AdvanceSeconds": secs }))
                .send()
                .await
                .unwrap()
        }
    };
    let r = advance(json!(3599.5)).await;
    assert_eq!(r.status(), 200);
    let now: Value = r.json().await.unwrap();
    assert_eq!(now["OffsetSeconds"], 3599.5);
    let gos = format!(
        "{}/cpay/gos?userName=demo&password=demo-pass&cpayId={id}",
        sim.base_url
    );
    assert_eq!(get(&gos).await[1]["OrderStatus"], "Unpaid");
    // Time never runs backwards: expiry already applied could not be undone.
    assert_eq!(advance(json!(-10)).await.status(), 400);
    assert_eq!(advance(json!("soon")).await.status(), 400);
    // Two days on: the order has expired, and an order paid now is paid "today" as
    // the simulator sees it.
    assert_eq!(advance(json!(2 * 86_400)).await.status(), 200);
    assert_eq!(get(&gos).await[1]["OrderStatus"], "Blocked");
    let before = sim.now().date();
    assert!(before >= chrono::Local::now().date_naive() + chrono::Days::new(2));
    let paid_id = create(&sim, "demo", "demo-pass", "E-3", "10").await;
    pay(&sim, &[&paid_id]).await;
    let after = sim.now().date();
    let date_paid = find(&stored_orders(&sim).await, "E-3")["DatePaid"].clone();
    assert!(
        [before, after]
            .iter()
            .any(|d| date_paid == d.format("%Y-%m-%d").to_string()),
        "DatePaid {date_paid} is not the simulator's today ({before} / {after})"
    );
}

#[tokio::test]
async fn expiry_zero_is_accepted_and_never_expires() {
    // The guide's own sample sends "OrderExpireAfterSeconds": "0".
    let sim = demo_sim(FaultConfig::default()).await;
    for (number, expiry) in [("Z-1", json!("0")), ("Z-2", json!(0))] {
        let mut o = order(number, "10");
        o["OrderExpireAfterSeconds"] = expiry;
        let a = post_ojson(&sim, "co", &json!([creds("demo", "demo-pass"), o])).await;
        assert_eq!(status(&a), "00", "{a}");
    }
    sim.advance_clock(Duration::from_secs(10 * 365 * 86_400))
        .unwrap();
    let orders = stored_orders(&sim).await;
    assert_eq!(find(&orders, "Z-1")["OrderStatus"], "Unpaid");
    assert_eq!(find(&orders, "Z-2")["OrderStatus"], "Unpaid");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_on_every_endpoint() {
    let sim = demo_sim(FaultConfig::default()).await;
    let posts = ["co", "cmo", "cc", "cmc", "uc", "umc"];
    let gets = ["gpojson", "moap", "moab", "mofr", "gos", "gcd"];
    let c = client();
    for (endpoints, allowed) in [(&posts, "POST"), (&gets, "GET")] {
        for ep in endpoints.iter() {
            let url = format!("{}/cpay/{ep}", sim.base_url);
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                if method == allowed {
                    continue;
                }
                let r = c
                    .request(method.parse().unwrap(), &url)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 405, "{method} {ep}");
                let allow = r
                    .headers()
                    .get("allow")
                    .unwrap_or_else(|| panic!("{method} {ep}: no Allow header"))
                    .to_str()
                    .unwrap()
                    .to_string();
                assert!(allow.contains(allowed), "{method} {ep}: Allow {allow}");
            }
        }
    }
    // A create sent with GET is not processed.
    let mut url = url::Url::parse(&format!("{}/cpay/co", sim.base_url)).unwrap();
    url.query_pairs_mut().append_pair(
        "oJson",
        &json!([creds("demo", "demo-pass"), order("GET-1", "10")]).to_string(),
    );
    assert_eq!(c.get(url).send().await.unwrap().status(), 405);
    assert!(stored_orders(&sim).await.is_empty());
    // The inspection endpoints follow the same rule.
    let r = c
        .delete(format!("{}/__sim/orders", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("allow"));
}

#[tokio::test]
async fn faults_switch_at_runtime_for_a_lost_response_then_retry() {
    let sim = demo_sim(FaultConfig::default()).await;
    sim.set_faults(FaultConfig {
        drop_after_store: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    assert_transport_error(send_co(&sim, "L-1").await);
    // Over HTTP, as a script would: back to normal.
    let r = client()
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let retry: Value = send_co(&sim, "L-1").await.unwrap().json().await.unwrap();
    assert_eq!(status(&retry), "01", "{retry}");
    assert_eq!(find(&stored_orders(&sim).await, "L-1")["CreateRequests"], 2);
    let r = client()
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(&json!({"http_500": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(&json!({"html_200": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let current = get(&format!("{}/__sim/faults", sim.base_url)).await;
    assert_eq!(current["html_200"], 1.0);
    assert!(
        send_co(&sim, "L-2")
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("<html>")
    );
}

#[tokio::test]
async fn credentials_changed_at_runtime_refuse_the_old_password() {
    let sim = sim_for("demo", "demo-pass", "0044").await;
    create(&sim, "demo", "demo-pass", "CRED-1", "100").await;
    let r = client()
        .post(format!("{}/__sim/credentials", sim.base_url))
        .json(&json!({"MerchantId": "demo", "Password": "new-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let old = post_ojson(
        &sim,
        "co",
        &json!([creds("demo", "demo-pass"), order("CRED-2", "100")]),
    )
    .await;
    assert_eq!(status(&old), "04", "{old}");
    assert_eq!(old.as_array().unwrap().len(), 1, "a refusal lists no items");
    create(&sim, "demo", "new-pass", "CRED-2", "100").await;
    let unknown = client()
        .post(format!("{}/__sim/credentials", sim.base_url))
        .json(&json!({"MerchantId": "nobody", "Password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}
