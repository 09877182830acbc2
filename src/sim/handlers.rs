//! The twelve `/cpay/` endpoints and the `/__sim/` inspection endpoints.
//!
//! Every API-level answer is HTTP 200 with a JSON array (as the real service does);
//! only faults and a failing state file produce other HTTP statuses.

use super::config::{BatchMode, Merchant, Service};
use super::faults::{FaultConfig, Faults};
use super::server::fault_layer;
use super::state::{OrderStatus, Store, StoredConsumer, StoredOrder};
use super::validate::{
    self, CREATE_PASSWORD_KEYS, CredError, authenticate, consumer_id_of, field, order_number_of,
    parse_date, text, validate_consumer, validate_order,
};
use crate::domain::Money;
use crate::domain::rules::{BATCH_MAX, CSV_ORDER_NUMBERS_MAX, MERCHANT_ID_MAX};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use chrono::{Local, NaiveDate, NaiveDateTime};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Order numbers starting with this get status 02 (service failure) and are not
/// stored. Orders only: on the consumer endpoints 02 means "not authorised", and the
/// reference gives them no service-failure code.
pub const SIMFAIL_PREFIX: &str = "SIMFAIL02";

use super::config::USERNAME_MAX as QUERY_ID_MAX;

pub struct AppState {
    /// Behind a lock so that `POST /__sim/credentials` can change a password while
    /// the simulator runs (the "credentials revoked mid-run" case).
    merchants: RwLock<Vec<Merchant>>,
    pub batch_mode: BatchMode,
    pub store: Mutex<Store>,
    pub faults: Faults,
    /// Picks orders for `/__sim/pay` `Fraction`; separate from the fault stream so
    /// paying does not shift which requests meet faults.
    pub pay_rng: Mutex<ChaCha8Rng>,
    pub base_url: String,
}

impl AppState {
    pub fn new(
        merchants: Vec<Merchant>,
        batch_mode: BatchMode,
        store: Store,
        faults: Faults,
        seed: u64,
        base_url: String,
    ) -> AppState {
        AppState {
            merchants: RwLock::new(merchants),
            batch_mode,
            store: Mutex::new(store),
            faults,
            pay_rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5041_5950_524f)),
            base_url,
        }
    }

    /// A snapshot of the merchants (a handful; cloned per request).
    pub fn merchants(&self) -> Vec<Merchant> {
        match self.merchants.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves at worst a half-applied request; the
        // simulator keeps serving rather than failing every later request.
        let mut store = match self.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        store.expire_due(now());
        store
    }
}

type St = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let cpay = Router::new()
        .route("/co", any(co))
        .route("/cmo", any(cmo))
        .route("/gpojson", any(gpojson))
        .route("/moap", any(moap))
        .route("/moab", any(moab))
        .route("/mofr", any(mofr))
        .route("/gos", any(gos))
        .route("/cc", any(cc))
        .route("/cmc", any(cmc))
        .route("/uc", any(uc))
        .route("/umc", any(umc))
        .route("/gcd", any(gcd))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fault_layer,
        ));
    let inspect = Router::new()
        .route("/orders", get(sim_orders))
        .route("/consumers", get(sim_consumers))
        .route("/pay", post(sim_pay))
        .route("/faults", get(sim_get_faults).post(sim_set_faults))
        .route("/credentials", post(sim_set_credentials));
    Router::new()
        .nest("/cpay", cpay)
        .nest("/__sim", inspect)
        .with_state(state)
}

// ---------------------------------------------------------------------------------
// Answers

/// A JSON number written verbatim (e.g. `0.0000`), which `serde_json::Value` cannot
/// hold without the `arbitrary_precision` feature.
const RAW_NUMBER: &str = "\u{1}RAWNUM:";

fn raw_number(text: String) -> Value {
    Value::String(format!("{RAW_NUMBER}{text}"))
}

/// `amount` as a JSON number with exactly `scale` decimals (`0.0000`), or with none
/// when `scale` is 0 and the amount is whole.
fn number(amount: Money, scale: u32) -> Value {
    let mut d = amount.value();
    if scale == 0 && d.fract().is_zero() {
        return raw_number(d.trunc().to_string());
    }
    d.rescale(scale.max(2));
    raw_number(d.to_string())
}

fn render(v: &Value) -> String {
    let s = v.to_string();
    let marker = "\"\\u0001RAWNUM:";
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(pos) = rest.find(marker) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + marker.len()..];
        match after.find('"') {
            Some(end)
                if after[..end]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
            {
                out.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[pos..pos + marker.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_answer(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        render(&v),
    )
        .into_response()
}

fn envelope(status: &str, description: &str) -> Value {
    json!({"Status": status, "Description": description})
}

/// A whole-request answer: element 0 only.
fn whole(status: &str, description: &str) -> Response {
    json_answer(Value::Array(vec![envelope(status, description)]))
}

fn state_failure(e: &rusqlite::Error) -> Response {
    tracing::error!("simulator state file write failed: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("simulator state file write failed: {e}"),
    )
        .into_response()
}

fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

fn wire_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%dT00:00:00").to_string()
}

fn wire_timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

// ---------------------------------------------------------------------------------
// Request reading

/// Query parameters; names matched case-insensitively and without stray spaces (the
/// guide's own gcd example has `& fullConsumerCode =...`).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        Query(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.trim().to_string(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The JSON text of a create request: `oJson` in the query, else a multipart part
/// named `file` (or the only part), else a form-encoded `oJson=` body, else the raw
/// body.
async fn payload(query: &Query, req: Request) -> Result<String, String> {
    if let Some(q) = query.get("oJson")
        && !q.trim().is_empty()
    {
        return Ok(q.to_string());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| format!("bad multipart body: {e}"))?;
        let mut first: Option<String> = None;
        while let Some(part) = mp
            .next_field()
            .await
            .map_err(|e| format!("bad multipart body: {e}"))?
        {
            let is_file = part.name().is_some_and(|n| n.eq_ignore_ascii_case("file"));
            let is_ojson = part.name().is_some_and(|n| n.eq_ignore_ascii_case("oJson"));
            let bytes = part
                .bytes()
                .await
                .map_err(|e| format!("bad multipart body: {e}"))?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if is_file || is_ojson {
                return Ok(text);
            }
            if first.is_none() {
                first = Some(text);
            }
        }
        return first.ok_or_else(|| "multipart body has no file part".to_string());
    }
    let body = Bytes::from_request(req, &())
        .await
        .map_err(|e| format!("unreadable body: {e}"))?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let looks_form = content_type.starts_with("application/x-www-form-urlencoded")
        || text.trim_start().to_ascii_lowercase().starts_with("ojson=");
    if looks_form && let Some(v) = Query::parse(Some(&text)).get("oJson") {
        return Ok(v.to_string());
    }
    Ok(text)
}

/// Parses the envelope array; a text file may start with a byte-order mark.
fn parse_envelope(text: &str) -> Result<Vec<Value>, String> {
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return Err("no data sent".to_string());
    }
    match serde_json::from_str::<Value>(t) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(_) => Err("the JSON is not an array".to_string()),
        Err(e) => Err(format!("the JSON cannot be read ({e})")),
    }
}

// ---------------------------------------------------------------------------------
// Batch plumbing shared by orders and consumers

/// The answer for one item: its status and its answer object.
struct ItemAnswer {
    status: &'static str,
    body: Value,
}

fn item_failure(status: &'static str, description: &str, key: &str, key_value: &str) -> ItemAnswer {
    let mut m = Map::new();
    m.insert("Status".into(), json!(status));
    m.insert("Description".into(), json!(description));
    m.insert(key.into(), json!(key_value));
    ItemAnswer {
        status,
        body: Value::Object(m),
    }
}

fn batch_answer(items: Vec<ItemAnswer>, noun: &str) -> Response {
    let failed: Vec<&ItemAnswer> = items.iter().filter(|i| i.status != "00").collect();
    let head = match failed.first() {
        None => envelope("00", "Success"),
        Some(first) if items.len() == 1 => {
            let desc = first.body["Description"].as_str().unwrap_or_default();
            envelope(first.status, desc)
        }
        Some(first) => envelope(
            first.status,
            &format!(
                "{} of {} {noun} failed; see each item's Status",
                failed.len(),
                items.len()
            ),
        ),
    };
    let mut out = vec![head];
    out.extend(items.into_iter().map(|i| i.body));
    json_answer(Value::Array(out))
}

/// All-or-nothing refusal (wire-decisions.md §2): only the offending items are listed.
fn atomic_refusal(
    offending: Vec<ItemAnswer>,
    total: usize,
    invalid_code: &str,
    noun: &str,
) -> Response {
    let status = if offending.iter().any(|i| i.status == invalid_code) {
        invalid_code
    } else if offending.iter().any(|i| i.status == "02") {
        "02"
    } else {
        "01"
    };
    let head = envelope(
        status,
        &format!(
            "Batch rejected, nothing created: {} of {total} {noun} refused",
            offending.len()
        ),
    );
    let mut out = vec![head];
    out.extend(offending.into_iter().map(|i| i.body));
    json_answer(Value::Array(out))
}

/// A whole-request refusal: status and description of element 0.
struct Refusal(&'static str, String);

impl Refusal {
    fn new(status: &'static str, description: &str) -> Refusal {
        Refusal(status, description.to_string())
    }

    fn answer(self) -> Response {
        whole(self.0, &self.1)
    }
}

/// Reads and authenticates a create request's envelope.
fn open_create(
    st: &AppState,
    text: Result<String, String>,
    service: Service,
) -> Result<(Merchant, Vec<Value>), Refusal> {
    let orders = matches!(service, Service::Co | Service::Cmo);
    // Orders: 03 invalid data, 04 not authorised. Consumers: 01 invalid format or
    // credentials, 02 not authorised.
    let (bad_format, bad_creds, not_authorised) = if orders {
        ("03", "04", "04")
    } else {
        ("01", "01", "02")
    };
    let text = text.map_err(|e| Refusal::new(bad_format, &format!("Invalid Format. {e}")))?;
    let mut arr = parse_envelope(&text).map_err(|e| {
        Refusal::new(
            bad_format,
            &format!("Invalid Data. Object sent from client has error: {e}"),
        )
    })?;
    let Some((id, password)) = validate::create_credentials(arr.first()) else {
        let code = if orders { "03" } else { "01" };
        return Err(Refusal::new(code, CredError::Missing.description()));
    };
    let id_max = if orders {
        MERCHANT_ID_MAX
    } else {
        QUERY_ID_MAX
    };
    let merchants = st.merchants();
    let merchant = authenticate(&merchants, &id, &password, id_max, service)
        .map_err(|e| {
            let code = match e {
                CredError::NotAuthorised => not_authorised,
                CredError::Invalid => bad_creds,
                _ if orders => "03",
                _ => "01",
            };
            let desc = if orders && e == CredError::Invalid {
                "User not Authorized. Username or password is invalid"
            } else {
                e.description()
            };
            Refusal::new(code, desc)
        })?
        .clone();
    arr.remove(0);
    if arr.is_empty() {
        let desc = if orders {
            "Invalid Data. Order details are not provided"
        } else {
            "No data available"
        };
        return Err(Refusal::new("03", desc));
    }
    if arr.len() > BATCH_MAX {
        return Err(Refusal::new(
            "03",
            &format!(
                "Invalid Data. {} items in one request; the maximum is {BATCH_MAX}",
                arr.len()
            ),
        ));
    }
    Ok((merchant, arr))
}

// ---------------------------------------------------------------------------------
// co / cmo

async fn co(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    create_orders(&st, text, Service::Co)
}

async fn cmo(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    create_orders(&st, text, Service::Cmo)
}

fn created_order(o: &StoredOrder) -> Value {
    let id = &o.connectpay_id;
    json!({
        "Status": "00",
        "Description": format!("Order number {} created successfully", o.order_number),
        "OrderAmount": o.amount.to_wire(),
        "ConnectPayFee": o.fee.to_wire(),
        "ConnectPayId": id,
        "OrderNumber": o.order_number,
        "IsFeeApplied": if o.fee.is_zero() { "False" } else { "True" },
        "PayProId": id,
        "BillUrl": format!("https://bill.sim.invalid/{id}"),
        "Click2Pay": format!("https://pay.sim.invalid/{id}"),
        "1LinkCharge": "0",
        "BAFCharge": "False",
        "IPGList": [],
    })
}

/// Checks one order item against rules, the magic failure prefix and existing orders
/// (`seen` holds numbers accepted earlier in the same request).
fn judge_order(
    store: &Store,
    merchant: &Merchant,
    item: &Value,
    seen: &HashSet<String>,
) -> Result<validate::ValidOrder, ItemAnswer> {
    let number = order_number_of(item).unwrap_or_default();
    let v = validate_order(item, merchant)
        .map_err(|d| item_failure("03", &d, "OrderNumber", &number))?;
    if v.order_number.starts_with(SIMFAIL_PREFIX) {
        return Err(item_failure(
            "02",
            "Service Fail. Error occurred in order creation",
            "OrderNumber",
            &v.order_number,
        ));
    }
    if seen.contains(&v.order_number) || store.order(&merchant.id, &v.order_number).is_some() {
        return Err(item_failure(
            "01",
            &format!("Order number {} already exists", v.order_number),
            "OrderNumber",
            &v.order_number,
        ));
    }
    Ok(v)
}

fn create_orders(st: &AppState, text: Result<String, String>, service: Service) -> Response {
    let (merchant, items) = match open_create(st, text, service) {
        Ok(x) => x,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let mut store = st.store();
    let now = now();
    // Every item naming an order number counts as a create request for it, whatever
    // its answer (/__sim/orders shows the count as CreateRequests). Counting them all
    // before judging any leaves the same counts in either batch mode.
    for item in &items {
        if let Some(n) = order_number_of(item) {
            store.note_create_request(&merchant.id, &n);
        }
    }
    let mut seen = HashSet::new();
    run_batch(
        st.batch_mode,
        &mut store,
        &items,
        "orders",
        |store, item| {
            let v = judge_order(store, merchant, item, &seen)?;
            seen.insert(v.order_number.clone());
            Ok(v)
        },
        |store, v| ItemAnswer {
            status: "00",
            body: created_order(store.insert_order(merchant, v, now)),
        },
    )
}

// ---------------------------------------------------------------------------------
// cc / cmc / uc / umc

async fn cc(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    create_consumers(&st, text, Service::Cc)
}

async fn cmc(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    create_consumers(&st, text, Service::Cmc)
}

async fn uc(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    update_consumers(&st, text, Service::Uc)
}

async fn umc(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let text = payload(&query, req).await;
    update_consumers(&st, text, Service::Umc)
}

/// `ConsumerNumber` is a number in the cc sample and a string in the cmc sample.
fn consumer_number(c: &StoredConsumer, as_number: bool) -> Value {
    if as_number
        && !c.consumer_id.starts_with('0')
        && let Ok(n) = c.consumer_id.parse::<u64>()
    {
        return json!(n);
    }
    json!(c.consumer_id)
}

fn created_consumer(c: &StoredConsumer, single: bool) -> Value {
    json!({
        "Status": "00",
        "FullConsumerCode": c.full_code(),
        "Description": format!("Consumer number {} created successfully", c.consumer_id),
        "ConsumerNumber": consumer_number(c, single),
        "ConsumerID": c.consumer_id,
    })
}

fn judge_new_consumer(
    store: &Store,
    merchant: &Merchant,
    item: &Value,
    seen: &HashSet<String>,
) -> Result<validate::ConsumerFields, ItemAnswer> {
    let id = consumer_id_of(item).unwrap_or_default();
    let f = validate_consumer(item, true).map_err(|d| item_failure("03", &d, "ConsumerID", &id))?;
    if seen.contains(&f.consumer_id) || store.consumer(&merchant.id, &f.consumer_id).is_some() {
        return Err(item_failure(
            "01",
            &format!("Consumer {} already exists", f.consumer_id),
            "ConsumerID",
            &f.consumer_id,
        ));
    }
    Ok(f)
}

fn create_consumers(st: &AppState, text: Result<String, String>, service: Service) -> Response {
    let (merchant, items) = match open_create(st, text, service) {
        Ok(x) => x,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let single = service == Service::Cc;
    let mut store = st.store();
    let now = now();
    let mut seen = HashSet::new();
    run_batch(
        st.batch_mode,
        &mut store,
        &items,
        "consumers",
        |store, item| {
            let f = judge_new_consumer(store, merchant, item, &seen)?;
            seen.insert(f.consumer_id.clone());
            Ok(f)
        },
        |store, f| ItemAnswer {
            status: "00",
            body: created_consumer(store.insert_consumer(merchant, f, now), single),
        },
    )
}

/// Resolves an update item to (short consumer id, fields).
fn judge_update(
    store: &Store,
    merchant: &Merchant,
    item: &Value,
) -> Result<(String, validate::ConsumerFields), ItemAnswer> {
    let sent = consumer_id_of(item).unwrap_or_default();
    let f =
        validate_consumer(item, false).map_err(|d| item_failure("03", &d, "ConsumerID", &sent))?;
    let short = store
        .find_consumer_id(merchant, &f.consumer_id)
        .ok_or_else(|| {
            item_failure(
                "03",
                &format!(
                    "No data available. ConsumerID {} does not exist",
                    f.consumer_id
                ),
                "ConsumerID",
                &f.consumer_id,
            )
        })?;
    Ok((short, f))
}

fn updated_consumer(c: &StoredConsumer) -> Value {
    let full = c.full_code();
    json!({
        "Status": "00",
        "Description": format!("ConsumerID {full} updated successfully"),
        "ConsumerID": full,
    })
}

fn update_consumers(st: &AppState, text: Result<String, String>, service: Service) -> Response {
    let (merchant, items) = match open_create(st, text, service) {
        Ok(x) => x,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let mut store = st.store();
    run_batch(
        st.batch_mode,
        &mut store,
        &items,
        "consumers",
        |store, item| judge_update(store, merchant, item),
        |store, (short, f)| match store.update_consumer(&merchant.id, &short, f) {
            Some(c) => ItemAnswer {
                status: "00",
                body: updated_consumer(c),
            },
            None => item_failure("03", "No data available", "ConsumerID", &short),
        },
    )
}

/// The batch flow of the create and update endpoints (wire-decisions.md §2). Per item:
/// each item is judged and, if valid, applied before the next is judged (so `judge`
/// sees the earlier items' effects), and the answer lists every item. Atomic: every
/// item is judged first, and only if none is refused are they all applied; otherwise
/// the answer lists just the refused items and none is applied. The store is committed
/// either way, so that what the caller noted before (create-request counts) is kept.
fn run_batch<V>(
    mode: BatchMode,
    store: &mut Store,
    items: &[Value],
    noun: &str,
    mut judge: impl FnMut(&Store, &Value) -> Result<V, ItemAnswer>,
    mut apply: impl FnMut(&mut Store, V) -> ItemAnswer,
) -> Response {
    let answer = match mode {
        BatchMode::PerItem => {
            let answers = items
                .iter()
                .map(|item| match judge(store, item) {
                    Ok(v) => apply(store, v),
                    Err(a) => a,
                })
                .collect();
            batch_answer(answers, noun)
        }
        BatchMode::Atomic => {
            let mut valid = Vec::new();
            let mut offending = Vec::new();
            for item in items {
                match judge(store, item) {
                    Ok(v) => valid.push(v),
                    Err(a) => offending.push(a),
                }
            }
            if offending.is_empty() {
                let answers = valid.into_iter().map(|v| apply(store, v)).collect();
                batch_answer(answers, noun)
            } else {
                atomic_refusal(offending, items.len(), "03", noun)
            }
        }
    };
    match store.commit() {
        Ok(()) => answer,
        Err(e) => state_failure(&e),
    }
}

// ---------------------------------------------------------------------------------
// Report, status and lookup endpoints: credentials in the query string

/// Authenticates `username`/`password` query parameters (any case). Errors are the
/// finished `01`/`02` answer.
fn query_merchant(st: &AppState, query: &Query, service: Service) -> Result<Merchant, Refusal> {
    let id = query.get("username").or_else(|| query.get("MerchantId"));
    let pw = query
        .get("password")
        .or_else(|| query.get("MerchantPassword"));
    if id.is_none() && pw.is_none() {
        return Err(Refusal::new("01", CredError::Missing.description()));
    }
    let merchants = st.merchants();
    authenticate(
        &merchants,
        id.unwrap_or_default(),
        pw.unwrap_or_default(),
        QUERY_ID_MAX,
        service,
    )
    .map_err(|e| {
        let code = if e == CredError::NotAuthorised {
            "02"
        } else {
            "01"
        };
        Refusal::new(code, e.description())
    })
    .cloned()
}

async fn gpojson(State(st): St, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let merchant = match query_merchant(&st, &query, Service::Gpojson) {
        Ok(m) => m,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let start = query.get("startDate").and_then(parse_date);
    let end = query.get("endDate").and_then(parse_date);
    let (Some(start), Some(end)) = (start, end) else {
        return whole("01", "Invalid Data. Date format is invalid");
    };
    if start > end {
        return whole(
            "01",
            "Invalid Data. Start Date should be less then to End Date",
        );
    }
    let store = st.store();
    let paid: Vec<&StoredOrder> = store
        .orders()
        .iter()
        .filter(|o| o.merchant_id == merchant.id)
        .filter(|o| o.date_paid.is_some_and(|d| d >= start && d <= end))
        .collect();
    if paid.is_empty() {
        return whole("03", "No data available");
    }
    let mut out = vec![envelope("00", "Success")];
    for (i, o) in paid.iter().enumerate() {
        // The guide's sample mixes numbers and strings for the same keys.
        let (amount, amount_paid) = match i % 3 {
            0 => (number(o.amount, 0), number(o.amount_paid, 0)),
            1 => (json!(o.amount.to_wire()), json!(o.amount_paid.to_wire())),
            _ => (json!(o.amount.to_wire()), number(o.amount_paid, 0)),
        };
        out.push(json!({
            "Order Number": o.order_number,
            "Customer Email": o.customer_email,
            "Issue Date": wire_date(o.issue_date),
            "Customer Mobile": o.customer_mobile,
            "Order Amount": amount,
            "Date Created": wire_timestamp(o.created_at),
            "Order Due Date": wire_date(o.due_date),
            "Customer Address": o.customer_address,
            "Date Paid": o.date_paid.map(wire_date),
            "ConnectPay Id": o.connectpay_id,
            "Amount Paid": amount_paid,
        }));
    }
    json_answer(Value::Array(out))
}

async fn gos(State(st): St, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let merchant = match query_merchant(&st, &query, Service::Gos) {
        Ok(m) => m,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let Some(cpay_id) = query.get("cpayId").map(str::trim).filter(|s| !s.is_empty()) else {
        return whole("01", "Invalid Format. cpayId is not provided");
    };
    let store = st.store();
    let Some(o) = store
        .order_by_cpay(cpay_id)
        .filter(|o| o.merchant_id == merchant.id)
    else {
        return whole("03", "No data available");
    };
    json_answer(json!([
        envelope("00", "Success"),
        {
            "OrderStatus": o.status.as_str(),
            "OrderAmountPaid": number(o.amount_paid, 4),
            "DatePaid": o.date_paid.map(wire_date),
            "OrderNumber": o.order_number,
            "ConnectPayId": o.connectpay_id,
            "OrderAmount": o.amount.to_wire(),
        }
    ]))
}

async fn gcd(State(st): St, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let merchant = match query_merchant(&st, &query, Service::Gcd) {
        Ok(m) => m,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let Some(code) = query
        .get("fullConsumerCode")
        .or_else(|| query.get("ConsumerID"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return whole("01", "Invalid Format. fullConsumerCode is not provided");
    };
    let store = st.store();
    let Some(c) = store
        .find_consumer_id(merchant, code)
        .and_then(|short| store.consumer(&merchant.id, &short))
    else {
        return whole("03", "No data available");
    };
    json_answer(json!([
        {"Description": "Record fetched successfully", "Status": "00"},
        {
            "FullConsumerCode": c.full_code(),
            "CreatedOn": wire_timestamp(c.created_at),
            "Email": c.email,
            "ConsumerCode": c.consumer_id,
            "Address": c.address,
            "Mobile": c.mobile,
            "CompanyCode": c.company_code,
            "Name": c.name,
        }
    ]))
}

// ---------------------------------------------------------------------------------
// moap / moab / mofr

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Paid,
    Blocked,
    Refund,
}

async fn moap(State(st): St, RawQuery(q): RawQuery) -> Response {
    mark(&st, q.as_deref(), Mark::Paid)
}

async fn moab(State(st): St, RawQuery(q): RawQuery) -> Response {
    mark(&st, q.as_deref(), Mark::Blocked)
}

async fn mofr(State(st): St, RawQuery(q): RawQuery) -> Response {
    mark(&st, q.as_deref(), Mark::Refund)
}

/// Splits `CsvOrderNumbers`: `A,B,C` for paid/blocked, `A,450|B,450|` for refunds.
fn parse_csv_orders(csv: &str, kind: Mark) -> Result<Vec<(String, Option<Money>)>, String> {
    let mut out = Vec::new();
    if kind == Mark::Refund {
        for entry in csv.split('|').map(str::trim).filter(|e| !e.is_empty()) {
            let (number, amount) = entry
                .rsplit_once(',')
                .ok_or_else(|| format!("Invalid Format. '{entry}' is not OrderNumber,Amount"))?;
            let number = number.trim();
            let amount = amount
                .trim()
                .parse::<Money>()
                .ok()
                .filter(|a| !a.is_zero())
                .ok_or_else(|| format!("Invalid Format. '{entry}' has no valid amount"))?;
            if number.is_empty() {
                return Err(format!("Invalid Format. '{entry}' has no order number"));
            }
            out.push((number.to_string(), Some(amount)));
        }
    } else {
        for number in csv.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            out.push((number.to_string(), None));
        }
    }
    Ok(out)
}

fn mark_failure(number: &str, status: &str, cpay_id: &str, description: &str) -> Value {
    json!({
        "OrderNumber": number,
        "OrderStatus": status,
        "ConnectPayId": cpay_id,
        "Description": description,
    })
}

fn mark(st: &AppState, raw_query: Option<&str>, kind: Mark) -> Response {
    let query = Query::parse(raw_query);
    let service = match kind {
        Mark::Paid => Service::Moap,
        Mark::Blocked => Service::Moab,
        Mark::Refund => Service::Mofr,
    };
    let Some(csv_orders) = query.get("csvOrders").filter(|s| !s.trim().is_empty()) else {
        return whole("01", "Invalid Format. csvOrders is not provided");
    };
    let obj = match serde_json::from_str::<Value>(csv_orders.trim()) {
        Ok(Value::Object(o)) => o,
        _ => return whole("01", "Invalid Format. csvOrders is not a JSON object"),
    };
    let id = field(&obj, &["Username", "MerchantId"]).and_then(text);
    let pw = field(&obj, CREATE_PASSWORD_KEYS).and_then(text);
    if id.is_none() && pw.is_none() {
        return whole("01", CredError::Missing.description());
    }
    let merchants = st.merchants();
    let merchant = match authenticate(
        &merchants,
        &id.unwrap_or_default(),
        &pw.unwrap_or_default(),
        QUERY_ID_MAX,
        service,
    ) {
        Ok(m) => m,
        Err(e) => {
            let code = if e == CredError::NotAuthorised {
                "02"
            } else {
                "01"
            };
            return whole(code, e.description());
        }
    };
    let csv = field(&obj, &["CsvOrderNumbers"])
        .and_then(text)
        .unwrap_or_default();
    if csv.chars().count() > CSV_ORDER_NUMBERS_MAX {
        return whole(
            "01",
            &format!(
                "Invalid Data. CsvOrderNumbers is longer than {CSV_ORDER_NUMBERS_MAX} characters"
            ),
        );
    }
    let entries = match parse_csv_orders(&csv, kind) {
        Ok(e) => e,
        Err(desc) => return whole("01", &desc),
    };
    if entries.is_empty() {
        return whole("03", "No data available");
    }
    let mut store = st.store();
    let mut failures = Vec::new();
    let mut not_found = 0;
    let today = today();
    for (number, amount) in &entries {
        let Some(o) = store.order(&merchant.id, number) else {
            not_found += 1;
            failures.push(mark_failure(number, "Not Found", "", "No data available"));
            continue;
        };
        let current = o.status;
        let cpay = o.connectpay_id.clone();
        let paid = o.amount_paid;
        let refusal = match (kind, current) {
            (Mark::Paid | Mark::Blocked, OrderStatus::Unpaid) => None,
            (Mark::Paid, _) => Some(mark_failure(
                number,
                current.as_str(),
                &cpay,
                "You can update only unpaid orders to mark Paid",
            )),
            (Mark::Blocked, _) => Some(mark_failure(
                number,
                current.as_str(),
                &cpay,
                "You can update only unpaid orders to mark Blocked",
            )),
            (Mark::Refund, OrderStatus::Refunded) => Some(mark_failure(
                number,
                "Already Refunded",
                &cpay,
                "The order is already refunded",
            )),
            (Mark::Refund, OrderStatus::Paid) => match amount {
                Some(a) if *a <= paid => None,
                _ => Some(mark_failure(
                    number,
                    current.as_str(),
                    &cpay,
                    &format!(
                        "Refund amount {} is more than the amount paid {}",
                        amount.map(|a| a.to_wire()).unwrap_or_default(),
                        paid.to_wire()
                    ),
                )),
            },
            (Mark::Refund, _) => Some(mark_failure(
                number,
                current.as_str(),
                &cpay,
                "You can refund only paid orders",
            )),
        };
        if let Some(f) = refusal {
            failures.push(f);
            continue;
        }
        if let Some(o) = store.order_mut(&merchant.id, number) {
            match kind {
                Mark::Paid => {
                    o.status = OrderStatus::Paid;
                    o.amount_paid = o.amount;
                    o.date_paid = Some(today);
                }
                Mark::Blocked => o.status = OrderStatus::Blocked,
                Mark::Refund => {
                    o.status = OrderStatus::Refunded;
                    o.amount_refunded = amount.unwrap_or(o.amount_paid);
                }
            }
        }
    }
    if let Err(e) = store.commit() {
        return state_failure(&e);
    }
    if failures.is_empty() {
        return json_answer(json!([{"Status": "00", "Description": "Success"}]));
    }
    let head = if not_found == entries.len() {
        envelope("03", "No data available")
    } else {
        envelope(
            "01",
            &format!(
                "Error in updating record: {} of {} orders could not be updated",
                failures.len(),
                entries.len()
            ),
        )
    };
    let mut out = vec![head];
    out.extend(failures);
    json_answer(Value::Array(out))
}

// ---------------------------------------------------------------------------------
// /__sim/ inspection

/// Every stored order: each field it was created with, under the guide's request names
/// (amounts as decimal strings, dates as `YYYY-MM-DD`), beside its state, so that a test
/// can compare what the server holds with what the sheet meant.
async fn sim_orders(State(st): St) -> Response {
    let store = st.store();
    let list: Vec<Value> = store.orders().iter().map(stored_order_json).collect();
    json_answer(Value::Array(list))
}

fn stored_order_json(o: &StoredOrder) -> Value {
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    json!({
        "MerchantId": o.merchant_id,
        "OrderNumber": o.order_number,
        "OrderAmount": o.amount.to_wire(),
        "OrderDueDate": day(o.due_date),
        "OrderType": crate::domain::ORDER_TYPE_SERVICE,
        "IssueDate": day(o.issue_date),
        "CustomerName": o.customer_name,
        "CustomerMobile": o.customer_mobile,
        "CustomerEmail": o.customer_email,
        "CustomerAddress": o.customer_address,
        "OrderExpireAfterSeconds": o.expire_after_seconds,
        "OrderAmountWithinDueDate": o.amount_within_due_date.map(|m| m.to_wire()),
        "OrderAmountAfterDueDate": o.amount_after_due_date.map(|m| m.to_wire()),
        "ConnectPayId": o.connectpay_id,
        "ConnectPayFee": o.fee.to_wire(),
        "OrderStatus": o.status.as_str(),
        "AmountPaid": o.amount_paid.to_wire(),
        "DatePaid": o.date_paid.map(day),
        "AmountRefunded": o.amount_refunded.to_wire(),
        "CreateRequests": o.create_requests,
    })
}

async fn sim_consumers(State(st): St) -> Response {
    let store = st.store();
    let list: Vec<Value> = store
        .consumers()
        .iter()
        .map(|c| {
            json!({
                "MerchantId": c.merchant_id,
                "ConsumerID": c.consumer_id,
                "FullConsumerCode": c.full_code(),
                "Name": c.name,
                "Mobile": c.mobile,
                "Email": c.email,
                "Address": c.address,
            })
        })
        .collect();
    json_answer(Value::Array(list))
}

fn bad_request(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, json!({"Error": msg}).to_string()).into_response()
}

async fn sim_get_faults(State(st): St) -> Response {
    json_answer(json!(st.faults.config()))
}

/// Replaces the fault configuration (fields of [`FaultConfig`]; missing ones are 0).
async fn sim_set_faults(State(st): St, body: Bytes) -> Response {
    let config = match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(&format!("not a fault configuration: {e}")),
    };
    match st.faults.set_config(config) {
        Ok(()) => json_answer(json!(st.faults.config())),
        Err(e) => bad_request(&e.to_string()),
    }
}

/// `{"MerchantId":"demo","Password":"new"}` changes a merchant's password from now on,
/// so that requests still using the old one are refused (04 on create): how tests
/// revoke credentials in the middle of a run. Answers with the merchant id only.
async fn sim_set_credentials(State(st): St, body: Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("expected a JSON object with MerchantId and Password");
    };
    let (Some(id), Some(password)) = (
        req.get("MerchantId").and_then(Value::as_str),
        req.get("Password").and_then(Value::as_str),
    ) else {
        return bad_request("expected a JSON object with MerchantId and Password");
    };
    let mut merchants = match st.merchants.write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    match merchants.iter_mut().find(|m| m.id == id) {
        Some(m) => {
            m.password = crate::Secret::new(password);
            json_answer(json!({ "MerchantId": id }))
        }
        None => bad_request(&format!("no merchant {id}")),
    }
}

/// `{"ConnectPayIds":[...]}` pays those orders; `{"Fraction":0.3}` pays that share of
/// the unpaid orders, picked under the seed. Optional `"DatePaid":"yyyy-MM-dd"`
/// (default today). Only unpaid orders are paid; the answer lists the ids paid.
async fn sim_pay(State(st): St, body: Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("expected a JSON object with ConnectPayIds or Fraction");
    };
    let date = match req.get("DatePaid").and_then(Value::as_str) {
        None => today(),
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return bad_request("DatePaid is not a date"),
        },
    };
    let mut store = st.store();
    let targets: Vec<String> = if let Some(ids) = req.get("ConnectPayIds") {
        let Some(ids) = ids.as_array() else {
            return bad_request("ConnectPayIds must be an array of strings");
        };
        ids.iter().filter_map(text).collect()
    } else if let Some(f) = req.get("Fraction").and_then(Value::as_f64) {
        if !(0.0..=1.0).contains(&f) {
            return bad_request("Fraction must be between 0.0 and 1.0");
        }
        let mut unpaid: Vec<String> = store
            .orders()
            .iter()
            .filter(|o| o.status == OrderStatus::Unpaid)
            .map(|o| o.connectpay_id.clone())
            .collect();
        unpaid.sort();
        let n = (f * unpaid.len() as f64).round() as usize;
        {
            let mut rng = match st.pay_rng.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            unpaid.shuffle(&mut *rng);
        }
        unpaid.truncate(n);
        unpaid.sort();
        unpaid
    } else {
        return bad_request("expected ConnectPayIds or Fraction");
    };
    let mut paid = Vec::new();
    for id in targets {
        if let Some(o) = store.order_by_cpay_mut(&id)
            && o.status == OrderStatus::Unpaid
        {
            o.status = OrderStatus::Paid;
            o.amount_paid = o.amount;
            o.date_paid = Some(date);
            paid.push(id);
        }
    }
    if let Err(e) = store.commit() {
        return state_failure(&e);
    }
    json_answer(json!({ "Paid": paid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_numbers_render_verbatim() {
        let m: Money = "0".parse().unwrap();
        let v = json!({"a": number(m, 4), "b": number("45050".parse().unwrap(), 0),
                       "c": number("10.5".parse().unwrap(), 0), "d": "plain"});
        assert_eq!(
            render(&v),
            r#"{"a":0.0000,"b":45050,"c":10.50,"d":"plain"}"#
        );
        // A sender cannot inject raw text through a string value.
        let sneaky = json!({"x": format!("{RAW_NUMBER}1,\"y\":2")});
        let out = render(&sneaky);
        assert!(serde_json::from_str::<Value>(&out).is_ok(), "{out}");
    }

    #[test]
    fn query_names_any_case_and_spaces() {
        let q = Query::parse(Some("userName=a&PASSWORD=b& fullConsumerCode =0044123"));
        assert_eq!(q.get("username"), Some("a"));
        assert_eq!(q.get("password"), Some("b"));
        assert_eq!(q.get("fullconsumercode"), Some("0044123"));
        assert_eq!(q.get("cpayId"), None);
    }

    #[test]
    fn csv_orders_lists() {
        let r = parse_csv_orders("89063-3,450|", Mark::Refund).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, "89063-3");
        assert_eq!(r[0].1.map(|a| a.to_wire()), Some("450".into()));
        assert_eq!(
            parse_csv_orders("HR-100178,450|KV-1011,450", Mark::Refund)
                .unwrap()
                .len(),
            2
        );
        assert!(parse_csv_orders("HR-1", Mark::Refund).is_err());
        assert!(parse_csv_orders("HR-1,abc", Mark::Refund).is_err());
        assert!(parse_csv_orders("HR-1,0", Mark::Refund).is_err());
        let p = parse_csv_orders(" Cpay-10942, CPay-1011,", Mark::Paid).unwrap();
        assert_eq!(
            p.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["Cpay-10942", "CPay-1011"]
        );
    }
}
