//! A relay and its answer, each one type from the compose box (or `send`) to the wire and
//! back: nothing unpacks and rebuilds their fields on the way.

use bytes::Bytes;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};

/// One relay as the UI asks for it and the network task sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relay {
    /// Our request id, repeated in the answer.
    pub req: RequestId,
    /// The receivers.
    pub to: Vec<UserId>,
    /// Text or file.
    pub kind: BodyKind,
    /// The body.
    pub body: Bytes,
}

impl Relay {
    /// The request on the wire.
    pub fn into_msg(self) -> ClientMsg<Bytes> {
        ClientMsg::Relay {
            req: self.req,
            to: self.to,
            kind: self.kind,
            body: self.body,
        }
    }
}

/// The hub's answer to a relay: `Posted` from a hub of version 5 (with each queued copy's
/// mailbox seq), `Routed` from one of version 3, `Relayed` from an older one (which has no
/// mailboxes, so nothing is ever queued or full); then the receipts that came for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// How many connected receivers got it.
    pub delivered: u32,
    /// Offline accounts: it is in their mailbox until they log in.
    pub queued: Vec<UserId>,
    /// Ids that are neither connected nor accounts.
    pub unknown: Vec<UserId>,
    /// Ids dropped as slow consumers.
    pub dropped: Vec<UserId>,
    /// Accounts whose mailbox is full: not kept for them.
    pub full: Vec<UserId>,
    /// The mailbox seq of each of `queued`, in its order; empty from a hub before version 5,
    /// which sends no receipts.
    pub seqs: Vec<u64>,
    /// Those of `queued` whose receipt came: a session of theirs has it now.
    pub reached: Vec<UserId>,
}

impl Answer {
    /// The answer in `msg` and the request it answers, if `msg` is one.
    pub fn from_msg(msg: HubMsg) -> Result<(RequestId, Answer), HubMsg> {
        match msg {
            HubMsg::Relayed {
                req,
                delivered,
                unknown,
                dropped,
            } => Ok((
                req,
                Answer {
                    delivered,
                    unknown,
                    dropped,
                    ..Answer::default()
                },
            )),
            HubMsg::Routed {
                req,
                delivered,
                queued,
                unknown,
                dropped,
                full,
            } => Ok((
                req,
                Answer {
                    delivered,
                    queued,
                    unknown,
                    dropped,
                    full,
                    ..Answer::default()
                },
            )),
            HubMsg::Posted {
                req,
                delivered,
                queued,
                unknown,
                dropped,
                full,
            } => Ok((
                req,
                Answer {
                    delivered,
                    queued: queued.iter().map(|k| k.to).collect(),
                    seqs: queued.iter().map(|k| k.seq).collect(),
                    unknown,
                    dropped,
                    full,
                    reached: Vec::new(),
                },
            )),
            other => Err(other),
        }
    }

    /// The receipt `Delivered { to, through }` came: whether it reached this copy (queued
    /// for `to` under a seq up to `through`, and not marked yet).
    pub fn receipt(&mut self, to: UserId, through: u64) -> bool {
        let copy = self
            .queued
            .iter()
            .zip(&self.seqs)
            .any(|(&id, &seq)| id == to && seq <= through);
        if !copy || self.reached.contains(&to) {
            return false;
        }
        self.reached.push(to);
        true
    }

    /// Those of `queued` with no receipt yet.
    pub fn waiting(&self) -> Vec<UserId> {
        self.queued
            .iter()
            .copied()
            .filter(|id| !self.reached.contains(id))
            .collect()
    }

    /// How many receivers did not get it and will not: unknown, dropped or full.
    pub fn failed(&self) -> usize {
        self.unknown.len() + self.dropped.len() + self.full.len()
    }

    /// Whether every receiver got it or has it in their mailbox.
    pub fn complete(&self) -> bool {
        self.failed() == 0
    }

    /// The exit code of a `send` that got this answer.
    pub fn exit_code(&self) -> u8 {
        crate::exit::for_delivery(self.delivered, self.queued.len(), self.failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_and_relayed_answers_read_alike() {
        let routed = HubMsg::Routed {
            req: RequestId(4),
            delivered: 1,
            queued: vec![UserId(1 << 32)],
            unknown: vec![UserId(9)],
            dropped: vec![],
            full: vec![UserId((1 << 32) + 1)],
        };
        let (req, answer) = Answer::from_msg(routed).expect("an answer");
        assert_eq!((req, answer.failed()), (RequestId(4), 2));
        assert_eq!(answer.exit_code(), crate::exit::PARTIAL);
        let relayed = HubMsg::Relayed {
            req: RequestId(5),
            delivered: 2,
            unknown: vec![],
            dropped: vec![],
        };
        let (_, answer) = Answer::from_msg(relayed).expect("an answer");
        assert!(answer.complete() && answer.queued.is_empty());
        assert_eq!(answer.exit_code(), crate::exit::OK);
        assert!(Answer::from_msg(HubMsg::KeepAlive).is_err());
    }

    #[test]
    fn a_receipt_reaches_the_copies_up_to_its_seq_once() {
        let (bob, carol) = (UserId(1 << 32), UserId((1 << 32) + 1));
        let posted = HubMsg::Posted {
            req: RequestId(4),
            delivered: 0,
            queued: vec![
                shared::account::Kept { to: bob, seq: 7 },
                shared::account::Kept { to: carol, seq: 2 },
            ],
            unknown: vec![],
            dropped: vec![],
            full: vec![],
        };
        let (_, mut answer) = Answer::from_msg(posted).expect("an answer");
        assert_eq!(answer.seqs, vec![7, 2]);
        assert!(!answer.receipt(bob, 6), "seq 7 was not acknowledged yet");
        assert!(!answer.receipt(UserId(9), 100), "not queued for 9");
        assert!(answer.receipt(bob, 7));
        assert!(!answer.receipt(bob, 8), "once");
        assert_eq!(answer.waiting(), vec![carol]);
        let mut routed = Answer {
            queued: vec![bob],
            ..Answer::default()
        };
        assert!(!routed.receipt(bob, 100), "no seq: a hub before receipts");
    }
}
