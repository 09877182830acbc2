//! [`drive`]: the loop that sends a run's pending items, `concurrency` requests at a
//! time, and journals every answer.
//!
//! One coordinator owns the plan (which items go together in the next request, which
//! wait for a backoff); each request runs as its own task: journal the batch in flight,
//! wait for one of `concurrency` permits, send, decide every item
//! ([`super::classify`]), journal the answer, report back. The coordinator alone
//! decides what is planned next; a stop (04, cancellation) closes the requests that
//! have not left yet as unsent, and requests already out are always waited for and
//! recorded.

use super::backoff::Backoff;
use super::classify::{Classified, Entry, Next, Payload, Response, classify};
use super::{EngineError, EngineSettings, Event, RunKind, RunReport, SharedJournal};
use crate::api::{ApiError, Client, Exchange, Exchanged, RequestProblem};
use crate::domain::{Consumer, ConsumerUpdate, Order};
use crate::journal::{AttemptRecord, BatchId, Item, ItemOutcome, Journal, RunId, RunState};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What the request tasks share.
struct Ctx {
    journal: Arc<JournalAccess>,
    client: Client,
    run: RunId,
    kind: RunKind,
    max_attempts: u32,
    events: UnboundedSender<Event>,
    /// `concurrency` permits: a request holds one while it is on the wire.
    wire: Arc<Semaphore>,
    /// Cancelled when nothing more may be sent (04, cancellation, a journal failure).
    /// The task that meets a 04 cancels it *before* giving back its permit, so no
    /// request waiting for that permit can leave after the 04.
    hold: CancellationToken,
}

/// Which journal calls go first when several wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    /// A write-ahead record: a request waits for it before it can leave.
    Send,
    /// An answer's record: nothing waits for it but the next decisions.
    Record,
}

/// The engine's way into the journal: the shared mutex, a gate that lets write-ahead
/// records overtake answers' records (so a free request slot is not left waiting
/// behind bookkeeping), and the time spent inside journal calls.
struct JournalAccess {
    journal: SharedJournal,
    /// Write-ahead records waiting for the journal.
    senders_waiting: Mutex<usize>,
    turn: Condvar,
    busy_ns: AtomicU64,
}

impl JournalAccess {
    fn new(journal: SharedJournal) -> JournalAccess {
        JournalAccess {
            journal,
            senders_waiting: Mutex::new(0),
            turn: Condvar::new(),
            busy_ns: AtomicU64::new(0),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, usize> {
        self.senders_waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the journal (blocking), after any write-ahead record waiting.
    fn call<T>(
        &self,
        priority: Priority,
        f: impl FnOnce(&Journal) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        match priority {
            Priority::Send => *self.waiting() += 1,
            Priority::Record => {
                let mut waiting = self.waiting();
                while *waiting > 0 {
                    waiting = self
                        .turn
                        .wait(waiting)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
        // A panic while the journal was held leaves no half transaction (rusqlite rolls
        // back on drop), so a poisoned mutex is safe to go on with.
        let guard = self
            .journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if priority == Priority::Send {
            let mut waiting = self.waiting();
            *waiting = waiting.saturating_sub(1);
            if *waiting == 0 {
                self.turn.notify_all();
            }
        }
        let started = Instant::now();
        let result = f(&guard);
        drop(guard);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
        result
    }

    fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed))
    }
}

/// Runs `f` on the journal from the blocking pool, holding the shared mutex only for
/// the call itself (never across an await).
async fn journal_call<T, F>(
    access: &Arc<JournalAccess>,
    priority: Priority,
    f: F,
) -> Result<T, EngineError>
where
    T: Send + 'static,
    F: FnOnce(&Journal) -> Result<T, EngineError> + Send + 'static,
{
    let access = access.clone();
    tokio::task::spawn_blocking(move || access.call(priority, f))
        .await
        .map_err(|e| EngineError::Task(e.to_string()))?
}

fn emit(events: &UnboundedSender<Event>, event: Event) {
    // A UI that went away is not a reason to stop sending money requests half-way.
    let _ = events.send(event);
}

/// Reads a journaled item back as what its run sends.
fn entry_of(run: RunId, kind: RunKind, item: Item) -> Result<Entry, EngineError> {
    let bad = |e: serde_json::Error, item: &Item| EngineError::Payload {
        run,
        row: item.row,
        key: item.key.clone(),
        reason: e.to_string(),
    };
    let payload = match kind {
        RunKind::Orders => Payload::Order(
            serde_json::from_value::<Order>(item.payload.clone()).map_err(|e| bad(e, &item))?,
        ),
        RunKind::Consumers => Payload::Consumer(
            serde_json::from_value::<Consumer>(item.payload.clone()).map_err(|e| bad(e, &item))?,
        ),
        RunKind::ConsumerUpdates => Payload::Update(
            serde_json::from_value::<ConsumerUpdate>(item.payload.clone())
                .map_err(|e| bad(e, &item))?,
        ),
    };
    Ok(Entry {
        id: item.id,
        row: item.row,
        key: item.key,
        payload,
        sends: 0,
    })
}

/// A finished request, as a task reports it to the coordinator.
struct Finished {
    batch: BatchId,
    entries: Vec<Entry>,
    classified: Classified,
    elapsed: Duration,
    /// False for a request closed unsent because the run stopped first.
    sent: bool,
}

fn wrong_kind(ctx: &Ctx) -> ApiError {
    ApiError::Request {
        endpoint: ctx.kind.endpoint(),
        problem: RequestProblem::Build(
            "an item of another kind was planned into this run's batch".to_string(),
        ),
    }
}

/// Sends the items in one request and pairs the answer with them; also hands back the
/// exchange (HTTP status, redacted body) when a response arrived, for the journal.
async fn send(ctx: &Ctx, entries: &[Entry]) -> (Result<Response, ApiError>, Option<Exchange>) {
    match send_kind(ctx, entries).await {
        Ok(Exchanged { result, exchange }) => (result, exchange),
        Err(e) => (Err(e), None),
    }
}

/// The request of the run's kind. `Err` only when the batch could not be built.
async fn send_kind(ctx: &Ctx, entries: &[Entry]) -> Result<Exchanged<Response>, ApiError> {
    match ctx.kind {
        RunKind::Orders => {
            let orders: Option<Vec<Order>> = entries
                .iter()
                .map(|e| match &e.payload {
                    Payload::Order(o) => Some(o.clone()),
                    _ => None,
                })
                .collect();
            let orders = orders.ok_or_else(|| wrong_kind(ctx))?;
            let got = ctx.client.create_orders_with_exchange(&orders).await;
            Ok(Exchanged {
                result: got.result.map(|r| Response::from_orders(&r, &orders)),
                exchange: got.exchange,
            })
        }
        RunKind::Consumers => {
            let consumers: Option<Vec<Consumer>> = entries
                .iter()
                .map(|e| match &e.payload {
                    Payload::Consumer(c) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            let consumers = consumers.ok_or_else(|| wrong_kind(ctx))?;
            let got = ctx.client.create_consumers_with_exchange(&consumers).await;
            let keys: Vec<&str> = consumers.iter().map(|c| c.consumer_id.as_str()).collect();
            Ok(Exchanged {
                result: got
                    .result
                    .map(|r| Response::from_consumers(&r, &keys, false)),
                exchange: got.exchange,
            })
        }
        RunKind::ConsumerUpdates => {
            let updates: Option<Vec<ConsumerUpdate>> = entries
                .iter()
                .map(|e| match &e.payload {
                    Payload::Update(u) => Some(u.clone()),
                    _ => None,
                })
                .collect();
            let updates = updates.ok_or_else(|| wrong_kind(ctx))?;
            let got = ctx.client.update_consumers_with_exchange(&updates).await;
            let keys: Vec<&str> = updates.iter().map(|u| u.consumer_id.as_str()).collect();
            Ok(Exchanged {
                result: got
                    .result
                    .map(|r| Response::from_consumers(&r, &keys, true)),
                exchange: got.exchange,
            })
        }
    }
}

/// A place among the requests the coordinator keeps going (prepared or on the wire).
/// Freed as soon as the answer is decided, before it is journaled, so the answer's
/// record overlaps with other requests instead of holding the place; freed on drop at
/// the latest (an error or a panic cannot leak it). The message says whether the
/// answer was a 04, so the coordinator plans nothing more even before it is journaled.
struct Slot {
    tx: UnboundedSender<bool>,
    freed: bool,
}

impl Slot {
    fn free(&mut self, halt: bool) {
        if !self.freed {
            self.freed = true;
            let _ = self.tx.send(halt);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.free(false);
    }
}

/// One request from start to end: in flight in the journal, then its turn on the wire,
/// sent, decided, journaled.
///
/// The write-ahead record is made *before* the request waits for a free permit, so
/// that when one frees the request leaves at once instead of waiting for the journal
/// (an fsync); up to `concurrency` requests are prepared that way. If the run stops
/// while one waits, it is closed unsent and its items are pending again. A crash in
/// that window leaves them in flight, which resume treats as "maybe sent": the
/// conservative side (a later 01 reads as exists_id_unknown, never a second order).
async fn run_batch(
    ctx: Arc<Ctx>,
    mut entries: Vec<Entry>,
    mut slot: Slot,
) -> Result<Finished, EngineError> {
    let started = Instant::now();
    let ids: Vec<_> = entries.iter().map(|e| e.id).collect();
    let (run, endpoint) = (ctx.run, ctx.kind.endpoint().path());
    // The write-ahead record: after this, a crash leaves the items in flight and the
    // next drive treats a `01` for them as our own earlier creation.
    let batch = journal_call(&ctx.journal, Priority::Send, move |j| {
        j.begin_batch(run, endpoint, &ids)
            .map_err(EngineError::from_journal)
    })
    .await?;
    let permit = tokio::select! {
        biased;
        _ = ctx.hold.cancelled() => None,
        permit = ctx.wire.clone().acquire_owned() => permit.ok(),
    };
    let permit = match permit {
        Some(p) if !ctx.hold.is_cancelled() => p,
        _ => {
            slot.free(false);
            let classified = Classified::not_sent(&entries, "the run stopped before it left");
            return record(&ctx, batch, entries, classified, 0, started, false).await;
        }
    };
    for e in &mut entries {
        e.sends += 1;
    }
    emit(
        &ctx.events,
        Event::BatchSent {
            batch,
            items: entries.len(),
        },
    );
    let sent_at = Instant::now();
    let (result, exchange) = send(&ctx, &entries).await;
    let duration_ms = u64::try_from(sent_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut classified = classify(ctx.kind, &entries, &result, ctx.max_attempts);
    classified.attach_evidence(&result, exchange);
    if classified.auth.is_some() {
        ctx.hold.cancel();
    }
    drop(permit);
    slot.free(classified.auth.is_some());
    record(&ctx, batch, entries, classified, duration_ms, started, true).await
}

/// Journals a request's outcome (one transaction) and hands it to the coordinator.
async fn record(
    ctx: &Ctx,
    batch: BatchId,
    entries: Vec<Entry>,
    classified: Classified,
    duration_ms: u64,
    started: Instant,
    sent: bool,
) -> Result<Finished, EngineError> {
    let record = AttemptRecord {
        http_status: classified.http_status,
        duration_ms,
        outcome: classified.summary.clone(),
        response_body: classified.response_body.clone(),
    };
    let outcomes = classified.outcomes.clone();
    journal_call(&ctx.journal, Priority::Record, move |j| {
        Ok(j.finish_batch(batch, &record, &outcomes)?)
    })
    .await?;
    tracing::debug!(
        run = ctx.run.0,
        batch = batch.0,
        items = entries.len(),
        duration_ms,
        outcome = %classified.summary,
        "batch answered"
    );
    Ok(Finished {
        batch,
        entries,
        classified,
        elapsed: started.elapsed(),
        sent,
    })
}

/// Why the coordinator stopped sending.
enum Stop {
    Cancelled,
    Auth(String),
    Fatal(EngineError),
}

/// The coordinator's plan: requests to send now, and requests waiting for a backoff.
struct Plan {
    ready: VecDeque<Vec<Entry>>,
    waiting: Vec<(Instant, Vec<Entry>)>,
    backoff: Backoff,
    retries: u64,
}

impl Plan {
    fn promote_due(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].0 <= now {
                let (_, entries) = self.waiting.swap_remove(i);
                self.ready.push_back(entries);
            } else {
                i += 1;
            }
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.waiting.iter().map(|(at, _)| *at).min()
    }

    fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.waiting.is_empty()
    }

    /// Takes a finished request's decisions into the plan and reports them.
    fn absorb(&mut self, f: Finished, events: &UnboundedSender<Event>, stop: &mut Option<Stop>) {
        let Finished {
            batch,
            entries,
            classified,
            elapsed,
            sent,
        } = f;
        let (mut created, mut exists, mut rejected, mut retrying, mut failed) = (0, 0, 0, 0, 0);
        for (_, outcome) in &classified.outcomes {
            match outcome {
                ItemOutcome::Created { .. } => created += 1,
                ItemOutcome::AlreadyExists { .. }
                | ItemOutcome::ExistsBeforeRun { .. }
                | ItemOutcome::ExistsIdUnknown { .. } => exists += 1,
                ItemOutcome::Rejected { .. } => rejected += 1,
                ItemOutcome::Retry { .. } => {
                    retrying += 1;
                    self.retries += 1;
                }
                ItemOutcome::Unsent => retrying += 1,
                ItemOutcome::Failed { .. } => failed += 1,
            }
        }
        if !sent {
            // Its items are pending again; no request left, so there is nothing to show.
            return;
        }
        emit(
            events,
            Event::BatchDone {
                batch,
                created,
                exists,
                rejected,
                retrying,
                failed,
                elapsed,
            },
        );
        if let Some(reason) = &classified.auth {
            if stop.is_none() || matches!(stop, Some(Stop::Cancelled)) {
                tracing::warn!(batch = batch.0, reason = %reason, "credentials refused; stopping the run");
                emit(
                    events,
                    Event::RunStopped {
                        reason: reason.clone(),
                    },
                );
                *stop = Some(Stop::Auth(reason.clone()));
            }
            return;
        }
        let mut groups: Vec<Vec<Entry>> = vec![Vec::new(); classified.again.len()];
        let mut later = Vec::new();
        for ((mut entry, next), (_, outcome)) in entries
            .into_iter()
            .zip(&classified.next)
            .zip(&classified.outcomes)
        {
            if *outcome == ItemOutcome::Unsent {
                // The journal took this send back; so does this drive's count.
                entry.sends = entry.sends.saturating_sub(1);
            }
            match next {
                Next::Done => {}
                Next::Again(g) => {
                    if let Some(group) = groups.get_mut(*g) {
                        group.push(entry);
                    }
                }
                Next::Later => later.push(entry),
            }
        }
        // In front, in order: a split batch's halves go out before fresh batches, so a
        // bad item is isolated while its neighbours are still near the front.
        for group in groups.into_iter().rev().filter(|g| !g.is_empty()) {
            self.ready.push_front(group);
        }
        if !later.is_empty() {
            let attempt = later.iter().map(|e| e.sends).max().unwrap_or(1);
            let delay = self.backoff.delay(attempt);
            let reason = classified
                .retry_reason
                .unwrap_or_else(|| "retryable failure".to_string());
            tracing::warn!(
                batch = batch.0,
                items = later.len(),
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason = %reason,
                "retry scheduled"
            );
            emit(
                events,
                Event::RetryScheduled {
                    items: later.len(),
                    attempt,
                    delay,
                    reason,
                },
            );
            self.waiting.push((Instant::now() + delay, later));
        }
    }
}

/// Drives a run to the end: takes the run's lock (another live holder, including
/// another drive in this process, gives [`EngineError::Locked`]), recovers items left
/// in flight by a crash, sends every pending item in batches of at most
/// `settings.batch_size` (cmo/cmc/umc by the run's kind) with at most
/// `settings.concurrency` requests at once, journals each batch in flight *before*
/// sending it and each answer in one transaction, retries with backoff, stops at once
/// on 04 (state `stopped_auth`, unsent items stay pending), stops sending on `cancel`
/// (waits for the requests in flight, records them; state `interrupted`), else state
/// `completed` (failed items may remain: `retry` puts them back to pending).
///
/// Events go to `events`; a dropped receiver is not an error. The future borrows
/// nothing (the settings are copied), so it can be spawned.
pub fn drive(
    journal: SharedJournal,
    client: Client,
    run: RunId,
    settings: &EngineSettings,
    cancel: CancellationToken,
    events: UnboundedSender<Event>,
) -> impl Future<Output = Result<RunReport, EngineError>> + Send + use<> {
    drive_owned(journal, client, run, settings.normalized(), cancel, events)
}

async fn drive_owned(
    journal: SharedJournal,
    client: Client,
    run: RunId,
    settings: EngineSettings,
    cancel: CancellationToken,
    events: UnboundedSender<Event>,
) -> Result<RunReport, EngineError> {
    let started = Instant::now();
    let access = Arc::new(JournalAccess::new(journal));

    let (lock, kind, entries, counts) = journal_call(&access, Priority::Record, move |j| {
        let record = j.run(run)?.ok_or(EngineError::NotFound(run))?;
        let kind = RunKind::parse(run, &record.kind)?;
        let lock = j.lock_run(run).map_err(EngineError::from_journal)?;
        let recovery = j.recover(run)?;
        if recovery.items_reset > 0 {
            tracing::warn!(
                run = run.0,
                items = recovery.items_reset,
                "items were in flight when the run was interrupted; they are sent again, \
                 and a 01 for them is recorded as exists_id_unknown"
            );
        }
        let entries = j
            .sendable_items(run)?
            .into_iter()
            .map(|item| entry_of(run, kind, item))
            .collect::<Result<Vec<_>, _>>()?;
        j.set_run_state(run, RunState::Running)?;
        let counts = j.counts(run)?;
        Ok((lock, kind, entries, counts))
    })
    .await?;

    tracing::info!(
        run = run.0,
        kind = ?kind,
        to_send = entries.len(),
        total = counts.total(),
        concurrency = settings.concurrency,
        batch_size = settings.batch_size,
        "run started"
    );
    emit(
        &events,
        Event::RunStarted {
            run,
            total: counts.total(),
            to_send: u64::try_from(entries.len()).unwrap_or(u64::MAX),
            settled: counts.settled(),
        },
    );

    let ctx = Arc::new(Ctx {
        journal: access.clone(),
        client,
        run,
        kind,
        max_attempts: settings.max_attempts,
        events: events.clone(),
        wire: Arc::new(Semaphore::new(settings.concurrency)),
        hold: CancellationToken::new(),
    });
    let mut plan = Plan {
        ready: VecDeque::new(),
        waiting: Vec::new(),
        backoff: Backoff::new(settings.backoff_base, settings.backoff_max, settings.seed),
        retries: 0,
    };
    let mut rest = entries;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(settings.batch_size));
        plan.ready.push_back(std::mem::replace(&mut rest, tail));
    }

    let mut tasks: JoinSet<Result<Finished, EngineError>> = JoinSet::new();
    let (slot_tx, mut slot_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    // Requests holding a slot: prepared (journaled in flight, waiting for a permit) or
    // on the wire. `concurrency` on the wire plus as many prepared.
    let mut active = 0usize;
    let slots = settings.concurrency * 2;
    // A 04 was seen and is being journaled: send nothing more.
    let mut halted = false;
    let mut stop: Option<Stop> = None;
    let mut requests = 0u64;
    loop {
        while let Ok(halt) = slot_rx.try_recv() {
            active = active.saturating_sub(1);
            halted |= halt;
        }
        plan.promote_due(Instant::now());
        if stop.is_none() && cancel.is_cancelled() {
            stop = Some(Stop::Cancelled);
        }
        if stop.is_none() && !halted {
            while active < slots {
                let Some(batch) = plan.ready.pop_front() else {
                    break;
                };
                requests += 1;
                active += 1;
                let slot = Slot {
                    tx: slot_tx.clone(),
                    freed: false,
                };
                tasks.spawn(run_batch(ctx.clone(), batch, slot));
            }
        }
        if stop.is_some() || halted {
            // Requests prepared but not yet on the wire are closed unsent.
            ctx.hold.cancel();
        }
        if tasks.is_empty() && (stop.is_some() || halted || plan.is_empty()) {
            break;
        }
        let wake = plan.next_wake();
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() => match joined {
                Some(Ok(Ok(finished))) => plan.absorb(finished, &events, &mut stop),
                Some(Ok(Err(e))) => {
                    tracing::error!(run = run.0, error = %e, "journal failure; stopping the run");
                    if !matches!(stop, Some(Stop::Fatal(_))) {
                        stop = Some(Stop::Fatal(e));
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(run = run.0, error = %e, "engine task failed; stopping the run");
                    if !matches!(stop, Some(Stop::Fatal(_))) {
                        stop = Some(Stop::Fatal(EngineError::Task(e.to_string())));
                    }
                }
                None => {}
            },
            Some(halt) = slot_rx.recv() => {
                active = active.saturating_sub(1);
                halted |= halt;
            }
            _ = cancel.cancelled(), if stop.is_none() => {
                tracing::info!(run = run.0, in_flight = tasks.len(), "cancelled; waiting for the requests in flight");
                stop = Some(Stop::Cancelled);
            }
            _ = tokio::time::sleep_until(wake.unwrap_or(far).into()), if wake.is_some() && stop.is_none() => {}
        }
    }

    let stop_reason = match &stop {
        Some(Stop::Auth(reason)) => Some(reason.clone()),
        _ => None,
    };
    let fatal = match stop {
        Some(Stop::Fatal(e)) => Some(e),
        _ => None,
    };
    let auth = stop_reason.is_some();
    let finish = journal_call(&access, Priority::Record, move |j| {
        let counts = j.counts(run)?;
        let state = if fatal.is_some() {
            RunState::Interrupted
        } else if auth {
            RunState::StoppedAuth
        } else if counts.pending == 0 && counts.in_flight == 0 {
            RunState::Completed
        } else {
            RunState::Interrupted
        };
        let set = j.set_run_state(run, state);
        let released = lock.release();
        if let Some(e) = fatal {
            return Err(e);
        }
        set?;
        released?;
        Ok((state, counts))
    })
    .await;
    let (state, counts) = finish?;
    let elapsed = started.elapsed();
    let journal_time = access.busy();
    tracing::info!(
        run = run.0,
        state = %state,
        created = counts.created,
        exists = counts.exists_before_run + counts.exists_id_unknown,
        rejected = counts.rejected,
        failed = counts.failed,
        pending = counts.pending,
        requests,
        retries = plan.retries,
        elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "run finished"
    );
    emit(
        &events,
        Event::RunFinished {
            run,
            state,
            counts,
            elapsed,
        },
    );
    Ok(RunReport {
        run,
        state,
        counts,
        elapsed,
        retries: plan.retries,
        stop_reason,
        requests,
        journal_time,
    })
}
