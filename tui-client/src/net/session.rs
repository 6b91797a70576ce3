//! One connection's traffic from the hub, as the network task handles it: presence with
//! names, messages live and from the mailbox (each stored one acknowledged once the UI has
//! it), what our other sessions sent, relay answers, and lookups of the names of senders.

use std::collections::HashSet;

use bytes::Bytes;
use chrono::{Local, NaiveTime, TimeZone};
use shared::account::{AccountEntry, PeerInfo, Who, FIRST_ACCOUNT_ID};
use shared::conn::{ConnWriter, ACCOUNTS_VERSION};
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::sealing::{HeldIn, Sealing};
use super::{goodbye, receive, Answer, NetConfig, NetEvent};
use crate::incoming::{human_size, Body};

/// The request id of the network task's own requests (lookups, acks). Their answers are
/// told apart by type, and the UI's ids stay below it (see [`crate::app::UI_REQ_MAX`]).
pub const NET_REQ: RequestId = RequestId(u32::MAX - 1);

/// What the network task remembers across connections.
#[derive(Debug, Default)]
pub struct Memory {
    /// The highest mailbox seq handed to the UI: the hub sends a mailbox in ascending seq, so
    /// one at or below it (not acknowledged in time, sent again) is not shown twice.
    shown_through: Option<u64>,
    /// Accounts whose name we know or have asked for; names never change.
    named: HashSet<UserId>,
    /// Keys, envelopes and relays waiting for them.
    pub sealing: Sealing,
}

/// One connection's handler.
pub struct Session<'a> {
    pub(super) config: &'a NetConfig,
    pub(super) memory: &'a mut Memory,
    pub(super) writer: &'a mut ConnWriter,
    pub(super) events: &'a mpsc::Sender<NetEvent>,
    /// The connection's version: lookups and acks need [`ACCOUNTS_VERSION`].
    pub(super) version: u32,
}

impl Session<'_> {
    /// React to one message from the hub; `Ok(false)` when the UI is gone, `Err` when the
    /// connection must end (why).
    pub async fn handle(&mut self, msg: HubMsg) -> Result<bool, String> {
        let msg = match Answer::from_msg(msg) {
            Ok((req, answer)) => {
                self.ask_names(answer.queued.iter().copied()).await?;
                return self.tell(NetEvent::Relayed(req, answer)).await;
            }
            Err(msg) => msg,
        };
        if let HubMsg::Error { req: Some(req), .. } = &msg {
            if let Some(id) = self.memory.sealing.answered(*req) {
                // A refused lookup: what waited for it goes on as if there were no account.
                return self.entry_came(id, None).await;
            }
        }
        if let HubMsg::Entry { req, account } = msg {
            if let Some(id) = self.memory.sealing.answered(req) {
                return self.entry_came(id, account.map(|a| *a)).await;
            }
            return self.directory_entry(req, account.map(|a| *a)).await;
        }
        let event = match msg {
            HubMsg::KeepAlive => return self.send(&ClientMsg::<Bytes>::KeepAliveAck).await,
            HubMsg::Peers { peers, .. } => NetEvent::Peers(peers),
            HubMsg::Present { peers, .. } => {
                self.learn(&peers);
                NetEvent::Present(peers)
            }
            HubMsg::Joined { user_id } => NetEvent::Joined(user_id),
            HubMsg::Arrived { user_id, name } => {
                let peer = PeerInfo { user_id, name };
                self.learn(std::slice::from_ref(&peer));
                NetEvent::Arrived(peer)
            }
            HubMsg::Left { user_id } => NetEvent::Left(user_id),
            HubMsg::Presence { arrived, left } => return self.presence(arrived, left).await,
            HubMsg::Message {
                from,
                kind: BodyKind::Sealed,
                body,
            } => {
                self.ask_names([from]).await?;
                let held = HeldIn {
                    from,
                    stored: None,
                    body,
                };
                return self.sealed_in(held).await;
            }
            HubMsg::Message { from, kind, body } => {
                self.ask_names([from]).await?;
                let (at, body) = receive(&self.config.download_dir, from, kind, body).await;
                let at = at.time();
                let clear = self.memory.sealing.active();
                NetEvent::Message {
                    from,
                    at,
                    body,
                    clear,
                }
            }
            HubMsg::Stored {
                seq,
                from,
                sent_at_ms,
                kind,
                body,
            } => return self.stored(seq, from, sent_at_ms, kind, body).await,
            HubMsg::Delivered { to, through } => NetEvent::Delivered { to, through },
            HubMsg::Outgoing { to, kind, body } => {
                self.ask_names(to.iter().copied()).await?;
                let (kind, body) = match kind {
                    BodyKind::Sealed => match self.memory.sealing.open_own(&body) {
                        Ok(opened) => opened,
                        Err(why) => (BodyKind::Text, Bytes::from(format!("! {why}"))),
                    },
                    kind => (kind, body),
                };
                let at = Local::now().time();
                let body = outgoing_body(&kind, &body);
                NetEvent::Outgoing { to, at, body }
            }
            HubMsg::Account {
                req: NET_REQ,
                account,
            } => match account {
                Some(info) => NetEvent::Names(vec![(info.user_id, info.name)]),
                None => return Ok(true),
            },
            HubMsg::Account { req, account } => NetEvent::Account {
                req,
                account,
                keys: None,
            },
            HubMsg::Users {
                req,
                users,
                limited,
            } => NetEvent::Users {
                req,
                users,
                limited,
            },
            HubMsg::Entries {
                req,
                users,
                limited,
            } => NetEvent::Users {
                req,
                users: users.iter().map(AccountEntry::info).collect(),
                limited,
            },
            HubMsg::Error {
                req: Some(NET_REQ),
                kind,
                text,
            } => {
                warn!(?kind, %text, "a lookup or an acknowledgement was refused");
                return Ok(true);
            }
            HubMsg::Error {
                req: Some(req),
                kind,
                text,
            } => NetEvent::Failed {
                req,
                text: format!("{text} ({kind:?})"),
            },
            HubMsg::Error {
                req: None,
                kind,
                text,
            } => return Err(goodbye(kind, &text)),
            other => {
                debug!(?other, "ignored");
                return Ok(true);
            }
        };
        self.tell(event).await
    }

    /// A message from the mailbox: shown like a live one (at the time it was stored) unless
    /// shown already, then acknowledged. The ack follows the hand-over to the UI, so a
    /// message is acknowledged only once it is in the inbox.
    async fn stored(
        &mut self,
        seq: u64,
        from: UserId,
        sent_at_ms: u64,
        kind: BodyKind,
        body: Bytes,
    ) -> Result<bool, String> {
        let seen = self.memory.shown_through.is_some_and(|s| seq <= s);
        if !seen && kind == BodyKind::Sealed {
            self.ask_names([from]).await?;
            let stored = Some((seq, sent_at_ms));
            return self.sealed_in(HeldIn { from, stored, body }).await;
        }
        if !seen {
            self.ask_names([from]).await?;
            let (_, body) = receive(&self.config.download_dir, from, kind, body).await;
            let at = local_time(sent_at_ms);
            let clear = self.memory.sealing.active();
            let message = NetEvent::Message {
                from,
                at,
                body,
                clear,
            };
            if !self.tell(message).await? {
                return Ok(false);
            }
            self.memory.shown_through = Some(seq);
        }
        self.send(&ClientMsg::<Bytes>::Ack { req: NET_REQ, seq })
            .await
    }

    /// Names that came with presence need no lookup.
    fn learn(&mut self, peers: &[PeerInfo]) {
        let named = peers.iter().filter(|p| p.name.is_some()).map(|p| p.user_id);
        self.memory.named.extend(named);
    }

    /// Ask the hub for the names of the accounts among `ids` not asked about before.
    async fn ask_names(&mut self, ids: impl IntoIterator<Item = UserId>) -> Result<(), String> {
        if self.version < ACCOUNTS_VERSION {
            return Ok(());
        }
        for id in ids {
            if id.0 >= FIRST_ACCOUNT_ID && self.memory.named.insert(id) {
                let lookup = ClientMsg::<Bytes>::Lookup {
                    req: NET_REQ,
                    who: Who::Id(id),
                };
                self.writer.send(&lookup).await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    async fn send(&mut self, msg: &ClientMsg) -> Result<bool, String> {
        self.writer.send(msg).await.map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// A coalesced presence push (version 6): the App hears it as the `Left` and `Arrived`
    /// events that one push per change gave, so it behaves the same. A user is in at most one
    /// of the lists, so their order does not matter.
    async fn presence(
        &mut self,
        arrived: Vec<PeerInfo>,
        left: Vec<UserId>,
    ) -> Result<bool, String> {
        self.learn(&arrived);
        let events = left
            .into_iter()
            .map(NetEvent::Left)
            .chain(arrived.into_iter().map(NetEvent::Arrived));
        for event in events {
            if !self.tell(event).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn tell(&self, event: NetEvent) -> Result<bool, String> {
        Ok(self.events.send(event).await.is_ok())
    }
}

/// When the hub stored a message, as the inbox shows times.
pub fn local_time(ms: u64) -> NaiveTime {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Local.timestamp_millis_opt(ms).single())
        .map_or_else(|| Local::now().time(), |at| at.time())
}

/// What another session sent, for the inbox: its text, or what it was. A file is not saved
/// again: the session that sent it has it.
pub fn outgoing_body(kind: &BodyKind, body: &Bytes) -> Body {
    let size = human_size(body.len() as u64);
    match (kind, std::str::from_utf8(body)) {
        (BodyKind::File { name }, _) => Body::Text(format!("file {name} ({size})")),
        (_, Ok(text)) => Body::Text(text.to_owned()),
        (_, Err(_)) => Body::Text(format!("{size} of bytes")),
    }
}

mod sealed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_another_session_sent_is_described_not_saved() {
        let file = BodyKind::File {
            name: "a.txt".into(),
        };
        let body = Bytes::from_static(b"hello");
        assert_eq!(
            outgoing_body(&file, &body),
            Body::Text("file a.txt (5 B)".into())
        );
        assert_eq!(
            outgoing_body(&BodyKind::Text, &body),
            Body::Text("hello".into())
        );
        let bin = Bytes::from_static(&[0xff, 0]);
        assert_eq!(
            outgoing_body(&BodyKind::Bytes, &bin),
            Body::Text("2 B of bytes".into())
        );
    }

    #[test]
    fn a_stored_time_is_local() {
        let now = Local::now();
        let at = local_time(now.timestamp_millis() as u64);
        assert_eq!(
            at.format("%H:%M").to_string(),
            now.format("%H:%M").to_string()
        );
    }
}
