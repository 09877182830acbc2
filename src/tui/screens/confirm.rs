//! Confirm: exactly what `y` will do — the kind, the rows to send, the rows skipped and
//! why, the invalid rows, the total amount, the target URL and merchant. Nothing is
//! sent without `y`; `n` or `Esc` go back to the preview.

use crate::domain::Kind;
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
                        vec![format!(
                            "Every valid row was already {} by an earlier run.",
                            if is_mark(self.info.kind) {
                                "done"
                            } else {
                                "created"
                            }
                        )],
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
        let n = thousands(i.to_send as u64);
        let (verb, what) = match i.kind {
            Kind::Orders => ("Send ", format!("{n} orders")),
            Kind::Consumers => ("Send ", format!("{n} consumers")),
            Kind::ConsumerUpdates => ("Send ", format!("{n} consumer updates")),
            Kind::MarkPaid => ("Mark ", format!("{n} orders PAID")),
            Kind::MarkBlocked => ("Mark ", format!("{n} orders BLOCKED")),
            Kind::Refunds => ("REFUND ", format!("{n} orders")),
        };
        let mut lines = vec![
            Line::from(vec![
                Span::raw(verb),
                Span::styled(what, theme.header),
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
                match (i.skipped.is_empty(), is_mark(i.kind)) {
                    (true, _) => "",
                    (false, false) => " (an earlier run already created them; never sent twice)",
                    (false, true) => " (an earlier run already did them; never sent twice)",
                }
            )),
            Line::styled(
                format!("  Invalid (not sent)     {}", thousands(i.invalid as u64)),
                if i.invalid > 0 { theme.bad } else { theme.dim },
            ),
        ];
        if let Some(total) = &i.total {
            let label = if i.kind == Kind::Refunds {
                "Total to refund "
            } else {
                "Total amount    "
            };
            lines.push(Line::raw(format!("  {label}       {total}")));
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
        if !i.refused.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "  Refused before sending ({}), from what the journal knows:",
                    thousands(i.refused.len() as u64)
                ),
                theme.bad,
            ));
            for (row, why) in i.refused.iter().take(4) {
                lines.push(Line::styled(
                    widgets::fit(&format!("  row {row}: {why}"), usize::from(area.width)),
                    theme.bad,
                ));
            }
            if i.refused.len() > 4 {
                lines.push(Line::styled(
                    format!(
                        "  … and {} more (Runs shows every row)",
                        i.refused.len() - 4
                    ),
                    theme.dim,
                ));
            }
        }
        if let Some(warning) = warning(i.kind) {
            lines.push(Line::raw(""));
            lines.push(Line::styled(warning, theme.attention));
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

/// Operations that change orders that exist.
fn is_mark(kind: Kind) -> bool {
    matches!(kind, Kind::MarkPaid | Kind::MarkBlocked | Kind::Refunds)
}

/// What cannot be undone, said before `y`.
fn warning(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::MarkPaid => Some(
            "PayPro marks these orders paid: this cannot be undone, and customers can no longer pay them.",
        ),
        Kind::MarkBlocked => Some(
            "PayPro blocks these orders: this cannot be undone; customers can no longer pay them.",
        ),
        Kind::Refunds => Some(
            "PayPro refunds these orders the amounts shown: this cannot be undone. Rows the journal \
             could not show paid are invalid and not sent.",
        ),
        _ => None,
    }
}
