//! Colours and emphasis of the console. Two themes: `color` and `mono`. Mono sets no
//! colour at all (every fg/bg is `Color::Reset`) and carries meaning by modifiers and
//! glyphs only, because crossterm 0.29 turns a suppressed colour under `NO_COLOR` into a
//! bare `CSI m`, which also wipes the REVERSED of a highlight (see CONSOLE.md). Meaning
//! never rests on colour alone in either theme: an invalid cell has a glyph and REVERSED.

use ratatui::style::{Color, Modifier, Style};

/// Which theme to use: `--color` wins, then `NO_COLOR` (no-color.org: any non-empty
/// value), then colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub mono: bool,
    /// Title bar and status bar.
    pub bar: Style,
    /// Key names in the key bar and help.
    pub key: Style,
    /// The selected row of a list or table.
    pub selected: Style,
    /// An invalid cell (with [`INVALID_GLYPH`]).
    pub invalid: Style,
    /// A cell with a warning (with [`WARNING_GLYPH`]).
    pub warning: Style,
    /// Good news (created, completed).
    pub good: Style,
    /// Bad news (rejected, failed, errors).
    pub bad: Style,
    /// Something that needs attention (resume banner, paused).
    pub attention: Style,
    /// Secondary text.
    pub dim: Style,
    /// Table headers.
    pub header: Style,
    /// Gauge filled part.
    pub gauge: Style,
}

/// Marks an invalid cell, so it shows without colour and in text snapshots.
pub const INVALID_GLYPH: char = '!';
/// Marks a cell with a warning.
pub const WARNING_GLYPH: char = '~';

impl Theme {
    pub fn color() -> Theme {
        Theme {
            mono: false,
            bar: Style::new().fg(Color::Black).bg(Color::Cyan),
            key: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            invalid: Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD),
            warning: Style::new()
                .fg(Color::Yellow)
                .add_modifier(Modifier::UNDERLINED),
            good: Style::new().fg(Color::Green),
            bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            attention: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            dim: Style::new().fg(Color::DarkGray),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            gauge: Style::new().fg(Color::Green),
        }
    }

    pub fn mono() -> Theme {
        Theme {
            mono: true,
            bar: Style::new().add_modifier(Modifier::REVERSED),
            key: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            invalid: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            warning: Style::new().add_modifier(Modifier::UNDERLINED),
            good: Style::new(),
            bad: Style::new().add_modifier(Modifier::BOLD),
            attention: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new(),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            gauge: Style::new().add_modifier(Modifier::BOLD),
        }
    }

    /// The theme for `choice` with `NO_COLOR` as given (the environment value).
    pub fn choose(choice: ColorChoice, no_color: Option<&std::ffi::OsStr>) -> Theme {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        match choice {
            ColorChoice::Always => Theme::color(),
            ColorChoice::Never => Theme::mono(),
            ColorChoice::Auto if no_color => Theme::mono(),
            ColorChoice::Auto => Theme::color(),
        }
    }

    /// [`Theme::choose`] with this process's `NO_COLOR`.
    pub fn from_env(choice: ColorChoice) -> Theme {
        Theme::choose(choice, std::env::var_os("NO_COLOR").as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_selects_mono_unless_overridden() {
        assert!(Theme::choose(ColorChoice::Auto, Some(OsStr::new("1"))).mono);
        assert!(!Theme::choose(ColorChoice::Auto, Some(OsStr::new(""))).mono);
        assert!(!Theme::choose(ColorChoice::Auto, None).mono);
        assert!(!Theme::choose(ColorChoice::Always, Some(OsStr::new("1"))).mono);
        assert!(Theme::choose(ColorChoice::Never, None).mono);
    }

    #[test]
    fn mono_sets_no_colour_and_keeps_meaning_in_modifiers() {
        let m = Theme::mono();
        for s in [
            m.bar,
            m.key,
            m.selected,
            m.invalid,
            m.warning,
            m.good,
            m.bad,
            m.attention,
            m.dim,
            m.header,
            m.gauge,
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(m.invalid.add_modifier.contains(Modifier::REVERSED));
        assert!(
            Theme::color()
                .invalid
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }
}
