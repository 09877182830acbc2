//! Response decoding: the typed results of every endpoint, the lenient readers for the
//! loosely typed values the API sends, one public `decode_*` function per response
//! shape, and the pairing of batch results with the items that were sent.
//!
//! Leniency is about *types* (numbers or strings, `"True"`, `null`, keys with spaces or
//! in another case, stray whitespace, unknown fields); the JSON *syntax* must be valid.
//! A value that is present but cannot be read where money is reported (`gpojson`) is a
//! decode error; in create responses, fields the caller does not need to decide an
//! item's fate (fee, amount, fee flag) are dropped to `None` instead, because failing a
//! create response that did create orders would make the caller treat them as lost.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::{ConsumerStatus, CreateStatus, MarkStatus, ReportStatus};
use crate::domain::money::strip_thousands;

/// Why a body could not be decoded, with the start of the body (unredacted: the client
/// replaces it with a redacted excerpt before it becomes an `ApiError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub reason: String,
    pub excerpt: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.excerpt)
    }
}

impl std::error::Error for DecodeError {}

const EXCERPT_CHARS: usize = 160;
/// Values longer than this are not quoted in decode reasons.
const QUOTE_MAX: usize = 64;

/// The start of `text` on one line, for error messages. Redact before calling it: a cut
/// could otherwise leave half a password that redaction no longer recognises.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut last_space = false;
    let mut count = 0;
    for c in text.trim().chars() {
        if count >= EXCERPT_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

fn fail(body: &str, reason: impl Into<String>) -> DecodeError {
    DecodeError {
        reason: reason.into(),
        excerpt: excerpt(body),
    }
}

fn quote(value: &Value) -> String {
    let s = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() <= QUOTE_MAX {
        format!(" '{s}'")
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------------
// Lenient scalar readers
// ---------------------------------------------------------------------------------

/// Reads an amount: `45050`, `"45054"`, `0.0000`, `" 12.5 "`, `"4,400"` (thousands
/// separators only in groups of three). `None` for anything else.
pub fn parse_decimal(raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned;
    let t = if t.contains(',') {
        cleaned = strip_thousands(t)?;
        cleaned.as_str()
    } else {
        t
    };
    Decimal::from_str(t)
        .ok()
        .or_else(|| Decimal::from_scientific(t).ok())
}

/// Reads a timestamp as the API writes them: `2018-12-27T15:04:25.923` with 0–9
/// fraction digits or none, a space instead of `T`, an RFC 3339 offset (dropped: the API
/// works in local time), or a plain date (`2018-12-27`, `27/12/2018`, `2018/12/27`) at
/// midnight.
pub fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%d/%m/%Y %H:%M:%S%.f",
    ] {
        if let Ok(ts) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(ts);
        }
    }
    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(ts.naive_local());
    }
    for fmt in ["%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// Reads a flag: `true`/`false` in any case, `1`/`0`, `yes`/`no`.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// A field of one response object, read leniently.
struct Field<'a> {
    name: &'static str,
    value: Option<&'a Value>,
}

impl Field<'_> {
    /// Trimmed text; numbers and booleans become their JSON text; null or blank is
    /// `None`. Arrays and objects are an error.
    fn text(&self) -> Result<Option<String>, String> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                Ok((!t.is_empty()).then(|| t.to_string()))
            }
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(format!("'{}' is not a text value{}", self.name, quote(v))),
        }
    }

    fn decimal(&self) -> Result<Option<Decimal>, String> {
        let Some(v) = self.value else { return Ok(None) };
        let raw = match v {
            Value::Null => return Ok(None),
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("'{}' is not an amount{}", self.name, quote(other))),
        };
        parse_decimal(&raw)
            .map(Some)
            .ok_or_else(|| format!("'{}' is not an amount{}", self.name, quote(v)))
    }

    fn boolean(&self) -> Result<Option<bool>, String> {
        let Some(v) = self.value else { return Ok(None) };
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_bool(s)
                .map(Some)
                .ok_or_else(|| format!("'{}' is not a flag{}", self.name, quote(v))),
            Value::Number(n) => parse_bool(&n.to_string())
                .map(Some)
                .ok_or_else(|| format!("'{}' is not a flag{}", self.name, quote(v))),
            other => Err(format!("'{}' is not a flag{}", self.name, quote(other))),
        }
    }

    fn timestamp(&self) -> Result<Option<NaiveDateTime>, String> {
        match self.text()? {
            None => Ok(None),
            Some(t) => parse_timestamp(&t).map(Some).ok_or_else(|| {
                format!(
                    "'{}' is not a date{}",
                    self.name,
                    quote(&Value::String(t.clone()))
                )
            }),
        }
    }
}

/// Key comparison that ignores case, spaces, underscores and hyphens, so `Order Number`,
/// `OrderNumber` and `orderNumber` are one field.
fn key_norm(k: &str) -> String {
    k.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    fn field(&self, name: &'static str) -> Field<'a> {
        let value = self.0.get(name).or_else(|| {
            let want = key_norm(name);
            self.0
                .iter()
                .find(|(k, _)| key_norm(k) == want)
                .map(|(_, v)| v)
        });
        Field { name, value }
    }

    fn has(&self, name: &'static str) -> bool {
        self.field(name).value.is_some()
    }
}

// ---------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------

/// A decoded body: element 0's status and description, then the item objects.
struct Parsed {
    status: String,
    description: Option<String>,
    items: Vec<Map<String, Value>>,
}

fn parse_envelope(body: &str) -> Result<Parsed, DecodeError> {
    let text = body.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(fail(body, "empty body"));
    }
    if text.starts_with('<') {
        return Err(fail(body, "an HTML or XML page instead of JSON"));
    }
    let mut value: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            fail(body, format!("truncated JSON ({e})"))
        } else {
            fail(body, format!("not valid JSON ({e})"))
        }
    })?;
    // Some .NET services serialise twice: the array arrives as a JSON string.
    if let Value::String(inner) = &value {
        value = serde_json::from_str(inner.trim())
            .map_err(|e| fail(body, format!("a JSON string that is not JSON inside ({e})")))?;
    }
    let elements = match value {
        Value::Array(v) => v,
        Value::Object(o) => vec![Value::Object(o)],
        _ => return Err(fail(body, "expected a JSON array")),
    };
    let mut iter = elements.into_iter();
    let Some(Value::Object(head)) = iter.next() else {
        return Err(fail(body, "element 0 is missing or not an object"));
    };
    let head_obj = Obj(&head);
    let status = head_obj
        .field("Status")
        .text()
        .map_err(|r| fail(body, r))?
        .ok_or_else(|| fail(body, "element 0 has no Status"))?;
    let description = head_obj
        .field("Description")
        .text()
        .map_err(|r| fail(body, r))?;
    let mut items = Vec::new();
    for (i, el) in iter.enumerate() {
        match el {
            Value::Object(o) => items.push(o),
            _ => return Err(fail(body, format!("element {} is not an object", i + 1))),
        }
    }
    Ok(Parsed {
        status,
        description,
        items,
    })
}

// ---------------------------------------------------------------------------------
// co / cmo
// ---------------------------------------------------------------------------------

/// What one batch item says about its own fate (connectpay-api.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemStatus<S> {
    /// The item's own `Status` field.
    Stated(S),
    /// No `Status` field; read from the item's own content: the created-proof field
    /// (`ConnectPayId`, `FullConsumerCode`) means created; a description says "already
    /// exist", "not authorised", "service fail", "success", "no data" or names an error
    /// (see [`ERROR_WORDS`]). Element 0's code is never used.
    Inferred(S),
    /// No `Status` field and nothing in the item to decide by (no created-proof, no
    /// description, or one that names nothing): the item may or may not have been
    /// created. A caller treats it as maybe sent: sent again, a `01` then means "exists,
    /// id unknown", never a second order.
    Unknown,
}

impl<S> ItemStatus<S> {
    /// The status, stated or inferred; `None` when unknown.
    pub fn known(&self) -> Option<&S> {
        match self {
            ItemStatus::Stated(s) | ItemStatus::Inferred(s) => Some(s),
            ItemStatus::Unknown => None,
        }
    }

    /// True when the item carried its own `Status`.
    pub fn is_stated(&self) -> bool {
        matches!(self, ItemStatus::Stated(_))
    }
}

/// One order's result in a `co`/`cmo` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItemResult {
    pub status: ItemStatus<CreateStatus>,
    pub description: Option<String>,
    pub order_number: Option<String>,
    pub connectpay_id: Option<String>,
    pub connectpay_fee: Option<Decimal>,
    pub order_amount: Option<Decimal>,
    pub is_fee_applied: Option<bool>,
}

/// A decoded `co`/`cmo` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrdersResponse {
    pub status: CreateStatus,
    pub description: Option<String>,
    pub items: Vec<OrderItemResult>,
}

impl CreateOrdersResponse {
    /// For each order sent, its result (see [`pair_items`]).
    pub fn pair<'a>(&'a self, sent: &[crate::domain::Order]) -> Vec<Option<&'a OrderItemResult>> {
        let keys: Vec<&str> = sent.iter().map(|o| o.order_number.as_str()).collect();
        pair_items(&keys, &self.items)
    }
}

/// Decodes the response of `co` and `cmo`.
pub fn decode_create_response(body: &str) -> Result<CreateOrdersResponse, DecodeError> {
    let rule = ItemStatusRule {
        from_code: CreateStatus::from_code,
        created_by: "ConnectPayId",
        created: CreateStatus::Created,
        already_exists: CreateStatus::AlreadyExists,
        not_authorised: CreateStatus::NotAuthorised,
        service_failure: Some(CreateStatus::ServiceFailure),
        no_data: CreateStatus::InvalidData,
        invalid: CreateStatus::InvalidData,
        key_fields: &["OrderNumber"],
    };
    let batch = decode_batch(body, rule, |o, head| {
        Ok(OrderItemResult {
            status: head.status,
            order_number: o.field("OrderNumber").text()?,
            description: head.description,
            connectpay_id: head.created_key,
            connectpay_fee: o.field("ConnectPayFee").decimal().ok().flatten(),
            order_amount: o.field("OrderAmount").decimal().ok().flatten(),
            is_fee_applied: o.field("IsFeeApplied").boolean().ok().flatten(),
        })
    })?;
    Ok(CreateOrdersResponse {
        status: batch.status,
        description: batch.description,
        items: batch.items,
    })
}

// ---------------------------------------------------------------------------------
// cc / cmc / uc / umc
// ---------------------------------------------------------------------------------

/// One consumer's result in a `cc`/`cmc`/`uc`/`umc` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerItemResult {
    /// Own `Status`, or inferred from the item ([`ItemStatus`]): `FullConsumerCode` or
    /// "successfully" => 00, "already exist" or an error => 01, "no data" => 03.
    pub status: ItemStatus<ConsumerStatus>,
    pub description: Option<String>,
    /// `ConsumerID` as echoed (the full code for updates).
    pub consumer_id: Option<String>,
    pub full_consumer_code: Option<String>,
    /// Kept as text: it may arrive as a JSON number.
    pub consumer_number: Option<String>,
}

/// A decoded consumer create/update response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumersResponse {
    pub status: ConsumerStatus,
    pub description: Option<String>,
    pub items: Vec<ConsumerItemResult>,
}

impl ConsumersResponse {
    /// For each consumer sent (by its `consumer_id`), its result (see [`pair_items`]).
    pub fn pair_ids<'a>(&'a self, sent_ids: &[&str]) -> Vec<Option<&'a ConsumerItemResult>> {
        pair_items(sent_ids, &self.items)
    }

    /// For each consumer sent with `cc`/`cmc`, its result.
    pub fn pair_consumers<'a>(
        &'a self,
        sent: &[crate::domain::Consumer],
    ) -> Vec<Option<&'a ConsumerItemResult>> {
        let keys: Vec<&str> = sent.iter().map(|c| c.consumer_id.as_str()).collect();
        pair_items(&keys, &self.items)
    }

    /// For each update sent with `uc`/`umc`, its result.
    pub fn pair_updates<'a>(
        &'a self,
        sent: &[crate::domain::ConsumerUpdate],
    ) -> Vec<Option<&'a ConsumerItemResult>> {
        let keys: Vec<&str> = sent.iter().map(|u| u.consumer_id.as_str()).collect();
        pair_items(&keys, &self.items)
    }
}

/// Decodes the response of `cc`, `cmc`, `uc` and `umc`.
pub fn decode_consumer_response(body: &str) -> Result<ConsumersResponse, DecodeError> {
    let rule = ItemStatusRule {
        from_code: ConsumerStatus::from_code,
        created_by: "FullConsumerCode",
        created: ConsumerStatus::Ok,
        already_exists: ConsumerStatus::ExistsOrInvalid,
        not_authorised: ConsumerStatus::NotAuthorised,
        // The consumer endpoints have no service-failure code: their 02 is "Service
        // Failed. User is not Authorized", caught as not authorised above.
        service_failure: None,
        no_data: ConsumerStatus::NoData,
        invalid: ConsumerStatus::ExistsOrInvalid,
        key_fields: &["ConsumerID", "ConsumerNumber", "FullConsumerCode"],
    };
    let batch = decode_batch(body, rule, |o, head| {
        Ok(ConsumerItemResult {
            status: head.status,
            description: head.description,
            consumer_id: o.field("ConsumerID").text()?,
            full_consumer_code: head.created_key,
            consumer_number: o.field("ConsumerNumber").text()?,
        })
    })?;
    Ok(ConsumersResponse {
        status: batch.status,
        description: batch.description,
        items: batch.items,
    })
}

// ---------------------------------------------------------------------------------
// Batch items (shared by co/cmo and cc/cmc/uc/umc)
// ---------------------------------------------------------------------------------

/// How one batch family names its item statuses, so that the reading of items
/// without a `Status` (connectpay-api.md §2) is written once for orders and consumers.
struct ItemStatusRule<S> {
    from_code: fn(&str) -> S,
    /// The item field whose presence proves the item was created (`ConnectPayId`,
    /// `FullConsumerCode`).
    created_by: &'static str,
    created: S,
    already_exists: S,
    not_authorised: S,
    /// `None` for a family without a service-failure code.
    service_failure: Option<S>,
    no_data: S,
    invalid: S,
    /// The item fields that name it (echoed in descriptions).
    key_fields: &'static [&'static str],
}

/// Words that make a description an error message (the guide's error descriptions:
/// "Invalid Data. ...", "Invalid Format", "Error in ...", "... is not provided",
/// "... out of limits"). A description with none of them, and none of the other
/// recognised phrases, decides nothing: the item is [`ItemStatus::Unknown`].
pub const ERROR_WORDS: &[&str] = &[
    "invalid",
    "error",
    "not provided",
    "missing",
    "limit",
    "not in valid format",
    "longer than",
    "cannot",
    "refused",
    "rejected",
];

impl<S: Clone> ItemStatusRule<S> {
    /// The status of an item that carries no `Status`, from its own content only.
    /// `keys` are the item's own key values (order number, consumer id), taken out of
    /// the description before reading it, so that an order named `INVALID-7` or
    /// `NO-DATA-1` cannot make its own success message read as an error.
    fn infer(
        &self,
        created_key: Option<&str>,
        description: Option<&str>,
        keys: &[String],
    ) -> ItemStatus<S> {
        if created_key.is_some() {
            return ItemStatus::Inferred(self.created.clone());
        }
        let Some(mut d) = description.map(str::to_lowercase) else {
            return ItemStatus::Unknown;
        };
        for key in keys {
            d = without_token(&d, &key.trim().to_lowercase());
        }
        let has = |w: &str| d.contains(w);
        let status = if has("already exist") {
            self.already_exists.clone()
        } else if has("not authori") {
            self.not_authorised.clone()
        } else if let Some(s) = self
            .service_failure
            .as_ref()
            .filter(|_| has("service fail"))
        {
            s.clone()
        } else if has("no data") || has("no record") || has("does not exist") {
            self.no_data.clone()
        } else if ERROR_WORDS.iter().any(|w| has(w)) {
            self.invalid.clone()
        } else if has("success") && !has("unsuccess") && !has("not success") {
            self.created.clone()
        } else {
            return ItemStatus::Unknown;
        };
        ItemStatus::Inferred(status)
    }
}

/// `text` with every occurrence of `token` that stands as a word of its own (no letter
/// or digit right before or after it) replaced by a space.
fn without_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(token) {
        let (before, after) = (&rest[..pos], &rest[pos + token.len()..]);
        out.push_str(before);
        let alone = !out.chars().next_back().is_some_and(char::is_alphanumeric)
            && !after.chars().next().is_some_and(char::is_alphanumeric);
        out.push_str(if alone { " " } else { token });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The parts of a batch item every family reads the same way.
struct ItemHead<S> {
    status: ItemStatus<S>,
    description: Option<String>,
    /// The value of the rule's `created_by` field.
    created_key: Option<String>,
}

/// A decoded batch body: element 0's status and description, then the built items.
struct Batch<S, T> {
    status: S,
    description: Option<String>,
    items: Vec<T>,
}

/// Decodes a batch body: reads each item's own `Status`, `Description` and the rule's
/// `created_by` field, infers the status from the item alone when it has none
/// ([`ItemStatusRule::infer`]; never from element 0), and hands the rest of the item to
/// `build`. A reason `build` returns is reported against the item's position, like the
/// shared fields' reasons.
fn decode_batch<S: Clone, T>(
    body: &str,
    rule: ItemStatusRule<S>,
    build: impl Fn(&Obj<'_>, ItemHead<S>) -> Result<T, String>,
) -> Result<Batch<S, T>, DecodeError> {
    let parsed = parse_envelope(body)?;
    let envelope = (rule.from_code)(&parsed.status);
    let mut items = Vec::with_capacity(parsed.items.len());
    for (i, map) in parsed.items.iter().enumerate() {
        let o = Obj(map);
        let at = |r: String| fail(body, format!("item {}: {r}", i + 1));
        let own = o.field("Status").text().map_err(at)?;
        let description = o.field("Description").text().map_err(at)?;
        let created_key = o.field(rule.created_by).text().map_err(at)?;
        let status = match own {
            Some(code) => ItemStatus::Stated((rule.from_code)(&code)),
            None => {
                let mut keys = Vec::new();
                for name in rule.key_fields {
                    keys.extend(o.field(name).text().map_err(at)?);
                }
                rule.infer(created_key.as_deref(), description.as_deref(), &keys)
            }
        };
        let head = ItemHead {
            status,
            description,
            created_key,
        };
        items.push(build(&o, head).map_err(at)?);
    }
    Ok(Batch {
        status: envelope,
        description: parsed.description,
        items,
    })
}

// ---------------------------------------------------------------------------------
// Pairing
// ---------------------------------------------------------------------------------

/// A batch result that names the item it belongs to.
pub trait KeyedItem {
    /// The item carries some key at all (else only position can place it).
    fn has_key(&self) -> bool;
    /// The item belongs to the request item with this key. `exact` is the first pass
    /// (trimmed, case-sensitive); the second pass compares case-insensitively.
    fn matches(&self, key: &str, exact: bool) -> bool;
}

fn same(a: &str, b: &str, exact: bool) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if exact {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

impl KeyedItem for OrderItemResult {
    fn has_key(&self) -> bool {
        self.order_number.is_some()
    }
    fn matches(&self, key: &str, exact: bool) -> bool {
        self.order_number
            .as_deref()
            .is_some_and(|n| same(n, key, exact))
    }
}

impl KeyedItem for ConsumerItemResult {
    fn has_key(&self) -> bool {
        self.consumer_id.is_some()
            || self.full_consumer_code.is_some()
            || self.consumer_number.is_some()
    }
    fn matches(&self, key: &str, exact: bool) -> bool {
        let key = key.trim();
        // ConsumerID may be echoed as the full code (company code + id) for a short id
        // sent, or the other way round.
        let id_match = |id: &str| {
            let id = id.trim();
            same(id, key, exact)
                || (id.len() == key.len() + crate::domain::rules::COMPANY_CODE_LEN
                    && id
                        .get(crate::domain::rules::COMPANY_CODE_LEN..)
                        .is_some_and(|t| same(t, key, exact)))
                || (key.len() == id.len() + crate::domain::rules::COMPANY_CODE_LEN
                    && key
                        .get(crate::domain::rules::COMPANY_CODE_LEN..)
                        .is_some_and(|t| same(t, id, exact)))
        };
        self.consumer_id.as_deref().is_some_and(id_match)
            || self.full_consumer_code.as_deref().is_some_and(id_match)
            || self
                .consumer_number
                .as_deref()
                .is_some_and(|n| same(n, key, exact))
    }
}

/// Pairs the keys of the items sent (in request order) with the result objects: by key
/// first (exact, then case-insensitive; a key sent twice takes the results in order),
/// then by position — but only when the server returned exactly one object per item
/// sent, because in all-or-nothing mode it lists only the offending items and their
/// positions mean nothing. The result has one entry per key sent; `None` means the
/// server said nothing about that item.
pub fn pair_items<'a, T: KeyedItem>(sent: &[&str], items: &'a [T]) -> Vec<Option<&'a T>> {
    let mut used = vec![false; items.len()];
    let mut out: Vec<Option<&'a T>> = vec![None; sent.len()];
    for exact in [true, false] {
        for (i, key) in sent.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            if let Some(j) = (0..items.len()).find(|&j| !used[j] && items[j].matches(key, exact)) {
                used[j] = true;
                out[i] = Some(&items[j]);
            }
        }
    }
    if items.len() == sent.len() {
        for i in 0..sent.len() {
            // A keyed item that matched nothing (the cmo sample echoes a different
            // order number) is placed by position, as is an item with no key.
            let unclaimed = !used[i]
                && (!items[i].has_key() || !sent.iter().any(|k| items[i].matches(k, false)));
            if out[i].is_none() && unclaimed {
                used[i] = true;
                out[i] = Some(&items[i]);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// gpojson
// ---------------------------------------------------------------------------------

/// One row of the paid-orders report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    pub order_number: String,
    pub connectpay_id: Option<String>,
    pub order_amount: Option<Decimal>,
    pub amount_paid: Option<Decimal>,
    pub date_paid: Option<NaiveDateTime>,
    pub date_created: Option<NaiveDateTime>,
    pub issue_date: Option<NaiveDateTime>,
    pub due_date: Option<NaiveDateTime>,
    pub customer_email: Option<String>,
    pub customer_mobile: Option<String>,
    pub customer_address: Option<String>,
}

/// A decoded `gpojson` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrdersResponse {
    pub status: ReportStatus,
    pub description: Option<String>,
    pub orders: Vec<PaidOrder>,
}

/// Decodes the response of `gpojson`. Amounts and dates that are present but unreadable
/// are errors: a report must not silently drop money.
pub fn decode_paid_orders_response(body: &str) -> Result<PaidOrdersResponse, DecodeError> {
    let parsed = parse_envelope(body)?;
    let status = ReportStatus::from_code(&parsed.status);
    let mut orders = Vec::with_capacity(parsed.items.len());
    for (i, map) in parsed.items.iter().enumerate() {
        let o = Obj(map);
        let at = |r: String| fail(body, format!("item {}: {r}", i + 1));
        let order_number = o
            .field("Order Number")
            .text()
            .map_err(at)?
            .ok_or_else(|| fail(body, format!("item {}: no 'Order Number'", i + 1)))?;
        orders.push(PaidOrder {
            order_number,
            connectpay_id: o.field("ConnectPay Id").text().map_err(at)?,
            order_amount: o.field("Order Amount").decimal().map_err(at)?,
            amount_paid: o.field("Amount Paid").decimal().map_err(at)?,
            date_paid: o.field("Date Paid").timestamp().map_err(at)?,
            date_created: o.field("Date Created").timestamp().map_err(at)?,
            issue_date: o.field("Issue Date").timestamp().map_err(at)?,
            due_date: o.field("Order Due Date").timestamp().map_err(at)?,
            customer_email: o.field("Customer Email").text().map_err(at)?,
            customer_mobile: o.field("Customer Mobile").text().map_err(at)?,
            customer_address: o.field("Customer Address").text().map_err(at)?,
        });
    }
    Ok(PaidOrdersResponse {
        status,
        description: parsed.description,
        orders,
    })
}

// ---------------------------------------------------------------------------------
// moap / moab / mofr
// ---------------------------------------------------------------------------------

/// An order state as the API names it, matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Unpaid,
    Paid,
    Blocked,
    Refunded,
    AlreadyRefunded,
    /// A word the reference does not list, kept as sent (trimmed).
    Other(String),
}

impl OrderStatus {
    pub fn from_word(raw: &str) -> OrderStatus {
        let t = raw.trim();
        match key_norm(t).as_str() {
            "unpaid" => OrderStatus::Unpaid,
            "paid" => OrderStatus::Paid,
            // The guide's moap sample writes "Block".
            "blocked" | "block" => OrderStatus::Blocked,
            "refunded" | "refund" => OrderStatus::Refunded,
            "alreadyrefunded" => OrderStatus::AlreadyRefunded,
            _ => OrderStatus::Other(t.to_string()),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderStatus::Unpaid => "Unpaid",
            OrderStatus::Paid => "Paid",
            OrderStatus::Blocked => "Blocked",
            OrderStatus::Refunded => "Refunded",
            OrderStatus::AlreadyRefunded => "Already Refunded",
            OrderStatus::Other(s) => s,
        })
    }
}

/// An order a mark/refund call could not change, with its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkFailure {
    pub order_number: String,
    pub order_status: Option<OrderStatus>,
    pub connectpay_id: Option<String>,
    /// Why, when the server says (the guide's sample gives only the state).
    pub description: Option<String>,
}

/// A decoded `moap`/`moab`/`mofr` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkResponse {
    pub status: MarkStatus,
    pub description: Option<String>,
    pub failed: Vec<MarkFailure>,
}

/// Decodes the response of `moap`, `moab` and `mofr`. A listed object without an
/// `OrderNumber` is an error: unlisted orders count as changed, so an anonymous entry
/// would make the caller believe an order changed when it may not have.
pub fn decode_mark_response(body: &str) -> Result<MarkResponse, DecodeError> {
    let parsed = parse_envelope(body)?;
    let mut failed = Vec::with_capacity(parsed.items.len());
    for (i, map) in parsed.items.iter().enumerate() {
        let o = Obj(map);
        let at = |r: String| fail(body, format!("item {}: {r}", i + 1));
        let order_number = o
            .field("OrderNumber")
            .text()
            .map_err(at)?
            .ok_or_else(|| fail(body, format!("item {}: no 'OrderNumber'", i + 1)))?;
        failed.push(MarkFailure {
            order_number,
            order_status: o
                .field("OrderStatus")
                .text()
                .map_err(at)?
                .map(|s| OrderStatus::from_word(&s)),
            connectpay_id: o.field("ConnectPayId").text().map_err(at)?,
            description: o.field("Description").text().map_err(at)?,
        });
    }
    Ok(MarkResponse {
        status: MarkStatus::from_code(&parsed.status),
        description: parsed.description,
        failed,
    })
}

// ---------------------------------------------------------------------------------
// gos
// ---------------------------------------------------------------------------------

/// An order's state from `gos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatusInfo {
    pub order_status: OrderStatus,
    pub amount_paid: Option<Decimal>,
    pub date_paid: Option<NaiveDateTime>,
    pub order_number: Option<String>,
}

/// A decoded `gos` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatusResponse {
    pub status: MarkStatus,
    pub description: Option<String>,
    pub order: Option<OrderStatusInfo>,
}

/// Decodes the response of `gos`.
pub fn decode_order_status_response(body: &str) -> Result<OrderStatusResponse, DecodeError> {
    let parsed = parse_envelope(body)?;
    let status = MarkStatus::from_code(&parsed.status);
    let order = match parsed.items.first() {
        None => None,
        Some(map) => {
            let o = Obj(map);
            let at = |r: String| fail(body, format!("item 1: {r}"));
            let word = o
                .field("OrderStatus")
                .text()
                .map_err(at)?
                .ok_or_else(|| fail(body, "item 1: no 'OrderStatus'"))?;
            Some(OrderStatusInfo {
                order_status: OrderStatus::from_word(&word),
                amount_paid: o.field("OrderAmountPaid").decimal().map_err(at)?,
                date_paid: o.field("DatePaid").timestamp().map_err(at)?,
                order_number: o.field("OrderNumber").text().map_err(at)?,
            })
        }
    };
    Ok(OrderStatusResponse {
        status,
        description: parsed.description,
        order,
    })
}

// ---------------------------------------------------------------------------------
// gcd
// ---------------------------------------------------------------------------------

/// A consumer as `gcd` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerData {
    pub full_consumer_code: Option<String>,
    pub consumer_code: Option<String>,
    pub company_code: Option<String>,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub created_on: Option<NaiveDateTime>,
}

/// A decoded `gcd` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerDataResponse {
    pub status: ConsumerStatus,
    pub description: Option<String>,
    pub consumer: Option<ConsumerData>,
}

/// Decodes the response of `gcd`.
pub fn decode_consumer_data_response(body: &str) -> Result<ConsumerDataResponse, DecodeError> {
    let parsed = parse_envelope(body)?;
    let consumer = match parsed.items.first() {
        None => None,
        Some(map) => {
            let o = Obj(map);
            let at = |r: String| fail(body, format!("item 1: {r}"));
            if !o.has("FullConsumerCode") && !o.has("ConsumerCode") {
                return Err(fail(
                    body,
                    "item 1: no 'FullConsumerCode' or 'ConsumerCode'",
                ));
            }
            Some(ConsumerData {
                full_consumer_code: o.field("FullConsumerCode").text().map_err(at)?,
                consumer_code: o.field("ConsumerCode").text().map_err(at)?,
                company_code: o.field("CompanyCode").text().map_err(at)?,
                name: o.field("Name").text().map_err(at)?,
                mobile: o.field("Mobile").text().map_err(at)?,
                email: o.field("Email").text().map_err(at)?,
                address: o.field("Address").text().map_err(at)?,
                created_on: o.field("CreatedOn").timestamp().map_err(at)?,
            })
        }
    };
    Ok(ConsumerDataResponse {
        status: ConsumerStatus::from_code(&parsed.status),
        description: parsed.description,
        consumer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("45050"), Some(dec("45050")));
        assert_eq!(parse_decimal(" 45054 "), Some(dec("45054")));
        assert_eq!(parse_decimal("0.0000"), Some(Decimal::ZERO));
        assert_eq!(parse_decimal("4,400"), Some(dec("4400")));
        assert_eq!(parse_decimal("1,234,567.50"), Some(dec("1234567.50")));
        assert_eq!(parse_decimal("4,40"), None);
        assert_eq!(parse_decimal("12,3456"), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn timestamps() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        let ts = |s| parse_timestamp(s);
        assert_eq!(
            ts("2018-12-27T15:04:25.923"),
            d(2018, 12, 27).and_hms_milli_opt(15, 4, 25, 923)
        );
        assert_eq!(
            ts("2019-01-01T10:12:43.72"),
            d(2019, 1, 1).and_hms_milli_opt(10, 12, 43, 720)
        );
        assert_eq!(
            ts("2019-01-01T10:12:43.7"),
            d(2019, 1, 1).and_hms_milli_opt(10, 12, 43, 700)
        );
        assert_eq!(
            ts("2018-12-30T00:00:00"),
            d(2018, 12, 30).and_hms_opt(0, 0, 0)
        );
        assert_eq!(ts("2018-12-30"), d(2018, 12, 30).and_hms_opt(0, 0, 0));
        assert_eq!(ts("30/12/2018"), d(2018, 12, 30).and_hms_opt(0, 0, 0));
        assert_eq!(
            ts(" 2018-12-30T01:02:03Z "),
            d(2018, 12, 30).and_hms_opt(1, 2, 3)
        );
        assert_eq!(ts("yesterday"), None);
    }

    #[test]
    fn keys_match_loosely() {
        assert_eq!(key_norm("ConnectPay Id"), key_norm("ConnectPayId"));
        assert_eq!(key_norm("order_number"), key_norm("Order Number"));
    }

    #[test]
    fn items_without_status_are_read_from_their_own_content() {
        let r = decode_create_response(
            r#"[{"Status":"01"},
            {"OrderNumber":"A","ConnectPayId":"1"},
            {"OrderNumber":"B","Description":"Order number B already exists"},
            {"OrderNumber":"C","Description":"Invalid Data. Mobile no. '1' is not in valid format"},
            {"OrderNumber":"D","Description":"Service Fail. Error occurred in order creation"},
            {"OrderNumber":"E","Description":"User not Authorized"},
            {"OrderNumber":"F","Description":"Order number F created successfully"},
            {"OrderNumber":"G"},
            {"OrderNumber":"H","Description":"Thank you"},
            {"OrderNumber":"I","Description":"Order creation unsuccessful"},
            {"OrderNumber":"J","Status":"03","Description":"Order number J created successfully"}]"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<ItemStatus<CreateStatus>> = r.items.into_iter().map(|i| i.status).collect();
        use CreateStatus as C;
        use ItemStatus::{Inferred, Stated, Unknown};
        assert_eq!(
            got,
            vec![
                Inferred(C::Created),
                Inferred(C::AlreadyExists),
                Inferred(C::InvalidData),
                Inferred(C::ServiceFailure),
                Inferred(C::NotAuthorised),
                Inferred(C::Created),
                Unknown,
                Unknown,
                Unknown,
                // An item's own Status always wins over its description.
                Stated(C::InvalidData),
            ]
        );
    }

    #[test]
    fn an_items_own_key_in_its_description_decides_nothing() {
        // Order numbers that read like verdicts, inside success messages.
        let r = decode_consumer_response(
            r#"[{"Status":"00"},
            {"ConsumerID":"INVALID-1","Description":"ConsumerID INVALID-1 updated successfully"},
            {"ConsumerID":"NO-DATA","Description":"ConsumerID NO-DATA updated successfully"},
            {"ConsumerID":"a","Description":"Consumer a already exists"},
            {"ConsumerID":"X1","Description":"Invalid Format. Email 'x1@' is not in valid format"}]"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<Option<ConsumerStatus>> =
            r.items.iter().map(|i| i.status.known().cloned()).collect();
        assert_eq!(
            got,
            vec![
                Some(ConsumerStatus::Ok),
                Some(ConsumerStatus::Ok),
                Some(ConsumerStatus::ExistsOrInvalid),
                Some(ConsumerStatus::ExistsOrInvalid),
            ]
        );
        assert_eq!(without_token("order a already a", "a"), "order   already  ");
        assert_eq!(without_token("abc-1 x abc-12", "abc-1"), "  x abc-12");
        assert_eq!(without_token("aaa", "a"), "aaa");
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool(" FALSE "), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
