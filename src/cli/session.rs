//! What `submit`, `resume`, `retry` and `demo` share: opening the journal, the
//! connection settings, watching a run the engine drives (rendering its events,
//! turning Ctrl-C into a cancel), and ending it (summary, the exit code, and what the
//! clerk should do next).

use super::outcome::{
    self, EXIT_INTERRUPTED, EXIT_NOT_STARTED, EXIT_PROBLEMS, EXIT_TERMINATED, Summary,
};
use super::progress::Renderer;
use crate::Secret;
use crate::api::ClientConfig;
use crate::engine::{EngineError, EngineSettings, RunHandle, RunReport};
use crate::journal::{self, Journal, RunId, RunState};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Options of the commands that drive a run (`submit`, `resume`, `retry`).
#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Sends of a row (in this invocation) before it is marked failed; failed rows can
    /// be sent again later with `retry`.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print one JSON summary object on stdout at the end (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
}

impl RunOptions {
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            concurrency: usize::from(self.concurrency),
            max_attempts: self.max_attempts,
            ..EngineSettings::default()
        }
    }
}

/// A command that ends before or instead of a run's summary: the exit code and the
/// message for stderr (already naming what to do).
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// The run could not start (exit 2).
    pub fn not_started(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_NOT_STARTED,
            message: message.into(),
        }
    }

    /// Prints `paypro-console CMD: message` and returns the exit code.
    pub fn report(&self, command: &str) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("paypro-console {command}: {}", self.message);
        }
        outcome::exit(self.code)
    }
}

/// Opens the journal at `--journal`, `PAYPRO_JOURNAL` or the default path.
pub fn open_journal(cli: Option<&Path>) -> Result<Journal, Failure> {
    let path = journal::resolve_path(cli).map_err(|e| Failure::not_started(e.to_string()))?;
    Journal::open(&path).map_err(|e| Failure::not_started(e.to_string()))
}

/// The start of a command line that reaches this journal: `paypro-console`, plus
/// `--journal PATH` unless it is the default one.
pub fn command_prefix(journal: &Path) -> String {
    match journal::default_path() {
        Ok(default) if default == journal => "paypro-console".to_string(),
        _ => format!(
            "paypro-console --journal {}",
            outcome::shell_quote(&journal.display().to_string())
        ),
    }
}

/// The command to resume `run`.
pub fn resume_command(journal: &Path, run: RunId) -> String {
    format!("{} resume {run}", command_prefix(journal))
}

/// One line per run left unfinished, to print when another run starts.
pub fn interrupted_notes(journal: &Journal) -> Vec<String> {
    match journal.interrupted_runs() {
        Ok(runs) => runs
            .iter()
            .map(|r| {
                format!(
                    "run {} ({}) was interrupted: {}",
                    r.id,
                    file_name(&r.source_file),
                    resume_command(journal.path(), r.id)
                )
            })
            .collect(),
        Err(e) => vec![format!("cannot list interrupted runs: {e}")],
    }
}

/// The last component of a journaled source path.
pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::not_started(format!("cannot start the async runtime: {e}")))
}

/// Where and as whom to send.
pub fn connection(base_url: &str, merchant_id: &str, password: Secret) -> ClientConfig {
    ClientConfig::new(base_url, merchant_id, password)
}

/// The message for a run the engine could not start.
pub fn start_failure(e: EngineError) -> Failure {
    match e {
        EngineError::Locked(holder) => Failure::not_started(holder.to_string()),
        other => Failure::not_started(other.to_string()),
    }
}

/// Asks `question [y/N]` on stderr and reads the answer from stdin. Without a terminal
/// there is nobody to ask: the caller must pass `--yes`.
pub fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::not_started(
            "not asking for confirmation without a terminal: pass --yes to go ahead; nothing was sent",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::not_started(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Goes on when `yes` was given or the clerk answers yes; else the command ends with
/// nothing sent.
pub fn confirmed(yes: bool, question: &str) -> Result<(), Failure> {
    if yes || confirm(question)? {
        Ok(())
    } else {
        Err(Failure::not_started("not confirmed; nothing was sent"))
    }
}

/// Which signal stopped a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    Interrupt,
    Terminate,
}

impl Interruption {
    fn exit_code(self) -> u8 {
        match self {
            Interruption::Interrupt => EXIT_INTERRUPTED,
            Interruption::Terminate => EXIT_TERMINATED,
        }
    }
}

/// How a drive ended, for [`finish`].
#[derive(Debug)]
pub struct Driven {
    pub run: RunId,
    pub result: Result<RunReport, EngineError>,
    pub interrupted: Option<Interruption>,
    /// Rows settled before the drive (to tell "refused from the start" from "stopped
    /// part-way").
    pub settled_before: u64,
}

async fn next_signal(sig: &mut Option<Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Watches a run to its end with a progress display on stderr. The first Ctrl-C (or
/// SIGTERM) cancels it: no new batches are sent and the requests in flight finish and
/// are recorded; a second one quits at once (the journal stays consistent: what was
/// in flight is re-checked on resume).
pub async fn watch(journal: &Journal, handle: RunHandle) -> Driven {
    let RunHandle {
        run,
        mut events,
        control,
        mut report,
        ..
    } = handle;
    let mut renderer = Renderer::new();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let resume = resume_command(journal.path(), run);
    let mut interrupted: Option<Interruption> = None;
    let result = loop {
        let got = tokio::select! {
            biased;
            Some(event) = events.recv() => {
                renderer.event(&event);
                None
            }
            result = &mut report => break result,
            _ = next_signal(&mut sigint) => Some(Interruption::Interrupt),
            _ = next_signal(&mut sigterm) => Some(Interruption::Terminate),
        };
        if let Some(which) = got {
            if let Some(first) = interrupted {
                renderer.note(&format!(
                    "stopping at once; requests in flight are re-checked when you resume: {resume}"
                ));
                renderer.abandon();
                std::process::exit(i32::from(first.exit_code()));
            }
            interrupted = Some(which);
            renderer.note(
                "stopping: no new batches are sent; waiting for the requests in flight \
                 to be answered and recorded (press Ctrl-C again to quit at once)",
            );
            control.cancel();
        }
    };
    while let Ok(event) = events.try_recv() {
        renderer.event(&event);
    }
    if result.is_err() {
        renderer.abandon();
    }
    Driven {
        run,
        result,
        interrupted,
        settled_before: renderer.progress().settled_before,
    }
}

/// Prints the end of a drive (the summary on stdout, as JSON with `json`; advice on
/// stderr) and returns the exit code.
pub fn finish(journal: &Journal, driven: Driven, json: bool) -> Result<ExitCode, Failure> {
    let run = driven.run;
    let resume = resume_command(journal.path(), run);
    let report = match driven.result {
        Ok(report) => report,
        Err(EngineError::Locked(holder)) => {
            return Err(Failure::not_started(holder.to_string()));
        }
        Err(e) => {
            return Err(Failure::not_started(format!(
                "run {run} could not go on: {e}; once that is fixed: {resume}"
            )));
        }
    };
    let mut summary = Summary::of(&report, journal.path());
    if let Ok(Some(record)) = journal.run(run) {
        summary = summary.with_kind(&record.kind);
    }
    print_summary(&summary, json);
    if let Some(which) = driven.interrupted
        && report.state != RunState::Completed
    {
        eprintln!("interrupted: resume with {resume}");
        return Ok(outcome::exit(which.exit_code()));
    }
    if let Some(reason) = report.credentials_refused() {
        eprintln!(
            "PayPro refused the merchant id or password ({reason}); nothing more was sent. \
             Check the password (PAYPRO_PASSWORD or the prompt) and the merchant id, then: {resume}"
        );
        let settled_after = report.counts.settled();
        return Ok(outcome::exit(if settled_after > driven.settled_before {
            EXIT_PROBLEMS
        } else {
            EXIT_NOT_STARTED
        }));
    }
    Ok(outcome::exit(summary.exit_code()))
}

/// The summary on stdout: one JSON object, or the text form.
pub fn print_summary(summary: &Summary, json: bool) {
    let text = if json {
        match serde_json::to_string(summary) {
            Ok(j) => j + "\n",
            Err(e) => format!("{{\"error\":\"cannot write JSON: {e}\"}}\n"),
        }
    } else {
        summary.render_text(&command_prefix(Path::new(&summary.journal)))
    };
    write_stdout(&text);
}

/// A command's own lines around the run: stdout, or stderr when stdout carries the
/// JSON summary.
pub fn say(json: bool, text: &str) {
    if json {
        eprint!("{text}");
    } else {
        write_stdout(text);
    }
}

fn write_stdout(text: &str) {
    // A closed pipe (`| head`) must not turn a finished run into a failure.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_a_non_default_journal() {
        let p = Path::new("/tmp/x y/j.sqlite3");
        assert_eq!(
            resume_command(p, RunId(7)),
            "paypro-console --journal '/tmp/x y/j.sqlite3' resume 7"
        );
        if let Ok(default) = journal::default_path() {
            assert_eq!(
                resume_command(&default, RunId(7)),
                "paypro-console resume 7"
            );
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name("/data/orders.xlsx"), "orders.xlsx");
        assert_eq!(file_name("orders.csv"), "orders.csv");
    }
}
