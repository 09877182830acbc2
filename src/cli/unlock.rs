//! `paypro-console unlock RUN`: clears the lock a process of another host left on a
//! run (a recreated container, a renamed machine), which this host cannot check, so
//! `resume` and `retry` can drive the run again. Shows the holder's host, pid, user
//! and the lock's age, and asks (`--yes` for scripts). A lock held by a live process
//! of this host is refused; one left by an ended process of this host needs no unlock
//! (the next resume takes it over) but may be cleared all the same. Recorded in the
//! run's history with who did it.

use super::out;
use super::outcome::EXIT_OK;
use super::session::{self, Failure};
use crate::journal::{Journal, Liveness, LockHolder, RunId};
use chrono::Utc;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// The run whose lock to clear (see `paypro-console runs`).
    pub run: i64,
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(args: &UnlockArgs, journal_path: Option<&Path>) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("unlock"),
    }
}

/// `3h12m`, `4m`, `2d05h`: how long ago the lock was taken.
pub fn age(holder: &LockHolder) -> String {
    let secs = (Utc::now() - holder.since).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m")
    }
}

/// The holder as the question shows it.
pub fn describe_holder(holder: &LockHolder) -> String {
    let user = holder
        .user
        .as_deref()
        .map(|u| format!(", user {u}"))
        .unwrap_or_default();
    format!(
        "process {} on host {}{user}, since {} ({} ago)",
        holder.pid,
        holder.host,
        holder.since.format("%Y-%m-%d %H:%M UTC"),
        age(holder)
    )
}

fn run_inner(args: &UnlockArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let id = RunId(args.run);
    let Some(run) = journal
        .run(id)
        .map_err(|e| Failure::not_started(e.to_string()))?
    else {
        return Err(Failure::not_started(format!(
            "run {id} is not in the journal {}; paypro-console runs lists them",
            journal.path().display()
        )));
    };
    let Some(holder) = run.lock.clone() else {
        out::out(&format!("run {id} is not locked; nothing to do\n"));
        return Ok(super::outcome::exit(EXIT_OK));
    };
    let who = describe_holder(&holder);
    let question = match journal.liveness(id, &holder) {
        Liveness::Alive => {
            return Err(Failure::not_started(format!(
                "run {id} is being driven right now by {who}, on this host; it cannot be \
                 unlocked while that process runs (stop it with Ctrl-C, or wait for it)"
            )));
        }
        Liveness::Gone => format!(
            "run {id} is locked by {who}, a process of this host that has ended (the next \
             resume would take the lock over by itself). Clear it?"
        ),
        Liveness::OtherHost => format!(
            "run {id} is locked by {who}. That is another host, which cannot be checked from \
             here. Clear the lock only if that process is gone: two processes driving one run \
             could send its rows twice. Clear it?"
        ),
    };
    out::errln(&question);
    session::confirmed(args.yes, "Unlock")
        .map_err(|_| Failure::not_started("not confirmed; the lock is kept"))?;
    journal
        .break_lock(id)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    out::out(&format!(
        "run {id} unlocked (recorded in its history as unlocked by {}); continue it with: {}\n",
        journal.who_am_i(),
        session::resume_command(journal.path(), id)
    ));
    Ok(super::outcome::exit(EXIT_OK))
}

/// Clears run `run`'s lock in `journal` without asking (for the console's confirmed
/// action): the same checks as the command.
pub fn unlock_confirmed(journal: &Journal, run: RunId) -> Result<Option<LockHolder>, String> {
    let Some(r) = journal.run(run).map_err(|e| e.to_string())? else {
        return Err(format!("run {run} is not in the journal"));
    };
    if let Some(h) = &r.lock
        && journal.liveness(run, h) == Liveness::Alive
    {
        return Err(format!(
            "run {run} is being driven right now by {}; it cannot be unlocked",
            describe_holder(h)
        ));
    }
    journal.break_lock(run).map_err(|e| e.to_string())
}
