//! Import + validation of a generated 100,000-row orders workbook, next to calamine's
//! bare read of the same file, then the peak memory of validating hostile files. Run
//! with `cargo bench --bench import`.
//!
//! Each measurement runs in a child process (this same binary, with
//! `IMPORT_BENCH_MODE` set) so that its peak memory (VmHWM) is its own; the best wall
//! time of five runs is compared, the modes' runs alternating (the machine is shared:
//! the best run is the one least disturbed). Targets: import ≤ 1.5× the bare streaming read, and under 250 MB peak.
//! The import parses XML on one thread and coerces on another, so CPU time is printed
//! too. `IMPORT_BENCH_GENERATE=path` only writes the workbook (for
//! profiling).
//!
//! Hostile files (issue 9, built with the test corpus's generator): a stray cell at XFD
//! with 20,000 invalid rows, a far-cell `.ods` and `.xls` of a few kilobytes, and a
//! shared-strings bomb. Target: each validates (or is refused) within 300 MB.

use calamine::{DataRef, Reader, Xlsx, open_workbook};
use paypro_console::domain::Kind;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../tests/corpus/mod.rs"]
mod corpus;

const ROWS: u32 = 100_000;
const RUNS: usize = 5;
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
        if mode == "hostile" {
            hostile_child(Path::new(&file));
        } else {
            child(&mode, Path::new(&file));
        }
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
    // Runs of the modes alternate, so that a burst of load on the shared machine falls
    // on all of them alike; each mode keeps its best run.
    let mut figures = vec![(f64::INFINITY, f64::INFINITY, 0.0f64); MODES.len()];
    for _ in 0..RUNS {
        for ((mode, _), (secs, cpu, peak)) in MODES.iter().zip(figures.iter_mut()) {
            match run_child(&exe, mode, &path) {
                Some((s, p, c)) => {
                    *secs = secs.min(s);
                    *cpu = cpu.min(c);
                    *peak = peak.max(p);
                }
                None => return,
            }
        }
    }
    let mut best: Vec<(f64, f64)> = Vec::new();
    for ((mode, what), (secs, cpu, peak)) in MODES.iter().zip(figures) {
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
    hostile(&exe, dir.path());
}

/// The hostile files and what validating each costs.
const HOSTILE: &[(&str, &str)] = &[
    ("xfd.xlsx", "stray cell at XFD, 20,000 invalid rows"),
    ("far.ods", "2 KB .ods with far cells"),
    ("far.xls", ".xls with a far cell"),
    ("bomb.xlsx", "shared-strings bomb (4.2 million strings)"),
];

fn hostile(exe: &Path, dir: &Path) {
    let started = Instant::now();
    let files = write_hostile(dir);
    println!(
        "hostile files written in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    for ((name, what), path) in HOSTILE.iter().zip(files) {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let out = Command::new(exe)
            .env("IMPORT_BENCH_MODE", "hostile")
            .env("IMPORT_BENCH_FILE", &path)
            .output();
        let Ok(out) = out else {
            return eprintln!("{name}: cannot run child");
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.splitn(4, ' ');
        let (Some(secs), Some(peak_kb), Some(raw), Some(outcome)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return eprintln!("{name}: {text} {}", String::from_utf8_lossy(&out.stderr));
        };
        let peak = peak_kb.parse::<f64>().unwrap_or(0.0) / 1024.0;
        println!(
            "hostile {name:<10} {:>8.1} KB file: {secs:>6} s, peak {peak:>6.1} MB (target <= 300 MB) {}; raw cells kept {raw}; {}   ({what})",
            size as f64 / 1024.0,
            if peak <= 300.0 { "OK" } else { "MISSED" },
            outcome.trim()
        );
    }
}

fn write_hostile(dir: &Path) -> Vec<PathBuf> {
    use corpus::{C, HEADERS, Sheet, s, with};
    let xfd = dir.join("xfd.xlsx");
    let mut rows = vec![with(HEADERS.iter().map(|h| s(h)).collect(), 16_383, s("x"))];
    for i in 0..20_000u32 {
        let m = corpus::meant("XFD", i);
        rows.push(with(
            with(corpus::typed(&m), 1, s("abc")),
            16_383,
            C::S("x".into()),
        ));
    }
    corpus::xlsx(
        &xfd,
        &[Sheet {
            name: "Orders",
            hidden: false,
            rows,
        }],
        true,
    );
    let ods = dir.join("far.ods");
    let mut rows_xml = corpus::ods_row(&HEADERS);
    rows_xml += &corpus::ods_row(&corpus::refs(&corpus::text_row(
        &corpus::meant("ODS", 1),
        "1500.50",
    )));
    rows_xml += r#"<table:table-row><table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="string"><text:p>far</text:p></table:table-cell></table:table-row>"#;
    rows_xml += r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>down</text:p></table:table-cell></table:table-row>"#;
    corpus::ods(&ods, &rows_xml);
    let xls = dir.join("far.xls");
    let mut cells: Vec<(u16, u16, &str)> = HEADERS
        .iter()
        .enumerate()
        .map(|(c, h)| (0u16, c as u16, *h))
        .collect();
    cells.push((1, 0, "XLS-1"));
    cells.push((65_535, 255, "far"));
    corpus::xls(&xls, &cells);
    let bomb = dir.join("bomb.xlsx");
    corpus::shared_strings_bomb(&bomb, 4_200_000);
    vec![xfd, ods, xls, bomb]
}

/// Prints `seconds peak_kb raw_cells outcome` for validating one hostile file.
fn hostile_child(path: &Path) {
    let started = Instant::now();
    let result = paypro_console::sheet::read(path, Some(Kind::Orders), None);
    let secs = started.elapsed().as_secs_f64();
    let (raw, outcome) = match &result {
        Ok(imp) => (
            imp.rows.iter().map(|r| r.raw.len()).sum::<usize>(),
            format!(
                "read: {} rows, {} invalid, journal raw JSON {} KB",
                imp.rows.len(),
                imp.invalid_count(),
                imp.rows
                    .iter()
                    .map(|r| serde_json::to_string(&r.raw).map(|j| j.len()).unwrap_or(0))
                    .sum::<usize>()
                    / 1024
            ),
        ),
        Err(e) => (0, format!("refused: {}", first_words(&e.to_string(), 24))),
    };
    println!("{secs:.3} {} {raw} {outcome}", peak_kb());
}

fn first_words(s: &str, n: usize) -> String {
    let words: Vec<&str> = s.split_whitespace().skip(1).collect();
    let mut out = words.iter().take(n).copied().collect::<Vec<_>>().join(" ");
    if words.len() > n {
        out.push_str(" ...");
    }
    out
}

fn run_child(exe: &Path, mode: &str, path: &Path) -> Option<(f64, f64, f64)> {
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
