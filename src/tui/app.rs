//! The console's state and its update function: messages in (keys, ticks, results of
//! work done off the loop, engine events), effects out (work to start), and a view
//! drawn from the state alone. Nothing here does IO or blocks, so every screen can be
//! driven and drawn in tests on ratatui's `TestBackend` (the gitui pattern).
//!
//! Screens form a stack with Home at the bottom; `Esc` pops. At most one popup
//! ([`Modal`]) sits over them and takes the keys first (gitui's `event_pump`).

use super::data::preview::PreviewData;
use super::keymap::{self, Action, Layer};
use super::live::LiveRun;
use super::screens::{
    confirm, home, open_file, operations, preview, progress, report, runs, status,
};
use super::theme::Theme;
use super::widgets::{self, vtable::Window};
use crate::domain::Kind;
use crate::journal::{RunId, RunSummary};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// What the console runs against, fixed for its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The simulator runs inside this process.
    pub demo: bool,
    pub merchant: Option<String>,
    pub base_url: Option<String>,
    /// Why there is no merchant or URL, when there is none (a configuration error).
    pub config_problem: Option<String>,
    pub journal: PathBuf,
    /// Where the file browser starts.
    pub start_dir: PathBuf,
}

/// A folder entry of the file browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dir: bool,
    pub size: u64,
}

/// A worksheet of a workbook, for the sheet choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    pub name: String,
    pub hidden: bool,
}

/// What the Confirm screen shows: computed by the engine before anything is journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmInfo {
    pub file: PathBuf,
    pub sheet: String,
    pub kind: Kind,
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    pub to_send: usize,
    /// Valid rows not sent, with why (an earlier run created them).
    pub skipped: Vec<(u32, String, String)>,
    /// Rows the engine's checks refused before sending (refunds the journal cannot
    /// show paid), with why; the importer's invalid rows are in the preview.
    pub refused: Vec<(u32, String)>,
    pub total: Option<String>,
    pub merchant: String,
    pub base_url: String,
}

/// Something for the loop to do off the UI thread; its result comes back as a [`Msg`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    ListDir(PathBuf),
    ListSheets(PathBuf),
    /// Import and validate `path`; `seq` tells a stale answer from the current one.
    Load {
        seq: u64,
        path: PathBuf,
        kind: Option<Kind>,
        sheet: Option<String>,
        /// Where the importer says how far it is.
        rows_read: RowsRead,
    },
    /// Rows of `data` matching `query` among `among` (all rows when `None`).
    Search {
        seq: u64,
        data: Arc<PreviewDataRef>,
        query: String,
        among: Option<Vec<usize>>,
    },
    LoadRuns,
    /// What sending the previewed sheet would do (cross-run guard, totals).
    Plan {
        data: Arc<PreviewDataRef>,
    },
    /// Start sending a plan (the clerk said `y`).
    Start {
        plan: Arc<PlanRef>,
    },
    Resume(RunId),
    Retry(RunId),
    Pause,
    Continue,
    Cancel,
    /// A page of a run's items.
    LoadItems(runs::ItemsQuery),
    /// One item's requests and answers.
    LoadAttempts {
        seq: u64,
        item: crate::journal::ItemId,
    },
    /// The password typed at start.
    SetPassword(crate::Secret),
    /// Look a run's created orders up at PayPro (the Status screen).
    StatusRefresh(RunId),
    /// Write a run's results workbook into `dir` (under a name not taken yet).
    ExportResults {
        run: RunId,
        dir: PathBuf,
    },
    /// Fetch the paid-orders report for `range` (the Report screen).
    FetchReport {
        seq: u64,
        range: crate::report::DateRange,
    },
    /// Write a fetched report's workbook into `dir` (under a name not taken yet).
    ExportReport {
        report: Arc<ReportRef>,
        dir: PathBuf,
    },
}

/// A fetched paid-orders report, shared between the Report screen and its export;
/// compared by identity.
#[derive(Debug)]
pub struct ReportRef {
    pub report: crate::report::PaidReport,
    /// Ids of orders whose create answer was lost that the report filled in.
    pub filled: usize,
}

impl PartialEq for ReportRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// The preview data, shared between the screen and the work started from it. Compared
/// by identity (the same load), which is all effects in tests need.
#[derive(Debug)]
pub struct PreviewDataRef(pub PreviewData);

impl PartialEq for PreviewDataRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// The number of the last row a load has read, published by the importer while the
/// screen that asked for it draws; compared by identity (one counter per load).
#[derive(Debug, Clone, Default)]
pub struct RowsRead(pub std::sync::Arc<std::sync::atomic::AtomicU32>);

impl RowsRead {
    pub fn get(&self) -> u32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl PartialEq for RowsRead {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The engine's plan, shared between Confirm and the start it leads to; compared by
/// identity.
#[derive(Debug)]
pub struct PlanRef(pub crate::engine::Plan);

impl PartialEq for PlanRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Everything that reaches the update function.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize,
    Tick(Instant),
    /// The terminal is gone (SIGHUP, or the input stream ended).
    Hangup,
    /// SIGTERM / SIGINT from outside.
    Terminate,
    Dir {
        path: PathBuf,
        result: Result<Vec<Entry>, String>,
    },
    Sheets {
        path: PathBuf,
        result: Result<Vec<SheetInfo>, String>,
    },
    Loaded {
        seq: u64,
        result: Result<Arc<PreviewDataRef>, String>,
    },
    Searched {
        seq: u64,
        rows: Vec<usize>,
    },
    Runs(Result<Vec<RunSummary>, String>, Vec<RunId>),
    Planned(Result<(ConfirmInfo, Arc<PlanRef>), String>),
    /// A drive started in this process.
    Started(Result<RunId, String>),
    Engine(crate::engine::Event),
    /// The drive in this process ended.
    RunEnded(Result<String, String>),
    Items(runs::ItemsReply),
    Attempts {
        seq: u64,
        result: Result<Vec<String>, String>,
    },
    /// A status refresh's progress.
    Status {
        run: RunId,
        event: crate::engine::status::StatusEvent,
    },
    /// A status refresh ended: its check number and tally, or why it stopped.
    StatusEnded {
        run: RunId,
        result: Result<(i64, crate::engine::status::Tally), String>,
    },
    /// A paid-orders report's progress.
    Report {
        seq: u64,
        event: crate::report::ReportEvent,
    },
    ReportFetched {
        seq: u64,
        result: Result<Arc<ReportRef>, String>,
    },
    /// A workbook was written (what to tell the clerk), or why not.
    Exported(Result<Vec<String>, String>),
}

/// Where to go after a key.
#[derive(Debug)]
pub enum Nav {
    Push(Screen),
    Pop,
    /// Replace the top screen.
    Replace(Screen),
    /// Back to Home, dropping every other screen.
    Home,
}

/// A popup over the screens.
#[derive(Debug)]
pub enum Modal {
    Help { layer: Layer, title: &'static str },
    Message { title: String, lines: Vec<String> },
    Ask { question: String, then: AskFor },
    Picker(Picker),
    Input(Input),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskFor {
    CancelRun,
    Quit,
}

#[derive(Debug)]
pub struct Picker {
    pub title: String,
    pub items: Vec<String>,
    pub window: Window,
    pub purpose: PickFor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickFor {
    Sheet { path: PathBuf, names: Vec<String> },
    Kind,
}

#[derive(Debug)]
pub struct Input {
    pub title: String,
    pub text: String,
    pub masked: bool,
    pub purpose: InputFor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFor {
    Search,
    Password,
    /// The Report screen's first day.
    ReportFrom,
    /// The Report screen's last day.
    ReportTo,
    /// The right password for a run PayPro stopped by refusing the old one: set, then
    /// the run resumed.
    PasswordThenResume(RunId),
}

#[derive(Debug)]
pub enum Screen {
    Home(home::Home),
    OpenFile(open_file::OpenFile),
    Preview(Box<preview::Preview>),
    Confirm(confirm::Confirm),
    Progress(progress::Progress),
    Runs(runs::Runs),
    RunItems(Box<runs::RunItems>),
    Operations(operations::Operations),
    Status(Box<status::StatusView>),
    Report(Box<report::ReportView>),
}

impl Screen {
    pub fn layer(&self) -> Layer {
        match self {
            Screen::Home(_) => Layer::Home,
            Screen::OpenFile(_) => Layer::OpenFile,
            Screen::Preview(_) => Layer::Preview,
            Screen::Confirm(_) => Layer::Confirm,
            Screen::Progress(_) => Layer::Progress,
            Screen::Runs(_) => Layer::Runs,
            Screen::RunItems(_) => Layer::RunItems,
            Screen::Operations(_) => Layer::Operations,
            Screen::Status(_) => Layer::Status,
            Screen::Report(_) => Layer::Report,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Screen::Home(_) => "Home",
            Screen::OpenFile(_) => "Open file",
            Screen::Preview(_) => "Preview",
            Screen::Confirm(_) => "Confirm",
            Screen::Progress(_) => "Progress",
            Screen::Runs(_) => "Runs",
            Screen::RunItems(_) => "Run",
            Screen::Operations(_) => "Operations",
            Screen::Status(_) => "Status",
            Screen::Report(_) => "Report",
        }
    }
}

/// What a screen's key handling asks of the app.
#[derive(Debug, Default)]
pub struct Out {
    pub effects: Vec<Effect>,
    pub nav: Option<Nav>,
    pub modal: Option<Modal>,
}

impl Out {
    pub fn effect(&mut self, e: Effect) {
        self.effects.push(e);
    }
    pub fn go(&mut self, nav: Nav) {
        self.nav = Some(nav);
    }
    pub fn message(&mut self, title: impl Into<String>, lines: Vec<String>) {
        self.modal = Some(Modal::Message {
            title: title.into(),
            lines,
        });
    }
}

/// What screens read while drawing or handling keys.
pub struct View<'a> {
    pub info: &'a Info,
    pub theme: &'a Theme,
    pub now: Instant,
    pub live: Option<&'a LiveRun>,
    pub recent: &'a home::Recent,
    pub spinner: usize,
}

/// The whole console.
pub struct App {
    pub info: Info,
    pub theme: Theme,
    pub stack: Vec<Screen>,
    pub modal: Option<Modal>,
    pub effects: Vec<Effect>,
    /// The run this process drives, if any.
    pub live: Option<LiveRun>,
    /// Runs in the journal, for Home and the Runs screen.
    pub recent: home::Recent,
    pub now: Instant,
    /// Counts ticks, for the loading spinner.
    pub ticks: usize,
    /// Set when the console should end.
    pub quit: bool,
    /// The terminal is gone: draw nothing more.
    pub hung_up: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    next_seq: u64,
}

impl App {
    /// The console on Home. The first frame can be drawn at once: everything it needs
    /// from the file system or the journal is asked for as effects.
    pub fn new(info: Info, theme: Theme, now: Instant) -> App {
        let mut app = App {
            info,
            theme,
            stack: vec![Screen::Home(home::Home::default())],
            modal: None,
            effects: vec![Effect::LoadRuns],
            live: None,
            recent: home::Recent::default(),
            now,
            ticks: 0,
            quit: false,
            hung_up: false,
            dirty: true,
            next_seq: 0,
        };
        app.recent.loading = true;
        app
    }

    /// A fresh generation number for work whose stale answers must be dropped.
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Takes the effects asked for so far.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn top(&self) -> &Screen {
        // The stack always holds Home.
        match self.stack.last() {
            Some(s) => s,
            None => &self.stack[0],
        }
    }

    /// The layer keys go to.
    pub fn layer(&self) -> Layer {
        match &self.modal {
            Some(Modal::Help { .. }) => Layer::Help,
            Some(Modal::Message { .. }) => Layer::Message,
            Some(Modal::Ask { .. }) => Layer::Ask,
            Some(Modal::Picker(_)) => Layer::Picker,
            Some(Modal::Input(_)) => Layer::Input,
            None => self.top().layer(),
        }
    }

    /// True while a run of this process is still going.
    pub fn run_active(&self) -> bool {
        self.live.as_ref().is_some_and(|l| !l.finished)
    }

    /// Opens the password field (the configured merchant has no password in the
    /// environment).
    pub fn ask_password(&mut self) {
        self.modal = Some(Modal::Input(Input {
            title: format!(
                "Password of merchant {} (never shown or stored; Esc: browse only)",
                self.info.merchant.as_deref().unwrap_or("?")
            ),
            text: String::new(),
            masked: true,
            purpose: InputFor::Password,
        }));
    }

    /// Pushes a screen (used by entry points such as `open FILE`).
    pub fn push(&mut self, screen: Screen) {
        self.stack.push(screen);
        self.dirty = true;
    }

    pub fn update(&mut self, msg: Msg) {
        self.dirty = true;
        match msg {
            Msg::Key(ev) => self.on_key(ev),
            Msg::Resize => {}
            Msg::Tick(now) => {
                self.now = now;
                self.ticks = self.ticks.wrapping_add(1);
                if let Some(live) = &mut self.live {
                    live.tick(now);
                }
                self.on_tick();
            }
            Msg::Hangup => {
                self.hung_up = true;
                self.quit = true;
            }
            Msg::Terminate => self.quit = true,
            Msg::Runs(result, interrupted) => {
                self.recent.set(result, interrupted);
                self.route(|s, out, _| {
                    if let Screen::Runs(r) = s {
                        r.clamp();
                    }
                    let _ = out;
                });
            }
            Msg::Engine(event) => {
                let now = self.now;
                if let Some(live) = &mut self.live {
                    live.apply(&event, now);
                }
            }
            Msg::Started(result) => self.on_started(result),
            Msg::RunEnded(result) => {
                let now = self.now;
                if let Some(live) = &mut self.live {
                    live.ended(result, now);
                }
                self.effects.push(Effect::LoadRuns);
            }
            other => self.route_msg(other),
        }
    }

    fn on_tick(&mut self) {
        // A run driven by another process is read from the journal while it is shown.
        let watching =
            self.recent.live_elsewhere() && matches!(self.top(), Screen::Home(_) | Screen::Runs(_));
        if watching && self.ticks.is_multiple_of(4) {
            self.effects.push(Effect::LoadRuns);
        }
        if let Some(Screen::RunItems(items)) = self.stack.last_mut() {
            let mut out = Out::default();
            items.tick(self.ticks, &self.recent, self.live.as_ref(), &mut out);
            self.apply(out);
        }
    }

    fn on_started(&mut self, result: Result<RunId, String>) {
        match result {
            Ok(run) => {
                if let Some(live) = &mut self.live {
                    live.run = Some(run);
                }
                self.effects.push(Effect::LoadRuns);
            }
            Err(message) => {
                self.live = None;
                // Back off the Progress screen that was waiting for the start.
                if matches!(self.top(), Screen::Progress(_)) {
                    self.stack.pop();
                }
                self.modal = Some(Modal::Message {
                    title: "The run did not start".into(),
                    lines: vec![message],
                });
            }
        }
    }

    /// Results of work for a screen go to the screen that asked (the newest of its kind).
    fn route_msg(&mut self, msg: Msg) {
        let mut out = Out::default();
        match msg {
            Msg::Dir { path, result } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::OpenFile(o) = s {
                        o.listed(path, result);
                        break;
                    }
                }
            }
            Msg::Sheets { path, result } => {
                if let Some(Screen::OpenFile(o)) = self.stack.last_mut() {
                    o.sheets(path, result, &mut out);
                }
            }
            Msg::Loaded { seq, result } => {
                let g = self.next_seq();
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Preview(p) = s {
                        p.loaded(seq, result, &mut out, g);
                        break;
                    }
                }
            }
            Msg::Searched { seq, rows } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Preview(p) = s {
                        p.searched(seq, rows);
                        break;
                    }
                }
            }
            Msg::Planned(result) => {
                if let Some(Screen::Preview(p)) = self.stack.last_mut() {
                    p.planning = false;
                    match result {
                        Ok((info, plan)) => out.go(Nav::Push(Screen::Confirm(
                            confirm::Confirm::new(info, Some(plan)),
                        ))),
                        Err(e) => out.message("Cannot send this sheet", vec![e]),
                    }
                }
            }
            Msg::Items(reply) => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::RunItems(r) = s {
                        r.items(reply, &mut out);
                        break;
                    }
                }
            }
            Msg::Attempts { seq, result } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::RunItems(r) = s {
                        r.attempts(seq, result);
                        break;
                    }
                }
            }
            Msg::Status { run, event } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Status(v) = s
                        && v.run == run
                    {
                        v.event(event);
                        break;
                    }
                }
            }
            Msg::StatusEnded { run, result } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Status(v) = s
                        && v.run == run
                    {
                        v.ended(result);
                        break;
                    }
                }
            }
            Msg::Report { seq, event } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Report(r) = s {
                        r.event(seq, event);
                        break;
                    }
                }
            }
            Msg::ReportFetched { seq, result } => {
                for s in self.stack.iter_mut().rev() {
                    if let Screen::Report(r) = s {
                        r.fetched(seq, result);
                        break;
                    }
                }
            }
            Msg::Exported(result) => match result {
                Ok(lines) => out.message("Written", lines),
                Err(e) => out.message("Nothing was written", vec![e]),
            },
            _ => {}
        }
        self.apply(out);
    }

    fn route(&mut self, f: impl FnOnce(&mut Screen, &mut Out, &View<'_>)) {
        let mut out = Out::default();
        let view = View {
            info: &self.info,
            theme: &self.theme,
            now: self.now,
            live: self.live.as_ref(),
            recent: &self.recent,
            spinner: self.ticks,
        };
        if let Some(top) = self.stack.last_mut() {
            f(top, &mut out, &view);
        }
        self.apply(out);
    }

    fn apply(&mut self, out: Out) {
        self.effects.extend(out.effects);
        if let Some(modal) = out.modal {
            self.modal = Some(modal);
        }
        match out.nav {
            Some(Nav::Push(s)) => self.stack.push(s),
            Some(Nav::Pop) if self.stack.len() > 1 => {
                self.stack.pop();
            }
            Some(Nav::Pop) => {}
            Some(Nav::Replace(s)) => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
                self.stack.push(s);
            }
            Some(Nav::Home) => self.stack.truncate(1),
            None => {}
        }
        if out_needs_runs(&self.stack) && !self.recent.loading && self.recent.stale {
            self.recent.loading = true;
            self.effects.push(Effect::LoadRuns);
        }
    }

    fn on_key(&mut self, ev: KeyEvent) {
        if ev.kind != KeyEventKind::Press {
            return;
        }
        if keymap::is_interrupt(&ev) {
            self.ask_quit();
            return;
        }
        if self.modal.is_some() {
            self.modal_key(ev);
            return;
        }
        let layer = self.layer();
        let action = keymap::action_for(layer, &ev);
        match action {
            Some(Action::Help) => {
                self.modal = Some(Modal::Help {
                    layer,
                    title: self.top().title(),
                });
            }
            Some(Action::Quit) => self.ask_quit(),
            Some(Action::Back) if self.stack.len() == 1 => {}
            Some(action) => self.screen_action(action),
            None => {
                if keymap::takes_text(layer)
                    && let KeyCode::Char(c) = ev.code
                {
                    self.route(|s, out, _| {
                        if let Screen::OpenFile(o) = s {
                            o.typed(c, out);
                        }
                    });
                }
            }
        }
    }

    fn ask_quit(&mut self) {
        if self.run_active() {
            self.modal = Some(Modal::Ask {
                question: "A run is going. Quit anyway? The run is cancelled: batches in \
                           flight finish and are journaled, the rest can be resumed later."
                    .into(),
                then: AskFor::Quit,
            });
        } else {
            self.quit = true;
        }
    }

    fn screen_action(&mut self, action: Action) {
        // Progress's Esc goes Home (the run goes on); a finished Preview's submit needs
        // the app's connection info; the rest is the screen's business.
        let seq = self.next_seq();
        self.route(|s, out, view| match s {
            Screen::Home(h) => h.action(action, out, view),
            Screen::OpenFile(o) => o.action(action, out),
            Screen::Preview(p) => p.action(action, out, view),
            Screen::Confirm(c) => c.action(action, out, view),
            Screen::Progress(p) => p.action(action, out, view),
            Screen::Runs(r) => r.action(action, out, view),
            Screen::RunItems(r) => r.action(action, out, view),
            Screen::Operations(o) => o.action(action, out, view),
            Screen::Status(v) => v.action(action, out, view),
            Screen::Report(r) => r.action(action, out, view, seq),
        });
        if let Some(Effect::Start { .. }) = self.effects.last() {
            self.live = Some(LiveRun::new(self.now));
        }
        self.follow_resume();
    }

    /// A resume or retry just asked for shows its progress from Home.
    fn follow_resume(&mut self) {
        if let Some(Effect::Resume(run) | Effect::Retry(run)) = self.effects.last() {
            let run = *run;
            let mut live = LiveRun::new(self.now);
            live.run = Some(run);
            self.live = Some(live);
            self.stack.truncate(1);
            self.stack.push(Screen::Progress(progress::Progress));
        }
    }

    fn modal_key(&mut self, ev: KeyEvent) {
        let layer = self.layer();
        let action = keymap::action_for(layer, &ev);
        let Some(modal) = self.modal.take() else {
            return;
        };
        match modal {
            Modal::Help { .. } | Modal::Message { .. } => {
                if action != Some(Action::Back) {
                    self.modal = Some(modal);
                }
            }
            Modal::Ask { question, then } => match action {
                Some(Action::Yes) => match then {
                    AskFor::CancelRun => {
                        self.effects.push(Effect::Cancel);
                        if let Some(live) = &mut self.live {
                            live.cancelling = true;
                        }
                    }
                    AskFor::Quit => {
                        if self.run_active() {
                            self.effects.push(Effect::Cancel);
                            if let Some(live) = &mut self.live {
                                live.cancelling = true;
                                live.quit_when_done = true;
                            }
                            self.stack.truncate(1);
                            self.stack.push(Screen::Progress(progress::Progress));
                        } else {
                            self.quit = true;
                        }
                    }
                },
                Some(Action::No) => {}
                _ => self.modal = Some(Modal::Ask { question, then }),
            },
            Modal::Picker(mut p) => match action {
                Some(Action::Accept) => self.picked(p),
                Some(Action::Back) => {
                    // Without a kind choice the guess stands; without a sheet, nothing.
                }
                Some(a) => {
                    let len = p.items.len();
                    p.window.apply(a, len);
                    self.modal = Some(Modal::Picker(p));
                }
                None => self.modal = Some(Modal::Picker(p)),
            },
            Modal::Input(mut input) => match action {
                Some(Action::Accept) => self.entered(input),
                Some(Action::Back) => {
                    if input.purpose == InputFor::Password {
                        self.info.config_problem.get_or_insert_with(|| {
                            "no password given: files can be checked, not sent".into()
                        });
                    }
                }
                _ => {
                    match ev.code {
                        KeyCode::Char(c) => input.text.push(c),
                        KeyCode::Backspace => {
                            input.text.pop();
                        }
                        _ => {}
                    }
                    self.modal = Some(Modal::Input(input));
                }
            },
        }
    }

    fn picked(&mut self, p: Picker) {
        let chosen = p.window.selected;
        match p.purpose {
            PickFor::Sheet { path, names } => {
                if let Some(name) = names.get(chosen) {
                    let seq = self.next_seq();
                    // An operation chose the kind before the file.
                    let kind = self.stack.iter().rev().find_map(|s| match s {
                        Screen::OpenFile(o) => o.kind,
                        _ => None,
                    });
                    let screen = preview::Preview::open(path, kind, Some(name.clone()), seq);
                    self.effects.push(screen.load_effect());
                    self.stack.push(Screen::Preview(Box::new(screen)));
                }
            }
            PickFor::Kind => {
                let kind = preview::PICKABLE_KINDS.get(chosen).copied();
                let seq = self.next_seq();
                if let (Some(kind), Some(Screen::Preview(p))) = (kind, self.stack.last_mut())
                    && let Some(e) = p.choose_kind(kind, seq)
                {
                    self.effects.push(e);
                }
            }
        }
    }

    fn entered(&mut self, input: Input) {
        match input.purpose {
            InputFor::Password => {
                if !input.text.is_empty() {
                    self.effects
                        .push(Effect::SetPassword(crate::Secret::new(input.text)));
                    if self
                        .info
                        .config_problem
                        .as_deref()
                        .is_some_and(|p| p.starts_with("no password"))
                    {
                        self.info.config_problem = None;
                    }
                }
            }
            InputFor::PasswordThenResume(run) => {
                if !input.text.is_empty() {
                    self.effects
                        .push(Effect::SetPassword(crate::Secret::new(input.text)));
                    self.effects.push(Effect::Resume(run));
                    self.follow_resume();
                }
            }
            InputFor::ReportFrom | InputFor::ReportTo => {
                let which = input.purpose;
                self.route(|s, out, _| {
                    if let Screen::Report(r) = s {
                        r.set_date(which, &input.text, out);
                    }
                });
            }
            InputFor::Search => {
                let seq = self.next_seq();
                let text = input.text;
                self.route(|s, out, _| match s {
                    Screen::Preview(p) => p.search(text, seq, out),
                    Screen::RunItems(r) => r.search(text, out),
                    _ => {}
                });
            }
        }
    }

    /// Draws the whole console into `frame`.
    pub fn render(&mut self, frame: &mut Frame<'_>) {
        let area = frame.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = vec![
                Line::raw("terminal too small"),
                Line::raw(format!(
                    "{MIN_WIDTH}×{MIN_HEIGHT} needed, this one is {}×{}",
                    area.width, area.height
                )),
            ];
            frame.render_widget(Paragraph::new(text), area);
            return;
        }
        let [title, body, bar] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.title_bar(frame, title);
        let layer = self.top().layer();
        let view = View {
            info: &self.info,
            theme: &self.theme,
            now: self.now,
            live: self.live.as_ref(),
            recent: &self.recent,
            spinner: self.ticks,
        };
        if let Some(top) = self.stack.last_mut() {
            match top {
                Screen::Home(h) => h.render(frame, body, &view),
                Screen::OpenFile(o) => o.render(frame, body, &view),
                Screen::Preview(p) => p.render(frame, body, &view),
                Screen::Confirm(c) => c.render(frame, body, &view),
                Screen::Progress(p) => p.render(frame, body, &view),
                Screen::Runs(r) => r.render(frame, body, &view),
                Screen::RunItems(r) => r.render(frame, body, &view),
                Screen::Operations(o) => o.render(frame, body, &view),
                Screen::Status(v) => v.render(frame, body, &view),
                Screen::Report(r) => r.render(frame, body, &view),
            }
        }
        let bar_layer = if self.modal.is_some() {
            self.layer()
        } else {
            layer
        };
        widgets::key_bar(frame, bar, bar_layer, &self.theme);
        self.render_modal(frame, body);
    }

    fn title_bar(&self, frame: &mut Frame<'_>, area: Rect) {
        let left = format!(" paypro-console · {}", self.top().title());
        let right = if self.info.demo {
            "DEMO — simulator in this process ".to_string()
        } else {
            match (&self.info.merchant, &self.info.base_url) {
                (Some(m), Some(u)) => format!("merchant {m} · {} ", widgets::fit(u, 40)),
                _ => "not configured ".to_string(),
            }
        };
        let pad =
            usize::from(area.width).saturating_sub(left.chars().count() + right.chars().count());
        let line = Line::from(vec![
            Span::raw(left),
            Span::raw(" ".repeat(pad)),
            Span::raw(right),
        ]);
        frame.render_widget(Paragraph::new(line).style(self.theme.bar), area);
    }

    fn render_modal(&self, frame: &mut Frame<'_>, area: Rect) {
        let theme = &self.theme;
        match &self.modal {
            None => {}
            Some(Modal::Help { layer, title }) => widgets::help(frame, area, *layer, title, theme),
            Some(Modal::Message { title, lines }) => {
                let lines = lines.iter().map(|l| Line::raw(l.as_str())).collect();
                widgets::message(frame, area, title, lines, theme);
            }
            Some(Modal::Ask { question, .. }) => {
                let lines = vec![
                    Line::raw(question.as_str()),
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled("y", theme.key),
                        Span::raw(" yes   "),
                        Span::styled("n", theme.key),
                        Span::raw(" no"),
                    ]),
                ];
                widgets::message(frame, area, "Are you sure?", lines, theme);
            }
            Some(Modal::Picker(p)) => {
                let h = u16::try_from(p.items.len().min(12)).unwrap_or(12) + 2;
                let rect = widgets::centered(area, 50, h);
                let inner = widgets::popup(frame, rect, &p.title, theme);
                let mut window = p.window;
                let len = p.items.len();
                widgets::vtable::render(
                    frame,
                    inner,
                    ratatui::widgets::Block::default(),
                    None,
                    &[Constraint::Min(10)],
                    &mut window,
                    len,
                    theme.selected,
                    |i| {
                        let marker = if i == p.window.selected { "> " } else { "  " };
                        ratatui::widgets::Row::new(vec![format!(
                            "{marker}{}",
                            p.items.get(i).map_or("", String::as_str)
                        )])
                    },
                );
            }
            Some(Modal::Input(input)) => {
                let shown = if input.masked {
                    "•".repeat(input.text.chars().count())
                } else {
                    input.text.clone()
                };
                let rect = widgets::centered(area, 70, 5);
                let inner = widgets::popup(frame, rect, &input.title, theme);
                let line = Line::from(vec![Span::raw(shown), Span::styled("_", theme.key)]);
                frame.render_widget(Paragraph::new(vec![Line::raw(""), line]), inner);
            }
        }
        let _ = Style::new();
    }
}

/// Home and the Runs screen show the journal's runs.
fn out_needs_runs(stack: &[Screen]) -> bool {
    matches!(stack.last(), Some(Screen::Home(_) | Screen::Runs(_)))
}
