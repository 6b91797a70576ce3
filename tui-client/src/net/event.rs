//! The messages between the network task and the UI.

use bytes::Bytes;
use chrono::NaiveTime;
use shared::{BodyKind, Limits, RequestId, UserId};
use std::time::Duration;

use crate::incoming::Body;

/// What the network task tells the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// Trying to connect (attempt 1 is the first).
    Connecting {
        /// Which attempt.
        attempt: u32,
    },
    /// Connected; the hub gave us this identity.
    Connected {
        /// Our id on this connection.
        user_id: UserId,
        /// The hub's limits.
        limits: Limits,
    },
    /// The connection is gone; the next attempt is in `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// Everyone else connected right now (the start of the watch).
    Peers(Vec<UserId>),
    /// A user connected.
    Joined(UserId),
    /// A user disconnected.
    Left(UserId),
    /// A message for us.
    Message {
        /// The sender.
        from: UserId,
        /// When it arrived (local time).
        at: NaiveTime,
        /// Text, or the saved file.
        body: Body,
    },
    /// The answer to one of our relays.
    Relayed {
        /// Which relay.
        req: RequestId,
        /// How many got it.
        delivered: u32,
        /// Ids that are not connected.
        unknown: Vec<UserId>,
        /// Ids dropped as slow consumers.
        dropped: Vec<UserId>,
    },
    /// One of our requests failed (or could not be sent).
    Failed {
        /// Which request.
        req: RequestId,
        /// Why.
        text: String,
    },
}

/// What the UI asks of the network task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetCommand {
    /// Relay a body.
    Relay {
        /// Our request id, repeated in the answer.
        req: RequestId,
        /// The receivers.
        to: Vec<UserId>,
        /// Text or file.
        kind: BodyKind,
        /// The body.
        body: Bytes,
    },
}
