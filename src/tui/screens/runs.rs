//! Runs: every run in the journal; `Enter` opens one. A run's rows come a page at a time
//! from the journal (never the whole run), filtered by state (`f`) and text (`/`), with
//! the selected row's requests and PayPro's answers in a detail pane. `R` resumes an
//! interrupted run, `t` sends its failed rows again. A run driven by another process is
//! shown live (read again from the journal) and read-only.

use super::{counts_line, file_name, run_state_label};
use crate::journal::{ItemId, ItemState, RunId, RunState, RunSummary};
use crate::tui::app::{Effect, Input, InputFor, Modal, Nav, Out, Screen, View};
use crate::tui::keymap::Action;
use crate::tui::live::LiveRun;
use crate::tui::screens::home::Recent;
use crate::tui::widgets::{self, vtable::Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Wrap};

/// Rows fetched per page.
pub const PAGE: usize = 500;
/// A new page is fetched when the selection comes this close to the last loaded row.
const PREFETCH: usize = 50;

/// The state filters `f` cycles through (`None`: every state).
pub const FILTERS: [Option<ItemState>; 11] = [
    None,
    Some(ItemState::Created),
    Some(ItemState::Done),
    Some(ItemState::ExistsIdUnknown),
    Some(ItemState::ExistsBeforeRun),
    Some(ItemState::Rejected),
    Some(ItemState::Failed),
    Some(ItemState::Pending),
    Some(ItemState::InFlight),
    Some(ItemState::Invalid),
    Some(ItemState::Skipped),
];

/// A row of a run as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLine {
    pub id: ItemId,
    pub row: u32,
    pub key: String,
    pub state: ItemState,
    pub connectpay_id: Option<String>,
    /// PayPro's description, the last error, or the validation issues.
    pub message: String,
    pub attempts: u32,
}

/// A page of a run's items to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsQuery {
    pub seq: u64,
    pub run: RunId,
    pub state: Option<ItemState>,
    pub text: Option<String>,
    /// Rows after this spreadsheet row (`None`: from the first).
    pub after: Option<u32>,
    pub limit: usize,
    /// Replace what is loaded (a refresh or a new filter) rather than append.
    pub replace: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsReply {
    pub query: ItemsQuery,
    pub result: Result<Vec<ItemLine>, String>,
}

#[derive(Debug, Default)]
pub struct Runs {
    pub window: Window,
}

impl Runs {
    pub fn clamp(&mut self) {}

    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        let selected = view.recent.runs.get(self.window.selected);
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::Accept => {
                if let Some(s) = selected {
                    let mut items = RunItems::new(s.run.id);
                    items.reload(out);
                    out.go(Nav::Push(Screen::RunItems(Box::new(items))));
                }
            }
            Action::Resume => {
                if let Some(s) = selected {
                    resume_or_retry(s.run.id, false, out, view);
                }
            }
            Action::RetryFailed => {
                if let Some(s) = selected {
                    resume_or_retry(s.run.id, true, out, view);
                }
            }
            Action::StatusRefresh => {
                if let Some(s) = selected {
                    status_refresh(s, out, view);
                }
            }
            Action::ExportResults => {
                if let Some(s) = selected {
                    out.effect(Effect::ExportResults {
                        run: s.run.id,
                        dir: view.info.start_dir.clone(),
                    });
                }
            }
            a => {
                self.window.apply(a, view.recent.runs.len());
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let recent = view.recent;
        let block = Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(" Every run in the journal ", theme.header));
        if recent.runs.is_empty() {
            let text = match (&recent.error, recent.loaded) {
                (Some(e), _) => format!("cannot read the journal: {e}"),
                (None, false) => "reading the journal…".into(),
                (None, true) => "No runs yet.".into(),
            };
            frame.render_widget(Paragraph::new(text).block(block), area);
            return;
        }
        let [table, detail] =
            Layout::vertical([Constraint::Min(4), Constraint::Length(4)]).areas(area);
        let header =
            Row::new(vec!["run", "state", "kind", "started (UTC)", "file"]).style(theme.header);
        let widths = [
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(16),
            Constraint::Length(16),
            Constraint::Min(16),
        ];
        let elsewhere: Vec<RunId> = recent.elsewhere().map(|s| s.run.id).collect();
        widgets::vtable::render(
            frame,
            table,
            block,
            Some(header),
            &widths,
            &mut self.window,
            recent.runs.len(),
            theme.selected,
            |i| {
                let Some(s) = recent.runs.get(i) else {
                    return Row::new(Vec::<String>::new());
                };
                let mut state = run_state_label(s.run.state).to_string();
                if elsewhere.contains(&s.run.id) {
                    state = "▶ elsewhere".into();
                }
                Row::new(vec![
                    s.run.id.to_string(),
                    state,
                    s.run.kind.clone(),
                    s.run.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    file_name(&s.run.source_file),
                ])
            },
        );
        let lines = match recent.runs.get(self.window.selected) {
            Some(s) => run_detail(s, recent, view.live),
            None => Vec::new(),
        };
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::TOP)),
            detail,
        );
    }
}

fn run_detail<'a>(s: &RunSummary, recent: &Recent, live: Option<&LiveRun>) -> Vec<Line<'a>> {
    let mut lines = vec![Line::raw(format!(
        "Run {}: {} · merchant {} · {}",
        s.run.id,
        counts_line(s),
        s.run.merchant_id,
        s.run.base_url
    ))];
    let mut who = Vec::new();
    if let Some(by) = &s.run.started_by {
        who.push(format!(
            "started by {by} {}",
            s.run.created_at.format("%Y-%m-%d %H:%M")
        ));
    }
    if let Some(note) = &s.run.note {
        who.push(format!("stopped: {note}"));
    }
    if !who.is_empty() {
        lines.push(Line::raw(who.join(" · ")));
    }
    let mine = live.is_some_and(|l| l.run == Some(s.run.id) && !l.finished);
    let foreign = recent
        .held_by_other_host()
        .find(|o| o.run.id == s.run.id)
        .and_then(|o| o.run.lock.as_ref());
    let hint = if mine {
        "being sent by this console (Esc then p/c on Progress)".to_string()
    } else if let Some(l) = foreign {
        format!(
            "held by pid {} on host {} (another host) since {}; if it is gone: paypro-console unlock {}",
            l.pid,
            l.host,
            l.since.format("%Y-%m-%d %H:%M"),
            s.run.id
        )
    } else if s.run.state == RunState::StoppedAuth && s.counts.unsettled() > 0 {
        "PayPro refused the credentials: R asks for the right password and resumes it".to_string()
    } else if recent.elsewhere().any(|o| o.run.id == s.run.id) {
        "being driven by another process: shown live, read-only".to_string()
    } else if recent.interrupted.contains(&s.run.id) {
        "interrupted: R resumes it".to_string()
    } else if s.counts.failed > 0 {
        "t sends its failed rows again".to_string()
    } else if s.run.kind == "orders" && s.counts.created > 0 {
        "Enter shows its rows · s looks its orders up at PayPro · x exports".to_string()
    } else {
        "Enter shows its rows · x exports its results".to_string()
    };
    lines.push(Line::raw(hint));
    lines
}

/// Opens the Status screen on an orders run that has created orders to look up.
fn status_refresh(s: &RunSummary, out: &mut Out, view: &View<'_>) {
    if s.run.kind != "orders" {
        out.message(
            "Nothing to look up",
            vec![format!(
                "Run {} is a {} run; a status refresh looks up the orders an orders run created.",
                s.run.id, s.run.kind
            )],
        );
        return;
    }
    if s.counts.created == 0 {
        out.message(
            "Nothing to look up",
            vec![format!(
                "Run {} has no created order with a known ConnectPay Id.",
                s.run.id
            )],
        );
        return;
    }
    if !view.info.demo
        && let Some(problem) = &view.info.config_problem
    {
        out.message("Cannot look up", vec![problem.clone()]);
        return;
    }
    let screen = crate::tui::screens::status::StatusView::start(s.run.id, out);
    out.go(Nav::Push(Screen::Status(Box::new(screen))));
}

/// Asks the engine to resume or retry `run`, unless another process drives it or it has
/// nothing to do.
fn resume_or_retry(run: RunId, retry: bool, out: &mut Out, view: &View<'_>) {
    let recent = view.recent;
    let Some(s) = recent.get(run) else { return };
    if view.live.is_some_and(|l| !l.finished) {
        out.message(
            "A run is going",
            vec!["This console sends one run at a time; wait for it to end.".into()],
        );
        return;
    }
    if recent.elsewhere().any(|o| o.run.id == run) {
        out.message(
            "Read-only",
            vec![format!(
                "Run {run} is being driven by another process; it is shown here read-only."
            )],
        );
        return;
    }
    if retry {
        if s.counts.failed == 0 {
            out.message(
                "Nothing to retry",
                vec![format!("Run {run} has no failed rows.")],
            );
            return;
        }
        out.effect(Effect::Retry(run));
    } else {
        if s.run.state == RunState::StoppedAuth && s.counts.unsettled() > 0 {
            // The password in use is the one PayPro refused: resuming with it would
            // only be refused again.
            out.modal = Some(Modal::Input(Input {
                title: format!(
                    "PayPro refused the password of merchant {} for run {run}: the right one resumes it (Esc: not now)",
                    s.run.merchant_id
                ),
                text: String::new(),
                masked: true,
                purpose: InputFor::PasswordThenResume(run),
            }));
            return;
        }
        if !recent.interrupted.contains(&run) {
            out.message(
                "Nothing to resume",
                vec![format!(
                    "Run {run} is {}: it has no rows left to send{}.",
                    s.run.state,
                    if s.counts.failed > 0 {
                        " (its failed rows: t)"
                    } else {
                        ""
                    }
                )],
            );
            return;
        }
        out.effect(Effect::Resume(run));
    }
}

/// An item's requests as lines, or why they could not be read.
pub type Attempts = Result<Vec<String>, String>;

#[derive(Debug)]
pub struct RunItems {
    pub run: RunId,
    pub filter: usize,
    pub text: Option<String>,
    pub items: Vec<ItemLine>,
    /// The last page was full: there may be more.
    pub more: bool,
    pub loading: bool,
    pub seq: u64,
    pub window: Window,
    pub error: Option<String>,
    /// The item whose requests are shown, and them.
    pub detail: Option<(ItemId, Option<Attempts>)>,
    pub detail_seq: u64,
}

impl RunItems {
    pub fn new(run: RunId) -> RunItems {
        RunItems {
            run,
            filter: 0,
            text: None,
            items: Vec::new(),
            more: false,
            loading: false,
            seq: 0,
            window: Window::default(),
            error: None,
            detail: None,
            detail_seq: 0,
        }
    }

    fn query(&self, after: Option<u32>, limit: usize, replace: bool) -> ItemsQuery {
        ItemsQuery {
            seq: self.seq,
            run: self.run,
            state: FILTERS.get(self.filter).copied().flatten(),
            text: self.text.clone(),
            after,
            limit,
            replace,
        }
    }

    /// Reads the first page again (a new filter or search).
    pub fn reload(&mut self, out: &mut Out) {
        self.seq += 1;
        self.loading = true;
        self.window.selected = 0;
        out.effect(Effect::LoadItems(self.query(None, PAGE, true)));
    }

    /// Reads what is loaded again (a live run's rows change state).
    fn refresh(&mut self, out: &mut Out) {
        if self.loading {
            return;
        }
        self.seq += 1;
        self.loading = true;
        let limit = self.items.len().max(PAGE);
        out.effect(Effect::LoadItems(self.query(None, limit, true)));
    }

    pub fn items(&mut self, reply: ItemsReply, out: &mut Out) {
        if reply.query.seq != self.seq || reply.query.run != self.run {
            return;
        }
        self.loading = false;
        match reply.result {
            Ok(lines) => {
                self.more = lines.len() == reply.query.limit;
                if reply.query.replace {
                    self.items = lines;
                } else {
                    self.items.extend(lines);
                }
                self.error = None;
                self.want_detail(out);
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn attempts(&mut self, seq: u64, result: Result<Vec<String>, String>) {
        if seq == self.detail_seq
            && let Some((_, slot)) = &mut self.detail
        {
            *slot = Some(result);
        }
    }

    fn want_detail(&mut self, out: &mut Out) {
        let Some(item) = self.items.get(self.window.selected) else {
            self.detail = None;
            return;
        };
        if self.detail.as_ref().is_some_and(|(id, _)| *id == item.id) {
            return;
        }
        self.detail_seq += 1;
        self.detail = Some((item.id, None));
        out.effect(Effect::LoadAttempts {
            seq: self.detail_seq,
            item: item.id,
        });
    }

    fn is_live(&self, recent: &Recent, live: Option<&LiveRun>) -> bool {
        live.is_some_and(|l| l.run == Some(self.run) && !l.finished)
            || recent
                .get(self.run)
                .is_some_and(|s| matches!(s.run.state, RunState::Running | RunState::Open))
    }

    /// Called every tick: a live run's rows are read again about once a second.
    pub fn tick(&mut self, ticks: usize, recent: &Recent, live: Option<&LiveRun>, out: &mut Out) {
        if ticks.is_multiple_of(4) && self.is_live(recent, live) {
            self.refresh(out);
        }
    }

    pub fn search(&mut self, text: String, out: &mut Out) {
        let text = text.trim().to_string();
        self.text = (!text.is_empty()).then_some(text);
        self.reload(out);
    }

    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::Filter => {
                self.filter = (self.filter + 1) % FILTERS.len();
                self.reload(out);
            }
            Action::Search => {
                out.modal = Some(Modal::Input(Input {
                    title: "Rows whose order number, id or message contains".into(),
                    text: self.text.clone().unwrap_or_default(),
                    masked: false,
                    purpose: InputFor::Search,
                }))
            }
            Action::Resume => resume_or_retry(self.run, false, out, view),
            Action::RetryFailed => resume_or_retry(self.run, true, out, view),
            Action::ExportResults => out.effect(Effect::ExportResults {
                run: self.run,
                dir: view.info.start_dir.clone(),
            }),
            a => {
                if self.window.apply(a, self.items.len()) {
                    if self.more
                        && !self.loading
                        && self.window.selected + PREFETCH >= self.items.len()
                    {
                        self.loading = true;
                        let after = self.items.last().map(|i| i.row);
                        out.effect(Effect::LoadItems(self.query(after, PAGE, false)));
                    }
                    self.want_detail(out);
                }
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let summary = view.recent.get(self.run);
        let detail_h = if area.height >= 40 { 12 } else { 7 };
        let [head, table, detail] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(4),
            Constraint::Length(detail_h),
        ])
        .areas(area);
        let live = self.is_live(view.recent, view.live);
        let elsewhere = view.recent.elsewhere().any(|s| s.run.id == self.run);
        let mut l1 = vec![Span::raw(format!("Run {}", self.run))];
        if let Some(s) = summary {
            l1.push(Span::raw(format!(
                " · {} · {} · {}",
                run_state_label(s.run.state),
                s.run.kind,
                file_name(&s.run.source_file)
            )));
        }
        if elsewhere {
            l1.push(Span::styled(
                " · LIVE, driven by another process (read-only)",
                theme.attention,
            ));
        } else if live {
            l1.push(Span::styled(" · LIVE", theme.attention));
        }
        let filter = match FILTERS.get(self.filter).copied().flatten() {
            Some(s) => s.as_str().to_string(),
            None => "all states".into(),
        };
        let l2 = format!(
            "{} · showing {}{} · {}",
            summary.map(counts_line).unwrap_or_default(),
            filter,
            self.text
                .as_ref()
                .map(|t| format!(" containing \"{t}\""))
                .unwrap_or_default(),
            if self.loading { "reading…" } else { "" }
        );
        frame.render_widget(Paragraph::new(vec![Line::from(l1), Line::raw(l2)]), head);
        let block = Block::default().borders(Borders::TOP);
        if self.items.is_empty() {
            let text = match &self.error {
                Some(e) => format!("cannot read the rows: {e}"),
                None if self.loading => "reading the rows…".into(),
                None => "no rows match".into(),
            };
            frame.render_widget(Paragraph::new(text).block(block), table);
        } else {
            let header = Row::new(vec!["row", "key", "state", "ConnectPayId", "message"])
                .style(theme.header);
            let widths = [
                Constraint::Length(7),
                Constraint::Length(14),
                Constraint::Length(18),
                Constraint::Length(14),
                Constraint::Min(10),
            ];
            let items = &self.items;
            widgets::vtable::render(
                frame,
                table,
                block,
                Some(header),
                &widths,
                &mut self.window,
                items.len(),
                theme.selected,
                |i| {
                    let Some(it) = items.get(i) else {
                        return Row::new(Vec::<String>::new());
                    };
                    Row::new(vec![
                        it.row.to_string(),
                        it.key.clone(),
                        state_label(it.state).to_string(),
                        it.connectpay_id.clone().unwrap_or_default(),
                        it.message.clone(),
                    ])
                },
            );
        }
        let mut lines: Vec<Line<'_>> = Vec::new();
        if let Some(it) = self.items.get(self.window.selected) {
            lines.push(Line::raw(format!(
                "Row {} · {} · {} · sent {} time(s){}",
                it.row,
                it.key,
                it.state,
                it.attempts,
                it.connectpay_id
                    .as_ref()
                    .map(|id| format!(" · ConnectPayId {id}"))
                    .unwrap_or_default()
            )));
            if !it.message.is_empty() {
                lines.push(Line::raw(it.message.clone()));
            }
            match &self.detail {
                Some((id, Some(Ok(attempts)))) if *id == it.id => {
                    if attempts.is_empty() {
                        lines.push(Line::styled("never sent", theme.dim));
                    }
                    lines.extend(attempts.iter().map(|a| Line::raw(a.clone())));
                }
                Some((id, Some(Err(e)))) if *id == it.id => lines.push(Line::styled(
                    format!("cannot read its requests: {e}"),
                    theme.bad,
                )),
                _ => lines.push(Line::styled("reading its requests…", theme.dim)),
            }
        }
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" Requests and answers "),
            ),
            detail,
        );
    }
}

/// A row's state with a glyph, so it reads without colour.
pub fn state_label(state: ItemState) -> &'static str {
    match state {
        ItemState::Created => "✓ created",
        ItemState::ExistsIdUnknown => "✓ exists (id ?)",
        ItemState::ExistsBeforeRun => "≡ existed before",
        ItemState::Rejected => "× rejected",
        ItemState::Failed => "! failed",
        ItemState::Pending => "… pending",
        ItemState::InFlight => "→ in flight",
        ItemState::Invalid => "! invalid",
        ItemState::Skipped => "- skipped",
        ItemState::Done => "✓ done",
    }
}
