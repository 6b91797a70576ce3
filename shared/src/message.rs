//! Frames ↔ messages: the two direction-named enums and their postcard encoding.
//!
//! postcard is not self-describing: a variant's tag is its position. Both enums are therefore
//! append-only; `docs/PROTOCOL.md` shows the bytes of every variant and a test keeps the two in
//! step.
//!
//! Messages are generic over the body type `B`. Owners use the default [`Bytes`]; the hub
//! decodes into `&[u8]` borrowed from the frame so that a relayed body is copied exactly once,
//! into the outgoing frame that every receiver shares.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use decode::decode_exact;

mod decode;
mod kind;

pub use kind::{BodyKind, ErrorKind};

use crate::account::{
    AccountEntry, AccountInfo, Kept, KeyRecord, PeerInfo, PublicKey, Signature, Who, CHALLENGE_LEN,
};
use crate::error::{DecodeError, EncodeError};
use crate::id::{RequestId, UserId};
use crate::limits::{Limits, MAX_FRAME_LEN};

/// The highest protocol version this code speaks. Every append to [`ClientMsg`], [`HubMsg`],
/// [`BodyKind`] or [`ErrorKind`] raises it; `docs/PROTOCOL.md` § 12 lists what each version has.
pub const PROTOCOL_VERSION: u32 = 7;

/// The version that brought accounts and mailboxes: the requests of
/// [`ClientMsg::is_account_request`] need a connection at least there.
pub const ACCOUNTS_VERSION: u32 = 3;

/// The version that brought end-to-end keys: [`ClientMsg::PublishKey`], the directory's
/// [`HubMsg::Entry`] and [`HubMsg::Entries`], and [`BodyKind::Sealed`].
pub const KEYS_VERSION: u32 = 4;

/// The version that brought delivery receipts: a relay is answered by [`HubMsg::Posted`]
/// (the mailbox seq of each queued copy) and an account hears [`HubMsg::Delivered`] when a
/// receiver acknowledges what it queued. Connections below it get neither.
pub const RECEIPTS_VERSION: u32 = 5;

/// The version that brought coalesced presence: a watcher at it or later gets
/// [`HubMsg::Presence`] (many arrivals and leaves in one frame) in place of one
/// [`HubMsg::Arrived`] or [`HubMsg::Left`] per change.
pub const PRESENCE_VERSION: u32 = 6;

/// The version that brought `List` answers of any size: a connection at it or later gets
/// [`HubMsg::PeersPart`] frames of [`crate::limits::LIST_CHUNK`] ids before the closing
/// [`HubMsg::Peers`]; an older one gets only the first [`crate::limits::LIST_CHUNK`] ids.
pub const LIST_VERSION: u32 = 7;

/// The version every connection starts at, and the `version` of every [`HubMsg::Welcome`]:
/// the welcome's shape is frozen, so clients of any version can read it. A client raises the
/// connection's version with [`ClientMsg::Hello`].
pub const BASE_VERSION: u32 = 1;

/// A message from a client to the hub. Every request carries a client-chosen [`RequestId`]
/// that its answer repeats.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ClientMsg<B = Bytes> {
    /// Who am I? Answered by [`HubMsg::Identity`].
    Identity {
        /// Request id.
        req: RequestId,
    },
    /// Which other users are connected? Answered by [`HubMsg::Peers`].
    List {
        /// Request id.
        req: RequestId,
    },
    /// Deliver `body` to each of `to` (1..=255 distinct ids, self allowed). Answered by
    /// [`HubMsg::Relayed`] (at version 3, [`HubMsg::Routed`]) or [`HubMsg::Error`].
    Relay {
        /// Request id.
        req: RequestId,
        /// The receivers.
        to: Vec<UserId>,
        /// What the body is, passed through to the receivers.
        kind: BodyKind,
        /// At most [`crate::MAX_BODY_LEN`] bytes.
        body: B,
    },
    /// Send `body` back to me. Answered by [`HubMsg::Echo`].
    Echo {
        /// Request id.
        req: RequestId,
        /// At most [`crate::MAX_BODY_LEN`] bytes.
        body: B,
    },
    /// Tell me who is here and who comes and goes. Answered by [`HubMsg::Peers`], then
    /// [`HubMsg::Joined`] and [`HubMsg::Left`] pushes until the connection ends.
    Watch {
        /// Request id.
        req: RequestId,
    },
    /// Are you there? Answered by [`HubMsg::Pong`].
    Ping {
        /// Request id.
        req: RequestId,
    },
    /// The answer to the hub's [`HubMsg::KeepAlive`].
    KeepAliveAck,
    /// Since version 2. The highest version I speak; only as the first request on a
    /// connection. Answered by [`HubMsg::Hello`].
    Hello {
        /// Request id.
        req: RequestId,
        /// The client's highest version.
        version: u32,
    },
    /// Since version 3. Give me a fresh challenge to sign. Answered by [`HubMsg::Challenge`];
    /// the next [`ClientMsg::Register`], [`ClientMsg::Login`] or [`ClientMsg::DeleteAccount`]
    /// uses it up, whatever its outcome.
    Challenge {
        /// Request id.
        req: RequestId,
    },
    /// Since version 3. Create the account `name` bound to `key`, and log this connection in
    /// as it. `signature` is `key`'s over [`crate::account::signed_bytes`] for
    /// [`crate::account::Purpose::Register`] and this connection's challenge. Answered by
    /// [`HubMsg::LoggedIn`] or [`HubMsg::Error`].
    Register {
        /// Request id.
        req: RequestId,
        /// The wanted name; the hub folds it to lower case.
        name: String,
        /// The account's public key.
        key: PublicKey,
        /// Proof that the registrant holds the key.
        signature: Signature,
    },
    /// Since version 3. Log this connection in as the account `name`, signing for
    /// [`crate::account::Purpose::Login`]. Answered by [`HubMsg::LoggedIn`], then the
    /// mailbox as [`HubMsg::Stored`] pushes; or by [`HubMsg::Error`].
    Login {
        /// Request id.
        req: RequestId,
        /// The account's name, in any case.
        name: String,
        /// The account key's signature.
        signature: Signature,
        /// Whether this connection is to be a session of the account, taking relays to it and
        /// its mailbox. `false` logs in to act as the account only (a one-shot `send`, a
        /// delete): relays to the account are not delivered here, where they would be lost
        /// when the connection ends, but to its sessions or its mailbox.
        receive: bool,
    },
    /// Since version 3. Look an account up by name or by id. Answered by [`HubMsg::Account`].
    Lookup {
        /// Request id.
        req: RequestId,
        /// Whom.
        who: Who,
    },
    /// Since version 3. List the accounts whose names match `pattern`, a glob (`*` any run,
    /// `?` one character, anything else itself). Answered by [`HubMsg::Users`].
    Users {
        /// Request id.
        req: RequestId,
        /// At most [`crate::account::MAX_PATTERN_LEN`] bytes.
        pattern: String,
    },
    /// Since version 3. Delete the account this connection is logged in as, with everything
    /// stored for it, signing for [`crate::account::Purpose::Delete`]. Answered by
    /// [`HubMsg::Done`]; then every session of the account is closed.
    DeleteAccount {
        /// Request id.
        req: RequestId,
        /// The account key's signature.
        signature: Signature,
    },
    /// Since version 3. Every [`HubMsg::Stored`] message up to and including `seq` has been
    /// received: the hub may forget them. Answered by [`HubMsg::Done`] once that is durable.
    Ack {
        /// Request id.
        req: RequestId,
        /// The highest sequence number received.
        seq: u64,
    },
    /// Since version 4. Publish this account's end-to-end receiver key: the hub checks the
    /// record's signature against the account key and keeps it, replacing any earlier one.
    /// Answered by [`HubMsg::Done`] or [`HubMsg::Error`] (`WrongState` when not logged in,
    /// `BadKeyRecord`, `StoreFailed`).
    PublishKey {
        /// Request id.
        req: RequestId,
        /// The key and the account key's signature over it.
        record: KeyRecord,
    },
}

/// A message from the hub to a client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum HubMsg<B = Bytes> {
    /// The first frame on every connection.
    Welcome {
        /// Always [`BASE_VERSION`], whatever the hub speaks.
        version: u32,
        /// The identity of this connection.
        user_id: UserId,
        /// The limits in force.
        limits: Limits,
    },
    /// Answer to [`ClientMsg::Identity`].
    Identity {
        /// Request id.
        req: RequestId,
        /// The identity of this connection.
        user_id: UserId,
    },
    /// Answer to [`ClientMsg::List`] and the snapshot that starts [`ClientMsg::Watch`]: every
    /// other connected id, ascending.
    Peers {
        /// Request id.
        req: RequestId,
        /// The ids.
        peers: Vec<UserId>,
    },
    /// Answer to [`ClientMsg::Relay`]: what became of each receiver.
    Relayed {
        /// Request id.
        req: RequestId,
        /// How many receivers had the message queued for them.
        delivered: u32,
        /// Receivers that are not connected.
        unknown: Vec<UserId>,
        /// Receivers that were too slow to take it and have been disconnected.
        dropped: Vec<UserId>,
    },
    /// Answer to [`ClientMsg::Echo`].
    Echo {
        /// Request id.
        req: RequestId,
        /// The body that was sent.
        body: B,
    },
    /// Answer to [`ClientMsg::Ping`].
    Pong {
        /// Request id.
        req: RequestId,
    },
    /// A relayed message; `from` is stamped by the hub and cannot be forged.
    Message {
        /// The sender.
        from: UserId,
        /// What the body is, as the sender said.
        kind: BodyKind,
        /// The body.
        body: B,
    },
    /// Presence push for watchers: a user connected.
    Joined {
        /// Who.
        user_id: UserId,
    },
    /// Presence push for watchers: a user disconnected.
    Left {
        /// Who.
        user_id: UserId,
    },
    /// The hub has heard nothing for a while; answer with [`ClientMsg::KeepAliveAck`].
    KeepAlive,
    /// Something went wrong. With a `req`, that request failed and the connection stays open;
    /// without one, the hub is about to close the connection.
    Error {
        /// The request that failed, if any.
        req: Option<RequestId>,
        /// Machine-readable cause.
        kind: ErrorKind,
        /// Human-readable detail.
        text: String,
    },
    /// Since version 2. Answer to [`ClientMsg::Hello`]: the version both sides speak from now
    /// on, the lower of the client's and the hub's.
    Hello {
        /// Request id.
        req: RequestId,
        /// The agreed version.
        version: u32,
    },
    /// Since version 3. Answer to [`ClientMsg::Challenge`]: fresh random bytes for the next
    /// signature of this connection.
    Challenge {
        /// Request id.
        req: RequestId,
        /// The challenge: on the wire a byte string of exactly this length.
        #[serde(with = "crate::account::wire")]
        nonce: [u8; CHALLENGE_LEN],
    },
    /// Since version 3. Answer to [`ClientMsg::Register`] and [`ClientMsg::Login`]: this
    /// connection is now a session of the account, and its user id is the account's.
    LoggedIn {
        /// Request id.
        req: RequestId,
        /// The account's stable id.
        user_id: UserId,
        /// The account's canonical name.
        name: String,
        /// Messages waiting in its mailbox; they follow as [`HubMsg::Stored`] pushes.
        waiting: u64,
    },
    /// Since version 3. Answer to [`ClientMsg::Lookup`].
    Account {
        /// Request id.
        req: RequestId,
        /// The account, if there is one.
        account: Option<AccountInfo>,
    },
    /// Since version 3. Answer to [`ClientMsg::Users`]: matching accounts by name, ascending.
    Users {
        /// Request id.
        req: RequestId,
        /// At most [`crate::account::MAX_DIRECTORY_RESULTS`] accounts.
        users: Vec<AccountInfo>,
        /// More accounts matched than are listed.
        limited: bool,
    },
    /// Since version 3. Answer to [`ClientMsg::DeleteAccount`] and [`ClientMsg::Ack`]: done,
    /// and durable.
    Done {
        /// Request id.
        req: RequestId,
    },
    /// Since version 3. Answer to [`ClientMsg::Relay`] at version 3 or more (older clients
    /// get [`HubMsg::Relayed`]): what became of each receiver.
    Routed {
        /// Request id.
        req: RequestId,
        /// How many receivers had the message queued for a connected session.
        delivered: u32,
        /// Accounts with no session connected: the message is in their mailbox, on disk.
        queued: Vec<UserId>,
        /// Receivers that are neither connected nor accounts.
        unknown: Vec<UserId>,
        /// Receivers that were too slow to take it and have been disconnected.
        dropped: Vec<UserId>,
        /// Accounts whose mailbox is full: the message was not kept for them.
        full: Vec<UserId>,
    },
    /// Since version 3. A message kept in this account's mailbox while no session of it was
    /// connected. It stays there until acknowledged with [`ClientMsg::Ack`], and may come
    /// again (with the same `seq`) on a later login: a client drops a `seq` it has seen.
    Stored {
        /// The mailbox's sequence number: ascending, never reused for this account.
        seq: u64,
        /// The sender, stamped by the hub.
        from: UserId,
        /// When the hub stored it, in milliseconds since the Unix epoch.
        sent_at_ms: u64,
        /// What the body is, as the sender said.
        kind: BodyKind,
        /// The body.
        body: B,
    },
    /// Since version 3. The snapshot that starts a [`ClientMsg::Watch`] at version 3 or more
    /// (older clients get [`HubMsg::Peers`]): everyone else present, by id ascending, with
    /// the names of accounts. An account is there once, however many sessions it has.
    Present {
        /// Request id.
        req: RequestId,
        /// Who.
        peers: Vec<PeerInfo>,
    },
    /// Since version 3. Presence push for watchers at version 3 or more, in place of
    /// [`HubMsg::Joined`]: someone arrived (an anonymous connection, or an account's first
    /// session).
    Arrived {
        /// Who.
        user_id: UserId,
        /// The account's name; `None` for an anonymous connection.
        name: Option<String>,
    },
    /// Since version 3. What another session of this account relayed, so that every session
    /// shows the same conversation. Sent to an account's live sessions but the sender's.
    Outgoing {
        /// The receivers the relay named.
        to: Vec<UserId>,
        /// What the body is.
        kind: BodyKind,
        /// The body.
        body: B,
    },
    /// Since version 4. Answer to [`ClientMsg::Lookup`] at version 4 or more (older clients
    /// get [`HubMsg::Account`]): the account with its keys, if there is one.
    Entry {
        /// Request id.
        req: RequestId,
        /// The account, if there is one (boxed: it is the largest of the hub's messages,
        /// and every other one would pay for its size; the wire is the same).
        account: Option<Box<AccountEntry>>,
    },
    /// Since version 4. Answer to [`ClientMsg::Users`] at version 4 or more (older clients get
    /// [`HubMsg::Users`]): matching accounts with their keys, by name ascending.
    Entries {
        /// Request id.
        req: RequestId,
        /// At most [`crate::account::MAX_DIRECTORY_RESULTS`] accounts.
        users: Vec<AccountEntry>,
        /// More accounts matched than are listed.
        limited: bool,
    },
    /// Since version 5. Answer to [`ClientMsg::Relay`] at [`RECEIPTS_VERSION`] or more, in
    /// place of [`HubMsg::Routed`]: the same outcome, with the mailbox seq of each queued copy
    /// so that a later [`HubMsg::Delivered`] can be matched to it.
    Posted {
        /// Request id.
        req: RequestId,
        /// How many receivers had the message queued for a connected session.
        delivered: u32,
        /// Accounts with no session connected: the message is in their mailbox, on disk,
        /// under this seq.
        queued: Vec<Kept>,
        /// Receivers that are neither connected nor accounts.
        unknown: Vec<UserId>,
        /// Receivers that were too slow to take it and have been disconnected.
        dropped: Vec<UserId>,
        /// Accounts whose mailbox is full: the message was not kept for them.
        full: Vec<UserId>,
    },
    /// Since version 5. A push to an account's sessions at [`RECEIPTS_VERSION`] or more:
    /// every message this account relayed into `to`'s mailbox with a seq up to `through`
    /// reached a session of `to`, which acknowledged it. Kept for the next login if no such
    /// session of this account is connected.
    Delivered {
        /// The receiver whose mailbox held them.
        to: UserId,
        /// The highest seq acknowledged among this account's messages to `to`.
        through: u64,
    },
    /// Since version 6. The presence push of a watcher at [`PRESENCE_VERSION`] or more, in
    /// place of [`HubMsg::Arrived`] and [`HubMsg::Left`]: the changes since the last one, each
    /// user at most once (one that arrived and left in between is in neither list), by id
    /// ascending in each list.
    Presence {
        /// Who arrived, as [`HubMsg::Arrived`] would have said.
        arrived: Vec<PeerInfo>,
        /// Who left.
        left: Vec<UserId>,
    },
    /// Since version 7. Part of the answer to [`ClientMsg::List`] at [`LIST_VERSION`] or more,
    /// when more users are present than one [`HubMsg::Peers`] holds: these
    /// [`crate::limits::LIST_CHUNK`] ids, ascending, and more to come under the same `req`;
    /// the answer ends with a [`HubMsg::Peers`] holding the rest.
    PeersPart {
        /// Request id.
        req: RequestId,
        /// Exactly [`crate::limits::LIST_CHUNK`] ids, each above the previous part's.
        peers: Vec<UserId>,
    },
}

impl<B> ClientMsg<B> {
    /// Whether this is one of the account requests, which exist from [`ACCOUNTS_VERSION`] on
    /// ([`ClientMsg::PublishKey`] from [`KEYS_VERSION`]: see [`ClientMsg::needs_version`]).
    pub fn is_account_request(&self) -> bool {
        matches!(
            self,
            ClientMsg::Challenge { .. }
                | ClientMsg::Register { .. }
                | ClientMsg::Login { .. }
                | ClientMsg::Lookup { .. }
                | ClientMsg::Users { .. }
                | ClientMsg::DeleteAccount { .. }
                | ClientMsg::Ack { .. }
                | ClientMsg::PublishKey { .. }
        )
    }

    /// The protocol version a connection needs to send this request.
    pub fn needs_version(&self) -> u32 {
        match self {
            ClientMsg::PublishKey { .. } => KEYS_VERSION,
            msg if msg.is_account_request() => ACCOUNTS_VERSION,
            _ => BASE_VERSION,
        }
    }
}

impl<B: Serialize> ClientMsg<B> {
    /// Encode into a complete frame: length prefix, then the postcard payload.
    pub fn to_frame(&self) -> Result<Bytes, EncodeError> {
        encode_frame(self)
    }
}

impl<B: Serialize> HubMsg<B> {
    /// Encode into a complete frame: length prefix, then the postcard payload.
    pub fn to_frame(&self) -> Result<Bytes, EncodeError> {
        encode_frame(self)
    }
}

impl<'a> ClientMsg<&'a [u8]> {
    /// Decode a frame payload, borrowing the body from it.
    pub fn decode_borrowed(payload: &'a [u8]) -> Result<Self, DecodeError> {
        decode_exact(payload)
    }
}

impl<'a> HubMsg<&'a [u8]> {
    /// Decode a frame payload, borrowing the body from it.
    pub fn decode_borrowed(payload: &'a [u8]) -> Result<Self, DecodeError> {
        decode_exact(payload)
    }
}

impl ClientMsg {
    /// Decode a frame payload into an owned message.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        decode_exact(payload)
    }
}

impl HubMsg {
    /// Decode a frame payload into an owned message.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        decode_exact(payload)
    }
}

/// The one encoder: a big-endian `u32` payload length, then the postcard payload, in a buffer of
/// exactly that size so that a shared frame pins no spare capacity.
fn encode_frame<T: Serialize>(msg: &T) -> Result<Bytes, EncodeError> {
    let len = postcard::experimental::serialized_size(msg)?;
    if len > MAX_FRAME_LEN {
        return Err(EncodeError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let mut buf = Vec::with_capacity(4 + len);
    // len <= MAX_FRAME_LEN, which fits a u32.
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    let buf = postcard::to_extend(msg, buf)?;
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_length_prefix_then_payload() {
        let frame = ClientMsg::<Bytes>::Ping { req: RequestId(7) }
            .to_frame()
            .expect("encodes");
        assert_eq!(&frame[..], &[0, 0, 0, 2, 5, 7]);
        let msg = ClientMsg::decode(&frame[4..]).expect("decodes");
        assert_eq!(msg, ClientMsg::Ping { req: RequestId(7) });
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let err = ClientMsg::decode(&[5, 7, 0]).expect_err("trailing byte");
        assert!(
            matches!(
                err,
                DecodeError::TrailingBytes {
                    count: 1,
                    offset: 2
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn borrowed_and_owned_bodies_encode_alike() {
        let owned: HubMsg = HubMsg::Message {
            from: UserId(1),
            kind: BodyKind::Text,
            body: Bytes::from_static(b"foobar"),
        };
        let borrowed: HubMsg<&[u8]> = HubMsg::Message {
            from: UserId(1),
            kind: BodyKind::Text,
            body: b"foobar",
        };
        let frame = owned.to_frame().expect("encodes");
        assert_eq!(frame, borrowed.to_frame().expect("encodes"));
        assert_eq!(
            HubMsg::decode_borrowed(&frame[4..]).expect("decodes"),
            borrowed
        );
    }

    #[test]
    fn oversized_message_is_refused_by_the_encoder() {
        let body = Bytes::from(vec![0u8; MAX_FRAME_LEN]);
        let err = ClientMsg::Echo {
            req: RequestId(1),
            body,
        }
        .to_frame()
        .expect_err("too large");
        assert!(matches!(err, EncodeError::TooLarge { .. }), "{err}");
    }
}
