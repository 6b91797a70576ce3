//! The values the document shows: one list per enum, and exhaustive name matches that stop
//! compiling when a variant is added, so a new variant cannot go undocumented.

use bytes::Bytes;
use shared::account::{AccountEntry, AccountInfo, Kept, KeyRecord, PeerInfo, Who};
use shared::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, Limits, PublicKey, RequestId, Signature, UserId,
    BASE_VERSION,
};

pub fn req(n: u32) -> RequestId {
    RequestId(n)
}

pub fn ids(ns: &[u64]) -> Vec<UserId> {
    ns.iter().copied().map(UserId).collect()
}

/// alice's and bob's account ids in the examples.
const ALICE: UserId = UserId(1 << 32);
const BOB: UserId = UserId((1 << 32) + 1);

/// A key and a signature whose bytes are easy to spot in a hex dump.
fn key() -> PublicKey {
    PublicKey([0x11; 32])
}

fn signature() -> Signature {
    Signature([0x22; 64])
}

/// A receiver key record: the X25519 key is `44` repeated, the signature `22` repeated.
fn record() -> KeyRecord {
    KeyRecord {
        key: [0x44; 32],
        signature: signature(),
    }
}

/// The client examples of the document, in its order.
pub fn client_examples() -> Vec<ClientMsg> {
    let hi = Bytes::from_static(b"hi");
    vec![
        ClientMsg::Identity { req: req(1) },
        ClientMsg::List { req: req(2) },
        ClientMsg::Relay {
            req: req(3),
            to: ids(&[2, 300]),
            kind: BodyKind::Text,
            body: hi,
        },
        ClientMsg::Relay {
            req: req(4),
            to: ids(&[1]),
            kind: BodyKind::File {
                name: "a.txt".into(),
            },
            body: Bytes::from_static(&[0x00, 0xff]),
        },
        ClientMsg::Relay {
            req: req(5),
            to: ids(&[7]),
            kind: BodyKind::Bytes,
            body: Bytes::new(),
        },
        ClientMsg::Echo {
            req: req(6),
            body: Bytes::from_static(b"ping"),
        },
        ClientMsg::Watch { req: req(7) },
        ClientMsg::Ping { req: req(8) },
        ClientMsg::KeepAliveAck,
        ClientMsg::Hello {
            req: req(0),
            version: 2,
        },
        ClientMsg::Challenge { req: req(9) },
        ClientMsg::Register {
            req: req(10),
            name: "alice".into(),
            key: key(),
            signature: signature(),
        },
        ClientMsg::Login {
            req: req(11),
            name: "alice".into(),
            signature: signature(),
            receive: true,
        },
        ClientMsg::Lookup {
            req: req(12),
            who: Who::Name("bob".into()),
        },
        ClientMsg::Lookup {
            req: req(13),
            who: Who::Id(BOB),
        },
        ClientMsg::Users {
            req: req(14),
            pattern: "b*".into(),
        },
        ClientMsg::DeleteAccount {
            req: req(15),
            signature: signature(),
        },
        ClientMsg::Ack {
            req: req(16),
            seq: 3,
        },
        ClientMsg::PublishKey {
            req: req(17),
            record: record(),
        },
        ClientMsg::Relay {
            req: req(18),
            to: vec![BOB],
            kind: BodyKind::Sealed,
            body: Bytes::from_static(&[0x01, 0x00]),
        },
    ]
}

/// The hub examples of the document, in its order.
pub fn hub_examples() -> Vec<HubMsg> {
    vec![
        HubMsg::Welcome {
            version: BASE_VERSION,
            user_id: UserId(7),
            limits: Limits::default(),
        },
        HubMsg::Identity {
            req: req(1),
            user_id: UserId(7),
        },
        HubMsg::Peers {
            req: req(2),
            peers: ids(&[2, 300]),
        },
        HubMsg::Peers {
            req: req(7),
            peers: vec![],
        },
        HubMsg::Relayed {
            req: req(3),
            delivered: 1,
            unknown: ids(&[300]),
            dropped: vec![],
        },
        HubMsg::Echo {
            req: req(6),
            body: Bytes::from_static(b"ping"),
        },
        HubMsg::Pong { req: req(8) },
        HubMsg::Message {
            from: UserId(7),
            kind: BodyKind::Text,
            body: Bytes::from_static(b"hi"),
        },
        HubMsg::Message {
            from: UserId(7),
            kind: BodyKind::File {
                name: "a.txt".into(),
            },
            body: Bytes::from_static(&[0x00, 0xff]),
        },
        HubMsg::Joined { user_id: UserId(9) },
        HubMsg::Left { user_id: UserId(9) },
        HubMsg::KeepAlive,
        HubMsg::Error {
            req: Some(req(3)),
            kind: ErrorKind::DuplicateReceivers,
            text: "receiver 2 is named more than once".into(),
        },
        HubMsg::Error {
            req: None,
            kind: ErrorKind::ShuttingDown,
            text: "the hub is shutting down".into(),
        },
        HubMsg::Hello {
            req: req(0),
            version: 2,
        },
        HubMsg::Challenge {
            req: req(9),
            nonce: [0x33; 32],
        },
        HubMsg::LoggedIn {
            req: req(11),
            user_id: ALICE,
            name: "alice".into(),
            waiting: 2,
        },
        HubMsg::Account {
            req: req(12),
            account: Some(AccountInfo {
                user_id: BOB,
                name: "bob".into(),
                online: true,
            }),
        },
        HubMsg::Account {
            req: req(13),
            account: None,
        },
        HubMsg::Users {
            req: req(14),
            users: vec![AccountInfo {
                user_id: BOB,
                name: "bob".into(),
                online: false,
            }],
            limited: false,
        },
        HubMsg::Done { req: req(16) },
        HubMsg::Routed {
            req: req(3),
            delivered: 1,
            queued: vec![BOB],
            unknown: ids(&[300]),
            dropped: vec![],
            full: vec![],
        },
        HubMsg::Stored {
            seq: 3,
            from: BOB,
            sent_at_ms: 1_796_256_000_000,
            kind: BodyKind::Text,
            body: Bytes::from_static(b"hi"),
        },
        HubMsg::Present {
            req: req(7),
            peers: vec![
                PeerInfo {
                    user_id: UserId(2),
                    name: None,
                },
                PeerInfo {
                    user_id: BOB,
                    name: Some("bob".into()),
                },
            ],
        },
        HubMsg::Arrived {
            user_id: BOB,
            name: Some("bob".into()),
        },
        HubMsg::Arrived {
            user_id: UserId(9),
            name: None,
        },
        HubMsg::Outgoing {
            to: vec![BOB],
            kind: BodyKind::Text,
            body: Bytes::from_static(b"hi"),
        },
        HubMsg::Entry {
            req: req(12),
            account: Some(Box::new(AccountEntry {
                user_id: BOB,
                name: "bob".into(),
                online: true,
                key: key(),
                record: Some(record()),
            })),
        },
        HubMsg::Entries {
            req: req(14),
            users: vec![AccountEntry {
                user_id: BOB,
                name: "bob".into(),
                online: false,
                key: key(),
                record: None,
            }],
            limited: false,
        },
        HubMsg::Posted {
            req: req(3),
            delivered: 1,
            queued: vec![Kept { to: BOB, seq: 3 }],
            unknown: ids(&[300]),
            dropped: vec![],
            full: vec![],
        },
        HubMsg::Delivered {
            to: BOB,
            through: 3,
        },
        HubMsg::Presence {
            arrived: vec![PeerInfo {
                user_id: BOB,
                name: Some("bob".into()),
            }],
            left: ids(&[2, 300]),
        },
        HubMsg::PeersPart {
            req: req(2),
            peers: ids(&[2, 300]),
        },
    ]
}

pub fn client_name(msg: &ClientMsg) -> &'static str {
    match msg {
        ClientMsg::Identity { .. } => "Identity",
        ClientMsg::List { .. } => "List",
        ClientMsg::Relay { .. } => "Relay",
        ClientMsg::Echo { .. } => "Echo",
        ClientMsg::Watch { .. } => "Watch",
        ClientMsg::Ping { .. } => "Ping",
        ClientMsg::KeepAliveAck => "KeepAliveAck",
        ClientMsg::Hello { .. } => "Hello",
        ClientMsg::Challenge { .. } => "Challenge",
        ClientMsg::Register { .. } => "Register",
        ClientMsg::Login { .. } => "Login",
        ClientMsg::Lookup { .. } => "Lookup",
        ClientMsg::Users { .. } => "Users",
        ClientMsg::DeleteAccount { .. } => "DeleteAccount",
        ClientMsg::Ack { .. } => "Ack",
        ClientMsg::PublishKey { .. } => "PublishKey",
    }
}

pub fn hub_name(msg: &HubMsg) -> &'static str {
    match msg {
        HubMsg::Welcome { .. } => "Welcome",
        HubMsg::Identity { .. } => "Identity",
        HubMsg::Peers { .. } => "Peers",
        HubMsg::Relayed { .. } => "Relayed",
        HubMsg::Echo { .. } => "Echo",
        HubMsg::Pong { .. } => "Pong",
        HubMsg::Message { .. } => "Message",
        HubMsg::Joined { .. } => "Joined",
        HubMsg::Left { .. } => "Left",
        HubMsg::KeepAlive => "KeepAlive",
        HubMsg::Error { .. } => "Error",
        HubMsg::Hello { .. } => "Hello",
        HubMsg::Challenge { .. } => "Challenge",
        HubMsg::LoggedIn { .. } => "LoggedIn",
        HubMsg::Account { .. } => "Account",
        HubMsg::Users { .. } => "Users",
        HubMsg::Done { .. } => "Done",
        HubMsg::Routed { .. } => "Routed",
        HubMsg::Stored { .. } => "Stored",
        HubMsg::Present { .. } => "Present",
        HubMsg::Arrived { .. } => "Arrived",
        HubMsg::Outgoing { .. } => "Outgoing",
        HubMsg::Entry { .. } => "Entry",
        HubMsg::Entries { .. } => "Entries",
        HubMsg::Posted { .. } => "Posted",
        HubMsg::Delivered { .. } => "Delivered",
        HubMsg::Presence { .. } => "Presence",
        HubMsg::PeersPart { .. } => "PeersPart",
    }
}

pub fn error_kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NoReceivers => "NoReceivers",
        ErrorKind::TooManyReceivers => "TooManyReceivers",
        ErrorKind::DuplicateReceivers => "DuplicateReceivers",
        ErrorKind::BodyTooLarge => "BodyTooLarge",
        ErrorKind::NameTooLong => "NameTooLong",
        ErrorKind::FrameTooLarge => "FrameTooLarge",
        ErrorKind::Malformed => "Malformed",
        ErrorKind::FrameDeadline => "FrameDeadline",
        ErrorKind::ServerFull => "ServerFull",
        ErrorKind::SlowConsumer => "SlowConsumer",
        ErrorKind::Idle => "Idle",
        ErrorKind::ShuttingDown => "ShuttingDown",
        ErrorKind::InvalidName => "InvalidName",
        ErrorKind::NameTaken => "NameTaken",
        ErrorKind::LoginFailed => "LoginFailed",
        ErrorKind::RateLimited => "RateLimited",
        ErrorKind::RegistrationClosed => "RegistrationClosed",
        ErrorKind::WrongState => "WrongState",
        ErrorKind::AccountDeleted => "AccountDeleted",
        ErrorKind::StoreFailed => "StoreFailed",
        ErrorKind::BadPattern => "BadPattern",
        ErrorKind::BadKeyRecord => "BadKeyRecord",
    }
}

pub fn body_kind_name(kind: &BodyKind) -> &'static str {
    match kind {
        BodyKind::Bytes => "Bytes",
        BodyKind::Text => "Text",
        BodyKind::File { .. } => "File",
        BodyKind::Sealed => "Sealed",
    }
}

/// Every error kind; `error_kinds_match_the_table` proves the list complete by tags.
pub const ERROR_KINDS: [ErrorKind; 22] = [
    ErrorKind::NoReceivers,
    ErrorKind::TooManyReceivers,
    ErrorKind::DuplicateReceivers,
    ErrorKind::BodyTooLarge,
    ErrorKind::NameTooLong,
    ErrorKind::FrameTooLarge,
    ErrorKind::Malformed,
    ErrorKind::FrameDeadline,
    ErrorKind::ServerFull,
    ErrorKind::SlowConsumer,
    ErrorKind::Idle,
    ErrorKind::ShuttingDown,
    ErrorKind::InvalidName,
    ErrorKind::NameTaken,
    ErrorKind::LoginFailed,
    ErrorKind::RateLimited,
    ErrorKind::RegistrationClosed,
    ErrorKind::WrongState,
    ErrorKind::AccountDeleted,
    ErrorKind::StoreFailed,
    ErrorKind::BadPattern,
    ErrorKind::BadKeyRecord,
];
