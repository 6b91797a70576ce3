//! How network events change the state: connection, presence, messages, relay answers.

use shared::account::{AccountInfo, PeerInfo};
use shared::UserId;

use super::command::Ask;
use super::conversation::{mentions, ConvKey};
use super::inbox::{Delivery, Entry, Sender};
use super::notify::Presence;
use super::{App, ConnState, Effect};
use crate::incoming::Body;
use crate::net::NetEvent;

impl App {
    pub(super) fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::Connecting { attempt, hub } => {
                self.conn = ConnState::Connecting(attempt);
                self.hub = hub;
            }
            NetEvent::Connected { user_id, limits } => {
                self.conn = ConnState::Connected;
                self.me = Some(user_id);
                self.account = None;
                self.limits = limits;
                self.note_switch();
                self.system(format!("connected to {} as #{user_id}", self.hub));
            }
            NetEvent::LoggedIn {
                user_id,
                name,
                waiting,
            } => self.on_logged_in(user_id, name, waiting),
            NetEvent::LoginRefused(why) => {
                self.system(format!("not logged in: {why}"));
                self.tell(format!("not logged in: {why}"), true);
            }
            NetEvent::Disconnected { reason, retry_in } => self.on_down(reason, retry_in),
            NetEvent::Peers(peers) => {
                let peers = peers
                    .into_iter()
                    .map(|user_id| PeerInfo {
                        user_id,
                        name: None,
                    })
                    .collect();
                self.on_peers(peers)
            }
            NetEvent::Present(peers) => self.on_peers(peers),
            NetEvent::Joined(id) => self.on_arrived(PeerInfo {
                user_id: id,
                name: None,
            }),
            NetEvent::Arrived(peer) => self.on_arrived(peer),
            NetEvent::Names(names) => {
                for (id, name) in names {
                    self.inbox.names.learn(id, name);
                }
            }
            NetEvent::Outgoing { to, at, body } => {
                let key = ConvKey::with(&to, self.me);
                let entry = Entry {
                    at,
                    day: self.today,
                    from: Sender::Me { to },
                    body,
                    delivery: Some(Delivery::Elsewhere),
                    record: None,
                };
                let (seq, _) = self.inbox.push_in(entry, key);
                self.keep(seq);
            }
            NetEvent::Left(id) => self.on_left(id),
            NetEvent::Message {
                from,
                at,
                body,
                clear,
            } => {
                if !clear && self.key_alerts.remove(&from).is_some() {
                    // An envelope from them opened: their key is the pinned one again.
                    self.peer_keys.remove(&from);
                }
                self.on_message(from, at, body, clear)
            }
            NetEvent::Unopened {
                from,
                at,
                why,
                changed,
            } => self.on_unopened(from, at, why, changed),
            NetEvent::KeyAlert { id, why } => self.on_key_alert(id, why),
            NetEvent::SentClear { to, why } => self.on_sent_clear(to, why),
            NetEvent::Fingerprint(fingerprint) => self.fingerprint = Some(fingerprint),
            NetEvent::Relayed(req, answer) => {
                let entry = self.inbox.settle(req, Delivery::Done(answer)).cloned();
                self.keep_again(entry);
            }
            NetEvent::Delivered { to, through } => {
                for entry in self.inbox.receipt(to, through) {
                    self.keep_again(Some(entry));
                }
                self.keep_receipt(to, through);
            }
            NetEvent::Failed { req, text } => self.request_failed(req, text),
            NetEvent::Users {
                req,
                users,
                limited,
            } => self.on_users(req, users, limited),
            NetEvent::Account { req, account, keys } => return self.on_account(req, account, keys),
        }
        Vec::new()
    }

    /// A message for us: in the sender's conversation (the hub does not say whom else it went
    /// to), unread and notified unless it is on screen (a mailbox message always is).
    pub(super) fn on_message(
        &mut self,
        from: UserId,
        at: chrono::NaiveTime,
        body: Body,
        clear: bool,
    ) {
        let mention = match (&body, &self.account) {
            (Body::Text(text), Some(name)) => mentions(text, name),
            _ => false,
        };
        let key = ConvKey::with(&[from], self.me);
        let entry = Entry {
            at,
            day: self.today,
            from: Sender::Peer(from),
            body,
            delivery: clear.then_some(Delivery::Clear),
            record: None,
        };
        let (seq, conv) = self.inbox.push_in(entry, key);
        self.keep(seq);
        let active = self.inbox.active();
        let stored = self.mailbox_left > 0;
        self.mailbox_left = self.mailbox_left.saturating_sub(1);
        let looking = !self.notify.unfocused && !stored;
        let on_screen = looking && (active == 0 || Some(active) == conv);
        if on_screen {
            return;
        }
        let mut quiet = false;
        // "all" repeats every conversation, so it counts only what has no other (past
        // MAX_CONVERSATIONS); it keeps its "new messages" line all the same.
        let all = self.inbox.conversation_mut(0);
        if conv.is_none() {
            all.mark_unread(seq, mention);
        } else if active != 0 || !looking {
            all.first_unread.get_or_insert(seq);
        }
        if let Some(i) = conv.filter(|i| *i != 0) {
            let c = self.inbox.conversation_mut(i);
            c.mark_unread(seq, mention);
            quiet = c.quiet;
        }
        if !quiet || (mention && self.notify.choices.mentions) {
            let sender = self.inbox.names.label(from);
            self.notify.alert(&sender, mention);
        }
    }

    /// A relay or a slash command's request failed: say so where it belongs.
    pub(super) fn request_failed(&mut self, req: shared::RequestId, why: String) {
        match self.asks.remove(&req) {
            Some(Ask::Who(pattern)) => self.tell(format!("/who {pattern}: {why}"), true),
            Some(Ask::Whois(name)) => self.tell(format!("/whois {name}: {why}"), true),
            Some(Ask::Query { name, .. }) => self.tell(format!("/query {name}: {why}"), true),
            Some(Ask::Detail(id)) => {
                self.peer_keys
                    .insert(id, Some(format!("not looked up: {why}")));
            }
            None => self.fail_relay(req, why),
        }
    }

    /// The answer to `/who`: one line in the inbox, names learnt for `/msg` and completion.
    fn on_users(&mut self, req: shared::RequestId, users: Vec<AccountInfo>, limited: bool) {
        let Some(Ask::Who(pattern)) = self.asks.remove(&req) else {
            return;
        };
        let listed: Vec<String> = users
            .iter()
            .map(|u| format!("{} ({})", u.name, online(u.online)))
            .collect();
        for u in users {
            self.inbox.names.learn(u.user_id, u.name);
        }
        let mut text = match listed.len() {
            0 => format!("who {pattern}: no account matches"),
            n => format!("who {pattern}: {n} accounts: {}", listed.join(", ")),
        };
        if limited {
            text.push_str("; more match than the hub lists: narrow the pattern");
        }
        self.system(text);
        self.inbox.to_bottom();
    }

    /// The answer to `/whois`, or to the lookup of a `/query` (which then runs again).
    fn on_account(
        &mut self,
        req: shared::RequestId,
        account: Option<AccountInfo>,
        keys: Option<String>,
    ) -> Vec<Effect> {
        let name = match self.asks.remove(&req) {
            Some(Ask::Whois(name)) => {
                if let (Some(info), Some(keys)) = (&account, &keys) {
                    self.peer_keys.insert(info.user_id, Some(keys.clone()));
                }
                name
            }
            Some(Ask::Detail(id)) => {
                let text = match (&account, keys) {
                    (None, _) => "no such account".to_owned(),
                    (Some(_), Some(keys)) => keys,
                    (Some(_), None) => "no fingerprint: this session cannot read envelopes".into(),
                };
                self.peer_keys.insert(id, Some(text));
                return Vec::new();
            }
            Some(Ask::Query { args, name }) => {
                let Some(info) = account else {
                    self.tell(format!("no account {name} on this hub"), true);
                    return Vec::new();
                };
                self.inbox.names.learn(info.user_id, info.name);
                return self.query(&args).unwrap_or_else(|why| {
                    self.tell(why, true);
                    Vec::new()
                });
            }
            _ => return Vec::new(),
        };
        match account {
            Some(info) => {
                let keys = keys.map(|k| format!(" · {k}")).unwrap_or_default();
                self.system(format!(
                    "whois {name}: {} is #{}, {}{keys}",
                    info.name,
                    info.user_id,
                    online(info.online)
                ));
                self.inbox.names.learn(info.user_id, info.name);
            }
            None => {
                self.system(format!("whois {name}: no such account"));
                self.tell(format!("no account {name} on this hub"), true);
            }
        }
        self.inbox.to_bottom();
        Vec::new()
    }

    /// One of our relays failed: say so, and mark its entry.
    pub(super) fn fail_relay(&mut self, req: shared::RequestId, why: String) {
        self.tell(format!("send failed: {why}"), true);
        let entry = self.inbox.settle(req, Delivery::Failed(why)).cloned();
        self.keep_again(entry);
    }

    /// Connected to another address than the last connection: say so in the inbox and the
    /// notice line; the status bar keeps the address it came from.
    fn note_switch(&mut self) {
        let was = self.last_hub.replace(self.hub.clone());
        let Some(was) = was.filter(|was| *was != self.hub) else {
            return;
        };
        let text = format!("switched hub: from {was} to {}", self.hub);
        self.system(text.clone());
        self.tell(text, false);
        self.switched_from = Some(was);
    }

    fn on_logged_in(&mut self, user_id: UserId, name: String, waiting: u64) {
        self.me = Some(user_id);
        self.mailbox_left = waiting;
        self.inbox.names.learn(user_id, name.clone());
        let mailbox = match waiting {
            0 => "no messages waiting".to_owned(),
            1 => "1 message waiting".to_owned(),
            n => format!("{n} messages waiting"),
        };
        self.system(format!("logged in as {name} (#{user_id}); {mailbox}"));
        self.account = Some(name);
    }

    fn on_arrived(&mut self, peer: PeerInfo) {
        if Some(peer.user_id) == self.me {
            return;
        }
        if let Some(name) = &peer.name {
            self.inbox.names.learn(peer.user_id, name.clone());
        }
        self.peers.join_named(peer.user_id, peer.name);
        self.presence(peer.user_id, "came back online");
    }

    /// "bob came back online" / "bob went offline": by default in bob's conversation if there
    /// is one (in "all" they would drown the messages on a busy hub); `notify.presence` says.
    fn presence(&mut self, id: UserId, what: &str) {
        let presence = self.notify.choices.presence;
        if presence == Presence::Off {
            return;
        }
        let text = format!("{} {what}", self.inbox.names.label(id));
        let entry = self.system_entry(text);
        let key = ConvKey::With(vec![id]);
        if presence == Presence::Conversations {
            self.inbox.push_only(entry, &key);
        } else if self.inbox.index(&key).is_some() {
            self.inbox.push_in(entry, key);
        } else {
            self.inbox.push_all(entry);
        }
    }

    fn on_peers(&mut self, peers: Vec<PeerInfo>) {
        for p in &peers {
            if let Some(name) = &p.name {
                self.inbox.names.learn(p.user_id, name.clone());
            }
        }
        let before = self.peers.selected().len();
        self.peers.set_all_named(peers, self.me);
        let lost = before - self.peers.selected().len();
        if lost > 0 {
            self.tell(
                format!("{lost} selected peers are gone and were unselected"),
                true,
            );
        }
    }

    fn on_down(&mut self, reason: String, retry_in: std::time::Duration) {
        if self.conn == ConnState::Connected {
            self.system(format!("lost the hub: {reason}"));
        }
        let failed = self
            .inbox
            .fail_pending("connection lost before the hub answered");
        for entry in failed {
            self.keep_again(Some(entry));
        }
        // Their answers will not come.
        self.asks.clear();
        self.peers.clear_all();
        self.mailbox_left = 0;
        self.me = None;
        self.account = None;
        self.conn = ConnState::Down { reason, retry_in };
    }

    fn on_left(&mut self, id: UserId) {
        self.presence(id, "went offline");
        let who = self.inbox.names.label(id);
        if self.peers.leave(id) {
            let text = format!("{who} left and was removed from your receivers");
            self.system(text.clone());
            self.tell(text, true);
        }
    }

    /// Add a line from the client itself to the inbox.
    fn system(&mut self, text: String) {
        let entry = self.system_entry(text);
        self.inbox.push(entry);
    }

    /// A line from the client itself, now.
    fn system_entry(&self, text: String) -> Entry {
        Entry {
            at: self.now,
            day: self.today,
            from: Sender::System,
            body: Body::Text(text),
            delivery: None,
            record: None,
        }
    }
}

fn online(online: bool) -> &'static str {
    if online {
        "online"
    } else {
        "offline"
    }
}
