//! A virtualised table: `Row`s are built only for the rows on screen, never for the
//! whole data set, so a frame costs the same with 100 rows as with 100,000 (ratatui's
//! own `Table` wants every row built, ratatui #1004). The window follows bottom's data
//! table: the screen keeps the selected index and the first row shown, and the table
//! widget only ever sees the window, with the selection made relative to it. The
//! scrollbar still measures the whole data set.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{
    Block, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, TableState,
};

/// Where a virtualised list stands: which row is selected and which is at the top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub selected: usize,
    pub top: usize,
    /// Rows that fitted in the last frame (for page keys); 0 before the first frame.
    pub height: usize,
}

impl Window {
    /// Keeps `selected` in `0..len` and visible in a viewport of `height` rows.
    pub fn settle(&mut self, len: usize, height: usize) {
        self.height = height;
        if len == 0 {
            self.selected = 0;
            self.top = 0;
            return;
        }
        self.selected = self.selected.min(len - 1);
        let height = height.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + height {
            self.top = self.selected + 1 - height;
        }
        self.top = self.top.min(len.saturating_sub(height));
    }

    /// The rows on screen.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        let end = (self.top + self.height.max(1)).min(len);
        self.top.min(end)..end
    }

    pub fn up(&mut self, n: usize) {
        self.selected = self.selected.saturating_sub(n);
    }

    pub fn down(&mut self, n: usize, len: usize) {
        self.selected = (self.selected + n).min(len.saturating_sub(1));
    }

    pub fn page(&self) -> usize {
        self.height.max(1)
    }

    /// Moves the selection for a movement action; true if it was one.
    pub fn apply(&mut self, action: crate::tui::keymap::Action, len: usize) -> bool {
        use crate::tui::keymap::Action;
        match action {
            Action::Up => self.up(1),
            Action::Down => self.down(1, len),
            Action::PageUp => self.up(self.page()),
            Action::PageDown => self.down(self.page(), len),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = len.saturating_sub(1),
            _ => return false,
        }
        true
    }
}

/// Draws rows `window.range(len)` of a table of `len` rows, building each with
/// `row(index)`. `header` takes one line; the window's height is settled here from the
/// area. Returns the number of `Row`s built (for tests and the benchmark).
#[allow(clippy::too_many_arguments)]
pub fn render<'a>(
    frame: &mut Frame<'_>,
    area: Rect,
    block: Block<'a>,
    header: Option<Row<'a>>,
    widths: &[Constraint],
    window: &mut Window,
    len: usize,
    selected_style: Style,
    mut row: impl FnMut(usize) -> Row<'a>,
) -> usize {
    let inner = block.inner(area);
    let body = usize::from(inner.height).saturating_sub(usize::from(header.is_some()));
    window.settle(len, body);
    let range = window.range(len);
    let built: Vec<Row<'a>> = range.clone().map(&mut row).collect();
    let count = built.len();
    let mut table = Table::new(built, widths.to_vec())
        .block(block)
        .row_highlight_style(selected_style)
        .column_spacing(1);
    if let Some(h) = header {
        table = table.header(h);
    }
    let mut state = TableState::default();
    if len > 0 {
        state.select(Some(window.selected - range.start));
    }
    frame.render_stateful_widget(table, area, &mut state);
    if len > body && inner.height > 1 {
        let mut sb = ScrollbarState::new(len)
            .position(window.selected)
            .viewport_content_length(body);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_symbol(Some("│"))
                .thumb_symbol("█"),
            area,
            &mut sb,
        );
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection() {
        let mut w = Window::default();
        w.settle(100_000, 20);
        assert_eq!(w.range(100_000), 0..20);
        w.selected = 99_990;
        w.settle(100_000, 20);
        assert_eq!(w.range(100_000), 99_971..99_991);
        w.selected = 5;
        w.settle(100_000, 20);
        assert_eq!(w.range(100_000), 5..25);
        w.selected = 10;
        w.settle(3, 20);
        assert_eq!((w.selected, w.range(3)), (2, 0..3));
        w.settle(0, 20);
        assert_eq!(w.range(0), 0..0);
    }
}
