//! The messages between the network task and the UI.

use std::time::Duration;

use chrono::NaiveTime;
use shared::{Limits, RequestId, UserId};

use super::relay::{Answer, Relay};
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
    /// The hub's answer to one of our relays.
    Relayed(RequestId, Answer),
    /// One of our requests failed.
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
    Relay(Relay),
}
