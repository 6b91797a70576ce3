//! Terminal setup and restore. Restoring happens on every way out: a normal quit or an error
//! (the guard's `Drop`), and a panic (the hook restores before the report is printed).

use std::io::{self, stdout, Stdout};

use color_eyre::eyre::Result;
use std::io::Write as _;

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};

use crate::app::notify::{title, POP_TITLE, PUSH_TITLE};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal the UI draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct TermGuard;

impl Drop for TermGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

/// Raw mode, alternate screen, bracketed paste, focus events, the title saved (the client
/// writes its unread count there), mouse if asked. Terminals that know the
/// keyboard protocol also report Shift-Enter; the others ignore the request.
pub fn setup(mouse: bool) -> Result<(Term, TermGuard)> {
    enable_raw_mode()?;
    let guard = TermGuard;
    let mut out = stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableFocusChange
    )?;
    out.write_all(PUSH_TITLE.as_bytes())?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let flags = KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES;
    let _ = execute!(out, PushKeyboardEnhancementFlags(flags));
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.clear()?;
    Ok((terminal, guard))
}

/// Undo [`setup`]. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    let mut out = stdout();
    let _ = execute!(out, PopKeyboardEnhancementFlags);
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange
    );
    // A terminal without a title stack keeps "hubbub" rather than a stale count.
    let _ = write!(out, "{}{POP_TITLE}", title(0));
    execute!(out, LeaveAlternateScreen, crossterm::cursor::Show)?;
    disable_raw_mode()
}

/// color-eyre's report hooks, with a panic hook that restores the terminal first so the
/// report is readable and the shell usable.
pub fn install_hooks() -> Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        panic_hook(info);
    }));
    Ok(())
}
