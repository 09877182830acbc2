//! `paypro-console submit FILE`: asks the engine for the plan of the sheet, shows its
//! preview (counts, rows an earlier run already created, the total amount), asks for
//! confirmation unless `--yes`, starts the run and watches it to the end.

use super::outcome::EXIT_PROBLEMS;
use super::session::{self, Failure, RunOptions};
use crate::config::{self, ConnectionArgs};
use crate::domain::{Kind, Money};
use crate::engine::{self, Plan, PlanRequest, Preview, Start, Target};
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
    /// their order number or consumer id (normally they are skipped), or another
    /// unfinished run holds them (normally the sheet is refused).
    #[arg(long)]
    pub allow_resend: bool,
    #[command(flatten)]
    pub options: RunOptions,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The lines shown before asking: what the engine's plan will send, and where.
pub fn render_preview(p: &Preview) -> String {
    let file = p.file.display();
    let mut out = format!(
        "{file}, sheet \"{}\": {}{}\n{} rows: {} valid, {} invalid",
        p.sheet,
        p.kind,
        if p.kind_guessed {
            " (guessed from the headers; --kind to choose)"
        } else {
            ""
        },
        p.rows,
        p.valid,
        p.invalid
    );
    if p.skipped > 0 {
        out.push_str(&format!(
            ", {} already {} by an earlier run (skipped)",
            p.skipped,
            if is_mark(p.kind) { "done" } else { "created" }
        ));
    }
    out.push('\n');
    if p.invalid > 0 && p.kind == Kind::Refunds {
        out.push_str("invalid rows are journaled but not sent (why: below)\n");
    } else if p.invalid > 0 {
        out.push_str(&format!(
            "invalid rows are journaled but not sent; to see why: paypro-console validate {}\n",
            super::outcome::shell_quote(&file.to_string())
        ));
    }
    out.push_str(&format!(
        "to send: {} {}",
        p.to_send,
        noun(p.kind, p.to_send)
    ));
    if let Some(total) = p.total {
        let label = if p.kind == Kind::Refunds {
            "total to refund"
        } else {
            "total amount"
        };
        out.push_str(&format!(", {label} {}", group_thousands(&total)));
    }
    out.push_str(&format!(
        ", to merchant {} at {}\n",
        p.merchant_id, p.base_url
    ));
    out
}

/// A kind whose rows change orders that exist (mark paid, mark blocked, refunds).
fn is_mark(kind: Kind) -> bool {
    matches!(kind, Kind::MarkPaid | Kind::MarkBlocked | Kind::Refunds)
}

/// What is asked before anything is sent; for the operations that change orders, in
/// words that say exactly what will happen.
pub fn question(p: &Preview) -> String {
    let n = p.to_send;
    let orders = if n == 1 { "order" } else { "orders" };
    let at = format!("at merchant {} ({})", p.merchant_id, p.base_url);
    match p.kind {
        Kind::MarkPaid => format!("Mark {n} {orders} PAID {at}? PayPro cannot undo this."),
        Kind::MarkBlocked => {
            format!("Mark {n} {orders} BLOCKED {at}? Blocked orders can no longer be paid.")
        }
        Kind::Refunds => format!(
            "REFUND {n} {orders}{} {at}? PayPro cannot undo this.",
            p.total
                .map(|t| format!(", {} in all,", group_thousands(&t)))
                .unwrap_or_default()
        ),
        _ => format!("Send {n} {}?", noun(p.kind, n)),
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
        (Kind::MarkPaid, true) => "order to mark paid",
        (Kind::MarkPaid, false) => "orders to mark paid",
        (Kind::MarkBlocked, true) => "order to mark blocked",
        (Kind::MarkBlocked, false) => "orders to mark blocked",
        (Kind::Refunds, true) => "refund",
        (Kind::Refunds, false) => "refunds",
    }
}

/// `1234567.5` → `1,234,567.50`.
pub fn group_thousands(amount: &Money) -> String {
    group_decimal(amount.value())
}

/// A decimal amount to the cent with thousands separators (`-1,000.00`), as PayPro sent
/// it (never through f64).
pub fn group_decimal(amount: rust_decimal::Decimal) -> String {
    let text = format!("{:.2}", amount);
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
    run_as(args, journal_path, "submit")
}

/// `submit` as another command names it (`mark paid`, `refund`): the same plan,
/// confirmation, run, summary and exit codes.
pub fn run_as(args: &SubmitArgs, journal_path: Option<&Path>, command: &str) -> ExitCode {
    match run_inner(args, journal_path) {
        Ok(code) => code,
        Err(f) => f.report(command),
    }
}

fn run_inner(args: &SubmitArgs, journal_path: Option<&Path>) -> Result<ExitCode, Failure> {
    let journal = session::open_journal(journal_path)?;
    for note in session::interrupted_notes(&journal) {
        super::out::errln(&note);
    }
    let connection = config::resolve(&args.connection).map_err(not_started)?;
    let target = Target {
        base_url: connection
            .require_base_url()
            .map_err(not_started)?
            .to_string(),
        merchant_id: connection
            .require_merchant()
            .map_err(not_started)?
            .to_string(),
    };
    config::check_base_url(&target.base_url, args.connection.insecure_http).map_err(not_started)?;
    let plan = engine::plan(
        &journal,
        PlanRequest {
            file: args.file.clone(),
            kind: args.kind,
            sheet: args.sheet.clone(),
            target: target.clone(),
            allow_resend: args.allow_resend,
            amount_limits: connection.amount_limits,
        },
    )
    .map_err(|e| session::start_failure(journal.path(), e))?;
    let json = args.options.json;
    let preview = &plan.preview;
    say_plan(&plan, json);
    if preview.valid == 0 {
        return Err(Failure {
            code: EXIT_PROBLEMS,
            message: format!(
                "no valid rows to send; fix the file (paypro-console validate {}) and submit it again",
                args.file.display()
            ),
        });
    }
    session::confirmed(args.options.yes, &question(preview))?;
    // The password is asked for only when something will be sent.
    let connection = if plan.sends_anything() {
        let password =
            config::password(&target.merchant_id, &target.base_url).map_err(not_started)?;
        Some(session::connection(
            &target.base_url,
            &target.merchant_id,
            password,
        ))
    } else {
        None
    };
    let settings = args.options.settings();
    let rt = session::runtime()?;
    rt.block_on(async {
        let mut signals = session::Signals::install();
        let handle = session::start(
            &journal,
            Start::plan(plan),
            connection,
            &settings,
            &mut signals,
        )
        .await?;
        let driven = session::watch(&journal, handle, signals).await;
        session::finish(&journal, driven, json)
    })
}

/// The preview, and the first rows an earlier run created, with what happened to them.
fn say_plan(plan: &Plan, json: bool) {
    let preview = &plan.preview;
    if preview.resent > 0 {
        session::say(
            json,
            &format!(
                "--allow-resend: {} rows already created by an earlier run will be sent again\n",
                preview.resent
            ),
        );
    }
    session::say(json, &render_preview(preview));
    if preview.kind == Kind::Refunds {
        // The journal's checks are not in `validate`: say them here.
        let refused: Vec<String> = plan
            .imported
            .rows
            .iter()
            .filter(|r| !r.is_valid())
            .flat_map(|r| r.issues.iter().filter(|i| i.is_error()))
            .map(|i| format!("  {i}\n"))
            .collect();
        for line in refused.iter().take(20) {
            session::say(json, line);
        }
        if refused.len() > 20 {
            session::say(json, &format!("  ... and {} more\n", refused.len() - 20));
        }
    }
    for (row, key, earlier) in plan.earlier.iter().take(5) {
        session::say(json, &format!("  row {row} ({key}): {earlier}\n"));
    }
    if plan.earlier.len() > 5 {
        session::say(
            json,
            &format!("  ... and {} more\n", plan.earlier.len() - 5),
        );
    }
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

    #[test]
    fn the_preview_says_what_goes_where() {
        let p = Preview {
            file: "/data/orders.csv".into(),
            sheet: "orders".into(),
            kind: Kind::Orders,
            kind_guessed: true,
            rows: 4,
            valid: 3,
            invalid: 1,
            skipped: 1,
            resent: 0,
            to_send: 2,
            total: Some("2005".parse().unwrap()),
            merchant_id: "demo".into(),
            base_url: "http://x".into(),
        };
        let text = render_preview(&p);
        assert!(text.contains("guessed from the headers"), "{text}");
        assert!(
            text.contains(
                "4 rows: 3 valid, 1 invalid, 1 already created by an earlier run (skipped)"
            ),
            "{text}"
        );
        assert!(text.contains("validate /data/orders.csv"), "{text}");
        assert!(
            text.contains("to send: 2 orders, total amount 2,005.00, to merchant demo at http://x"),
            "{text}"
        );
    }
}
