//! The Connect Pay client: one async method per endpoint, wire types with lenient
//! decoding, and `ApiError` with credentials redacted.
//!
//! `request` builds what is sent, `wire` decodes what comes back, `error` names what
//! went wrong; this file does the HTTP and applies each endpoint's result semantics.

pub mod error;
mod request;
pub mod wire;

#[cfg(test)]
mod client_tests;

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use url::Url;

pub use error::{
    ApiError, ApiStatus, ConsumerStatus, CreateStatus, Endpoint, MarkStatus, ReportStatus,
    RequestProblem, TransportKind,
};
pub use wire::{
    ConsumerData, ConsumerItemResult, ConsumersResponse, CreateOrdersResponse, DecodeError,
    ItemStatus, KeyedItem, MarkFailure, MarkResponse, OrderItemResult, OrderStatus,
    OrderStatusInfo, PaidOrder, pair_items,
};

use crate::domain::{Consumer, ConsumerUpdate, Order, OrderRef, Refund};
use crate::secret::{Secret, redact_all};
pub use request::CSV_ORDERS_MAX;
use request::{Credentials, QueryStyle};

/// Where and how to reach Connect Pay.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// E.g. `http://127.0.0.1:8080` or `https://demoapi.paypro.com.pk`; endpoints are
    /// `{base_url}/cpay/co` etc.
    pub base_url: String,
    pub merchant_id: String,
    pub password: Secret,
    pub connect_timeout: Duration,
    /// Whole request, sending to last byte of the body.
    pub request_timeout: Duration,
    /// chrono format of `OrderDueDate`/`IssueDate`.
    pub order_date_format: String,
    /// chrono format of `startDate`/`endDate` (gpojson).
    pub report_date_format: String,
}

impl ClientConfig {
    pub const DEFAULT_ORDER_DATE_FORMAT: &'static str = "%d/%m/%Y";
    pub const DEFAULT_REPORT_DATE_FORMAT: &'static str = "%Y-%m-%d";

    /// Defaults: connect timeout 10 s, request timeout 60 s, order dates `dd/MM/yyyy`,
    /// report dates `yyyy-MM-dd` (reference, "Dates sent").
    pub fn new(
        base_url: impl Into<String>,
        merchant_id: impl Into<String>,
        password: Secret,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            merchant_id: merchant_id.into(),
            password,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            order_date_format: Self::DEFAULT_ORDER_DATE_FORMAT.to_string(),
            report_date_format: Self::DEFAULT_REPORT_DATE_FORMAT.to_string(),
        }
    }
}

/// The result of a mark/refund call (all calls merged): the orders listed as not
/// changed. Every other order sent was changed (connectpay-api.md §4–6, Decision).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkResult {
    pub failed: Vec<MarkFailure>,
    /// How many HTTP calls the list took (each `csvOrders` at most 4000 characters;
    /// [`Client::plan_mark_calls`] tells which orders went in which).
    pub calls: usize,
}

/// One HTTP exchange as it may be kept (the journal's record of a request): the status
/// and the whole body, with the client's credentials already redacted out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub http_status: u16,
    pub body: String,
}

/// A batch call's decided result together with the exchange behind it, so a caller can
/// keep what the server actually said, whatever the decision. `exchange` is `Some`
/// whenever an HTTP response arrived — also when `result` is an `Http`, `Decode` or
/// `Status` error — and `None` when the request was refused before sending or failed
/// below HTTP (`ApiError::Transport`, whose `kind` says how).
#[derive(Debug)]
pub struct Exchanged<T> {
    pub result: Result<T, ApiError>,
    pub exchange: Option<Exchange>,
}

impl<T> Exchanged<T> {
    fn unsent(error: ApiError) -> Exchanged<T> {
        Exchanged {
            result: Err(error),
            exchange: None,
        }
    }
}

#[derive(Debug)]
struct Inner {
    base: Url,
    credentials: Credentials,
    secrets: Vec<Secret>,
    order_date_format: String,
    report_date_format: String,
}

/// A Connect Pay client. Cloning is cheap (shared connection pool); use one per profile
/// from as many tasks as needed.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

/// How a request carries its payload.
enum Payload {
    /// POST with everything in the query string and an empty body.
    PostQuery,
    /// POST multipart/form-data with one file part named `file`.
    Upload {
        file_name: &'static str,
        json: String,
    },
    /// GET with everything in the query string.
    Get,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let base = Url::parse(config.base_url.trim())
            .map_err(|e| ApiError::Config(format!("base URL '{}': {e}", config.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ApiError::Config(format!(
                "base URL '{}' must be http:// or https://",
                config.base_url
            )));
        }
        for (what, format) in [
            ("order date format", &config.order_date_format),
            ("report date format", &config.report_date_format),
        ] {
            if !request::date_format_is_valid(format) {
                return Err(ApiError::Config(format!("{what} '{format}' is not valid")));
            }
        }
        let credentials = Credentials::MerchantPassword {
            merchant_id: config.merchant_id,
            password: config.password,
        };
        let secrets = credentials.secrets();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect would re-send the credentials in the query string elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("paypro-console/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(redact_all(&error_chain(&e.without_url()), &secrets)))?;
        Ok(Client {
            http,
            inner: Arc::new(Inner {
                base,
                credentials,
                secrets,
                order_date_format: config.order_date_format,
                report_date_format: config.report_date_format,
            }),
        })
    }

    fn redact(&self, text: &str) -> String {
        redact_all(text, &self.inner.secrets)
    }

    fn refuse(endpoint: Endpoint, problem: RequestProblem) -> ApiError {
        ApiError::Request { endpoint, problem }
    }

    fn decode_error(&self, endpoint: Endpoint, body: &str, e: DecodeError) -> ApiError {
        ApiError::from_decode(endpoint, body, &e, &self.inner.secrets)
    }

    fn status_error(
        &self,
        endpoint: Endpoint,
        status: ApiStatus,
        description: Option<&str>,
    ) -> ApiError {
        ApiError::Status {
            endpoint,
            status,
            description: description.unwrap_or("").to_string(),
        }
        .redact(&self.inner.secrets)
    }

    /// Sends one request and returns the body of a 2xx response.
    async fn send(
        &self,
        endpoint: Endpoint,
        items: usize,
        query: &[(&str, &str)],
        payload: Payload,
    ) -> Result<String, ApiError> {
        let (status, body) = self.send_raw(endpoint, items, query, payload).await?;
        self.require_success(endpoint, status, &body)?;
        Ok(body)
    }

    /// `ApiError::Http` unless `status` is 2xx.
    fn require_success(&self, endpoint: Endpoint, status: u16, body: &str) -> Result<(), ApiError> {
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(ApiError::Http {
                endpoint,
                status,
                excerpt: wire::excerpt(&self.redact(body)),
            }
            .redact(&self.inner.secrets))
        }
    }

    /// Sends one request and returns the HTTP status and body of whatever response
    /// arrived; `Err` only when none did. Logs endpoint, item count, duration and HTTP
    /// status — never the URL, which holds the password.
    async fn send_raw(
        &self,
        endpoint: Endpoint,
        items: usize,
        query: &[(&str, &str)],
        payload: Payload,
    ) -> Result<(u16, String), ApiError> {
        let url = request::endpoint_url(&self.inner.base, endpoint, query);
        let builder = match payload {
            Payload::Get => self.http.get(url),
            Payload::PostQuery => self.http.post(url).body(Vec::<u8>::new()),
            Payload::Upload { file_name, json } => {
                let part = reqwest::multipart::Part::bytes(json.into_bytes())
                    .file_name(file_name)
                    .mime_str("text/plain")
                    .map_err(|e| {
                        Self::refuse(endpoint, RequestProblem::Build(e.without_url().to_string()))
                    })?;
                let form = reqwest::multipart::Form::new().part("file", part);
                self.http.post(url).multipart(form)
            }
        };
        let started = Instant::now();
        let outcome = async {
            let response = builder.send().await?;
            let status = response.status();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Err(e) => {
                let e = e.without_url();
                let kind = transport_kind(&e);
                let message = self.redact(&error_chain(&e));
                tracing::warn!(endpoint = endpoint.path(), items, elapsed_ms, ?kind, error = %message, "cpay request failed");
                Err(ApiError::Transport {
                    endpoint,
                    kind,
                    message,
                })
            }
            Ok((status, body)) => {
                tracing::info!(
                    endpoint = endpoint.path(),
                    items,
                    elapsed_ms,
                    http_status = status.as_u16(),
                    bytes = body.len(),
                    "cpay request"
                );
                Ok((status.as_u16(), body))
            }
        }
    }

    /// Uploads one batch file and decides the answer with `decide` (given the raw body
    /// of a 2xx response), keeping the exchange.
    async fn upload_exchange<T>(
        &self,
        endpoint: Endpoint,
        items: usize,
        file_name: &'static str,
        json: String,
        decide: impl FnOnce(&str) -> Result<T, ApiError>,
    ) -> Exchanged<T> {
        let sent = self
            .send_raw(endpoint, items, &[], Payload::Upload { file_name, json })
            .await;
        match sent {
            Err(e) => Exchanged::unsent(e),
            Ok((http_status, body)) => {
                let result = self
                    .require_success(endpoint, http_status, &body)
                    .and_then(|()| decide(&body));
                Exchanged {
                    result,
                    exchange: Some(Exchange {
                        http_status,
                        body: self.redact(&body),
                    }),
                }
            }
        }
    }

    async fn post_ojson(&self, endpoint: Endpoint, json: String) -> Result<String, ApiError> {
        self.send(endpoint, 1, &[("oJson", json.as_str())], Payload::PostQuery)
            .await
    }

    async fn get_with_credentials(
        &self,
        endpoint: Endpoint,
        style: QueryStyle,
        extra: &[(&str, &str)],
    ) -> Result<String, ApiError> {
        let creds = self.inner.credentials.query_pairs(style);
        let mut query: Vec<(&str, &str)> = creds.iter().map(|(k, v)| (*k, v.as_str())).collect();
        query.extend_from_slice(extra);
        self.send(endpoint, 1, &query, Payload::Get).await
    }

    // -----------------------------------------------------------------------------
    // Orders
    // -----------------------------------------------------------------------------

    /// `co`: creates one order. `Ok` only on 00; any other status is
    /// `ApiError::Status` with the server's description.
    pub async fn create_order(&self, order: &Order) -> Result<OrderItemResult, ApiError> {
        let ep = Endpoint::Co;
        let json = request::orders_json(
            &self.inner.credentials,
            std::slice::from_ref(order),
            &self.inner.order_date_format,
        )
        .map_err(|p| Self::refuse(ep, p))?;
        let body = self.post_ojson(ep, json).await?;
        let resp =
            wire::decode_create_response(&body).map_err(|e| self.decode_error(ep, &body, e))?;
        self.single_order(resp)
    }

    /// The answer to one `co`: the item's own `Status` if it has one, else element 0's,
    /// which for a single-item request answers for that one item (the guide's C#
    /// sample reads `model[0].Status`). Batches never do this (connectpay-api.md §2).
    fn single_order(&self, resp: CreateOrdersResponse) -> Result<OrderItemResult, ApiError> {
        let mut items = resp.items.into_iter();
        let item = items.next();
        let effective = match item.as_ref().map(|i| &i.status) {
            Some(ItemStatus::Stated(s)) => s.clone(),
            _ => resp.status.clone(),
        };
        if effective == CreateStatus::Created {
            Ok(item.unwrap_or(OrderItemResult {
                status: ItemStatus::Inferred(CreateStatus::Created),
                description: resp.description,
                order_number: None,
                connectpay_id: None,
                connectpay_fee: None,
                order_amount: None,
                is_fee_applied: None,
            }))
        } else {
            let description = resp
                .description
                .or_else(|| item.and_then(|i| i.description));
            Err(self.status_error(
                Endpoint::Co,
                ApiStatus::Create(effective),
                description.as_deref(),
            ))
        }
    }

    /// `cmo`: creates up to 50 orders in one upload. `Ok` whenever the body decodes and
    /// lists items, whatever element 0 says: decide each order from its own result
    /// ([`CreateOrdersResponse::pair`]). `Err(Status)` only when element 0 is not 00 and
    /// no item came back (the whole request was refused).
    pub async fn create_orders(&self, orders: &[Order]) -> Result<CreateOrdersResponse, ApiError> {
        self.create_orders_with_exchange(orders).await.result
    }

    /// [`Client::create_orders`], with the HTTP status and the (redacted) body of the
    /// response for the record.
    pub async fn create_orders_with_exchange(
        &self,
        orders: &[Order],
    ) -> Exchanged<CreateOrdersResponse> {
        let ep = Endpoint::Cmo;
        let json = match request::orders_json(
            &self.inner.credentials,
            orders,
            &self.inner.order_date_format,
        ) {
            Ok(json) => json,
            Err(p) => return Exchanged::unsent(Self::refuse(ep, p)),
        };
        self.upload_exchange(ep, orders.len(), "orders.txt", json, |body| {
            let resp =
                wire::decode_create_response(body).map_err(|e| self.decode_error(ep, body, e))?;
            if resp.status != CreateStatus::Created && resp.items.is_empty() {
                return Err(self.status_error(
                    ep,
                    ApiStatus::Create(resp.status),
                    resp.description.as_deref(),
                ));
            }
            Ok(resp)
        })
        .await
    }

    /// `gpojson`: orders paid between `start` and `end` (inclusive). Status 03 (no
    /// records) is an empty list.
    pub async fn paid_orders(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<PaidOrder>, ApiError> {
        let ep = Endpoint::Gpojson;
        let fmt = &self.inner.report_date_format;
        let s = request::format_date(start, fmt).map_err(|p| Self::refuse(ep, p))?;
        let e = request::format_date(end, fmt).map_err(|p| Self::refuse(ep, p))?;
        if start > end {
            return Err(Self::refuse(
                ep,
                RequestProblem::DateRange { start: s, end: e },
            ));
        }
        let body = self
            .get_with_credentials(ep, QueryStyle::Lower, &[("startDate", &s), ("endDate", &e)])
            .await?;
        let resp = wire::decode_paid_orders_response(&body)
            .map_err(|e| self.decode_error(ep, &body, e))?;
        match resp.status {
            ReportStatus::Ok => Ok(resp.orders),
            ReportStatus::NoRecords => Ok(Vec::new()),
            other => {
                Err(self.status_error(ep, ApiStatus::Report(other), resp.description.as_deref()))
            }
        }
    }

    /// `moap`: marks unpaid orders as paid. A list whose `csvOrders` parameter would
    /// pass 4000 characters is sent in several calls ([`Client::plan_mark_calls`]), in
    /// order, and the results merged.
    pub async fn mark_paid(&self, orders: &[OrderRef]) -> Result<MarkResult, ApiError> {
        let entries = request::mark_entries(orders).map_err(|p| Self::refuse(Endpoint::Moap, p))?;
        self.mark(Endpoint::Moap, &entries, ',').await
    }

    /// `moab`: marks unpaid orders as blocked. Split and merged like [`Client::mark_paid`].
    pub async fn mark_blocked(&self, orders: &[OrderRef]) -> Result<MarkResult, ApiError> {
        let entries = request::mark_entries(orders).map_err(|p| Self::refuse(Endpoint::Moab, p))?;
        self.mark(Endpoint::Moab, &entries, ',').await
    }

    /// `mofr`: refunds paid orders (`ORDER,AMOUNT` entries joined by `|`). Split and
    /// merged like [`Client::mark_paid`].
    pub async fn refund(&self, refunds: &[Refund]) -> Result<MarkResult, ApiError> {
        let entries =
            request::refund_entries(refunds).map_err(|p| Self::refuse(Endpoint::Mofr, p))?;
        self.mark(Endpoint::Mofr, &entries, '|').await
    }

    /// How [`Client::mark_paid`] / [`Client::mark_blocked`] split `orders` into calls:
    /// the range of `orders` each call carries, in order. Each call's whole
    /// `csvOrders` parameter (credentials included) is at most [`CSV_ORDERS_MAX`]
    /// characters and as full as that allows, so a caller can journal every call
    /// before it is made and send each range alone (it packs into exactly one call).
    pub fn plan_mark_calls(
        &self,
        orders: &[OrderRef],
    ) -> Result<Vec<Range<usize>>, RequestProblem> {
        let entries = request::mark_entries(orders)?;
        request::csv_call_ranges(&self.inner.credentials, &entries, ',')
    }

    /// [`Client::plan_mark_calls`] for [`Client::refund`].
    pub fn plan_refund_calls(
        &self,
        refunds: &[Refund],
    ) -> Result<Vec<Range<usize>>, RequestProblem> {
        let entries = request::refund_entries(refunds)?;
        request::csv_call_ranges(&self.inner.credentials, &entries, '|')
    }

    /// One `moap` (`paid`) or `moab` call carrying exactly `orders`, decided and with
    /// the exchange for the record, for a caller that journals each call before it is
    /// made (see [`Client::plan_mark_calls`]). `Ok` when the server answered 00, or
    /// listed orders it did not change (whatever element 0 says: the caller decides
    /// each order, listed or not); `Err(Status)` when it refused the whole call
    /// without a list. Orders that need more than one call are refused unsent
    /// ([`RequestProblem::NotOneCall`]).
    pub async fn mark_call_with_exchange(
        &self,
        paid: bool,
        orders: &[OrderRef],
    ) -> Exchanged<MarkResponse> {
        let ep = if paid { Endpoint::Moap } else { Endpoint::Moab };
        match request::mark_entries(orders) {
            Ok(entries) => self.one_mark_call(ep, &entries, ',').await,
            Err(p) => Exchanged::unsent(Self::refuse(ep, p)),
        }
    }

    /// [`Client::mark_call_with_exchange`] for `mofr`.
    pub async fn refund_call_with_exchange(&self, refunds: &[Refund]) -> Exchanged<MarkResponse> {
        let ep = Endpoint::Mofr;
        match request::refund_entries(refunds) {
            Ok(entries) => self.one_mark_call(ep, &entries, '|').await,
            Err(p) => Exchanged::unsent(Self::refuse(ep, p)),
        }
    }

    async fn one_mark_call(
        &self,
        ep: Endpoint,
        entries: &[String],
        sep: char,
    ) -> Exchanged<MarkResponse> {
        let mut calls =
            match request::csv_calls(&self.inner.credentials, entries, sep, CSV_ORDERS_MAX) {
                Ok(calls) => calls,
                Err(p) => return Exchanged::unsent(Self::refuse(ep, p)),
            };
        let call = match (calls.pop(), calls.is_empty()) {
            (Some(call), true) => call,
            (_, _) => {
                return Exchanged::unsent(Self::refuse(
                    ep,
                    RequestProblem::NotOneCall {
                        entries: entries.len(),
                        calls: calls.len() + 1,
                        max: CSV_ORDERS_MAX,
                    },
                ));
            }
        };
        let sent = self
            .send_raw(
                ep,
                call.range.len(),
                &[("csvOrders", call.csv_orders.as_str())],
                Payload::Get,
            )
            .await;
        match sent {
            Err(e) => Exchanged::unsent(e),
            Ok((http_status, body)) => {
                let result = self
                    .require_success(ep, http_status, &body)
                    .and_then(|()| {
                        wire::decode_mark_response(&body)
                            .map_err(|e| self.decode_error(ep, &body, e))
                    })
                    .and_then(|resp| {
                        if resp.status == MarkStatus::Ok || !resp.failed.is_empty() {
                            Ok(resp)
                        } else {
                            Err(self.status_error(
                                ep,
                                ApiStatus::Mark(resp.status),
                                resp.description.as_deref(),
                            ))
                        }
                    });
                Exchanged {
                    result,
                    exchange: Some(Exchange {
                        http_status,
                        body: self.redact(&body),
                    }),
                }
            }
        }
    }

    async fn mark(
        &self,
        ep: Endpoint,
        entries: &[String],
        sep: char,
    ) -> Result<MarkResult, ApiError> {
        let calls = request::csv_calls(&self.inner.credentials, entries, sep, CSV_ORDERS_MAX)
            .map_err(|p| Self::refuse(ep, p))?;
        let mut merged = MarkResult::default();
        for call in calls {
            let outcome = self.mark_call(ep, call.range.len(), &call.csv_orders).await;
            match outcome {
                Ok(failed) => {
                    merged.failed.extend(failed);
                    merged.calls += 1;
                }
                // Nothing confirmed yet: the plain error says it all.
                Err(e) if call.range.start == 0 => return Err(e),
                Err(e) => {
                    return Err(ApiError::Partial {
                        endpoint: ep,
                        confirmed: call.range.start,
                        failed: merged.failed,
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(merged)
    }

    /// One mark call with its `csvOrders` parameter as packed.
    async fn mark_call(
        &self,
        ep: Endpoint,
        items: usize,
        csv_orders: &str,
    ) -> Result<Vec<MarkFailure>, ApiError> {
        let body = self
            .send(ep, items, &[("csvOrders", csv_orders)], Payload::Get)
            .await?;
        let resp =
            wire::decode_mark_response(&body).map_err(|e| self.decode_error(ep, &body, e))?;
        mark_outcome(resp).map_err(|(status, description)| {
            self.status_error(ep, ApiStatus::Mark(status), description.as_deref())
        })
    }

    /// `gos`: the state of the order with this ConnectPayId.
    pub async fn order_status(&self, connectpay_id: &str) -> Result<OrderStatusInfo, ApiError> {
        let ep = Endpoint::Gos;
        let id = connectpay_id.trim();
        if id.is_empty() {
            return Err(Self::refuse(ep, RequestProblem::EmptyKey));
        }
        let body = self
            .get_with_credentials(ep, QueryStyle::Camel, &[("cpayId", id)])
            .await?;
        let resp = wire::decode_order_status_response(&body)
            .map_err(|e| self.decode_error(ep, &body, e))?;
        match (resp.status, resp.order) {
            (MarkStatus::Ok, Some(order)) => Ok(order),
            (MarkStatus::Ok, None) => Err(self.decode_error(
                ep,
                &body,
                DecodeError {
                    reason: "status 00 without an order object".into(),
                    excerpt: String::new(),
                },
            )),
            (other, _) => {
                Err(self.status_error(ep, ApiStatus::Mark(other), resp.description.as_deref()))
            }
        }
    }

    // -----------------------------------------------------------------------------
    // Consumers
    // -----------------------------------------------------------------------------

    /// `cc`: creates one consumer. `Ok` only on 00.
    pub async fn create_consumer(
        &self,
        consumer: &Consumer,
    ) -> Result<ConsumerItemResult, ApiError> {
        let ep = Endpoint::Cc;
        let json = request::consumers_json(&self.inner.credentials, std::slice::from_ref(consumer))
            .map_err(|p| Self::refuse(ep, p))?;
        let body = self.post_ojson(ep, json).await?;
        let resp =
            wire::decode_consumer_response(&body).map_err(|e| self.decode_error(ep, &body, e))?;
        self.single_consumer(ep, resp)
    }

    /// `cmc`: creates up to 50 consumers in one upload; results as for
    /// [`Client::create_orders`].
    pub async fn create_consumers(
        &self,
        consumers: &[Consumer],
    ) -> Result<ConsumersResponse, ApiError> {
        self.create_consumers_with_exchange(consumers).await.result
    }

    /// [`Client::create_consumers`], with the HTTP status and the (redacted) body of the
    /// response for the record.
    pub async fn create_consumers_with_exchange(
        &self,
        consumers: &[Consumer],
    ) -> Exchanged<ConsumersResponse> {
        let ep = Endpoint::Cmc;
        let json = match request::consumers_json(&self.inner.credentials, consumers) {
            Ok(json) => json,
            Err(p) => return Exchanged::unsent(Self::refuse(ep, p)),
        };
        self.upload_exchange(ep, consumers.len(), "consumers.txt", json, |body| {
            self.consumer_batch(ep, body)
        })
        .await
    }

    /// `uc`: updates one consumer (`consumer_id` is the full consumer code). `Ok` only
    /// on 00.
    pub async fn update_consumer(
        &self,
        update: &ConsumerUpdate,
    ) -> Result<ConsumerItemResult, ApiError> {
        let ep = Endpoint::Uc;
        let json =
            request::consumer_updates_json(&self.inner.credentials, std::slice::from_ref(update))
                .map_err(|p| Self::refuse(ep, p))?;
        let body = self.post_ojson(ep, json).await?;
        let resp =
            wire::decode_consumer_response(&body).map_err(|e| self.decode_error(ep, &body, e))?;
        self.single_consumer(ep, resp)
    }

    /// `umc`: updates up to 50 consumers in one upload; results as for
    /// [`Client::create_orders`].
    pub async fn update_consumers(
        &self,
        updates: &[ConsumerUpdate],
    ) -> Result<ConsumersResponse, ApiError> {
        self.update_consumers_with_exchange(updates).await.result
    }

    /// [`Client::update_consumers`], with the HTTP status and the (redacted) body of the
    /// response for the record.
    pub async fn update_consumers_with_exchange(
        &self,
        updates: &[ConsumerUpdate],
    ) -> Exchanged<ConsumersResponse> {
        let ep = Endpoint::Umc;
        let json = match request::consumer_updates_json(&self.inner.credentials, updates) {
            Ok(json) => json,
            Err(p) => return Exchanged::unsent(Self::refuse(ep, p)),
        };
        self.upload_exchange(ep, updates.len(), "consumers.txt", json, |body| {
            self.consumer_batch(ep, body)
        })
        .await
    }

    fn consumer_batch(&self, ep: Endpoint, body: &str) -> Result<ConsumersResponse, ApiError> {
        let resp =
            wire::decode_consumer_response(body).map_err(|e| self.decode_error(ep, body, e))?;
        if resp.status != ConsumerStatus::Ok && resp.items.is_empty() {
            return Err(self.status_error(
                ep,
                ApiStatus::Consumer(resp.status),
                resp.description.as_deref(),
            ));
        }
        Ok(resp)
    }

    fn single_consumer(
        &self,
        ep: Endpoint,
        resp: ConsumersResponse,
    ) -> Result<ConsumerItemResult, ApiError> {
        // As for `co` (see `single_order`): element 0 answers for the one item.
        let mut items = resp.items.into_iter();
        let item = items.next();
        let effective = match item.as_ref().map(|i| &i.status) {
            Some(ItemStatus::Stated(s)) => s.clone(),
            _ => resp.status.clone(),
        };
        if effective == ConsumerStatus::Ok {
            Ok(item.unwrap_or(ConsumerItemResult {
                status: ItemStatus::Inferred(ConsumerStatus::Ok),
                description: resp.description,
                consumer_id: None,
                full_consumer_code: None,
                consumer_number: None,
            }))
        } else {
            let description = resp
                .description
                .or_else(|| item.and_then(|i| i.description));
            Err(self.status_error(ep, ApiStatus::Consumer(effective), description.as_deref()))
        }
    }

    /// `gcd`: a consumer's data by full consumer code.
    pub async fn consumer_data(&self, full_consumer_code: &str) -> Result<ConsumerData, ApiError> {
        let ep = Endpoint::Gcd;
        let code = full_consumer_code.trim();
        if code.is_empty() {
            return Err(Self::refuse(ep, RequestProblem::EmptyKey));
        }
        let body = self
            .get_with_credentials(ep, QueryStyle::Camel, &[("fullConsumerCode", code)])
            .await?;
        let resp = wire::decode_consumer_data_response(&body)
            .map_err(|e| self.decode_error(ep, &body, e))?;
        match (resp.status, resp.consumer) {
            (ConsumerStatus::Ok, Some(c)) => Ok(c),
            (ConsumerStatus::Ok, None) => Err(self.decode_error(
                ep,
                &body,
                DecodeError {
                    reason: "status 00 without a consumer object".into(),
                    excerpt: String::new(),
                },
            )),
            (other, _) => {
                Err(self.status_error(ep, ApiStatus::Consumer(other), resp.description.as_deref()))
            }
        }
    }
}

/// The mark endpoints' rule: 00 => nothing failed; 01 with listed orders => those
/// failed, the rest changed; anything else (02, 03, 01 without a list) => the whole call
/// failed. Returns the failed orders or the status and description to report.
pub fn mark_outcome(resp: MarkResponse) -> Result<Vec<MarkFailure>, (MarkStatus, Option<String>)> {
    match resp.status {
        MarkStatus::Ok => Ok(resp.failed),
        MarkStatus::InvalidData if !resp.failed.is_empty() => Ok(resp.failed),
        other => Err((other, resp.description)),
    }
}

/// Classifies a reqwest failure. Resets and early closes hide in the source chain as
/// `io::Error`s or hyper's "connection closed" / "incomplete message" errors.
fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    if e.is_connect() {
        return TransportKind::Connect;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return TransportKind::Timeout,
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return TransportKind::ConnectionClosed;
                }
                ConnectionRefused => return TransportKind::Connect,
                _ => {}
            }
        }
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("connection closed")
            || text.contains("incomplete message")
            || text.contains("connection reset")
            || text.contains("closed before")
        {
            return TransportKind::ConnectionClosed;
        }
        source = s.source();
    }
    TransportKind::Other
}

/// `error: cause: cause` on one line (reqwest's Display shows only the top level).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
