//! Identifiers: who a user is, and which request an answer belongs to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A connection's identity, handed out by the hub from 1 upwards and never reused while the hub
/// runs. On the wire it is a postcard varint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Chosen by the client for each request and echoed in the answer, so a client can have many
/// requests in flight and still match answers to them.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct RequestId(pub u32);

impl RequestId {
    /// The id after this one, wrapping at `u32::MAX`.
    pub fn next(self) -> RequestId {
        RequestId(self.0.wrapping_add(1))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
