//! Confirm: exactly what `y` will do — the kind, the rows to send, the rows skipped and
//! why, the invalid rows, the total amount, the target URL and merchant. Nothing is
//! sent without `y`; `n` or `Esc` go back to the preview.

use crate::tui::app::{ConfirmInfo, Effect, Nav, Out, PlanRef, Screen, View};
use crate::tui::keymap::Action;
use crate::tui::screens::progress::Progress;
use crate::tui::widgets::{self, thousands};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::sync::Arc;

#[derive(Debug)]
pub struct Confirm {
    pub info: ConfirmInfo,
    /// What `y` starts (`None` only in tests of the screen).
    pub plan: Option<Arc<PlanRef>>,
}

impl Confirm {
    pub fn new(info: ConfirmInfo, plan: Option<Arc<PlanRef>>) -> Confirm {
        Confirm { info, plan }
    }

    pub fn action(&mut self, action: Action, out: &mut Out, _view: &View<'_>) {
        match action {
            Action::Yes => {
                let Some(plan) = self.plan.clone() else {
                    return;
                };
                if self.info.to_send == 0 {
                    out.message(
                        "Nothing to send",
                        vec!["Every valid row was already created by an earlier run.".into()],
                    );
                    return;
                }
                out.effect(Effect::Start { plan });
                out.go(Nav::Replace(Screen::Progress(Progress)));
            }
            Action::No | Action::Back => out.go(Nav::Pop),
            _ => {}
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let i = &self.info;
        let noun = match i.kind {
            crate::domain::Kind::Orders => "orders",
            crate::domain::Kind::Consumers => "consumers",
            _ => "rows",
        };
        let mut lines = vec![
            Line::from(vec![
                Span::raw("Send "),
                Span::styled(
                    format!("{} {noun}", thousands(i.to_send as u64)),
                    theme.header,
                ),
                Span::raw(format!(
                    " ({}) from {} · sheet \"{}\"",
                    i.kind,
                    i.file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    i.sheet
                )),
            ]),
            Line::raw(""),
            Line::raw(format!(
                "  Rows in the sheet      {}",
                thousands(i.rows as u64)
            )),
            Line::raw(format!(
                "  Rows to send           {}",
                thousands(i.to_send as u64)
            )),
            Line::raw(format!(
                "  Skipped                {}{}",
                thousands(i.skipped.len() as u64),
                if i.skipped.is_empty() {
                    ""
                } else {
                    " (an earlier run already created them; never sent twice)"
                }
            )),
            Line::styled(
                format!("  Invalid (not sent)     {}", thousands(i.invalid as u64)),
                if i.invalid > 0 { theme.bad } else { theme.dim },
            ),
        ];
        if let Some(total) = &i.total {
            lines.push(Line::raw(format!("  Total amount           {total}")));
        }
        lines.push(Line::raw(format!(
            "  Merchant               {}",
            i.merchant
        )));
        lines.push(Line::raw(format!(
            "  Service                {}",
            i.base_url
        )));
        if !i.skipped.is_empty() {
            lines.push(Line::raw(""));
            for (row, key, why) in i.skipped.iter().take(4) {
                lines.push(Line::styled(
                    widgets::fit(
                        &format!("  row {row} ({key}): {why}"),
                        usize::from(area.width),
                    ),
                    theme.dim,
                ));
            }
            if i.skipped.len() > 4 {
                lines.push(Line::styled(
                    format!("  … and {} more", i.skipped.len() - 4),
                    theme.dim,
                ));
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("y", theme.key),
            Span::raw(" send now   "),
            Span::styled("n", theme.key),
            Span::raw("/"),
            Span::styled("Esc", theme.key),
            Span::raw(" don't send (nothing is sent without y)"),
        ]));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::TOP).title(" Confirm ")),
            area,
        );
    }
}
