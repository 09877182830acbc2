//! Pieces every screen draws with: the virtualised table, popups, the key bar and help
//! overlay (both generated from the key map), the log view and the run gauge.

pub mod vtable;

use super::keymap::{self, Layer};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, LineGauge, Paragraph, Wrap};
use std::collections::VecDeque;

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears `area` and draws a titled box; returns its inside.
pub fn popup(frame: &mut Frame<'_>, area: Rect, title: &str, theme: &Theme) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.header));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// A popup holding wrapped text.
pub fn message(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: Vec<Line<'_>>,
    theme: &Theme,
) {
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(4);
    let rect = centered(
        area,
        area.width.saturating_sub(8).clamp(20, 76),
        height.min(area.height),
    );
    let inner = popup(frame, rect, title, theme);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The bottom line: the keys of `layer`, as many as fit, `? help` always last.
pub fn key_bar(frame: &mut Frame<'_>, area: Rect, layer: Layer, theme: &Theme) {
    let entries = keymap::bar(layer);
    let mut spans: Vec<Span<'_>> = Vec::new();
    let mut used = 0usize;
    let width = usize::from(area.width);
    let last = entries.len().saturating_sub(1);
    for (i, (keys, label)) in entries.into_iter().enumerate() {
        let len = keys.chars().count() + label.chars().count() + 2;
        // Room is always kept for the help entry.
        let reserve = if i == last { 0 } else { 8 };
        if used + len + reserve > width && i != last {
            continue;
        }
        spans.push(Span::styled(keys, theme.key));
        spans.push(Span::raw(format!(" {label}  ")));
        used += len + 1;
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The help overlay of `layer`, generated from the key map.
pub fn help(frame: &mut Frame<'_>, area: Rect, layer: Layer, title: &str, theme: &Theme) {
    let lines: Vec<Line<'_>> = keymap::help(layer)
        .into_iter()
        .map(|(keys, desc)| {
            Line::from(vec![
                Span::styled(format!("{keys:>12}  "), theme.key),
                Span::raw(desc),
            ])
        })
        .collect();
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let rect = centered(area, area.width.saturating_sub(4).min(90), height);
    let inner = popup(frame, rect, &format!("Keys: {title}"), theme);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The run's overall gauge, with ASCII-distinct filled and unfilled parts so it reads
/// without colour.
pub fn gauge(frame: &mut Frame<'_>, area: Rect, ratio: f64, label: String, theme: &Theme) {
    let g = LineGauge::default()
        .ratio(ratio.clamp(0.0, 1.0))
        .label(label)
        .filled_style(theme.gauge)
        .unfilled_style(Style::new())
        .filled_symbol(symbols::block::FULL)
        .unfilled_symbol("·");
    frame.render_widget(g, area);
}

/// The last lines of a log, newest at the bottom, capped at `cap` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLines {
    lines: VecDeque<String>,
    cap: usize,
    /// Lines dropped because the log was full.
    pub dropped: u64,
}

impl LogLines {
    pub fn new(cap: usize) -> LogLines {
        LogLines {
            lines: VecDeque::with_capacity(cap.min(1024)),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    pub fn push(&mut self, line: impl Into<String>) {
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line.into());
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.lines.iter()
    }

    /// Draws the newest lines that fit.
    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, block: Block<'_>) {
        let inner = block.inner(area);
        let n = usize::from(inner.height);
        let skip = self.lines.len().saturating_sub(n);
        let lines: Vec<Line<'_>> = self
            .lines
            .iter()
            .skip(skip)
            .map(|l| Line::raw(l.as_str()))
            .collect();
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Cuts `s` to `max` characters, ending with `…` when cut.
pub fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keeps_the_newest_lines() {
        let mut log = LogLines::new(3);
        for i in 0..5 {
            log.push(format!("line {i}"));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.dropped, 2);
        assert_eq!(log.iter().next().map(String::as_str), Some("line 2"));
    }

    #[test]
    fn numbers_and_cuts() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
