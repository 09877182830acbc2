//! `paypro-console validate`: check a spreadsheet without sending anything.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The spreadsheet to check (.xlsx, .xlsm, .xls, .ods or .csv).
    pub file: PathBuf,
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    eprintln!("{}: validation is not built yet", args.file.display());
    ExitCode::from(2)
}
