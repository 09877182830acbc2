//! Reports: the paid-orders report over a date range (fetched in chunks with bounded
//! concurrency, merged, duplicates removed), the ids it lets the journal fill in, and the
//! export of paid orders and of a run's results through [`crate::sheet::write`]. Faces
//! (the headless commands, the console) call these and render the [`ReportEvent`]s;
//! nothing here prints or formats cells.
//!
//! Fetch rules:
//! - The range is cut into chunks: calendar months by default (the first and last
//!   clipped to the range), or a fixed number of days. Each chunk is one `gpojson`
//!   call; at most `concurrency` are in flight.
//! - Status 03 ("no records") is an empty chunk. 01/02 (bad credentials, bad range, not
//!   authorised) stop the fetch with a clear error: no file is written.
//! - Transport failures, 5xx and unreadable answers are retried (the call only reads)
//!   a few times with backoff, then stop the fetch.
//! - Orders are merged in chunk order, then sorted by date paid and order number; an
//!   order listed twice (same ConnectPay Id; by order number when it has no id) is kept
//!   once.

pub mod results;

use crate::api::{ApiError, Client, PaidOrder};
use crate::journal::{FilledId, Journal, JournalError, KnownOrder, NewCheck, OrderObservation};
use crate::sheet::write::PaidOrderRow;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// A range of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {}",
            self.start.format("%Y-%m-%d"),
            self.end.format("%Y-%m-%d")
        )
    }
}

/// How a long range is cut into calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Calendar months (the default).
    Months,
    /// A fixed number of days per call (at least 1).
    Days(u32),
}

/// The chunks of `range`, in date order, covering every day exactly once.
pub fn chunks(range: DateRange, chunking: Chunking) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start <= range.end {
        let natural_end = match chunking {
            Chunking::Days(n) => start.checked_add_days(Days::new(u64::from(n.max(1)) - 1)),
            Chunking::Months => last_of_month(start),
        };
        let end = natural_end.map_or(range.end, |e| e.min(range.end));
        out.push(DateRange { start, end });
        match end.succ_opt() {
            Some(next) => start = next,
            None => break,
        }
    }
    out
}

fn last_of_month(d: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

/// How to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    pub chunking: Chunking,
    /// Calls in flight at once (1..=16).
    pub concurrency: usize,
    /// Calls per chunk before a retryable failure stops the fetch.
    pub attempts: u32,
    /// First wait before a retry, doubled each time.
    pub backoff: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            chunking: Chunking::Months,
            concurrency: 4,
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// What a face hears while a report is fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportEvent {
    Started {
        range: DateRange,
        chunks: usize,
    },
    ChunkStarted {
        index: usize,
        range: DateRange,
    },
    /// A call failed in a way worth trying again; it will be, after `delay`.
    ChunkRetrying {
        index: usize,
        range: DateRange,
        attempt: u32,
        delay: Duration,
        error: String,
    },
    ChunkDone {
        index: usize,
        range: DateRange,
        orders: usize,
    },
    /// Every chunk is in: `orders` after removing `duplicates`.
    Merged {
        orders: usize,
        duplicates: usize,
    },
}

/// A fetched paid-orders report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidReport {
    pub merchant_id: String,
    pub base_url: String,
    pub range: DateRange,
    pub fetched_at: DateTime<Utc>,
    pub chunks: usize,
    /// Sorted by date paid, then order number.
    pub orders: Vec<PaidOrder>,
    /// Orders listed more than once and kept once.
    pub duplicates: usize,
}

impl PaidReport {
    /// How reconciliation names the source of the ids it fills in.
    pub fn source_note(&self) -> String {
        format!(
            "paid-orders report for {} fetched at {}",
            self.range,
            self.fetched_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Why a report could not be fetched. No file is written after any of these.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the start date {} is after the end date {}", .0.start, .0.end)]
    Range(DateRange),

    #[error(
        "PayPro refused the merchant id or password for the paid-orders report ({range}): {source}; check the password (PAYPRO_PASSWORD or the prompt) and the merchant id"
    )]
    Credentials {
        range: DateRange,
        #[source]
        source: ApiError,
    },

    #[error("PayPro refused the paid-orders report for {range}: {source}")]
    Refused {
        range: DateRange,
        #[source]
        source: ApiError,
    },

    #[error(
        "the paid-orders report for {range} could not be fetched after {attempts} tries: {source}"
    )]
    Fetch {
        range: DateRange,
        attempts: u32,
        #[source]
        source: ApiError,
    },

    #[error("the paid-orders report was cancelled")]
    Cancelled,
}

fn emit(events: Option<&UnboundedSender<ReportEvent>>, event: ReportEvent) {
    // A face that went away does not stop the fetch.
    if let Some(tx) = events {
        let _ = tx.send(event);
    }
}

/// Fetches the paid orders of `range` for the client's merchant.
pub async fn fetch_paid_orders(
    client: &Client,
    merchant_id: &str,
    base_url: &str,
    range: DateRange,
    options: &FetchOptions,
    events: Option<UnboundedSender<ReportEvent>>,
    cancel: CancellationToken,
) -> Result<PaidReport, ReportError> {
    if range.start > range.end {
        return Err(ReportError::Range(range));
    }
    let fetched_at = Utc::now();
    let parts = chunks(range, options.chunking);
    let events = events.as_ref();
    emit(
        events,
        ReportEvent::Started {
            range,
            chunks: parts.len(),
        },
    );
    let concurrency = options.concurrency.clamp(1, 16);
    let mut stream = futures::stream::iter(parts.iter().copied().enumerate())
        .map(|(index, part)| fetch_chunk(client, index, part, options, events, &cancel))
        .buffer_unordered(concurrency);
    let mut got: Vec<Option<Vec<PaidOrder>>> = vec![None; parts.len()];
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(ReportError::Cancelled),
            next = stream.next() => next,
        };
        let Some(result) = next else { break };
        // The first failure stops everything: dropping the stream drops the calls
        // still in flight.
        let (index, orders) = result?;
        if let Some(slot) = got.get_mut(index) {
            *slot = Some(orders);
        }
    }
    drop(stream);
    let (orders, duplicates) = merge(got.into_iter().flatten().flatten());
    emit(
        events,
        ReportEvent::Merged {
            orders: orders.len(),
            duplicates,
        },
    );
    Ok(PaidReport {
        merchant_id: merchant_id.to_string(),
        base_url: base_url.to_string(),
        range,
        fetched_at,
        chunks: parts.len(),
        orders,
        duplicates,
    })
}

async fn fetch_chunk(
    client: &Client,
    index: usize,
    range: DateRange,
    options: &FetchOptions,
    events: Option<&UnboundedSender<ReportEvent>>,
    cancel: &CancellationToken,
) -> Result<(usize, Vec<PaidOrder>), ReportError> {
    emit(events, ReportEvent::ChunkStarted { index, range });
    let attempts = options.attempts.max(1);
    let mut delay = options.backoff;
    let mut attempt = 1;
    loop {
        match client.paid_orders(range.start, range.end).await {
            Ok(orders) => {
                emit(
                    events,
                    ReportEvent::ChunkDone {
                        index,
                        range,
                        orders: orders.len(),
                    },
                );
                return Ok((index, orders));
            }
            Err(e) if e.is_auth() => return Err(ReportError::Credentials { range, source: e }),
            Err(e) if e.is_retryable() && attempt < attempts => {
                emit(
                    events,
                    ReportEvent::ChunkRetrying {
                        index,
                        range,
                        attempt,
                        delay,
                        error: e.to_string(),
                    },
                );
                tokio::select! {
                    _ = cancel.cancelled() => return Err(ReportError::Cancelled),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            Err(e) if e.is_retryable() => {
                return Err(ReportError::Fetch {
                    range,
                    attempts,
                    source: e,
                });
            }
            Err(e) => return Err(ReportError::Refused { range, source: e }),
        }
    }
}

/// Keeps each order once (by ConnectPay Id, else by order number) and sorts by date
/// paid, then order number. Returns the orders and how many duplicates were dropped.
pub fn merge(all: impl IntoIterator<Item = PaidOrder>) -> (Vec<PaidOrder>, usize) {
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut seen_numbers: HashSet<String> = HashSet::new();
    let mut orders = Vec::new();
    let mut duplicates = 0;
    for o in all {
        let fresh = match o.connectpay_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => seen_ids.insert(id.to_string()),
            _ => seen_numbers.insert(o.order_number.clone()),
        };
        if fresh {
            orders.push(o);
        } else {
            duplicates += 1;
        }
    }
    // Orders without a date paid (the API should not send any) go last.
    orders.sort_by(|a, b| {
        (a.date_paid.is_none(), a.date_paid, &a.order_number).cmp(&(
            b.date_paid.is_none(),
            b.date_paid,
            &b.order_number,
        ))
    });
    (orders, duplicates)
}

/// Fills into the journal the ids the report shows for orders whose create answer was
/// lost (see [`Journal::fill_ids_from_report`]).
pub fn reconcile(journal: &Journal, report: &PaidReport) -> Result<Vec<FilledId>, JournalError> {
    let reported: Vec<(String, String)> = report
        .orders
        .iter()
        .filter_map(|o| {
            o.connectpay_id
                .as_ref()
                .map(|id| (o.order_number.clone(), id.trim().to_string()))
        })
        .collect();
    journal.fill_ids_from_report(
        &report.merchant_id,
        &report.base_url,
        &reported,
        &report.source_note(),
    )
}

/// Records in the journal that the report's orders are paid (amount and date paid,
/// seen at the fetch): what refunds are checked against before sending, beside status
/// refreshes. One transaction.
pub fn record_paid(journal: &Journal, report: &PaidReport) -> Result<(), JournalError> {
    let observations: Vec<OrderObservation> = report
        .orders
        .iter()
        .filter_map(|o| {
            let id = o.connectpay_id.as_deref().map(str::trim)?;
            (!id.is_empty()).then(|| OrderObservation {
                connectpay_id: id.to_string(),
                order_number: Some(o.order_number.clone()),
                status: Some("Paid".to_string()),
                amount_paid: o.amount_paid,
                date_paid: o.date_paid,
                checked_at: report.fetched_at,
                error: None,
            })
        })
        .collect();
    if observations.is_empty() {
        return Ok(());
    }
    journal
        .record_status_check(
            &NewCheck {
                merchant_id: report.merchant_id.clone(),
                base_url: report.base_url.clone(),
                run: None,
                source: report.source_note(),
            },
            &observations,
        )
        .map(|_| ())
}

/// What the journal knows of the report's orders (customer name, refunds), for
/// [`paid_row`].
pub fn known_orders(
    report: &PaidReport,
    journal: &Journal,
) -> Result<HashMap<String, KnownOrder>, JournalError> {
    journal.known_orders(
        &report.merchant_id,
        &report.base_url,
        report.orders.iter().map(|o| o.order_number.as_str()),
    )
}

/// One order of the report as the workbook shows it, with what the journal knows of
/// it. Built row by row while writing, so a large report is never held twice.
pub fn paid_row(o: &PaidOrder, known: &HashMap<String, KnownOrder>) -> PaidOrderRow {
    let k = known.get(&o.order_number);
    PaidOrderRow {
        order_number: o.order_number.clone(),
        connectpay_id: o.connectpay_id.clone(),
        customer_name: k.and_then(|k| k.customer_name.clone()),
        mobile: o.customer_mobile.clone(),
        email: o.customer_email.clone(),
        address: o.customer_address.clone(),
        issue_date: o.issue_date,
        due_date: o.due_date,
        date_created: o.date_created,
        date_paid: o.date_paid,
        order_amount: o.order_amount,
        amount_paid: o.amount_paid,
        refunded: k.and_then(|k| k.refunded),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn r(a: &str, b: &str) -> DateRange {
        DateRange {
            start: d(a),
            end: d(b),
        }
    }

    #[test]
    fn months_are_calendar_months_clipped_to_the_range() {
        assert_eq!(
            chunks(r("2026-01-15", "2026-03-10"), Chunking::Months),
            vec![
                r("2026-01-15", "2026-01-31"),
                r("2026-02-01", "2026-02-28"),
                r("2026-03-01", "2026-03-10"),
            ]
        );
        assert_eq!(
            chunks(r("2025-12-01", "2026-01-31"), Chunking::Months),
            vec![r("2025-12-01", "2025-12-31"), r("2026-01-01", "2026-01-31")]
        );
        assert_eq!(
            chunks(r("2026-05-05", "2026-05-05"), Chunking::Months),
            vec![r("2026-05-05", "2026-05-05")]
        );
    }

    #[test]
    fn day_chunks_cover_every_day_once() {
        let range = r("2026-01-01", "2026-03-31");
        for n in [1, 7, 10, 31, 90, 1000] {
            let parts = chunks(range, Chunking::Days(n));
            assert_eq!(parts[0].start, range.start);
            assert_eq!(parts.last().unwrap().end, range.end);
            for w in parts.windows(2) {
                assert_eq!(w[0].end.succ_opt(), Some(w[1].start), "n={n}");
            }
            for p in &parts {
                assert!(p.start <= p.end);
                assert!((p.end - p.start).num_days() < i64::from(n));
            }
        }
        assert_eq!(chunks(range, Chunking::Days(10)).len(), 9);
        assert!(chunks(r("2026-02-01", "2026-01-01"), Chunking::Months).is_empty());
    }

    fn order(n: &str, id: Option<&str>, paid: &str) -> PaidOrder {
        PaidOrder {
            order_number: n.into(),
            connectpay_id: id.map(Into::into),
            order_amount: None,
            amount_paid: None,
            date_paid: Some(d(paid).and_hms_opt(0, 0, 0).unwrap()),
            date_created: None,
            issue_date: None,
            due_date: None,
            customer_email: None,
            customer_mobile: None,
            customer_address: None,
        }
    }

    #[test]
    fn merge_keeps_each_order_once_and_sorts_by_date_paid() {
        let (orders, dups) = merge(vec![
            order("B", Some("0044000000002"), "2026-01-02"),
            order("A", Some("0044000000001"), "2026-01-02"),
            order("C", Some("0044000000003"), "2026-01-01"),
            order("A", Some("0044000000001"), "2026-01-02"),
            order("X", None, "2026-01-03"),
            order("X", None, "2026-01-03"),
        ]);
        let numbers: Vec<&str> = orders.iter().map(|o| o.order_number.as_str()).collect();
        assert_eq!(numbers, ["C", "A", "B", "X"]);
        assert_eq!(dups, 2);
    }
}
