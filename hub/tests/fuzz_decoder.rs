//! Fuzzing the decoder with proptest: streams of valid frames, garbage and hostile headers, cut
//! at random points, must decode exactly as the whole stream does, never panic, and never make
//! the read buffer reserve for what was only announced.
//!
//! `PROPTEST_CASES` sets the number of cases; `scripts/fuzz.sh` runs this for a bounded time.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use shared::account::Who;
use shared::codec::READ_STEP;
use shared::{
    BodyKind, ClientMsg, FrameCodec, PublicKey, RequestId, Signature, UserId, MAX_FRAME_LEN,
};
use tokio_util::codec::Decoder;

/// One piece of a hostile stream.
#[derive(Clone, Debug)]
enum Piece {
    /// A well-formed message, framed.
    Valid(ClientMsg),
    /// A length prefix, then these bytes (whatever they are) as the payload.
    Framed(Vec<u8>),
    /// Raw bytes with no framing at all.
    Raw(Vec<u8>),
    /// A header alone, announcing this length.
    Header(u32),
}

fn kind() -> impl Strategy<Value = BodyKind> {
    prop_oneof![
        Just(BodyKind::Bytes),
        Just(BodyKind::Text),
        "[a-z./]{0,40}".prop_map(|name| BodyKind::File { name }),
    ]
}

/// The requests of accounts (protocol version 3).
fn account_msg() -> impl Strategy<Value = ClientMsg> {
    let req = any::<u32>().prop_map(RequestId);
    let name = "[A-Za-z0-9_.-]{0,40}";
    let key = any::<[u8; 32]>().prop_map(PublicKey);
    let signature = (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        Signature(s)
    });
    let who = prop_oneof![
        name.prop_map(Who::Name),
        any::<u64>().prop_map(|id| Who::Id(UserId(id))),
    ];
    prop_oneof![
        req.clone().prop_map(|req| ClientMsg::Challenge { req }),
        (req.clone(), name, key, signature.clone()).prop_map(|(req, name, key, signature)| {
            ClientMsg::Register {
                req,
                name,
                key,
                signature,
            }
        }),
        (req.clone(), name, signature.clone(), any::<bool>()).prop_map(
            |(req, name, signature, receive)| ClientMsg::Login {
                req,
                name,
                signature,
                receive,
            }
        ),
        (req.clone(), who).prop_map(|(req, who)| ClientMsg::Lookup { req, who }),
        (req.clone(), "[a-z*?]{0,80}").prop_map(|(req, pattern)| ClientMsg::Users { req, pattern }),
        (req.clone(), signature)
            .prop_map(|(req, signature)| ClientMsg::DeleteAccount { req, signature }),
        (req, any::<u64>()).prop_map(|(req, seq)| ClientMsg::Ack { req, seq }),
    ]
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    let body = prop::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from);
    let req = any::<u32>().prop_map(RequestId);
    prop_oneof![
        account_msg(),
        req.clone().prop_map(|req| ClientMsg::Identity { req }),
        req.clone().prop_map(|req| ClientMsg::List { req }),
        req.clone().prop_map(|req| ClientMsg::Ping { req }),
        req.clone().prop_map(|req| ClientMsg::Watch { req }),
        Just(ClientMsg::KeepAliveAck),
        (req.clone(), body.clone()).prop_map(|(req, body)| ClientMsg::Echo { req, body }),
        (
            req,
            prop::collection::vec(any::<u64>(), 0..20),
            kind(),
            body
        )
            .prop_map(|(req, to, kind, body)| ClientMsg::Relay {
                req,
                to: to.into_iter().map(UserId).collect(),
                kind,
                body,
            }),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => client_msg().prop_map(Piece::Valid),
        2 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Framed),
        1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(Piece::Raw),
        1 => prop_oneof![
            Just(u32::MAX),
            Just(MAX_FRAME_LEN as u32),
            Just(MAX_FRAME_LEN as u32 + 1),
            Just(0),
            any::<u32>(),
        ]
        .prop_map(Piece::Header),
    ]
}

fn stream_bytes(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Valid(msg) => out.extend_from_slice(&msg.to_frame().expect("small")),
            Piece::Framed(payload) => {
                out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                out.extend_from_slice(payload);
            }
            Piece::Raw(bytes) => out.extend_from_slice(bytes),
            Piece::Header(len) => out.extend_from_slice(&len.to_be_bytes()),
        }
    }
    out
}

/// What a decoder made of a stream: each payload's decoding, then how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    messages: Vec<Result<ClientMsg, String>>,
    error: Option<String>,
    leftover: usize,
}

/// Feed `chunks` to a fresh codec as a reader would, checking the reservation bound as it goes.
fn decode_chunks<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Outcome {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    let mut out = Outcome {
        messages: Vec::new(),
        error: None,
        leftover: 0,
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(payload)) => out.messages.push(
                    ClientMsg::decode_borrowed(&payload)
                        .map(owned)
                        .map_err(|e| e.to_string()),
                ),
                Ok(None) => break,
                Err(e) => {
                    out.error = Some(e.to_string());
                    return out;
                }
            }
        }
        // What arrived plus a read step, at most doubled by the buffer's growth policy; never
        // the announced length.
        let bound = 2 * (buf.len() + READ_STEP + 4096);
        assert!(
            buf.capacity() <= bound,
            "reserved {} for {}",
            buf.capacity(),
            buf.len()
        );
    }
    out.leftover = buf.len();
    out
}

fn owned(msg: ClientMsg<&[u8]>) -> ClientMsg {
    match msg {
        ClientMsg::Identity { req } => ClientMsg::Identity { req },
        ClientMsg::List { req } => ClientMsg::List { req },
        ClientMsg::Ping { req } => ClientMsg::Ping { req },
        ClientMsg::Watch { req } => ClientMsg::Watch { req },
        ClientMsg::KeepAliveAck => ClientMsg::KeepAliveAck,
        ClientMsg::Hello { req, version } => ClientMsg::Hello { req, version },
        ClientMsg::Challenge { req } => ClientMsg::Challenge { req },
        ClientMsg::Register {
            req,
            name,
            key,
            signature,
        } => ClientMsg::Register {
            req,
            name,
            key,
            signature,
        },
        ClientMsg::Login {
            req,
            name,
            signature,
            receive,
        } => ClientMsg::Login {
            req,
            name,
            signature,
            receive,
        },
        ClientMsg::Lookup { req, who } => ClientMsg::Lookup { req, who },
        ClientMsg::Users { req, pattern } => ClientMsg::Users { req, pattern },
        ClientMsg::DeleteAccount { req, signature } => ClientMsg::DeleteAccount { req, signature },
        ClientMsg::Ack { req, seq } => ClientMsg::Ack { req, seq },
        ClientMsg::PublishKey { req, record } => ClientMsg::PublishKey { req, record },
        ClientMsg::Echo { req, body } => ClientMsg::Echo {
            req,
            body: Bytes::copy_from_slice(body),
        },
        ClientMsg::Relay {
            req,
            to,
            kind,
            body,
        } => ClientMsg::Relay {
            req,
            to,
            kind,
            body: Bytes::copy_from_slice(body),
        },
    }
}

proptest! {
    #[test]
    fn any_split_decodes_like_the_whole_stream(
        pieces in prop::collection::vec(piece(), 0..12),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        let bytes = stream_bytes(&pieces);
        let whole = decode_chunks(std::iter::once(&bytes[..]));
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        let chunks = points.windows(2).map(|w| &bytes[w[0]..w[1]]);
        prop_assert_eq!(decode_chunks(chunks), whole);
    }

    #[test]
    fn valid_messages_come_back_as_sent(msgs in prop::collection::vec(client_msg(), 1..8)) {
        let pieces: Vec<Piece> = msgs.iter().cloned().map(Piece::Valid).collect();
        let bytes = stream_bytes(&pieces);
        let out = decode_chunks(bytes.chunks(7));
        let got: Vec<ClientMsg> = out.messages.into_iter().map(|m| m.expect("valid")).collect();
        prop_assert_eq!(got, msgs);
        prop_assert!(out.error.is_none());
        prop_assert_eq!(out.leftover, 0);
    }
}
