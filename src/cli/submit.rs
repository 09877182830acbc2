//! `paypro-console submit FILE`: validates the sheet, shows what will be sent (counts,
//! rows an earlier run already created, the total amount), asks for confirmation unless
//! `--yes`, journals the run and drives it to the end with a progress display.

use super::outcome::{EXIT_OK, EXIT_PROBLEMS, Summary};
use super::session::{self, Failure, RunOptions};
use crate::config::{self, ConnectionArgs};
use crate::domain::{Kind, Money};
use crate::engine::{self, RunSource};
use crate::journal::{Journal, RunState};
use crate::sheet::{self, Imported, Item};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The spreadsheet to send (.xlsx, .xlsm, .xls, .xlsb, .ods or .csv).
    pub file: PathBuf,
    /// What the sheet holds; guessed from the headers when not given.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// The sheet to read; the first non-empty one when not given.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Send rows again even when an earlier run of this merchant already created
    /// their order number or consumer id (normally they are skipped).
    #[arg(long)]
    pub allow_resend: bool,
    #[command(flatten)]
    pub options: RunOptions,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What the confirmation shows, computed before anything is journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    /// Valid rows an earlier run already created (they will be skipped).
    pub skipped: usize,
    pub to_send: usize,
    /// Sum of `OrderAmount` over the rows to send (orders only).
    pub total: Option<Money>,
}

impl Preview {
    pub fn of(imported: &Imported, skipped_rows: &HashSet<u32>) -> Preview {
        let mut total = Some(Money::zero());
        let mut to_send = 0;
        for (row, item) in imported.valid_items() {
            if skipped_rows.contains(&row) {
                continue;
            }
            to_send += 1;
            total = match item {
                Item::Order(o) => total.and_then(|t| t.checked_add(o.amount)),
                _ => None,
            };
        }
        Preview {
            rows: imported.rows.len(),
            valid: imported.valid_count(),
            invalid: imported.invalid_count(),
            skipped: skipped_rows.len(),
            to_send,
            total: total.filter(|_| imported.kind == Kind::Orders && to_send > 0),
        }
    }

    /// The lines shown before asking.
    pub fn render(&self, imported: &Imported, merchant: &str, base_url: &str) -> String {
        let file = imported.file.display();
        let mut out = format!(
            "{file}, sheet \"{}\": {}{}\n{} rows: {} valid, {} invalid",
            imported.sheet,
            imported.kind,
            if imported.kind_guessed {
                " (guessed from the headers; --kind to choose)"
            } else {
                ""
            },
            self.rows,
            self.valid,
            self.invalid
        );
        if self.skipped > 0 {
            out.push_str(&format!(
                ", {} already created by an earlier run (skipped)",
                self.skipped
            ));
        }
        out.push('\n');
        if self.invalid > 0 {
            out.push_str(&format!(
                "invalid rows are journaled but not sent; to see why: paypro-console validate {}\n",
                super::outcome::shell_quote(&file.to_string())
            ));
        }
        out.push_str(&format!(
            "to send: {} {}",
            self.to_send,
            noun(imported.kind, self.to_send)
        ));
        if let Some(total) = self.total {
            out.push_str(&format!(", total amount {}", group_thousands(&total)));
        }
        out.push_str(&format!(", to merchant {merchant} at {base_url}\n"));
        out
    }
}

fn noun(kind: Kind, n: usize) -> &'static str {
    match (kind, n == 1) {
        (Kind::Orders, true) => "order",
        (Kind::Consumers, true) => "consumer",
        (Kind::ConsumerUpdates, true) => "consumer update",
        (Kind::Orders, false) => "orders",
        (Kind::Consumers, false) => "consumers",
        (Kind::ConsumerUpdates, false) => "consumer updates",
        _ => "rows",
    }
}

/// `1234567.5` → `1,234,567.50`.
pub fn group_thousands(amount: &Money) -> String {
    let text = format!("{:.2}", amount.value());
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

pub fn run(args: &SubmitArgs, journal_path: Option<&Path>) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report("submit"),
    }
}

fn run_inner(args: &SubmitArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    for note in session::interrupted_notes(&journal) {
        eprintln!("{note}");
    }
    // Every row's cells are kept for the run's results files.
    let imported = sheet::read_with(
        &args.file,
        &sheet::ReadOptions {
            kind: args.kind,
            sheet: args.sheet.as_deref(),
            amount_limits: None,
            keep_cells: true,
        },
    )
    .map_err(|e| Failure::not_started(e.to_string()))?;
    if !matches!(
        imported.kind,
        Kind::Orders | Kind::Consumers | Kind::ConsumerUpdates
    ) {
        return Err(Failure::not_started(format!(
            "{} lists cannot be submitted yet (submit sends orders, consumers and consumer updates)",
            imported.kind
        )));
    }
    let connection = config::resolve(&args.connection).map_err(not_started)?;
    let base_url = connection
        .require_base_url()
        .map_err(not_started)?
        .to_string();
    let merchant = connection
        .require_merchant()
        .map_err(not_started)?
        .to_string();

    let prior = engine::prior_creations(&journal, &imported, &merchant)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    let skipped_rows: HashSet<u32> = if args.allow_resend {
        HashSet::new()
    } else {
        prior.iter().map(|(row, _, _)| *row).collect()
    };
    if args.allow_resend && !prior.is_empty() {
        session::say(
            args.options.json,
            &format!(
                "--allow-resend: {} rows already created by an earlier run will be sent again\n",
                prior.len()
            ),
        );
    }
    let preview = Preview::of(&imported, &skipped_rows);
    session::say(
        args.options.json,
        &preview.render(&imported, &merchant, &base_url),
    );
    for (row, key, earlier) in prior.iter().take(5) {
        session::say(
            args.options.json,
            &format!("  row {row} ({key}): {earlier}\n"),
        );
    }
    if prior.len() > 5 {
        session::say(
            args.options.json,
            &format!("  ... and {} more\n", prior.len() - 5),
        );
    }
    if preview.valid == 0 {
        return Err(Failure {
            code: EXIT_PROBLEMS,
            message: format!(
                "no valid rows to send; fix the file (paypro-console validate {}) and submit it again",
                args.file.display()
            ),
        });
    }
    if !args.options.yes
        && !session::confirm(&format!(
            "Send {} {}?",
            preview.to_send,
            noun(imported.kind, preview.to_send)
        ))?
    {
        return Err(Failure::not_started("not confirmed; nothing was sent"));
    }

    // The password is asked for only when something will be sent.
    let password = if preview.to_send > 0 {
        Some(config::password(&merchant, &base_url).map_err(not_started)?)
    } else {
        None
    };
    let source_file = std::fs::canonicalize(&args.file).unwrap_or_else(|_| args.file.clone());
    let source = RunSource {
        sha256: engine::sha256_file(&source_file)
            .map_err(|e| Failure::not_started(e.to_string()))?,
        file: source_file,
    };
    let prepared = engine::prepare_run(
        &journal,
        &imported,
        &source,
        &merchant,
        &base_url,
        args.allow_resend,
    )
    .map_err(|e| Failure::not_started(e.to_string()))?;
    let run = prepared.run;
    let Some(password) = password else {
        return finish_without_sending(&journal, run, args.options.json);
    };
    let client = session::client(&journal, &base_url, &merchant, password)?;
    let settings = args.options.settings();
    let rt = session::runtime()?;
    let driven = rt.block_on(session::drive_with_progress(
        &journal, client, run, &settings,
    ));
    session::finish(&journal, driven, args.options.json)
}

/// Every valid row was skipped: the run is journaled (its rows can be shown) and
/// complete without a request.
fn finish_without_sending(
    journal: &Journal,
    run: crate::journal::RunId,
    json: bool,
) -> Result<ExitCode, Failure> {
    journal
        .set_run_state(run, RunState::Completed)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    let summary = Summary::load(journal, run, RunState::Completed, 0)
        .map_err(|e| Failure::not_started(e.to_string()))?;
    session::print_summary(&summary, json);
    Ok(super::outcome::exit(if summary.all_done() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    }))
}

fn not_started(e: config::ConfigError) -> Failure {
    Failure::not_started(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        let m = |s: &str| s.parse::<Money>().unwrap();
        assert_eq!(group_thousands(&m("1234567.5")), "1,234,567.50");
        assert_eq!(group_thousands(&m("999")), "999.00");
        assert_eq!(group_thousands(&m("1000")), "1,000.00");
        assert_eq!(group_thousands(&m("0.05")), "0.05");
    }

    fn csv_orders(dir: &Path, rows: &[&str]) -> Imported {
        let path = dir.join("orders.csv");
        let mut text = String::from(
            "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
        );
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        sheet::read(&path, Some(Kind::Orders), None).unwrap()
    }

    #[test]
    fn preview_counts_and_totals_what_will_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let imported = csv_orders(
            dir.path(),
            &[
                "A-1,1000.50,31/12/2026,20/11/2026,Ali Khan,03001234567,,",
                "A-2,2000,31/12/2026,20/11/2026,Sana Raza,03001234568,,",
                "A-3,not money,31/12/2026,20/11/2026,Bad Row,03001234569,,",
                "A-4,5,31/12/2026,20/11/2026,Omar Shah,03001234570,,",
            ],
        );
        let none = HashSet::new();
        let p = Preview::of(&imported, &none);
        assert_eq!((p.rows, p.valid, p.invalid, p.to_send), (4, 3, 1, 3));
        assert_eq!(p.total.unwrap().to_string(), "3005.50");
        let text = p.render(&imported, "demo", "http://x");
        assert!(text.contains("4 rows: 3 valid, 1 invalid"), "{text}");
        assert!(
            text.contains("to send: 3 orders, total amount 3,005.50, to merchant demo at http://x"),
            "{text}"
        );

        let skip: HashSet<u32> = [2].into_iter().collect();
        let p = Preview::of(&imported, &skip);
        assert_eq!((p.skipped, p.to_send), (1, 2));
        assert_eq!(p.total.unwrap().to_string(), "2005.00");
        assert!(
            p.render(&imported, "demo", "http://x")
                .contains("1 already created by an earlier run (skipped)")
        );
    }
}
