//! The twelve `/cpay/` endpoints and the `/__sim/` inspection endpoints.
//!
//! Every API-level answer is HTTP 200 with a JSON array (as the real service does);
//! only faults, a wrong HTTP method (405) and a failing state file produce other HTTP
//! statuses. Answers are written with serde (numbers in the guide's exact shapes as
//! `RawValue`s), in one of two shapes: each batch item with its own `Status`, or the
//! guide's (`--guide-responses`; README, "The simulator").

use super::clock::SimClock;
use super::config::{BatchMode, Merchant, Service};
use super::faults::{FaultConfig, Faults};
use super::server::{ConnKill, drop_connection, fault_layer};
use super::state::{OrderStatus, Store, StoredConsumer, StoredOrder};
use super::validate::{
    self, CREATE_PASSWORD_KEYS, CredError, authenticate, consumer_id_of, field, order_number_of,
    parse_date, text, validate_consumer, validate_order,
};
use crate::domain::Money;
use crate::domain::rules::{BATCH_MAX, MERCHANT_ID_MAX};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, NaiveDateTime};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Order numbers starting with this get status 02 (service failure) and are not
/// stored. Orders only: on the consumer endpoints 02 means "not authorised", and the
/// reference gives them no service-failure code.
pub const SIMFAIL_PREFIX: &str = "SIMFAIL02";

/// Order numbers starting with this are stored like any other, but their item in the
/// answer carries only `OrderNumber`: no status, id or description, so a client cannot
/// tell whether the order was created (how a test meets "nothing to go on").
pub const SIMSILENT_PREFIX: &str = "SIMSILENT";

/// A create request that stores an order whose number starts with this loses its
/// answer: the order is stored, then the connection is dropped (a lost response, as
/// `--drop-after-rate` makes at random). Sent again, the order already exists, so the
/// answer comes. Lets a test lose exactly the answers it means to, whatever the order
/// in which a client's requests arrive.
pub const SIMLOST_PREFIX: &str = "SIMLOST";

use super::config::USERNAME_MAX as QUERY_ID_MAX;

/// Characters in the whole `csvOrders` parameter of a mark call (the guide's 4000).
/// Kept apart from the client's own limit, so a client bug is not mirrored here.
pub const CSV_ORDERS_MAX: usize = 4000;

pub struct AppState {
    /// Behind a lock so that `POST /__sim/credentials` can change a password while
    /// the simulator runs (the "credentials revoked mid-run" case).
    merchants: RwLock<Vec<Merchant>>,
    pub batch_mode: BatchMode,
    /// Batch answers exactly in the guide's shape: no per-item `Status`, element 0 with
    /// the envelope code only, items with only the keys the guide's samples show.
    pub guide_responses: bool,
    pub store: Mutex<Store>,
    pub faults: Faults,
    /// Picks orders for `/__sim/pay` `Fraction`; separate from the fault stream so
    /// paying does not shift which requests meet faults.
    pub pay_rng: Mutex<ChaCha8Rng>,
    pub base_url: String,
    /// Creation times, expiry and "today" for `DatePaid`.
    pub clock: SimClock,
    /// Every mark call that reached its handler, in arrival order (`/__sim/mark-calls`):
    /// what a test checks the packing of `csvOrders` against, as the server counts it.
    pub mark_calls: Mutex<Vec<MarkCall>>,
}

/// One `moap` / `moab` / `mofr` call as the simulator received it.
#[derive(Debug, Clone, Serialize)]
pub struct MarkCall {
    #[serde(rename = "Endpoint")]
    pub endpoint: &'static str,
    /// Length of the whole `csvOrders` parameter as received, in UTF-16 units (.NET's
    /// count), credentials included.
    #[serde(rename = "Characters")]
    pub characters: usize,
    /// Entries of `CsvOrderNumbers` (0 when the call was refused before reading them).
    #[serde(rename = "Orders")]
    pub orders: usize,
    /// Element 0's status of the answer.
    #[serde(rename = "Status")]
    pub status: String,
}

impl AppState {
    /// The state for `config` (its `merchants` already replaced by `merchants`, the
    /// demo merchant when it named none).
    pub fn new(
        config: super::SimConfig,
        merchants: Vec<Merchant>,
        store: Store,
        base_url: String,
    ) -> AppState {
        AppState {
            merchants: RwLock::new(merchants),
            batch_mode: config.batch_mode,
            guide_responses: config.guide_responses,
            store: Mutex::new(store),
            faults: Faults::new(config.faults, config.seed),
            pay_rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed ^ 0x5041_5950_524f)),
            base_url,
            clock: SimClock::new(config.clock),
            mark_calls: Mutex::new(Vec::new()),
        }
    }

    fn note_mark_call(&self, call: MarkCall) {
        match self.mark_calls.lock() {
            Ok(mut g) => g.push(call),
            Err(poisoned) => poisoned.into_inner().push(call),
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
        store.expire_due(self.clock.now());
        store
    }
}

type St = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    // Each endpoint answers only the guide's method; any other gets 405 with an
    // `Allow` header (axum's method router writes both).
    let cpay = Router::new()
        .route("/co", post(co))
        .route("/cmo", post(cmo))
        .route("/gpojson", get(gpojson))
        .route("/moap", get(moap))
        .route("/moab", get(moab))
        .route("/mofr", get(mofr))
        .route("/gos", get(gos))
        .route("/cc", post(cc))
        .route("/cmc", post(cmc))
        .route("/uc", post(uc))
        .route("/umc", post(umc))
        .route("/gcd", get(gcd))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fault_layer,
        ));
    let inspect = Router::new()
        .route("/orders", get(sim_orders))
        .route("/consumers", get(sim_consumers))
        .route("/pay", post(sim_pay))
        .route("/mark-calls", get(sim_mark_calls))
        .route("/faults", get(sim_get_faults).post(sim_set_faults))
        .route("/credentials", post(sim_set_credentials))
        .route("/clock", get(sim_get_clock).post(sim_advance_clock));
    Router::new()
        .nest("/cpay", cpay)
        .nest("/__sim", inspect)
        .with_state(state)
}

// ---------------------------------------------------------------------------------
// Answers

/// `amount` as a JSON number with exactly `scale` decimals (`0.0000`), or with none
/// when `scale` is 0 and the amount is whole (`45050`), as the guide's samples write
/// them. A `Value` would normalise the number (`0.0`), so it travels as a `RawValue`:
/// serde_json writes it verbatim.
fn number(amount: Money, scale: u32) -> Box<RawValue> {
    let mut d = amount.value();
    let text = if scale == 0 && d.fract().is_zero() {
        d.trunc().to_string()
    } else {
        d.rescale(scale.max(2));
        d.to_string()
    };
    // A Decimal's text is always a JSON number; should it ever not be, the amount
    // still travels, as a string.
    RawValue::from_string(text).unwrap_or_else(|e| raw_text(&e.to_string()))
}

/// A JSON string as a `RawValue`, for fields that mix numbers and strings.
fn raw_text(text: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn json_answer(v: impl Serialize) -> Response {
    match serde_json::to_string(&v) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("simulator could not render its answer: {e}"),
        )
            .into_response(),
    }
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

/// The answer for one item: its status and its answer object (with its own `Status`).
struct ItemAnswer {
    status: &'static str,
    body: Value,
    /// The keys the guide's samples show for this kind of answer: all that is kept of
    /// `body` under `--guide-responses`.
    guide_keys: &'static [&'static str],
}

impl ItemAnswer {
    fn new(status: &'static str, body: Value, guide_keys: &'static [&'static str]) -> ItemAnswer {
        ItemAnswer {
            status,
            body,
            guide_keys,
        }
    }

    /// The object as written in the chosen answer shape.
    fn render(self, guide: bool) -> Value {
        match self.body {
            Value::Object(mut m) if guide => {
                m.retain(|k, _| self.guide_keys.contains(&k.as_str()));
                Value::Object(m)
            }
            other => other,
        }
    }
}

/// A refused item: its key and the reason (connectpay-api.md §2: "each with
/// `OrderNumber` and `Description`"; consumers likewise with `ConsumerID`).
fn item_failure(
    status: &'static str,
    description: &str,
    key: &'static str,
    key_value: &str,
) -> ItemAnswer {
    let mut m = Map::new();
    m.insert("Status".into(), json!(status));
    m.insert("Description".into(), json!(description));
    m.insert(key.into(), json!(key_value));
    let guide_keys: &'static [&'static str] = if key == "OrderNumber" {
        &["OrderNumber", "Description"]
    } else {
        &["ConsumerID", "Description"]
    };
    ItemAnswer::new(status, Value::Object(m), guide_keys)
}

/// Element 0 of a batch answer. The guide's samples carry only `Status` there.
fn batch_head(status: &str, description: &str, guide: bool) -> Value {
    if guide {
        json!({ "Status": status })
    } else {
        envelope(status, description)
    }
}

fn batch_answer(items: Vec<ItemAnswer>, noun: &str, guide: bool) -> Response {
    let failed: Vec<&ItemAnswer> = items.iter().filter(|i| i.status != "00").collect();
    let head = match failed.first() {
        None => batch_head("00", "Success", guide),
        Some(first) if items.len() == 1 => {
            let desc = first.body["Description"].as_str().unwrap_or_default();
            batch_head(first.status, desc, guide)
        }
        Some(first) => batch_head(
            first.status,
            &format!(
                "{} of {} {noun} failed; see each item's Status",
                failed.len(),
                items.len()
            ),
            guide,
        ),
    };
    let mut out = vec![head];
    out.extend(items.into_iter().map(|i| i.render(guide)));
    json_answer(Value::Array(out))
}

/// All-or-nothing refusal (connectpay-api.md §2): only the offending items are listed.
/// Element 0 carries the family's invalid-data code if any item is invalid, else the
/// first offender's code.
fn atomic_refusal(
    offending: Vec<ItemAnswer>,
    total: usize,
    invalid_code: &str,
    noun: &str,
    guide: bool,
) -> Response {
    let status = if offending.iter().any(|i| i.status == invalid_code) {
        invalid_code
    } else {
        offending.first().map_or(invalid_code, |i| i.status)
    };
    let head = batch_head(
        status,
        &format!(
            "Batch rejected, nothing created: {} of {total} {noun} refused",
            offending.len()
        ),
        guide,
    );
    let mut out = vec![head];
    out.extend(offending.into_iter().map(|i| i.render(guide)));
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
            bad_format,
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
    let kill = req.extensions().get::<ConnKill>().cloned();
    let text = payload(&query, req).await;
    lose_answer_if_asked(&st, &text, kill, Service::Co).await
}

async fn cmo(State(st): St, RawQuery(q): RawQuery, req: Request) -> Response {
    let query = Query::parse(q.as_deref());
    let kill = req.extensions().get::<ConnKill>().cloned();
    let text = payload(&query, req).await;
    lose_answer_if_asked(&st, &text, kill, Service::Cmo).await
}

/// [`create_orders`], then the connection dropped when the request stored an order
/// named with [`SIMLOST_PREFIX`].
async fn lose_answer_if_asked(
    st: &AppState,
    text: &Result<String, String>,
    kill: Option<ConnKill>,
    service: Service,
) -> Response {
    let answer = create_orders(st, text.clone(), service);
    if stored_lost_order(st, text) {
        return drop_connection(kill).await;
    }
    answer
}

/// Whether an order named with [`SIMLOST_PREFIX`] in the request is stored now and was
/// created by it (its only create request so far).
fn stored_lost_order(st: &AppState, text: &Result<String, String>) -> bool {
    let Ok(text) = text else { return false };
    if !text.contains(SIMLOST_PREFIX) {
        return false;
    }
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let store = st.store();
    items.iter().skip(1).filter_map(order_number_of).any(|n| {
        n.starts_with(SIMLOST_PREFIX)
            && store
                .orders()
                .iter()
                .any(|o| o.order_number == n && o.create_requests == 1)
    })
}

/// The keys of the guide's created-order sample (§1-2).
const ORDER_CREATED_KEYS: &[&str] = &[
    "Description",
    "OrderAmount",
    "ConnectPayFee",
    "ConnectPayId",
    "OrderNumber",
    "IsFeeApplied",
];

/// A created order as the service answers it; beyond the guide's keys, fields real
/// integrations show (`PayProId`, `BillUrl`, ...), which decoding must ignore.
fn created_order(o: &StoredOrder) -> ItemAnswer {
    if o.order_number.starts_with(SIMSILENT_PREFIX) {
        // Stored, but the answer says nothing about its fate.
        return ItemAnswer::new(
            "00",
            json!({ "OrderNumber": o.order_number }),
            &["OrderNumber"],
        );
    }
    let id = &o.connectpay_id;
    let body = json!({
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
    });
    ItemAnswer::new("00", body, ORDER_CREATED_KEYS)
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
    let now = st.clock.now();
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
        st,
        &mut store,
        &items,
        ("orders", "03"),
        |store, item| {
            let v = judge_order(store, merchant, item, &seen)?;
            seen.insert(v.order_number.clone());
            Ok(v)
        },
        |store, v| created_order(store.insert_order(merchant, v, now)),
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

fn created_consumer(c: &StoredConsumer, single: bool) -> ItemAnswer {
    let body = json!({
        "Status": "00",
        "FullConsumerCode": c.full_code(),
        "Description": format!("Consumer number {} created successfully", c.consumer_id),
        "ConsumerNumber": consumer_number(c, single),
        "ConsumerID": c.consumer_id,
    });
    // The guide's cc/cmc samples (§8-9).
    ItemAnswer::new(
        "00",
        body,
        &["FullConsumerCode", "Description", "ConsumerNumber"],
    )
}

fn judge_new_consumer(
    store: &Store,
    merchant: &Merchant,
    item: &Value,
    seen: &HashSet<String>,
) -> Result<validate::ConsumerFields, ItemAnswer> {
    let id = consumer_id_of(item).unwrap_or_default();
    // Consumers: 01 is "already exists / invalid format" (connectpay-api.md §8-9).
    let f = validate_consumer(item, true).map_err(|d| item_failure("01", &d, "ConsumerID", &id))?;
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
    let now = st.clock.now();
    let mut seen = HashSet::new();
    run_batch(
        st,
        &mut store,
        &items,
        ("consumers", "01"),
        |store, item| {
            let f = judge_new_consumer(store, merchant, item, &seen)?;
            seen.insert(f.consumer_id.clone());
            Ok(f)
        },
        |store, f| created_consumer(store.insert_consumer(merchant, f, now), single),
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
        validate_consumer(item, false).map_err(|d| item_failure("01", &d, "ConsumerID", &sent))?;
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

fn updated_consumer(c: &StoredConsumer) -> ItemAnswer {
    let full = c.full_code();
    let body = json!({
        "Status": "00",
        "Description": format!("ConsumerID {full} updated successfully"),
        "ConsumerID": full,
    });
    // The guide's uc/umc samples (§10-11).
    ItemAnswer::new("00", body, &["Description", "ConsumerID"])
}

fn update_consumers(st: &AppState, text: Result<String, String>, service: Service) -> Response {
    let (merchant, items) = match open_create(st, text, service) {
        Ok(x) => x,
        Err(refusal) => return refusal.answer(),
    };
    let merchant = &merchant;
    let mut store = st.store();
    run_batch(
        st,
        &mut store,
        &items,
        ("consumers", "01"),
        |store, item| judge_update(store, merchant, item),
        |store, (short, f)| match store.update_consumer(&merchant.id, &short, f) {
            Some(c) => updated_consumer(c),
            None => item_failure("03", "No data available", "ConsumerID", &short),
        },
    )
}

/// The batch flow of the create and update endpoints (connectpay-api.md §2). Per item:
/// each item is judged and, if valid, applied before the next is judged (so `judge`
/// sees the earlier items' effects), and the answer lists every item. Atomic: every
/// item is judged first, and only if none is refused are they all applied; otherwise
/// the answer lists just the refused items and none is applied. The store is committed
/// either way, so that what the caller noted before (create-request counts) is kept.
/// `family` is the noun for descriptions and the family's invalid-data code.
fn run_batch<V>(
    st: &AppState,
    store: &mut Store,
    items: &[Value],
    family: (&str, &str),
    mut judge: impl FnMut(&Store, &Value) -> Result<V, ItemAnswer>,
    mut apply: impl FnMut(&mut Store, V) -> ItemAnswer,
) -> Response {
    let (noun, invalid_code) = family;
    let guide = st.guide_responses;
    let answer = match st.batch_mode {
        BatchMode::PerItem => {
            let answers = items
                .iter()
                .map(|item| match judge(store, item) {
                    Ok(v) => apply(store, v),
                    Err(a) => a,
                })
                .collect();
            batch_answer(answers, noun, guide)
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
                batch_answer(answers, noun, guide)
            } else {
                atomic_refusal(offending, items.len(), invalid_code, noun, guide)
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
    let mut out = vec![ReportElement::Head(envelope("00", "Success"))];
    for (i, o) in paid.iter().enumerate() {
        // The guide's sample mixes numbers and strings for the same keys.
        let (amount, amount_paid) = match i % 3 {
            0 => (number(o.amount, 0), number(o.amount_paid, 0)),
            1 => (
                raw_text(&o.amount.to_wire()),
                raw_text(&o.amount_paid.to_wire()),
            ),
            _ => (raw_text(&o.amount.to_wire()), number(o.amount_paid, 0)),
        };
        out.push(ReportElement::Row(PaidRow {
            order_number: &o.order_number,
            customer_email: &o.customer_email,
            issue_date: wire_date(o.issue_date),
            customer_mobile: &o.customer_mobile,
            order_amount: amount,
            date_created: wire_timestamp(o.created_at),
            order_due_date: wire_date(o.due_date),
            customer_address: &o.customer_address,
            date_paid: o.date_paid.map(wire_date),
            connectpay_id: &o.connectpay_id,
            amount_paid,
        }));
    }
    json_answer(out)
}

/// Element 0 or a row of the paid-orders report.
#[derive(Serialize)]
#[serde(untagged)]
enum ReportElement<'a> {
    Head(Value),
    Row(PaidRow<'a>),
}

/// One row of the paid-orders report, keys in the guide's order.
#[derive(Serialize)]
struct PaidRow<'a> {
    #[serde(rename = "Order Number")]
    order_number: &'a str,
    #[serde(rename = "Customer Email")]
    customer_email: &'a str,
    #[serde(rename = "Issue Date")]
    issue_date: String,
    #[serde(rename = "Customer Mobile")]
    customer_mobile: &'a str,
    #[serde(rename = "Order Amount")]
    order_amount: Box<RawValue>,
    #[serde(rename = "Date Created")]
    date_created: String,
    #[serde(rename = "Order Due Date")]
    order_due_date: String,
    #[serde(rename = "Customer Address")]
    customer_address: &'a str,
    #[serde(rename = "Date Paid")]
    date_paid: Option<String>,
    #[serde(rename = "ConnectPay Id")]
    connectpay_id: &'a str,
    #[serde(rename = "Amount Paid")]
    amount_paid: Box<RawValue>,
}

/// The order object of a `gos` answer.
#[derive(Serialize)]
struct OrderStatusItem<'a> {
    #[serde(rename = "OrderStatus")]
    order_status: &'static str,
    #[serde(rename = "OrderAmountPaid")]
    order_amount_paid: Box<RawValue>,
    #[serde(rename = "DatePaid")]
    date_paid: Option<String>,
    #[serde(rename = "OrderNumber")]
    order_number: &'a str,
    #[serde(rename = "ConnectPayId")]
    connectpay_id: &'a str,
    #[serde(rename = "OrderAmount")]
    order_amount: String,
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
    // A tuple is written as a JSON array: `[element 0, the order]`.
    json_answer((
        envelope("00", "Success"),
        OrderStatusItem {
            order_status: o.status.as_str(),
            order_amount_paid: number(o.amount_paid, 4),
            date_paid: o.date_paid.map(wire_date),
            order_number: &o.order_number,
            connectpay_id: &o.connectpay_id,
            order_amount: o.amount.to_wire(),
        },
    ))
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
    noted_mark(&st, q.as_deref(), Mark::Paid).await
}

async fn moab(State(st): St, RawQuery(q): RawQuery) -> Response {
    noted_mark(&st, q.as_deref(), Mark::Blocked).await
}

async fn mofr(State(st): St, RawQuery(q): RawQuery) -> Response {
    noted_mark(&st, q.as_deref(), Mark::Refund).await
}

/// A mark call, answered and noted in `/__sim/mark-calls` (what it carried, as
/// received, and the status it was answered with).
async fn noted_mark(st: &AppState, raw_query: Option<&str>, kind: Mark) -> Response {
    let response = mark(st, raw_query, kind);
    let query = Query::parse(raw_query);
    let csv_orders = query.get("csvOrders").unwrap_or_default();
    let orders = serde_json::from_str::<Value>(csv_orders.trim())
        .ok()
        .and_then(|v| v.get("CsvOrderNumbers").and_then(text))
        .and_then(|csv| parse_csv_orders(&csv, kind).ok())
        .map_or(0, |e| e.len());
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let status = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get(0)?.get("Status")?.as_str().map(str::to_string))
        .unwrap_or_default();
    st.note_mark_call(MarkCall {
        endpoint: match kind {
            Mark::Paid => "moap",
            Mark::Blocked => "moab",
            Mark::Refund => "mofr",
        },
        characters: csv_orders.encode_utf16().count(),
        orders,
        status,
    });
    Response::from_parts(parts, axum::body::Body::from(bytes))
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

fn mark_failure(number: &str, status: &str, cpay_id: &str, description: &str) -> ItemAnswer {
    let body = json!({
        "OrderNumber": number,
        "OrderStatus": status,
        "ConnectPayId": cpay_id,
        "Description": description,
    });
    // The guide's failure sample (§4-6) lists the three state fields only.
    ItemAnswer::new("01", body, &["OrderNumber", "OrderStatus", "ConnectPayId"])
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
    // The guide gives the parameter a length of 4000; the whole object counts,
    // credentials included (connectpay-api.md §4-6), as a .NET string: UTF-16 units.
    let length = csv_orders.encode_utf16().count();
    if length > CSV_ORDERS_MAX {
        return whole(
            "01",
            &format!(
                "Invalid Data. csvOrders is {length} characters; at most {CSV_ORDERS_MAX} are allowed"
            ),
        );
    }
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
    let today = st.clock.now().date();
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
    let guide = st.guide_responses;
    if failures.is_empty() {
        return json_answer(json!([batch_head("00", "Success", guide)]));
    }
    let head = if not_found == entries.len() {
        envelope("03", "No data available")
    } else {
        batch_head(
            "01",
            &format!(
                "Error in updating record: {} of {} orders could not be updated",
                failures.len(),
                entries.len()
            ),
            guide,
        )
    };
    let mut out = vec![head];
    out.extend(failures.into_iter().map(|f| f.render(guide)));
    json_answer(Value::Array(out))
}

// ---------------------------------------------------------------------------------
// /__sim/ inspection

/// Every stored order: each field it was created with, under the guide's request names
/// (amounts as decimal strings, dates as `YYYY-MM-DD`), beside its state, so that a test
/// can compare what the server holds with what the sheet meant.
/// Every mark call received so far, in order (see [`MarkCall`]).
async fn sim_mark_calls(State(st): St) -> Response {
    let calls = match st.mark_calls.lock() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    json_answer(calls)
}

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

/// The fault settings, plus the answer settings fixed at start-up (`batch_mode`,
/// `guide_responses`), so a script can see what it is talking to.
fn settings_answer(st: &AppState) -> Response {
    let mut v = json!(st.faults.config());
    if let Value::Object(m) = &mut v {
        m.insert("batch_mode".into(), json!(st.batch_mode.to_string()));
        m.insert("guide_responses".into(), json!(st.guide_responses));
    }
    json_answer(v)
}

async fn sim_get_faults(State(st): St) -> Response {
    settings_answer(&st)
}

/// Replaces the fault configuration (fields of [`FaultConfig`]; missing ones are 0).
/// `batch_mode` and `guide_responses` may be sent back as read (what GET answered) but
/// not changed: they are chosen when the simulator starts.
async fn sim_set_faults(State(st): St, body: Bytes) -> Response {
    let Ok(Value::Object(mut req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("not a fault configuration: expected a JSON object");
    };
    let fixed = [
        ("batch_mode", json!(st.batch_mode.to_string())),
        ("guide_responses", json!(st.guide_responses)),
    ];
    for (key, current) in fixed {
        if let Some(sent) = req.remove(key)
            && sent != current
        {
            return bad_request(&format!(
                "{key} is chosen when the simulator starts and cannot be changed (it is {current})"
            ));
        }
    }
    let config = match serde_json::from_value::<FaultConfig>(Value::Object(req)) {
        Ok(c) => c,
        Err(e) => return bad_request(&format!("not a fault configuration: {e}")),
    };
    match st.faults.set_config(config) {
        Ok(()) => settings_answer(&st),
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

fn clock_answer(st: &AppState) -> Response {
    let offset = st.clock.offset();
    json_answer(json!({
        "Now": wire_timestamp(st.clock.now()),
        "OffsetSeconds": offset.num_milliseconds() as f64 / 1000.0,
    }))
}

/// `{"Now": "...", "OffsetSeconds": n}`: the simulator's time and how far it was moved.
async fn sim_get_clock(State(st): St) -> Response {
    clock_answer(&st)
}

/// `{"AdvanceSeconds": 90}` moves the simulator's time forward (fractions allowed):
/// orders whose `OrderExpireAfterSeconds` have passed are blocked at the next request,
/// and "today" for `DatePaid` follows. Time never moves back.
async fn sim_advance_clock(State(st): St, body: Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("expected a JSON object with AdvanceSeconds");
    };
    let Some(secs) = req.get("AdvanceSeconds").and_then(Value::as_f64) else {
        return bad_request("AdvanceSeconds must be a number of seconds");
    };
    let millis = (secs * 1000.0).round();
    if !millis.is_finite() || millis < 0.0 || millis > i64::MAX as f64 {
        return bad_request("AdvanceSeconds must be a number of seconds, 0 or more");
    }
    let Some(by) = chrono::TimeDelta::try_milliseconds(millis as i64) else {
        return bad_request("AdvanceSeconds is too large");
    };
    match st.clock.advance(by) {
        Ok(_) => clock_answer(&st),
        Err(e) => bad_request(&e.to_string()),
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
        None => st.clock.now().date(),
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
    fn numbers_are_written_in_the_guides_shapes() {
        let m = |s: &str| s.parse::<Money>().unwrap();
        let row = (
            json!({"Status": "00"}),
            json!({"d": "plain"}),
            [
                number(m("0"), 4),
                number(m("45050"), 0),
                number(m("10.5"), 0),
                number(m("45055.5"), 0),
                raw_text("45054"),
            ],
        );
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"[{"Status":"00"},{"d":"plain"},[0.0000,45050,10.50,45055.50,"45054"]]"#
        );
        // Text is never spliced in: a string stays a string, however it looks.
        assert_eq!(raw_text("1,\"y\":2").get(), r#""1,\"y\":2""#);
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
