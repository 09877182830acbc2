//! `paypro-console resume [RUN]` (drive an unfinished run to its end: what was in flight
//! when it stopped is sent again, and a `01` for it is recorded as existing, never as a
//! second order) and `paypro-console retry RUN` (put the failed rows back to pending,
//! then the same).

use super::session::{self, Failure, RunOptions};
use crate::config::{self, ConnectionArgs};
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
    let run = match args.run {
        Some(id) => find_run(&journal, RunId(id))?,
        None => {
            let mut candidates = journal.interrupted_runs().map_err(journal_failure)?;
            match candidates.len() {
                0 => {
                    println!("no interrupted run to resume; paypro-console runs lists every run");
                    return Ok(super::outcome::exit(0));
                }
                1 => candidates.remove(0),
                _ => {
                    let mut message =
                        String::from("several runs were interrupted; say which one:\n");
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
            }
        }
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
    drive(&journal, &run, &args.connection, &args.options)
}

fn retry_inner(args: &RetryArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    let run = find_run(&journal, RunId(args.run))?;
    let counts = journal.counts(run.id).map_err(journal_failure)?;
    if counts.failed > 0 {
        if !args.options.yes
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
        // The lock is held only around the reset: the drive takes it again itself.
        let lock = journal.lock_run(run.id).map_err(journal_failure)?;
        let reset = journal.retry_failed(run.id).map_err(journal_failure);
        let released = lock.release().map_err(journal_failure);
        let n = reset?;
        released?;
        eprintln!("run {}: {n} failed rows put back to pending", run.id);
    } else {
        eprintln!("run {}: no failed rows", run.id);
    }
    drive(&journal, &run, &args.connection, &args.options)
}

fn find_run(journal: &Journal, id: RunId) -> Result<Run, Failure> {
    journal.run(id).map_err(journal_failure)?.ok_or_else(|| {
        Failure::not_started(format!(
            "run {id} is not in the journal {}; paypro-console runs lists them",
            journal.path().display()
        ))
    })
}

fn journal_failure(e: JournalError) -> Failure {
    Failure::not_started(e.to_string())
}

/// Settles the connection for a journaled run and drives it. The run belongs to the
/// merchant it was started for; its recorded base URL is used unless one is given
/// explicitly (flag or environment), e.g. because the server moved.
fn drive(
    journal: &Journal,
    run: &Run,
    connection: &ConnectionArgs,
    options: &RunOptions,
) -> Result<ExitCode, Failure> {
    let resolved = config::resolve(connection).map_err(|e| Failure::not_started(e.to_string()))?;
    let (base_url, merchant) = connection_for(run, &resolved)?;
    let password =
        config::password(&merchant, &base_url).map_err(|e| Failure::not_started(e.to_string()))?;
    let client = session::client(journal, &base_url, &merchant, password)?;
    let settings = options.settings();
    let rt = session::runtime()?;
    let driven = rt.block_on(session::drive_with_progress(
        journal, client, run.id, &settings,
    ));
    session::finish(journal, driven, options.json)
}

/// The base URL and merchant id to drive `run` with.
pub fn connection_for(
    run: &Run,
    resolved: &config::Connection,
) -> Result<(String, String), Failure> {
    if let Some(m) = &resolved.merchant_id
        && m.is_explicit()
        && m.value != run.merchant_id
    {
        return Err(Failure::not_started(format!(
            "run {} belongs to merchant {}, not {}; unset PAYPRO_MERCHANT_ID or drop --merchant",
            run.id, run.merchant_id, m.value
        )));
    }
    let base_url = match &resolved.base_url {
        Some(b) if b.is_explicit() => {
            if b.value != run.base_url {
                eprintln!(
                    "run {} was started against {}; continuing against {} as asked",
                    run.id, run.base_url, b.value
                );
            }
            b.value.clone()
        }
        _ => run.base_url.clone(),
    };
    Ok((base_url, run.merchant_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Connection, Setting, Source};
    use crate::journal::RunState;

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
        assert_eq!(
            connection_for(&run(), &none).unwrap(),
            ("http://old".to_string(), "acme".to_string())
        );
        let profile = Connection {
            base_url: setting("http://profile", Source::Profile),
            merchant_id: setting("other", Source::Profile),
        };
        assert_eq!(connection_for(&run(), &profile).unwrap().0, "http://old");
        let explicit = Connection {
            base_url: setting("http://new", Source::Env),
            merchant_id: setting("acme", Source::Flag),
        };
        assert_eq!(connection_for(&run(), &explicit).unwrap().0, "http://new");
        let wrong = Connection {
            base_url: None,
            merchant_id: setting("other", Source::Env),
        };
        let err = connection_for(&run(), &wrong).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("belongs to merchant acme"),
            "{}",
            err.message
        );
    }
}
