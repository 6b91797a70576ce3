//! The "nothing lost" ledger: every relay a test makes and every message a receiver gets is
//! written down, and [`Ledger::check`] proves the hub accounted for each receiver exactly once
//! and delivered each sender's stream in order, without gaps or duplicates.
//!
//! A ledger relay's body is its token (8 bytes, big-endian, also its request id) followed by a
//! fill derived from the token, so a receiver can tell which relay a message belongs to and that
//! its body arrived intact. `baseline.rs` checks that the hub gave back everything else.
//!
//! A receiver listed as `queued` (an account that was away) is owed the message as much as one
//! it was delivered to: it arrives later as a `Stored` push, which [`Ledger::receive`] takes
//! like a `Message`. A test drops repeated `Stored` seqs before it records them, as a client
//! does, so the ledger sees what a person would.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use bytes::{BufMut, BytesMut};
use shared::{BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId};

/// What the hub answered to one relay.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Relayed {
        delivered: u32,
        queued: Vec<UserId>,
        unknown: Vec<UserId>,
        dropped: Vec<UserId>,
        full: Vec<UserId>,
    },
    Refused(ErrorKind),
}

#[derive(Debug)]
struct Relay {
    sender: UserId,
    to: Vec<UserId>,
    answer: Option<Answer>,
}

#[derive(Debug, Default)]
struct Inner {
    next_token: u32,
    relays: BTreeMap<u32, Relay>,
    /// Per receiver, (true sender, token) in arrival order.
    received: HashMap<UserId, Vec<(UserId, u32)>>,
    /// Receivers the test kept healthy to the end: they must have every delivery.
    healthy: HashSet<UserId>,
    /// Senders that went away: their unanswered relays are not a violation.
    gone: HashSet<UserId>,
    violations: Vec<String>,
}

/// The record of one test's relays and deliveries. Shared between tasks by reference or `Arc`.
#[derive(Debug, Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

/// The first bytes of every ledger body: the token.
const TOKEN_LEN: usize = 8;

/// The fill of a body: 256 bytes that depend on the token, repeated after the token. A
/// pattern rather than a byte-by-byte formula keeps building and checking 1 MiB bodies cheap.
fn pattern(token: u32) -> [u8; 256] {
    let mut p = [0u8; 256];
    for (i, b) in p.iter_mut().enumerate() {
        *b = (token as usize).wrapping_mul(31).wrapping_add(i) as u8;
    }
    p
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("ledger lock")
    }

    /// Write down a relay from `sender` to `to` with a body of `size` bytes (at least 8) and
    /// return the message to send. Its request id is its token.
    pub fn relay(&self, sender: UserId, to: &[UserId], size: usize) -> ClientMsg {
        let mut inner = self.lock();
        inner.next_token += 1;
        let token = inner.next_token;
        inner.relays.insert(
            token,
            Relay {
                sender,
                to: to.to_vec(),
                answer: None,
            },
        );
        drop(inner);
        let size = size.max(TOKEN_LEN);
        let mut body = BytesMut::with_capacity(size);
        body.put_u64(u64::from(token));
        let pattern = pattern(token);
        while body.len() < size {
            let n = (size - body.len()).min(pattern.len());
            body.put_slice(&pattern[..n]);
        }
        ClientMsg::Relay {
            req: RequestId(token),
            to: to.to_vec(),
            kind: BodyKind::Bytes,
            body: body.freeze(),
        }
    }

    /// Record an answer the sender got. Returns whether it was the answer to a ledger relay.
    pub fn answer(&self, sender: UserId, msg: &HubMsg) -> bool {
        let (req, answer) = match msg {
            HubMsg::Relayed {
                req,
                delivered,
                unknown,
                dropped,
            } => (
                *req,
                Answer::Relayed {
                    delivered: *delivered,
                    queued: Vec::new(),
                    unknown: unknown.clone(),
                    dropped: dropped.clone(),
                    full: Vec::new(),
                },
            ),
            HubMsg::Routed {
                req,
                delivered,
                queued,
                unknown,
                dropped,
                full,
            } => (
                *req,
                Answer::Relayed {
                    delivered: *delivered,
                    queued: queued.clone(),
                    unknown: unknown.clone(),
                    dropped: dropped.clone(),
                    full: full.clone(),
                },
            ),
            HubMsg::Posted {
                req,
                delivered,
                queued,
                unknown,
                dropped,
                full,
            } => (
                *req,
                Answer::Relayed {
                    delivered: *delivered,
                    queued: queued.iter().map(|k| k.to).collect(),
                    unknown: unknown.clone(),
                    dropped: dropped.clone(),
                    full: full.clone(),
                },
            ),
            HubMsg::Error {
                req: Some(req),
                kind,
                ..
            } => (*req, Answer::Refused(*kind)),
            _ => return false,
        };
        let mut inner = self.lock();
        let Some(relay) = inner.relays.get_mut(&req.0) else {
            inner
                .violations
                .push(format!("answer to unknown relay {req:?}"));
            return true;
        };
        if relay.sender != sender {
            let msg = format!(
                "{sender} got the answer to {}'s relay {}",
                relay.sender, req.0
            );
            inner.violations.push(msg);
        } else if relay.answer.replace(answer).is_some() {
            inner
                .violations
                .push(format!("relay {} answered twice", req.0));
        }
        true
    }

    /// Record a message `receiver` got, live (`Message`) or from its mailbox (`Stored`).
    /// Returns whether it was a ledger delivery.
    pub fn receive(&self, receiver: UserId, msg: &HubMsg) -> bool {
        let (HubMsg::Message { from, body, .. } | HubMsg::Stored { from, body, .. }) = msg else {
            return false;
        };
        let mut inner = self.lock();
        let Some(token) = body_token(body) else {
            inner
                .violations
                .push(format!("{receiver} got a mangled body"));
            return true;
        };
        match inner.relays.get(&token) {
            None => inner
                .violations
                .push(format!("{receiver} got unknown token {token}")),
            Some(relay) if relay.sender != *from => {
                let claimed = relay.sender;
                let msg = format!("relay {token} by {claimed} arrived stamped from {from}");
                inner.violations.push(msg);
            }
            Some(_) => {}
        }
        inner
            .received
            .entry(receiver)
            .or_default()
            .push((*from, token));
        true
    }

    /// `receiver` stayed connected and read everything: it must hold every delivery.
    pub fn healthy(&self, receiver: UserId) {
        self.lock().healthy.insert(receiver);
    }

    /// `sender` went away: relays it sent but never saw answered are not a violation.
    pub fn gone(&self, sender: UserId) {
        self.lock().gone.insert(sender);
    }

    /// How many messages `receiver` should get: relays answered as delivered to it.
    pub fn expected(&self, receiver: UserId) -> usize {
        let inner = self.lock();
        inner
            .relays
            .values()
            .filter(|r| delivered_to(r).is_some_and(|d| d.contains(&receiver)))
            .count()
    }

    /// How many ledger messages `receiver` got.
    pub fn received(&self, receiver: UserId) -> usize {
        let inner = self.lock();
        inner.received.get(&receiver).map_or(0, Vec::len)
    }

    /// Relays still waiting for an answer from senders that are still connected.
    pub fn unanswered_live(&self) -> usize {
        let inner = self.lock();
        let live = |r: &&Relay| r.answer.is_none() && !inner.gone.contains(&r.sender);
        inner.relays.values().filter(live).count()
    }

    /// Relays recorded so far.
    pub fn relays(&self) -> usize {
        self.lock().relays.len()
    }

    /// Totals over answered relays: (delivered, unknown, dropped, refused); a mailbox that
    /// kept it counts as delivered, a full one as dropped.
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        let inner = self.lock();
        let mut t = (0, 0, 0, 0);
        for relay in inner.relays.values() {
            match &relay.answer {
                Some(Answer::Relayed {
                    delivered,
                    queued,
                    unknown,
                    dropped,
                    full,
                }) => {
                    t.0 += u64::from(*delivered) + queued.len() as u64;
                    t.1 += unknown.len() as u64;
                    t.2 += (dropped.len() + full.len()) as u64;
                }
                Some(Answer::Refused(_)) => t.3 += 1,
                None => {}
            }
        }
        t
    }

    /// Every rule, checked over everything recorded; the violations, if any.
    pub fn violations(&self) -> Vec<String> {
        let inner = self.lock();
        let mut out = inner.violations.clone();
        check_answers(&inner, &mut out);
        check_streams(&inner, &mut out);
        out
    }

    /// Panic with every violation, if there is any.
    pub fn check(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "ledger violated ({} problems): {:#?}",
            violations.len(),
            &violations[..violations.len().min(20)]
        );
    }
}

/// The token of a ledger body, if the body is intact.
fn body_token(body: &[u8]) -> Option<u32> {
    let head: [u8; TOKEN_LEN] = body.get(..TOKEN_LEN)?.try_into().ok()?;
    let token = u32::try_from(u64::from_be_bytes(head)).ok()?;
    let pattern = pattern(token);
    let intact = body[TOKEN_LEN..]
        .chunks(pattern.len())
        .all(|c| c == &pattern[..c.len()]);
    intact.then_some(token)
}

/// The receivers a relay was queued for, if the hub answered that it was.
fn delivered_to(relay: &Relay) -> Option<Vec<UserId>> {
    match &relay.answer {
        Some(Answer::Relayed {
            unknown,
            dropped,
            full,
            ..
        }) => Some(
            relay
                .to
                .iter()
                .copied()
                .filter(|id| !unknown.contains(id) && !dropped.contains(id) && !full.contains(id))
                .collect(),
        ),
        _ => None,
    }
}

/// Each receiver of each answered relay is accounted for exactly once.
fn check_answers(inner: &Inner, out: &mut Vec<String>) {
    for (token, relay) in &inner.relays {
        match &relay.answer {
            None if !inner.gone.contains(&relay.sender) => {
                out.push(format!("relay {token} by {} never answered", relay.sender));
            }
            Some(Answer::Relayed {
                delivered,
                queued,
                unknown,
                dropped,
                full,
            }) => {
                let accounted = queued.iter().chain(unknown).chain(dropped).chain(full);
                let mut seen = HashSet::new();
                for id in accounted {
                    if !relay.to.contains(id) || !seen.insert(*id) {
                        out.push(format!("relay {token}: {id} listed wrongly or twice"));
                    }
                }
                let rest = relay.to.len() - seen.len().min(relay.to.len());
                if *delivered as usize != rest {
                    out.push(format!(
                        "relay {token}: delivered {delivered} but {rest} receivers unaccounted"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Per (sender, receiver): arrivals in order, no duplicates, nothing that was not delivered,
/// no gaps (the arrivals are a prefix of the deliveries), and everything for healthy receivers.
fn check_streams(inner: &Inner, out: &mut Vec<String>) {
    let mut expected: HashMap<(UserId, UserId), Vec<u32>> = HashMap::new();
    for (token, relay) in &inner.relays {
        for r in delivered_to(relay).unwrap_or_default() {
            expected.entry((relay.sender, r)).or_default().push(*token);
        }
    }
    let mut got: HashMap<(UserId, UserId), Vec<u32>> = HashMap::new();
    for (receiver, arrivals) in &inner.received {
        for (from, token) in arrivals {
            got.entry((*from, *receiver)).or_default().push(*token);
        }
    }
    for ((s, r), tokens) in &got {
        if tokens.windows(2).any(|w| w[0] >= w[1]) {
            out.push(format!(
                "{s} -> {r}: out of order or duplicated: {tokens:?}"
            ));
        }
        // Unanswered relays (their sender went away) may or may not have arrived.
        let answered: Vec<u32> = tokens
            .iter()
            .copied()
            .filter(|t| inner.relays.get(t).is_some_and(|x| x.answer.is_some()))
            .collect();
        let want = expected.get(&(*s, *r)).map_or(&[][..], Vec::as_slice);
        if !want.starts_with(&answered) {
            out.push(format!(
                "{s} -> {r}: got {answered:?}, not a prefix of the deliveries {want:?}"
            ));
        }
    }
    for ((s, r), want) in &expected {
        let have = got.get(&(*s, *r)).map_or(0, Vec::len);
        if inner.healthy.contains(r) && have < want.len() {
            out.push(format!(
                "{s} -> {r}: healthy receiver got {have} of {}",
                want.len()
            ));
        }
    }
}
