//! `paypro-console runs` (every run with its per-state counts), `paypro-console show
//! RUN` (a run's rows: state, ConnectPayId, fee, PayPro's answer; or one row, `--row` /
//! `--key`, with every request it was in and what the server answered) and
//! `paypro-console find KEY` (one order number or consumer id across every run), as
//! text or JSON. Read-only: they never take a run's lock, and read a run a page at a
//! time.

use super::outcome::{EXIT_NOT_STARTED, EXIT_PROBLEMS, exit};
use super::session::{self, Failure};
use crate::domain::Issue;
use crate::journal::{
    AttemptDetail, Item, ItemFilter, ItemState, Journal, KeyHit, Run, RunActionRecord, RunId,
    RunSummary,
};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

/// Rows read from the journal at a time by `show`.
const PAGE: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The run's number (see `paypro-console runs`).
    pub run: i64,
    /// Only rows in this state: invalid, pending, in_flight, created, exists_before_run,
    /// exists_id_unknown, rejected, failed, skipped or done (mark runs).
    #[arg(long, value_name = "STATE", value_parser = parse_state)]
    pub state: Option<ItemState>,
    /// Only this row (as Excel numbers it), with every request it was in and what
    /// PayPro answered.
    #[arg(long, value_name = "N", conflicts_with_all = ["state", "key"])]
    pub row: Option<u32>,
    /// Only the row(s) with this order number or consumer id, in detail as `--row`.
    #[arg(long, value_name = "KEY", conflicts_with = "state")]
    pub key: Option<String>,
    /// Print JSON instead of text: an array of rows; with `--row`, one object; with
    /// `--key`, an array of them.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct FindArgs {
    /// The order number or consumer id.
    pub key: String,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_state(text: &str) -> Result<ItemState, String> {
    let norm = text.trim().to_ascii_lowercase().replace('-', "_");
    ItemState::parse(&norm).ok_or_else(|| {
        let names: Vec<&str> = ItemState::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown state '{text}'; use one of {}", names.join(", "))
    })
}

/// One run in `runs --json`.
#[derive(Debug, Serialize)]
pub struct RunRow {
    pub run: RunId,
    pub state: String,
    pub kind: String,
    pub file: String,
    pub sheet: Option<String>,
    pub merchant_id: String,
    pub base_url: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The process driving it now, if any.
    pub locked_by_pid: Option<u32>,
    /// That process's host.
    pub locked_by_host: Option<String>,
    pub rows: u64,
    pub counts: crate::journal::StateCounts,
    /// `user@host` that started it.
    pub started_by: Option<String>,
    /// Why it stopped early (`server unreachable since 14:05`).
    pub note: Option<String>,
    /// Who did what to it, oldest first (started, resumed, retried, unlocked).
    pub history: Vec<RunActionRecord>,
}

impl RunRow {
    pub fn with_history(s: &RunSummary, history: Vec<RunActionRecord>) -> RunRow {
        RunRow {
            history,
            ..RunRow::of(s)
        }
    }

    pub fn of(s: &RunSummary) -> RunRow {
        RunRow {
            run: s.run.id,
            state: s.run.state.to_string(),
            kind: s.run.kind.clone(),
            file: s.run.source_file.clone(),
            sheet: s.run.sheet.clone(),
            merchant_id: s.run.merchant_id.clone(),
            base_url: s.run.base_url.clone(),
            created_at: s.run.created_at.to_rfc3339(),
            finished_at: s.run.finished_at.map(|t| t.to_rfc3339()),
            locked_by_pid: s.run.lock.as_ref().map(|l| l.pid),
            locked_by_host: s.run.lock.as_ref().map(|l| l.host.clone()),
            rows: s.counts.total(),
            counts: s.counts,
            started_by: s.run.started_by.clone(),
            note: s.run.note.clone(),
            history: Vec::new(),
        }
    }
}

/// One row in `show --json`; states are named as in the architecture's state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    pub row: u32,
    pub key: String,
    pub state: ItemState,
    pub connectpay_id: Option<String>,
    /// As PayPro reported it, a decimal string (`"60.00"`).
    pub fee: Option<String>,
    pub status_code: Option<String>,
    /// PayPro's description, the last error, why the row is invalid, or which earlier
    /// run created it.
    pub message: Option<String>,
    pub attempts: u32,
}

impl ItemRow {
    pub fn of(item: &Item, earlier: Option<String>) -> ItemRow {
        ItemRow {
            row: item.row,
            key: item.key.clone(),
            state: item.state,
            connectpay_id: item.connectpay_id.clone(),
            fee: item.fee.map(|f| f.to_string()),
            status_code: item.status_code.clone(),
            message: message_of(item).or(earlier),
            attempts: item.attempts,
        }
    }
}

/// The most useful text about a row: its issues when invalid, else PayPro's answer,
/// else the last error.
fn message_of(item: &Item) -> Option<String> {
    if item.state == ItemState::Invalid
        && let Ok(issues) = serde_json::from_value::<Vec<Issue>>(item.issues.clone())
    {
        let errors: Vec<String> = issues
            .iter()
            .filter(|i| i.is_error())
            .map(|i| format!("{}: {}", i.column, i.message))
            .collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
    }
    let nonempty = |s: &Option<String>| s.clone().filter(|t| !t.trim().is_empty());
    match item.state {
        ItemState::Failed | ItemState::Pending | ItemState::InFlight => {
            nonempty(&item.last_error).or_else(|| nonempty(&item.description))
        }
        _ => nonempty(&item.description).or_else(|| nonempty(&item.last_error)),
    }
}

pub fn runs(args: &RunsArgs, journal_path: Option<&Path>) -> ExitCode {
    let journal = match session::open_journal(journal_path) {
        Ok(j) => j,
        Err(f) => return f.report("runs"),
    };
    let list = match journal.runs() {
        Ok(l) => l,
        Err(e) => return Failure::not_started(e.to_string()).report("runs"),
    };
    let text = if args.json {
        let mut rows = Vec::with_capacity(list.len());
        for s in &list {
            let history = match journal.run_history(s.run.id) {
                Ok(h) => h,
                Err(e) => return Failure::not_started(e.to_string()).report("runs"),
            };
            rows.push(RunRow::with_history(s, history));
        }
        match serde_json::to_string_pretty(&rows) {
            Ok(j) => j + "\n",
            Err(e) => return Failure::not_started(e.to_string()).report("runs"),
        }
    } else {
        render_runs(&list, journal.path())
    };
    super::out::out(&text);
    exit(0)
}

/// The runs table, newest first: one line per run (with who started it), and under it
/// why it stopped early, if it did, and who holds it from another host.
pub fn render_runs(list: &[RunSummary], journal: &Path) -> String {
    if list.is_empty() {
        return format!(
            "no runs in {}; send a spreadsheet with: paypro-console submit FILE\n",
            journal.display()
        );
    }
    let mut out = format!(
        "{:>5}  {:<13} {:<16} {:<17} {:<20} {:>6} {:>7} {:>6} {:>6} {:>8} {:>6} {:>7} {:>7}  {}\n",
        "RUN",
        "STATE",
        "KIND",
        "STARTED (UTC)",
        "BY",
        "ROWS",
        "CREATED",
        "DONE",
        "EXISTS",
        "REJECTED",
        "FAILED",
        "PENDING",
        "INVALID",
        "FILE"
    );
    for s in list {
        let c = &s.counts;
        let mut state = s.run.state.to_string();
        if let Some(lock) = &s.run.lock {
            state = format!("{state} (pid {})", lock.pid);
        }
        out.push_str(&format!(
            "{:>5}  {:<13} {:<16} {:<17} {:<20} {:>6} {:>7} {:>6} {:>6} {:>8} {:>6} {:>7} {:>7}  {}\n",
            s.run.id.0,
            state,
            s.run.kind,
            s.run.created_at.format("%Y-%m-%d %H:%M"),
            s.run.started_by.as_deref().unwrap_or("-"),
            c.total(),
            c.created,
            c.done,
            c.exists_before_run + c.exists_id_unknown,
            c.rejected,
            c.failed,
            c.pending + c.in_flight,
            c.invalid,
            session::file_name(&s.run.source_file)
        ));
        if let Some(lock) = &s.run.lock {
            out.push_str(&format!(
                "       held by process {} on host {} since {}\n",
                lock.pid,
                lock.host,
                lock.since.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        if let Some(note) = &s.run.note {
            out.push_str(&format!("       {note}\n"));
        }
    }
    out
}

/// The head of `show RUN`: the run, and who did what to it.
pub fn render_run_head(run: &Run, history: &[RunActionRecord]) -> String {
    let mut out = format!(
        "run {}: {} ({}), merchant {} at {}, {}\n",
        run.id,
        session::file_name(&run.source_file),
        run.kind,
        run.merchant_id,
        run.base_url,
        run.state
    );
    if history.is_empty()
        && let Some(by) = &run.started_by
    {
        out.push_str(&format!(
            "  started by {by} at {}\n",
            run.created_at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    for h in history {
        out.push_str(&format!("  {}\n", h.describe()));
    }
    if let Some(note) = &run.note {
        out.push_str(&format!("  stopped: {note}\n"));
    }
    out
}

pub fn show(args: &ShowArgs, journal_path: Option<&Path>) -> ExitCode {
    match show_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("show"),
    }
}

fn write_out(text: &str) -> Result<(), Failure> {
    // A closed pipe (`| head`) ends the listing, not with an error.
    super::out::out(text);
    Ok(())
}

fn journal_failure(e: impl std::fmt::Display) -> Failure {
    Failure::not_started(e.to_string())
}

fn show_inner(args: &ShowArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let run = find_run(&journal, RunId(args.run))?;
    if let Some(row) = args.row {
        let Some(item) = journal.item_by_row(run.id, row).map_err(journal_failure)? else {
            super::out::errln(&format!(
                "run {}: no row {row} (the sheet's rows are numbered as Excel shows them)",
                run.id
            ));
            return Ok(exit(EXIT_PROBLEMS));
        };
        let detail = ItemDetail::load(&journal, &run, &item)?;
        let text = if args.json {
            serde_json::to_string_pretty(&detail).map_err(journal_failure)? + "\n"
        } else {
            detail.render()
        };
        write_out(&text)?;
        return Ok(exit(0));
    }
    if let Some(key) = &args.key {
        let items = journal.items_by_key(run.id, key).map_err(journal_failure)?;
        if items.is_empty() {
            super::out::errln(&format!(
                "run {}: no row with {} {key}",
                run.id,
                key_noun(&run.kind)
            ));
            return Ok(exit(EXIT_PROBLEMS));
        }
        let details = items
            .iter()
            .map(|item| ItemDetail::load(&journal, &run, item))
            .collect::<Result<Vec<_>, _>>()?;
        let text = if args.json {
            serde_json::to_string_pretty(&details).map_err(journal_failure)? + "\n"
        } else {
            details
                .iter()
                .map(ItemDetail::render)
                .collect::<Vec<_>>()
                .join("\n")
        };
        write_out(&text)?;
        return Ok(exit(0));
    }
    if !args.json {
        let history = journal.run_history(run.id).map_err(journal_failure)?;
        write_out(&render_run_head(&run, &history))?;
    }
    show_rows(&journal, &run, args.state, args.json)?;
    Ok(exit(0))
}

fn find_run(journal: &Journal, run: RunId) -> Result<Run, Failure> {
    journal
        .run(run)
        .map_err(journal_failure)?
        .ok_or_else(|| Failure {
            code: EXIT_NOT_STARTED,
            message: format!("run {run} is not in the journal; paypro-console runs lists them"),
        })
}

fn key_noun(kind: &str) -> &'static str {
    match kind {
        "orders" => "order number",
        _ => "consumer id",
    }
}

/// Prints a run's rows page by page (a 100,000-row run never sits in memory).
fn show_rows(
    journal: &Journal,
    run: &Run,
    state: Option<ItemState>,
    json: bool,
) -> Result<(), Failure> {
    let filter = ItemFilter {
        states: state.into_iter().collect(),
        text: None,
    };
    let mut after = None;
    let mut first = true;
    loop {
        let page = journal
            .items_page(run.id, &filter, after, PAGE)
            .map_err(journal_failure)?;
        let Some(last) = page.last() else { break };
        after = Some(last.row);
        let rows = item_rows(journal, run, &page)?;
        let text = if json {
            let mut out = String::new();
            for row in &rows {
                out.push_str(if first { "[\n  " } else { ",\n  " });
                first = false;
                out.push_str(&serde_json::to_string(row).map_err(journal_failure)?);
            }
            out
        } else {
            let text = render_items(&rows, first);
            first = false;
            text
        };
        write_out(&text)?;
        if page.len() < PAGE {
            break;
        }
    }
    let end = match (json, first) {
        (true, true) => "[]\n",
        (true, false) => "\n]\n",
        (false, true) => "no rows\n",
        (false, false) => "",
    };
    write_out(end)
}

/// A page of a run's rows as `show` prints them.
pub fn item_rows(journal: &Journal, run: &Run, items: &[Item]) -> Result<Vec<ItemRow>, Failure> {
    // Skipped rows say which earlier run created them.
    let skipped: Vec<&str> = items
        .iter()
        .filter(|i| i.state == ItemState::Skipped)
        .map(|i| i.key.as_str())
        .collect();
    let earlier: HashMap<String, String> = if skipped.is_empty() {
        HashMap::new()
    } else {
        journal
            .created_elsewhere_many(
                &run.kind,
                &run.merchant_id,
                &run.base_url,
                skipped,
                Some(run.id),
            )
            .map_err(journal_failure)?
            .into_iter()
            .map(|(k, p)| (k, p.to_string()))
            .collect()
    };
    Ok(items
        .iter()
        .map(|i| {
            let note = (i.state == ItemState::Skipped)
                .then(|| earlier.get(&i.key).cloned())
                .flatten();
            ItemRow::of(i, note)
        })
        .collect())
}

/// One row in detail: `show --row` / `--key`.
#[derive(Debug, Serialize)]
pub struct ItemDetail {
    pub run: RunId,
    pub file: String,
    #[serde(flatten)]
    pub item: ItemRow,
    pub issues: Vec<Issue>,
    /// Every request the row was in, oldest first.
    pub requests: Vec<RequestRow>,
}

/// One request a row was in, and what the server answered.
#[derive(Debug, Serialize)]
pub struct RequestRow {
    pub batch: i64,
    pub endpoint: String,
    /// 0-based place of the row in the request.
    pub position: u32,
    pub batch_size: u32,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub http_status: Option<u16>,
    /// The request's outcome (`ok`, `status 04: ...`, `transport: ...`).
    pub outcome: Option<String>,
    /// What it did to this row: a state, `retry`, `unsent` or `interrupted`.
    pub result: Option<String>,
    pub status_code: Option<String>,
    pub description: Option<String>,
    pub error: Option<String>,
    /// The whole answer, credentials redacted.
    pub response_body: Option<String>,
}

impl RequestRow {
    fn of(d: &AttemptDetail) -> RequestRow {
        let a = &d.attempt;
        RequestRow {
            batch: a.batch.0,
            endpoint: a.endpoint.clone(),
            position: a.position,
            batch_size: a.batch_size,
            started_at: a.started_at.to_rfc3339(),
            finished_at: a.finished_at.map(|t| t.to_rfc3339()),
            duration_ms: a.duration_ms,
            http_status: a.http_status,
            outcome: a.batch_outcome.clone(),
            result: a.result.clone(),
            status_code: a.status_code.clone(),
            description: a.description.clone(),
            error: a.error.clone(),
            response_body: d.response_body.clone(),
        }
    }
}

impl ItemDetail {
    fn load(journal: &Journal, run: &Run, item: &Item) -> Result<ItemDetail, Failure> {
        let rows = item_rows(journal, run, std::slice::from_ref(item))?;
        let row = rows.into_iter().next().ok_or_else(|| {
            Failure::not_started(format!(
                "run {}: row {} could not be read",
                run.id, item.row
            ))
        })?;
        let history = journal.item_history(item.id).map_err(journal_failure)?;
        Ok(ItemDetail {
            run: run.id,
            file: run.source_file.clone(),
            item: row,
            issues: serde_json::from_value(item.issues.clone()).unwrap_or_default(),
            requests: history.iter().map(RequestRow::of).collect(),
        })
    }

    /// The text form: the row, its issues, then each request and the server's answer
    /// for this row.
    pub fn render(&self) -> String {
        let r = &self.item;
        let mut out = format!(
            "run {}, row {} ({}), from {}: {}\n",
            self.run,
            r.row,
            r.key,
            session::file_name(&self.file),
            r.state.as_str()
        );
        let mut facts = Vec::new();
        if let Some(id) = &r.connectpay_id {
            facts.push(format!("ConnectPayId {id}"));
        }
        if let Some(fee) = &r.fee {
            facts.push(format!("fee {fee}"));
        }
        if let Some(code) = &r.status_code {
            facts.push(format!("status {code}"));
        }
        facts.push(format!("{} sends", r.attempts));
        out.push_str(&format!("  {}\n", facts.join(", ")));
        if let Some(message) = &r.message {
            out.push_str(&format!("  {message}\n"));
        }
        for issue in &self.issues {
            out.push_str(&format!("  {issue}\n"));
        }
        if self.requests.is_empty() {
            out.push_str("  never sent\n");
        }
        for (n, q) in self.requests.iter().enumerate() {
            out.push_str(&format!(
                "  request {} (batch {}, {} of {} items, {}): sent {}",
                n + 1,
                q.batch,
                q.position + 1,
                q.batch_size,
                q.endpoint,
                q.started_at
            ));
            if let Some(status) = q.http_status {
                out.push_str(&format!(", HTTP {status}"));
            }
            if let Some(ms) = q.duration_ms {
                out.push_str(&format!(" in {ms} ms"));
            }
            out.push_str(&format!(
                ": {}\n",
                q.result.as_deref().unwrap_or("no answer recorded")
            ));
            let said = q
                .description
                .as_deref()
                .or(q.error.as_deref())
                .or(q.outcome.as_deref());
            if let Some(said) = said {
                out.push_str(&format!("    {said}\n"));
            }
            if let Some(answer) = q
                .response_body
                .as_deref()
                .and_then(|b| answer_for(b, &r.key))
            {
                out.push_str(&format!("    answer: {answer}\n"));
            }
        }
        out
    }
}

/// The part of a batch answer about `key`: the result object naming it, else the
/// start of the body.
fn answer_for(body: &str, key: &str) -> Option<String> {
    const MAX: usize = 300;
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(body)
        && let Some(item) = items.iter().find(|v| {
            v.as_object()
                .is_some_and(|o| o.values().any(|x| x.as_str() == Some(key)))
        })
    {
        return Some(item.to_string());
    }
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let mut end = body.len().min(MAX);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    Some(if end < body.len() {
        format!("{}…", &body[..end])
    } else {
        body.to_string()
    })
}

pub fn find(args: &FindArgs, journal_path: Option<&Path>) -> ExitCode {
    match find_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("find"),
    }
}

/// One hit of `find --json`.
#[derive(Debug, Serialize)]
pub struct FoundRow {
    pub run: RunId,
    pub run_state: String,
    pub kind: String,
    pub merchant_id: String,
    pub file: String,
    pub created_at: String,
    #[serde(flatten)]
    pub item: ItemRow,
}

fn find_inner(args: &FindArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let hits: Vec<KeyHit> = journal.find_key(&args.key).map_err(journal_failure)?;
    if hits.is_empty() && !args.json {
        super::out::errln(&format!(
            "{} is in no run of {}",
            args.key.trim(),
            journal.path().display()
        ));
        return Ok(exit(EXIT_PROBLEMS));
    }
    let mut rows = Vec::with_capacity(hits.len());
    for hit in &hits {
        let item = item_rows(&journal, &hit.run, std::slice::from_ref(&hit.item))?;
        for item in item {
            rows.push(FoundRow {
                run: hit.run.id,
                run_state: hit.run.state.to_string(),
                kind: hit.run.kind.clone(),
                merchant_id: hit.run.merchant_id.clone(),
                file: hit.run.source_file.clone(),
                created_at: hit.run.created_at.to_rfc3339(),
                item,
            });
        }
    }
    let text = if args.json {
        serde_json::to_string_pretty(&rows).map_err(journal_failure)? + "\n"
    } else {
        render_found(&rows)
    };
    write_out(&text)?;
    Ok(exit(if rows.is_empty() { EXIT_PROBLEMS } else { 0 }))
}

fn render_found(rows: &[FoundRow]) -> String {
    let mut out = format!(
        "{:>5}  {:<12} {:<16} {:<12} {:<17} {:>6}  {:<17} {:<16} {:>8}  {}\n",
        "RUN",
        "RUN STATE",
        "KIND",
        "MERCHANT",
        "STARTED (UTC)",
        "ROW",
        "STATE",
        "CONNECTPAY ID",
        "ATTEMPTS",
        "MESSAGE / FILE"
    );
    for r in rows {
        let started = chrono::DateTime::parse_from_rfc3339(&r.created_at)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|_| r.created_at.clone());
        out.push_str(&format!(
            "{:>5}  {:<12} {:<16} {:<12} {:<17} {:>6}  {:<17} {:<16} {:>8}  {}\n",
            r.run.0,
            r.run_state,
            r.kind,
            r.merchant_id,
            started,
            r.item.row,
            r.item.state.as_str(),
            r.item.connectpay_id.as_deref().unwrap_or("-"),
            r.item.attempts,
            r.item
                .message
                .clone()
                .unwrap_or_else(|| session::file_name(&r.file))
        ));
    }
    out
}

/// The rows table (`header`: the column names first).
pub fn render_items(rows: &[ItemRow], header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(&format!(
            "{:>6}  {:<20} {:<17} {:<16} {:>8} {:>4} {:>8}  {}\n",
            "ROW", "KEY", "STATE", "CONNECTPAY ID", "FEE", "CODE", "ATTEMPTS", "MESSAGE"
        ));
    }
    for r in rows {
        out.push_str(&format!(
            "{:>6}  {:<20} {:<17} {:<16} {:>8} {:>4} {:>8}  {}\n",
            r.row,
            r.key,
            r.state.as_str(),
            r.connectpay_id.as_deref().unwrap_or("-"),
            r.fee.as_deref().unwrap_or("-"),
            r.status_code.as_deref().unwrap_or("-"),
            r.attempts,
            r.message.as_deref().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_shown_is_the_one_about_the_row() {
        let body = r#"[{"Status":"00"},{"Status":"00","OrderNumber":"A-1","ConnectPayId":"1"},{"Status":"01","OrderNumber":"A-2"}]"#;
        let answer = answer_for(body, "A-2").unwrap();
        assert!(
            answer.contains("\"A-2\"") && answer.contains("\"01\""),
            "{answer}"
        );
        assert!(!answer.contains("A-1"), "{answer}");
        assert_eq!(
            answer_for("Internal Server Error", "A-2").as_deref(),
            Some("Internal Server Error")
        );
        let long = "x".repeat(400);
        assert!(answer_for(&long, "A").unwrap().ends_with('…'));
        assert_eq!(answer_for("  ", "A"), None);
    }

    #[test]
    fn state_names_parse_like_the_state_machine() {
        assert_eq!(parse_state("created"), Ok(ItemState::Created));
        assert_eq!(
            parse_state("exists-id-unknown"),
            Ok(ItemState::ExistsIdUnknown)
        );
        let err = parse_state("sent").unwrap_err();
        assert!(
            err.contains("in_flight") && err.contains("skipped"),
            "{err}"
        );
    }
}
