//! What each key does; the keys as people read them are in `bindings.rs`. Typing always
//! types: a key that can be text goes to the input line whatever pane has focus, so the
//! panes and every action answer only to keys that cannot be text (arrows, Ctrl-, Alt-,
//! F-keys, Insert) or to slash commands.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::compose::PathPrompt;
use super::{App, Effect, Focus};

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

fn alt(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::ALT)
}

fn shift(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::SHIFT)
}

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let key = self.keys.translate(key);
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        if self.confirm_quit {
            self.confirm_key(&key);
            return Vec::new();
        }
        if !matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            self.completion = None;
        }
        if ctrl(&key, 'c') {
            self.request_quit();
            return Vec::new();
        }
        if ctrl(&key, 'l') {
            return vec![Effect::RedrawAll];
        }
        if self.help {
            self.help_key(&key);
            return Vec::new();
        }
        if self.compose.prompt.is_some() {
            return self.prompt_key(key);
        }
        if self.peers.filtering {
            self.filter_key(key);
            return Vec::new();
        }
        if self.conversation_key(&key) {
            return Vec::new();
        }
        if let Some(effects) = self.global_key(&key) {
            return effects;
        }
        let taken = match self.focus {
            Focus::Peers => self.peers_key(&key),
            Focus::Inbox => self.inbox_key(&key),
            Focus::Compose => self.compose_nav_key(&key),
        };
        if taken {
            return Vec::new();
        }
        self.input_key(key)
    }

    /// Quit now, or ask first when quitting would lose a draft or an attached file.
    pub(super) fn request_quit(&mut self) {
        if self.compose.has_draft() {
            self.confirm_quit = true;
        } else {
            self.quit = true;
        }
    }

    /// The answer to "quit and lose the draft?": Ctrl-C again or `y` quits, anything else
    /// keeps the draft (and is not typed, so a key meant as text cannot quit).
    fn confirm_key(&mut self, key: &KeyEvent) {
        self.confirm_quit = false;
        if ctrl(key, 'c') || (matches!(key.code, KeyCode::Char('y' | 'Y')) && !alt(key)) {
            self.quit = true;
        } else {
            self.tell("not quitting; the draft is kept", false);
        }
    }

    /// Keys that mean the same in every pane; `None` when `key` is not one.
    fn global_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let (w, h) = self.inbox_dims();
        match key.code {
            KeyCode::Tab => return Some(self.complete(true)),
            KeyCode::BackTab => return Some(self.complete(false)),
            KeyCode::Enter if !alt(key) && !shift(key) => return Some(self.submit()),
            KeyCode::F(6) => self.focus = self.cycle(!shift(key)),
            KeyCode::Right if alt(key) => self.focus = self.cycle(true),
            KeyCode::Left if alt(key) => self.focus = self.cycle(false),
            KeyCode::F(1) => self.open_help(),
            KeyCode::F(2) => self.toggle_panes(),
            KeyCode::F(3) => self.search_step(!shift(key)),
            KeyCode::Esc => self.focus = Focus::Compose,
            KeyCode::PageUp if self.focus != Focus::Peers => {
                self.inbox.scroll_up(h.saturating_sub(1).max(1), w, h)
            }
            KeyCode::PageDown if self.focus != Focus::Peers => {
                self.inbox.scroll_down(h.saturating_sub(1).max(1), w)
            }
            _ if ctrl(key, 'o') => self.compose.prompt = Some(PathPrompt::default()),
            _ if ctrl(key, 'f') => {
                self.show_panes();
                self.focus = Focus::Peers;
                self.peers.filtering = true;
            }
            _ if ctrl(key, 'x') => {
                if let Some(att) = self.compose.attachment.take() {
                    self.tell(format!("dropped {}", att.name), false);
                }
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    /// The pane after (or before) the focused one: peers, inbox, compose, as on screen;
    /// the peer list only while it is shown.
    fn cycle(&self, forward: bool) -> Focus {
        let step = |focus| match (focus, forward) {
            (Focus::Peers, true) | (Focus::Compose, false) => Focus::Inbox,
            (Focus::Inbox, true) | (Focus::Peers, false) => Focus::Compose,
            (Focus::Compose, true) | (Focus::Inbox, false) => Focus::Peers,
        };
        match step(self.focus) {
            Focus::Peers if !self.panes_shown(self.size.0) => step(Focus::Peers),
            next => next,
        }
    }

    pub(super) fn open_help(&mut self) {
        self.help = true;
        self.help_scroll = 0;
    }

    /// Scroll keys scroll the help; any other key closes it.
    fn help_key(&mut self, key: &KeyEvent) {
        let max = crate::render::help::max_scroll(self.size, &self.keys);
        let page = crate::render::help::page(self.size, &self.keys).max(1);
        let s = &mut self.help_scroll;
        match key.code {
            KeyCode::Up => *s = s.saturating_sub(1),
            KeyCode::Down => *s = (*s + 1).min(max),
            KeyCode::PageUp => *s = s.saturating_sub(page),
            KeyCode::PageDown => *s = (*s + page).min(max),
            KeyCode::Home => *s = 0,
            KeyCode::End => *s = max,
            _ => self.help = false,
        }
    }

    /// Keys of the peer list; whether `key` was one.
    fn peers_key(&mut self, key: &KeyEvent) -> bool {
        let page = i32::from(self.areas().peers_list.height.max(2)) as isize - 1;
        match key.code {
            KeyCode::Up => self.peers.move_cursor(-1),
            KeyCode::Down => self.peers.move_cursor(1),
            KeyCode::PageUp => self.peers.move_cursor(-page),
            KeyCode::PageDown => self.peers.move_cursor(page),
            KeyCode::Home => self.peers.cursor_to_end(false),
            KeyCode::End => self.peers.cursor_to_end(true),
            KeyCode::Insert => self.toggle_peer(),
            KeyCode::Char(' ') if ctrl(key, ' ') => self.toggle_peer(),
            KeyCode::Char('a' | 'A') if alt(key) => self.select_all(),
            KeyCode::Char('u' | 'U') if alt(key) => self.peers.clear_selection(),
            _ => return false,
        }
        true
    }

    fn select_all(&mut self) {
        let max = self.limits.max_receivers;
        let left_out = self.peers.select_all(usize::from(max));
        if left_out > 0 {
            self.tell(
                format!("at most {max} receivers: {left_out} shown peers left out"),
                true,
            );
        }
    }

    pub(super) fn toggle_peer(&mut self) {
        use super::peers::Selected;
        let max = usize::from(self.limits.max_receivers);
        if let (Some(id), Selected::Full) = self.peers.toggle(max) {
            self.tell(
                format!("cannot select #{id}: at most {max} receivers per message"),
                true,
            );
        }
    }

    /// The filter takes text: it was opened with Ctrl-F, on purpose.
    fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => self.peers.filter_clear(),
            KeyCode::Enter => self.peers.filtering = false,
            KeyCode::Backspace => self.peers.filter_pop(),
            KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL) && !alt(&key) => {
                self.peers.filter_push(c)
            }
            _ => {
                self.peers.filtering = false;
                self.focus = Focus::Peers;
                self.peers_key(&key);
            }
        }
    }

    /// Keys of the inbox; whether `key` was one.
    fn inbox_key(&mut self, key: &KeyEvent) -> bool {
        let (w, h) = self.inbox_dims();
        match key.code {
            KeyCode::Up => self.inbox.scroll_up(1, w, h),
            KeyCode::Down => self.inbox.scroll_down(1, w),
            KeyCode::Home => self.inbox.to_top(w, h),
            KeyCode::End => self.inbox.to_bottom(),
            _ => return false,
        }
        true
    }

    fn prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(prompt) = &mut self.compose.prompt else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.compose.prompt = None,
            KeyCode::Tab => return vec![Effect::CompletePath(prompt.input.clone())],
            KeyCode::Enter if prompt.input.trim().is_empty() => {
                self.tell("type a path first", true)
            }
            KeyCode::Enter => {
                let path = crate::files::expand_home(prompt.input.trim());
                return vec![Effect::LoadFile {
                    path,
                    max: u64::from(self.limits.max_body),
                }];
            }
            KeyCode::Backspace => {
                prompt.input.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                prompt.input.clear()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                prompt.input.push(c)
            }
            _ => {}
        }
        Vec::new()
    }
}

mod compose;
mod conv;

#[cfg(test)]
mod tests;
