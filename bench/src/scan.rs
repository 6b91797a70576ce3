//! Streaming parsers for the three wire protocols that count messages without buffering them.
//!
//! A receiver in a throughput run must never be the bottleneck, so none of these parsers
//! collects a whole message: each keeps only the first [`CAP`] bytes of a body (enough for the
//! send timestamp that latency runs need) and skips the rest as it streams past. A 1 MiB body
//! therefore costs one pass over the read buffer and no copy.

mod hub;
mod nats;
mod redis;

use crate::proto::Proto;

/// How many leading bytes of each body a parser keeps.
pub const CAP: usize = 64;

/// What a parser found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A delivered message; the slice is the start of its body (at most [`CAP`] bytes).
    Msg(&'a [u8]),
    /// A publisher's answer: receivers a relay (hub) or a PUBLISH (Redis) reached, and (hub
    /// only) how many it did not reach: dropped as too slow, or no longer (or not yet) known,
    /// and at version 3 queued in or refused by a mailbox.
    Ack {
        /// Receivers reached.
        delivered: u64,
        /// Receivers not reached.
        dropped: u64,
    },
    /// The hub's welcome, with the connection's user id.
    Welcome(u64),
    /// The hub's answer to `Hello`: the version agreed.
    Hello(u64),
    /// The hub's login challenge (its nonce).
    Challenge(&'a [u8]),
    /// The hub's answer to a login: the account's id.
    LoggedIn(u64),
    /// A Redis subscription is confirmed.
    Subscribed,
    /// NATS answered our PING, or Redis answered a command with a reply we do not count.
    Pong,
    /// The server asks whether we are alive (hub keepalive, NATS PING).
    Ping,
    /// The server reported an error; for the hub, its `ErrorKind` tag.
    Error(u64),
}

/// One connection's parser.
pub enum Scanner {
    /// hubbub frames.
    Hub(hub::HubScan),
    /// NATS text protocol.
    Nats(nats::NatsScan),
    /// Redis RESP3.
    Redis(redis::RespScan),
}

impl Scanner {
    /// A fresh parser for `proto`.
    pub fn new(proto: Proto) -> Scanner {
        match proto {
            Proto::Hub => Scanner::Hub(hub::HubScan::default()),
            Proto::Nats => Scanner::Nats(nats::NatsScan::default()),
            Proto::Redis => Scanner::Redis(redis::RespScan::default()),
        }
    }

    /// Parse `data`, calling `sink` for each event in order.
    pub fn feed(&mut self, data: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        match self {
            Scanner::Hub(s) => s.feed(data, sink),
            Scanner::Nats(s) => s.feed(data, sink),
            Scanner::Redis(s) => s.feed(data, sink),
        }
    }
}

/// A fixed buffer that keeps the first [`CAP`] bytes offered to it.
#[derive(Default)]
struct Capture {
    buf: Vec<u8>,
}

impl Capture {
    fn clear(&mut self) {
        self.buf.clear();
    }

    fn offer(&mut self, data: &[u8]) {
        let room = CAP.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..room.min(data.len())]);
    }

    fn get(&self) -> &[u8] {
        &self.buf
    }
}

/// Parse an ASCII decimal integer, as both text protocols write them.
fn ascii_int(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.trim().parse().ok()
}
