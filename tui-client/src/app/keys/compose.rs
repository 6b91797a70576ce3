//! Compose keys and sending: checks that there is something to send, someone to send it to,
//! and a connection, then records the message and asks the network task to relay it.

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shared::{BodyKind, UserId};
use tui_textarea::CursorMove;

use crate::app::inbox::{Delivery, Entry, Sender};
use crate::app::{App, ConnState, Effect, Focus};
use crate::incoming::{Body, FilePlace};
use crate::net::Relay;

impl App {
    pub(in crate::app) fn compose_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let newline = key
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if newline => self.compose.text.insert_newline(),
            KeyCode::Char(c) if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.readline_key(c, key)
            }
            KeyCode::Enter => return self.send(),
            KeyCode::Esc => self.focus = Focus::Peers,
            KeyCode::Up if self.compose.cursor_on_edge(true) => self.compose.history_step(true),
            KeyCode::Down if self.compose.cursor_on_edge(false) => self.compose.history_step(false),
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

    /// Send the text and the attachment (each as its own relay) to the selected peers.
    pub fn send(&mut self) -> Vec<Effect> {
        let (to, text) = match self.check_send() {
            Ok(ready) => ready,
            Err(why) => {
                self.tell(why, true);
                return Vec::new();
            }
        };
        let has_text = !self.compose.is_blank();
        let mut effects = Vec::new();
        if has_text {
            self.compose.sent();
            let body = Bytes::from(text.clone());
            effects.push(self.relay(to.clone(), BodyKind::Text, body, Body::Text(text)));
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

    /// The receivers and the text, or why nothing can be sent now.
    fn check_send(&self) -> Result<(Vec<UserId>, String), String> {
        if self.compose.is_blank() && self.compose.attachment.is_none() {
            return Err("nothing to send: type a message or attach a file with Ctrl-O".into());
        }
        let to: Vec<UserId> = self.peers.selected().iter().copied().collect();
        if to.is_empty() {
            return Err(
                "no receiver selected: Tab to the peer list and press Space on a peer".into(),
            );
        }
        if self.conn != ConnState::Connected {
            return Err("not connected to the hub; your text is kept until it is back".into());
        }
        let text = self.compose.content();
        if text.len() > self.limits.max_body as usize {
            return Err(format!(
                "the text is {} bytes; the limit is {} bytes",
                text.len(),
                self.limits.max_body
            ));
        }
        Ok((to, text))
    }

    fn relay(&mut self, to: Vec<UserId>, kind: BodyKind, body: Bytes, shown: Body) -> Effect {
        let req = self.take_req();
        let entry = Entry {
            at: self.now,
            from: Sender::Me { to: to.clone() },
            body: shown,
            delivery: Some(Delivery::Pending),
        };
        self.inbox.push_pending(req, entry);
        Effect::Relay(Relay {
            req,
            to,
            kind,
            body,
        })
    }
}
