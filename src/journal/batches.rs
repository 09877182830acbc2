//! Batches (one HTTP request each) and attempts (one item's part in one request): the
//! write-ahead record before a request is sent, the answer after, crash recovery and
//! retry. Each public call is one transaction: it happens entirely or not at all.

use super::error::{Context, JournalError};
use super::model::{
    AttemptInfo, AttemptRecord, BatchId, ItemId, ItemOutcome, ItemState, Recovery, RunId, RunState,
};
use super::{Journal, now_text, parse_time, to_u32};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::{HashMap, HashSet};

/// Recorded on requests whose answer never reached the journal.
pub const INTERRUPTED_OUTCOME: &str =
    "interrupted (process ended before the response was recorded)";

impl Journal {
    /// Records that `item_ids` are about to be sent to `endpoint` in one request, and
    /// returns the batch to report the answer against. Call it *before* sending.
    ///
    /// In one transaction: the batch, its membership and positions, the items turned
    /// `in_flight` with their attempt counts raised. Refused (nothing written) unless
    /// this process holds the run's lock and every item belongs to the run and is
    /// pending, so an item can never be in two requests at once.
    pub fn begin_batch(
        &self,
        run: RunId,
        endpoint: &str,
        item_ids: &[ItemId],
    ) -> Result<BatchId, JournalError> {
        let endpoint = self.redact(endpoint);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("recording a batch")?;
        let batch = self.begin_batch_in(&tx, run, &endpoint, item_ids, &now_text())?;
        tx.commit().ctx("recording a batch")?;
        Ok(batch)
    }

    /// [`Journal::begin_batch`]'s writes inside the caller's transaction (`endpoint`
    /// already redacted). On an error some of them may have been made: the caller rolls
    /// the transaction (or its savepoint) back.
    fn begin_batch_in(
        &self,
        tx: &Connection,
        run: RunId,
        endpoint: &str,
        item_ids: &[ItemId],
        now: &str,
    ) -> Result<BatchId, JournalError> {
        if item_ids.is_empty() {
            return Err(JournalError::NotFound {
                what: "an item to send (the batch is empty)".to_string(),
            });
        }
        self.require_lock(tx, run)?;
        tx.prepare_cached(
            "INSERT INTO batches (run_id, endpoint, item_count, started_at)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![run.0, endpoint, item_ids.len() as i64, now]))
        .ctx("recording a batch")?;
        let batch = BatchId(tx.last_insert_rowid());
        // One prepared statement per item, the check folded into the change: an item
        // is marked only if it is of this run and pending, so one that is not (or is
        // named twice: the first mark made it in flight) changes no row, and nothing
        // of the batch is kept. Measured cheaper than the same work over a JSON array
        // of the ids, whose `IN (SELECT … json_each)` costs more than it saves.
        let mut mark = tx
            .prepare_cached(
                "UPDATE items SET state = 'in_flight', attempts = attempts + 1, updated_at = ?3
                 WHERE id = ?1 AND run_id = ?2 AND state = 'pending'",
            )
            .ctx("recording a batch")?;
        let mut member = tx
            .prepare_cached(
                "INSERT INTO attempts (batch_id, item_id, position) VALUES (?1, ?2, ?3)",
            )
            .ctx("recording a batch")?;
        for (position, item) in item_ids.iter().enumerate() {
            let marked = mark
                .execute(params![item.0, run.0, now])
                .ctx("recording a batch")?;
            if marked != 1 {
                return Err(why_not_sendable(tx, run, item_ids, position)?);
            }
            member
                .execute(params![batch.0, item.0, position as i64])
                .ctx("recording a batch")?;
        }
        Ok(batch)
    }

    /// Records the answer to a batch: the request's record, and one outcome for each of
    /// its items (every item, each once). In one transaction; any mismatch or illegal
    /// transition writes nothing. Does not need the lock: an answer that arrived is
    /// recorded even if the lock was broken meanwhile. Returns what each item became,
    /// in the order of `outcomes`.
    pub fn finish_batch(
        &self,
        batch: BatchId,
        record: &AttemptRecord,
        outcomes: &[(ItemId, ItemOutcome)],
    ) -> Result<Vec<Applied>, JournalError> {
        // Redact everything before taking the connection, to keep the lock short.
        let answer = self.prepare_answer(record, outcomes);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("recording a batch's answer")?;
        let applied = finish_batch_in(&tx, batch, &answer, &now_text())?;
        tx.commit().ctx("recording a batch's answer")?;
        Ok(applied)
    }

    /// An answer's free texts, redacted.
    fn prepare_answer<'a>(
        &self,
        record: &AttemptRecord,
        outcomes: &'a [(ItemId, ItemOutcome)],
    ) -> PreparedAnswer<'a> {
        PreparedAnswer {
            outcome: self.redact(&record.outcome),
            body: record.response_body.as_deref().map(|b| self.redact_body(b)),
            http_status: record.http_status,
            duration_ms: i64::try_from(record.duration_ms).unwrap_or(i64::MAX),
            items: outcomes
                .iter()
                .map(|(id, o)| (*id, o, self.texts_of(o)))
                .collect(),
        }
    }

    /// Begins and finishes batches together: every operation in one transaction (one
    /// commit, one fsync, for answers and write-ahead records that arrive together).
    /// Results come back in the order of `ops`. If one operation is refused, nothing
    /// of the group is written and each operation is then written on its own, so the
    /// refused one writes nothing and the others are whole; if the commit itself fails,
    /// every operation gets the error (nothing of the group was written).
    pub fn write_group(&self, ops: &[GroupOp]) -> Vec<GroupResult> {
        let prepared: Vec<Prepared<'_>> = ops.iter().map(|op| self.prepare_op(op)).collect();
        let now = now_text();
        match self.write_prepared(&prepared, &now) {
            Ok(results) => results,
            Err(Refused::Commit(context, e)) => group_failed(ops, context, &e),
            Err(Refused::Op(index, error)) if ops.len() == 1 => vec![failed(&ops[index], error)],
            // Failures are rare (a bug, a damaged file): the common case pays for no
            // savepoints, and the rare one for a transaction per operation.
            Err(Refused::Op(..)) => prepared
                .iter()
                .zip(ops)
                .map(
                    |(one, op)| match self.write_prepared(std::slice::from_ref(one), &now) {
                        Ok(mut results) => results.pop().unwrap_or_else(|| {
                            failed(
                                op,
                                JournalError::Corrupt {
                                    detail: "a journal write gave no result".to_string(),
                                },
                            )
                        }),
                        Err(Refused::Op(_, e)) => failed(op, e),
                        Err(Refused::Commit(context, e)) => {
                            group_failed(std::slice::from_ref(op), context, &e)
                                .pop()
                                .unwrap_or_else(|| failed(op, JournalError::WriterGone))
                        }
                    },
                )
                .collect(),
        }
    }

    /// The operation with its free texts redacted, ready to be written.
    fn prepare_op<'a>(&self, op: &'a GroupOp) -> Prepared<'a> {
        match op {
            GroupOp::Begin {
                run,
                endpoint,
                items,
            } => Prepared::Begin {
                run: *run,
                endpoint: self.redact(endpoint),
                items,
            },
            GroupOp::Finish {
                batch,
                record,
                outcomes,
            } => Prepared::Finish {
                batch: *batch,
                answer: self.prepare_answer(record, outcomes),
            },
        }
    }

    /// Writes `ops` in one transaction: all of them, or none if one is refused (its
    /// index and error) or the commit fails.
    fn write_prepared(&self, ops: &[Prepared<'_>], now: &str) -> Result<Vec<GroupResult>, Refused> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Refused::Commit("starting a journal transaction", e))?;
        let mut results = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            let result = match op {
                Prepared::Begin {
                    run,
                    endpoint,
                    items,
                } => self
                    .begin_batch_in(&tx, *run, endpoint, items, now)
                    .map(|b| GroupResult::Begun(Ok(b))),
                Prepared::Finish { batch, answer } => {
                    finish_batch_in(&tx, *batch, answer, now).map(|a| GroupResult::Finished(Ok(a)))
                }
            };
            // Dropping the transaction on the way out rolls everything back.
            results.push(result.map_err(|e| Refused::Op(index, e))?);
        }
        tx.commit()
            .map_err(|e| Refused::Commit("committing a journal transaction", e))?;
        Ok(results)
    }

    /// Makes an interrupted run resumable: its in-flight items go back to pending with
    /// their attempt counts kept (so a later `01` is read as "exists, id unknown"), its
    /// unanswered requests are closed as interrupted, and a `running` run becomes
    /// `interrupted`. Needs this process to hold the run's lock; call it right after
    /// [`Journal::lock_run`], before sending anything.
    pub fn recover(&self, run: RunId) -> Result<Recovery, JournalError> {
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("recovering a run")?;
        self.require_lock(&tx, run)?;
        let items_reset = tx
            .execute(
                "UPDATE items SET state = 'pending', updated_at = ?2
                 WHERE run_id = ?1 AND state = 'in_flight'",
                params![run.0, now],
            )
            .ctx("recovering a run")?;
        tx.execute(
            "UPDATE attempts SET result = 'interrupted', error = ?2
             WHERE result IS NULL
               AND batch_id IN (SELECT id FROM batches
                                WHERE run_id = ?1 AND finished_at IS NULL)",
            params![run.0, INTERRUPTED_OUTCOME],
        )
        .ctx("recovering a run")?;
        let batches_closed = tx
            .execute(
                "UPDATE batches SET finished_at = ?2, outcome = ?3
                 WHERE run_id = ?1 AND finished_at IS NULL",
                params![run.0, now, INTERRUPTED_OUTCOME],
            )
            .ctx("recovering a run")?;
        tx.execute(
            "UPDATE runs SET state = ?2, updated_at = ?3 WHERE id = ?1 AND state = ?4",
            params![run.0, RunState::Interrupted, now, RunState::Running],
        )
        .ctx("recovering a run")?;
        tx.commit().ctx("recovering a run")?;
        if items_reset > 0 || batches_closed > 0 {
            tracing::warn!(
                run = run.0,
                items_reset,
                batches_closed,
                "recovered an interrupted run"
            );
        }
        Ok(Recovery {
            items_reset,
            batches_closed,
        })
    }

    /// `retry`: puts a run's failed items back to pending (a new attempt in the same
    /// run). Needs this process to hold the run's lock. Returns how many.
    pub fn retry_failed(&self, run: RunId) -> Result<usize, JournalError> {
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("retrying failed items")?;
        self.require_lock(&tx, run)?;
        let n = tx
            .execute(
                "UPDATE items SET state = 'pending', updated_at = ?2
                 WHERE run_id = ?1 AND state = 'failed'",
                params![run.0, now],
            )
            .ctx("retrying failed items")?;
        tx.commit().ctx("retrying failed items")?;
        Ok(n)
    }

    /// Every request an item was part of, oldest first.
    pub fn item_attempts(&self, item: ItemId) -> Result<Vec<AttemptInfo>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ATTEMPT_COLUMNS}
                 FROM attempts a JOIN batches b ON b.id = a.batch_id
                 WHERE a.item_id = ?1
                 ORDER BY b.id"
            ))
            .ctx("reading an item's attempts")?;
        stmt.query_map([item.0], attempt_from_row)
            .ctx("reading an item's attempts")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading an item's attempts")
    }

    /// The (redacted, capped) response body recorded for a request, if any.
    pub fn batch_response_body(&self, batch: BatchId) -> Result<Option<String>, JournalError> {
        let conn = self.conn();
        let body: Option<Option<String>> = conn
            .query_row(
                "SELECT response_body FROM batches WHERE id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .optional()
            .ctx("reading a response body")?;
        body.ok_or_else(|| JournalError::NotFound {
            what: format!("batch {batch}"),
        })
    }

    /// The outcomes' free texts, redacted.
    fn texts_of(&self, outcome: &ItemOutcome) -> Texts {
        match outcome {
            ItemOutcome::Created {
                status_code,
                description,
                ..
            }
            | ItemOutcome::AlreadyExists {
                status_code,
                description,
            }
            | ItemOutcome::ExistsBeforeRun {
                status_code,
                description,
            }
            | ItemOutcome::ExistsIdUnknown {
                status_code,
                description,
            }
            | ItemOutcome::Rejected {
                status_code,
                description,
            } => Texts {
                status_code: Some(self.redact(status_code)),
                description: self.redact_opt(description.as_deref()),
                error: None,
            },
            ItemOutcome::Retry { last_error } | ItemOutcome::Failed { last_error } => Texts {
                status_code: None,
                description: None,
                error: Some(self.redact(last_error)),
            },
            ItemOutcome::Unsent => Texts::default(),
        }
    }
}

/// What an item became when a batch's answer was recorded, as written (redacted): for
/// the faces, which hear of an outcome only once the journal has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub state: ItemState,
    /// PayPro's description, or the error of a failed send; `None` for an item put back
    /// unsent.
    pub message: Option<String>,
}

/// One write of [`Journal::write_group`].
#[derive(Debug, Clone)]
pub enum GroupOp {
    Begin {
        run: RunId,
        endpoint: String,
        items: Vec<ItemId>,
    },
    Finish {
        batch: BatchId,
        record: AttemptRecord,
        outcomes: Vec<(ItemId, ItemOutcome)>,
    },
}

/// The result of one [`GroupOp`].
#[derive(Debug)]
pub enum GroupResult {
    Begun(Result<BatchId, JournalError>),
    Finished(Result<Vec<Applied>, JournalError>),
}

/// An operation ready to be written.
enum Prepared<'a> {
    Begin {
        run: RunId,
        endpoint: String,
        items: &'a [ItemId],
    },
    Finish {
        batch: BatchId,
        answer: PreparedAnswer<'a>,
    },
}

/// Why a group was not written.
enum Refused {
    /// The operation at this index was refused.
    Op(usize, JournalError),
    Commit(&'static str, rusqlite::Error),
}

fn failed(op: &GroupOp, error: JournalError) -> GroupResult {
    match op {
        GroupOp::Begin { .. } => GroupResult::Begun(Err(error)),
        GroupOp::Finish { .. } => GroupResult::Finished(Err(error)),
    }
}

/// Every operation of a group that could not be committed gets the same failure.
fn group_failed(ops: &[GroupOp], context: &'static str, e: &rusqlite::Error) -> Vec<GroupResult> {
    let failed = || JournalError::GroupFailed {
        context,
        detail: e.to_string(),
    };
    ops.iter()
        .map(|op| match op {
            GroupOp::Begin { .. } => GroupResult::Begun(Err(failed())),
            GroupOp::Finish { .. } => GroupResult::Finished(Err(failed())),
        })
        .collect()
}

/// The columns [`attempt_from_row`] reads, of `attempts a` joined with `batches b`.
pub(crate) const ATTEMPT_COLUMNS: &str = "b.id, b.endpoint, a.position, b.item_count, \
     b.started_at, b.finished_at, b.duration_ms, b.http_status, b.outcome, a.result, \
     a.status_code, a.description, a.error";

/// One of an item's requests, from a row starting with [`ATTEMPT_COLUMNS`].
pub(crate) fn attempt_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptInfo> {
    Ok(AttemptInfo {
        batch: BatchId(r.get(0)?),
        endpoint: r.get(1)?,
        position: to_u32(r.get(2)?)?,
        batch_size: to_u32(r.get(3)?)?,
        started_at: parse_time(&r.get::<_, String>(4)?)?,
        finished_at: r
            .get::<_, Option<String>>(5)?
            .map(|s| parse_time(&s))
            .transpose()?,
        duration_ms: r
            .get::<_, Option<i64>>(6)?
            .map(|d| u64::try_from(d).unwrap_or(0)),
        http_status: r.get(7)?,
        batch_outcome: r.get(8)?,
        result: r.get(9)?,
        status_code: r.get(10)?,
        description: r.get(11)?,
        error: r.get(12)?,
    })
}

/// One item's part of an answer, checked and ready to be written.
struct AnswerRow<'a> {
    id: i64,
    state: &'static str,
    attempts: u32,
    connectpay_id: Option<&'a str>,
    fee: Option<String>,
    status_code: Option<&'a str>,
    description: Option<&'a str>,
    touch_error: bool,
    error: Option<&'a str>,
    attempt_error: Option<&'a str>,
    result: &'static str,
}

/// An answer ready to be written: every free text already redacted.
struct PreparedAnswer<'a> {
    outcome: String,
    body: Option<String>,
    http_status: Option<u16>,
    duration_ms: i64,
    items: Vec<(ItemId, &'a ItemOutcome, Texts)>,
}

/// Why the item at `position` of a batch could not be marked in flight (the ones
/// before it were): it is missing, of another run, named twice, or not pending.
fn why_not_sendable(
    tx: &Connection,
    run: RunId,
    item_ids: &[ItemId],
    position: usize,
) -> Result<JournalError, JournalError> {
    let item = item_ids[position];
    let found: Option<(i64, i64, ItemState)> = tx
        .prepare_cached("SELECT run_id, row, state FROM items WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([item.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .ctx("recording a batch")?;
    let Some((_, row, state)) = found.filter(|(item_run, ..)| *item_run == run.0) else {
        return Ok(JournalError::NotFound {
            what: format!("item {item} in run {run}"),
        });
    };
    // Named earlier in the batch, it is in flight now because of this very batch.
    let from = if item_ids[..position].contains(&item) {
        ItemState::InFlight
    } else {
        state
    };
    if from != ItemState::InFlight && from.can_become(ItemState::InFlight) {
        return Err(JournalError::Corrupt {
            detail: format!("item {item} (row {row}) could not be marked in flight, yet it can be"),
        });
    }
    Ok(JournalError::InvalidTransition {
        item,
        row: to_u32(row).unwrap_or(0),
        from,
        to: ItemState::InFlight,
    })
}

/// [`Journal::finish_batch`]'s writes inside the caller's transaction. On an error some
/// of them may have been made: the caller rolls back.
fn finish_batch_in(
    tx: &Connection,
    batch: BatchId,
    answer: &PreparedAnswer<'_>,
    now: &str,
) -> Result<Vec<Applied>, JournalError> {
    let finished: Option<Option<String>> = tx
        .prepare_cached("SELECT finished_at FROM batches WHERE id = ?1")
        .and_then(|mut s| s.query_row([batch.0], |r| r.get(0)).optional())
        .ctx(FINISH)?;
    match finished {
        None => {
            return Err(JournalError::NotFound {
                what: format!("batch {batch}"),
            });
        }
        Some(Some(_)) => return Err(JournalError::BatchFinished { batch }),
        Some(None) => {}
    }
    // Every member with where its item stands, in one query. (Written with IN rather
    // than a join: SQLite re-prepares the join for every new batch id.)
    let members: HashMap<i64, (i64, ItemState, i64)> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, row, state, attempts FROM items
                 WHERE id IN (SELECT item_id FROM attempts WHERE batch_id = ?1)",
            )
            .ctx(FINISH)?;
        stmt.query_map([batch.0], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })
        .ctx(FINISH)?
        .collect::<rusqlite::Result<_>>()
        .ctx(FINISH)?
    };
    let (rows, applied) = check_answer(batch, &members, answer)?;
    write_answer(tx, batch, answer, &rows, now)?;
    Ok(applied)
}

const FINISH: &str = "recording a batch's answer";

/// Checks that an answer covers exactly the batch's items, each once, along edges of
/// the state machine, and decides what each item becomes. Writes nothing.
fn check_answer<'a>(
    batch: BatchId,
    members: &HashMap<i64, (i64, ItemState, i64)>,
    answer: &'a PreparedAnswer<'_>,
) -> Result<(Vec<AnswerRow<'a>>, Vec<Applied>), JournalError> {
    let mut seen: HashSet<i64> = HashSet::with_capacity(answer.items.len());
    let mut applied = Vec::with_capacity(answer.items.len());
    let mut rows = Vec::with_capacity(answer.items.len());
    for (item, outcome, texts) in &answer.items {
        let Some(&(row, state, attempts)) = members.get(&item.0) else {
            return Err(JournalError::BatchMismatch {
                batch,
                problem: format!("item {item} was not sent in it"),
            });
        };
        if !seen.insert(item.0) {
            return Err(JournalError::BatchMismatch {
                batch,
                problem: format!("item {item} was given two outcomes"),
            });
        }
        let attempts = to_u32(attempts).ctx(FINISH)?;
        // begin_batch counted this send; the ones before it are the earlier sends.
        let earlier = attempts.saturating_sub(1);
        let to = outcome.target_state(earlier);
        if state != ItemState::InFlight || !state.can_become(to) {
            return Err(JournalError::InvalidTransition {
                item: *item,
                row: to_u32(row).unwrap_or(0),
                from: state,
                to,
            });
        }
        rows.push(AnswerRow::of(item.0, outcome, texts, to, attempts, earlier));
        applied.push(Applied {
            state: to,
            message: texts.description.clone().or_else(|| texts.error.clone()),
        });
    }
    if seen.len() != members.len() {
        let mut missing: Vec<i64> = members
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        missing.sort_unstable();
        let list: Vec<String> = missing.iter().map(i64::to_string).collect();
        return Err(JournalError::BatchMismatch {
            batch,
            problem: format!("no outcome given for item(s) {}", list.join(", ")),
        });
    }
    Ok((rows, applied))
}

/// Writes a checked answer: every item, its attempt, and the request's record.
fn write_answer(
    tx: &Connection,
    batch: BatchId,
    answer: &PreparedAnswer<'_>,
    rows: &[AnswerRow<'_>],
    now: &str,
) -> Result<(), JournalError> {
    // One statement per item and per attempt (prepared once): cheaper here than one
    // statement reading all of them from a JSON array.
    let mut update = tx
        .prepare_cached(
            "UPDATE items SET state = ?2, attempts = ?3,
                connectpay_id = coalesce(?4, connectpay_id),
                fee = coalesce(?5, fee),
                status_code = coalesce(?6, status_code),
                description = coalesce(?7, description),
                last_error = CASE WHEN ?8 THEN ?9 ELSE last_error END,
                updated_at = ?10
             WHERE id = ?1",
        )
        .ctx(FINISH)?;
    let mut attempt = tx
        .prepare_cached(
            "UPDATE attempts SET result = ?3, status_code = ?4, description = ?5, error = ?6
             WHERE batch_id = ?1 AND item_id = ?2",
        )
        .ctx(FINISH)?;
    for r in rows {
        update
            .execute(params![
                r.id,
                r.state,
                r.attempts,
                r.connectpay_id,
                r.fee,
                r.status_code,
                r.description,
                r.touch_error,
                r.error,
                now
            ])
            .ctx(FINISH)?;
        attempt
            .execute(params![
                batch.0,
                r.id,
                r.result,
                r.status_code,
                r.description,
                r.attempt_error
            ])
            .ctx(FINISH)?;
    }
    tx.prepare_cached(
        "UPDATE batches SET finished_at = ?2, duration_ms = ?3, http_status = ?4,
                            outcome = ?5, response_body = ?6
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            batch.0,
            now,
            answer.duration_ms,
            answer.http_status,
            answer.outcome,
            answer.body
        ])
    })
    .ctx(FINISH)?;
    Ok(())
}

impl<'a> AnswerRow<'a> {
    fn of(
        id: i64,
        outcome: &'a ItemOutcome,
        texts: &'a Texts,
        to: ItemState,
        attempts: u32,
        earlier: u32,
    ) -> AnswerRow<'a> {
        let (connectpay_id, fee) = match outcome {
            ItemOutcome::Created {
                connectpay_id, fee, ..
            } => (Some(connectpay_id.as_str()), fee.map(|f| f.to_string())),
            _ => (None, None),
        };
        // Settled answers clear the error of earlier tries; retry and failure set it;
        // `Unsent` leaves it as it was.
        let (touch_error, error) = match outcome {
            ItemOutcome::Retry { .. } | ItemOutcome::Failed { .. } => {
                (true, texts.error.as_deref())
            }
            ItemOutcome::Unsent => (false, None),
            _ => (true, None),
        };
        AnswerRow {
            id,
            state: to.as_str(),
            // An unsent try does not count.
            attempts: match outcome {
                ItemOutcome::Unsent => earlier,
                _ => attempts,
            },
            connectpay_id,
            fee,
            status_code: texts.status_code.as_deref(),
            description: texts.description.as_deref(),
            touch_error,
            error,
            attempt_error: texts.error.as_deref(),
            result: outcome.attempt_result(earlier),
        }
    }
}

#[derive(Default)]
struct Texts {
    status_code: Option<String>,
    description: Option<String>,
    error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{NewItem, NewRun};
    use rust_decimal::Decimal;

    fn setup(n: u32) -> (tempfile::TempDir, Journal, RunId, Vec<ItemId>) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let run = j
            .create_run(&NewRun {
                kind: "orders".into(),
                source_file: "a.xlsx".into(),
                source_sha256: "00".into(),
                sheet: None,
                merchant_id: "M".into(),
                base_url: "http://127.0.0.1:1".into(),
            })
            .unwrap();
        let items: Vec<NewItem> = (0..n)
            .map(|i| NewItem {
                row: i + 2,
                key: format!("K-{i}"),
                payload: serde_json::json!({}),
                issues: serde_json::json!([]),
                state: ItemState::Pending,
            })
            .collect();
        let ids = j.add_items(run, &items).unwrap();
        (dir, j, run, ids)
    }

    fn rec() -> AttemptRecord {
        AttemptRecord {
            http_status: Some(200),
            duration_ms: 5,
            outcome: "ok".into(),
            response_body: None,
        }
    }

    #[test]
    fn each_outcome_lands_in_its_state_with_its_fields() {
        let (_d, j, run, ids) = setup(6);
        let _lock = j.lock_run(run).unwrap();
        let b = j.begin_batch(run, "cpay/cmo", &ids).unwrap();
        let outcomes = vec![
            (
                ids[0],
                ItemOutcome::Created {
                    connectpay_id: "00342000600028".into(),
                    fee: Some(Decimal::new(6000, 2)),
                    status_code: "00".into(),
                    description: Some("created".into()),
                },
            ),
            (
                ids[1],
                ItemOutcome::ExistsBeforeRun {
                    status_code: "01".into(),
                    description: None,
                },
            ),
            (
                ids[2],
                ItemOutcome::Rejected {
                    status_code: "03".into(),
                    description: Some("bad mobile".into()),
                },
            ),
            (
                ids[3],
                ItemOutcome::Retry {
                    last_error: "transport: timeout".into(),
                },
            ),
            (
                ids[4],
                ItemOutcome::Failed {
                    last_error: "status 02".into(),
                },
            ),
            (ids[5], ItemOutcome::Unsent),
        ];
        j.finish_batch(b, &rec(), &outcomes).unwrap();
        let items = j.items(run, None).unwrap();
        let got: Vec<(ItemState, u32)> = items.iter().map(|i| (i.state, i.attempts)).collect();
        use ItemState::*;
        assert_eq!(
            got,
            [
                (Created, 1),
                (ExistsBeforeRun, 1),
                (Rejected, 1),
                (Pending, 1),
                (Failed, 1),
                (Pending, 0)
            ]
        );
        assert_eq!(items[0].connectpay_id.as_deref(), Some("00342000600028"));
        assert_eq!(items[0].fee, Some(Decimal::new(6000, 2)));
        assert_eq!(items[2].description.as_deref(), Some("bad mobile"));
        assert_eq!(items[2].status_code.as_deref(), Some("03"));
        assert_eq!(items[3].last_error.as_deref(), Some("transport: timeout"));
        assert_eq!(items[5].last_error, None);

        // Money is stored as decimal text, never as a float.
        let conn = j.conn();
        let (kind, fee): (String, String) = conn
            .query_row(
                "SELECT typeof(fee), fee FROM items WHERE id = ?1",
                [ids[0].0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((kind.as_str(), fee.as_str()), ("text", "60.00"));
    }

    #[test]
    fn illegal_transitions_write_nothing() {
        let (_d, j, run, ids) = setup(2);
        let _lock = j.lock_run(run).unwrap();
        let b = j.begin_batch(run, "cpay/cmo", &ids).unwrap();
        j.finish_batch(
            b,
            &rec(),
            &[
                (
                    ids[0],
                    ItemOutcome::Failed {
                        last_error: "x".into(),
                    },
                ),
                (ids[1], ItemOutcome::Unsent),
            ],
        )
        .unwrap();
        // failed -> in_flight is not an edge: retry goes through pending.
        let err = j
            .begin_batch(run, "cpay/cmo", &[ids[1], ids[0]])
            .unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::InvalidTransition {
                    from: ItemState::Failed,
                    to: ItemState::InFlight,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(j.counts(run).unwrap().in_flight, 0);
        assert!(matches!(
            j.begin_batch(run, "cpay/cmo", &[]),
            Err(JournalError::NotFound { .. })
        ));
        assert!(matches!(
            j.begin_batch(run, "cpay/cmo", &[ItemId(12345)]),
            Err(JournalError::NotFound { .. })
        ));
        assert!(matches!(
            j.finish_batch(BatchId(777), &rec(), &[]),
            Err(JournalError::NotFound { .. })
        ));
    }
}
