//! The `paypro-console` binary: parses the command line and dispatches. No logic here.

use clap::{Parser, Subcommand};
use paypro_console::{cli, sim, tui};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "paypro-console",
    version,
    about = "Bulk invoicing console for PayPro Connect Pay"
)]
struct Cli {
    /// The journal file (default: PAYPRO_JOURNAL, else the user's data directory).
    #[arg(long, global = true, value_name = "PATH")]
    journal: Option<PathBuf>,
    /// Without a command the console opens (`open`'s options apply).
    #[command(flatten)]
    console: tui::ConsoleArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the console on a spreadsheet's preview.
    Open(tui::OpenArgs),
    /// Run the Connect Pay simulator (for tests and the demo).
    Sim(sim::SimArgs),
    /// Check a spreadsheet and report every problem, sending nothing.
    Validate(cli::validate::ValidateArgs),
    /// Validate a spreadsheet, confirm, and send its valid rows in batches.
    Submit(cli::submit::SubmitArgs),
    /// List the runs in the journal.
    Runs(cli::runs::RunsArgs),
    /// Show a run's rows: state, ConnectPayId, fee and PayPro's answer; or one row
    /// (--row N, --key K) with every request it was in.
    Show(cli::runs::ShowArgs),
    /// Find an order number or consumer id in every run of the journal.
    Find(cli::runs::FindArgs),
    /// Finish an interrupted run (the one interrupted run when RUN is not given).
    Resume(cli::resume::ResumeArgs),
    /// Send a run's failed rows again.
    Retry(cli::resume::RetryArgs),
    /// Clear the lock a process of another host left on a run (shows the holder and
    /// asks; --yes for scripts).
    Unlock(cli::unlock::UnlockArgs),
    /// Mark a sheet of orders paid or blocked (`mark paid FILE`, `mark blocked FILE`).
    Mark(cli::mark::MarkArgs),
    /// Refund a sheet of paid orders (order number and amount), checked first against
    /// what the journal knows of each order.
    Refund(cli::mark::OrdersFileArgs),
    /// Look up the status of a run's orders (or of a file of ConnectPay Ids): unpaid,
    /// paid, blocked, refunded, expired; journaled with the time of the check.
    Status(cli::status::StatusArgs),
    /// Look consumers up by full consumer code (one, or a file of them into a
    /// workbook); journaled.
    Consumer(cli::consumer::ConsumerArgs),
    /// Reports as xlsx workbooks: `report paid` (orders paid in a date range).
    Report(cli::report::ReportArgs),
    /// A run's results as an xlsx workbook (or CSV files): every row and its outcome.
    Results(cli::results::ResultsArgs),
    /// Open the console on a simulator started in this process, with a temporary
    /// journal and the file browser in samples/: no set-up, no credentials, nothing
    /// leaves the machine. `--headless` submits the sample orders without the console.
    Demo(cli::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of main: dropping it flushes the last log lines.
    let _log = match &cli.command {
        Some(Command::Sim(_)) => cli::logging::init_stderr(),
        _ => cli::logging::init_file(),
    };
    let journal = cli.journal.as_deref();
    let Some(command) = &cli.command else {
        return tui::run(tui::Start {
            journal: cli.journal.clone(),
            open: None,
            demo: false,
            color: cli.console.color,
            connection: cli.console.connection.clone(),
            settings: cli.console.settings(),
        });
    };
    match command {
        Command::Open(args) => tui::run(tui::Start {
            journal: cli.journal.clone(),
            open: Some(args.file.clone()),
            demo: false,
            color: args.console.color,
            connection: args.console.connection.clone(),
            settings: args.console.settings(),
        }),
        Command::Sim(args) => sim::run(args),
        Command::Validate(args) => cli::validate::run(args),
        Command::Submit(args) => cli::submit::run(args, journal),
        Command::Runs(args) => cli::runs::runs(args, journal),
        Command::Show(args) => cli::runs::show(args, journal),
        Command::Find(args) => cli::runs::find(args, journal),
        Command::Resume(args) => cli::resume::resume(args, journal),
        Command::Retry(args) => cli::resume::retry(args, journal),
        Command::Unlock(args) => cli::unlock::run(args, journal),
        Command::Mark(args) => cli::mark::mark(args, journal),
        Command::Refund(args) => cli::mark::refund(args, journal),
        Command::Status(args) => cli::status::run(args, journal),
        Command::Consumer(args) => cli::consumer::run(args, journal),
        Command::Report(args) => cli::report::run(args, journal),
        Command::Results(args) => cli::results::run(args, journal),
        Command::Demo(args) if args.headless => cli::demo::run(args, journal),
        Command::Demo(args) => match cli::demo::console_start(args, journal) {
            Ok(start) => tui::run(start),
            Err(code) => code,
        },
    }
}
