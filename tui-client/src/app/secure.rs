//! End-to-end events in the state: an envelope that did not open, a key that changed.

use chrono::NaiveTime;
use shared::UserId;

use shared::account::{Who, FIRST_ACCOUNT_ID};

use super::command::{Ask, Request};
use super::conversation::ConvKey;
use super::inbox::{Delivery, Entry, Sender};
use super::{App, Effect, Focus};

/// Peers whose key the detail row remembers before it starts again (each a line of text).
const MAX_PEER_KEYS: usize = 4_096;
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
            self.peer_keys.remove(&from);
        }
        self.tell(why, true);
    }

    /// A relay to `id` was refused: their key is not the pinned one (or is forged).
    pub(super) fn on_key_alert(&mut self, id: UserId, why: String) {
        self.peer_keys.remove(&id);
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

    /// The peer under the peer list's cursor while the list has focus: when a key or a click
    /// changes it, [`Self::peer_detail`] looks at the new one.
    pub(super) fn peer_under_cursor(&self) -> Option<UserId> {
        (self.focus == Focus::Peers)
            .then(|| self.peers.view().get(self.peers.cursor()).copied())
            .flatten()
    }

    /// With the peer list focused on an account whose key this client has not asked about:
    /// ask the directory, for the detail row (at most one question in flight per account).
    pub(super) fn peer_detail(&mut self) -> Vec<Effect> {
        if self.account.is_none() {
            return Vec::new();
        }
        let Some(id) = self.peer_under_cursor() else {
            return Vec::new();
        };
        if id.0 < FIRST_ACCOUNT_ID || self.peer_keys.contains_key(&id) {
            return Vec::new();
        }
        if self.peer_keys.len() >= MAX_PEER_KEYS {
            self.peer_keys.retain(|_, keys| keys.is_none());
        }
        let Ok(req) = self.ask(Ask::Detail(id)) else {
            return Vec::new();
        };
        self.peer_keys.insert(id, None);
        vec![Effect::Request(req, Request::Lookup(Who::Id(id)))]
    }

    /// The peer list's detail row: the key of the account under the cursor, once known.
    pub fn peer_key_detail(&self) -> Option<String> {
        let id = self.peer_under_cursor()?;
        let keys = self.peer_keys.get(&id)?.as_deref()?;
        Some(format!("{}: {keys}", self.inbox.names.label(id)))
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
