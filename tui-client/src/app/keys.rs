//! What each key does in each pane; the keys as people read them are in `bindings.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::compose::PathPrompt;
use super::{App, Effect, Focus};

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        if ctrl(&key, 'c') {
            self.quit = true;
            return Vec::new();
        }
        if ctrl(&key, 'l') {
            return vec![Effect::RedrawAll];
        }
        if self.help {
            // Any key closes help; q still quits.
            self.help = false;
            self.quit = key.code == KeyCode::Char('q');
            return Vec::new();
        }
        if self.compose.prompt.is_some() {
            return self.prompt_key(key);
        }
        if self.peers.filtering {
            self.filter_key(key);
            return Vec::new();
        }
        if let Some(effects) = self.global_key(&key) {
            return effects;
        }
        match self.focus {
            Focus::Peers => self.peers_key(key),
            Focus::Compose => return self.compose_key(key),
            Focus::Inbox => self.inbox_key(key),
        }
        Vec::new()
    }

    /// Keys that mean the same in every pane; `None` when `key` is not one.
    fn global_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let (w, h) = self.inbox_dims();
        match key.code {
            KeyCode::Tab => self.focus = self.cycle(true),
            KeyCode::BackTab => self.focus = self.cycle(false),
            KeyCode::F(1) => self.help = true,
            KeyCode::PageUp if self.focus != Focus::Peers => {
                self.inbox.scroll_up(h.saturating_sub(1).max(1), w, h)
            }
            KeyCode::PageDown if self.focus != Focus::Peers => {
                self.inbox.scroll_down(h.saturating_sub(1).max(1), w)
            }
            _ if ctrl(key, 'o') => self.compose.prompt = Some(PathPrompt::default()),
            _ if ctrl(key, 'x') => {
                if let Some(att) = self.compose.attachment.take() {
                    self.tell(format!("dropped {}", att.name), false);
                }
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    fn cycle(&self, forward: bool) -> Focus {
        match (self.focus, forward) {
            (Focus::Peers, true) | (Focus::Inbox, false) => Focus::Compose,
            (Focus::Compose, true) | (Focus::Peers, false) => Focus::Inbox,
            (Focus::Inbox, true) | (Focus::Compose, false) => Focus::Peers,
        }
    }

    /// Keys every pane but compose shares.
    fn common_key(&mut self, key: &KeyEvent) {
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            _ => {}
        }
    }

    fn peers_key(&mut self, key: KeyEvent) {
        let page = i32::from(self.areas().peers_list.height.max(2)) as isize - 1;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.peers.move_cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => self.peers.move_cursor(1),
            KeyCode::PageUp => self.peers.move_cursor(-page),
            KeyCode::PageDown => self.peers.move_cursor(page),
            KeyCode::Home => self.peers.cursor_to_end(false),
            KeyCode::End => self.peers.cursor_to_end(true),
            KeyCode::Char(' ') => self.toggle_peer(),
            KeyCode::Char('a') => {
                let left_out = self
                    .peers
                    .select_all(usize::from(self.limits.max_receivers));
                if left_out > 0 {
                    self.tell(
                        format!(
                            "at most {} receivers: {left_out} shown peers left out",
                            self.limits.max_receivers
                        ),
                        true,
                    );
                }
            }
            KeyCode::Char('c') => self.peers.clear_selection(),
            KeyCode::Char('/') => self.peers.filtering = true,
            KeyCode::Enter => self.focus = Focus::Compose,
            _ => self.common_key(&key),
        }
    }

    fn toggle_peer(&mut self) {
        use super::peers::Selected;
        let max = usize::from(self.limits.max_receivers);
        if let (Some(id), Selected::Full) = self.peers.toggle(max) {
            self.tell(
                format!("cannot select #{id}: at most {max} receivers per message"),
                true,
            );
        }
    }

    fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => self.peers.filter_clear(),
            KeyCode::Enter => self.peers.filtering = false,
            KeyCode::Backspace => self.peers.filter_pop(),
            KeyCode::Up | KeyCode::Down | KeyCode::Char(' ') => {
                self.peers.filtering = false;
                self.peers_key(key);
            }
            KeyCode::Char(c) => self.peers.filter_push(c),
            _ => {}
        }
    }

    fn inbox_key(&mut self, key: KeyEvent) {
        let (w, h) = self.inbox_dims();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.inbox.scroll_up(1, w, h),
            KeyCode::Down | KeyCode::Char('j') => self.inbox.scroll_down(1, w),
            KeyCode::Home | KeyCode::Char('g') => self.inbox.to_top(w, h),
            KeyCode::End | KeyCode::Char('G') => self.inbox.to_bottom(),
            _ => self.common_key(&key),
        }
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

#[cfg(test)]
mod tests;
