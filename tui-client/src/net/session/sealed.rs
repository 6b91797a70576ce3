//! The session's end-to-end traffic: envelopes opened (once their sender's key is known),
//! directory entries learnt, and relays sealed, sent in the clear, held or refused.

use bytes::Bytes;
use chrono::Local;
use shared::account::{AccountEntry, Who};
use shared::{ClientMsg, RequestId, UserId};
use tracing::debug;

use super::{local_time, Session, NET_REQ};
use crate::net::sealing::{HeldIn, Outgoing};
use crate::net::{receive, NetEvent, Relay};

impl Session<'_> {
    /// A directory entry the hub gave: a name lookup of ours, or the UI's `/whois`.
    pub(super) async fn directory_entry(
        &mut self,
        req: RequestId,
        account: Option<AccountEntry>,
    ) -> Result<bool, String> {
        let event = match (req, account) {
            (NET_REQ, None) => return Ok(true),
            (NET_REQ, Some(entry)) => {
                let names = NetEvent::Names(vec![(entry.user_id, entry.name.clone())]);
                self.memory.sealing.learn(entry);
                names
            }
            (req, account) => {
                let keys = account
                    .as_ref()
                    .and_then(|e| self.memory.sealing.describe(e));
                let account = account.map(|entry| {
                    let info = entry.info();
                    self.memory.sealing.learn(entry);
                    info
                });
                NetEvent::Account { req, account, keys }
            }
        };
        self.tell(event).await
    }

    /// An envelope: opened now if its sender's entry is known, else kept until it comes.
    pub(super) async fn sealed_in(&mut self, held: HeldIn) -> Result<bool, String> {
        if !self.memory.sealing.known(held.from) {
            if let Some(req) = self.memory.sealing.ask(held.from) {
                let who = Who::Id(held.from);
                self.send(&ClientMsg::<Bytes>::Lookup { req, who }).await?;
            }
            self.memory.sealing.hold_in(held);
            return Ok(true);
        }
        self.open_and_tell(held).await
    }

    /// Open an envelope whose sender's entry is known (or known to be missing) and hand it to
    /// the UI, or say why it did not open; a mailbox message is acknowledged after.
    pub(super) async fn open_and_tell(&mut self, held: HeldIn) -> Result<bool, String> {
        let HeldIn { from, stored, body } = held;
        let at = stored.map_or_else(|| Local::now().time(), |(_, ms)| local_time(ms));
        let event = match self.memory.sealing.open(from, &body) {
            Ok((kind, body)) => {
                let (_, body) = receive(&self.config.download_dir, from, kind, body).await;
                NetEvent::Message {
                    from,
                    at,
                    body,
                    clear: false,
                }
            }
            Err(why) => NetEvent::Unopened {
                from,
                at,
                changed: why.contains("CHANGED"),
                why,
            },
        };
        if !self.tell(event).await? {
            return Ok(false);
        }
        if let Some((seq, _)) = stored {
            self.memory.shown_through = Some(seq);
            return self
                .send(&ClientMsg::<Bytes>::Ack { req: NET_REQ, seq })
                .await;
        }
        Ok(true)
    }

    /// The answer to one of our key lookups: open what waited for it, send what can go.
    pub(super) async fn entry_came(
        &mut self,
        id: UserId,
        entry: Option<AccountEntry>,
    ) -> Result<bool, String> {
        match entry {
            Some(entry) => {
                let names = NetEvent::Names(vec![(entry.user_id, entry.name.clone())]);
                self.memory.sealing.learn(entry);
                if !self.tell(names).await? {
                    return Ok(false);
                }
            }
            None => self.memory.sealing.no_account(id),
        }
        for held in self.memory.sealing.release_in(id) {
            if !self.open_and_tell(held).await? {
                return Ok(false);
            }
        }
        for relay in self.memory.sealing.release_out() {
            if !self.relay(relay).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Send a relay the UI asked for: sealed, in the clear, after lookups, or refused.
    pub async fn relay(&mut self, relay: Relay) -> Result<bool, String> {
        match self.memory.sealing.outgoing(relay) {
            Outgoing::Send(relay) => {
                debug!(req = %relay.req, receivers = relay.to.len(), bytes = relay.body.len(), kind = ?relay.kind, "relay");
                self.send(&relay.into_msg()).await
            }
            Outgoing::Clear(relay, why) => {
                debug!(req = %relay.req, receivers = relay.to.len(), %why, "relay in the clear");
                let to = relay.to.clone();
                self.send(&relay.into_msg()).await?;
                self.tell(NetEvent::SentClear { to, why }).await
            }
            Outgoing::Lookup(ids) => {
                for id in ids {
                    if let Some(req) = self.memory.sealing.ask(id) {
                        let who = Who::Id(id);
                        self.send(&ClientMsg::<Bytes>::Lookup { req, who }).await?;
                    }
                }
                Ok(true)
            }
            Outgoing::Unsealable(relay, text) => {
                self.tell(NetEvent::Failed {
                    req: relay.req,
                    text,
                })
                .await
            }
            Outgoing::Refused(relay, id, why) => {
                let alert = NetEvent::KeyAlert {
                    id,
                    why: why.clone(),
                };
                if !self.tell(alert).await? {
                    return Ok(false);
                }
                let text = format!("{why}; not sent");
                self.tell(NetEvent::Failed {
                    req: relay.req,
                    text,
                })
                .await
            }
        }
    }
}
