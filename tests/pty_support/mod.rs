//! The console binary in a real pseudo-terminal, its screen read back through a VT100
//! parser: how a clerk on SSH meets it. A reader thread always drains the PTY into the
//! parser (an undrained PTY blocks the child, television 4ea00e96) and answers cursor
//! position queries (`ESC[6n`) the way a terminal would (a bare PTY answers none).
//! Tests synchronise on what the screen shows with [`Pty::wait_for`] (polling with a
//! deadline, `PAYPRO_PTY_TIMEOUT_SECS`, default 20 s), never on fixed sleeps.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_paypro-console");

/// How long a wait may take before the test fails.
pub fn timeout() -> Duration {
    let secs = std::env::var("PAYPRO_PTY_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}

const POLL: Duration = Duration::from_millis(20);

pub struct Pty {
    pub child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    started: Instant,
    /// When the first byte arrived.
    first_output: Arc<Mutex<Option<Instant>>>,
}

/// A command for the console binary with a clean environment for tests: the journal
/// given, logs in `logs`, no user settings, `NO_COLOR=1`, `TERM=xterm-256color`.
pub fn console(journal: &Path, logs: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(BIN);
    cmd.arg("--journal");
    cmd.arg(journal);
    cmd.env_remove("PAYPRO_JOURNAL");
    cmd.env_remove("PAYPRO_PROFILE");
    cmd.env_remove("PAYPRO_PASSWORD");
    cmd.env_remove("PAYPRO_BASE_URL");
    cmd.env_remove("PAYPRO_MERCHANT_ID");
    cmd.env("PAYPRO_CONFIG", journal.with_extension("no-profiles.toml"));
    cmd.env("PAYPRO_LOG_DIR", logs);
    cmd.env("NO_COLOR", "1");
    cmd.env("TERM", "xterm-256color");
    cmd
}

impl Pty {
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Pty {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let started = Instant::now();
        let child = pair.slave.spawn_command(cmd).expect("spawn in the pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let first_output = Arc::new(Mutex::new(None));
        {
            let parser = Arc::clone(&parser);
            let raw = Arc::clone(&raw);
            let writer = Arc::clone(&writer);
            let first_output = Arc::clone(&first_output);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                let mut tail: Vec<u8> = Vec::new();
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    first_output
                        .lock()
                        .unwrap()
                        .get_or_insert_with(Instant::now);
                    let chunk = &buf[..n];
                    parser.lock().unwrap().process(chunk);
                    raw.lock().unwrap().extend_from_slice(chunk);
                    // A query split across reads is still seen: keep the last bytes.
                    tail.extend_from_slice(chunk);
                    let queries = count(&tail, b"\x1b[6n");
                    for _ in 0..queries {
                        let _ = writer.lock().unwrap().write_all(b"\x1b[1;1R");
                    }
                    if queries > 0 {
                        tail.clear();
                    } else if tail.len() > 8 {
                        tail.drain(..tail.len() - 8);
                    }
                }
            });
        }
        Pty {
            child,
            master: Some(pair.master),
            writer,
            parser,
            raw,
            started,
            first_output,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.process_id().expect("a pid")).unwrap()
    }

    /// The screen as text, rows joined by newlines.
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Runs `f` on the parsed screen.
    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.parser.lock().unwrap().screen())
    }

    /// Everything the program wrote, as bytes.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Time from spawn to the first byte on the terminal.
    pub fn first_output_after(&self) -> Option<Duration> {
        self.first_output
            .lock()
            .unwrap()
            .map(|t| t.duration_since(self.started))
    }

    /// Waits until `pred` holds for the screen; panics with the screen after the
    /// deadline. Returns how long it took from spawn.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&vt100::Screen) -> bool) -> Duration {
        let deadline = Instant::now() + timeout();
        loop {
            if self.with_screen(&pred) {
                return self.started.elapsed();
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {:?} for {what}; the screen shows:\n{}",
                    timeout(),
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `text`.
    pub fn wait_text(&self, text: &str) -> Duration {
        self.wait_for(&format!("{text:?}"), |s| s.contents().contains(text))
    }

    /// Waits until the screen no longer shows `text`.
    pub fn wait_gone(&self, text: &str) {
        self.wait_for(&format!("{text:?} to go"), |s| !s.contents().contains(text));
    }

    /// Types `text` (each character a key press).
    pub fn send(&self, text: &str) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(text.as_bytes()).unwrap();
        w.flush().unwrap();
    }

    pub fn enter(&self) {
        self.send("\r");
    }

    pub fn esc(&self) {
        // Followed by nothing, so it is not read as the start of an escape sequence.
        self.send("\x1b");
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        // The parser first: the program redraws only once the PTY tells it the size.
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nz(rows), nz(cols));
        if let Some(m) = &self.master {
            m.resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        }
    }

    /// Sends a signal to the console.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    /// Waits for the console to exit (the reader keeps draining meanwhile).
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + timeout();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the console did not exit within {:?}; the screen shows:\n{}",
                    timeout(),
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// True when the program left the alternate screen and showed the cursor again
    /// after it last entered it.
    pub fn terminal_restored(&self) -> bool {
        let raw = self.raw();
        let entered = rfind(&raw, b"\x1b[?1049h");
        let left = rfind(&raw, b"\x1b[?1049l");
        let shown = rfind(&raw, b"\x1b[?25h");
        match (entered, left, shown) {
            (Some(e), Some(l), Some(s)) => {
                l > e && s > e && !self.with_screen(|s| s.alternate_screen())
            }
            _ => false,
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Points the console at a simulator as the demo merchant, password from the
/// environment.
pub fn against(cmd: &mut CommandBuilder, sim_url: &str) {
    cmd.env("PAYPRO_BASE_URL", sim_url);
    cmd.env("PAYPRO_MERCHANT_ID", "demo");
    cmd.env("PAYPRO_PASSWORD", "demo-pass");
}

/// The crate's samples/ folder.
pub fn samples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n.max(1)).unwrap()
}

/// From Home: opens the file the browser filter `filter` finds first, accepts the
/// kind, submits, and confirms with `y`. Returns when the Progress screen is up.
pub fn submit_from_home(pty: &Pty, filter: &str, rows: &str) {
    pty.wait_text("paypro-console · Home");
    pty.send("o");
    pty.wait_text("Filter");
    pty.send(filter);
    pty.wait_text(&format!("Filter  {filter}"));
    pty.enter();
    pty.wait_text(&format!("{rows} rows:"));
    pty.wait_text("← from the headers");
    pty.enter();
    pty.wait_gone("← from the headers");
    pty.send("s");
    pty.wait_text("nothing is sent without y");
    pty.send("y");
    pty.wait_text("paypro-console · Progress");
}

/// A CSV of `n` valid orders in `dir` (so a run has many batches).
pub fn orders_csv(dir: &Path, name: &str, prefix: &str, n: usize) -> std::path::PathBuf {
    let today = chrono::Local::now().date_naive();
    let due = today + chrono::Days::new(30);
    let mut out = String::from(
        "OrderNumber,OrderAmount,OrderDueDate,IssueDate,CustomerName,CustomerMobile,CustomerEmail,CustomerAddress\n",
    );
    for i in 1..=n {
        out.push_str(&format!(
            "{prefix}-{i:05},{}.50,{},{},Customer {i},0300{i:07},c{i}@example.pk,House {i}\n",
            100 + i,
            due.format("%d/%m/%Y"),
            today.format("%d/%m/%Y"),
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}
