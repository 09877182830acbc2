//! Batches (one HTTP request each) and attempts (one item's part in one request: its
//! place in the request's members list and, once answered, in its results list): the
//! write-ahead record before a request is sent, the answer after, crash recovery and
//! retry. Each public call is one transaction: it happens entirely or not at all.

use super::body::{ReadBody, StoredBody};
use super::error::{Context, JournalError};
use super::model::{
    AttemptInfo, AttemptRecord, BatchId, ItemId, ItemOutcome, ItemState, Recovery, RunId, RunState,
};
use super::{Journal, now_text, parse_time, to_u32};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Recorded on requests whose answer never reached the journal.
pub const INTERRUPTED_OUTCOME: &str =
    "interrupted (process ended before the response was recorded)";

impl Journal {
    /// Records that `item_ids` are about to be sent to `endpoint` in one request, and
    /// returns the batch to report the answer against. Call it *before* sending.
    ///
    /// In one transaction: the batch with its members in order, the items turned
    /// `in_flight` with their attempt counts raised and the request in their lists. Refused (nothing written) unless
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
        // The batch's members, in order, as one value of its row; their results will
        // be another, aligned with it (an item's attempt is its place in both).
        tx.prepare_cached(
            "INSERT INTO batches (run_id, endpoint, item_count, started_at, members)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                run.0,
                endpoint,
                item_ids.len() as i64,
                now,
                ids_json(item_ids)
            ])
        })
        .ctx("recording a batch")?;
        let batch = BatchId(tx.last_insert_rowid());
        if mark_range(tx, run, item_ids, batch, now)? {
            return Ok(batch);
        }
        // One prepared statement per item, the check folded into the change: an item
        // is marked only if it is of this run and pending, so one that is not (or is
        // named twice: the first mark made it in flight) changes no row, and nothing
        // of the batch is kept. Measured cheaper than the same work over a JSON array
        // of the ids, whose `IN (SELECT … json_each)` costs more than it saves. The
        // request joins the item's list of requests (its history is read from there).
        let mut mark = tx
            .prepare_cached(
                "UPDATE items SET state = 'in_flight', attempts = attempts + 1, updated_at = ?3,
                    sent_in = coalesce(sent_in || ',', '') || ?4
                 WHERE id = ?1 AND run_id = ?2 AND state = 'pending'",
            )
            .ctx("recording a batch")?;
        for (position, item) in item_ids.iter().enumerate() {
            let marked = mark
                .execute(params![item.0, run.0, now, batch.0])
                .ctx("recording a batch")?;
            if marked != 1 {
                return Err(why_not_sendable(tx, run, item_ids, position)?);
            }
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
            body: record
                .response_body
                .as_deref()
                .map(|b| StoredBody::of(self.redact_body(b))),
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
        self.write_group_timed(ops).0
    }

    /// [`Journal::write_group`], with the commits it made and the wall time they took
    /// (the WAL frames written and fsync'd): what the writer's time is made of, for the
    /// benchmark. One commit, unless an operation was refused and the others were
    /// then written one transaction each.
    pub fn write_group_timed(&self, ops: &[GroupOp]) -> (Vec<GroupResult>, Commits) {
        let prepared: Vec<Prepared<'_>> = ops.iter().map(|op| self.prepare_op(op)).collect();
        let now = now_text();
        let mut commits = Commits::default();
        let results = self.write_group_in(ops, &prepared, &now, &mut commits);
        (results, commits)
    }

    fn write_group_in(
        &self,
        ops: &[GroupOp],
        prepared: &[Prepared<'_>],
        now: &str,
        commits: &mut Commits,
    ) -> Vec<GroupResult> {
        match self.write_prepared(prepared, now, commits) {
            Ok(results) => results,
            Err(Refused::Commit(context, e)) => group_failed(ops, context, &e),
            Err(Refused::Op(index, error)) if ops.len() == 1 => vec![failed(&ops[index], error)],
            // Failures are rare (a bug, a damaged file): the common case pays for no
            // savepoints, and the rare one for a transaction per operation.
            Err(Refused::Op(..)) => prepared
                .iter()
                .zip(ops)
                .map(|(one, op)| {
                    match self.write_prepared(std::slice::from_ref(one), now, commits) {
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
                    }
                })
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
    fn write_prepared(
        &self,
        ops: &[Prepared<'_>],
        now: &str,
        commits: &mut Commits,
    ) -> Result<Vec<GroupResult>, Refused> {
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
        let commit_started = Instant::now();
        let committed = tx.commit();
        commits.count += 1;
        commits.time += commit_started.elapsed();
        committed.map_err(|e| Refused::Commit("committing a journal transaction", e))?;
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
        // Every member of an unanswered request gets its result: interrupted.
        let batches_closed = tx
            .execute(
                "UPDATE batches SET finished_at = ?2, outcome = ?3,
                    results = (SELECT json_group_array(json_array('interrupted', NULL, NULL, ?3))
                               FROM json_each(batches.members))
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

    /// Every request an item was part of, oldest first (one still unanswered last,
    /// with no result yet).
    pub fn item_attempts(&self, item: ItemId) -> Result<Vec<AttemptInfo>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&item_attempts_sql(""))
            .ctx("reading an item's attempts")?;
        stmt.query_map([item.0], attempt_from_row)
            .ctx("reading an item's attempts")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading an item's attempts")
    }

    /// The (redacted, capped) response body recorded for a request, if any.
    pub fn batch_response_body(&self, batch: BatchId) -> Result<Option<String>, JournalError> {
        let conn = self.conn();
        let body: Option<ReadBody> = conn
            .query_row(
                "SELECT response_body FROM batches WHERE id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .optional()
            .ctx("reading a response body")?;
        body.map(|b| b.0).ok_or_else(|| JournalError::NotFound {
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
            }
            | ItemOutcome::Done {
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

/// The commits of a [`Journal::write_group_timed`] and their wall time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commits {
    pub count: u64,
    pub time: Duration,
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

/// One of an item's requests, from a row of [`item_attempts_sql`].
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

/// An answer ready to be written: every free text already redacted.
struct PreparedAnswer<'a> {
    outcome: String,
    body: Option<StoredBody>,
    http_status: Option<u16>,
    duration_ms: i64,
    items: Vec<(ItemId, &'a ItemOutcome, Texts)>,
}

/// Marks a batch whose items are consecutive ids (fresh items, read in row order: most
/// batches) in flight with one statement instead of one per item (measured: the
/// per-statement work was most of the write-ahead record's cost). Only if every item
/// of the range is of the run and pending is the mark kept; otherwise it is undone and
/// `false` says to mark them one by one, which names the item that cannot go.
fn mark_range(
    tx: &Connection,
    run: RunId,
    item_ids: &[ItemId],
    batch: BatchId,
    now: &str,
) -> Result<bool, JournalError> {
    let (Some(first), Some(last)) = (item_ids.first(), item_ids.last()) else {
        return Ok(false);
    };
    let consecutive = item_ids
        .windows(2)
        .all(|w| w[0].0.checked_add(1) == Some(w[1].0));
    if !consecutive {
        return Ok(false);
    }
    // The unary `+` keeps SQLite on the id range: by the state index it would walk
    // every pending item of the run (measured: four times slower on 100k rows).
    tx.execute_batch("SAVEPOINT mark_range")
        .ctx("recording a batch")?;
    let marked = tx
        .prepare_cached(
            "UPDATE items SET state = 'in_flight', attempts = attempts + 1, updated_at = ?4,
                sent_in = coalesce(sent_in || ',', '') || ?5
             WHERE id BETWEEN ?2 AND ?3 AND +run_id = ?1 AND +state = 'pending'",
        )
        .and_then(|mut s| s.execute(params![run.0, first.0, last.0, now, batch.0]))
        .ctx("recording a batch")?;
    let whole = marked == item_ids.len();
    let end = if whole {
        "RELEASE mark_range"
    } else {
        "ROLLBACK TO mark_range; RELEASE mark_range"
    };
    tx.execute_batch(end).ctx("recording a batch")?;
    Ok(whole)
}

/// `[1,2,3]`: a batch's members as stored on its row.
fn ids_json(ids: &[ItemId]) -> String {
    let mut out = String::with_capacity(ids.len() * 8 + 2);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.0.to_string());
    }
    out.push(']');
    out
}

/// An item's requests, oldest first, for item `?1`: the columns [`attempt_from_row`]
/// reads, then `extra` (columns of `batches b`, each with a leading comma). The item
/// lists its requests (`sent_in`); its attempt in one is its place `m` in the
/// request's members and the result at that place (none yet while unanswered).
pub(crate) fn item_attempts_sql(extra: &str) -> String {
    format!(
        "SELECT b.id, b.endpoint, m.key, b.item_count, b.started_at, b.finished_at,
                b.duration_ms, b.http_status, b.outcome,
                b.results -> m.key ->> 0, b.results -> m.key ->> 1,
                b.results -> m.key ->> 2, b.results -> m.key ->> 3{extra}
         FROM items i
         JOIN json_each('[' || i.sent_in || ']') s
         JOIN batches b ON b.id = s.value
         JOIN json_each(b.members) m ON m.value = i.id
         WHERE i.id = ?1
         ORDER BY b.id"
    )
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
    let (members, listed) = open_members(tx, batch)?;
    let positions = check_answer(batch, &members, answer)?;
    let standing = members_standing(tx, &listed)?;
    let sent_elsewhere = sent_by_other_runs(tx, &standing, answer)?;
    let decided = decide(&standing, answer, &positions, &sent_elsewhere)?;
    // One statement per item; the attempts are one value of the request's row.
    let mut settle = tx
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
    for d in &decided {
        settle
            .execute(params![
                d.item.0,
                d.to.as_str(),
                d.attempts,
                d.write.connectpay_id,
                d.write.fee,
                d.texts.status_code,
                d.texts.description,
                d.write.touch_error,
                d.write.error,
                now
            ])
            .ctx(FINISH)?;
    }
    tx.prepare_cached(
        "UPDATE batches SET finished_at = ?2, duration_ms = ?3, http_status = ?4,
                            outcome = ?5, response_body = ?6, results = ?7
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            batch.0,
            now,
            answer.duration_ms,
            answer.http_status,
            answer.outcome,
            answer.body,
            results_json(&decided)?
        ])
    })
    .ctx(FINISH)?;
    Ok(decided
        .iter()
        .map(|d| Applied {
            state: d.to,
            message: d
                .texts
                .description
                .clone()
                .or_else(|| d.texts.error.clone()),
        })
        .collect())
}

/// One answered item: what it becomes, and what is written for it.
struct Decided<'a> {
    item: ItemId,
    position: usize,
    to: ItemState,
    /// Its sends so far (an unsent try taken back).
    attempts: u32,
    result: &'static str,
    write: AnswerWrite<'a>,
    texts: &'a Texts,
}

/// Where each member of a request stands (row, state, sends so far), read in one
/// statement from the request's members list.
fn members_standing(
    tx: &Connection,
    listed: &str,
) -> Result<HashMap<i64, (i64, ItemState, i64)>, JournalError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT i.id, i.row, i.state, i.attempts
             FROM json_each(?1) AS j CROSS JOIN items AS i ON i.id = j.value",
        )
        .ctx(FINISH)?;
    stmt.query_map([listed], |r| {
        Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })
    .ctx(FINISH)?
    .collect::<rusqlite::Result<_>>()
    .ctx(FINISH)
}

/// The items answered "already exists" that this run never sent before but another run
/// of the journal (same merchant, kind and service) did: PayPro may hold them because
/// of that send, so they are not `exists_before_run` ("we never sent it") but
/// `exists_id_unknown`.
fn sent_by_other_runs(
    tx: &Connection,
    members: &HashMap<i64, (i64, ItemState, i64)>,
    answer: &PreparedAnswer<'_>,
) -> Result<HashSet<i64>, JournalError> {
    let mut out = HashSet::new();
    for (item, outcome, _) in &answer.items {
        let first_send = members
            .get(&item.0)
            .is_some_and(|&(_, _, attempts)| attempts <= 1);
        if !matches!(outcome, ItemOutcome::AlreadyExists { .. }) || !first_send {
            continue;
        }
        let sent: bool = tx
            .prepare_cached(
                "SELECT EXISTS (
                    SELECT 1 FROM items me
                    JOIN runs rm ON rm.id = me.run_id
                    JOIN items o ON o.key = me.key AND o.run_id <> me.run_id AND o.attempts > 0
                    JOIN runs ro ON ro.id = o.run_id
                    WHERE me.id = ?1 AND ro.merchant_id = rm.merchant_id AND ro.kind = rm.kind
                      AND rtrim(trim(ro.base_url), '/') = rtrim(trim(rm.base_url), '/'))",
            )
            .and_then(|mut s| s.query_row([item.0], |r| r.get(0)))
            .ctx(FINISH)?;
        if sent {
            out.insert(item.0);
        }
    }
    Ok(out)
}

/// Decides what each answered item becomes, along edges of the state machine. Writes
/// nothing.
fn decide<'a>(
    standing: &HashMap<i64, (i64, ItemState, i64)>,
    answer: &'a PreparedAnswer<'_>,
    positions: &[usize],
    sent_elsewhere: &HashSet<i64>,
) -> Result<Vec<Decided<'a>>, JournalError> {
    let mut decided = Vec::with_capacity(answer.items.len());
    for ((item, outcome, texts), &position) in answer.items.iter().zip(positions) {
        let Some(&(row, from, attempts)) = standing.get(&item.0) else {
            return Err(JournalError::NotFound {
                what: format!("item {item}"),
            });
        };
        let attempts = to_u32(attempts).ctx(FINISH)?;
        // begin_batch counted this send; the ones before it are the earlier sends.
        let ours_before = attempts.saturating_sub(1);
        let mut earlier = ours_before;
        if sent_elsewhere.contains(&item.0) {
            // Another run's send counts as an earlier send of ours.
            earlier += 1;
        }
        let to = outcome.target_state(earlier);
        if from != ItemState::InFlight || !from.can_become(to) {
            return Err(JournalError::InvalidTransition {
                item: *item,
                row: to_u32(row).unwrap_or(0),
                from,
                to,
            });
        }
        let write = AnswerWrite::of(outcome, texts);
        decided.push(Decided {
            item: *item,
            position,
            to,
            // An unsent try does not count.
            attempts: if write.unsent { ours_before } else { attempts },
            result: outcome.attempt_result(earlier),
            write,
            texts,
        });
    }
    Ok(decided)
}

/// The request's results, in the order of its members (`decided` holds each member
/// once, at its place): `[result, status_code, description, error]` each.
fn results_json(decided: &[Decided<'_>]) -> rusqlite::Result<String> {
    let mut results: Vec<Option<[Option<&str>; 4]>> = vec![None; decided.len()];
    for d in decided {
        if let Some(slot) = results.get_mut(d.position) {
            *slot = Some([
                Some(d.result),
                d.texts.status_code.as_deref(),
                d.texts.description.as_deref(),
                d.texts.error.as_deref(),
            ]);
        }
    }
    serde_json::to_string(&results).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

const FINISH: &str = "recording a batch's answer";

/// The items of an unanswered request, in the order they were sent, and that list as
/// stored.
fn open_members(tx: &Connection, batch: BatchId) -> Result<(Vec<i64>, String), JournalError> {
    let found: Option<(Option<String>, Option<String>)> = tx
        .prepare_cached("SELECT finished_at, members FROM batches WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([batch.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .ctx(FINISH)?;
    let members = match found {
        None => {
            return Err(JournalError::NotFound {
                what: format!("batch {batch}"),
            });
        }
        Some((Some(_), _)) => return Err(JournalError::BatchFinished { batch }),
        Some((None, members)) => members,
    };
    let members = members.ok_or_else(|| JournalError::Corrupt {
        detail: format!(
            "batch {batch} has no members list (the journal was changed by something \
             other than this program)"
        ),
    })?;
    let ids = serde_json::from_str(&members).map_err(|e| JournalError::Corrupt {
        detail: format!("batch {batch}: members list {members:?}: {e}"),
    })?;
    Ok((ids, members))
}

/// Checks that an answer covers exactly the batch's items, each once, and gives each
/// answered item's place in the request. Reads and writes nothing.
fn check_answer(
    batch: BatchId,
    members: &[i64],
    answer: &PreparedAnswer<'_>,
) -> Result<Vec<usize>, JournalError> {
    let places: HashMap<i64, usize> = members
        .iter()
        .enumerate()
        .map(|(place, id)| (*id, place))
        .collect();
    let mut seen: HashSet<i64> = HashSet::with_capacity(answer.items.len());
    let mut positions = Vec::with_capacity(answer.items.len());
    for (item, ..) in &answer.items {
        let Some(&place) = places.get(&item.0) else {
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
        positions.push(place);
    }
    if seen.len() != places.len() {
        let mut missing: Vec<i64> = places
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
    Ok(positions)
}

/// The item columns an answer sets, beside its texts.
struct AnswerWrite<'a> {
    connectpay_id: Option<&'a str>,
    fee: Option<String>,
    /// Whether `last_error` is set (to `error`) or left as it was.
    touch_error: bool,
    error: Option<&'a str>,
    /// An unsent try: its send is taken back.
    unsent: bool,
}

impl<'a> AnswerWrite<'a> {
    fn of(outcome: &'a ItemOutcome, texts: &'a Texts) -> AnswerWrite<'a> {
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
        AnswerWrite {
            connectpay_id,
            fee,
            touch_error,
            error,
            unsent: *outcome == ItemOutcome::Unsent,
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
