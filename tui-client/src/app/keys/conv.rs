//! The conversation keys: switching (Alt-1…9, Alt-Up/Down, Ctrl-P/N), jumping to the first
//! unread (Alt-N) and replying to the message under the cursor (Alt-R, Alt-G).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{alt, ctrl};
use crate::app::conversation::ConvKey;
use crate::app::inbox::{Entry, Sender};
use crate::app::App;

impl App {
    /// A conversation key; whether `key` was one.
    pub(super) fn conversation_key(&mut self, key: &KeyEvent) -> bool {
        let n = self.inbox.conversations().len();
        let now = self.inbox.active();
        match key.code {
            KeyCode::Char(d @ '1'..='9')
                if alt(key) && !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                let i = d as usize - '1' as usize;
                if i < n {
                    self.switch_to(i);
                } else {
                    self.tell(format!("no conversation {}: there are {n}", i + 1), true);
                }
            }
            KeyCode::Up if alt(key) => self.switch_to((now + n - 1) % n),
            KeyCode::Down if alt(key) => self.switch_to((now + 1) % n),
            _ if ctrl(key, 'p') => self.switch_to((now + n - 1) % n),
            _ if ctrl(key, 'n') => self.switch_to((now + 1) % n),
            KeyCode::Char('n' | 'N') if alt(key) => self.jump_to_unread(),
            KeyCode::Char('r' | 'R') if alt(key) => self.reply(false),
            KeyCode::Char('g' | 'G') if alt(key) => self.reply(true),
            _ => return false,
        }
        true
    }

    /// Show conversation `i`.
    pub(in crate::app) fn switch_to(&mut self, i: usize) {
        self.inbox.switch(i);
        self.completion = None;
    }

    /// The first unread message here; with none (or with it on screen already), the next
    /// conversation that has some.
    fn jump_to_unread(&mut self) {
        let (w, h) = self.inbox_dims();
        if let Some(seq) = self.inbox.current().first_unread {
            if !self.inbox.visible(w, h).iter().any(|s| s.seq == seq) {
                self.inbox.scroll_to(seq, w, h);
                return;
            }
        }
        let convs = self.inbox.conversations();
        let n = convs.len();
        let now = self.inbox.active();
        let next = (1..n).map(|k| (now + k) % n).find(|i| convs[*i].unread > 0);
        let Some(i) = next else {
            self.tell("no unread messages", false);
            return;
        };
        self.switch_to(i);
        if let Some(seq) = self.inbox.current().first_unread {
            self.inbox.scroll_to(seq, w, h);
        }
    }

    /// The message under the cursor: the /search match, else the newest message on screen.
    pub fn under_cursor(&self) -> Option<&Entry> {
        let (w, h) = self.inbox_dims();
        if let Some(entry) = self.inbox.marked().and_then(|seq| self.inbox.get(seq)) {
            return Some(entry);
        }
        let shown = self.inbox.visible(w, h);
        shown
            .into_iter()
            .rev()
            .map(|s| s.entry)
            .find(|e| !matches!(e.from, Sender::System))
    }

    /// Alt-R (`all` false): the conversation with the sender of the message under the
    /// cursor; Alt-G: with everyone it went to. Of a message we sent, both are its receivers.
    /// The hub does not tell a receiver whom else a message went to, so a received message's
    /// "everyone" is its sender.
    fn reply(&mut self, all: bool) {
        let Some(entry) = self.under_cursor() else {
            self.tell("no message to reply to here", true);
            return;
        };
        let (ids, note) = match &entry.from {
            Sender::Peer(id) => (vec![*id], all),
            Sender::Me { to } => (to.clone(), false),
            Sender::System => return,
        };
        let key = ConvKey::with(&ids, self.me);
        let label = key.label(&self.inbox.names);
        match self.open_conversation(key) {
            Ok(()) if note => self.tell(
                format!("replying to {label}: the hub does not say whom else it went to"),
                false,
            ),
            Ok(()) => self.tell(format!("replying to {label}"), false),
            Err(why) => self.tell(why, true),
        }
    }
}
