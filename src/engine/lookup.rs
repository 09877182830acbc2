//! Consumer look-up: `gcd` for one full consumer code or a sheet of them, at most
//! `concurrency` at once, each answer journaled (`Journal::record_consumers`) with the
//! time of the look-up, for the clerk's workbook ([`crate::sheet::write::write_consumers`]).
//!
//! Rules: 03 ("no data") is a code PayPro does not know: recorded not found, with its
//! description. Transport failures, 5xx and unreadable answers are tried again
//! `attempts` times with a doubling backoff (a look-up only reads), then recorded not
//! found with the error. Refused credentials stop the look-up at once (what was found
//! before is journaled).

use super::EngineError;
use super::status::{StatusOptions, blocking};
use crate::api::{ApiError, ApiStatus, Client, ConsumerStatus};
use crate::journal::{ConsumerRecord, Journal, LookupId};
use crate::sheet::codes::Code;
use chrono::Utc;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// What a face hears while a look-up runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupEvent {
    Started {
        total: usize,
    },
    Looked {
        done: usize,
        total: usize,
        found: usize,
    },
}

/// What a look-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupReport {
    pub lookup: LookupId,
    /// Every code's record, in row order.
    pub records: Vec<ConsumerRecord>,
}

impl LookupReport {
    pub fn found(&self) -> usize {
        self.records.iter().filter(|r| r.found).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Engine(#[from] EngineError),

    #[error(
        "PayPro refused the merchant id or password for the consumer look-up: {0}; check the \
         password (PAYPRO_PASSWORD or the prompt) and the merchant id"
    )]
    Credentials(ApiError),

    #[error("the consumer look-up was cancelled after {done} of {total} codes")]
    Cancelled { done: usize, total: usize },
}

/// Whose consumers, and where the codes came from (for the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRequest {
    pub merchant_id: String,
    pub base_url: String,
    /// `code 0044123` or `file /data/codes.csv`.
    pub source: String,
    pub codes: Vec<Code>,
}

/// Looks every code up, journals each answer and returns them in row order.
pub async fn lookup_consumers(
    journal: &Journal,
    client: &Client,
    request: LookupRequest,
    options: &StatusOptions,
    events: Option<UnboundedSender<LookupEvent>>,
    cancel: CancellationToken,
) -> Result<LookupReport, LookupError> {
    let LookupRequest {
        merchant_id,
        base_url,
        source,
        codes,
    } = request;
    let total = codes.len();
    let j = journal.clone();
    let lookup = blocking::<_, LookupError>(move || {
        j.begin_consumer_lookup(&merchant_id, &base_url, &source)
    })
    .await?;
    let emit = |e: LookupEvent| {
        if let Some(tx) = &events {
            let _ = tx.send(e);
        }
    };
    emit(LookupEvent::Started { total });
    let mut stream = futures::stream::iter(codes)
        .map(|code| async move { look_up(client, code, options).await })
        .buffer_unordered(options.concurrency.clamp(1, 16));
    let mut records = Vec::with_capacity(total);
    let mut stopped = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                stopped = Some(LookupError::Cancelled { done: records.len(), total });
                break;
            }
            next = stream.next() => next,
        };
        let Some(looked) = next else { break };
        match looked {
            Ok(r) => records.push(r),
            Err(e) => {
                stopped = Some(LookupError::Credentials(e));
                break;
            }
        }
        let found = records.iter().filter(|r| r.found).count();
        emit(LookupEvent::Looked {
            done: records.len(),
            total,
            found,
        });
    }
    drop(stream);
    records.sort_by_key(|r| r.row);
    let j = journal.clone();
    let kept = records.clone();
    blocking::<_, LookupError>(move || {
        j.record_consumers(lookup, &kept)?;
        j.finish_consumer_lookup(lookup)
    })
    .await?;
    if let Some(e) = stopped {
        return Err(e);
    }
    Ok(LookupReport { lookup, records })
}

async fn look_up(
    client: &Client,
    code: Code,
    options: &StatusOptions,
) -> Result<ConsumerRecord, ApiError> {
    let mut delay = options.backoff;
    let mut attempt = 1;
    let missing = |status_code: Option<String>, message: String| ConsumerRecord {
        row: code.row,
        code: code.code.clone(),
        found: false,
        full_consumer_code: None,
        consumer_code: None,
        company_code: None,
        name: None,
        mobile: None,
        email: None,
        address: None,
        created_on: None,
        status_code,
        message: Some(message),
        checked_at: Utc::now(),
    };
    loop {
        match client.consumer_data(&code.code).await {
            Ok(c) => {
                return Ok(ConsumerRecord {
                    row: code.row,
                    code: code.code.clone(),
                    found: true,
                    full_consumer_code: c.full_consumer_code,
                    consumer_code: c.consumer_code,
                    company_code: c.company_code,
                    name: c.name,
                    mobile: c.mobile,
                    email: c.email,
                    address: c.address,
                    created_on: c.created_on,
                    status_code: Some("00".to_string()),
                    message: None,
                    checked_at: Utc::now(),
                });
            }
            Err(e) if e.is_auth() => return Err(e),
            Err(ApiError::Status {
                status: ApiStatus::Consumer(status),
                description,
                ..
            }) => {
                let why = match status {
                    ConsumerStatus::NoData => "PayPro has no consumer with this code",
                    _ => "PayPro refused the look-up",
                };
                return Ok(missing(
                    Some(status.code().to_string()),
                    format!("{why} (status {}: {description})", status.code()),
                ));
            }
            Err(e) if e.is_retryable() && attempt < options.attempts.max(1) => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            Err(e) => return Ok(missing(None, format!("could not be looked up: {e}"))),
        }
    }
}
