//! Runs: creation, listing with per-state counts, state changes, and finding the runs
//! a crash or a kill left unfinished.

use super::error::{Context, JournalError};
use super::items::insert_items;
use super::lock::holder_alive;
use super::model::{ItemId, LockHolder, Run, RunId, RunState, RunSummary, StateCounts};
use super::{Journal, NewItem, NewRun, now_text, parse_time};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::HashMap;

const RUN_COLUMNS: &str = "id, kind, source_file, source_sha256, sheet, merchant_id, base_url, \
     state, created_at, finished_at, lock_pid, lock_host, lock_start, lock_since";

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

/// Inserts a run in state `open`; `base_url` already redacted.
fn insert_run(
    conn: &Connection,
    new: &NewRun,
    base_url: &str,
    now: &str,
) -> Result<RunId, JournalError> {
    conn.execute(
        "INSERT INTO runs (kind, source_file, source_sha256, sheet, merchant_id, base_url,
                           state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            new.kind,
            new.source_file,
            new.source_sha256,
            new.sheet,
            new.merchant_id,
            base_url,
            RunState::Open,
            now
        ],
    )
    .ctx("creating a run")?;
    Ok(RunId(conn.last_insert_rowid()))
}

impl Journal {
    /// Creates a run in state `open`.
    pub fn create_run(&self, new: &NewRun) -> Result<RunId, JournalError> {
        let base_url = self.redact(&new.base_url);
        let now = now_text();
        let conn = self.conn();
        insert_run(&conn, new, &base_url, &now)
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
        let base_url = self.redact(&new.base_url);
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("creating a run")?;
        let run = insert_run(&tx, new, &base_url, &now)?;
        let ids = insert_items(&tx, run, items, &now)?;
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
    pub fn set_run_state(&self, id: RunId, state: RunState) -> Result<(), JournalError> {
        let now = now_text();
        let finished = state.is_terminal().then_some(now.as_str());
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE runs SET state = ?2, updated_at = ?3, finished_at = ?4 WHERE id = ?1",
                params![id.0, state, now, finished],
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

    /// Runs to offer for resuming: `open` or `running` with no live lock holder, or
    /// `interrupted` with no live lock holder, that still have pending, in-flight or
    /// failed items. Oldest first.
    pub fn interrupted_runs(&self) -> Result<Vec<Run>, JournalError> {
        let candidates = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM runs
                     WHERE state IN ('open', 'running', 'interrupted')
                       AND EXISTS (SELECT 1 FROM items
                                   WHERE items.run_id = runs.id
                                     AND items.state IN ('pending', 'in_flight', 'failed'))
                     ORDER BY id"
                ))
                .ctx("finding interrupted runs")?;
            stmt.query_map([], run_from_row)
                .ctx("finding interrupted runs")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("finding interrupted runs")?
        };
        let me = &self.inner.me;
        Ok(candidates
            .into_iter()
            .filter(|run| run.lock.as_ref().is_none_or(|h| !holder_alive(h, me)))
            .collect())
    }
}
