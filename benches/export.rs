//! Exporting 100,000 paid orders to xlsx (the fetch excluded), next to rust_xlsxwriter
//! writing the same cells bare (constant memory, no widths, totals, Summary or chart).
//! Run with `cargo bench --bench export`.
//!
//! Each measurement runs in a child process (this same binary, with
//! `EXPORT_BENCH_MODE` set) so that its peak memory is its own: the parent reads the
//! child's `ru_maxrss` with `getrusage(RUSAGE_CHILDREN)` after waiting for it (a
//! fresh child per run, so the maximum is that child's). The child also reports its
//! resident size once the orders are in memory, so the writer's own share shows. Best
//! wall time of five runs, the modes taking turns. Targets: export ≤ 1.3× the bare write, peak ≤ 50 MB.

use chrono::{NaiveDate, NaiveDateTime};
use paypro_console::sheet::write::{self, Overwrite, PaidOrderRow, PaidOrdersDoc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const ROWS: usize = 100_000;
const RUNS: usize = 5;
const MODES: &[(&str, &str)] = &[
    (
        "rows",
        "the orders generated and dropped: the input cost in both figures below",
    ),
    (
        "bare",
        "rust_xlsxwriter constant_memory, the same cells, nothing else",
    ),
    (
        "export",
        "sheet::write::write_paid_orders: formats, widths, totals, Summary, chart, staged file",
    ),
];

fn main() {
    if let (Ok(mode), Ok(dir)) = (
        std::env::var("EXPORT_BENCH_MODE"),
        std::env::var("EXPORT_BENCH_DIR"),
    ) {
        child(&mode, Path::new(&dir));
        return;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("no temp dir: {e}"),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return eprintln!("no current exe: {e}"),
    };
    println!("{ROWS} paid orders, 13 columns");
    // Runs alternate between the modes so that a busy machine slows each alike.
    let mut measured: Vec<Vec<Measured>> = MODES.iter().map(|_| Vec::new()).collect();
    for _ in 0..RUNS {
        for (i, (mode, _)) in MODES.iter().enumerate() {
            match run_child(&exe, mode, dir.path()) {
                Some(m) => measured[i].push(m),
                None => return,
            }
        }
    }
    let mut best = Vec::new();
    for ((mode, what), runs) in MODES.iter().zip(&measured) {
        let secs = runs.iter().map(|m| m.secs).fold(f64::INFINITY, f64::min);
        let peak = runs.iter().map(|m| m.peak_mb).fold(0.0, f64::max);
        let input = runs.iter().map(|m| m.input_mb).fold(0.0, f64::max);
        let size = runs.last().map_or(0, |m| m.bytes);
        println!(
            "{mode:<7} best of {RUNS}: {secs:>6.3} s, peak {peak:>5.1} MB ({:>5.1} MB above the process at start), file {:.1} MB   ({what})",
            peak - input,
            size as f64 / 1e6
        );
        best.push((secs, peak));
    }
    let (input, _) = best[0];
    let (bare, _) = best[1];
    let (export, export_peak) = best[2];
    let ratio = export / bare;
    let writer_only = (export - input) / (bare - input).max(1e-9);
    println!(
        "export / bare = {ratio:.2}x (target <= 1.30x) {}; export peak {export_peak:.1} MB (target <= 50 MB) {}",
        if ratio <= 1.3 { "OK" } else { "MISSED" },
        if export_peak <= 50.0 { "OK" } else { "MISSED" }
    );
    println!("writers alone (input cost subtracted): export / bare = {writer_only:.2}x");
}

struct Measured {
    secs: f64,
    peak_mb: f64,
    input_mb: f64,
    bytes: u64,
}

fn run_child(exe: &Path, mode: &str, dir: &Path) -> Option<Measured> {
    let out = Command::new(exe)
        .env("EXPORT_BENCH_MODE", mode)
        .env("EXPORT_BENCH_DIR", dir)
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("{mode} failed: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        Err(e) => {
            eprintln!("{mode}: cannot run child: {e}");
            return None;
        }
    };
    // SAFETY: getrusage only writes into the zeroed struct we pass. Each child is
    // waited for before the next starts, and the maximum over children grows
    // monotonically, so read after each child: the largest child so far.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        eprintln!("getrusage failed");
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let secs = parts.next()?.parse().ok()?;
    let input_kb: f64 = parts.next()?.parse().ok()?;
    let bytes = parts.next()?.parse().ok()?;
    let own_peak_kb: f64 = parts.next()?.parse().ok()?;
    // ru_maxrss is the largest child so far; the child's own VmHWM is its exact peak.
    let children_max_kb = usage.ru_maxrss as f64;
    let peak_kb = if own_peak_kb > 0.0 {
        own_peak_kb
    } else {
        children_max_kb
    };
    Some(Measured {
        secs,
        peak_mb: peak_kb / 1024.0,
        input_mb: input_kb / 1024.0,
        bytes,
    })
}

/// Prints `seconds resident_kb_before file_bytes peak_kb`.
fn child(mode: &str, dir: &Path) {
    // The orders stream from a generator, as the console converts the fetched report
    // row by row: the figures are the writer's own.
    let rows = orders();
    let before = status_kb("VmRSS:");
    let path = dir.join(format!("{mode}.xlsx"));
    let _ = std::fs::remove_file(&path);
    let started = Instant::now();
    let result = match mode {
        "rows" => {
            let n = rows.count();
            // Something to stat: the "file" is the count.
            std::fs::write(&path, n.to_string()).map_err(|e| e.to_string())
        }
        "bare" => bare(&path, rows).map_err(|e| e.to_string()),
        _ => export(&path, rows),
    };
    let secs = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        eprintln!("{mode}: {e}");
        std::process::exit(1);
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("{secs} {before} {bytes} {}", status_kb("VmHWM:"));
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn export(path: &Path, rows: impl Iterator<Item = PaidOrderRow>) -> Result<(), String> {
    let generated = at(2026, 4, 1, 9, 0, 0, 0);
    let written = write::write_paid_orders(
        path,
        &PaidOrdersDoc {
            merchant_id: "acme",
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            end: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
            generated_at: generated,
            expected_rows: ROWS as u64,
            notes: &[],
        },
        rows,
        Overwrite::Replace,
        &mut write::no_progress,
    )
    .map_err(|e| e.to_string())?;
    if written.orders as usize != ROWS {
        return Err(format!("wrote {} orders", written.orders));
    }
    Ok(())
}

/// The same 13 cells per row, written the plainest way rust_xlsxwriter offers.
fn bare(
    path: &Path,
    rows: impl Iterator<Item = PaidOrderRow>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = wb.add_worksheet_with_constant_memory()?;
    for (i, r) in rows.enumerate() {
        let row = i as u32 + 1;
        let texts = [
            Some(&r.order_number),
            r.connectpay_id.as_ref(),
            r.customer_name.as_ref(),
            r.mobile.as_ref(),
            r.email.as_ref(),
            r.address.as_ref(),
        ];
        for (c, t) in texts.iter().enumerate() {
            if let Some(t) = t {
                ws.write_string(row, c as u16, t.as_str())?;
            }
        }
        for (c, d) in [r.issue_date, r.due_date, r.date_created, r.date_paid]
            .iter()
            .enumerate()
        {
            if let Some(d) = d {
                ws.write_datetime_with_format(row, 6 + c as u16, excel(*d)?, &date)?;
            }
        }
        for (c, m) in [r.order_amount, r.amount_paid, r.refunded]
            .iter()
            .enumerate()
        {
            if let Some(m) = m.and_then(|m| m.to_f64()) {
                ws.write_number(row, 10 + c as u16, m)?;
            }
        }
    }
    wb.save(path)
}

fn excel(t: NaiveDateTime) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    use chrono::{Datelike, Timelike};
    ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?.and_hms_milli(
        t.hour() as u16,
        t.minute() as u8,
        t.second() as u8,
        (t.nanosecond() / 1_000_000) as u16,
    )
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_milli_opt(h, mi, s, ms))
        .unwrap_or_default()
}

/// A quarter's paid orders as the API reports them.
fn orders() -> impl Iterator<Item = PaidOrderRow> {
    let names = ["Ali Khan", "Ayesha Malik", "Bilal Ahmed", "Sana Javed"];
    let cities = ["Lahore", "Karachi", "Islamabad", "Multan"];
    (0..ROWS).map(move |i| {
        let day = (i % 90) as u32;
        let paid = NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(day))))
            .unwrap_or_default();
        let amount = Decimal::new(50_000 + (i as i64 % 900_000), 2);
        PaidOrderRow {
            order_number: format!("INV-2026-{i:06}"),
            connectpay_id: Some(format!("0044{:010}", i + 1)),
            customer_name: Some(names[i % names.len()].to_string()),
            mobile: Some(format!("0300{:07}", i)),
            email: Some(format!("customer{i}@mail.pk")),
            address: Some(format!(
                "House {}, Street {}, {}",
                i % 400,
                i % 40,
                cities[i % cities.len()]
            )),
            issue_date: Some(at(2025, 12, 20, 0, 0, 0, 0)),
            due_date: Some(at(2026, 1, 31, 0, 0, 0, 0)),
            date_created: Some(at(2025, 12, 20, 10, (i % 60) as u32, 43, 720)),
            date_paid: paid.and_hms_opt(0, 0, 0),
            order_amount: Some(amount),
            amount_paid: Some(amount),
            refunded: (i % 50 == 0).then(|| Decimal::new(10_000, 2)),
        }
    })
}
