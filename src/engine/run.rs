//! [`start`]: a run from a [`Plan`] (journaled first), or a journaled run resumed or
//! retried, set up (locked, recovered from a crash, `running`) and then driven on a
//! task of its own. The [`RunHandle`] carries the events, the commands and the final
//! report; dropping any of them never stops the run.
//!
//! Also what a face needs to choose a run to resume ([`resume_choice`]) and the
//! connection to drive a journaled run with ([`connection_for_run`]).

use super::drive::{self, Drive};
use super::plan::Plan;
use super::prepare::journal_plan;
use super::{EngineError, EngineSettings, Event, RunKind, RunReport};
use crate::api::{Client, ClientConfig};
use crate::config;
use crate::journal::{
    Journal, JournalWriter, Liveness, LockHolder, Run, RunAction, RunId, RunLock, RunState,
    RunTotals, StateCounts,
};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

pub use super::drive::Command;

/// What to drive.
#[derive(Debug)]
pub enum Start {
    /// A planned sheet: journaled as a new run, then sent.
    Plan(Box<Plan>),
    /// A journaled run that did not finish: what was in flight when it stopped is sent
    /// again (a `01` for it is recorded as existing, never as a second order), then
    /// everything still pending.
    Resume(RunId),
    /// A journaled run's failed items put back to pending, then as `Resume`.
    Retry(RunId),
}

impl Start {
    pub fn plan(plan: Plan) -> Start {
        Start::Plan(Box::new(plan))
    }
}

/// A face's way to steer a run. Cheap to clone; every clone steers the same run.
#[derive(Debug, Clone)]
pub struct RunControl {
    tx: UnboundedSender<Command>,
}

impl RunControl {
    /// Sends a command; `false` when the drive has already ended.
    pub fn send(&self, command: Command) -> bool {
        self.tx.send(command).is_ok()
    }

    /// In-flight requests finish and are journaled; nothing new is sent; every item
    /// keeps its sends and its backoff. [`Event::Paused`] follows.
    pub fn pause(&self) -> bool {
        self.send(Command::Pause)
    }

    pub fn resume(&self) -> bool {
        self.send(Command::Resume)
    }

    /// Stops sending; requests on the wire finish and are journaled; the run ends
    /// `interrupted` (resumable).
    pub fn cancel(&self) -> bool {
        self.send(Command::Cancel)
    }
}

/// The end of a drive: a future of its [`RunReport`].
#[derive(Debug)]
pub struct RunEnd(JoinHandle<Result<RunReport, EngineError>>);

impl Future for RunEnd {
    type Output = Result<RunReport, EngineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(result) => result,
            Err(e) => Err(EngineError::Task(e.to_string())),
        })
    }
}

/// A run being driven.
#[derive(Debug)]
pub struct RunHandle {
    pub run: RunId,
    /// Everything the drive reports, in order, ending with [`Event::RunFinished`].
    pub events: UnboundedReceiver<Event>,
    pub control: RunControl,
    pub report: RunEnd,
    /// Items found in flight (a crash) and put back to be sent again.
    pub recovered: usize,
    /// Failed items put back to pending (`Start::Retry`).
    pub failed_reset: usize,
}

impl RunHandle {
    /// Waits for the end of the drive, ignoring its events.
    pub async fn finish(self) -> Result<RunReport, EngineError> {
        self.report.await
    }
}

/// Sets up a run and starts driving it on a task of its own (call it within a tokio
/// runtime). The run is journaled (for a plan), locked for this process (another live
/// holder gives [`EngineError::Locked`]), recovered from a crash and marked `running`
/// before this returns; the drive's events and report come through the handle.
///
/// `connection` says where and as whom to send; it may be `None` only for a plan that
/// sends nothing. The journal's writer for this run gets the connection's password to
/// redact from everything it stores.
pub async fn start(
    journal: &Journal,
    what: Start,
    connection: Option<ClientConfig>,
    settings: &EngineSettings,
) -> Result<RunHandle, EngineError> {
    let started = Instant::now();
    let settings = settings.normalized();
    if let (Start::Plan(plan), None) = (&what, &connection)
        && plan.sends_anything()
    {
        return Err(EngineError::NoCredentials);
    }
    if let (Start::Resume(_) | Start::Retry(_), None) = (&what, &connection) {
        return Err(EngineError::NoCredentials);
    }
    if let Some(c) = &connection {
        super::check_credentials(&c.merchant_id, &c.password)?;
    }
    let client = match &connection {
        Some(c) => {
            Some(Client::new(c.clone()).map_err(|e| EngineError::Connection(e.to_string()))?)
        }
        None => None,
    };
    let merchant = connection.as_ref().map(|c| c.merchant_id.clone());
    let secrets = connection.map(|c| vec![c.password]).unwrap_or_default();
    // Opening touches the disk: off the async executor, like every journal call.
    let path = journal.path().to_path_buf();
    let writer = tokio::task::spawn_blocking(move || {
        let own = Journal::open(&path)?;
        own.set_redactions(secrets);
        JournalWriter::start(own)
    })
    .await
    .map_err(|e| EngineError::Task(e.to_string()))??;
    let set_up = writer
        .call(move |j| set_up(j, what, merchant.as_deref()))
        .await??;
    let mut settings = settings;
    if let (Some(c), true) = (&client, set_up.kind.is_mark()) {
        settings.batch_size = call_size(&writer, c, set_up.run, set_up.kind).await;
    }
    let (events_tx, events) = unbounded_channel();
    let (commands_tx, commands) = unbounded_channel();
    let run = set_up.run;
    let report = tokio::spawn(drive::drive(Drive {
        writer,
        client,
        run,
        kind: set_up.kind,
        settings,
        lock: set_up.lock,
        totals: set_up.totals,
        events: events_tx,
        commands,
        started,
    }));
    Ok(RunHandle {
        run,
        events,
        control: RunControl { tx: commands_tx },
        report: RunEnd(report),
        recovered: set_up.recovered,
        failed_reset: set_up.failed_reset,
    })
}

/// A mark run's requests carry as many orders as fit in one call: how many the first
/// call will, for the faces' "batches queued" (an estimate: order numbers vary).
async fn call_size(writer: &JournalWriter, client: &Client, run: RunId, kind: RunKind) -> usize {
    let page = writer
        .call(move |j| j.pending_page(run, None, super::mark::MAX_PER_CALL))
        .await;
    let entries: Vec<_> = match page {
        Ok(Ok(items)) => items
            .into_iter()
            .filter_map(|i| drive::entry_of(run, kind, i).ok())
            .collect(),
        _ => Vec::new(),
    };
    if entries.is_empty() {
        return 1;
    }
    super::mark::call_len(client, kind, &entries)
}

struct SetUp {
    run: RunId,
    kind: RunKind,
    lock: RunLock,
    totals: RunTotals,
    recovered: usize,
    failed_reset: usize,
}

/// On the writer thread: journal a plan, lock, recover, reset failed items for a
/// retry, mark `running`. A failure after the lock releases it (dropping the lock).
fn set_up(j: &Journal, what: Start, merchant: Option<&str>) -> Result<SetUp, EngineError> {
    let (run, retry, action) = match what {
        Start::Plan(plan) => {
            if let Some(given) = merchant
                && given != plan.target.merchant_id
            {
                return Err(EngineError::PlannedForAnother {
                    planned: plan.target.merchant_id.clone(),
                    given: given.to_string(),
                });
            }
            // The run's creation records who started it.
            (journal_plan(j, &plan)?.run, false, None)
        }
        Start::Resume(run) => (run, false, Some(RunAction::Resumed)),
        Start::Retry(run) => (run, true, Some(RunAction::Retried)),
    };
    let record = j.run(run)?.ok_or(EngineError::NotFound(run))?;
    let kind = RunKind::parse(run, &record.kind)?;
    if let Some(given) = merchant
        && given != record.merchant_id
    {
        return Err(EngineError::WrongMerchant {
            run,
            run_merchant: record.merchant_id,
            given: given.to_string(),
        });
    }
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
    let failed_reset = if retry { j.retry_failed(run)? } else { 0 };
    if let Some(action) = action {
        let detail = match action {
            RunAction::Retried => Some(format!("{failed_reset} failed rows sent again")),
            _ if recovery.items_reset > 0 => Some(format!(
                "{} rows found in flight, sent again",
                recovery.items_reset
            )),
            _ => None,
        };
        j.record_action(run, action, detail.as_deref())?;
    }
    j.set_run_state(run, RunState::Running)?;
    let totals = j.run_totals(run)?;
    Ok(SetUp {
        run,
        kind,
        lock,
        totals,
        recovered: recovery.items_reset,
        failed_reset,
    })
}

/// Which run a plain `resume` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeChoice {
    /// No run is waiting to be resumed ([`needs_attention`] says what else is left).
    Nothing,
    One(Box<Run>),
    /// Several runs could be meant; the clerk has to say which.
    Several(Vec<Run>),
}

/// The run to resume: `run` if given (it must exist), else the one unfinished run no
/// live process holds.
pub fn resume_choice(journal: &Journal, run: Option<RunId>) -> Result<ResumeChoice, EngineError> {
    resume_choice_for(journal, run, None)
}

/// [`resume_choice`] among the runs of `merchant` only, when one is given explicitly
/// (a run belongs to its merchant; the others are [`needs_attention`]'s).
pub fn resume_choice_for(
    journal: &Journal,
    run: Option<RunId>,
    merchant: Option<&str>,
) -> Result<ResumeChoice, EngineError> {
    if let Some(id) = run {
        return journal
            .run(id)?
            .map(|r| ResumeChoice::One(Box::new(r)))
            .ok_or(EngineError::NotFound(id));
    }
    let mut candidates: Vec<Run> = journal
        .interrupted_runs()?
        .into_iter()
        .filter(|r| merchant.is_none_or(|m| m == r.merchant_id))
        .collect();
    Ok(match candidates.len() {
        0 => ResumeChoice::Nothing,
        1 => ResumeChoice::One(Box::new(candidates.remove(0))),
        _ => ResumeChoice::Several(candidates),
    })
}

/// An unfinished run a plain `resume` does not take, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub run: Run,
    pub counts: StateCounts,
    pub why: AttentionWhy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttentionWhy {
    /// PayPro refused the credentials: the password has to be fixed first.
    StoppedAuth,
    /// A live process of this host drives it.
    Driven(LockHolder),
    /// Another host's process holds it; `unlock` clears that once it is gone.
    HeldElsewhere(LockHolder),
    /// Interrupted, but it belongs to another merchant than the one given.
    OtherMerchant,
}

impl Attention {
    /// One line for the clerk; `command` is how to call the program on this journal
    /// (`paypro-console --journal PATH`).
    pub fn describe(&self, command: &str) -> String {
        let run = &self.run;
        let id = run.id;
        let left = self.counts.pending + self.counts.in_flight + self.counts.failed;
        let what = format!(
            "run {id} ({}, merchant {}, {left} rows left)",
            file_name(&run.source_file),
            run.merchant_id
        );
        match &self.why {
            AttentionWhy::StoppedAuth => format!(
                "{what} stopped: PayPro refused the credentials{}; fix the password, then: {command} resume {id}",
                run.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            AttentionWhy::Driven(h) => format!(
                "{what} is being sent by process {} on host {} (since {}); wait for it to finish",
                h.pid,
                h.host,
                h.since.format("%Y-%m-%d %H:%M UTC")
            ),
            AttentionWhy::HeldElsewhere(h) => format!(
                "{what} is held by process {} on host {}, another host (since {}); if that process is gone: {command} unlock {id}",
                h.pid,
                h.host,
                h.since.format("%Y-%m-%d %H:%M UTC")
            ),
            AttentionWhy::OtherMerchant => format!(
                "{what} was interrupted; it belongs to merchant {}: {command} resume {id} --merchant {}",
                run.merchant_id, run.merchant_id
            ),
        }
    }
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The unfinished runs a plain `resume` (for `merchant`, when one is given) does not
/// take: stopped for their credentials, driven by a live process, held by another
/// host, or another merchant's. Oldest first.
pub fn needs_attention(
    journal: &Journal,
    merchant: Option<&str>,
) -> Result<Vec<Attention>, EngineError> {
    let mut out = Vec::new();
    for u in journal.unfinished_runs()? {
        let why = match (&u.holder, &u.run.lock) {
            (Some(Liveness::Alive), Some(h)) => AttentionWhy::Driven(h.clone()),
            (Some(Liveness::OtherHost), Some(h)) => AttentionWhy::HeldElsewhere(h.clone()),
            _ if u.run.state == RunState::StoppedAuth => AttentionWhy::StoppedAuth,
            _ if merchant.is_some_and(|m| m != u.run.merchant_id) => AttentionWhy::OtherMerchant,
            _ => continue,
        };
        out.push(Attention {
            run: u.run,
            counts: u.counts,
            why,
        });
    }
    Ok(out)
}

/// The service and merchant to drive a journaled run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConnection {
    pub base_url: String,
    pub merchant_id: String,
    /// Said to the clerk when the run continues against another URL than it started.
    pub note: Option<String>,
}

/// A run belongs to the merchant it was started for (a merchant given explicitly must
/// be that one); its recorded base URL is used unless one is given explicitly (flag or
/// environment), e.g. because the server moved.
pub fn connection_for_run(
    run: &Run,
    resolved: &config::Connection,
) -> Result<RunConnection, EngineError> {
    if let Some(m) = &resolved.merchant_id
        && m.is_explicit()
        && m.value != run.merchant_id
    {
        return Err(EngineError::WrongMerchant {
            run: run.id,
            run_merchant: run.merchant_id.clone(),
            given: m.value.clone(),
        });
    }
    let (base_url, note) = match &resolved.base_url {
        Some(b) if b.is_explicit() => {
            let note = (b.value != run.base_url).then(|| {
                format!(
                    "run {} was started against {}; continuing against {} as asked",
                    run.id, run.base_url, b.value
                )
            });
            (b.value.clone(), note)
        }
        _ => (run.base_url.clone(), None),
    };
    Ok(RunConnection {
        base_url,
        merchant_id: run.merchant_id.clone(),
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Connection, Setting, Source};

    fn run() -> Run {
        Run {
            id: RunId(4),
            kind: "orders".into(),
            source_file: "/x/orders.xlsx".into(),
            source_sha256: String::new(),
            sheet: None,
            merchant_id: "acme".into(),
            base_url: "http://old".into(),
            state: RunState::Interrupted,
            created_at: chrono::Utc::now(),
            finished_at: None,
            lock: None,
            started_by: None,
            note: None,
        }
    }

    fn setting(value: &str, source: Source) -> Option<Setting> {
        Some(Setting {
            value: value.into(),
            source,
        })
    }

    #[test]
    fn a_run_keeps_its_merchant_and_url_unless_told_otherwise() {
        let none = Connection::default();
        let c = connection_for_run(&run(), &none).unwrap();
        assert_eq!(
            (c.base_url.as_str(), c.merchant_id.as_str()),
            ("http://old", "acme")
        );
        assert_eq!(c.note, None);
        let profile = Connection {
            base_url: setting("http://profile", Source::Profile),
            merchant_id: setting("other", Source::Profile),
            amount_limits: None,
        };
        assert_eq!(
            connection_for_run(&run(), &profile).unwrap().base_url,
            "http://old"
        );
        let explicit = Connection {
            base_url: setting("http://new", Source::Env),
            merchant_id: setting("acme", Source::Flag),
            amount_limits: None,
        };
        let c = connection_for_run(&run(), &explicit).unwrap();
        assert_eq!(c.base_url, "http://new");
        assert!(c.note.unwrap().contains("continuing against http://new"));
        let wrong = Connection {
            base_url: None,
            merchant_id: setting("other", Source::Env),
            amount_limits: None,
        };
        let err = connection_for_run(&run(), &wrong).unwrap_err().to_string();
        assert!(err.contains("belongs to merchant acme, not other"), "{err}");
    }

    #[test]
    fn resume_choice_names_the_run_or_the_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        assert_eq!(resume_choice(&j, None).unwrap(), ResumeChoice::Nothing);
        assert!(matches!(
            resume_choice(&j, Some(RunId(3))),
            Err(EngineError::NotFound(RunId(3)))
        ));
        let new_run = |file: &str| crate::journal::NewRun {
            kind: "orders".into(),
            source_file: file.into(),
            source_sha256: String::new(),
            sheet: None,
            merchant_id: "m".into(),
            base_url: "http://x".into(),
        };
        let item = crate::journal::NewItem {
            row: 2,
            key: "A".into(),
            payload: serde_json::json!({}),
            issues: serde_json::json!([]),
            state: crate::journal::ItemState::Pending,
        };
        let (a, _) = j
            .create_run_with_items(&new_run("a.csv"), std::slice::from_ref(&item))
            .unwrap();
        assert!(matches!(resume_choice(&j, None).unwrap(), ResumeChoice::One(r) if r.id == a));
        j.create_run_with_items(&new_run("b.csv"), &[item]).unwrap();
        assert!(
            matches!(resume_choice(&j, None).unwrap(), ResumeChoice::Several(v) if v.len() == 2)
        );
        assert!(matches!(resume_choice(&j, Some(a)).unwrap(), ResumeChoice::One(r) if r.id == a));
    }
}
