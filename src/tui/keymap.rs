//! The console's keys as data: one table of (layer, key, action, label, description).
//! Key handling, the key bar at the bottom of every screen and the `?` help overlay are
//! all generated from it, so the help can never drift from what the keys do (the gitui
//! and yazi pattern, see CONSOLE.md). Every action has a plain letter, arrow or Enter/Esc
//! binding: F-keys and Ctrl combinations are unreliable over SSH from an office PC.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where keys are routed: a screen, or a popup over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Home,
    OpenFile,
    Preview,
    Confirm,
    Progress,
    Runs,
    RunItems,
    /// Bulk order operations: mark paid, mark blocked, refund.
    Operations,
    /// A status refresh of a run's orders, with its tally.
    Status,
    /// The paid-orders report: range, fetch, preview, export.
    Report,
    /// A list popup (sheet or kind choice).
    Picker,
    /// A yes/no question (cancel the run, quit during a run).
    Ask,
    /// A line of text being typed (search, password).
    Input,
    /// A message that only needs to be read.
    Message,
    Help,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Accept,
    OpenFile,
    ShowRuns,
    Resume,
    ParentDir,
    CycleView,
    NextError,
    PrevError,
    Search,
    Reload,
    Submit,
    ChooseKind,
    Yes,
    No,
    Pause,
    Cancel,
    Filter,
    RetryFailed,
    /// The Operations screen.
    Operations,
    /// The paid-orders Report screen.
    PaidReport,
    /// Look a run's orders up at PayPro.
    StatusRefresh,
    /// Write a run's results workbook.
    ExportResults,
    /// The report's first day.
    EditFrom,
    /// The report's last day.
    EditTo,
    /// Fetch the report.
    Fetch,
    /// Write the report's workbook.
    Export,
}

/// A key as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
}

impl Key {
    pub fn label(self) -> String {
        match self {
            Key::Char(c) => c.to_string(),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Backspace => "Bksp".into(),
        }
    }

    fn matches(self, ev: &KeyEvent) -> bool {
        match (self, ev.code) {
            (Key::Char(a), KeyCode::Char(b)) => {
                a == b
                    && !ev
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            }
            (Key::Enter, KeyCode::Enter)
            | (Key::Esc, KeyCode::Esc)
            | (Key::Up, KeyCode::Up)
            | (Key::Down, KeyCode::Down)
            | (Key::Left, KeyCode::Left)
            | (Key::Right, KeyCode::Right)
            | (Key::PageUp, KeyCode::PageUp)
            | (Key::PageDown, KeyCode::PageDown)
            | (Key::Home, KeyCode::Home)
            | (Key::End, KeyCode::End)
            | (Key::Backspace, KeyCode::Backspace) => true,
            _ => false,
        }
    }
}

/// One binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub layer: Layer,
    pub key: Key,
    pub action: Action,
    /// Short label for the key bar; empty keeps the binding out of the bar.
    pub bar: &'static str,
    /// One line for the help overlay.
    pub help: &'static str,
}

const fn b(
    layer: Layer,
    key: Key,
    action: Action,
    bar: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        layer,
        key,
        action,
        bar,
        help,
    }
}

use Action as A;
use Key as K;
use Layer as L;

/// Movement keys shared by every list and table.
macro_rules! moves {
    ($layer:expr) => {
        [
            b($layer, K::Up, A::Up, "", "move up"),
            b($layer, K::Down, A::Down, "", "move down"),
            b($layer, K::PageUp, A::PageUp, "", "one page up"),
            b($layer, K::PageDown, A::PageDown, "", "one page down"),
            b($layer, K::Home, A::Top, "", "first row"),
            b($layer, K::End, A::Bottom, "", "last row"),
        ]
    };
}

/// The whole key map, in the order the help shows it.
pub fn bindings() -> Vec<Binding> {
    let mut v = vec![
        b(
            L::Home,
            K::Char('o'),
            A::OpenFile,
            "open file",
            "open a spreadsheet to check and send",
        ),
        b(
            L::Home,
            K::Char('r'),
            A::ShowRuns,
            "runs",
            "every run in the journal",
        ),
        b(
            L::Home,
            K::Char('R'),
            A::Resume,
            "resume",
            "resume the interrupted run named in the banner",
        ),
        b(
            L::Home,
            K::Char('m'),
            A::Operations,
            "operations",
            "mark paid, mark blocked or refund orders from a spreadsheet",
        ),
        b(
            L::Home,
            K::Char('p'),
            A::PaidReport,
            "paid report",
            "orders paid in a date range: fetch, preview, export to xlsx",
        ),
        b(
            L::Home,
            K::Char('q'),
            A::Quit,
            "quit",
            "quit (asks while a run is going)",
        ),
        b(
            L::OpenFile,
            K::Enter,
            A::Accept,
            "open",
            "enter the folder or open the file",
        ),
        b(
            L::OpenFile,
            K::Backspace,
            A::ParentDir,
            "",
            "delete a filter letter; with no filter, the parent folder",
        ),
        b(
            L::OpenFile,
            K::Left,
            A::ParentDir,
            "parent",
            "the parent folder",
        ),
        b(
            L::OpenFile,
            K::Esc,
            A::Back,
            "back",
            "back without opening (typing filters the list)",
        ),
        b(
            L::Preview,
            K::Char('e'),
            A::CycleView,
            "all/invalid/warn",
            "show all rows, invalid rows only, rows with warnings",
        ),
        b(
            L::Preview,
            K::Char('n'),
            A::NextError,
            "next err",
            "next invalid row",
        ),
        b(
            L::Preview,
            K::Char('N'),
            A::PrevError,
            "",
            "previous invalid row",
        ),
        b(
            L::Preview,
            K::Char('/'),
            A::Search,
            "search",
            "show only rows containing a text (empty: all)",
        ),
        b(
            L::Preview,
            K::Char('r'),
            A::Reload,
            "reload",
            "read the file again after fixing it in Excel (keeps the row)",
        ),
        b(
            L::Preview,
            K::Char('s'),
            A::Submit,
            "submit",
            "check what will be sent, then ask before sending",
        ),
        b(
            L::Preview,
            K::Char('k'),
            A::ChooseKind,
            "",
            "choose what the sheet holds (orders, consumers, ...)",
        ),
        b(L::Preview, K::Left, A::Left, "", "scroll the columns left"),
        b(
            L::Preview,
            K::Right,
            A::Right,
            "",
            "scroll the columns right",
        ),
        b(L::Preview, K::Esc, A::Back, "back", "back to Home"),
        b(
            L::Confirm,
            K::Char('y'),
            A::Yes,
            "send",
            "start sending: nothing is sent without it",
        ),
        b(
            L::Confirm,
            K::Char('n'),
            A::No,
            "don't",
            "do not send; back to the preview",
        ),
        b(
            L::Confirm,
            K::Esc,
            A::No,
            "",
            "do not send; back to the preview",
        ),
        b(
            L::Progress,
            K::Char('p'),
            A::Pause,
            "pause/continue",
            "stop sending new batches / carry on",
        ),
        b(
            L::Progress,
            K::Char('c'),
            A::Cancel,
            "cancel",
            "cancel the run (asks; batches in flight finish and are journaled)",
        ),
        b(
            L::Progress,
            K::Char('r'),
            A::ShowRuns,
            "runs",
            "every run in the journal",
        ),
        b(
            L::Progress,
            K::Esc,
            A::Back,
            "home",
            "back to Home; the run goes on",
        ),
        b(L::Runs, K::Enter, A::Accept, "open", "the run's rows"),
        b(
            L::Runs,
            K::Char('R'),
            A::Resume,
            "resume",
            "finish the selected interrupted run",
        ),
        b(
            L::Runs,
            K::Char('t'),
            A::RetryFailed,
            "retry failed",
            "send the selected run's failed rows again",
        ),
        b(
            L::Runs,
            K::Char('s'),
            A::StatusRefresh,
            "status",
            "look the selected orders run's orders up at PayPro (unpaid, paid, blocked, ...)",
        ),
        b(
            L::Runs,
            K::Char('x'),
            A::ExportResults,
            "export",
            "write the selected run's results workbook into the start folder",
        ),
        b(L::Runs, K::Esc, A::Back, "back", "back"),
        b(
            L::RunItems,
            K::Char('f'),
            A::Filter,
            "filter",
            "cycle the state shown (all, created, failed, ...)",
        ),
        b(
            L::RunItems,
            K::Char('/'),
            A::Search,
            "search",
            "rows whose key or message contains a text",
        ),
        b(
            L::RunItems,
            K::Char('R'),
            A::Resume,
            "resume",
            "finish this run if it was interrupted",
        ),
        b(
            L::RunItems,
            K::Char('t'),
            A::RetryFailed,
            "retry failed",
            "send this run's failed rows again",
        ),
        b(
            L::RunItems,
            K::Char('x'),
            A::ExportResults,
            "export",
            "write this run's results workbook into the start folder",
        ),
        b(L::RunItems, K::Esc, A::Back, "back", "back to the runs"),
        b(
            L::Operations,
            K::Enter,
            A::Accept,
            "choose",
            "choose the operation, then the spreadsheet",
        ),
        b(L::Operations, K::Esc, A::Back, "back", "back to Home"),
        b(
            L::Status,
            K::Char('s'),
            A::StatusRefresh,
            "again",
            "look the orders up again",
        ),
        b(L::Status, K::Esc, A::Back, "back", "back to the runs"),
        b(
            L::Report,
            K::Char('f'),
            A::EditFrom,
            "from",
            "type the first day paid",
        ),
        b(
            L::Report,
            K::Char('t'),
            A::EditTo,
            "to",
            "type the last day paid",
        ),
        b(
            L::Report,
            K::Enter,
            A::Fetch,
            "fetch",
            "fetch the paid orders of the range from PayPro",
        ),
        b(
            L::Report,
            K::Char('x'),
            A::Export,
            "export",
            "write the report's workbook into the start folder",
        ),
        b(L::Report, K::Esc, A::Back, "back", "back to Home"),
        b(
            L::Picker,
            K::Enter,
            A::Accept,
            "choose",
            "take the highlighted entry",
        ),
        b(
            L::Picker,
            K::Esc,
            A::Back,
            "cancel",
            "close without choosing",
        ),
        b(L::Ask, K::Char('y'), A::Yes, "yes", "yes"),
        b(L::Ask, K::Char('n'), A::No, "no", "no"),
        b(L::Ask, K::Esc, A::No, "", "no"),
        b(L::Input, K::Enter, A::Accept, "done", "use what was typed"),
        b(L::Input, K::Esc, A::Back, "cancel", "leave it as it was"),
        b(L::Message, K::Enter, A::Back, "close", "close the message"),
        b(L::Message, K::Esc, A::Back, "", "close the message"),
        b(L::Help, K::Esc, A::Back, "close", "close the help"),
        b(L::Help, K::Char('?'), A::Back, "", "close the help"),
    ];
    for layer in [
        L::Home,
        L::OpenFile,
        L::Preview,
        L::Runs,
        L::RunItems,
        L::Operations,
        L::Report,
        L::Picker,
        L::Help,
    ] {
        v.extend(moves!(layer));
    }
    for layer in [
        L::Preview,
        L::Confirm,
        L::Progress,
        L::Runs,
        L::RunItems,
        L::Operations,
        L::Status,
        L::Report,
    ] {
        v.push(b(
            layer,
            K::Char('q'),
            A::Quit,
            "",
            "quit (asks while a run is going)",
        ));
    }
    v
}

/// Layers where letters are text (typed into a filter or a field), not commands.
pub fn takes_text(layer: Layer) -> bool {
    matches!(layer, Layer::OpenFile | Layer::Input)
}

/// Layers whose `?` opens the help (not where `?` is text).
fn has_help(layer: Layer) -> bool {
    !takes_text(layer) && layer != Layer::Help
}

/// The action `ev` stands for in `layer`, if any. Only presses count (Windows also
/// reports releases). `?` opens the help wherever it is not text.
pub fn action_for(layer: Layer, ev: &KeyEvent) -> Option<Action> {
    if ev.kind != KeyEventKind::Press {
        return None;
    }
    if has_help(layer) && Key::Char('?').matches(ev) {
        return Some(Action::Help);
    }
    bindings()
        .into_iter()
        .find(|b| b.layer == layer && b.key.matches(ev))
        .map(|b| b.action)
}

/// True for Ctrl-C (raw mode delivers it as a key, not as SIGINT).
pub fn is_interrupt(ev: &KeyEvent) -> bool {
    ev.kind == KeyEventKind::Press
        && ev.code == KeyCode::Char('c')
        && ev.modifiers.contains(KeyModifiers::CONTROL)
}

/// The key bar entries of `layer`: (keys, label), bindings sharing a label merged
/// (`n/N`), then `? help`.
pub fn bar(layer: Layer) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in bindings()
        .into_iter()
        .filter(|b| b.layer == layer && !b.bar.is_empty())
    {
        match out.iter_mut().find(|(_, label)| *label == b.bar) {
            Some((keys, _)) => {
                keys.push('/');
                keys.push_str(&b.key.label());
            }
            None => out.push((b.key.label(), b.bar)),
        }
    }
    if has_help(layer) {
        out.push(("?".into(), "help"));
    }
    out
}

/// The help lines of `layer`: (keys, description), bindings with the same description
/// merged.
pub fn help(layer: Layer) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in bindings().into_iter().filter(|b| b.layer == layer) {
        match out.iter_mut().find(|(_, d)| *d == b.help) {
            Some((keys, _)) => {
                keys.push_str(", ");
                keys.push_str(&b.key.label());
            }
            None => out.push((b.key.label(), b.help)),
        }
    }
    if has_help(layer) {
        out.push(("?".into(), "this help"));
    }
    out.push(("Ctrl-C".into(), "quit (asks while a run is going)"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn no_key_is_bound_twice_in_a_layer() {
        let mut seen = HashSet::new();
        for b in bindings() {
            assert!(
                seen.insert((b.layer, format!("{:?}", b.key))),
                "{:?} {:?} bound twice",
                b.layer,
                b.key
            );
        }
    }

    #[test]
    fn keys_resolve_per_layer_and_only_on_press() {
        assert_eq!(
            action_for(Layer::Home, &press(KeyCode::Char('o'))),
            Some(Action::OpenFile)
        );
        assert_eq!(
            action_for(Layer::Preview, &press(KeyCode::Char('r'))),
            Some(Action::Reload)
        );
        assert_eq!(
            action_for(Layer::Home, &press(KeyCode::Char('r'))),
            Some(Action::ShowRuns)
        );
        assert_eq!(
            action_for(Layer::Preview, &press(KeyCode::Char('?'))),
            Some(Action::Help)
        );
        // In the file browser letters filter; `?` too.
        assert_eq!(
            action_for(Layer::OpenFile, &press(KeyCode::Char('?'))),
            None
        );
        assert_eq!(
            action_for(Layer::OpenFile, &press(KeyCode::Char('q'))),
            None
        );
        let mut release = press(KeyCode::Char('o'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(Layer::Home, &release), None);
        let ctrl_o = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Layer::Home, &ctrl_o), None);
        assert!(is_interrupt(&KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        )));
    }

    #[test]
    fn bar_and_help_come_from_the_table() {
        let bar = bar(Layer::Preview);
        assert!(bar.contains(&("n".to_string(), "next err")));
        assert!(bar.contains(&("s".to_string(), "submit")));
        assert_eq!(bar.last(), Some(&("?".to_string(), "help")));
        let help = help(Layer::Confirm);
        assert!(
            help.iter()
                .any(|(k, d)| k == "n, Esc" && d.starts_with("do not send"))
        );
        // Every binding of a layer shows in its help.
        for layer in [
            Layer::Home,
            Layer::Preview,
            Layer::Progress,
            Layer::RunItems,
            Layer::Runs,
            Layer::Operations,
            Layer::Status,
            Layer::Report,
        ] {
            let text: String = help_text(layer);
            for b in bindings().into_iter().filter(|b| b.layer == layer) {
                assert!(text.contains(b.help), "{layer:?}: {}", b.help);
            }
        }
    }

    fn help_text(layer: Layer) -> String {
        help(layer)
            .into_iter()
            .map(|(k, d)| format!("{k} {d}\n"))
            .collect()
    }
}
