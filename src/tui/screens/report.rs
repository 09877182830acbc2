//! Report: the orders customers paid in a date range. `f` and `t` set the first and
//! last day (this month so far by default), `Enter` fetches the paid-orders report
//! (one request per calendar month, a few at once, progress per chunk from
//! `report::fetch_paid_orders`' events), the orders are previewed in a table (only the
//! rows on screen are built), and `x` writes the workbook into the start folder through
//! the same writer as `report paid`. Fetching also fills in the journal the ids of
//! orders whose create answer was lost, and records the orders as paid (what refunds
//! are checked against).

use crate::report::{DateRange, ReportEvent};
use crate::tui::app::{Effect, Input, InputFor, Modal, Nav, Out, ReportRef, View};
use crate::tui::keymap::Action;
use crate::tui::widgets::{self, thousands, vtable::Window};
use chrono::{Datelike, NaiveDate};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row};
use rust_decimal::Decimal;
use std::sync::Arc;

#[derive(Debug)]
pub enum Fetch {
    Idle,
    Fetching {
        chunks: usize,
        done: usize,
        orders: usize,
        retries: usize,
    },
    Ready(Arc<ReportRef>),
    Failed(String),
}

#[derive(Debug)]
pub struct ReportView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub fetch: Fetch,
    /// Tells the answer of the current fetch from a stale one.
    pub seq: u64,
    pub window: Window,
}

impl ReportView {
    /// This month so far.
    pub fn new(today: NaiveDate) -> ReportView {
        ReportView {
            from: today.with_day(1).unwrap_or(today),
            to: today,
            fetch: Fetch::Idle,
            seq: 0,
            window: Window::default(),
        }
    }

    fn range(&self) -> DateRange {
        DateRange {
            start: self.from,
            end: self.to,
        }
    }

    pub fn report(&self) -> Option<&Arc<ReportRef>> {
        match &self.fetch {
            Fetch::Ready(r) => Some(r),
            _ => None,
        }
    }

    /// A date typed into the From or To field.
    pub fn set_date(&mut self, which: InputFor, text: &str, out: &mut Out) {
        match crate::cli::report::parse_date(text) {
            Ok(d) if which == InputFor::ReportFrom => self.from = d,
            Ok(d) => self.to = d,
            Err(e) => out.message("Not a date", vec![e]),
        }
    }

    pub fn event(&mut self, seq: u64, event: ReportEvent) {
        if seq != self.seq {
            return;
        }
        if let Fetch::Fetching {
            chunks,
            done,
            orders,
            retries,
        } = &mut self.fetch
        {
            match event {
                ReportEvent::Started { chunks: n, .. } => *chunks = n,
                ReportEvent::ChunkDone { orders: n, .. } => {
                    *done += 1;
                    *orders += n;
                }
                ReportEvent::ChunkRetrying { .. } => *retries += 1,
                ReportEvent::ChunkStarted { .. } | ReportEvent::Merged { .. } => {}
            }
        }
    }

    pub fn fetched(&mut self, seq: u64, result: Result<Arc<ReportRef>, String>) {
        if seq != self.seq {
            return;
        }
        self.window = Window::default();
        self.fetch = match result {
            Ok(r) => Fetch::Ready(r),
            Err(e) => Fetch::Failed(e),
        };
    }

    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>, seq: u64) {
        let fetching = matches!(self.fetch, Fetch::Fetching { .. });
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::EditFrom | Action::EditTo if !fetching => {
                let (purpose, title, date) = if action == Action::EditFrom {
                    (InputFor::ReportFrom, "First day paid", self.from)
                } else {
                    (InputFor::ReportTo, "Last day paid", self.to)
                };
                out.modal = Some(Modal::Input(Input {
                    title: format!("{title} (2026-01-31 or 31/01/2026)"),
                    text: date.format("%Y-%m-%d").to_string(),
                    masked: false,
                    purpose,
                }));
            }
            Action::Fetch if !fetching => {
                if self.from > self.to {
                    out.message(
                        "Not a range",
                        vec![format!(
                            "The first day {} is after the last day {}.",
                            self.from, self.to
                        )],
                    );
                    return;
                }
                if !view.info.demo
                    && let Some(problem) = &view.info.config_problem
                {
                    out.message("Cannot fetch", vec![problem.clone()]);
                    return;
                }
                self.seq = seq;
                self.fetch = Fetch::Fetching {
                    chunks: 0,
                    done: 0,
                    orders: 0,
                    retries: 0,
                };
                out.effect(Effect::FetchReport {
                    seq,
                    range: self.range(),
                });
            }
            Action::Export => match self.report() {
                Some(r) => out.effect(Effect::ExportReport {
                    report: Arc::clone(r),
                    dir: view.info.start_dir.clone(),
                }),
                None => out.message(
                    "Nothing to export",
                    vec!["Fetch the report first (Enter).".into()],
                ),
            },
            a => {
                let len = self.report().map_or(0, |r| r.report.orders.len());
                self.window.apply(a, len);
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let [head, status, table] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(2),
            Constraint::Min(4),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled("Orders paid from ", theme.header),
                    Span::styled(self.from.format("%d/%m/%Y").to_string(), theme.key),
                    Span::styled(" to ", theme.header),
                    Span::styled(self.to.format("%d/%m/%Y").to_string(), theme.key),
                    Span::raw(format!(
                        " · merchant {}",
                        view.info.merchant.as_deref().unwrap_or("(not configured)")
                    )),
                ]),
                Line::styled(
                    "f/t set the days · Enter fetches (a request a month) · x writes the workbook",
                    theme.dim,
                ),
            ]),
            head,
        );
        let lines = match &self.fetch {
            Fetch::Idle => vec![Line::raw("Not fetched yet.")],
            Fetch::Fetching {
                chunks,
                done,
                orders,
                retries,
            } => {
                let ratio = if *chunks == 0 {
                    0.0
                } else {
                    *done as f64 / *chunks as f64
                };
                let [g, l] =
                    Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(status);
                widgets::gauge(frame, g, ratio, format!("{done}/{chunks} requests"), theme);
                frame.render_widget(
                    Paragraph::new(format!(
                        "fetching… {} paid orders so far{}",
                        thousands(*orders as u64),
                        if *retries > 0 {
                            format!(" · {retries} requests tried again")
                        } else {
                            String::new()
                        }
                    )),
                    l,
                );
                Vec::new()
            }
            Fetch::Ready(r) => {
                let paid: Decimal = r.report.orders.iter().filter_map(|o| o.amount_paid).sum();
                vec![
                    Line::raw(format!(
                        "{} paid orders, total paid {} · {} request(s), {} duplicate(s) removed",
                        thousands(r.report.orders.len() as u64),
                        money(paid),
                        r.report.chunks,
                        r.report.duplicates
                    )),
                    Line::styled(
                        format!(
                            "{} ConnectPay id(s) lost with a create answer filled into the journal",
                            r.filled
                        ),
                        theme.dim,
                    ),
                ]
            }
            Fetch::Failed(e) => vec![Line::styled(widgets::fit(e, 300), theme.bad)],
        };
        if !lines.is_empty() {
            frame.render_widget(Paragraph::new(lines), status);
        }
        let block = Block::default().borders(Borders::TOP);
        let Some(r) = self.report().cloned() else {
            frame.render_widget(Paragraph::new("").block(block), table);
            return;
        };
        let orders = &r.report.orders;
        if orders.is_empty() {
            frame.render_widget(
                Paragraph::new("No order was paid in this range.").block(block),
                table,
            );
            return;
        }
        let header = Row::new(vec![
            "date paid",
            "order number",
            "ConnectPay Id",
            "amount paid",
            "mobile",
        ])
        .style(theme.header);
        let widths = [
            Constraint::Length(11),
            Constraint::Length(16),
            Constraint::Length(15),
            Constraint::Length(13),
            Constraint::Min(11),
        ];
        widgets::vtable::render(
            frame,
            table,
            block,
            Some(header),
            &widths,
            &mut self.window,
            orders.len(),
            theme.selected,
            |i| {
                let Some(o) = orders.get(i) else {
                    return Row::new(Vec::<String>::new());
                };
                Row::new(vec![
                    o.date_paid
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                    o.order_number.clone(),
                    o.connectpay_id.clone().unwrap_or_default(),
                    o.amount_paid
                        .map(|a| format!("{:>12}", money(a)))
                        .unwrap_or_default(),
                    o.customer_mobile.clone().unwrap_or_default(),
                ])
            },
        );
    }
}

/// `1,234.50` (shown as PayPro sent it, to the cent).
fn money(a: Decimal) -> String {
    crate::cli::submit::group_decimal(a)
}
