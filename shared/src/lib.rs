//! hubbub's wire protocol, shared by the hub, the terminal client, the tests and the benchmarks.
//!
//! Layers, bottom up: [`codec`] cuts a byte stream into frames; [`message`] turns a frame's
//! payload into a [`ClientMsg`] or [`HubMsg`] and back; [`limits`] and [`id`] hold the numbers and
//! the identifiers both sides agree on; [`account`] holds account names, keys and the one
//! definition of what a client signs; [`conn`] is a ready-made async client connection, over TCP or
//! [`tls`].

pub mod account;
pub mod codec;
pub mod conn;
pub mod error;
pub mod id;
pub mod limits;
pub mod message;
pub mod tls;

pub use account::{PublicKey, SecretKey, Signature};
pub use codec::FrameCodec;
pub use error::{DecodeError, EncodeError};
pub use id::{RequestId, UserId};
pub use limits::{
    Limits, LIST_CHUNK, MAX_BODY_LEN, MAX_ERROR_TEXT_LEN, MAX_FRAME_LEN, MAX_NAME_LEN,
    MAX_RECEIVERS,
};
pub use message::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, ACCOUNTS_VERSION, BASE_VERSION, KEYS_VERSION,
    LIST_VERSION, PRESENCE_VERSION, PROTOCOL_VERSION, RECEIPTS_VERSION,
};
