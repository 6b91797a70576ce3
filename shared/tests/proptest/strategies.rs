//! proptest strategies for every message, and streams of bytes for the frame codec.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use shared::account::{AccountEntry, AccountInfo, KeyRecord, PeerInfo, Who};
use shared::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, Limits, PublicKey, RequestId, Signature, UserId,
    MAX_FRAME_LEN,
};

/// Largest body generated: big enough for multi-byte lengths, small enough for many cases.
pub const BODY_MAX: usize = 4096;

pub fn req() -> impl Strategy<Value = RequestId> {
    any::<u32>().prop_map(RequestId)
}

/// Small ids (the common case, one or two varint bytes) as often as any `u64`.
pub fn user() -> impl Strategy<Value = UserId> {
    prop_oneof![0u64..20_000, any::<u64>()].prop_map(UserId)
}

pub fn users(max: usize) -> impl Strategy<Value = Vec<UserId>> {
    vec(user(), 0..=max)
}

pub fn body() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=BODY_MAX).prop_map(Bytes::from)
}

/// Any text, including multi-byte UTF-8 and names longer than the hub allows: the encoding
/// does not care, only the hub's checks do.
pub fn text() -> impl Strategy<Value = String> {
    "\\PC{0,80}"
}

pub fn body_kind() -> impl Strategy<Value = BodyKind> {
    prop_oneof![
        Just(BodyKind::Bytes),
        Just(BodyKind::Text),
        text().prop_map(|name| BodyKind::File { name }),
        Just(BodyKind::Sealed),
    ]
}

/// Every error kind, found by asking the decoder which one-byte tags it knows, so a kind added
/// later is generated without touching this file.
pub fn error_kind() -> impl Strategy<Value = ErrorKind> {
    (0u8..32).prop_filter_map("not an error kind tag", |tag| {
        postcard::from_bytes::<ErrorKind>(&[tag]).ok()
    })
}

pub fn key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey)
}

pub fn signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        Signature(s)
    })
}

pub fn who() -> impl Strategy<Value = Who> {
    prop_oneof![text().prop_map(Who::Name), user().prop_map(Who::Id)]
}

pub fn account_info() -> impl Strategy<Value = AccountInfo> {
    (user(), text(), any::<bool>()).prop_map(|(user_id, name, online)| AccountInfo {
        user_id,
        name,
        online,
    })
}

pub fn key_record() -> impl Strategy<Value = KeyRecord> {
    (any::<[u8; 32]>(), signature()).prop_map(|(key, signature)| KeyRecord { key, signature })
}

pub fn account_entry() -> impl Strategy<Value = AccountEntry> {
    (account_info(), key(), proptest::option::of(key_record())).prop_map(|(info, key, record)| {
        AccountEntry {
            user_id: info.user_id,
            name: info.name,
            online: info.online,
            key,
            record,
        }
    })
}

pub fn peer_info() -> impl Strategy<Value = PeerInfo> {
    (user(), proptest::option::of(text())).prop_map(|(user_id, name)| PeerInfo { user_id, name })
}

pub fn limits() -> impl Strategy<Value = Limits> {
    (any::<u32>(), any::<u16>(), any::<u16>(), any::<u32>()).prop_map(
        |(max_body, max_receivers, max_name, max_frame)| Limits {
            max_body,
            max_receivers,
            max_name,
            max_frame,
        },
    )
}

pub fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        req().prop_map(|req| ClientMsg::Identity { req }),
        req().prop_map(|req| ClientMsg::List { req }),
        (req(), users(255), body_kind(), body()).prop_map(|(req, to, kind, body)| {
            ClientMsg::Relay {
                req,
                to,
                kind,
                body,
            }
        }),
        (req(), body()).prop_map(|(req, body)| ClientMsg::Echo { req, body }),
        req().prop_map(|req| ClientMsg::Watch { req }),
        req().prop_map(|req| ClientMsg::Ping { req }),
        Just(ClientMsg::KeepAliveAck),
        (req(), any::<u32>()).prop_map(|(req, version)| ClientMsg::Hello { req, version }),
        req().prop_map(|req| ClientMsg::Challenge { req }),
        (req(), text(), key(), signature()).prop_map(|(req, name, key, signature)| {
            ClientMsg::Register {
                req,
                name,
                key,
                signature,
            }
        }),
        (req(), text(), signature(), any::<bool>()).prop_map(|(req, name, signature, receive)| {
            ClientMsg::Login {
                req,
                name,
                signature,
                receive,
            }
        }),
        (req(), who()).prop_map(|(req, who)| ClientMsg::Lookup { req, who }),
        (req(), text()).prop_map(|(req, pattern)| ClientMsg::Users { req, pattern }),
        (req(), signature())
            .prop_map(|(req, signature)| ClientMsg::DeleteAccount { req, signature }),
        (req(), any::<u64>()).prop_map(|(req, seq)| ClientMsg::Ack { req, seq }),
        (req(), key_record()).prop_map(|(req, record)| ClientMsg::PublishKey { req, record }),
    ]
}

pub fn hub_msg() -> impl Strategy<Value = HubMsg> {
    prop_oneof![
        (any::<u32>(), user(), limits()).prop_map(|(version, user_id, limits)| {
            HubMsg::Welcome {
                version,
                user_id,
                limits,
            }
        }),
        (req(), user()).prop_map(|(req, user_id)| HubMsg::Identity { req, user_id }),
        (req(), users(300)).prop_map(|(req, peers)| HubMsg::Peers { req, peers }),
        (req(), any::<u32>(), users(255), users(255)).prop_map(
            |(req, delivered, unknown, dropped)| HubMsg::Relayed {
                req,
                delivered,
                unknown,
                dropped,
            }
        ),
        (req(), body()).prop_map(|(req, body)| HubMsg::Echo { req, body }),
        req().prop_map(|req| HubMsg::Pong { req }),
        (user(), body_kind(), body()).prop_map(|(from, kind, body)| HubMsg::Message {
            from,
            kind,
            body
        }),
        user().prop_map(|user_id| HubMsg::Joined { user_id }),
        user().prop_map(|user_id| HubMsg::Left { user_id }),
        Just(HubMsg::KeepAlive),
        (proptest::option::of(req()), error_kind(), text())
            .prop_map(|(req, kind, text)| HubMsg::Error { req, kind, text }),
        (req(), any::<u32>()).prop_map(|(req, version)| HubMsg::Hello { req, version }),
        (req(), any::<[u8; 32]>()).prop_map(|(req, nonce)| HubMsg::Challenge { req, nonce }),
        (req(), user(), text(), any::<u64>()).prop_map(|(req, user_id, name, waiting)| {
            HubMsg::LoggedIn {
                req,
                user_id,
                name,
                waiting,
            }
        }),
        (req(), proptest::option::of(account_info()))
            .prop_map(|(req, account)| HubMsg::Account { req, account }),
        (req(), vec(account_info(), 0..=100), any::<bool>()).prop_map(|(req, users, limited)| {
            HubMsg::Users {
                req,
                users,
                limited,
            }
        }),
        req().prop_map(|req| HubMsg::Done { req }),
        (
            req(),
            any::<u32>(),
            (users(255), users(255)),
            (users(255), users(255))
        )
            .prop_map(|(req, delivered, (queued, unknown), (dropped, full))| {
                HubMsg::Routed {
                    req,
                    delivered,
                    queued,
                    unknown,
                    dropped,
                    full,
                }
            }),
        (any::<u64>(), user(), any::<u64>(), body_kind(), body()).prop_map(
            |(seq, from, sent_at_ms, kind, body)| HubMsg::Stored {
                seq,
                from,
                sent_at_ms,
                kind,
                body,
            }
        ),
        (req(), vec(peer_info(), 0..50)).prop_map(|(req, peers)| HubMsg::Present { req, peers }),
        (user(), proptest::option::of(text()))
            .prop_map(|(user_id, name)| HubMsg::Arrived { user_id, name }),
        (users(255), body_kind(), body()).prop_map(|(to, kind, body)| HubMsg::Outgoing {
            to,
            kind,
            body
        }),
        (req(), proptest::option::of(account_entry())).prop_map(|(req, account)| HubMsg::Entry {
            req,
            account: account.map(Box::new)
        }),
        (req(), vec(account_entry(), 0..=100), any::<bool>()).prop_map(|(req, users, limited)| {
            HubMsg::Entries {
                req,
                users,
                limited,
            }
        }),
        (
            req(),
            any::<u32>(),
            (vec((user(), any::<u64>()), 0..255), users(255)),
            (users(255), users(255))
        )
            .prop_map(|(req, delivered, (queued, unknown), (dropped, full))| {
                HubMsg::Posted {
                    req,
                    delivered,
                    queued: queued
                        .into_iter()
                        .map(|(to, seq)| shared::account::Kept { to, seq })
                        .collect(),
                    unknown,
                    dropped,
                    full,
                }
            }),
        (user(), any::<u64>()).prop_map(|(to, through)| HubMsg::Delivered { to, through }),
        (vec(peer_info(), 0..=100), users(255))
            .prop_map(|(arrived, left)| HubMsg::Presence { arrived, left }),
        (req(), users(255)).prop_map(|(req, peers)| HubMsg::PeersPart { req, peers }),
    ]
}

/// Where to cut a stream of `len` bytes: sorted, possibly repeated offsets.
pub fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    vec(any::<prop::sample::Index>(), 0..16)
}

/// Turn abstract cut points into sorted offsets within `len`.
pub fn offsets(cuts: &[prop::sample::Index], len: usize) -> Vec<usize> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
    at.sort_unstable();
    at
}

/// Bytes a hostile or broken peer might send: noise, headers announcing big frames that never
/// come, valid frames, and empty frames, in any mix.
pub fn hostile_stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        vec(any::<u8>(), 0..64),
        (0..=MAX_FRAME_LEN as u32, vec(any::<u8>(), 0..256)).prop_map(|(len, tail)| {
            let mut v = len.to_be_bytes().to_vec();
            v.extend(tail);
            v
        }),
        client_msg().prop_map(|m| m.to_frame().expect("generated within limits").to_vec()),
        Just(vec![0, 0, 0, 0]),
    ];
    vec(piece, 1..8).prop_map(|pieces| pieces.concat())
}
