//! Property tests of the wire layer: every message survives encode, framing and decode however
//! the stream is cut, and no input, however broken, panics the decoders or makes the frame
//! codec reserve memory for bytes that have not arrived.

#[path = "proptest/strategies.rs"]
mod strategies;

use std::collections::BTreeSet;

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use shared::codec::READ_STEP;
use shared::{ClientMsg, DecodeError, FrameCodec, HubMsg, MAX_FRAME_LEN};
use strategies::*;
use tokio_util::codec::Decoder;

/// Feed `stream` to a fresh codec in pieces cut at `at`, decoding after each piece as a reader
/// would. Returns the payloads and the first error; checks the codec's promises on the way.
fn feed(
    codec: &mut FrameCodec,
    stream: &[u8],
    at: &[usize],
) -> (Vec<BytesMut>, Option<DecodeError>) {
    let mut buf = BytesMut::new();
    let mut payloads = Vec::new();
    let mut start = 0;
    for end in at.iter().copied().chain([stream.len()]) {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(payload)) => payloads.push(payload),
                Ok(None) => break,
                Err(e) => return (payloads, Some(e)),
            }
        }
        // Whatever was announced, the buffer holds at most what arrived plus one read step,
        // give or take the doubling of a growing allocation.
        let bound = 2 * (end + READ_STEP + 4);
        assert!(
            buf.capacity() <= bound,
            "capacity {} > {bound}",
            buf.capacity()
        );
        assert_eq!(
            codec.partial_since().is_some(),
            !buf.is_empty(),
            "the frame deadline runs exactly while part of a frame is buffered"
        );
    }
    (payloads, None)
}

fn frames_of<T>(msgs: &[T], to_frame: impl Fn(&T) -> bytes::Bytes) -> Vec<u8> {
    msgs.iter().flat_map(|m| to_frame(m).to_vec()).collect()
}

proptest! {
    #[test]
    fn client_messages_round_trip(msg in client_msg()) {
        let frame = msg.to_frame().expect("encodes");
        let prefix = u32::from_be_bytes(frame[..4].try_into().expect("4 bytes"));
        prop_assert_eq!(prefix as usize, frame.len() - 4);
        let (payloads, err) = feed(&mut FrameCodec::new(), &frame, &[]);
        prop_assert!(err.is_none());
        prop_assert_eq!(payloads.len(), 1);
        prop_assert_eq!(&ClientMsg::decode(&payloads[0]).expect("decodes"), &msg);
        let borrowed = ClientMsg::decode_borrowed(&payloads[0]).expect("decodes borrowed");
        prop_assert_eq!(borrowed.to_frame().expect("re-encodes"), frame);
    }

    #[test]
    fn hub_messages_round_trip(msg in hub_msg()) {
        let frame = msg.to_frame().expect("encodes");
        let (payloads, err) = feed(&mut FrameCodec::new(), &frame, &[]);
        prop_assert!(err.is_none());
        prop_assert_eq!(payloads.len(), 1);
        prop_assert_eq!(&HubMsg::decode(&payloads[0]).expect("decodes"), &msg);
        let borrowed = HubMsg::decode_borrowed(&payloads[0]).expect("decodes borrowed");
        prop_assert_eq!(borrowed.to_frame().expect("re-encodes"), frame);
    }

    #[test]
    fn message_streams_survive_any_cutting(
        client in proptest::collection::vec(client_msg(), 1..6),
        hub in proptest::collection::vec(hub_msg(), 1..6),
        cuts in cuts(),
    ) {
        let stream = frames_of(&client, |m| m.to_frame().expect("encodes"));
        let (payloads, err) = feed(&mut FrameCodec::new(), &stream, &offsets(&cuts, stream.len()));
        prop_assert!(err.is_none());
        let decoded: Vec<ClientMsg> =
            payloads.iter().map(|p| ClientMsg::decode(p).expect("decodes")).collect();
        prop_assert_eq!(decoded, client);

        let stream = frames_of(&hub, |m| m.to_frame().expect("encodes"));
        let (payloads, err) = feed(&mut FrameCodec::new(), &stream, &offsets(&cuts, stream.len()));
        prop_assert!(err.is_none());
        let decoded: Vec<HubMsg> =
            payloads.iter().map(|p| HubMsg::decode(p).expect("decodes")).collect();
        prop_assert_eq!(decoded, hub);
    }

    #[test]
    fn arbitrary_payloads_never_panic_the_decoders(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        check_decoders(&bytes)?;
    }

    #[test]
    fn damaged_messages_never_panic_the_decoders(
        msg in client_msg(),
        hub in hub_msg(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        for frame in [msg.to_frame().expect("encodes"), hub.to_frame().expect("encodes")] {
            let mut payload = frame[4..].to_vec();
            let i = at.index(payload.len());
            payload[i] = byte;
            check_decoders(&payload)?;
            check_decoders(&payload[..cut.index(payload.len() + 1)])?;
        }
    }

    #[test]
    fn hostile_streams_never_panic_the_codec_nor_grow_its_buffer(
        stream in hostile_stream(),
        cuts in cuts(),
    ) {
        let (payloads, err) = feed(&mut FrameCodec::new(), &stream, &offsets(&cuts, stream.len()));
        for payload in &payloads {
            prop_assert!(payload.len() <= MAX_FRAME_LEN);
            check_decoders(payload)?;
        }
        if let Some(e) = err {
            prop_assert!(matches!(e, DecodeError::FrameTooLarge { .. }), "{}", e);
        }
    }

    #[test]
    fn the_first_frame_over_the_limit_is_refused(
        lens in proptest::collection::vec(0usize..64, 1..10),
        max in 0usize..64,
        cuts in cuts(),
    ) {
        let stream: Vec<u8> = lens
            .iter()
            .flat_map(|&n| {
                let mut frame = (n as u32).to_be_bytes().to_vec();
                frame.resize(4 + n, 0xa5);
                frame
            })
            .collect();
        let mut codec = FrameCodec::with_max_frame(max);
        let (payloads, err) = feed(&mut codec, &stream, &offsets(&cuts, stream.len()));
        let fitting = lens.iter().take_while(|&&n| n <= max).count();
        let got: Vec<usize> = payloads.iter().map(|p| p.len()).collect();
        prop_assert_eq!(got, lens[..fitting].to_vec());
        match (lens.get(fitting), err) {
            (None, None) => {}
            (Some(&len), Some(DecodeError::FrameTooLarge { len: got, max: m })) => {
                prop_assert_eq!((got, m), (len, max));
            }
            (expected, got) => {
                prop_assert!(false, "expected refusal of {:?}, got {:?}", expected, got)
            }
        }
    }
}

/// No panic; and whatever decodes re-encodes to something that decodes to the same value.
fn check_decoders(payload: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(msg) = ClientMsg::decode(payload) {
        let frame = msg.to_frame().expect("a decoded message fits a frame");
        prop_assert_eq!(ClientMsg::decode(&frame[4..]).expect("decodes"), msg);
    }
    if let Ok(msg) = HubMsg::decode(payload) {
        let frame = msg.to_frame().expect("a decoded message fits a frame");
        prop_assert_eq!(HubMsg::decode(&frame[4..]).expect("decodes"), msg);
    }
    let _ = ClientMsg::decode_borrowed(payload);
    let _ = HubMsg::decode_borrowed(payload);
    Ok(())
}

/// The strategy must produce every variant the decoder knows: the tags it generates are 0..n
/// and tag n is unknown to the decoder. So a new variant fails here until it has a strategy.
fn assert_generates_every_tag<M>(what: &str, strategy: impl Strategy<Value = M>)
where
    M: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut runner = TestRunner::deterministic();
    let tags: BTreeSet<u8> = (0..2000)
        .map(|_| {
            let value = strategy.new_tree(&mut runner).expect("generates").current();
            postcard::to_allocvec(&value).expect("encodes")[0]
        })
        .collect();
    let n = tags.len() as u8;
    assert_eq!(tags, (0..n).collect(), "{what}: tags generated");
    // Zeros decode as any field, so only an unknown tag fails.
    let mut probe = [0u8; 64];
    probe[0] = n;
    assert!(
        postcard::take_from_bytes::<M>(&probe).is_err(),
        "{what}: the decoder knows tag {n}, which no strategy generates"
    );
}

#[test]
fn strategies_generate_every_variant() {
    assert_generates_every_tag("ClientMsg", client_msg());
    assert_generates_every_tag("HubMsg", hub_msg());
    assert_generates_every_tag("BodyKind", body_kind());
    assert_generates_every_tag("ErrorKind", error_kind());
}
