//! Runs: creation (with who started it), listing with per-state counts, state changes,
//! a run's history of who did what to it, and finding the runs a crash, a kill, an
//! outage or a refused password left unfinished.

use super::error::{Context, JournalError};
use super::items::insert_items_with_cells;
use super::lock::{Liveness, ProcessIdentity, liveness};
use super::model::{
    ItemId, LockHolder, Run, RunAction, RunActionRecord, RunId, RunState, RunSummary, StateCounts,
};
use super::{Journal, NewItem, NewRun, now_text, parse_time};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::HashMap;

const RUN_COLUMNS: &str = "id, kind, source_file, source_sha256, sheet, merchant_id, base_url, \
     state, created_at, finished_at, lock_pid, lock_host, lock_start, lock_since, lock_user, \
     started_by, note";

/// A run that is not finished, with its lock holder (if any) and whether that holder
/// still drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRun {
    pub run: Run,
    pub counts: StateCounts,
    /// `None`: nobody holds it.
    pub holder: Option<Liveness>,
}

impl UnfinishedRun {
    /// Nobody drives it now (no lock, or one left by a process of this host that has
    /// ended).
    pub fn is_free(&self) -> bool {
        matches!(self.holder, None | Some(Liveness::Gone))
    }
}

/// Records `action` by `who` on `run`, inside the caller's transaction.
pub(crate) fn insert_action(
    conn: &Connection,
    run: RunId,
    action: RunAction,
    who: &ProcessIdentity,
    detail: Option<&str>,
) -> Result<(), JournalError> {
    conn.prepare_cached(
        "INSERT INTO run_actions (run_id, at, action, os_user, host, pid, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            run.0,
            now_text(),
            action,
            who.user,
            who.host,
            who.pid,
            detail
        ])
    })
    .ctx("recording who acted on a run")?;
    Ok(())
}

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let lock_pid: Option<i64> = r.get(10)?;
    let lock = match lock_pid {
        None => None,
        Some(pid) => {
            let start: Option<i64> = r.get(12)?;
            let since: Option<String> = r.get(13)?;
            Some(LockHolder {
                pid: u32::try_from(pid).unwrap_or(0),
                host: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                user: r.get(14)?,
                start_ticks: start.and_then(|s| u64::try_from(s).ok()),
                since: match since {
                    Some(s) => parse_time(&s)?,
                    None => chrono::DateTime::UNIX_EPOCH,
                },
            })
        }
    };
    Ok(Run {
        id: RunId(r.get(0)?),
        kind: r.get(1)?,
        source_file: r.get(2)?,
        source_sha256: r.get(3)?,
        sheet: r.get(4)?,
        merchant_id: r.get(5)?,
        base_url: r.get(6)?,
        state: r.get(7)?,
        created_at: parse_time(&r.get::<_, String>(8)?)?,
        finished_at: r
            .get::<_, Option<String>>(9)?
            .map(|s| parse_time(&s))
            .transpose()?,
        lock,
        started_by: r.get(15)?,
        note: r.get(16)?,
    })
}

pub(crate) fn counts_of(conn: &Connection, run: RunId) -> Result<StateCounts, JournalError> {
    let mut stmt = conn
        .prepare_cached("SELECT state, COUNT(*) FROM items WHERE run_id = ?1 GROUP BY state")
        .ctx("counting items")?;
    let mut counts = StateCounts::default();
    let rows = stmt
        .query_map([run.0], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)))
        .ctx("counting items")?;
    for row in rows {
        let (state, n) = row.ctx("counting items")?;
        counts.add(state, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Inserts a run in state `open`, started by `who` (recorded in its history too);
/// `base_url` already redacted.
pub(crate) fn insert_run(
    conn: &Connection,
    new: &NewRun,
    base_url: &str,
    now: &str,
    who: &ProcessIdentity,
) -> Result<RunId, JournalError> {
    conn.execute(
        "INSERT INTO runs (kind, source_file, source_sha256, sheet, merchant_id, base_url,
                           state, created_at, updated_at, started_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            new.kind,
            new.source_file,
            new.source_sha256,
            new.sheet,
            new.merchant_id,
            base_url,
            RunState::Open,
            now,
            who.who()
        ],
    )
    .ctx("creating a run")?;
    let run = RunId(conn.last_insert_rowid());
    insert_action(conn, run, RunAction::Started, who, None)?;
    Ok(run)
}

impl Journal {
    /// Creates a run in state `open`.
    pub fn create_run(&self, new: &NewRun) -> Result<RunId, JournalError> {
        let base_url = self.redact(&new.base_url);
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("creating a run")?;
        let run = insert_run(&tx, new, &base_url, &now, &self.inner.me)?;
        tx.commit().ctx("creating a run")?;
        Ok(run)
    }

    /// Creates a run in state `open` together with its rows, in one transaction: either
    /// the run exists with every item, or nothing was written (no empty run is left by a
    /// failure half-way). Items as for [`Journal::add_items`]; ids in the order given.
    pub fn create_run_with_items(
        &self,
        new: &NewRun,
        items: &[NewItem],
    ) -> Result<(RunId, Vec<ItemId>), JournalError> {
        self.create_run_from(new, items.iter().cloned().map(Ok))
    }

    /// [`Journal::create_run_with_items`] from items made one at a time (a 100,000-row
    /// sheet is journaled without a second copy of it in memory); the first item that
    /// fails to come fails the whole creation, writing nothing.
    pub fn create_run_from<I, E>(&self, new: &NewRun, items: I) -> Result<(RunId, Vec<ItemId>), E>
    where
        I: IntoIterator<Item = Result<NewItem, E>>,
        E: From<JournalError>,
    {
        self.create_run_with_cells_from(new, None, items.into_iter().map(|i| i.map(|i| (i, None))))
    }

    /// [`Journal::create_run_from`] that also keeps the sheet as the clerk saw it, for
    /// the run's results files: the header names on the run (`columns`) and each row's
    /// cells beside its item, in the same transaction.
    pub fn create_run_with_cells_from<I, E>(
        &self,
        new: &NewRun,
        columns: Option<&[String]>,
        items: I,
    ) -> Result<(RunId, Vec<ItemId>), E>
    where
        I: IntoIterator<Item = Result<(NewItem, Option<Vec<String>>), E>>,
        E: From<JournalError>,
    {
        self.create_guarded_run(new, columns, items, false)
    }

    /// [`Journal::create_run_with_cells_from`] with the cross-run guard in the same
    /// `IMMEDIATE` transaction (when `guard`): once the rows are
    /// written, a pending row whose key another unfinished run of the same merchant,
    /// kind and service holds pending or in flight, or that a run created since the
    /// plan was made, refuses the whole creation
    /// ([`JournalError::HeldByOtherRuns`]). Two processes that submit one sheet at
    /// once cannot both pass: SQLite lets one write transaction in at a time.
    pub fn create_guarded_run<I, E>(
        &self,
        new: &NewRun,
        columns: Option<&[String]>,
        items: I,
        guard: bool,
    ) -> Result<(RunId, Vec<ItemId>), E>
    where
        I: IntoIterator<Item = Result<(NewItem, Option<Vec<String>>), E>>,
        E: From<JournalError>,
    {
        let base_url = self.redact(&new.base_url);
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("creating a run")?;
        let run = insert_run(&tx, new, &base_url, &now, &self.inner.me)?;
        if let Some(columns) = columns {
            tx.execute(
                "UPDATE runs SET columns = ?2 WHERE id = ?1",
                params![run.0, serde_json::Value::from(columns.to_vec()).to_string()],
            )
            .ctx("creating a run")?;
        }
        let ids = insert_items_with_cells(&tx, run, items, &now)?;
        if guard {
            super::items::check_holds(&tx, run, new, &base_url, &|other, h| {
                self.liveness(other, h) != Liveness::Gone
            })?;
        }
        tx.commit().ctx("creating a run")?;
        Ok((run, ids))
    }

    pub fn run(&self, id: RunId) -> Result<Option<Run>, JournalError> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
            [id.0],
            run_from_row,
        )
        .optional()
        .ctx("reading a run")
    }

    /// Every run with its per-state item counts, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, JournalError> {
        let conn = self.conn();
        let mut counts: HashMap<i64, StateCounts> = HashMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT run_id, state, COUNT(*) FROM items GROUP BY run_id, state")
                .ctx("counting items")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get::<_, i64>(2)?))
                })
                .ctx("counting items")?;
            for row in rows {
                let (run, state, n) = row.ctx("counting items")?;
                counts
                    .entry(run)
                    .or_default()
                    .add(state, u64::try_from(n).unwrap_or(0));
            }
        }
        let mut stmt = conn
            .prepare(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC"))
            .ctx("listing runs")?;
        let runs = stmt
            .query_map([], run_from_row)
            .ctx("listing runs")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("listing runs")?;
        Ok(runs
            .into_iter()
            .map(|run| RunSummary {
                counts: counts.get(&run.id.0).copied().unwrap_or_default(),
                run,
            })
            .collect())
    }

    /// Sets the run's state; terminal states record `finished_at`, others clear it.
    /// Clears the run's note (why it stopped early).
    pub fn set_run_state(&self, id: RunId, state: RunState) -> Result<(), JournalError> {
        self.set_run_state_noted(id, state, None)
    }

    /// [`Journal::set_run_state`] with a note on why the run stopped early (`server
    /// unreachable since 14:05`), shown by `runs`, `resume` and the console.
    pub fn set_run_state_noted(
        &self,
        id: RunId,
        state: RunState,
        note: Option<&str>,
    ) -> Result<(), JournalError> {
        let now = now_text();
        let finished = state.is_terminal().then_some(now.as_str());
        let note = note.map(|n| self.redact(n));
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE runs SET state = ?2, updated_at = ?3, finished_at = ?4, note = ?5
                 WHERE id = ?1",
                params![id.0, state, now, finished, note],
            )
            .ctx("setting a run's state")?;
        if n == 0 {
            return Err(JournalError::NotFound {
                what: format!("run {id}"),
            });
        }
        Ok(())
    }

    pub fn counts(&self, run: RunId) -> Result<StateCounts, JournalError> {
        counts_of(&self.conn(), run)
    }

    /// Records that this process did `action` to `run` (resume, retry), with the
    /// OS user, host and time.
    pub fn record_action(
        &self,
        run: RunId,
        action: RunAction,
        detail: Option<&str>,
    ) -> Result<(), JournalError> {
        let conn = self.conn();
        insert_action(&conn, run, action, &self.inner.me, detail)
    }

    /// Who did what to `run`, oldest first.
    pub fn run_history(&self, run: RunId) -> Result<Vec<RunActionRecord>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT at, action, os_user, host, pid, detail FROM run_actions
                 WHERE run_id = ?1 ORDER BY id",
            )
            .ctx("reading a run's history")?;
        stmt.query_map([run.0], |r| {
            Ok(RunActionRecord {
                at: parse_time(&r.get::<_, String>(0)?)?,
                action: r.get(1)?,
                user: r.get(2)?,
                host: r.get(3)?,
                pid: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                detail: r.get(5)?,
            })
        })
        .ctx("reading a run's history")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading a run's history")
    }

    /// Runs that are not finished and still have rows to deal with (pending, in
    /// flight or failed): `open`, `running` or `interrupted`, and `stopped_auth` (the
    /// password was refused). Each with its holder's liveness. Oldest first.
    pub fn unfinished_runs(&self) -> Result<Vec<UnfinishedRun>, JournalError> {
        let candidates = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM runs
                     WHERE state IN ('open', 'running', 'interrupted', 'stopped_auth')
                       AND EXISTS (SELECT 1 FROM items
                                   WHERE items.run_id = runs.id
                                     AND items.state IN ('pending', 'in_flight', 'failed'))
                     ORDER BY id"
                ))
                .ctx("finding unfinished runs")?;
            let runs = stmt
                .query_map([], run_from_row)
                .ctx("finding unfinished runs")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("finding unfinished runs")?;
            let mut out = Vec::with_capacity(runs.len());
            for run in runs {
                let counts = counts_of(&conn, run.id)?;
                out.push((run, counts));
            }
            out
        };
        let me = &self.inner.me;
        Ok(candidates
            .into_iter()
            .map(|(run, counts)| {
                let holder = run
                    .lock
                    .as_ref()
                    .map(|h| liveness(h, me, self.path(), run.id));
                UnfinishedRun {
                    run,
                    counts,
                    holder,
                }
            })
            .collect())
    }

    /// Runs to offer for resuming: `open`, `running` or `interrupted` runs that
    /// nobody drives (no lock, or one left by a process of this host that has ended)
    /// and that still have pending, in-flight or failed items. Oldest first.
    pub fn interrupted_runs(&self) -> Result<Vec<Run>, JournalError> {
        Ok(self
            .unfinished_runs()?
            .into_iter()
            .filter(|u| u.run.state != RunState::StoppedAuth && u.is_free())
            .map(|u| u.run)
            .collect())
    }
}
