//! `paypro-console resume [RUN]` (drive an unfinished run to its end: what was in flight
//! when it stopped is sent again, and a `01` for it is recorded as existing, never as a
//! second order) and `paypro-console retry RUN` (put the failed rows back to pending,
//! then the same). The engine chooses the run and drives it; this file asks and
//! prints. A plain `resume` with nothing to resume lists what needs attention instead
//! (a refused password, a run another process drives, another host's lock, another
//! merchant's run) and exits 1 when anything does.

use super::out;
use super::outcome::EXIT_PROBLEMS;
use super::session::{self, Failure, RunOptions};
use crate::config::{self, ConnectionArgs};
use crate::engine::{self, EngineError, ResumeChoice, Start};
use crate::journal::{Journal, JournalError, Run, RunId};
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run to resume; without it, the one interrupted run (if there are several,
    /// they are listed).
    pub run: Option<i64>,
    #[command(flatten)]
    pub options: RunOptions,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct RetryArgs {
    /// The run whose failed rows to send again.
    pub run: i64,
    #[command(flatten)]
    pub options: RunOptions,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub fn resume(args: &ResumeArgs, journal_path: Option<&Path>) -> ExitCode {
    match resume_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("resume"),
    }
}

pub fn retry(args: &RetryArgs, journal_path: Option<&Path>) -> ExitCode {
    match retry_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("retry"),
    }
}

fn resume_inner(args: &ResumeArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    // A merchant given explicitly chooses among its own runs only.
    let resolved =
        config::resolve(&args.connection).map_err(|e| Failure::not_started(e.to_string()))?;
    let merchant = resolved
        .merchant_id
        .as_ref()
        .filter(|m| m.is_explicit())
        .map(|m| m.value.clone());
    let run = match engine::resume_choice_for(&journal, args.run.map(RunId), merchant.as_deref()) {
        Ok(ResumeChoice::One(run)) => run,
        Ok(ResumeChoice::Nothing) => return nothing_to_resume(&journal, merchant.as_deref()),
        Ok(ResumeChoice::Several(candidates)) => {
            let mut message = String::from("several runs were interrupted; say which one:\n");
            for r in &candidates {
                message.push_str(&format!(
                    "  run {} ({}, started {}): {}\n",
                    r.id,
                    session::file_name(&r.source_file),
                    r.created_at.format("%Y-%m-%d %H:%M UTC"),
                    session::resume_command(journal.path(), r.id)
                ));
            }
            return Err(Failure::not_started(message.trim_end().to_string()));
        }
        Err(e) => return Err(run_failure(&journal, e)),
    };
    if let Some(note) = &run.note {
        out::errln(&format!("run {} stopped earlier: {note}", run.id));
    }
    let counts = journal.counts(run.id).map_err(journal_failure)?;
    let to_send = counts.pending + counts.in_flight;
    if to_send > 0 {
        session::confirmed(
            args.options.yes,
            &format!(
                "Resume run {} ({}, {}): send the {} rows left to merchant {}?",
                run.id,
                session::file_name(&run.source_file),
                run.kind,
                to_send,
                run.merchant_id
            ),
        )?;
    }
    drive(
        &journal,
        &run,
        Start::Resume(run.id),
        &args.connection,
        &args.options,
    )
}

fn retry_inner(args: &RetryArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let run = match engine::resume_choice(&journal, Some(RunId(args.run))) {
        Ok(ResumeChoice::One(run)) => run,
        Ok(_) => return Err(Failure::not_started(format!("run {} not found", args.run))),
        Err(e) => return Err(run_failure(&journal, e)),
    };
    let counts = journal.counts(run.id).map_err(journal_failure)?;
    if counts.failed == 0 {
        out::errln(&format!("run {}: no failed rows", run.id));
    } else {
        session::confirmed(
            args.options.yes,
            &format!(
                "Send the {} failed rows of run {} ({}) again to merchant {}?",
                counts.failed,
                run.id,
                session::file_name(&run.source_file),
                run.merchant_id
            ),
        )?;
    }
    drive(
        &journal,
        &run,
        Start::Retry(run.id),
        &args.connection,
        &args.options,
    )
}

/// Nothing to resume: says so, and lists every unfinished run that needs something
/// else first (exit 1 when there is one, 0 when all is done).
fn nothing_to_resume(journal: &Journal, merchant: Option<&str>) -> Result<ExitCode, Failure> {
    let attention = engine::needs_attention(journal, merchant)
        .map_err(|e| session::start_failure(journal.path(), e))?;
    let prefix = session::command_prefix(journal.path());
    if attention.is_empty() {
        out::out(&format!(
            "no interrupted run to resume; {prefix} runs lists every run\n"
        ));
        return Ok(super::outcome::exit(0));
    }
    let mut text = String::from("no run can be resumed as it is; these need attention:\n");
    for a in &attention {
        text.push_str(&format!("  {}\n", a.describe(&prefix)));
    }
    out::out(&text);
    Ok(super::outcome::exit(EXIT_PROBLEMS))
}

fn run_failure(journal: &Journal, e: EngineError) -> Failure {
    match e {
        EngineError::NotFound(id) => Failure::not_started(format!(
            "run {id} is not in the journal {}; paypro-console runs lists them",
            journal.path().display()
        )),
        other => session::start_failure(journal.path(), other),
    }
}

fn journal_failure(e: JournalError) -> Failure {
    Failure::not_started(e.to_string())
}

/// Settles the connection for a journaled run (its merchant; its recorded base URL
/// unless one is given explicitly), asks for the password, and has the engine drive
/// it.
fn drive(
    journal: &Journal,
    run: &Run,
    what: Start,
    connection: &ConnectionArgs,
    options: &RunOptions,
) -> Result<ExitCode, Failure> {
    let resolved = config::resolve(connection).map_err(|e| Failure::not_started(e.to_string()))?;
    let to = engine::connection_for_run(run, &resolved)
        .map_err(|e| session::start_failure(journal.path(), e))?;
    if let Some(note) = &to.note {
        out::errln(note);
    }
    config::check_base_url(&to.base_url, connection.insecure_http)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    let password = config::password(&to.merchant_id, &to.base_url)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    let connection = session::connection(&to.base_url, &to.merchant_id, password);
    let settings = options.settings();
    let rt = session::runtime()?;
    rt.block_on(async {
        let mut signals = session::Signals::install();
        let handle =
            session::start(journal, what, Some(connection), &settings, &mut signals).await?;
        if handle.failed_reset > 0 {
            out::errln(&format!(
                "run {}: {} failed rows put back to pending",
                handle.run, handle.failed_reset
            ));
        }
        let driven = session::watch(journal, handle, signals).await;
        session::finish(journal, driven, options.json)
    })
}
