//! Preview: every row of the sheet in a virtualised table (only the rows on screen are
//! built), invalid cells marked with a glyph and REVERSED as well as colour, the
//! selected row's issues in a detail pane, counts and the total of the valid rows.
//! `e` cycles all / invalid / warnings, `n`/`N` jump between invalid rows, `/` filters
//! by text, `r` reads the file again (keeping the row), `s` goes on to Confirm. The
//! file is read off the UI loop; keys are answered while it loads.

use crate::domain::{Kind, Severity};
use crate::tui::app::{
    Effect, Input, InputFor, Modal, Nav, Out, PickFor, Picker, PreviewDataRef, RowsRead, View,
};
use crate::tui::data::preview::{Mark, PreviewData};
use crate::tui::keymap::Action;
use crate::tui::theme::{INVALID_GLYPH, WARNING_GLYPH};
use crate::tui::widgets::{self, vtable::Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The kinds offered when choosing what a sheet holds, in this order.
pub const PICKABLE_KINDS: [Kind; 6] = Kind::ALL;

#[derive(Debug)]
pub enum Load {
    Loading {
        since: Option<Instant>,
        rows_read: RowsRead,
    },
    Ready(Arc<PreviewDataRef>),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    All,
    Invalid,
    Warnings,
}

impl Rows {
    fn next(self) -> Rows {
        match self {
            Rows::All => Rows::Invalid,
            Rows::Invalid => Rows::Warnings,
            Rows::Warnings => Rows::All,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Rows::All => "all rows",
            Rows::Invalid => "invalid rows only",
            Rows::Warnings => "rows with warnings only",
        }
    }
}

#[derive(Debug)]
pub struct Preview {
    pub path: PathBuf,
    /// The kind asked for; `None` guesses from the headers.
    pub kind: Option<Kind>,
    pub sheet: Option<String>,
    pub seq: u64,
    pub load: Load,
    pub rows: Rows,
    /// The text filter and the rows matching it (`None` while it is computed).
    pub search: Option<(String, Option<Vec<usize>>, u64)>,
    pub window: Window,
    /// First data column shown (the table scrolls sideways with ←/→).
    pub col_offset: usize,
    /// After a reload, the spreadsheet row to select again.
    pub keep_row: Option<u32>,
    /// Ask for the kind once the file is read (it was guessed).
    pub ask_kind: bool,
    /// Waiting for the engine's plan (Confirm follows).
    pub planning: bool,
}

impl Preview {
    pub fn open(path: PathBuf, kind: Option<Kind>, sheet: Option<String>, seq: u64) -> Preview {
        Preview {
            path,
            kind,
            sheet,
            seq,
            load: Load::Loading {
                since: None,
                rows_read: RowsRead::default(),
            },
            rows: Rows::All,
            search: None,
            window: Window::default(),
            col_offset: 0,
            keep_row: None,
            ask_kind: kind.is_none(),
            planning: false,
        }
    }

    /// A preview of data already read (tests, benchmarks).
    pub fn ready(data: PreviewData) -> Preview {
        let mut p = Preview::open(
            data.imported.file.clone(),
            Some(data.imported.kind),
            None,
            0,
        );
        p.sheet = Some(data.imported.sheet.clone());
        p.load = Load::Ready(Arc::new(PreviewDataRef(data)));
        p
    }

    /// The load of this screen's file, publishing its progress where this screen
    /// draws it from.
    pub fn load_effect(&self) -> Effect {
        let rows_read = match &self.load {
            Load::Loading { rows_read, .. } => rows_read.clone(),
            _ => RowsRead::default(),
        };
        Effect::Load {
            seq: self.seq,
            path: self.path.clone(),
            kind: self.kind,
            sheet: self.sheet.clone(),
            rows_read,
        }
    }

    pub fn data(&self) -> Option<&PreviewData> {
        match &self.load {
            Load::Ready(d) => Some(&d.0),
            _ => None,
        }
    }

    pub fn data_ref(&self) -> Option<Arc<PreviewDataRef>> {
        match &self.load {
            Load::Ready(d) => Some(Arc::clone(d)),
            _ => None,
        }
    }

    /// The data rows shown, by position: `None` means every row in order.
    fn base(&self) -> Option<&[usize]> {
        let data = self.data()?;
        match self.rows {
            Rows::All => None,
            Rows::Invalid => Some(&data.invalid),
            Rows::Warnings => Some(&data.warnings),
        }
    }

    fn shown(&self) -> Option<&[usize]> {
        match &self.search {
            Some((_, Some(found), _)) => Some(found),
            Some((_, None, _)) => Some(&[]),
            None => self.base(),
        }
    }

    pub fn shown_len(&self) -> usize {
        match (self.shown(), self.data()) {
            (Some(list), _) => list.len(),
            (None, Some(d)) => d.len(),
            (None, None) => 0,
        }
    }

    /// The data index at a position of the table.
    pub fn index_at(&self, pos: usize) -> Option<usize> {
        match self.shown() {
            Some(list) => list.get(pos).copied(),
            None => (pos < self.shown_len()).then_some(pos),
        }
    }

    fn position_of(&self, index: usize) -> usize {
        match self.shown() {
            Some(list) => list.partition_point(|i| *i < index),
            None => index,
        }
    }

    /// The data index of the selected row.
    pub fn selected_index(&self) -> Option<usize> {
        self.index_at(self.window.selected)
    }

    pub fn loaded(
        &mut self,
        seq: u64,
        result: Result<Arc<PreviewDataRef>, String>,
        out: &mut Out,
        _next_seq: u64,
    ) {
        if seq != self.seq {
            return;
        }
        match result {
            Ok(data) => {
                let kind = data.0.imported.kind;
                if let Some(row) = self.keep_row.take() {
                    let index = data.0.index_of_row(row);
                    self.load = Load::Ready(data);
                    self.search = None;
                    self.window.selected = self.position_of(index);
                } else {
                    self.load = Load::Ready(data);
                }
                if self.ask_kind {
                    self.ask_kind = false;
                    out.modal = Some(kind_picker(kind));
                }
            }
            Err(e) => self.load = Load::Failed(e),
        }
    }

    pub fn searched(&mut self, seq: u64, rows: Vec<usize>) {
        if let Some((_, found, g)) = &mut self.search
            && *g == seq
        {
            *found = Some(rows);
            self.window.selected = 0;
        }
    }

    /// The clerk chose the kind: read the file again as that kind unless it already is.
    pub fn choose_kind(&mut self, kind: Kind, seq: u64) -> Option<Effect> {
        if self
            .data()
            .is_some_and(|d| d.imported.kind == kind && !d.imported.kind_guessed)
            || self.data().is_some_and(|d| d.imported.kind == kind) && self.kind.is_none()
        {
            self.kind = Some(kind);
            return None;
        }
        self.kind = Some(kind);
        self.keep_row = self
            .selected_index()
            .and_then(|i| self.data().and_then(|d| d.row(i)).map(|r| r.row));
        self.seq = seq;
        self.load = Load::Loading {
            since: None,
            rows_read: RowsRead::default(),
        };
        Some(self.load_effect())
    }

    pub fn search(&mut self, text: String, seq: u64, out: &mut Out) {
        let text = text.trim().to_string();
        if text.is_empty() {
            self.search = None;
            self.window.selected = 0;
            return;
        }
        let Some(data) = self.data_ref() else { return };
        let among = self.base().map(<[usize]>::to_vec);
        self.search = Some((text.clone(), None, seq));
        out.effect(Effect::Search {
            seq,
            data,
            query: text,
            among,
        });
    }

    fn jump_error(&mut self, forward: bool) {
        let Some(data) = self.data() else { return };
        let current = self.selected_index();
        let target = match current {
            None => data.invalid.first().copied(),
            Some(cur) if forward => {
                let p = data.invalid.partition_point(|i| *i <= cur);
                data.invalid.get(p).or(data.invalid.first()).copied()
            }
            Some(cur) => {
                let p = data.invalid.partition_point(|i| *i < cur);
                match p {
                    0 => data.invalid.last().copied(),
                    p => data.invalid.get(p - 1).copied(),
                }
            }
        };
        let Some(target) = target else { return };
        if self
            .shown()
            .is_some_and(|l| l.binary_search(&target).is_err())
        {
            // The next invalid row is filtered out: show every row to reach it.
            self.search = None;
            self.rows = Rows::All;
        }
        self.window.selected = self.position_of(target);
    }

    pub fn action(&mut self, action: Action, out: &mut Out, view: &View<'_>) {
        match action {
            Action::Back => out.go(Nav::Pop),
            Action::Reload => {
                self.keep_row = self
                    .selected_index()
                    .and_then(|i| self.data().and_then(|d| d.row(i)).map(|r| r.row))
                    .or(self.keep_row);
                if let Some((kind, sheet)) = self
                    .data()
                    .map(|d| (d.imported.kind, d.imported.sheet.clone()))
                {
                    self.kind = Some(kind);
                    self.sheet = Some(sheet);
                }
                self.seq = self.seq.wrapping_add(1_000_000);
                self.load = Load::Loading {
                    since: Some(view.now),
                    rows_read: RowsRead::default(),
                };
                out.effect(self.load_effect());
            }
            Action::ChooseKind => {
                if let Some(d) = self.data() {
                    out.modal = Some(kind_picker(d.imported.kind));
                }
            }
            _ if self.data().is_none() => {}
            Action::CycleView => {
                self.rows = self.rows.next();
                let keep = self.selected_index();
                if let Some((text, _, _)) = self.search.take() {
                    let seq = self.seq.wrapping_add(2_000_000 + view.spinner as u64);
                    self.search(text, seq, out);
                }
                self.window.selected = keep.map_or(0, |i| self.position_of(i));
            }
            Action::NextError => self.jump_error(true),
            Action::PrevError => self.jump_error(false),
            Action::Search => {
                out.modal = Some(Modal::Input(Input {
                    title: "Show rows containing (empty: all rows)".into(),
                    text: self
                        .search
                        .as_ref()
                        .map(|s| s.0.clone())
                        .unwrap_or_default(),
                    masked: false,
                    purpose: InputFor::Search,
                }))
            }
            Action::Left => self.col_offset = self.col_offset.saturating_sub(1),
            Action::Right => {
                let cols = self.data().map_or(0, |d| d.imported.columns.len());
                self.col_offset = (self.col_offset + 1).min(cols.saturating_sub(1));
            }
            Action::Submit => self.submit(out, view),
            a => {
                let len = self.shown_len();
                self.window.apply(a, len);
            }
        }
    }

    fn submit(&mut self, out: &mut Out, view: &View<'_>) {
        let Some(data) = self.data_ref() else { return };
        let d = &data.0;
        if d.valid == 0 {
            out.message(
                "Nothing to send",
                vec![
                    "No row is valid. Fix the file in Excel, then press r to read it again.".into(),
                ],
            );
            return;
        }
        if view.live.is_some_and(|l| !l.finished) {
            out.message(
                "A run is going",
                vec!["This console sends one run at a time; wait for it to end.".into()],
            );
            return;
        }
        if !view.info.demo
            && let Some(problem) = &view.info.config_problem
        {
            out.message("Cannot send", vec![problem.clone()]);
            return;
        }
        self.planning = true;
        out.effect(Effect::Plan { data });
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = match &self.load {
            Load::Ready(d) => Arc::clone(d),
            Load::Loading { since, rows_read } => {
                let spin = ["|", "/", "-", "\\"][view.spinner % 4];
                let secs = since.map_or(0.0, |s| view.now.duration_since(s).as_secs_f64());
                let reached = match rows_read.get() {
                    0 => String::new(),
                    row => format!("row {}  ·  ", widgets::thousands(u64::from(row))),
                };
                let lines = vec![
                    Line::raw(""),
                    Line::raw(format!(
                        "  {spin} Reading and checking {name}…  {reached}{secs:.1} s"
                    )),
                    Line::raw(""),
                    Line::styled(
                        "  Every row is read and validated; nothing is sent. Esc goes back.",
                        theme.dim,
                    ),
                ];
                frame.render_widget(Paragraph::new(lines), area);
                return;
            }
            Load::Failed(e) => {
                let lines = vec![
                    Line::styled(format!("Cannot read {name}"), theme.bad),
                    Line::raw(""),
                    Line::raw(e.clone()),
                    Line::raw(""),
                    Line::raw("Fix the file, then press r to read it again, or Esc to go back."),
                ];
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
                return;
            }
        };
        let d = &data.0;
        let imp = &d.imported;
        let detail_h: u16 = if area.height >= 40 { 8 } else { 6 };
        let [summary, table_area, detail] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(4),
            Constraint::Length(detail_h),
        ])
        .areas(area);

        let mut l1 = vec![
            Span::raw(format!("{name} · sheet \"{}\" · ", imp.sheet)),
            Span::styled(imp.kind.as_str(), theme.header),
        ];
        if imp.kind_guessed && self.kind.is_none() {
            l1.push(Span::styled(" (guessed; k to change)", theme.dim));
        }
        if self.planning {
            l1.push(Span::styled("  · checking the journal…", theme.attention));
        }
        let mut l2 = vec![
            Span::raw(format!("{} rows: ", widgets::thousands(d.len() as u64))),
            Span::styled(
                format!("{} valid", widgets::thousands(d.valid as u64)),
                theme.good,
            ),
            Span::raw(", "),
            Span::styled(
                format!(
                    "{INVALID_GLYPH} {} invalid",
                    widgets::thousands(d.invalid.len() as u64)
                ),
                if d.invalid.is_empty() {
                    theme.dim
                } else {
                    theme.bad
                },
            ),
            Span::raw(format!(
                ", {WARNING_GLYPH} {} warned",
                widgets::thousands(d.warnings.len() as u64)
            )),
        ];
        if let Some(total) = d.total {
            l2.push(Span::raw(format!(
                " · valid total {}",
                crate::cli::submit::group_thousands(&total)
            )));
        }
        frame.render_widget(
            Paragraph::new(vec![Line::from(l1), Line::from(l2)]),
            summary,
        );

        // Columns: the row number, then the sheet's columns from `col_offset` on.
        let cols = &imp.columns;
        let start = self.col_offset.min(cols.len().saturating_sub(1));
        // Column widths follow the header and the rows on screen (never the whole
        // sheet), between 6 and 24 characters.
        let len = self.shown_len();
        let on_screen: Vec<usize> = {
            let mut w = self.window;
            w.settle(len, usize::from(table_area.height).saturating_sub(2));
            w.range(len).filter_map(|p| self.index_at(p)).collect()
        };
        let mut widths = vec![Constraint::Length(7)];
        let mut shown_cols = Vec::new();
        let mut used = 8u16;
        for (c, col) in cols.iter().enumerate().skip(start) {
            let content = on_screen
                .iter()
                .map(|i| d.cell(*i, c).0.chars().count() + 1)
                .max()
                .unwrap_or(0);
            let w =
                u16::try_from(col.header.chars().count().max(content).clamp(6, 24)).unwrap_or(24);
            if used + w + 1 > table_area.width.saturating_sub(1) && !shown_cols.is_empty() {
                break;
            }
            used += w + 1;
            widths.push(Constraint::Length(w));
            shown_cols.push(c);
        }
        let mut header = vec![Cell::from("row")];
        header.extend(
            shown_cols
                .iter()
                .map(|c| Cell::from(cols[*c].header.clone())),
        );
        let header = Row::new(header).style(theme.header);
        let mut title = format!(" {} ", self.rows.label());
        if let Some((text, found, _)) = &self.search {
            title = match found {
                Some(f) => format!(" {} containing \"{text}\": {} ", self.rows.label(), f.len()),
                None => format!(" searching \"{text}\"… "),
            };
        }
        if start > 0 || shown_cols.last().is_some_and(|c| *c + 1 < cols.len()) {
            title.push_str(&format!(
                "· columns {}-{} of {} (←/→) ",
                start + 1,
                start + shown_cols.len(),
                cols.len()
            ));
        }
        let block = Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(title, theme.dim));
        let mut window = self.window;
        widgets::vtable::render(
            frame,
            table_area,
            block,
            Some(header),
            &widths,
            &mut window,
            len,
            theme.selected,
            |pos| {
                let Some(index) = self.index_at(pos) else {
                    return Row::new(Vec::<Cell>::new());
                };
                let Some(row) = d.row(index) else {
                    return Row::new(Vec::<Cell>::new());
                };
                let flag = if !row.is_valid() {
                    INVALID_GLYPH
                } else if row.warnings().next().is_some() {
                    WARNING_GLYPH
                } else {
                    ' '
                };
                let mut cells = vec![Cell::from(format!("{flag}{:>6}", row.row))];
                for c in &shown_cols {
                    let (text, mark) = d.cell(index, *c);
                    cells.push(match mark {
                        Mark::Invalid => Cell::from(Span::styled(
                            format!("{INVALID_GLYPH}{text}"),
                            theme.invalid,
                        )),
                        Mark::Warning => Cell::from(Span::styled(
                            format!("{WARNING_GLYPH}{text}"),
                            theme.warning,
                        )),
                        Mark::None => Cell::from(text),
                    });
                }
                Row::new(cells)
            },
        );
        self.window = window;

        let mut lines: Vec<Line<'_>> = Vec::new();
        match self.selected_index().and_then(|i| d.row(i).map(|r| (i, r))) {
            Some((i, row)) => {
                let issues = d.issues(i);
                let state = if !row.is_valid() {
                    Span::styled(format!("{INVALID_GLYPH} invalid: not sent"), theme.bad)
                } else {
                    Span::styled("valid", theme.good)
                };
                lines.push(Line::from(vec![
                    Span::raw(format!("Row {} · {} ", row.row, row.key)),
                    state,
                    Span::raw(format!(" · {} issue(s)", issues.len())),
                ]));
                for issue in issues {
                    let (glyph, style) = match issue.severity {
                        Severity::Error => (INVALID_GLYPH, theme.bad),
                        Severity::Warning => (WARNING_GLYPH, theme.warning),
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{glyph} {}: ", issue.column), style),
                        Span::raw(issue.message.clone()),
                    ]));
                }
            }
            None => lines.push(Line::raw("no row selected")),
        }
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" Selected row "),
            ),
            detail,
        );
    }
}

fn kind_picker(guess: Kind) -> Modal {
    let window = Window {
        selected: PICKABLE_KINDS.iter().position(|k| *k == guess).unwrap_or(0),
        ..Window::default()
    };
    Modal::Picker(Picker {
        title: "What does the sheet hold? (guessed from the headers)".into(),
        items: PICKABLE_KINDS
            .iter()
            .map(|k| {
                let mut s = k.as_str().to_string();
                if *k == guess {
                    s.push_str("  ← from the headers");
                }
                s
            })
            .collect(),
        window,
        purpose: PickFor::Kind,
    })
}
