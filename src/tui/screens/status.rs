//! Status: "which of last week's orders are paid now?" for one run. Every created order
//! of the run is looked up at PayPro (`gos`, a few at a time); the screen shows how far
//! the look-up is and the tally as a bar chart — unpaid, paid, blocked, refunded,
//! expired — with the orders PayPro did not know or that could not be checked. Every
//! answer is journaled with the time of the check (refunds are checked against it).
//! `s` looks them up again, `Esc` goes back.

use crate::engine::status::{StatusEvent, Tally};
use crate::journal::RunId;
use crate::tui::app::{Effect, Nav, Out, View};
use crate::tui::keymap::Action;
use crate::tui::widgets::{self, thousands};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Wrap};

#[derive(Debug, Clone, PartialEq)]
pub struct StatusView {
    pub run: RunId,
    /// Orders to look up (0 until the look-up says).
    pub total: usize,
    pub done: usize,
    pub tally: Tally,
    pub retries: usize,
    /// The look-up ended: its check number in the journal, or why it stopped.
    pub ended: Option<Result<i64, String>>,
}

impl StatusView {
    /// The screen for `run`, and the effect that starts its look-up.
    pub fn start(run: RunId, out: &mut Out) -> StatusView {
        out.effect(Effect::StatusRefresh(run));
        StatusView {
            run,
            total: 0,
            done: 0,
            tally: Tally::default(),
            retries: 0,
            ended: None,
        }
    }

    pub fn event(&mut self, event: StatusEvent) {
        match event {
            StatusEvent::Started { total } => self.total = total,
            StatusEvent::Checked { done, total, tally } => {
                self.done = done;
                self.total = total;
                self.tally = tally;
            }
            StatusEvent::Retrying { .. } => self.retries += 1,
        }
    }

    pub fn ended(&mut self, result: Result<(i64, Tally), String>) {
        self.ended = Some(result.map(|(check, tally)| {
            self.tally = tally;
            self.done = usize::try_from(tally.total()).unwrap_or(usize::MAX);
            check
        }));
    }

    pub fn action(&mut self, action: Action, out: &mut Out, _view: &View<'_>) {
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::StatusRefresh if self.ended.is_some() => {
                *self = StatusView::start(self.run, out);
            }
            Action::StatusRefresh => out.message(
                "Still looking",
                vec!["The orders are being looked up; wait for this look-up to end.".into()],
            ),
            _ => {}
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let [head, gauge, chart, foot] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(7),
            Constraint::Length(3),
        ])
        .areas(area);
        let state = match &self.ended {
            None if self.total == 0 => "starting…".to_string(),
            None => "looking up…".to_string(),
            Some(Ok(check)) => format!("done (journaled as check {check})"),
            Some(Err(_)) => "stopped".to_string(),
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled(
                    format!("Status of run {}'s orders at PayPro · {state}", self.run),
                    theme.header,
                ),
                Line::styled(
                    "Each created order is looked up by its ConnectPay Id; every answer is journaled with the time of the check.",
                    theme.dim,
                ),
            ])
            .wrap(Wrap { trim: false }),
            head,
        );
        let ratio = if self.total == 0 {
            0.0
        } else {
            self.done as f64 / self.total as f64
        };
        widgets::gauge(
            frame,
            gauge,
            ratio,
            format!(
                "{}/{} looked up",
                thousands(self.done as u64),
                thousands(self.total as u64)
            ),
            theme,
        );
        let bars: Vec<Bar<'_>> = self
            .tally
            .bars()
            .iter()
            .map(|(label, n)| Bar::with_label(format!("{label:<8}"), *n).text_value(thousands(*n)))
            .collect();
        let chart_widget = BarChart::default()
            .direction(Direction::Horizontal)
            .data(BarGroup::new(bars))
            .bar_width(1)
            .bar_gap(1)
            .bar_style(theme.gauge)
            .max(self.tally.total().max(1))
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" Orders by state "),
            );
        frame.render_widget(chart_widget, chart);
        let t = &self.tally;
        let mut lines = vec![Line::raw(format!(
            "{} not found at PayPro · {} could not be checked · {} in another state · {} retried look-ups",
            thousands(t.not_found),
            thousands(t.failed),
            thousands(t.other),
            thousands(self.retries as u64)
        ))];
        match &self.ended {
            Some(Err(e)) => lines.push(Line::styled(widgets::fit(e, 200), theme.bad)),
            Some(Ok(_)) => lines.push(Line::styled(
                "s looks them up again · the journal keeps every check",
                theme.dim,
            )),
            None => {}
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::TOP)),
            foot,
        );
    }
}
