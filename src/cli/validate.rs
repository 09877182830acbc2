//! `paypro-console validate`: check a spreadsheet without sending anything. Prints a
//! summary and every issue (or one JSON object with `--json`); exit 0 when every row is
//! valid, 1 when some are not, 2 when the file cannot be used at all.

use crate::domain::{Issue, Kind};
use crate::sheet::{self, Imported};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The spreadsheet to check (.xlsx, .xlsm, .xls, .xlsb, .ods or .csv).
    pub file: PathBuf,
    /// What the sheet holds; guessed from the headers when not given.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// The sheet to read; the first non-empty one when not given.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub file: String,
    pub kind: Kind,
    pub sheet: &'a str,
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    pub warnings: usize,
    pub issues: Vec<&'a Issue>,
}

impl<'a> Summary<'a> {
    pub fn of(imported: &'a Imported) -> Summary<'a> {
        Summary {
            file: imported.file.display().to_string(),
            kind: imported.kind,
            sheet: &imported.sheet,
            rows: imported.rows.len(),
            valid: imported.valid_count(),
            invalid: imported.invalid_count(),
            warnings: imported.warning_count(),
            issues: imported.all_issues().collect(),
        }
    }
}

/// The readable report: what was read, the counts, then one line per issue.
pub fn render_text(imported: &Imported) -> String {
    let s = Summary::of(imported);
    let mut out = format!(
        "{}, sheet \"{}\": {}{}\n{} rows: {} valid, {} invalid, {} warnings\n",
        s.file,
        s.sheet,
        s.kind,
        if imported.kind_guessed {
            " (guessed from the headers; --kind to choose)"
        } else {
            ""
        },
        s.rows,
        s.valid,
        s.invalid,
        s.warnings
    );
    for issue in &s.issues {
        out.push_str(&issue.to_string());
        out.push('\n');
    }
    out
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    let imported = match sheet::read(&args.file, args.kind, args.sheet.as_deref()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("paypro-console validate: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&Summary::of(&imported)) {
            Ok(j) => j + "\n",
            Err(e) => {
                eprintln!("paypro-console validate: cannot write JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        render_text(&imported)
    };
    // A closed pipe (`| head`) is not a validation failure.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if imported.invalid_count() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
