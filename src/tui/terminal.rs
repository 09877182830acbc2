//! The terminal as the console holds it: raw mode, the alternate screen and a hidden
//! cursor while it runs, and given back exactly once however the console ends (quit,
//! Ctrl-C, an error, a panic, SIGTERM or a hang-up). Restoring twice garbles some
//! terminals (bevy_ratatui #107), so [`restore`] is guarded by one flag; the panic hook
//! restores before the previous hook prints, so the message lands on the normal screen.
//!
//! Frames are drawn inside a synchronized update, so a slow SSH link shows whole frames,
//! and `Terminal::clear` is never called: in ratatui 0.30.2 it sends a cursor-position
//! query whose answer races the event stream (CONSOLE.md, "cursor-query trap").

use crossterm::cursor::{Hide, Show};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// True while this process has the terminal in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal set-up; dropping it restores the terminal.
pub struct Guard {
    _private: (),
}

impl Guard {
    /// Raw mode, alternate screen, hidden cursor, and the panic hook (installed once per
    /// process). On failure whatever was set up is undone.
    pub fn init() -> std::io::Result<(Guard, Term)> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = Guard { _private: () };
        let mut out = std::io::stdout();
        execute!(out, EnterAlternateScreen, Hide)?;
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok((guard, terminal))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back (cooked mode, normal screen, visible cursor). Safe to call
/// any number of times from anywhere; only the first call after [`Guard::init`] writes.
/// Errors are ignored: after a hang-up the terminal is gone and there is nobody to tell.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = execute!(out, EndSynchronizedUpdate, LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// True while the terminal is held.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            tracing::error!("panic: {info}");
            previous(info);
        }));
    });
}

/// Draws one frame inside a synchronized update.
pub fn draw(
    terminal: &mut Term,
    render: impl FnOnce(&mut ratatui::Frame<'_>),
) -> std::io::Result<()> {
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(render)?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
