//! Home: what the console runs against (merchant and URL, or the demo's simulator), the
//! journal, the recent runs with their state and counts, and a banner when a run can be
//! resumed or is being driven by another process.

use super::{counts_line, file_name, run_state_label};
use crate::journal::{RunId, RunState, RunSummary};
use std::sync::OnceLock;

/// This host's name, read once.
fn this_host() -> &'static String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(crate::journal::this_host)
}
use crate::tui::app::{Effect, Nav, Out, Screen, View};
use crate::tui::keymap::Action;
use crate::tui::widgets::{self, vtable::Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row};

/// The journal's runs as last read.
#[derive(Debug, Default)]
pub struct Recent {
    pub runs: Vec<RunSummary>,
    /// Runs that can be resumed (no live process holds them), oldest first.
    pub interrupted: Vec<RunId>,
    pub error: Option<String>,
    pub loading: bool,
    /// Something happened since the last read (a run ended, a screen came back).
    pub stale: bool,
    /// Read at least once.
    pub loaded: bool,
}

impl Recent {
    pub fn set(&mut self, result: Result<Vec<RunSummary>, String>, interrupted: Vec<RunId>) {
        self.loading = false;
        self.loaded = true;
        self.stale = false;
        match result {
            Ok(runs) => {
                self.runs = runs;
                self.interrupted = interrupted;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Runs shown as driven by another process: running, locked by a process of this
    /// host that is not this one, and not offered for resuming (so its holder is
    /// alive).
    pub fn elsewhere(&self) -> impl Iterator<Item = &RunSummary> {
        let me = std::process::id();
        let host = this_host();
        self.runs.iter().filter(move |s| {
            matches!(s.run.state, RunState::Running | RunState::Open)
                && s.run
                    .lock
                    .as_ref()
                    .is_some_and(|l| l.pid != me && l.host == *host)
                && !self.interrupted.contains(&s.run.id)
        })
    }

    /// Unfinished runs locked by a process of another host, which cannot be checked
    /// from here: `paypro-console unlock RUN` clears such a lock once it is gone.
    pub fn held_by_other_host(&self) -> impl Iterator<Item = &RunSummary> {
        let host = this_host();
        self.runs.iter().filter(move |s| {
            !matches!(s.run.state, RunState::Completed | RunState::Cancelled)
                && s.run.lock.as_ref().is_some_and(|l| l.host != *host)
        })
    }

    /// Runs PayPro stopped by refusing the credentials, with rows left to send.
    pub fn stopped_auth(&self) -> impl Iterator<Item = &RunSummary> {
        self.runs.iter().filter(|s| {
            s.run.state == RunState::StoppedAuth
                && s.run.lock.is_none()
                && s.counts.pending + s.counts.in_flight + s.counts.failed > 0
        })
    }

    pub fn live_elsewhere(&self) -> bool {
        self.elsewhere().next().is_some()
    }

    pub fn get(&self, run: RunId) -> Option<&RunSummary> {
        self.runs.iter().find(|s| s.run.id == run)
    }

    /// The run the banner offers to resume: the newest interrupted one.
    pub fn resumable(&self) -> Option<&RunSummary> {
        self.interrupted.iter().rev().find_map(|id| self.get(*id))
    }
}

#[derive(Debug, Default)]
pub struct Home {
    pub window: Window,
}

impl Home {
    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        match action {
            Action::OpenFile => {
                let screen =
                    crate::tui::screens::open_file::OpenFile::new(view.info.start_dir.clone(), out);
                out.go(Nav::Push(Screen::OpenFile(screen)));
            }
            Action::ShowRuns => out.go(Nav::Push(Screen::Runs(
                crate::tui::screens::runs::Runs::default(),
            ))),
            Action::Operations => out.go(Nav::Push(Screen::Operations(
                crate::tui::screens::operations::Operations::default(),
            ))),
            Action::PaidReport => out.go(Nav::Push(Screen::Report(Box::new(
                crate::tui::screens::report::ReportView::new(chrono::Local::now().date_naive()),
            )))),
            Action::Resume => match view.recent.resumable() {
                Some(s) if view.live.is_none_or(|l| l.finished) => {
                    out.effect(Effect::Resume(s.run.id))
                }
                Some(_) => out.message(
                    "A run is going",
                    vec!["Wait for the run of this console to end, then resume.".into()],
                ),
                None => out.message("Nothing to resume", vec!["No run was interrupted.".into()]),
            },
            a => {
                let len = view.recent.runs.len();
                self.window.apply(a, len);
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let info = view.info;
        let mut head: Vec<Line<'_>> = Vec::new();
        if info.demo {
            head.push(Line::from(vec![
                Span::styled("DEMO — simulator in this process", theme.attention),
                // 78 columns: whole at 80×24.
                Span::raw(": nothing leaves this PC, no password"),
            ]));
        }
        head.push(Line::raw(format!(
            "Merchant  {}",
            info.merchant.as_deref().unwrap_or("(not configured)")
        )));
        head.push(Line::raw(format!(
            "Service   {}",
            info.base_url.as_deref().unwrap_or("(not configured)")
        )));
        head.push(Line::raw(format!("Journal   {}", info.journal.display())));
        if let Some(problem) = &info.config_problem {
            head.push(Line::styled(format!("⚠ {problem}"), theme.attention));
        }
        let mut banner: Vec<Line<'_>> = Vec::new();
        if let Some(live) = view.live.filter(|l| !l.finished) {
            banner.push(Line::styled(
                format!(
                    "▶ run {} is being sent by this console: {} (r: runs)",
                    live.run.map_or_else(|| "?".into(), |r| r.to_string()),
                    live.status_word()
                ),
                theme.attention,
            ));
        }
        if let Some(s) = view.recent.resumable() {
            banner.push(Line::styled(
                widgets::fit(
                    &format!(
                        "‖ run {} ({}) interrupted{}, {} rows to send: R resumes it",
                        s.run.id,
                        file_name(&s.run.source_file),
                        s.run
                            .note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        widgets::thousands(s.counts.pending + s.counts.in_flight + s.counts.failed)
                    ),
                    usize::from(area.width),
                ),
                theme.attention,
            ));
        }
        for s in view.recent.stopped_auth() {
            banner.push(Line::styled(
                widgets::fit(
                    &format!(
                        "× run {} ({}) stopped: PayPro refused the credentials; fix the password: r, then R on the run",
                        s.run.id,
                        file_name(&s.run.source_file),
                    ),
                    usize::from(area.width),
                ),
                theme.attention,
            ));
        }
        for s in view.recent.held_by_other_host() {
            if let Some(l) = &s.run.lock {
                banner.push(Line::styled(
                    widgets::fit(
                        &format!(
                            "⚠ run {} is held by pid {} on host {} (another host) since {}; if it is gone: paypro-console unlock {}",
                            s.run.id,
                            l.pid,
                            l.host,
                            l.since.format("%Y-%m-%d %H:%M"),
                            s.run.id
                        ),
                        usize::from(area.width),
                    ),
                    theme.attention,
                ));
            }
        }
        for s in view.recent.elsewhere() {
            let pid = s.run.lock.as_ref().map_or(0, |l| l.pid);
            banner.push(Line::styled(
                widgets::fit(
                    &format!(
                        "▶ run {} ({}) is being sent by another process (pid {pid}), live: {}",
                        s.run.id,
                        file_name(&s.run.source_file),
                        counts_line(s)
                    ),
                    usize::from(area.width),
                ),
                theme.attention,
            ));
        }
        let head_h = u16::try_from(head.len()).unwrap_or(6);
        let banner_h = u16::try_from(banner.len()).unwrap_or(0);
        let [head_area, banner_area, list_area] = Layout::vertical([
            Constraint::Length(head_h + 1),
            Constraint::Length(banner_h),
            Constraint::Min(3),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(head), head_area);
        frame.render_widget(Paragraph::new(banner), banner_area);

        let block = Block::default().borders(Borders::TOP).title(Span::styled(
            " Recent runs (r: all runs, o: open a file) ",
            theme.header,
        ));
        let recent = view.recent;
        if recent.runs.is_empty() {
            let text = if let Some(e) = &recent.error {
                format!("cannot read the journal: {e}")
            } else if !recent.loaded {
                "reading the journal…".to_string()
            } else {
                "No runs yet. Press o to open a spreadsheet.".to_string()
            };
            frame.render_widget(Paragraph::new(text).block(block), list_area);
            return;
        }
        let header = Row::new(vec!["run", "state", "file", "rows"]).style(theme.header);
        let widths = [
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(24),
            Constraint::Min(20),
        ];
        widgets::vtable::render(
            frame,
            list_area,
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
                Row::new(vec![
                    s.run.id.to_string(),
                    run_state_label(s.run.state).to_string(),
                    widgets::fit(&file_name(&s.run.source_file), 24),
                    counts_line(s),
                ])
            },
        );
    }
}
