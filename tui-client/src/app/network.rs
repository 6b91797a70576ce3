//! How network events change the state: connection, presence, messages, relay answers.

use shared::UserId;

use super::inbox::{Delivery, Entry, Sender};
use super::{App, ConnState};
use crate::incoming::Body;
use crate::net::NetEvent;

impl App {
    pub(super) fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Connecting { attempt } => self.conn = ConnState::Connecting(attempt),
            NetEvent::Connected { user_id, limits } => {
                self.conn = ConnState::Connected;
                self.me = Some(user_id);
                self.limits = limits;
                self.system(format!("connected to {} as #{user_id}", self.hub));
            }
            NetEvent::Disconnected { reason, retry_in } => self.on_down(reason, retry_in),
            NetEvent::Peers(peers) => self.on_peers(peers),
            NetEvent::Joined(id) if Some(id) != self.me => self.peers.join(id),
            NetEvent::Joined(_) => {}
            NetEvent::Left(id) => self.on_left(id),
            NetEvent::Message { from, at, body } => {
                let entry = Entry {
                    at,
                    from: Sender::Peer(from),
                    body,
                    delivery: None,
                };
                self.inbox.push(entry);
            }
            NetEvent::Relayed(req, answer) => self.inbox.settle(req, Delivery::Done(answer)),
            NetEvent::Failed { req, text } => self.fail_relay(req, text),
        }
    }

    /// One of our relays failed: say so, and mark its entry.
    pub(super) fn fail_relay(&mut self, req: shared::RequestId, why: String) {
        self.tell(format!("send failed: {why}"), true);
        self.inbox.settle(req, Delivery::Failed(why));
    }

    fn on_peers(&mut self, peers: Vec<UserId>) {
        let before = self.peers.selected().len();
        self.peers.set_all(peers, self.me);
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
        self.inbox
            .fail_pending("connection lost before the hub answered");
        self.peers.clear_all();
        self.me = None;
        self.conn = ConnState::Down { reason, retry_in };
    }

    fn on_left(&mut self, id: UserId) {
        if self.peers.leave(id) {
            let text = format!("#{id} left and was removed from your receivers");
            self.system(text.clone());
            self.tell(text, true);
        }
    }

    /// Add a line from the client itself to the inbox.
    fn system(&mut self, text: String) {
        let entry = Entry {
            at: self.now,
            from: Sender::System,
            body: Body::Text(text),
            delivery: None,
        };
        self.inbox.push(entry);
    }
}
