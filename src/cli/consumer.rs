//! `paypro-console consumer CODE` and `consumer --file FILE`: looks consumers up by
//! full consumer code with `gcd` (a sheet of them at most `--concurrency` at once),
//! journals what PayPro returns, prints it (`--json` for scripts) and, for a file (or
//! with `-o`), writes the workbook `consumers-LOOKUP.xlsx`: found consumers, codes not
//! found with why, and a summary. Exit 0 every code found, 1 some not found (or rows
//! of the file left out), 2 nothing looked up (bad file, settings, credentials refused,
//! the workbook exists), 130/143 stopped by a signal.

use super::outcome::{self, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS};
use super::report::stop_on_signals;
use super::session::{self, Failure};
use crate::config::{self, ConnectionArgs};
use crate::engine::lookup::{LookupError, LookupEvent, LookupRequest, lookup_consumers};
use crate::engine::status::StatusOptions;
use crate::journal::{ConsumerRecord, LookupId};
use crate::sheet::codes::{self, CONSUMER_CODES, Code};
use crate::sheet::write::{self, ConsumersDoc, Overwrite};
use chrono::Local;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["code", "file"]))]
pub struct ConsumerArgs {
    /// One full consumer code (4-digit company code + consumer id).
    pub code: Option<String>,
    /// A file of full consumer codes (one a line, or a column headed "FullConsumerCode"
    /// or "Consumer Code" in a CSV or workbook).
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "code")]
    pub file: Option<PathBuf>,
    /// The workbook to write (default with --file: consumers-LOOKUP.xlsx here).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the workbook if it exists.
    #[arg(long)]
    pub force: bool,
    /// Look-ups in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// One consumer in the `--json` object.
#[derive(Debug, Serialize)]
pub struct ConsumerLine {
    pub row: u32,
    pub code: String,
    pub found: bool,
    pub full_consumer_code: Option<String>,
    pub consumer_code: Option<String>,
    pub company_code: Option<String>,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub created_on: Option<String>,
    pub status_code: Option<String>,
    pub message: Option<String>,
}

impl ConsumerLine {
    fn of(r: &ConsumerRecord) -> ConsumerLine {
        ConsumerLine {
            row: r.row,
            code: r.code.clone(),
            found: r.found,
            full_consumer_code: r.full_consumer_code.clone(),
            consumer_code: r.consumer_code.clone(),
            company_code: r.company_code.clone(),
            name: r.name.clone(),
            mobile: r.mobile.clone(),
            email: r.email.clone(),
            address: r.address.clone(),
            created_on: r
                .created_on
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string()),
            status_code: r.status_code.clone(),
            message: r.message.clone(),
        }
    }
}

/// The `--json` object.
#[derive(Debug, Serialize)]
pub struct LookupSummary {
    pub lookup: LookupId,
    pub merchant_id: String,
    pub found: usize,
    pub not_found: usize,
    pub rows_left_out: usize,
    pub file: Option<String>,
    pub consumers: Vec<ConsumerLine>,
}

pub fn run(args: &ConsumerArgs, journal_path: Option<&Path>) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("consumer"),
    }
}

fn not_started(e: impl std::fmt::Display) -> Failure {
    Failure::not_started(e.to_string())
}

fn run_inner(args: &ConsumerArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let resolved = config::resolve(&args.connection).map_err(not_started)?;
    let base_url = resolved
        .require_base_url()
        .map_err(not_started)?
        .to_string();
    let merchant = resolved
        .require_merchant()
        .map_err(not_started)?
        .to_string();
    let mut left_out = 0;
    let (codes, source) = match (&args.code, &args.file) {
        (Some(code), _) => {
            let code = code.trim().to_string();
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_digit()) {
                return Err(Failure::not_started(format!(
                    "'{code}' is not a full consumer code (digits: the 4-digit company code, then the consumer id)"
                )));
            }
            (
                vec![Code {
                    row: 1,
                    code: code.clone(),
                }],
                format!("code {code}"),
            )
        }
        (None, Some(file)) => {
            let read = codes::read_codes(file, &CONSUMER_CODES).map_err(not_started)?;
            for issue in &read.issues {
                eprintln!("{}: {issue}", file.display());
            }
            left_out = read.issues.iter().filter(|i| i.is_error()).count();
            if read.codes.is_empty() {
                return Err(Failure::not_started(format!(
                    "{}: no consumer code to look up",
                    file.display()
                )));
            }
            (read.codes, format!("file {}", file.display()))
        }
        (None, None) => {
            return Err(Failure::not_started(
                "say which consumer: a full consumer code, or --file FILE",
            ));
        }
    };
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    if let Some(out) = &args.output {
        // Refused before anything is looked up.
        write::check_target(out, overwrite).map_err(not_started)?;
    }
    let journal = session::open_journal(journal_path)?;
    let password = config::password(&merchant, &base_url).map_err(not_started)?;
    journal.set_redactions(vec![password.clone()]);
    let client = crate::api::Client::new(session::connection(&base_url, &merchant, password))
        .map_err(|e| not_started(format!("{e}; check --base-url or PAYPRO_BASE_URL")))?;
    let options = StatusOptions {
        concurrency: usize::from(args.concurrency),
        ..StatusOptions::default()
    };
    let rt = session::runtime()?;
    let cancel = stop_on_signals(&rt);
    let request = LookupRequest {
        merchant_id: merchant.clone(),
        base_url: base_url.clone(),
        source: source.clone(),
        codes,
    };
    let result = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let looking = lookup_consumers(&journal, &client, request, &options, Some(tx), cancel);
        tokio::pin!(looking);
        loop {
            tokio::select! {
                Some(event) = rx.recv() => {
                    if let LookupEvent::Looked { done, total, found } = event
                        && (done == total || done % 100 == 0)
                    {
                        eprintln!("consumer: {done}/{total} looked up, {found} found");
                    }
                }
                result = &mut looking => break result,
            }
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(LookupError::Cancelled { done, total }) => {
            eprintln!(
                "paypro-console consumer: stopped after {done} of {total} codes; what was found is journaled"
            );
            return Ok(outcome::exit(EXIT_INTERRUPTED));
        }
        Err(e) => return Err(Failure::not_started(e.to_string())),
    };
    let found = report.found();
    let not_found = report.records.len() - found;
    // A single code is shown; a file of them goes to a workbook (or where -o says).
    let output = args.output.clone().or_else(|| {
        args.file
            .as_ref()
            .map(|_| PathBuf::from(format!("consumers-{}.xlsx", report.lookup)))
    });
    let written = match &output {
        Some(path) => {
            let doc = ConsumersDoc {
                lookup: report.lookup.0,
                merchant_id: merchant.clone(),
                base_url,
                source,
                generated_at: Local::now().naive_local(),
            };
            let w =
                write::write_consumers(path, &doc, &report.records, overwrite).map_err(|e| {
                    Failure::not_started(format!(
                        "{e} (the look-up itself is journaled as look-up {})",
                        report.lookup
                    ))
                })?;
            Some(w.path.display().to_string())
        }
        None => None,
    };
    let text = if args.json {
        let summary = LookupSummary {
            lookup: report.lookup,
            merchant_id: merchant,
            found,
            not_found,
            rows_left_out: left_out,
            file: written.clone(),
            consumers: report.records.iter().map(ConsumerLine::of).collect(),
        };
        serde_json::to_string(&summary).map_err(not_started)? + "\n"
    } else {
        render(&report.records, written.as_deref(), left_out)
    };
    session::say(false, &text);
    let clean = not_found == 0 && left_out == 0;
    Ok(outcome::exit(if clean { EXIT_OK } else { EXIT_PROBLEMS }))
}

fn render(records: &[ConsumerRecord], written: Option<&str>, left_out: usize) -> String {
    let mut out = String::new();
    let found = records.iter().filter(|r| r.found).count();
    if records.len() == 1
        && let Some(r) = records.first()
    {
        if r.found {
            for (label, value) in [
                ("FullConsumerCode", &r.full_consumer_code),
                ("ConsumerCode", &r.consumer_code),
                ("CompanyCode", &r.company_code),
                ("Name", &r.name),
                ("Mobile", &r.mobile),
                ("Email", &r.email),
                ("Address", &r.address),
            ] {
                out.push_str(&format!("{label:<17} {}\n", value.as_deref().unwrap_or("")));
            }
            out.push_str(&format!(
                "{:<17} {}\n",
                "CreatedOn",
                r.created_on
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default()
            ));
        } else {
            out.push_str(&format!(
                "{}: {}\n",
                r.code,
                r.message.as_deref().unwrap_or("not found")
            ));
        }
    } else {
        out.push_str(&format!(
            "{} codes looked up: {found} found, {} not found\n",
            records.len(),
            records.len() - found
        ));
        for r in records.iter().filter(|r| !r.found).take(20) {
            out.push_str(&format!(
                "  row {} ({}): {}\n",
                r.row,
                r.code,
                r.message.as_deref().unwrap_or("not found")
            ));
        }
    }
    if left_out > 0 {
        out.push_str(&format!(
            "{left_out} rows of the file were left out (see above)\n"
        ));
    }
    if let Some(path) = written {
        out.push_str(&format!("wrote {path}\n"));
    }
    out
}
