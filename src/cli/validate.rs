//! `paypro-console validate`: check a spreadsheet without sending anything. Prints a
//! summary and the issues (or one JSON object with `--json`); exit 0 when every row is
//! valid, 1 when some are not (or the sheet has no data rows), 2 when the file cannot be
//! used at all — then `--json` prints `{"file", "error"}`.
//!
//! The text report caps repeated messages: the first [`PER_COLUMN`] issues of each
//! column, then how many more; the JSON lists every issue.

use crate::domain::{Issue, Kind};
use crate::sheet::{self, DateOrder, Imported, ReadOptions};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Issues of one column shown in the text report before the rest are counted.
pub const PER_COLUMN: usize = 20;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The spreadsheet to check (.xlsx, .xlsm, .xlsb, .xls, .ods, .csv, .tsv or .txt).
    pub file: PathBuf,
    /// What the sheet holds; guessed from the headers when not given.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// The sheet to read; the first visible one with a header when not given (a hidden
    /// sheet is read only when named).
    #[arg(long)]
    pub sheet: Option<String>,
    /// How dates such as 05/12/2026 read when nothing in their column decides.
    #[arg(long, value_enum, default_value_t = DateOrder::DayFirst)]
    pub date_order: DateOrder,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The profile whose merchant amount limits (`min_amount`, `max_amount`) orders
    /// are checked against, as `submit` does [env: PAYPRO_PROFILE]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Profile file (default: profiles.toml in the configuration directory)
    /// [env: PAYPRO_CONFIG]
    #[arg(long = "profiles", value_name = "FILE")]
    pub profiles_file: Option<PathBuf>,
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
    pub errors: usize,
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
            errors: imported.error_count(),
            warnings: imported.warning_count(),
            issues: imported.all_issues().collect(),
        }
    }
}

/// The `--json` output when the file cannot be used (exit 2).
#[derive(Debug, Serialize)]
pub struct Refusal {
    pub file: String,
    pub error: String,
}

/// The readable report: what was read, the counts, then one line per issue, at most
/// [`PER_COLUMN`] per column.
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
    let mut shown: HashMap<&str, usize> = HashMap::new();
    for issue in &s.issues {
        let n = shown.entry(issue.column.as_str()).or_default();
        *n += 1;
        if *n <= PER_COLUMN {
            out.push_str(&issue.to_string());
            out.push('\n');
        }
    }
    let mut hidden: Vec<(&str, usize)> = shown
        .into_iter()
        .filter(|(_, n)| *n > PER_COLUMN)
        .map(|(c, n)| (c, n - PER_COLUMN))
        .collect();
    hidden.sort();
    for (column, more) in hidden {
        let place = if column.is_empty() {
            "about whole rows".to_string()
        } else {
            format!("in {column}")
        };
        out.push_str(&format!(
            "... and {more} more issue{} {place} (--json lists them all)\n",
            if more == 1 { "" } else { "s" }
        ));
    }
    out
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    // The merchant's amount limits, when the profile has them: a row over them would
    // be refused by PayPro, so it is invalid here, as it is for `submit`.
    let profile = crate::config::ConnectionArgs {
        profile: args.profile.clone(),
        profiles_file: args.profiles_file.clone(),
        ..Default::default()
    };
    let amount_limits = match crate::config::resolve(&profile) {
        Ok(c) => c.amount_limits,
        Err(e) => {
            super::out::errln(&format!("paypro-console validate: {e}"));
            return ExitCode::from(2);
        }
    };
    let options = ReadOptions {
        kind: args.kind,
        sheet: args.sheet.as_deref(),
        date_order: args.date_order,
        amount_limits,
        ..ReadOptions::default()
    };
    let imported = match sheet::read_with(&args.file, &options) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("paypro-console validate: {e}");
            if args.json {
                let refusal = Refusal {
                    file: args.file.display().to_string(),
                    error: e.to_string(),
                };
                if let Ok(j) = serde_json::to_string_pretty(&refusal) {
                    let _ = std::io::stdout().lock().write_all((j + "\n").as_bytes());
                }
            }
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
    if imported.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
