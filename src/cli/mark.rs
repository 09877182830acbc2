//! `paypro-console mark paid FILE`, `mark blocked FILE` and `refund FILE`: a sheet of
//! order numbers (with amounts, for refunds) planned, confirmed and run like `submit`
//! — the same flags, the same confirmation (worded for what cannot be undone), the
//! same `--json` summary and exit codes — as a run of its own kind. The engine packs
//! the order numbers into calls of at most 4000 characters and checks refunds against
//! what the journal knows before anything is sent.

use super::session::RunOptions;
use super::submit::{self, SubmitArgs};
use crate::config::ConnectionArgs;
use crate::domain::Kind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A sheet of orders to change.
#[derive(Debug, clap::Args)]
pub struct OrdersFileArgs {
    /// The spreadsheet (.xlsx, .xlsm, .xls, .xlsb, .ods or .csv) with an order number
    /// column (and an amount column, for refunds).
    pub file: PathBuf,
    /// The sheet to read; the first non-empty one when not given.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Send rows again even when an earlier run of this merchant already did them
    /// (normally they are skipped).
    #[arg(long)]
    pub allow_resend: bool,
    #[command(flatten)]
    pub options: RunOptions,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct MarkArgs {
    #[command(subcommand)]
    pub what: MarkWhat,
}

#[derive(Debug, clap::Subcommand)]
pub enum MarkWhat {
    /// Mark unpaid orders paid (moap), e.g. paid at the counter.
    Paid(OrdersFileArgs),
    /// Mark unpaid orders blocked (moab): they can no longer be paid.
    Blocked(OrdersFileArgs),
}

fn submit_args(args: &OrdersFileArgs, kind: Kind) -> SubmitArgs {
    SubmitArgs {
        file: args.file.clone(),
        kind: Some(kind),
        sheet: args.sheet.clone(),
        allow_resend: args.allow_resend,
        options: args.options.clone(),
        connection: args.connection.clone(),
    }
}

pub fn mark(args: &MarkArgs, journal: Option<&Path>) -> ExitCode {
    match &args.what {
        MarkWhat::Paid(a) => submit::run_as(&submit_args(a, Kind::MarkPaid), journal, "mark paid"),
        MarkWhat::Blocked(a) => {
            submit::run_as(&submit_args(a, Kind::MarkBlocked), journal, "mark blocked")
        }
    }
}

pub fn refund(args: &OrdersFileArgs, journal: Option<&Path>) -> ExitCode {
    submit::run_as(&submit_args(args, Kind::Refunds), journal, "refund")
}
