//! The `paypro-console` binary: parses the command line and dispatches. No logic here.

use clap::{Parser, Subcommand};
use paypro_console::{cli, sim};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Reports as xlsx workbooks: `report paid` (orders paid in a date range).
    Report(cli::report::ReportArgs),
    /// A run's results as an xlsx workbook (or CSV files): every row and its outcome.
    Results(cli::results::ResultsArgs),
    /// Submit the sample orders to a simulator started in this process: no set-up,
    /// no credentials, nothing leaves the machine.
    Demo(cli::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of main: dropping it flushes the last log lines.
    let _log = match &cli.command {
        Command::Sim(_) => cli::logging::init_stderr(),
        _ => cli::logging::init_file(),
    };
    let journal = cli.journal.as_deref();
    match &cli.command {
        Command::Sim(args) => sim::run(args),
        Command::Validate(args) => cli::validate::run(args),
        Command::Submit(args) => cli::submit::run(args, journal),
        Command::Runs(args) => cli::runs::runs(args, journal),
        Command::Show(args) => cli::runs::show(args, journal),
        Command::Find(args) => cli::runs::find(args, journal),
        Command::Resume(args) => cli::resume::resume(args, journal),
        Command::Retry(args) => cli::resume::retry(args, journal),
        Command::Demo(args) => cli::demo::run(args, journal),
        Command::Report(args) => cli::report::run(args, journal),
        Command::Results(args) => cli::results::run(args, journal),
    }
}
