//! The input line's keys and sending: text and editing keys (in every pane), the history on
//! Up/Down (in compose), and a send that checks there is something to send, someone to send
//! it to, and a connection, then records the message and asks the network task to relay it.

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shared::{BodyKind, UserId};
use tui_textarea::CursorMove;

use crate::app::conversation::ConvKey;
use crate::app::inbox::{Delivery, Entry, Sender};
use crate::app::{App, ConnState, Effect};
use crate::incoming::{Body, FilePlace};
use crate::net::Relay;

impl App {
    /// Up / Down in compose: the history on the first / last line; whether `key` was one.
    pub(in crate::app) fn compose_nav_key(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Up if key.modifiers.is_empty() && self.compose.cursor_on_edge(true) => {
                self.compose.history_step(true)
            }
            KeyCode::Down if key.modifiers.is_empty() && self.compose.cursor_on_edge(false) => {
                self.compose.history_step(false)
            }
            _ => return false,
        }
        true
    }

    /// Text and editing keys, whatever pane has focus.
    pub(in crate::app) fn input_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let newline = key
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if newline => self.compose.text.insert_newline(),
            KeyCode::Char(c) if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.readline_key(c, key)
            }
            _ => {
                self.compose.text.input(key);
            }
        }
        Vec::new()
    }

    /// Control keys as readline has them; the others go to the text area.
    fn readline_key(&mut self, c: char, key: KeyEvent) {
        let text = &mut self.compose.text;
        match c {
            'j' => text.insert_newline(),
            'a' => text.move_cursor(CursorMove::Head),
            'e' => text.move_cursor(CursorMove::End),
            'u' => {
                text.delete_line_by_head();
            }
            'w' => {
                let (row, col) = text.cursor();
                let before: Vec<char> = text.lines()[row].chars().take(col).collect();
                let spaces = before
                    .iter()
                    .rev()
                    .take_while(|c| c.is_whitespace())
                    .count();
                let word = before[..before.len() - spaces]
                    .iter()
                    .rev()
                    .take_while(|c| !c.is_whitespace())
                    .count();
                for _ in 0..spaces + word {
                    text.delete_char();
                }
            }
            _ => {
                text.input(key);
            }
        }
    }

    /// Whom Enter sends to: the members of the conversation on screen; in "all", the peers
    /// selected in the list (the ad-hoc group).
    pub fn receivers(&self) -> Vec<UserId> {
        match &self.inbox.current().key {
            ConvKey::All => self.peers.selected().iter().copied().collect(),
            key => key.members().to_vec(),
        }
    }

    /// Send the input line and the attachment (each as its own relay) to [`Self::receivers`].
    /// A line that starts with `//` goes out with one `/` less.
    pub fn send(&mut self) -> Vec<Effect> {
        let content = self.compose.content();
        let text = match content.strip_prefix("//") {
            Some(rest) => format!("/{rest}"),
            None => content,
        };
        let has_text = !self.compose.is_blank();
        if !has_text && self.compose.attachment.is_none() {
            self.tell(
                "nothing to send: type a message or attach a file with Ctrl-O",
                true,
            );
            return Vec::new();
        }
        let to = self.receivers();
        if to.is_empty() {
            self.tell(
                "no receiver: Alt-2… opens a conversation, or select peers (F6, Ctrl-Space), or /msg NAME TEXT",
                true,
            );
            return Vec::new();
        }
        if let Err(why) = self.check_send(has_text.then_some(&text)) {
            self.tell(why, true);
            return Vec::new();
        }
        let mut effects = Vec::new();
        if has_text {
            self.compose.sent();
            effects.push(self.relay_text(to.clone(), text));
        }
        if let Some(att) = self.compose.attachment.take() {
            let shown = Body::File {
                name: att.name.clone(),
                size: att.body.len() as u64,
                place: FilePlace::Sent(att.path),
            };
            effects.push(self.relay(to, BodyKind::File { name: att.name }, att.body, shown));
        }
        effects
    }

    /// Why `text` cannot be sent now, if it cannot: no connection, or too long.
    pub(in crate::app) fn check_send(&self, text: Option<&String>) -> Result<(), String> {
        if self.conn != ConnState::Connected {
            return Err("not connected to the hub; your text is kept until it is back".into());
        }
        match text {
            Some(text) if text.len() > self.limits.max_body as usize => Err(format!(
                "the text is {} bytes; the limit is {} bytes",
                text.len(),
                self.limits.max_body
            )),
            _ => Ok(()),
        }
    }

    /// Relay a text to `to`, with its entry in the inbox.
    pub(in crate::app) fn relay_text(&mut self, to: Vec<UserId>, text: String) -> Effect {
        let body = Bytes::from(text.clone());
        self.relay(to, BodyKind::Text, body, Body::Text(text))
    }

    fn relay(&mut self, to: Vec<UserId>, kind: BodyKind, body: Bytes, shown: Body) -> Effect {
        let req = self.take_req();
        let entry = Entry {
            at: self.now,
            day: self.today,
            from: Sender::Me { to: to.clone() },
            body: shown,
            delivery: Some(Delivery::Pending),
            record: None,
        };
        let key = ConvKey::with(&to, self.me);
        let seq = self.inbox.push_pending(req, entry, key);
        self.keep(seq);
        Effect::Relay(Relay {
            req,
            to,
            kind,
            body,
        })
    }
}
