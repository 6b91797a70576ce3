//! End to end in the network task: the directory entries it has seen (with the keys it checks
//! against the pins), envelopes waiting for their sender's entry, relays waiting for their
//! receivers' entries, and the choice to seal a relay or send it in the clear.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use shared::account::{AccountEntry, FIRST_ACCOUNT_ID};
use shared::{BodyKind, RequestId, UserId};

use super::relay::Relay;
use crate::secure::Opener;

/// A sealed message waiting for its sender's directory entry.
#[derive(Debug)]
pub struct HeldIn {
    /// The sender.
    pub from: UserId,
    /// For a mailbox message: its seq and when it was stored.
    pub stored: Option<(u64, u64)>,
    /// The envelope.
    pub body: Bytes,
}

/// What to do with a relay the UI asked for.
#[derive(Debug)]
pub enum Outgoing {
    /// Send this relay sealed, or in the clear when nothing can be sealed (not logged in).
    Send(Relay),
    /// Send this relay in the clear although logged in: a receiver cannot read an envelope
    /// (why).
    Clear(Relay, String),
    /// Wait: these accounts' entries are needed first (the relay is kept).
    Lookup(Vec<UserId>),
    /// Refused: a receiver's key changed or is forged (the receiver and why).
    Refused(Relay, UserId, String),
    /// Not sent: it cannot be sealed (too big for an envelope); never sent in the clear.
    Unsealable(Relay, String),
}

/// The first request id of the lookups this module makes: above the UI's ids
/// ([`crate::app::UI_REQ_MAX`]) and below the network task's and the account helpers' own.
pub const LOOKUP_REQ_BASE: u32 = 1 << 31;
/// How many lookup ids there are before they go round.
const LOOKUP_REQS: u32 = 1 << 30;

/// The network task's end-to-end state; the opener exists once logged in.
#[derive(Debug, Default)]
pub struct Sealing {
    opener: Option<Opener>,
    entries: HashMap<UserId, AccountEntry>,
    /// Ids the hub said are no account.
    absent: HashSet<UserId>,
    asked: HashSet<UserId>,
    /// Lookups in flight: which id each asked about.
    lookups: HashMap<RequestId, UserId>,
    next_lookup: u32,
    held_in: Vec<HeldIn>,
    held_out: Vec<Relay>,
    /// Logged in, yet nothing can be sealed on this connection (a hub before version 4, a
    /// pins file that does not read): why, said with each relay to accounts sent in the clear.
    unkeyed: Option<String>,
}

impl Sealing {
    /// Logged in: envelopes can be opened and sealed with these keys from now on.
    pub fn start(&mut self, opener: Option<Opener>) {
        self.opener = opener;
        self.unkeyed = None;
        // A new connection answers lookups anew. What waited on the old one is dropped: a
        // mailbox message was not acknowledged and comes again, and the UI fails the relays
        // that were in flight.
        self.asked.clear();
        self.lookups.clear();
        self.held_in.clear();
        self.held_out.clear();
    }

    /// Logged in, but without keys on this connection, for `why`: relays to accounts go in
    /// the clear and say so.
    pub fn start_without_keys(&mut self, why: String) {
        self.start(None);
        self.unkeyed = Some(why);
    }

    /// Whether envelopes can be handled (logged in with keys).
    pub fn active(&self) -> bool {
        self.opener.is_some()
    }

    /// Remember an entry from the directory.
    pub fn learn(&mut self, entry: AccountEntry) {
        self.absent.remove(&entry.user_id);
        self.entries.insert(entry.user_id, entry);
    }

    /// Whether `id`'s entry is known, or known to be missing.
    pub fn known(&self, id: UserId) -> bool {
        self.entries.contains_key(&id) || self.absent.contains(&id)
    }

    /// The request id to ask the hub for `id`'s entry with, unless it was asked on this
    /// connection already.
    pub fn ask(&mut self, id: UserId) -> Option<RequestId> {
        if id.0 < FIRST_ACCOUNT_ID || !self.asked.insert(id) {
            return None;
        }
        let req = RequestId(LOOKUP_REQ_BASE + self.next_lookup);
        self.next_lookup = (self.next_lookup + 1) % LOOKUP_REQS;
        self.lookups.insert(req, id);
        Some(req)
    }

    /// The id a lookup of ours asked about, once its answer came.
    pub fn answered(&mut self, req: RequestId) -> Option<UserId> {
        self.lookups.remove(&req)
    }

    /// The hub said `id` has no account.
    pub fn no_account(&mut self, id: UserId) {
        self.entries.remove(&id);
        self.absent.insert(id);
    }

    /// Keep an envelope until its sender's entry comes.
    pub fn hold_in(&mut self, held: HeldIn) {
        self.held_in.push(held);
    }

    /// The envelopes from `id`, whose entry (or its absence) is now known.
    pub fn release_in(&mut self, id: UserId) -> Vec<HeldIn> {
        let (out, keep) = std::mem::take(&mut self.held_in)
            .into_iter()
            .partition(|h| h.from == id);
        self.held_in = keep;
        out
    }

    /// Open an envelope from `from` (whose entry is known, or known to be missing).
    pub fn open(&mut self, from: UserId, envelope: &[u8]) -> Result<(BodyKind, Bytes), String> {
        let entry = self.entries.get(&from).cloned();
        match &mut self.opener {
            Some(opener) => opener.open(from, entry.as_ref(), envelope),
            None => Err("an encrypted message, and this session is anonymous: not opened".into()),
        }
    }

    /// Open an envelope our own account sent from another session.
    pub fn open_own(&self, envelope: &[u8]) -> Result<(BodyKind, Bytes), String> {
        match &self.opener {
            Some(opener) => opener.open_own(envelope),
            None => Err("an encrypted message, and this session is anonymous".into()),
        }
    }

    /// This session's own fingerprint, once logged in.
    pub fn fingerprint(&self) -> Option<String> {
        self.opener.as_ref().map(|o| o.keys().fingerprint())
    }

    /// `entry`'s fingerprint and pin state, for `/whois`.
    pub fn describe(&mut self, entry: &AccountEntry) -> Option<String> {
        let mine = self.opener.as_ref()?.keys().me == entry.user_id;
        let identity = crate::secure::identity_key(entry).ok()?;
        let fingerprint = e2e::fingerprint(&identity);
        let pin = match self.opener.as_mut()?.trust().state(entry) {
            _ if mine => "yourself".to_owned(),
            Ok(state) => state.to_string(),
            Err(e) => e.to_string(),
        };
        let keyed = match entry.record {
            Some(_) => "encrypted",
            None => "no key published: not encrypted",
        };
        Some(format!("fingerprint {fingerprint} · {pin} · {keyed}"))
    }

    /// Decide what becomes of `relay`.
    pub fn outgoing(&mut self, relay: Relay) -> Outgoing {
        if self.opener.is_none() {
            return match &self.unkeyed {
                Some(why) if relay.to.iter().any(|id| id.0 >= FIRST_ACCOUNT_ID) => {
                    let why = why.clone();
                    Outgoing::Clear(relay, why)
                }
                _ => Outgoing::Send(relay),
            };
        }
        let missing: Vec<UserId> = relay
            .to
            .iter()
            .copied()
            .filter(|id| id.0 >= FIRST_ACCOUNT_ID && !self.known(*id))
            .collect();
        if !missing.is_empty() {
            self.held_out.push(relay);
            return Outgoing::Lookup(missing);
        }
        let opener = self.opener.as_mut().expect("checked above");
        let mut keys = Vec::with_capacity(relay.to.len());
        let mut clear = None;
        let mut refused = None;
        for id in &relay.to {
            let Some(entry) = self.entries.get(id) else {
                clear.get_or_insert_with(|| format!("#{id} is anonymous"));
                continue;
            };
            match opener.trust().check(entry) {
                Ok(checked) => match checked.receiver {
                    Some(key) => keys.push((*id, key)),
                    None => {
                        clear.get_or_insert_with(|| format!("{} has published no key", entry.name));
                    }
                },
                Err(e) => {
                    refused = Some((*id, e.to_string()));
                    break;
                }
            }
        }
        if let Some((id, why)) = refused {
            return Outgoing::Refused(relay, id, why);
        }
        if let Some(why) = clear {
            return Outgoing::Clear(relay, why);
        }
        match opener.keys().seal(&relay.kind, &relay.body, &keys) {
            Ok(envelope) => Outgoing::Send(Relay {
                kind: BodyKind::Sealed,
                body: envelope,
                ..relay
            }),
            Err(e) => Outgoing::Unsealable(relay, format!("cannot encrypt it: {e}")),
        }
    }

    /// The relays held for entries, to decide again now that one came.
    pub fn release_out(&mut self) -> Vec<Relay> {
        std::mem::take(&mut self.held_out)
    }
}

#[cfg(test)]
mod tests;
