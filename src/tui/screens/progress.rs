//! Progress: the run this console drives — overall gauge, batches done / in flight /
//! queued, created / existed / rejected / failed counters, rows per second with a
//! sparkline, the ETA, and a scrolling log of batch outcomes and retries. `p` pauses
//! and continues, `c` cancels (after asking; in-flight batches finish and are
//! journaled), `Esc` goes Home while the run goes on.

use crate::cli::progress::short_duration;
use crate::domain::Kind;
use crate::tui::app::{AskFor, Effect, Modal, Nav, Out, Screen, View};
use crate::tui::keymap::Action;
use crate::tui::screens::runs::Runs;
use crate::tui::widgets::{self, thousands};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

#[derive(Debug, Default)]
pub struct Progress;

impl Progress {
    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        let Some(live) = view.live else {
            if action == Action::Back {
                out.go(Nav::Home);
            }
            return;
        };
        match action {
            Action::Back => out.go(Nav::Home),
            Action::ShowRuns => out.go(Nav::Push(Screen::Runs(Runs::default()))),
            Action::Pause if live.run.is_some() && !live.finished && !live.cancelling => {
                if live.progress.paused || live.progress.pausing {
                    out.effect(Effect::Continue);
                } else {
                    out.effect(Effect::Pause);
                }
            }
            Action::Cancel if live.run.is_some() && !live.finished && !live.cancelling => {
                out.modal = Some(Modal::Ask {
                    question: format!(
                        "Cancel run {}? No new batch is sent; the {} in flight finish and are \
                         journaled. The rows not sent stay pending: R on Home resumes them.",
                        live.run.map_or_else(|| "?".into(), |r| r.to_string()),
                        live.progress.batches_on_the_wire()
                    ),
                    then: AskFor::CancelRun,
                })
            }
            _ => {}
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let Some(live) = view.live else {
            frame.render_widget(Paragraph::new("No run is going in this console."), area);
            return;
        };
        let p = &live.progress;
        let spark_h = if area.height >= 40 { 8 } else { 4 };
        let [status, gauge, counters, spark, log] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(spark_h),
            Constraint::Min(3),
        ])
        .areas(area);

        let word = live.status_word();
        let style = match word {
            "paused" | "pausing…" | "cancelling…" => theme.attention,
            "finished" => theme.good,
            _ => ratatui::style::Style::new(),
        };
        let mut s = vec![
            Span::raw(format!(
                "Run {} · ",
                live.run.map_or_else(|| "?".into(), |r| r.to_string())
            )),
            Span::styled(word.to_uppercase(), style),
        ];
        if let Some(Ok(text)) | Some(Err(text)) = &live.outcome {
            s.push(Span::raw(format!(" · {}", widgets::fit(text, 90))));
        } else if let Some(reason) = &p.stopping {
            s.push(Span::styled(format!(" · {reason}"), theme.bad));
        }
        frame.render_widget(Paragraph::new(Line::from(s)), status);

        let pct = live.ratio() * 100.0;
        widgets::gauge(
            frame,
            gauge,
            live.ratio(),
            format!(
                "{:>5.1}% {}/{}",
                pct,
                thousands(live.position()),
                thousands(p.total)
            ),
            theme,
        );

        let rate = p.rows_per_sec(live.clock(view.now));
        let eta = if live.finished || p.paused {
            "—".to_string()
        } else {
            p.eta(view.now).map_or("—".into(), short_duration)
        };
        let mark = matches!(
            p.kind,
            Some(Kind::MarkPaid | Kind::MarkBlocked | Kind::Refunds)
        );
        let lines = vec![
            Line::raw(format!(
                "Batches  {} done · {} in flight · {} queued        Retries {}",
                thousands(p.batches_done),
                p.batches_on_the_wire(),
                thousands(p.batches_queued()),
                thousands(p.retries)
            )),
            Line::from(vec![
                Span::styled(
                    match p.kind {
                        Some(Kind::MarkPaid) => format!("✓ {} marked paid", thousands(p.marked)),
                        Some(Kind::MarkBlocked) => {
                            format!("✓ {} marked blocked", thousands(p.marked))
                        }
                        Some(Kind::Refunds) => format!("✓ {} refunded", thousands(p.marked)),
                        _ => format!("✓ {} created", thousands(p.created)),
                    },
                    theme.good,
                ),
                Span::raw(if mark {
                    String::new()
                } else {
                    format!(" · ≡ {} existed", thousands(p.exists))
                }),
                Span::styled(
                    format!(" · × {} rejected", thousands(p.rejected)),
                    if p.rejected > 0 { theme.bad } else { theme.dim },
                ),
                Span::styled(
                    format!(" · ! {} failed", thousands(p.failed)),
                    if p.failed > 0 { theme.bad } else { theme.dim },
                ),
            ]),
            Line::raw(format!(
                "Rate     {} rows/s · ETA {eta}",
                rate.map_or("—".into(), |r| format!("{r:.0}"))
            )),
        ];
        frame.render_widget(Paragraph::new(lines), counters);

        let data: Vec<u64> = live.rates.iter().copied().collect();
        let width = usize::from(spark.width.saturating_sub(2));
        let tail = &data[data.len().saturating_sub(width)..];
        frame.render_widget(
            Sparkline::default()
                .block(Block::default().borders(Borders::TOP).title(" rows/s "))
                .data(tail)
                .style(theme.gauge),
            spark,
        );
        live.log.render(
            frame,
            log,
            Block::default().borders(Borders::TOP).title(" Log "),
        );
    }
}
