//! Request building: the credentials seam, the JSON bodies (`oJson` arrays, upload files,
//! `csvOrders` objects), the `CsvOrderNumbers` split and the endpoint URLs. Pure
//! functions, no IO, so every byte the client sends is pinned by a unit test here.

use std::fmt::Write as _;
use std::ops::Range;

use chrono::NaiveDate;
use serde::Serialize;
use url::Url;

use super::error::{Endpoint, RequestProblem};
use crate::domain::rules::BATCH_MAX;
use crate::domain::{Consumer, ConsumerUpdate, ORDER_TYPE_SERVICE, Order, OrderRef, Refund};
use crate::secret::Secret;

/// How the client proves who it is. Every endpoint renders credentials differently; this
/// enum is the one place that knows how, so a token profile (the v2 API: a bearer
/// header instead of fields) is one more variant rather than edits across the client.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    /// The guide's scheme: merchant id and password in every request.
    MerchantPassword {
        merchant_id: String,
        password: Secret,
    },
}

/// Element 0 of an `oJson`/upload array.
#[derive(Serialize)]
struct CreateHead<'a> {
    #[serde(rename = "MerchantId")]
    merchant_id: &'a str,
    #[serde(rename = "MerchantPassword")]
    merchant_password: &'a str,
}

/// The `csvOrders` object of the mark endpoints.
#[derive(Serialize)]
struct CsvOrders<'a> {
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Password")]
    password: &'a str,
    #[serde(rename = "CsvOrderNumbers")]
    csv_order_numbers: &'a str,
}

/// Spelling of the credential query parameters (reference §3 vs §7/§12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryStyle {
    /// `username` / `password` (gpojson).
    Lower,
    /// `userName` / `password` (gos, gcd).
    Camel,
}

impl Credentials {
    fn create_head_json(&self) -> Result<String, RequestProblem> {
        match self {
            Credentials::MerchantPassword {
                merchant_id,
                password,
            } => to_json(&CreateHead {
                merchant_id,
                merchant_password: password.expose(),
            }),
        }
    }

    pub(crate) fn csv_orders_json(&self, csv: &str) -> Result<String, RequestProblem> {
        match self {
            Credentials::MerchantPassword {
                merchant_id,
                password,
            } => to_json(&CsvOrders {
                username: merchant_id,
                password: password.expose(),
                csv_order_numbers: csv,
            }),
        }
    }

    pub(crate) fn query_pairs(&self, style: QueryStyle) -> Vec<(&'static str, String)> {
        match self {
            Credentials::MerchantPassword {
                merchant_id,
                password,
            } => {
                let user = match style {
                    QueryStyle::Lower => "username",
                    QueryStyle::Camel => "userName",
                };
                vec![
                    (user, merchant_id.clone()),
                    ("password", password.expose().to_string()),
                ]
            }
        }
    }

    /// Every secret this profile could put into text, for redaction.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        match self {
            Credentials::MerchantPassword { password, .. } => vec![password.clone()],
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, RequestProblem> {
    serde_json::to_string(value).map_err(|e| RequestProblem::Build(e.to_string()))
}

/// Formats a date with a chrono format string without the panic `to_string` would raise
/// on a bad format.
pub(crate) fn format_date(date: NaiveDate, format: &str) -> Result<String, RequestProblem> {
    let mut out = String::new();
    write!(out, "{}", date.format(format))
        .map_err(|_| RequestProblem::DateFormat(format.to_string()))?;
    Ok(out)
}

/// True when `format` is a chrono format string that can format a date.
pub(crate) fn date_format_is_valid(format: &str) -> bool {
    NaiveDate::from_ymd_opt(2020, 3, 21).is_some_and(|d| format_date(d, format).is_ok())
}

/// One order as the samples write it: amounts and dates as strings, field order as in
/// the guide.
#[derive(Serialize)]
struct OrderItem<'a> {
    #[serde(rename = "OrderNumber")]
    order_number: &'a str,
    #[serde(rename = "OrderAmount")]
    order_amount: String,
    #[serde(rename = "OrderDueDate")]
    order_due_date: String,
    #[serde(
        rename = "OrderAmountWithinDueDate",
        skip_serializing_if = "Option::is_none"
    )]
    amount_within_due_date: Option<String>,
    #[serde(
        rename = "OrderAmountAfterDueDate",
        skip_serializing_if = "Option::is_none"
    )]
    amount_after_due_date: Option<String>,
    #[serde(rename = "OrderType")]
    order_type: &'static str,
    #[serde(rename = "IssueDate")]
    issue_date: String,
    #[serde(
        rename = "OrderExpireAfterSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    expire_after_seconds: Option<String>,
    #[serde(rename = "CustomerName")]
    customer_name: &'a str,
    #[serde(rename = "CustomerMobile")]
    customer_mobile: &'a str,
    #[serde(rename = "CustomerEmail")]
    customer_email: &'a str,
    #[serde(rename = "CustomerAddress")]
    customer_address: &'a str,
}

fn order_item_json(order: &Order, date_format: &str) -> Result<String, RequestProblem> {
    to_json(&OrderItem {
        order_number: &order.order_number,
        order_amount: order.amount.to_wire(),
        order_due_date: format_date(order.due_date, date_format)?,
        amount_within_due_date: order.amount_within_due_date.map(|m| m.to_wire()),
        amount_after_due_date: order.amount_after_due_date.map(|m| m.to_wire()),
        order_type: ORDER_TYPE_SERVICE,
        issue_date: format_date(order.issue_date, date_format)?,
        expire_after_seconds: order.expire_after_seconds.map(|s| s.to_string()),
        customer_name: &order.customer_name,
        customer_mobile: &order.customer_mobile,
        customer_email: &order.customer_email,
        customer_address: &order.customer_address,
    })
}

#[derive(Serialize)]
struct ConsumerItem<'a> {
    #[serde(rename = "ConsumerID")]
    consumer_id: &'a str,
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Mobile")]
    mobile: &'a str,
    #[serde(rename = "Email")]
    email: &'a str,
    #[serde(rename = "Address")]
    address: &'a str,
}

/// Only the fields given are sent: the API changes exactly those (reference §10).
#[derive(Serialize)]
struct ConsumerUpdateItem<'a> {
    #[serde(rename = "ConsumerID")]
    consumer_id: &'a str,
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "Mobile", skip_serializing_if = "Option::is_none")]
    mobile: Option<&'a str>,
    #[serde(rename = "Email", skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(rename = "Address", skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
}

fn check_batch(count: usize) -> Result<(), RequestProblem> {
    if count == 0 {
        return Err(RequestProblem::Empty);
    }
    if count > BATCH_MAX {
        return Err(RequestProblem::TooManyItems {
            count,
            max: BATCH_MAX,
        });
    }
    Ok(())
}

/// `[credentials, item, item, ...]` — the array of `co`/`cc`/`uc` (in `oJson`) and of
/// the uploaded file of `cmo`/`cmc`/`umc`.
fn envelope(creds: &Credentials, items: &[String]) -> Result<String, RequestProblem> {
    let mut out = String::from("[");
    out.push_str(&creds.create_head_json()?);
    for item in items {
        out.push(',');
        out.push_str(item);
    }
    out.push(']');
    Ok(out)
}

pub(crate) fn orders_json(
    creds: &Credentials,
    orders: &[Order],
    date_format: &str,
) -> Result<String, RequestProblem> {
    check_batch(orders.len())?;
    let items = orders
        .iter()
        .map(|o| order_item_json(o, date_format))
        .collect::<Result<Vec<_>, _>>()?;
    envelope(creds, &items)
}

pub(crate) fn consumers_json(
    creds: &Credentials,
    consumers: &[Consumer],
) -> Result<String, RequestProblem> {
    check_batch(consumers.len())?;
    let items = consumers
        .iter()
        .map(|c| {
            to_json(&ConsumerItem {
                consumer_id: &c.consumer_id,
                name: &c.name,
                mobile: &c.mobile,
                email: &c.email,
                address: &c.address,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    envelope(creds, &items)
}

pub(crate) fn consumer_updates_json(
    creds: &Credentials,
    updates: &[ConsumerUpdate],
) -> Result<String, RequestProblem> {
    check_batch(updates.len())?;
    let items = updates
        .iter()
        .map(|u| {
            to_json(&ConsumerUpdateItem {
                consumer_id: &u.consumer_id,
                name: u.name.as_deref(),
                mobile: u.mobile.as_deref(),
                email: u.email.as_deref(),
                address: u.address.as_deref(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    envelope(creds, &items)
}

fn check_order_number(n: &str) -> Result<(), RequestProblem> {
    if n.trim().is_empty() {
        return Err(RequestProblem::EmptyKey);
    }
    if n.contains(',') || n.contains('|') {
        return Err(RequestProblem::ForbiddenCharacter(n.to_string()));
    }
    Ok(())
}

/// `CsvOrderNumbers` entries for `moap`/`moab`: the order numbers.
pub(crate) fn mark_entries(refs: &[OrderRef]) -> Result<Vec<String>, RequestProblem> {
    if refs.is_empty() {
        return Err(RequestProblem::Empty);
    }
    refs.iter()
        .map(|r| check_order_number(&r.order_number).map(|()| r.order_number.clone()))
        .collect()
}

/// `CsvOrderNumbers` entries for `mofr`: `ORDER,AMOUNT`.
pub(crate) fn refund_entries(refunds: &[Refund]) -> Result<Vec<String>, RequestProblem> {
    if refunds.is_empty() {
        return Err(RequestProblem::Empty);
    }
    refunds
        .iter()
        .map(|r| {
            check_order_number(&r.order_number)
                .map(|()| format!("{},{}", r.order_number, r.amount.to_wire()))
        })
        .collect()
}

/// The guide's length of the whole `csvOrders` parameter of `moap`/`moab`/`mofr`: the
/// JSON object with the credentials and `CsvOrderNumbers`, as sent, before URL
/// encoding (connectpay-api.md §4-6).
pub const CSV_ORDERS_MAX: usize = 4000;

/// Length as the server counts it (a .NET string: UTF-16 code units).
fn wire_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// What `text` adds to a JSON string it is written into: serde_json escapes `"`, `\`
/// and control characters, character by character, so lengths add up.
fn escaped_len(text: &str) -> Result<usize, RequestProblem> {
    Ok(wire_len(&to_json(&text)?).saturating_sub(2))
}

/// One mark call: the entries it carries and its `csvOrders` parameter, exactly as it
/// is sent.
pub(crate) struct CsvCall {
    pub range: Range<usize>,
    pub csv_orders: String,
}

/// Packs entries, in order, into calls whose whole `csvOrders` parameter (credentials
/// included) is at most `max` characters: greedy, so each call is as full as the limit
/// allows and the next entry would not have fitted. Entries are joined by `sep` (`,`
/// or `|`, which JSON does not escape). An entry that cannot fit even alone is an
/// error naming its order.
pub(crate) fn csv_calls(
    creds: &Credentials,
    entries: &[String],
    sep: char,
    max: usize,
) -> Result<Vec<CsvCall>, RequestProblem> {
    let overhead = wire_len(&creds.csv_orders_json("")?);
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut len = overhead;
    for (i, entry) in entries.iter().enumerate() {
        let cost = escaped_len(entry)?;
        if overhead + cost > max {
            let order_number = entry.split(',').next().unwrap_or(entry).to_string();
            return Err(RequestProblem::EntryTooLong {
                order_number,
                len: overhead + cost,
                max,
            });
        }
        let extra = if i == start { cost } else { cost + 1 };
        if len + extra > max {
            ranges.push(start..i);
            start = i;
            len = overhead + cost;
        } else {
            len += extra;
        }
    }
    if start < entries.len() {
        ranges.push(start..entries.len());
    }
    let mut sep_buf = [0u8; 4];
    let sep = sep.encode_utf8(&mut sep_buf);
    ranges
        .into_iter()
        .map(|range| {
            let csv_orders = creds.csv_orders_json(&entries[range.clone()].join(sep))?;
            // The sum above is exact; this guards the promise made to the server.
            let sent = wire_len(&csv_orders);
            if sent > max {
                return Err(RequestProblem::Build(format!(
                    "a csvOrders parameter of {sent} characters was packed; at most {max} are allowed"
                )));
            }
            Ok(CsvCall { range, csv_orders })
        })
        .collect()
}

/// How [`csv_calls`] splits a list, for callers that journal each call: the range of
/// entries of each call, in order. `entries` are `CsvOrderNumbers` entries (order
/// numbers for `moap`/`moab`, `ORDER,AMOUNT` for `mofr`, see [`mark_entries`] and
/// [`refund_entries`]).
pub(crate) fn csv_call_ranges(
    creds: &Credentials,
    entries: &[String],
    sep: char,
) -> Result<Vec<Range<usize>>, RequestProblem> {
    Ok(csv_calls(creds, entries, sep, CSV_ORDERS_MAX)?
        .into_iter()
        .map(|c| c.range)
        .collect())
}

/// `{base}/cpay/{endpoint}` with the given query parameters, form-URL-encoded.
pub(crate) fn endpoint_url(base: &Url, endpoint: Endpoint, query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    let path = format!(
        "{}/cpay/{}",
        base.path().trim_end_matches('/'),
        endpoint.path()
    );
    url.set_path(&path);
    url.set_query(None);
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;

    fn creds() -> Credentials {
        Credentials::MerchantPassword {
            merchant_id: "PayProUser".into(),
            password: Secret::new("p@ss/w\"rd"),
        }
    }

    fn money(s: &str) -> Money {
        s.parse().unwrap_or_else(|_| Money::zero())
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn order(n: &str) -> Order {
        Order {
            order_number: n.into(),
            amount: money("4400"),
            due_date: date(2020, 3, 21),
            issue_date: date(2020, 3, 14),
            customer_name: "Umer Aziz".into(),
            customer_mobile: "03123456789".into(),
            customer_email: "".into(),
            customer_address: "".into(),
            expire_after_seconds: None,
            amount_within_due_date: None,
            amount_after_due_date: None,
        }
    }

    #[test]
    fn order_json_is_the_sample_shape() {
        let json = orders_json(&creds(), &[order("OpenCart115319")], "%d/%m/%Y");
        assert_eq!(
            json.as_deref(),
            Ok(concat!(
                r#"[{"MerchantId":"PayProUser","MerchantPassword":"p@ss/w\"rd"},"#,
                r#"{"OrderNumber":"OpenCart115319","OrderAmount":"4400","OrderDueDate":"21/03/2020","#,
                r#""OrderType":"Service","IssueDate":"14/03/2020","CustomerName":"Umer Aziz","#,
                r#""CustomerMobile":"03123456789","CustomerEmail":"","CustomerAddress":""}]"#
            ))
        );
    }

    #[test]
    fn optional_order_fields_are_strings() {
        let mut o = order("A-1");
        o.amount = money("1500.5");
        o.expire_after_seconds = Some(0);
        o.amount_within_due_date = Some(money("1500.5"));
        o.amount_after_due_date = Some(money("1600"));
        let json =
            orders_json(&creds(), &[o.clone(), order("A-2")], "%Y-%m-%d").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(v[1]["OrderAmount"], "1500.50");
        assert_eq!(v[1]["OrderAmountWithinDueDate"], "1500.50");
        assert_eq!(v[1]["OrderAmountAfterDueDate"], "1600");
        assert_eq!(v[1]["OrderExpireAfterSeconds"], "0");
        assert_eq!(v[1]["OrderDueDate"], "2020-03-21");
        assert_eq!(v[2]["OrderNumber"], "A-2");
        assert!(v[2].get("OrderExpireAfterSeconds").is_none());
        assert_eq!(v.as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn batch_limits() {
        assert_eq!(
            orders_json(&creds(), &[], "%d/%m/%Y"),
            Err(RequestProblem::Empty)
        );
        let many: Vec<Order> = (0..51).map(|i| order(&format!("N-{i}"))).collect();
        assert_eq!(
            orders_json(&creds(), &many, "%d/%m/%Y"),
            Err(RequestProblem::TooManyItems { count: 51, max: 50 })
        );
        assert!(orders_json(&creds(), &many[..50], "%d/%m/%Y").is_ok());
    }

    #[test]
    fn consumer_json_and_partial_update() {
        let c = Consumer {
            consumer_id: "123456780".into(),
            name: "Usman".into(),
            mobile: "03123456789".into(),
            email: "abcd@paypro.com.pk".into(),
            address: "".into(),
        };
        assert_eq!(
            consumers_json(&creds(), &[c]).as_deref(),
            Ok(concat!(
                r#"[{"MerchantId":"PayProUser","MerchantPassword":"p@ss/w\"rd"},"#,
                r#"{"ConsumerID":"123456780","Name":"Usman","Mobile":"03123456789","#,
                r#""Email":"abcd@paypro.com.pk","Address":""}]"#
            ))
        );
        let u = ConsumerUpdate {
            consumer_id: "0040123456780".into(),
            name: None,
            mobile: Some("03001234567".into()),
            email: None,
            address: Some("".into()),
        };
        assert_eq!(
            consumer_updates_json(&creds(), &[u]).as_deref(),
            Ok(concat!(
                r#"[{"MerchantId":"PayProUser","MerchantPassword":"p@ss/w\"rd"},"#,
                r#"{"ConsumerID":"0040123456780","Mobile":"03001234567","Address":""}]"#
            ))
        );
    }

    #[test]
    fn csv_orders_object() {
        assert_eq!(
            creds().csv_orders_json("A-1,A-2").as_deref(),
            Ok(r#"{"Username":"PayProUser","Password":"p@ss/w\"rd","CsvOrderNumbers":"A-1,A-2"}"#)
        );
    }

    #[test]
    fn refund_entries_and_join() {
        let refunds = vec![
            Refund {
                order_number: "HR-100178".into(),
                amount: money("450"),
            },
            Refund {
                order_number: "KV-1011".into(),
                amount: money("450.5"),
            },
        ];
        let entries = refund_entries(&refunds).unwrap_or_default();
        assert_eq!(entries, vec!["HR-100178,450", "KV-1011,450.50"]);
        let calls = csv_calls(&creds(), &entries, '|', CSV_ORDERS_MAX).unwrap_or_default();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].range, 0..2);
        assert_eq!(
            calls[0].csv_orders,
            r#"{"Username":"PayProUser","Password":"p@ss/w\"rd","CsvOrderNumbers":"HR-100178,450|KV-1011,450.50"}"#
        );
    }

    #[test]
    fn mark_entries_refuse_separators_and_empty() {
        let r = |n: &str| OrderRef {
            order_number: n.into(),
        };
        assert_eq!(mark_entries(&[]), Err(RequestProblem::Empty));
        assert_eq!(
            mark_entries(&[r("A,1")]),
            Err(RequestProblem::ForbiddenCharacter("A,1".into()))
        );
        assert_eq!(
            mark_entries(&[r("A|1")]),
            Err(RequestProblem::ForbiddenCharacter("A|1".into()))
        );
        assert_eq!(mark_entries(&[r(" ")]), Err(RequestProblem::EmptyKey));
        assert_eq!(
            mark_entries(&[r("A-1"), r("A-2")]),
            Ok(vec!["A-1".into(), "A-2".into()])
        );
    }

    /// `{"Username":"PayProUser","Password":"p@ss/w\"rd","CsvOrderNumbers":""}`: the
    /// quote in the password is escaped, so it counts twice.
    const OVERHEAD: usize = 70;

    #[test]
    fn the_whole_csv_orders_parameter_counts_credentials_included() {
        assert_eq!(
            wire_len(&creds().csv_orders_json("").unwrap_or_default()),
            OVERHEAD
        );
        // 600 order numbers of 9 characters: 3930 characters are left for them, so
        // 393 fit (393*9 + 392 commas = 3929); the 394th would make 4009.
        let entries: Vec<String> = (0..600).map(|i| format!("ORD-{i:05}")).collect();
        let calls = csv_calls(&creds(), &entries, ',', CSV_ORDERS_MAX).unwrap_or_default();
        let ranges: Vec<Range<usize>> = calls.iter().map(|c| c.range.clone()).collect();
        assert_eq!(ranges, vec![0..393, 393..600]);
        assert_eq!(calls[0].csv_orders.len(), 3999);
        for c in &calls {
            assert!(wire_len(&c.csv_orders) <= CSV_ORDERS_MAX);
            let v: serde_json::Value = serde_json::from_str(&c.csv_orders).unwrap_or_default();
            assert_eq!(v["Username"], "PayProUser");
            assert_eq!(v["Password"], "p@ss/w\"rd");
        }
        let rejoined: Vec<String> = calls
            .iter()
            .flat_map(|c| {
                let v: serde_json::Value = serde_json::from_str(&c.csv_orders).unwrap_or_default();
                let csv = v["CsvOrderNumbers"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                csv.split(',').map(str::to_string).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(rejoined, entries, "everything, once, in order");
        assert_eq!(csv_call_ranges(&creds(), &entries, ','), Ok(ranges));
    }

    #[test]
    fn packing_exact_boundary_escapes_and_utf16() {
        let budget = CSV_ORDERS_MAX - OVERHEAD;
        let entries = vec!["a".repeat(budget - 2001), "b".repeat(2000), "c".into()];
        let calls = csv_calls(&creds(), &entries, ',', CSV_ORDERS_MAX).unwrap_or_default();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].range, 0..2);
        assert_eq!(calls[0].csv_orders.len(), 4000, "exactly full");
        assert_eq!(calls[1].range, 2..3);
        // A quote costs two characters once escaped, a backslash too; a character
        // outside the BMP is two UTF-16 units, as .NET counts it.
        for (tricky, cost) in [("\"", 2), ("\\", 2), ("€", 1), ("𝄞", 2)] {
            let fill = "x".repeat(budget - cost);
            let calls = csv_calls(&creds(), &[fill.clone() + tricky], ',', CSV_ORDERS_MAX);
            let calls = calls.unwrap_or_default();
            assert_eq!(calls.len(), 1, "{tricky}");
            assert_eq!(wire_len(&calls[0].csv_orders), 4000, "{tricky}");
            assert!(matches!(
                csv_calls(&creds(), &[fill + "x" + tricky], ',', CSV_ORDERS_MAX),
                Err(RequestProblem::EntryTooLong { len: 4001, .. })
            ));
        }
        let too_long = vec!["x".repeat(budget + 1)];
        assert!(matches!(
            csv_calls(&creds(), &too_long, ',', CSV_ORDERS_MAX),
            Err(RequestProblem::EntryTooLong { len: 4001, .. })
        ));
    }

    #[test]
    fn urls_and_query_names() {
        let base = Url::parse("http://127.0.0.1:8080").unwrap_or_else(|_| unreachable!());
        let c = creds();
        let q = c.query_pairs(QueryStyle::Lower);
        let mut pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push(("startDate", "2020-01-01"));
        pairs.push(("endDate", "2020-01-31"));
        let url = endpoint_url(&base, Endpoint::Gpojson, &pairs);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/cpay/gpojson?username=PayProUser&password=p%40ss%2Fw%22rd&startDate=2020-01-01&endDate=2020-01-31"
        );
        let q = c.query_pairs(QueryStyle::Camel);
        assert_eq!(q[0].0, "userName");
        assert_eq!(q[1].0, "password");
        let prefixed = Url::parse("https://h.example/api/").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            endpoint_url(&prefixed, Endpoint::Cmo, &[]).as_str(),
            "https://h.example/api/cpay/cmo"
        );
    }

    #[test]
    fn date_formats() {
        assert_eq!(
            format_date(date(2020, 3, 21), "%d/%m/%Y").as_deref(),
            Ok("21/03/2020")
        );
        assert!(date_format_is_valid("%Y-%m-%d"));
        assert!(!date_format_is_valid("%Q"));
    }
}
