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

/// The hub's answer to a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// How many got it.
    pub delivered: u32,
    /// Ids that are not connected.
    pub unknown: Vec<UserId>,
    /// Ids dropped as slow consumers.
    pub dropped: Vec<UserId>,
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
                },
            )),
            other => Err(other),
        }
    }

    /// Whether every receiver got it.
    pub fn complete(&self) -> bool {
        self.unknown.is_empty() && self.dropped.is_empty()
    }
}
