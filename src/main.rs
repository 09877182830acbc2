//! The `paypro-console` binary: parses the command line and dispatches. No logic here.

use clap::{Parser, Subcommand};
use paypro_console::{cli, sim};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "paypro-console",
    version,
    about = "Bulk invoicing console for PayPro Connect Pay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Connect Pay simulator (for tests and the demo).
    Sim(sim::SimArgs),
    /// Check a spreadsheet and report every problem, sending nothing.
    Validate(cli::validate::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Sim(args) => sim::run(args),
        Command::Validate(args) => cli::validate::run(args),
    }
}
