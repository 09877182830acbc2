//! `paypro-console resume [RUN]` (drive an unfinished run to its end: what was in flight
//! when it stopped is sent again, and a `01` for it is recorded as existing, never as a
//! second order) and `paypro-console retry RUN` (put the failed rows back to pending,
//! then the same). The engine chooses the run and drives it; this file asks and
//! prints.

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
    let run = match engine::resume_choice(&journal, args.run.map(RunId)) {
        Ok(ResumeChoice::One(run)) => run,
        Ok(ResumeChoice::Nothing) => {
            println!("no interrupted run to resume; paypro-console runs lists every run");
            return Ok(super::outcome::exit(0));
        }
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
    let counts = journal.counts(run.id).map_err(journal_failure)?;
    let to_send = counts.pending + counts.in_flight;
    if !args.options.yes
        && to_send > 0
        && !session::confirm(&format!(
            "Resume run {} ({}, {}): send the {} rows left to merchant {}?",
            run.id,
            session::file_name(&run.source_file),
            run.kind,
            to_send,
            run.merchant_id
        ))?
    {
        return Err(Failure::not_started("not confirmed; nothing was sent"));
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
        eprintln!("run {}: no failed rows", run.id);
    } else if !args.options.yes
        && !session::confirm(&format!(
            "Send the {} failed rows of run {} ({}) again to merchant {}?",
            counts.failed,
            run.id,
            session::file_name(&run.source_file),
            run.merchant_id
        ))?
    {
        return Err(Failure::not_started("not confirmed; nothing was sent"));
    }
    drive(
        &journal,
        &run,
        Start::Retry(run.id),
        &args.connection,
        &args.options,
    )
}

fn run_failure(journal: &Journal, e: EngineError) -> Failure {
    match e {
        EngineError::NotFound(id) => Failure::not_started(format!(
            "run {id} is not in the journal {}; paypro-console runs lists them",
            journal.path().display()
        )),
        other => session::start_failure(other),
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
    let to = engine::connection_for_run(run, &resolved).map_err(session::start_failure)?;
    if let Some(note) = &to.note {
        eprintln!("{note}");
    }
    let password = config::password(&to.merchant_id, &to.base_url)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    let connection = session::connection(&to.base_url, &to.merchant_id, password);
    let settings = options.settings();
    let rt = session::runtime()?;
    rt.block_on(async {
        let handle = engine::start(journal, what, Some(connection), &settings)
            .await
            .map_err(session::start_failure)?;
        if handle.failed_reset > 0 {
            eprintln!(
                "run {}: {} failed rows put back to pending",
                handle.run, handle.failed_reset
            );
        }
        let driven = session::watch(journal, handle).await;
        session::finish(journal, driven, options.json)
    })
}
