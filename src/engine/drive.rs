//! The drive: sends a run's pending items, `concurrency` requests at a time, and
//! journals every answer.
//!
//! One coordinator ([`Driver`]) decides what is sent next: it reads pending items
//! from the journal a few batches at a time (in row order, each item read once),
//! groups them into requests, keeps the requests waiting for a backoff, and takes the
//! faces' commands. Each request runs as a task of its own: its write-ahead record
//! (the items in flight), a turn on the wire, the request, the decision for every item
//! ([`super::classify`]), the answer's record. Up to `concurrency` requests are on the
//! wire and as many more are journaled in flight ready to leave, so a free turn is
//! taken at once and a write-ahead record shares its commit with the answers being
//! recorded at the same time.
//!
//! The run has one control state, [`Control`]: running, paused, or stopping (with its
//! [`StopReason`]). The coordinator and every task read the same value; a task that
//! meets a 04 sets it before it gives back its turn on the wire, so no request waiting
//! for that turn leaves after the 04. When the run pauses or stops, the requests that
//! have not left are closed unsent (their items back to pending, their sends not
//! counted) and those on the wire are always waited for and recorded.

use super::backoff::Backoff;
use super::classify::{Classified, Entry, Next, Payload, Response, classify};
use super::events::{Event, ItemRef, ItemUpdate, StopReason};
use super::{EngineError, EngineSettings, RunKind, RunReport, mark};
use crate::api::{ApiError, Client, Exchange, Exchanged, RequestProblem};
use crate::domain::{Consumer, ConsumerUpdate, Order, OrderRef, Refund};
use crate::journal::{
    Applied, AttemptRecord, BatchId, ItemOutcome, JournalWriter, PendingItem, RunId, RunLock,
    RunState, RunTotals,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

/// A face's command to a running drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Let the requests on the wire finish and be journaled; send nothing new.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Stop: as a pause, then end the drive (the run is left `interrupted`).
    Cancel,
}

/// What the run is doing: the one state the coordinator and every request read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Running,
    Paused,
    Stopping(StopReason),
}

impl Control {
    fn may_send(&self) -> bool {
        *self == Control::Running
    }
}

/// Enters the stop state with `reason` unless the run is already stopping (the first
/// reason is the one reported). Returns whether it did.
fn stop(control: &watch::Sender<Control>, reason: StopReason) -> bool {
    control.send_if_modified(|c| {
        if matches!(c, Control::Stopping(_)) {
            false
        } else {
            *c = Control::Stopping(reason);
            true
        }
    })
}

/// What the request tasks share.
struct Ctx {
    writer: JournalWriter,
    client: Option<Client>,
    run: RunId,
    kind: RunKind,
    max_attempts: u32,
    events: UnboundedSender<Event>,
    /// `concurrency` turns on the wire.
    wire: Arc<Semaphore>,
    control: watch::Sender<Control>,
    /// Requests that left.
    requests: AtomicU64,
    /// Since when every request has failed at the transport level.
    outage: Outage,
}

/// "Is the server reachable?": since when every answered request has been a transport
/// failure (connection refused or reset, timeout, HTTP 5xx). Any other answer ends
/// it. While it lasts, items do not run out of sends (the outage decides, not the
/// attempt count), and once it has lasted `give_up_after` the run stops
/// `interrupted`: an outage is an interruption, not a reason to fail rows.
struct Outage {
    give_up_after: Duration,
    since: std::sync::Mutex<Option<(Instant, String)>>,
}

/// What a request's failure means once the outage is taken into account.
struct OutageNow {
    /// The outage began before this request left: its items keep their sends.
    hold: bool,
    /// It has lasted long enough: stop, with the local time it began.
    give_up: Option<String>,
}

impl Outage {
    fn new(give_up_after: Duration) -> Outage {
        Outage {
            give_up_after,
            since: std::sync::Mutex::new(None),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(Instant, String)>> {
        self.since.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request sent at `sent_at` got an answer from the server.
    fn answered(&self) {
        if let Some((_, since)) = self.slot().take() {
            tracing::info!(since = %since, "the server answers again");
        }
    }

    /// A request sent at `sent_at` failed at the transport level.
    fn failed(&self, sent_at: Instant) -> OutageNow {
        let now = Instant::now();
        let mut slot = self.slot();
        let (began, since) = slot.get_or_insert_with(|| {
            let since = chrono::Local::now().format("%H:%M").to_string();
            tracing::warn!(since = %since, "the server does not answer");
            (now, since)
        });
        OutageNow {
            // A request that left after the outage began proves nothing about its
            // items: only one that left before it, and still failed, could be at
            // fault. (A batch that fails while others succeed ends no outage of its
            // own making: their answers reset it, so its items fail as usual.)
            hold: *began <= sent_at,
            give_up: (now.duration_since(*began) >= self.give_up_after).then(|| since.clone()),
        }
    }
}

/// Failures that say nothing about the items, only that the server cannot be reached.
fn unreachable<T>(result: &Result<T, ApiError>) -> bool {
    match result {
        Err(ApiError::Transport { .. }) => true,
        Err(ApiError::Http { status, .. }) => *status >= 500,
        _ => false,
    }
}

fn emit(events: &UnboundedSender<Event>, event: Event) {
    // A face that went away is not a reason to stop sending money requests half-way.
    let _ = events.send(event);
}

/// Reads a pending item back as what its run sends.
pub(super) fn entry_of(run: RunId, kind: RunKind, item: PendingItem) -> Result<Entry, EngineError> {
    let parsed = match kind {
        RunKind::Orders => serde_json::from_str::<Order>(&item.payload).map(Payload::Order),
        RunKind::Consumers => {
            serde_json::from_str::<Consumer>(&item.payload).map(Payload::Consumer)
        }
        RunKind::ConsumerUpdates => {
            serde_json::from_str::<ConsumerUpdate>(&item.payload).map(Payload::Update)
        }
        RunKind::MarkPaid | RunKind::MarkBlocked => {
            serde_json::from_str::<OrderRef>(&item.payload).map(Payload::Mark)
        }
        RunKind::Refunds => serde_json::from_str::<Refund>(&item.payload).map(Payload::Refund),
    };
    let payload = parsed.map_err(|e| EngineError::Payload {
        run,
        row: item.row,
        key: item.key.clone(),
        reason: e.to_string(),
    })?;
    Ok(Entry {
        id: item.id,
        row: item.row,
        key: item.key,
        payload,
        sends: 0,
        earlier: item.attempts,
    })
}

/// A finished request, as a task reports it to the coordinator.
struct Finished {
    batch: BatchId,
    entries: Vec<Entry>,
    classified: Classified,
    /// What each item became, as journaled.
    applied: Vec<Applied>,
    elapsed: Duration,
    /// False for a request closed unsent because the run paused or stopped first.
    sent: bool,
}

/// The payloads of a batch of one kind; `None` if an item of another kind got in.
fn payloads<T: Clone>(entries: &[Entry], pick: impl Fn(&Payload) -> Option<&T>) -> Option<Vec<T>> {
    entries.iter().map(|e| pick(&e.payload).cloned()).collect()
}

/// Sends the items in one request and pairs the answer with them; also hands back the
/// exchange (HTTP status, redacted body) when a response arrived, for the journal.
async fn send(
    client: &Client,
    kind: RunKind,
    entries: &[Entry],
) -> (Result<Response, ApiError>, Option<Exchange>) {
    let wrong_kind = || ApiError::Request {
        endpoint: kind.endpoint(),
        problem: RequestProblem::Build(
            "an item of another kind was planned into this run's batch".to_string(),
        ),
    };
    let got: Option<Exchanged<Response>> = match kind {
        RunKind::Orders => match payloads(entries, |p| match p {
            Payload::Order(o) => Some(o),
            _ => None,
        }) {
            Some(orders) => {
                let got = client.create_orders_with_exchange(&orders).await;
                Some(Exchanged {
                    result: got.result.map(|r| Response::from_orders(&r, &orders)),
                    exchange: got.exchange,
                })
            }
            None => None,
        },
        RunKind::Consumers => match payloads(entries, |p| match p {
            Payload::Consumer(c) => Some(c),
            _ => None,
        }) {
            Some(consumers) => {
                let got = client.create_consumers_with_exchange(&consumers).await;
                let keys: Vec<&str> = consumers.iter().map(|c| c.consumer_id.as_str()).collect();
                Some(Exchanged {
                    result: got
                        .result
                        .map(|r| Response::from_consumers(&r, &keys, false)),
                    exchange: got.exchange,
                })
            }
            None => None,
        },
        RunKind::ConsumerUpdates => match payloads(entries, |p| match p {
            Payload::Update(u) => Some(u),
            _ => None,
        }) {
            Some(updates) => {
                let got = client.update_consumers_with_exchange(&updates).await;
                let keys: Vec<&str> = updates.iter().map(|u| u.consumer_id.as_str()).collect();
                Some(Exchanged {
                    result: got
                        .result
                        .map(|r| Response::from_consumers(&r, &keys, true)),
                    exchange: got.exchange,
                })
            }
            None => None,
        },
        // Sent by `mark::send` (see `run_batch`).
        RunKind::MarkPaid | RunKind::MarkBlocked | RunKind::Refunds => None,
    };
    match got {
        Some(Exchanged { result, exchange }) => (result, exchange),
        None => (Err(wrong_kind()), None),
    }
}

/// A place among the requests the coordinator keeps going (journaled in flight, or on
/// the wire). Freed as soon as the answer is decided, before it is journaled, so the
/// next request's write-ahead record can share the answer's commit; freed on drop at
/// the latest (an error or a panic cannot leak it).
struct Slot {
    tx: UnboundedSender<()>,
    freed: bool,
}

impl Slot {
    fn free(&mut self) {
        if !self.freed {
            self.freed = true;
            let _ = self.tx.send(());
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.free();
    }
}

/// Waits for a turn on the wire; `None` if the run pauses or stops first. Checked
/// again once the turn is taken: a task that met a 04 set the stop state before
/// giving its turn back.
async fn turn_on_the_wire(ctx: &Ctx) -> Option<OwnedSemaphorePermit> {
    let mut control = ctx.control.subscribe();
    let permit = tokio::select! {
        biased;
        _ = control.wait_for(|c| !c.may_send()) => None,
        permit = ctx.wire.clone().acquire_owned() => permit.ok(),
    }?;
    ctx.control.borrow().may_send().then_some(permit)
}

/// One request from start to end: in flight in the journal, then its turn on the wire,
/// sent, decided, journaled.
///
/// The write-ahead record is made *before* the request waits for its turn, so that
/// when one frees the request leaves at once instead of waiting for a commit. If the
/// run pauses or stops while it waits, it is closed unsent and its items are pending
/// again. A crash in that window leaves them in flight, which resume treats as "maybe
/// sent": the conservative side (a later 01 reads as exists_id_unknown, never a second
/// order).
async fn run_batch(
    ctx: Arc<Ctx>,
    mut entries: Vec<Entry>,
    mut slot: Slot,
) -> Result<Finished, EngineError> {
    let started = Instant::now();
    let Some(client) = ctx.client.as_ref() else {
        return Err(EngineError::NoCredentials);
    };
    let ids = entries.iter().map(|e| e.id).collect();
    // The write-ahead record: after this, a crash leaves the items in flight and the
    // next drive treats a `01` for them as our own earlier creation.
    let batch = ctx
        .writer
        .begin_batch(ctx.run, ctx.kind.endpoint().path(), ids)
        .await
        .map_err(EngineError::from_journal)?;
    let Some(permit) = turn_on_the_wire(&ctx).await else {
        slot.free();
        let classified = Classified::not_sent(&entries, "the run paused or stopped before it left");
        return record(&ctx, batch, entries, classified, 0, started, false).await;
    };
    for e in &mut entries {
        e.sends += 1;
    }
    ctx.requests.fetch_add(1, Ordering::Relaxed);
    let items = entries
        .iter()
        .map(|e| ItemRef {
            id: e.id,
            row: e.row,
            key: e.key.clone(),
        })
        .collect();
    emit(&ctx.events, Event::BatchSent { batch, items });
    let sent_at = Instant::now();
    let (mut classified, unreachable_now, answered) = if ctx.kind.is_mark() {
        let (result, exchange) = mark::send(client, ctx.kind, &entries).await;
        let mut c = mark::classify(ctx.kind, &entries, &result, ctx.max_attempts);
        c.attach_evidence(&result, exchange);
        (c, unreachable(&result), result.is_ok())
    } else {
        let (result, exchange) = send(client, ctx.kind, &entries).await;
        let mut c = classify(ctx.kind, &entries, &result, ctx.max_attempts);
        c.attach_evidence(&result, exchange);
        (c, unreachable(&result), result.is_ok())
    };
    let duration_ms = u64::try_from(sent_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    if unreachable_now {
        let now = ctx.outage.failed(sent_at);
        if now.hold {
            classified.keep_sends_during_outage();
        }
        if let Some(since) = now.give_up {
            // Before the turn is given back, as for a 04: nothing waiting leaves.
            stop(&ctx.control, StopReason::Unreachable { since });
        }
    } else if answered || exchange_arrived(&classified) {
        ctx.outage.answered();
    }
    if let Some(reason) = &classified.auth {
        // Before the turn is given back: nothing waiting for it may leave after a 04.
        stop(&ctx.control, StopReason::CredentialsRefused(reason.clone()));
    }
    drop(permit);
    slot.free();
    record(&ctx, batch, entries, classified, duration_ms, started, true).await
}

/// A response of any kind arrived (an HTTP status was recorded).
fn exchange_arrived(classified: &Classified) -> bool {
    classified.http_status.is_some()
}

/// Journals a request's outcome (it shares a commit with what else arrives) and hands
/// it to the coordinator.
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
    let applied = ctx
        .writer
        .finish_batch(batch, record, classified.outcomes.clone())
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
        applied,
        elapsed: started.elapsed(),
        sent,
    })
}

/// What the coordinator plans from: requests to send now, requests waiting for a
/// backoff, and pending items read from the journal but not yet in a request.
struct Queue {
    /// Whole requests to send next, in order (split halves, items an all-or-nothing
    /// refusal left out, requests closed unsent by a pause, retries whose backoff
    /// ended).
    ready: VecDeque<Vec<Entry>>,
    waiting: Vec<(Instant, Vec<Entry>)>,
    fresh: VecDeque<Entry>,
    /// The last row read from the journal; the next page starts after it.
    after: Option<u32>,
    /// Every pending item of the run has been read.
    exhausted: bool,
    batch_size: usize,
    /// Items read from the journal at a time.
    page: usize,
    backoff: Backoff,
    retries: u64,
    paused_at: Option<Instant>,
    /// Mark runs: how many of the fresh items, from the first, one call carries (the
    /// client's packing); `None`: `batch_size` at a time.
    pack: Option<Packer>,
}

/// How many of the items given, from the first, go into the next request.
type Packer = Box<dyn Fn(&[Entry]) -> usize + Send + Sync>;

impl Queue {
    fn new(settings: &EngineSettings) -> Queue {
        Queue {
            ready: VecDeque::new(),
            waiting: Vec::new(),
            fresh: VecDeque::new(),
            after: None,
            exhausted: false,
            batch_size: settings.batch_size,
            page: settings.batch_size * settings.concurrency * 4,
            backoff: Backoff::new(settings.backoff_base, settings.backoff_max, settings.seed),
            retries: 0,
            paused_at: None,
            pack: None,
        }
    }

    /// A queue whose requests are cut by `pack` (mark runs): pages hold enough items to
    /// fill a call however short the order numbers are.
    fn packed(settings: &EngineSettings, pack: Packer) -> Queue {
        Queue {
            page: mark::MAX_PER_CALL * 2,
            pack: Some(pack),
            ..Queue::new(settings)
        }
    }

    /// Fresh items needed to cut a request as full as allowed.
    fn fill(&self) -> usize {
        match self.pack {
            Some(_) => mark::MAX_PER_CALL,
            None => self.batch_size,
        }
    }

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

    /// A request can only be filled from what is read: read more first.
    fn needs_page(&self) -> bool {
        self.ready.is_empty() && !self.exhausted && self.fresh.len() < self.fill()
    }

    fn add_page(&mut self, entries: Vec<Entry>, asked: usize) {
        if entries.len() < asked {
            self.exhausted = true;
        }
        if let Some(last) = entries.last() {
            self.after = Some(last.row);
        }
        self.fresh.extend(entries);
    }

    /// The next request's items: a ready request, else the next `batch_size` fresh
    /// items. Each item is moved once, so planning a run is linear in its size.
    fn next_batch(&mut self) -> Option<Vec<Entry>> {
        if let Some(batch) = self.ready.pop_front() {
            return Some(batch);
        }
        let n = match &self.pack {
            Some(pack) if !self.fresh.is_empty() => {
                let fresh = self.fresh.make_contiguous();
                pack(fresh).clamp(1, fresh.len())
            }
            _ => self.fresh.len().min(self.batch_size),
        };
        (n > 0).then(|| self.fresh.drain(..n).collect())
    }

    fn is_empty(&self) -> bool {
        self.exhausted && self.ready.is_empty() && self.waiting.is_empty() && self.fresh.is_empty()
    }

    fn pause(&mut self, now: Instant) {
        self.paused_at.get_or_insert(now);
    }

    /// Backoffs do not run down while paused: each waits, after the pause, what it had
    /// left when the pause began.
    fn resume(&mut self, now: Instant) {
        if let Some(at) = self.paused_at.take() {
            let paused = now.saturating_duration_since(at);
            for (due, _) in &mut self.waiting {
                *due += paused;
            }
        }
    }
}

/// The coordinator of one drive.
struct Driver {
    ctx: Arc<Ctx>,
    queue: Queue,
    tasks: JoinSet<Result<Finished, EngineError>>,
    slot_tx: UnboundedSender<()>,
    slot_rx: UnboundedReceiver<()>,
    /// Requests holding a slot; at most `slots`.
    active: usize,
    slots: usize,
    concurrency: usize,
    commands: UnboundedReceiver<Command>,
    commands_open: bool,
    control: watch::Receiver<Control>,
    /// `Paused` was announced for the current pause.
    paused_announced: bool,
    /// `Stopping` was announced.
    stop_announced: bool,
    /// The first failure that stopped the run, returned once the run is closed.
    fatal: Option<EngineError>,
}

impl Driver {
    /// Says the drive started and sets up its coordinator; hands back what closing
    /// the run needs.
    fn start(d: Drive) -> (Driver, Closing) {
        let Drive {
            writer,
            client,
            run,
            kind,
            settings,
            lock,
            totals,
            events,
            commands,
            started,
        } = d;
        let closing = Closing {
            writer: writer.clone(),
            lock,
            started,
            busy_at_start: writer.busy(),
            cpu_at_start: writer.cpu(),
            call_cpu_at_start: writer.call_cpu(),
            commits_at_start: writer.commits(),
            commit_at_start: writer.commit_wait(),
            cpu_wait_at_start: writer.cpu_wait(),
            events: events.clone(),
        };
        let to_send = totals.counts.pending;
        tracing::info!(
            run = run.0,
            kind = ?kind,
            to_send,
            total = totals.counts.total(),
            concurrency = settings.concurrency,
            batch_size = settings.batch_size,
            "run started"
        );
        emit(
            &events,
            Event::RunStarted {
                run,
                kind: kind.kind(),
                total: totals.counts.total(),
                to_send,
                settled: totals.counts.settled(),
                batch_size: settings.batch_size,
                concurrency: settings.concurrency,
            },
        );
        let (control_tx, control) = watch::channel(Control::Running);
        let (slot_tx, slot_rx) = unbounded_channel();
        let queue = match (&client, kind.is_mark()) {
            (Some(c), true) => {
                let c = c.clone();
                Queue::packed(
                    &settings,
                    Box::new(move |fresh: &[Entry]| mark::call_len(&c, kind, fresh)),
                )
            }
            _ => Queue::new(&settings),
        };
        let driver = Driver {
            ctx: Arc::new(Ctx {
                writer,
                client,
                run,
                kind,
                max_attempts: settings.max_attempts,
                events,
                wire: Arc::new(Semaphore::new(settings.concurrency)),
                control: control_tx,
                requests: AtomicU64::new(0),
                outage: Outage::new(settings.give_up_after),
            }),
            queue,
            tasks: JoinSet::new(),
            slot_tx,
            slot_rx,
            active: 0,
            slots: settings.concurrency * 2,
            concurrency: settings.concurrency,
            commands,
            commands_open: true,
            control,
            paused_announced: false,
            stop_announced: false,
            fatal: None,
        };
        (driver, closing)
    }

    fn control_now(&self) -> Control {
        self.control.borrow().clone()
    }

    fn emit(&self, event: Event) {
        emit(&self.ctx.events, event);
    }

    /// Reads the next page of pending items.
    async fn load_page(&mut self) -> Result<(), EngineError> {
        let (run, kind, after, asked) = (
            self.ctx.run,
            self.ctx.kind,
            self.queue.after,
            self.queue.page,
        );
        let page = self
            .ctx
            .writer
            .call(move |j| j.pending_page(run, after, asked))
            .await??;
        let entries = page
            .into_iter()
            .map(|item| entry_of(run, kind, item))
            .collect::<Result<Vec<_>, _>>()?;
        self.queue.add_page(entries, asked);
        Ok(())
    }

    /// Starts requests while the run may send and slots are free.
    async fn fill(&mut self) -> Result<(), EngineError> {
        self.queue.promote_due(Instant::now());
        while self.active < self.slots && self.control_now().may_send() {
            if self.queue.needs_page() {
                self.load_page().await?;
                continue;
            }
            let Some(batch) = self.queue.next_batch() else {
                break;
            };
            self.active += 1;
            let slot = Slot {
                tx: self.slot_tx.clone(),
                freed: false,
            };
            self.tasks.spawn(run_batch(self.ctx.clone(), batch, slot));
        }
        Ok(())
    }

    fn fail(&mut self, e: EngineError) {
        tracing::error!(run = self.ctx.run.0, error = %e, "the run cannot go on; stopping it");
        stop(&self.ctx.control, StopReason::Failed(e.to_string()));
        self.fatal.get_or_insert(e);
    }

    fn command(&mut self, command: Option<Command>) {
        let now = Instant::now();
        match command {
            // Every handle is gone: the faces went away, the run goes on; a paused run
            // too, since nobody is left to resume it.
            None => {
                self.commands_open = false;
                self.command(Some(Command::Resume));
            }
            Some(Command::Pause) => {
                let paused = self.ctx.control.send_if_modified(|c| {
                    let running = c.may_send();
                    if running {
                        *c = Control::Paused;
                    }
                    running
                });
                if paused {
                    self.queue.pause(now);
                    self.paused_announced = false;
                    let on_the_wire = self
                        .concurrency
                        .saturating_sub(self.ctx.wire.available_permits());
                    tracing::info!(run = self.ctx.run.0, on_the_wire, "pausing");
                    self.emit(Event::Pausing { on_the_wire });
                }
            }
            Some(Command::Resume) => {
                let resumed = self.ctx.control.send_if_modified(|c| {
                    let paused = *c == Control::Paused;
                    if paused {
                        *c = Control::Running;
                    }
                    paused
                });
                if resumed {
                    self.queue.resume(now);
                    tracing::info!(run = self.ctx.run.0, "resumed");
                    self.emit(Event::Resumed);
                }
            }
            Some(Command::Cancel) => {
                tracing::info!(
                    run = self.ctx.run.0,
                    on_the_wire = self.tasks.len(),
                    "cancelled; waiting for the requests on the wire"
                );
                stop(&self.ctx.control, StopReason::Cancelled);
            }
        }
    }

    /// Says once that the run is stopping, whoever stopped it.
    fn announce(&mut self) {
        let control = self.control_now();
        if let Control::Stopping(reason) = control
            && !self.stop_announced
        {
            self.stop_announced = true;
            if let StopReason::CredentialsRefused(why) = &reason {
                tracing::warn!(run = self.ctx.run.0, reason = %why, "credentials refused; stopping the run");
            }
            self.emit(Event::Stopping { reason });
        }
    }

    /// Runs until nothing is left to send or the run stopped, with every request
    /// answered and journaled. Returns why it stopped, if it did.
    async fn run(&mut self) -> Option<StopReason> {
        loop {
            self.announce();
            if let Err(e) = self.fill().await {
                self.fail(e);
                continue;
            }
            if self.tasks.is_empty() {
                match self.control_now() {
                    Control::Stopping(reason) => return Some(reason),
                    _ if self.queue.is_empty() => return None,
                    Control::Paused if !self.paused_announced => {
                        self.paused_announced = true;
                        tracing::info!(run = self.ctx.run.0, "paused");
                        self.emit(Event::Paused);
                    }
                    _ => {}
                }
            }
            let wake = match self.control_now() {
                Control::Running => self.queue.next_wake(),
                _ => None,
            };
            tokio::select! {
                joined = self.tasks.join_next(), if !self.tasks.is_empty() => match joined {
                    Some(Ok(Ok(finished))) => self.absorb(finished),
                    Some(Ok(Err(e))) => self.fail(e),
                    Some(Err(e)) => self.fail(EngineError::Task(e.to_string())),
                    None => {}
                },
                Some(()) = self.slot_rx.recv() => self.active = self.active.saturating_sub(1),
                command = self.commands.recv(), if self.commands_open => self.command(command),
                _ = self.control.changed() => {}
                () = sleep_until(wake), if wake.is_some() => {}
            }
        }
    }

    /// Takes a finished request's decisions into the queue and reports them.
    fn absorb(&mut self, finished: Finished) {
        let Finished {
            batch,
            entries,
            classified,
            applied,
            elapsed,
            sent,
        } = finished;
        if !sent {
            // Nothing left: its items go out first when the run continues, with their
            // sends in this drive as they were.
            self.queue.ready.push_front(entries);
            return;
        }
        let items = entries
            .iter()
            .zip(&applied)
            .zip(&classified.outcomes)
            .map(|((entry, applied), (_, outcome))| ItemUpdate {
                id: entry.id,
                row: entry.row,
                key: entry.key.clone(),
                state: applied.state,
                message: applied.message.clone(),
                connectpay_id: match outcome {
                    ItemOutcome::Created { connectpay_id, .. } => Some(connectpay_id.clone()),
                    _ => None,
                },
            })
            .collect();
        self.emit(Event::BatchDone {
            batch,
            items,
            outcome: classified.summary.clone(),
            elapsed,
        });
        self.requeue(batch, entries, classified);
    }

    /// Puts the items to send again back into the queue: split halves in front, in
    /// order (so a bad item is isolated while its neighbours are still near the
    /// front), retryable failures after a backoff.
    fn requeue(&mut self, batch: BatchId, entries: Vec<Entry>, classified: Classified) {
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
        for group in groups.into_iter().rev().filter(|g| !g.is_empty()) {
            self.queue.ready.push_front(group);
        }
        if later.is_empty() {
            return;
        }
        let attempt = later.iter().map(|e| e.sends).max().unwrap_or(1);
        let delay = self.queue.backoff.delay(attempt);
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
        self.queue.retries += u64::try_from(later.len()).unwrap_or(u64::MAX);
        self.emit(Event::RetryScheduled {
            items: later.len(),
            attempt,
            delay,
            reason,
        });
        self.queue.waiting.push((Instant::now() + delay, later));
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// A run set up to be driven: locked, recovered, `running` in the journal.
pub(crate) struct Drive {
    pub writer: JournalWriter,
    pub client: Option<Client>,
    pub run: RunId,
    pub kind: RunKind,
    pub settings: EngineSettings,
    pub lock: RunLock,
    pub totals: RunTotals,
    pub events: UnboundedSender<Event>,
    pub commands: UnboundedReceiver<Command>,
    pub started: Instant,
}

/// Drives a set-up run to its end: sends every pending item in requests of at most
/// `settings.batch_size` with at most `settings.concurrency` on the wire, journals
/// each request in flight *before* it leaves and each answer after, retries with
/// backoff, pauses and resumes on command, stops at once on 04 (state `stopped_auth`,
/// unsent items stay pending) or on cancel (waits for the requests on the wire,
/// records them; state `interrupted`), else ends `completed` (failed items may remain:
/// `retry` puts them back to pending). Releases the run's lock at the end.
pub(crate) async fn drive(d: Drive) -> Result<RunReport, EngineError> {
    let run = d.run;
    let (mut driver, closing) = Driver::start(d);
    let Closing {
        writer,
        lock,
        started,
        busy_at_start,
        cpu_at_start,
        call_cpu_at_start,
        commits_at_start,
        commit_at_start,
        cpu_wait_at_start,
        events,
    } = closing;
    let stop = driver.run().await;
    let fatal = driver.fatal.take();
    let (retries, requests) = (
        driver.queue.retries,
        driver.ctx.requests.load(Ordering::Relaxed),
    );
    drop(driver);
    let closed = close(&writer, run, lock, stop.as_ref()).await;
    if let Some(e) = fatal {
        return Err(e);
    }
    let (state, totals) = closed?;
    let elapsed = started.elapsed();
    let counts = totals.counts;
    tracing::info!(
        run = run.0,
        state = %state,
        created = counts.created,
        exists = counts.exists_before_run + counts.exists_id_unknown,
        rejected = counts.rejected,
        failed = counts.failed,
        pending = counts.pending,
        requests,
        retries,
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
        sent: totals.sent,
        elapsed,
        retries,
        stop,
        requests,
        journal_time: writer.busy().saturating_sub(busy_at_start),
        journal_cpu: writer.cpu().saturating_sub(cpu_at_start),
        journal_call_cpu: writer.call_cpu().saturating_sub(call_cpu_at_start),
        journal_commits: writer.commits().saturating_sub(commits_at_start),
        journal_commit_time: writer.commit_wait().saturating_sub(commit_at_start),
        journal_cpu_wait: writer
            .cpu_wait()
            .map(|w| w.saturating_sub(cpu_wait_at_start.unwrap_or_default())),
        journal_checkpoints: writer.checkpoint_figures(),
    })
}

/// What closing a run needs once its drive is over.
struct Closing {
    writer: JournalWriter,
    lock: RunLock,
    started: Instant,
    busy_at_start: Duration,
    cpu_at_start: Duration,
    call_cpu_at_start: Duration,
    commits_at_start: u64,
    commit_at_start: Duration,
    cpu_wait_at_start: Option<Duration>,
    events: UnboundedSender<Event>,
}

/// Ends the run in the journal: its state (what the stop decides, else `completed`
/// when nothing is left, `interrupted` otherwise) and its lock released.
async fn close(
    writer: &JournalWriter,
    run: RunId,
    lock: RunLock,
    stop: Option<&StopReason>,
) -> Result<(RunState, RunTotals), EngineError> {
    let ends_as = stop.and_then(StopReason::run_state);
    let note = stop.and_then(StopReason::note);
    writer
        .call(move |j| -> Result<(RunState, RunTotals), EngineError> {
            let totals = j.run_totals(run)?;
            let left = totals.counts.pending + totals.counts.in_flight;
            let state = ends_as.unwrap_or(if left == 0 {
                RunState::Completed
            } else {
                RunState::Interrupted
            });
            let note = note.filter(|_| state != RunState::Completed);
            let set = j.set_run_state_noted(run, state, note.as_deref());
            let released = lock.release();
            set?;
            released?;
            Ok((state, totals))
        })
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ItemId;

    fn entry(row: u32) -> Entry {
        Entry {
            id: ItemId(i64::from(row)),
            row,
            key: format!("K{row}"),
            payload: Payload::Consumer(Consumer {
                consumer_id: format!("K{row}"),
                name: "N".into(),
                mobile: String::new(),
                email: String::new(),
                address: String::new(),
            }),
            sends: 0,
            earlier: 0,
        }
    }

    fn settings() -> EngineSettings {
        EngineSettings {
            batch_size: 3,
            concurrency: 1,
            seed: Some(1),
            ..EngineSettings::default()
        }
    }

    #[test]
    fn an_outage_holds_sends_only_of_requests_that_left_after_it_began() {
        let o = Outage::new(Duration::from_secs(3600));
        let before = Instant::now();
        let first = o.failed(Instant::now());
        assert!(
            !first.hold,
            "the failure that begins the outage proves nothing yet"
        );
        assert!(first.give_up.is_none());
        assert!(o.failed(Instant::now()).hold, "sent after it began");
        assert!(!o.failed(before).hold, "sent before it began");
        o.answered();
        // After an answer a new outage begins with the next failure.
        assert!(!o.failed(before).hold);
        assert!(o.failed(Instant::now()).hold);
        let gone = Outage::new(Duration::ZERO);
        let since = gone.failed(Instant::now()).give_up.unwrap();
        assert_eq!(since.len(), 5, "HH:MM: {since}");
    }

    #[test]
    fn batches_are_cut_from_pages_in_row_order_and_ready_requests_go_first() {
        let mut q = Queue::new(&settings());
        assert_eq!(q.page, 12);
        assert!(q.needs_page());
        q.add_page((2..9).map(entry).collect(), 12);
        assert!(q.exhausted, "a short page is the last");
        assert_eq!(q.after, Some(8));
        assert!(!q.needs_page());
        let rows = |b: Option<Vec<Entry>>| b.unwrap().iter().map(|e| e.row).collect::<Vec<_>>();
        assert_eq!(rows(q.next_batch()), [2, 3, 4]);
        q.ready.push_back(vec![entry(100)]);
        assert_eq!(rows(q.next_batch()), [100]);
        assert_eq!(rows(q.next_batch()), [5, 6, 7]);
        assert_eq!(rows(q.next_batch()), [8]);
        assert!(q.next_batch().is_none());
        assert!(q.is_empty());
    }

    #[test]
    fn a_pause_keeps_what_is_left_of_every_backoff() {
        let mut q = Queue::new(&settings());
        q.exhausted = true;
        let t0 = Instant::now();
        q.waiting
            .push((t0 + Duration::from_secs(3), vec![entry(2)]));
        q.pause(t0 + Duration::from_secs(1));
        q.resume(t0 + Duration::from_secs(11));
        // 2 s were left when the pause began: due 2 s after it ended.
        assert_eq!(q.next_wake(), Some(t0 + Duration::from_secs(13)));
        q.promote_due(t0 + Duration::from_secs(12));
        assert!(q.ready.is_empty());
        q.promote_due(t0 + Duration::from_secs(13));
        assert_eq!(q.ready.len(), 1);
        assert!(!q.is_empty());
    }

    #[test]
    fn the_first_stop_reason_is_kept() {
        let (tx, rx) = watch::channel(Control::Running);
        assert!(stop(&tx, StopReason::CredentialsRefused("04".into())));
        assert!(!stop(&tx, StopReason::Cancelled));
        assert_eq!(
            *rx.borrow(),
            Control::Stopping(StopReason::CredentialsRefused("04".into()))
        );
        assert!(!rx.borrow().may_send());
    }
}
