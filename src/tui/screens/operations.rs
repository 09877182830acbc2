//! Operations: the month's corrections on orders that exist — mark paid, mark blocked,
//! refund — each from a spreadsheet. `Enter` chooses one and opens the file browser;
//! the sheet is then read as that kind, previewed, confirmed (in words that say it
//! cannot be undone) and sent with progress, on the same Preview, Confirm and Progress
//! screens as order creation.

use crate::domain::Kind;
use crate::tui::app::{Nav, Out, Screen, View};
use crate::tui::keymap::Action;
use crate::tui::screens::open_file::OpenFile;
use crate::tui::widgets::{self, vtable::Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Wrap};

/// The operations offered: the kind, its name, what it does and what the sheet holds.
pub const OPERATIONS: [(Kind, &str, &str); 3] = [
    (
        Kind::MarkPaid,
        "Mark orders paid",
        "moap: unpaid orders paid at the counter or by cheque. The sheet needs an order \
         number column.",
    ),
    (
        Kind::MarkBlocked,
        "Mark orders blocked",
        "moab: cancelled orders; once blocked they can no longer be paid. The sheet needs \
         an order number column.",
    ),
    (
        Kind::Refunds,
        "Refund paid orders",
        "mofr: the sheet needs order number and amount columns. Each row is checked \
         against what the journal knows (the order is ours or was seen, it is paid, the \
         amount is not more than what is left to refund) before anything is sent.",
    ),
];

#[derive(Debug, Default)]
pub struct Operations {
    pub window: Window,
}

impl Operations {
    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::Accept => {
                if let Some((kind, ..)) = OPERATIONS.get(self.window.selected) {
                    let screen = OpenFile::for_kind(view.info.start_dir.clone(), *kind, out);
                    out.go(Nav::Push(Screen::OpenFile(screen)));
                }
            }
            a => {
                self.window.apply(a, OPERATIONS.len());
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let [list, detail] =
            Layout::vertical([Constraint::Length(6), Constraint::Min(4)]).areas(area);
        let block = Block::default()
            .borders(Borders::TOP)
            .title(ratatui::text::Span::styled(
                " Change orders that exist, from a spreadsheet ",
                theme.header,
            ));
        let selected = self.window.selected;
        widgets::vtable::render(
            frame,
            list,
            block,
            None,
            &[Constraint::Length(24), Constraint::Min(12)],
            &mut self.window,
            OPERATIONS.len(),
            theme.selected,
            |i| {
                let Some((kind, name, _)) = OPERATIONS.get(i) else {
                    return Row::new(Vec::<String>::new());
                };
                let marker = if i == selected { "> " } else { "  " };
                Row::new(vec![format!("{marker}{name}"), format!("--kind {kind}")])
            },
        );
        let mut lines = Vec::new();
        if let Some((_, name, what)) = OPERATIONS.get(selected) {
            lines.push(Line::styled(name.to_string(), theme.header));
            lines.push(Line::raw(what.to_string()));
            lines.push(Line::raw(""));
        }
        lines.push(Line::raw(
            "Nothing is sent before the preview and a confirmation that says what will happen.",
        ));
        lines.push(Line::styled(
            "Which orders are paid now? Runs (r on Home), select the run, s. \
             Orders paid in a range: p on Home.",
            theme.dim,
        ));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::TOP)),
            detail,
        );
    }
}
