//! End-to-end events in the state: an envelope that did not open, a key that changed.

use chrono::NaiveTime;
use shared::UserId;

use super::conversation::ConvKey;
use super::inbox::{Delivery, Entry, Sender};
use super::App;
use crate::incoming::Body;

impl App {
    /// An envelope from `from` that did not open: an entry in their conversation saying so
    /// (in red, never its bytes), and, for a changed key, the status bar's alert.
    pub(super) fn on_unopened(&mut self, from: UserId, at: NaiveTime, why: String, changed: bool) {
        let entry = Entry {
            at,
            day: self.today,
            from: Sender::Peer(from),
            body: Body::Text("(an encrypted message that was not opened)".into()),
            delivery: Some(Delivery::Alert(why.clone())),
            record: None,
        };
        let (seq, _) = self.inbox.push_in(entry, ConvKey::with(&[from], self.me));
        self.keep(seq);
        if changed {
            self.key_alerts.insert(from, why.clone());
        }
        self.tell(why, true);
    }

    /// A relay to `id` was refused: their key is not the pinned one (or is forged).
    pub(super) fn on_key_alert(&mut self, id: UserId, why: String) {
        if self.key_alerts.insert(id, why.clone()).is_none() {
            let entry = Entry {
                at: self.now,
                day: self.today,
                from: Sender::System,
                body: Body::Text(format!("{} : key warning", self.inbox.names.label(id))),
                delivery: Some(Delivery::Alert(why)),
                record: None,
            };
            let (seq, _) = self.inbox.push_in(entry, ConvKey::with(&[id], self.me));
            self.keep(seq);
        }
    }

    /// We sent to `to` in the clear: said once per conversation and connection, in it.
    pub(super) fn on_sent_clear(&mut self, to: Vec<UserId>, why: String) {
        let key = ConvKey::with(&to, self.me);
        if !self.clear_noted.insert(key.clone()) {
            return;
        }
        let entry = Entry {
            at: self.now,
            day: self.today,
            from: Sender::System,
            body: Body::Text(format!("what you send here is not encrypted: {why}")),
            delivery: Some(Delivery::Clear),
            record: None,
        };
        let (seq, _) = self.inbox.push_in(entry, key);
        self.keep(seq);
    }

    /// The status bar's alert: the first person whose key changed, in words.
    pub fn key_alert(&self) -> Option<String> {
        let (id, _) = self.key_alerts.iter().next()?;
        let who = self.inbox.names.label(*id);
        let more = match self.key_alerts.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        Some(format!(
            "⚠ KEY CHANGED: {who}{more} · not sent to until `tui-client trust {who}`"
        ))
    }
}
