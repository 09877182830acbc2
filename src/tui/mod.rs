//! The console: a ratatui TUI for the whole monthly run (open a file, preview it, send
//! it, watch it, find any row later), and `demo`, which opens it on an in-process
//! simulator. It owns the terminal for its life ([`terminal`]), one `select!` loop over
//! the keyboard, signals, a tick and the results of work done elsewhere, and the
//! screens. It holds no logic of its own: files are read by `sheet`, runs are planned,
//! driven and journaled by `engine` and `journal` ([`exec`] is the only door to them),
//! and everything it shows is their answers.
//!
//! A dropped SSH session never stops a run: on SIGHUP (or when the terminal's input
//! ends) the console stops drawing, gives the terminal back as far as it still can, and
//! the run carries on headless to its end (journal and log as always) before the
//! process exits. Logs go to the log file, never to the screen.

pub mod app;
pub mod data;
pub mod exec;
pub mod keymap;
pub mod live;
pub mod screens;
pub mod terminal;
pub mod theme;
pub mod widgets;

use crate::config::{self, ConnectionArgs};
use crate::engine::EngineSettings;
use crate::journal::Journal;
use app::{App, Info, Msg, Screen};
use crossterm::event::{Event as TermEvent, EventStream};
use exec::{Connection, Exec};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use theme::{ColorChoice, Theme};
use tokio::signal::unix::{SignalKind, signal};

/// How often the clock ticks (spinner, rates, live journal reads).
pub const TICK: Duration = Duration::from_millis(250);
/// Frames are at least this far apart while only the engine is talking.
const FRAME: Duration = Duration::from_millis(50);

/// Options of `paypro-console` (no subcommand) and `paypro-console open FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Colours: auto follows NO_COLOR; never draws with emphasis only.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Requests in flight at once while sending.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl ConsoleArgs {
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            concurrency: usize::from(self.concurrency),
            ..EngineSettings::default()
        }
    }
}

/// `paypro-console open FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenArgs {
    /// The spreadsheet to preview.
    pub file: PathBuf,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// What the console is started on.
#[derive(Debug, Clone)]
pub struct Start {
    pub journal: Option<PathBuf>,
    pub open: Option<PathBuf>,
    pub demo: bool,
    pub color: ColorChoice,
    pub connection: ConnectionArgs,
    pub settings: EngineSettings,
}

/// What set-up found after the first frame (configuration, journal, demo simulator).
struct Ready {
    journal: Journal,
    connection: Connection,
    info: Info,
    sim: Option<crate::sim::RunningSim>,
    ask_password: bool,
}

/// Opens the console and runs it to its end.
pub fn run(start: Start) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paypro-console: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(console(start));
    terminal::restore();
    match result {
        Ok(note) => {
            if let Some(note) = note {
                println!("{note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paypro-console: {e}");
            ExitCode::from(2)
        }
    }
}

/// The journal path and the browser's folder need no IO; they are on the first frame.
fn first_info(start: &Start) -> Info {
    let journal = start
        .journal
        .clone()
        .or_else(|| crate::journal::resolve_path(None).ok())
        .unwrap_or_else(|| PathBuf::from(crate::journal::FILE_NAME));
    let start_dir = match (&start.open, start.demo) {
        (Some(f), _) => exec::dir_of(f),
        (None, true) => crate::cli::demo::sample_orders()
            .map(|p| exec::dir_of(&p))
            .unwrap_or_else(|| PathBuf::from(".")),
        (None, false) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    Info {
        demo: start.demo,
        merchant: None,
        base_url: None,
        config_problem: None,
        journal: if start.demo && start.journal.is_none() {
            PathBuf::from("(a new temporary journal)")
        } else {
            journal
        },
        start_dir,
    }
}

/// Configuration, journal and (for the demo) the simulator: everything with IO before
/// the console can work.
async fn set_up(start: Start, mut info: Info) -> Result<Ready, String> {
    let demo = start.demo;
    let journal_cli = start.journal.clone();
    let connection_args = start.connection.clone();
    let insecure_http = connection_args.insecure_http;
    let (journal, resolved) = tokio::task::spawn_blocking(move || {
        let path = match (&journal_cli, demo) {
            (Some(p), _) => p.clone(),
            (None, true) => {
                let dir = tempfile::Builder::new()
                    .prefix("paypro-console-demo-")
                    .tempdir()
                    .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
                // Kept on purpose: the clerk is told where the journal is.
                dir.keep().join(crate::journal::FILE_NAME)
            }
            (None, false) => crate::journal::resolve_path(None).map_err(|e| e.to_string())?,
        };
        let journal = Journal::open(&path).map_err(|e| e.to_string())?;
        let resolved = if demo {
            None
        } else {
            Some(config::resolve(&connection_args).map_err(|e| e.to_string()))
        };
        Ok::<_, String>((journal, resolved))
    })
    .await
    .map_err(|e| e.to_string())??;
    info.journal = journal.path().to_path_buf();
    if demo {
        let sim = crate::sim::start(
            crate::sim::SimConfig {
                faults: crate::cli::demo::demo_faults(),
                seed: crate::cli::demo::DEMO_SEED,
                ..crate::sim::SimConfig::default()
            },
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
        )
        .await
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
        info.merchant = Some(crate::sim::DEMO_MERCHANT_ID.to_string());
        info.base_url = Some(sim.base_url.clone());
        let connection = Connection {
            base_url: Some(sim.base_url.clone()),
            merchant: Some(crate::sim::DEMO_MERCHANT_ID.to_string()),
            password: Some(crate::Secret::new(crate::sim::DEMO_MERCHANT_PASSWORD)),
        };
        return Ok(Ready {
            journal,
            connection,
            info,
            sim: Some(sim),
            ask_password: false,
        });
    }
    let mut connection = Connection {
        base_url: None,
        merchant: None,
        password: None,
    };
    match resolved {
        Some(Ok(c)) => {
            connection.base_url = c.base_url.as_ref().map(|s| s.value.clone());
            connection.merchant = c.merchant_id.as_ref().map(|s| s.value.clone());
            if let Err(e) = c.require_base_url().and_then(|_| c.require_merchant()) {
                info.config_problem = Some(e.to_string());
            } else if let Some(base) = &connection.base_url
                && let Err(e) = config::check_base_url(base, insecure_http)
            {
                // The password would cross the network in query strings: nothing is
                // sent to it.
                info.config_problem = Some(e.to_string());
                connection.base_url = None;
            }
        }
        Some(Err(e)) => info.config_problem = Some(e),
        None => {}
    }
    info.merchant = connection.merchant.clone();
    info.base_url = connection.base_url.clone();
    connection.password = std::env::var(config::ENV_PASSWORD)
        .ok()
        .filter(|p| !p.is_empty())
        .map(crate::Secret::new);
    let ask_password = connection.password.is_none() && info.config_problem.is_none();
    Ok(Ready {
        journal,
        connection,
        info,
        sim: None,
        ask_password,
    })
}

fn to_msg(ev: TermEvent) -> Option<Msg> {
    match ev {
        TermEvent::Key(k) => Some(Msg::Key(k)),
        TermEvent::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

async fn next_signal(sig: &mut Option<tokio::signal::unix::Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// The console's loop. Returns a note to print after the terminal is given back.
async fn console(start: Start) -> Result<Option<String>, String> {
    let theme = Theme::from_env(start.color);
    let info = first_info(&start);
    let mut sighup = signal(SignalKind::hangup()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let (_guard, mut term) =
        terminal::Guard::init().map_err(|e| format!("cannot use this terminal: {e}"))?;
    let mut app = App::new(info.clone(), theme, Instant::now());
    // Nothing is read before this frame: it shows at once.
    let _ = terminal::draw(&mut term, |f| app.render(f));
    app.dirty = false;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let open = start.open.clone();
    let settings = start.settings.clone();
    let setup = set_up(start, info);
    tokio::pin!(setup);
    let mut setup_done = false;
    let mut exec: Option<Exec> = None;
    let mut sim = None;
    let mut events = EventStream::new();
    let mut input_open = true;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now();
    let mut fatal: Option<String> = None;

    loop {
        let mut input = false;
        tokio::select! {
            ready = &mut setup, if !setup_done => {
                setup_done = true;
                match ready {
                    Ok(ready) => {
                        app.info = ready.info;
                        if let Some(path) = &open {
                            let seq = app.next_seq();
                            let screen = screens::preview::Preview::open(path.clone(), None, None, seq);
                            app.effects.push(screen.load_effect());
                            app.push(Screen::Preview(Box::new(screen)));
                        }
                        if ready.ask_password {
                            app.ask_password();
                        }
                        sim = ready.sim;
                        exec = Some(Exec::new(tx.clone(), ready.journal, ready.connection, settings.clone()));
                        app.dirty = true;
                    }
                    Err(e) => {
                        fatal = Some(e);
                        break;
                    }
                }
            }
            ev = events.next(), if input_open => {
                match ev {
                    Some(Ok(ev)) => {
                        if let Some(msg) = to_msg(ev) {
                            input = true;
                            app.update(msg);
                        }
                    }
                    // The terminal is gone (the input ended or cannot be read).
                    Some(Err(_)) | None => {
                        input_open = false;
                        app.update(Msg::Hangup);
                    }
                }
            }
            _ = next_signal(&mut sighup) => {
                input_open = false;
                app.update(Msg::Hangup);
            }
            _ = next_signal(&mut sigterm) => on_terminate(&mut app),
            _ = next_signal(&mut sigint) => on_terminate(&mut app),
            Some(msg) = rx.recv() => {
                app.update(msg);
                // Take everything that is waiting, then draw once.
                while let Ok(more) = rx.try_recv() {
                    app.update(more);
                }
            }
            now = tick.tick() => app.update(Msg::Tick(now.into_std())),
            // A frame held back by the rate cap is drawn when the cap allows, whatever
            // else happens (or does not).
            _ = tokio::time::sleep_until((last_draw + FRAME).into()), if app.dirty => {}
        }
        if let Some(exec) = &mut exec {
            exec.poll_control();
            for effect in app.drain_effects() {
                exec.run(effect);
            }
        }
        if app
            .live
            .as_ref()
            .is_some_and(|l| l.quit_when_done && l.finished)
        {
            app.quit = true;
        }
        if app.hung_up || app.quit {
            break;
        }
        if app.dirty && (input || last_draw.elapsed() >= FRAME) {
            if terminal::draw(&mut term, |f| app.render(f)).is_err() {
                // Writing failed: the terminal is gone.
                app.update(Msg::Hangup);
                break;
            }
            app.dirty = false;
            last_draw = Instant::now();
        }
    }
    terminal::restore();
    drop(term);
    if let Some(e) = fatal {
        return Err(e);
    }
    // A run this console started goes on to its end headless (journal and log as
    // always); only then does the process exit.
    if let Some(drive) = exec.as_mut().and_then(|e| e.drive.take()) {
        if app.hung_up {
            tracing::warn!("terminal hung up; the run goes on headless to its end");
        }
        let _ = drive.await;
    }
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    if app.info.demo && !app.hung_up {
        return Ok(Some(format!(
            "demo: the journal is {} (kept); look inside with:\n  {} runs",
            app.info.journal.display(),
            crate::cli::session::command_prefix(&app.info.journal)
        )));
    }
    Ok(None)
}

/// SIGTERM or SIGINT from outside: a run is cancelled (what is in flight finishes and is
/// journaled), then the console ends.
fn on_terminate(app: &mut App) {
    if app.run_active() {
        app.effects.push(app::Effect::Cancel);
        if let Some(live) = &mut app.live {
            live.cancelling = true;
            live.quit_when_done = true;
        }
    } else {
        app.update(Msg::Terminate);
    }
}

/// The folder of a file, for callers outside the console.
pub fn folder_of(path: &Path) -> PathBuf {
    exec::dir_of(path)
}
