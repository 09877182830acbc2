#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The console's figures. Run with `cargo bench --bench tui`.
//!
//! 1. One Preview frame with 100,000 rows loaded (a generated CSV read by
//!    `sheet::read`, 1 in 50 rows invalid), drawn on ratatui's `TestBackend` at 80×24 and
//!    160×48 while the selection walks the sheet: mean, p99 and worst wall time, and the
//!    p99 of the drawing thread's CPU time, which the target is judged on (< 2 ms).
//! 2. Peak memory (VmHWM) of a child process that reads the same file into the preview
//!    and draws one frame (target < 150 MB).
//! 3. `demo` start to first frame, measured in a pseudo-terminal: from spawn until the
//!    screen shows Home's title (target < 300 ms; best and median of 5).

#[path = "../tests/pty_support/mod.rs"]
mod pty_support;

use paypro_console::tui::app::{App, Info, Msg, Screen};
use paypro_console::tui::data::preview::PreviewData;
use paypro_console::tui::screens::preview::Preview;
use paypro_console::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;
const FRAMES: usize = 2_000;

fn main() {
    if let Ok(file) = std::env::var("TUI_BENCH_MEMORY_CHILD") {
        memory_child(Path::new(&file));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders-100k.csv");
    write_csv(&csv, ROWS);
    frame_bench(&csv);
    memory_bench(&csv);
    first_frame_bench(dir.path());
}

fn write_csv(path: &Path, n: usize) {
    let today = chrono::Local::now().date_naive();
    let due = today + chrono::Days::new(30);
    let mut out = String::from(
        "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
    );
    for i in 1..=n {
        let amount = if i % 50 == 0 {
            "12,5OO".to_string()
        } else {
            format!("{}.{:02}", 100 + i * 7, i % 100)
        };
        out.push_str(&format!(
            "BENCH-{i:06},\"{amount}\",{},{},Customer {i},0300{:07},c{i}@example.pk,House {i} Street {} Lahore\n",
            due.format("%d/%m/%Y"),
            today.format("%d/%m/%Y"),
            i,
            i % 90
        ));
    }
    std::fs::write(path, out).unwrap();
}

fn info() -> Info {
    Info {
        demo: true,
        merchant: Some("demo".into()),
        base_url: Some("http://127.0.0.1:1".into()),
        config_problem: None,
        journal: PathBuf::from("/tmp/journal.sqlite3"),
        start_dir: PathBuf::from("/tmp"),
    }
}

fn load(csv: &Path) -> PreviewData {
    let imported = paypro_console::sheet::read(csv, None, None).unwrap();
    PreviewData::new(imported)
}

fn frame_bench(csv: &Path) {
    let started = Instant::now();
    let data = load(csv);
    println!(
        "preview: {} rows read and validated in {:.2} s ({} invalid)",
        data.len(),
        started.elapsed().as_secs_f64(),
        data.invalid.len()
    );
    let mut app = App::new(info(), Theme::mono(), Instant::now());
    app.push(Screen::Preview(Box::new(Preview::ready(data))));
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut times = Vec::with_capacity(FRAMES);
        let mut cpu_times = Vec::with_capacity(FRAMES);
        for i in 0..FRAMES {
            // Walk the whole sheet: page down, jump to errors, to the end and back.
            let key = match i % 4 {
                0 => crossterm::event::KeyCode::PageDown,
                1 => crossterm::event::KeyCode::Char('n'),
                2 if i % 400 == 2 => crossterm::event::KeyCode::End,
                3 if i % 400 == 3 => crossterm::event::KeyCode::Home,
                _ => crossterm::event::KeyCode::Down,
            };
            app.update(Msg::Key(crossterm::event::KeyEvent::new(
                key,
                crossterm::event::KeyModifiers::NONE,
            )));
            let t = Instant::now();
            let c = thread_cpu();
            term.draw(|f| app.render(f)).unwrap();
            cpu_times.push(thread_cpu().saturating_sub(c));
            times.push(t.elapsed());
        }
        times.sort();
        cpu_times.sort();
        let cpu_p99 = cpu_times[cpu_times.len() * 99 / 100];
        let mean = times.iter().sum::<Duration>() / u32::try_from(times.len()).unwrap();
        let p99 = times[times.len() * 99 / 100];
        let worst = times[times.len() - 1];
        // Wall time includes the time other processes hold the CPU mid-frame (a 4-5 ms
        // slice on a shared 2-core machine): the frame's own cost is its thread's CPU
        // time, which the target is judged on; both are printed.
        println!(
            "preview frame at {w}x{h} with {ROWS} rows: mean {:.3} ms, p99 {:.3} ms, worst {:.3} ms wall; p99 {:.3} ms CPU of the drawing thread (target < 2 ms) {} (load average {})",
            ms(mean),
            ms(p99),
            ms(worst),
            ms(cpu_p99),
            if cpu_p99 < Duration::from_millis(2) {
                "OK"
            } else {
                "OVER"
            },
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("?")
        );
    }
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the struct it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

fn memory_child(csv: &Path) {
    let data = load(csv);
    let mut app = App::new(info(), Theme::mono(), Instant::now());
    app.push(Screen::Preview(Box::new(Preview::ready(data))));
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| app.render(f)).unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0);
    println!("{hwm}");
}

fn memory_bench(csv: &Path) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .env("TUI_BENCH_MEMORY_CHILD", csv)
        .output()
        .unwrap();
    let kb: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let mb = kb as f64 / 1024.0;
    println!(
        "memory with {ROWS} rows loaded in the preview: peak RSS {mb:.1} MB (target < 150 MB) {}",
        if mb > 0.0 && mb < 150.0 { "OK" } else { "OVER" }
    );
}

fn first_frame_bench(dir: &Path) {
    let mut times = Vec::new();
    for i in 0..5 {
        let journal = dir.join(format!("demo-{i}.sqlite3"));
        let mut cmd = pty_support::console(&journal, &dir.join("logs"));
        cmd.arg("demo");
        let mut pty = pty_support::Pty::spawn(cmd, 80, 24);
        let took = pty.wait_text("paypro-console · Home");
        times.push(took);
        pty.send("q");
        pty.wait_exit();
    }
    times.sort();
    println!(
        "demo start to first frame (PTY): best {:.1} ms, median {:.1} ms (target < 300 ms) {}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        if times[times.len() / 2] < Duration::from_millis(300) {
            "OK"
        } else {
            "OVER"
        }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
