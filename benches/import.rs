//! Import + validation of a generated 100,000-row orders workbook, next to calamine's
//! bare read of the same file. Run with `cargo bench --bench import`.
//!
//! Each measurement runs in a child process (this same binary, with
//! `IMPORT_BENCH_MODE` set) so that its peak memory (VmHWM) is its own; the best wall
//! time of three runs is compared. Targets: import ≤ 1.5× the bare streaming read, and
//! under 250 MB peak. The import parses XML on one thread and coerces on another, so CPU
//! time is printed too. `IMPORT_BENCH_GENERATE=path` only writes the workbook (for
//! profiling).

use calamine::{DataRef, Reader, Xlsx, open_workbook};
use paypro_console::domain::Kind;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROWS: u32 = 100_000;
const RUNS: usize = 3;
const MODES: &[(&str, &str)] = &[
    (
        "bare-cells",
        "calamine worksheet_cells_reader, every cell touched",
    ),
    (
        "bare-range",
        "calamine worksheet_range (whole sheet in memory)",
    ),
    (
        "import",
        "sheet::read: stream + coerce + validate into typed orders",
    ),
];

fn main() {
    // For profiling by hand: write the workbook and stop.
    if let Ok(out) = std::env::var("IMPORT_BENCH_GENERATE") {
        if let Err(e) = generate(Path::new(&out)) {
            eprintln!("cannot write {out}: {e}");
        }
        return;
    }
    if let (Ok(mode), Ok(file)) = (
        std::env::var("IMPORT_BENCH_MODE"),
        std::env::var("IMPORT_BENCH_FILE"),
    ) {
        child(&mode, Path::new(&file));
        return;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("no temp dir: {e}"),
    };
    let path = dir.path().join("orders-100k.xlsx");
    let started = Instant::now();
    if let Err(e) = generate(&path) {
        return eprintln!("cannot write the workbook: {e}");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {ROWS} orders in {:.2} s ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return eprintln!("no current exe: {e}"),
    };
    let mut best: Vec<(f64, f64)> = Vec::new();
    for (mode, what) in MODES {
        let mut secs = f64::INFINITY;
        let mut cpu = f64::INFINITY;
        let mut peak = 0.0f64;
        for _ in 0..RUNS {
            match run_child(&exe, mode, &path) {
                Some((s, p, c)) => {
                    secs = secs.min(s);
                    cpu = cpu.min(c);
                    peak = peak.max(p);
                }
                None => return,
            }
        }
        println!(
            "{mode:<11} best of {RUNS}: {secs:>6.3} s wall, {cpu:>6.3} s cpu, peak {peak:>6.1} MB   ({what})"
        );
        best.push((secs, peak));
    }
    let (bare, _) = best[0];
    let (import, import_peak) = best[2];
    let ratio = import / bare;
    println!(
        "import / bare-cells = {ratio:.2}x (target <= 1.50x) {}; import peak {import_peak:.1} MB (target < 250 MB) {}",
        if ratio <= 1.5 { "OK" } else { "MISSED" },
        if import_peak < 250.0 { "OK" } else { "MISSED" }
    );
}

fn run_child(exe: &PathBuf, mode: &str, path: &Path) -> Option<(f64, f64, f64)> {
    let out = Command::new(exe)
        .env("IMPORT_BENCH_MODE", mode)
        .env("IMPORT_BENCH_FILE", path)
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
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let secs = parts.next()?.parse().ok()?;
    let peak_kb: f64 = parts.next()?.parse().ok()?;
    let cpu: f64 = parts.next()?.parse().ok()?;
    Some((secs, peak_kb / 1024.0, cpu))
}

/// Prints `seconds peak_kb` for one measurement in this process.
fn child(mode: &str, path: &Path) {
    let started = Instant::now();
    let checksum = match mode {
        "bare-cells" => bare_cells(path),
        "bare-range" => bare_range(path),
        _ => import(path),
    };
    let secs = started.elapsed().as_secs_f64();
    match checksum {
        Ok(n) if n > 0 => println!("{secs} {} {} {n}", peak_kb(), cpu_secs()),
        Ok(_) => eprintln!("{mode}: read nothing"),
        Err(e) => eprintln!("{mode}: {e}"),
    }
}

fn bare_cells(path: &Path) -> Result<usize, String> {
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e: calamine::XlsxError| e.to_string())?;
    let mut reader = wb
        .worksheet_cells_reader("Orders")
        .map_err(|e| e.to_string())?;
    let mut n = 0usize;
    while let Some(cell) = reader.next_cell().map_err(|e| e.to_string())? {
        n += match cell.get_value() {
            DataRef::SharedString(s) => s.len(),
            DataRef::String(s) => s.len(),
            DataRef::Empty => 0,
            _ => 1,
        };
    }
    Ok(n)
}

fn bare_range(path: &Path) -> Result<usize, String> {
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e: calamine::XlsxError| e.to_string())?;
    let range = wb.worksheet_range("Orders").map_err(|e| e.to_string())?;
    Ok(range.used_cells().count())
}

fn import(path: &Path) -> Result<usize, String> {
    let imported =
        paypro_console::sheet::read(path, Some(Kind::Orders), None).map_err(|e| e.to_string())?;
    let valid = imported.valid_count();
    if valid != ROWS as usize {
        return Err(format!(
            "expected {ROWS} valid rows, got {valid}: {:?}",
            imported.all_issues().next()
        ));
    }
    Ok(valid)
}

/// User + system CPU time of this process: the import parses on one thread and
/// validates on another, so wall time alone would hide the work done.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Typical orders: typed date and number cells, text mobiles, text in shared strings.
fn generate(path: &Path) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    // Not constant-memory mode: that writes inline strings, while Excel (and every
    // workbook a clerk receives) stores text in the shared-strings table.
    let ws = wb.add_worksheet();
    ws.set_name("Orders")?;
    let headers = [
        "OrderNumber",
        "OrderAmount",
        "OrderDueDate",
        "IssueDate",
        "CustomerName",
        "CustomerMobile",
        "CustomerEmail",
        "CustomerAddress",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    let names = [
        "Ali Khan",
        "Ayesha Malik",
        "Bilal Ahmed",
        "Sana Javed",
        "Usman Butt",
        "Hina Raza",
    ];
    let cities = [
        "Lahore",
        "Karachi",
        "Islamabad",
        "Rawalpindi",
        "Multan",
        "Peshawar",
    ];
    let due = ExcelDateTime::from_ymd(2026, 12, 15)?;
    let issued = ExcelDateTime::from_ymd(2026, 11, 24)?;
    for i in 1..=ROWS {
        let k = i as usize;
        ws.write_string(i, 0, format!("INV-2026-11-{i:06}"))?;
        ws.write_number_with_format(
            i,
            1,
            500.0 + (i % 9000) as f64 + (i % 100) as f64 / 100.0,
            &money,
        )?;
        ws.write_datetime_with_format(i, 2, &due, &date)?;
        ws.write_datetime_with_format(i, 3, &issued, &date)?;
        ws.write_string(i, 4, names[k % names.len()])?;
        ws.write_string(i, 5, format!("0300{:07}", i))?;
        ws.write_string(i, 6, format!("customer{i}@mail.pk"))?;
        ws.write_string(
            i,
            7,
            format!(
                "House {}, Street {}, {}",
                k % 400,
                k % 40,
                cities[k % cities.len()]
            ),
        )?;
    }
    wb.save(path)
}
