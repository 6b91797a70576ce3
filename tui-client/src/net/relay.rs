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

/// The hub's answer to a relay: `Routed` from a hub of version 3, `Relayed` from an older
/// one (which has no mailboxes, so nothing is ever queued or full).
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
                },
            )),
            other => Err(other),
        }
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
}
