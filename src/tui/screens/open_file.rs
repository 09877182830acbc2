//! Open file: a folder browser that lists folders and spreadsheets only. Typing filters
//! the list, `Enter` enters a folder or opens a file; a workbook with several sheets
//! then asks which (hidden sheets marked), and the Preview asks the kind, pre-selected
//! from the headers. Folders are read off the UI loop.

use crate::domain::Kind;
use crate::tui::app::{Effect, Entry, Modal, Nav, Out, PickFor, Picker, Screen, SheetInfo, View};
use crate::tui::keymap::Action;
use crate::tui::screens::preview::Preview;
use crate::tui::widgets::{self, vtable::Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row};
use std::path::PathBuf;

/// Extensions the importer reads.
pub const SPREADSHEET_EXTENSIONS: [&str; 8] =
    ["xlsx", "xlsm", "xlsb", "xls", "ods", "csv", "tsv", "txt"];

pub fn is_spreadsheet(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .is_some_and(|e| SPREADSHEET_EXTENSIONS.contains(&e.as_str()))
}

#[derive(Debug)]
pub struct OpenFile {
    pub dir: PathBuf,
    /// `None` while the folder is read.
    pub entries: Option<Vec<Entry>>,
    pub error: Option<String>,
    pub filter: String,
    pub window: Window,
    /// A file whose sheets are being listed.
    pub opening: Option<PathBuf>,
    /// What the file will hold, when an operation chose it first (mark paid, ...);
    /// `None`: the Preview asks, pre-selected from the headers.
    pub kind: Option<Kind>,
}

impl OpenFile {
    pub fn new(dir: PathBuf, out: &mut Out) -> OpenFile {
        out.effect(Effect::ListDir(dir.clone()));
        OpenFile {
            dir,
            entries: None,
            error: None,
            filter: String::new(),
            window: Window::default(),
            opening: None,
            kind: None,
        }
    }

    /// The browser for a sheet of `kind` (an operation of the Operations screen).
    pub fn for_kind(dir: PathBuf, kind: Kind, out: &mut Out) -> OpenFile {
        OpenFile {
            kind: Some(kind),
            ..OpenFile::new(dir, out)
        }
    }

    /// The entries shown: `..` first (unless at the root), then those matching the
    /// filter.
    pub fn shown(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        if self.dir.parent().is_some() && self.filter.is_empty() {
            out.push(Entry {
                name: "..".into(),
                dir: true,
                size: 0,
            });
        }
        let needle = self.filter.to_lowercase();
        if let Some(entries) = &self.entries {
            out.extend(
                entries
                    .iter()
                    .filter(|e| needle.is_empty() || e.name.to_lowercase().contains(&needle))
                    .cloned(),
            );
        }
        out
    }

    pub fn listed(&mut self, path: PathBuf, result: Result<Vec<Entry>, String>) {
        if path != self.dir {
            return;
        }
        match result {
            Ok(entries) => {
                self.entries = Some(entries);
                self.error = None;
            }
            Err(e) => {
                self.entries = Some(Vec::new());
                self.error = Some(e);
            }
        }
    }

    pub fn typed(&mut self, c: char, _out: &mut Out) {
        self.filter.push(c);
        self.window.selected = 0;
        // With a filter, jump to the first match that is not the parent entry.
    }

    fn enter_dir(&mut self, dir: PathBuf, out: &mut Out) {
        self.dir = dir;
        self.entries = None;
        self.error = None;
        self.filter.clear();
        self.window = Window::default();
        out.effect(Effect::ListDir(self.dir.clone()));
    }

    pub fn action(&mut self, action: Action, out: &mut Out) {
        let shown = self.shown();
        match action {
            Action::Accept => {
                let Some(entry) = shown.get(self.window.selected) else {
                    return;
                };
                if entry.name == ".." {
                    if let Some(parent) = self.dir.parent() {
                        let parent = parent.to_path_buf();
                        self.enter_dir(parent, out);
                    }
                } else if entry.dir {
                    let dir = self.dir.join(&entry.name);
                    self.enter_dir(dir, out);
                } else {
                    let path = self.dir.join(&entry.name);
                    self.opening = Some(path.clone());
                    out.effect(Effect::ListSheets(path));
                }
            }
            Action::ParentDir => {
                if self.filter.pop().is_some() {
                    self.window.selected = 0;
                } else if let Some(parent) = self.dir.parent() {
                    let parent = parent.to_path_buf();
                    self.enter_dir(parent, out);
                }
            }
            Action::Back => out.go(Nav::Pop),
            a => {
                self.window.apply(a, shown.len());
            }
        }
    }

    /// The sheets of the file being opened: one (or a CSV) opens at once, several ask.
    pub fn sheets(&mut self, path: PathBuf, result: Result<Vec<SheetInfo>, String>, out: &mut Out) {
        if self.opening.as_ref() != Some(&path) {
            return;
        }
        self.opening = None;
        match result {
            Err(e) => out.message("Cannot open the file", vec![e]),
            Ok(sheets) if sheets.len() > 1 => {
                // Visible sheets first: the importer's own default is the first visible
                // non-empty one.
                let mut ordered: Vec<&SheetInfo> = sheets.iter().filter(|s| !s.hidden).collect();
                ordered.extend(sheets.iter().filter(|s| s.hidden));
                out.modal = Some(Modal::Picker(Picker {
                    title: "Which sheet?".into(),
                    items: ordered
                        .iter()
                        .map(|s| {
                            if s.hidden {
                                format!("{} (hidden)", s.name)
                            } else {
                                s.name.clone()
                            }
                        })
                        .collect(),
                    window: Window::default(),
                    purpose: PickFor::Sheet {
                        path,
                        names: ordered.iter().map(|s| s.name.clone()).collect(),
                    },
                }));
            }
            Ok(sheets) => {
                let sheet = sheets.first().map(|s| s.name.clone());
                let screen = Preview::open(path, self.kind, sheet, 0);
                out.effect(screen.load_effect());
                out.go(Nav::Push(Screen::Preview(Box::new(screen))));
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, view: &View<'_>) {
        let theme = view.theme;
        let [head, list] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
        let folder = match self.kind {
            Some(kind) => format!("Folder  {}   (a sheet of {kind})", self.dir.display()),
            None => format!("Folder  {}", self.dir.display()),
        };
        let mut lines = vec![
            Line::raw(folder),
            Line::from(vec![
                Span::raw("Filter  "),
                Span::styled(self.filter.clone(), theme.key),
                Span::styled("_", theme.dim),
                Span::styled(
                    "   (type to filter; folders and spreadsheets only)",
                    theme.dim,
                ),
            ]),
        ];
        if let Some(e) = &self.error {
            lines.push(Line::styled(format!("⚠ {e}"), theme.bad));
        } else if let Some(p) = &self.opening {
            lines.push(Line::raw(format!(
                "opening {}…",
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            )));
        }
        frame.render_widget(Paragraph::new(lines), head);
        let shown = self.shown();
        let block = Block::default().borders(Borders::TOP);
        if self.entries.is_none() {
            frame.render_widget(Paragraph::new("reading the folder…").block(block), list);
            return;
        }
        if shown.is_empty() {
            frame.render_widget(
                Paragraph::new("nothing here matches (Backspace removes a filter letter)")
                    .block(block),
                list,
            );
            return;
        }
        widgets::vtable::render(
            frame,
            list,
            block,
            None,
            &[Constraint::Min(30), Constraint::Length(12)],
            &mut self.window,
            shown.len(),
            theme.selected,
            |i| {
                let Some(e) = shown.get(i) else {
                    return Row::new(Vec::<String>::new());
                };
                if e.dir {
                    Row::new(vec![format!("▸ {}/", e.name), String::new()])
                } else {
                    Row::new(vec![format!("  {}", e.name), human_size(e.size)])
                }
            },
        );
    }
}

fn human_size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheets_by_extension() {
        assert!(is_spreadsheet("orders.XLSX"));
        assert!(is_spreadsheet("a.csv"));
        assert!(!is_spreadsheet("notes.docx"));
        assert!(!is_spreadsheet("README"));
    }
}
