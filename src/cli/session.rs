//! What `submit`, `resume`, `retry` and `demo` share: opening the journal, the
//! connection settings, the signals (Ctrl-C and SIGTERM stop a run safely; a hang-up
//! never does), watching a run the engine drives (rendering its events), and ending
//! it (summary, the exit code, and what the clerk should do next).

use super::out;
use super::outcome::{
    self, EXIT_INTERRUPTED, EXIT_NOT_STARTED, EXIT_PROBLEMS, EXIT_TERMINATED, Summary,
};
use super::progress::Renderer;
use crate::Secret;
use crate::api::ClientConfig;
use crate::engine::{EngineError, EngineSettings, RunHandle, RunReport, Start, StopReason};
use crate::journal::{self, Journal, RunId, RunState};
use std::io::{BufRead, IsTerminal};
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
    /// Seconds every request may fail to reach the server (connection refused or
    /// reset, timeout, HTTP 5xx) before the run stops as interrupted ("server
    /// unreachable since HH:MM"); no row is marked failed for an outage, and a plain
    /// `resume` continues the run.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub give_up_after: u64,
}

impl RunOptions {
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            concurrency: usize::from(self.concurrency),
            max_attempts: self.max_attempts,
            give_up_after: std::time::Duration::from_secs(self.give_up_after),
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
            out::errln(&format!("paypro-console {command}: {}", self.message));
        }
        outcome::exit(self.code)
    }
}

/// Opens the journal at `--journal`, `PAYPRO_JOURNAL` or the default path. The
/// journal's own errors about the file name it; any other names it here.
pub fn open_journal(cli: Option<&Path>) -> Result<Journal, Failure> {
    let path = journal::resolve_path(cli).map_err(|e| Failure::not_started(e.to_string()))?;
    Journal::open(&path).map_err(|e| {
        let text = e.to_string();
        let shown = path.display().to_string();
        if text.contains(&shown) {
            Failure::not_started(text)
        } else {
            Failure::not_started(format!("journal {shown}: {text}"))
        }
    })
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

/// The message for a run the engine could not start, with the commands that help
/// spelled for this journal.
pub fn start_failure(journal: &Path, e: EngineError) -> Failure {
    let prefix = command_prefix(journal);
    let spell = |text: String| {
        if prefix == "paypro-console" {
            text
        } else {
            text.replace("paypro-console unlock", &format!("{prefix} unlock"))
        }
    };
    match e {
        EngineError::Locked(holder) => Failure::not_started(spell(holder.to_string())),
        EngineError::HeldByOtherRuns(holds) => {
            let mut lines = vec![format!(
                "rows of this sheet are in another run's hands; sending them again could bill \
                 a customer twice. Nothing was sent."
            )];
            for h in &holds {
                lines.push(format!("  {h}"));
                if h.rows > 0 && h.holder.is_none() {
                    lines.push(format!("    {}", resume_command(journal, h.run)));
                }
            }
            lines.push(
                "  (--allow-resend sends them anyway: PayPro answers 01 for those it already has)"
                    .to_string(),
            );
            Failure::not_started(lines.join("\n"))
        }
        other => Failure::not_started(spell(other.to_string())),
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
    out::err(&format!("{question} [y/N] "));
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

/// The signals a drive listens to, taken before the run is set up so that none is
/// missed (call within the runtime): Ctrl-C and SIGTERM stop it safely; SIGHUP (the
/// terminal hung up) only stops the writing to the terminal.
pub struct Signals {
    int: Option<Signal>,
    term: Option<Signal>,
    hup: Option<Signal>,
}

impl Signals {
    pub fn install() -> Signals {
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }
}

/// The terminal hung up: write nothing more to it; the run goes on.
fn hung_up(renderer: &mut Renderer) {
    if !out::detached() {
        tracing::warn!("the terminal hung up; the run carries on to its end (see the log)");
    }
    out::detach();
    renderer.detach();
}

/// Starts the engine on `what`, honouring Ctrl-C and SIGTERM while the run is set up
/// (a 100,000-row sheet takes a while to journal): the process ends at once with
/// nothing sent (the set-up is one transaction, or a run left to resume).
pub async fn start(
    journal: &Journal,
    what: Start,
    connection: Option<ClientConfig>,
    settings: &EngineSettings,
    signals: &mut Signals,
) -> Result<RunHandle, Failure> {
    let started = crate::engine::start(journal, what, connection, settings);
    tokio::pin!(started);
    loop {
        tokio::select! {
            biased;
            _ = next_signal(&mut signals.int) => {
                out::errln("stopped before anything was sent");
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
            _ = next_signal(&mut signals.term) => {
                out::errln("stopped before anything was sent");
                std::process::exit(i32::from(EXIT_TERMINATED));
            }
            _ = next_signal(&mut signals.hup) => {
                tracing::warn!("the terminal hung up while the run was set up; it carries on");
                out::detach();
            }
            got = &mut started => {
                return got.map_err(|e| start_failure(journal.path(), e));
            }
        }
    }
}

/// Watches a run to its end with a progress display on stderr. The first Ctrl-C (or
/// SIGTERM) cancels it: no new batches are sent and the requests in flight finish and
/// are recorded; a second one quits at once (the journal stays consistent: what was
/// in flight is re-checked on resume). A hang-up (SIGHUP) stops only the writing to
/// the terminal: the run carries on to its end, journaled and logged as always.
pub async fn watch(journal: &Journal, handle: RunHandle, mut signals: Signals) -> Driven {
    let RunHandle {
        run,
        mut events,
        control,
        mut report,
        ..
    } = handle;
    let mut renderer = Renderer::new();
    if out::detached() {
        renderer.detach();
    }
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
            _ = next_signal(&mut signals.int) => Some(Interruption::Interrupt),
            _ = next_signal(&mut signals.term) => Some(Interruption::Terminate),
            _ = next_signal(&mut signals.hup) => {
                hung_up(&mut renderer);
                None
            }
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
        Err(e @ EngineError::Locked(_)) => {
            return Err(start_failure(journal.path(), e));
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
        out::errln(&format!("interrupted: resume with {resume}"));
        return Ok(outcome::exit(which.exit_code()));
    }
    if let Some(StopReason::Unreachable { since }) = &report.stop {
        out::errln(&format!(
            "run {run} is interrupted: server unreachable since {since} (every request failed \
             to reach it); no row was marked failed for it. Once the server answers again: \
             {}",
            command_prefix(journal.path()) + " resume"
        ));
        return Ok(outcome::exit(summary.exit_code()));
    }
    if let Some(reason) = report.credentials_refused() {
        out::errln(&format!(
            "PayPro refused the merchant id or password ({reason}); nothing more was sent. \
             Check the password (PAYPRO_PASSWORD or the prompt) and the merchant id, then: {resume}"
        ));
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
        out::err(text);
    } else {
        write_stdout(text);
    }
}

fn write_stdout(text: &str) {
    // A closed pipe (`| head`) must not turn a finished run into a failure.
    out::out(text);
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
