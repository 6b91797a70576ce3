//! Bytes that are not messages: the offender gets an error and is closed; nobody else notices.

use futures::StreamExt;
use shared::{ErrorKind, FrameCodec, HubMsg, UserId, MAX_FRAME_LEN};
use testkit::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

/// A raw connection whose welcome has been read.
async fn raw(
    hub: &TestHub,
) -> (
    FramedRead<tokio::net::tcp::OwnedReadHalf, FrameCodec>,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let stream = TcpStream::connect(hub.addr).await.expect("connect");
    let (rd, wr) = stream.into_split();
    let mut frames = FramedRead::new(rd, FrameCodec::new());
    let welcome = frames.next().await.expect("welcome").expect("frame");
    assert!(matches!(
        HubMsg::decode(&welcome),
        Ok(HubMsg::Welcome { .. })
    ));
    (frames, wr)
}

/// Send `bytes` and expect one error of `kind` without a request id, then end of stream.
async fn expect_error_then_close(hub: &TestHub, bytes: &[u8], kind: ErrorKind) {
    let (mut frames, mut wr) = raw(hub).await;
    wr.write_all(bytes).await.expect("write");
    let frame = tokio::time::timeout(WAIT, frames.next())
        .await
        .expect("answer in time")
        .expect("an error frame before the close")
        .expect("valid frame");
    match HubMsg::decode(&frame).expect("hub message") {
        HubMsg::Error {
            req: None,
            kind: got,
            text,
        } => assert_eq!(got, kind, "{text}"),
        other => panic!("expected {kind:?}, got {other:?}"),
    }
    let end = tokio::time::timeout(WAIT, frames.next())
        .await
        .expect("close in time");
    assert!(
        end.is_none(),
        "connection closed after the error, got {end:?}"
    );
}

/// The hub and a bystander still work after each bad input.
async fn bystanders_unaffected(
    hub: &TestHub,
    a: &mut shared::conn::Connection,
    b: &mut shared::conn::Connection,
) {
    let answer = relay(a, &[b.user_id()], &b"still here"[..]).await;
    assert!(
        matches!(answer, HubMsg::Relayed { delivered: 1, .. }),
        "{answer:?}"
    );
    assert_eq!(&delivery(b).await.1[..], b"still here");
    let _ = hub;
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

#[tokio::test]
async fn each_malformed_frame_gets_an_error_and_a_close() {
    let hub = TestHub::start().await;
    let mut a = hub.connect().await;
    let mut b = hub.connect().await;

    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        (
            "length prefix 0xFFFFFFFF",
            vec![0xFF, 0xFF, 0xFF, 0xFF],
            ErrorKind::FrameTooLarge,
        ),
        (
            "one past the frame cap",
            ((MAX_FRAME_LEN + 1) as u32).to_be_bytes().to_vec(),
            ErrorKind::FrameTooLarge,
        ),
        // Identity's request id as a varint that never ends.
        (
            "bad varint",
            frame(&[0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            ErrorKind::Malformed,
        ),
        ("unknown tag", frame(&[200, 1]), ErrorKind::Malformed),
        ("trailing bytes", frame(&[5, 7, 0, 0]), ErrorKind::Malformed),
        ("empty payload", frame(&[]), ErrorKind::Malformed),
        // Relay claiming 2^32 receivers inside a 20-byte frame.
        (
            "huge vector length",
            frame(&[
                2, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ]),
            ErrorKind::Malformed,
        ),
    ];
    for (name, bytes, kind) in cases {
        eprintln!("case: {name}");
        expect_error_then_close(&hub, &bytes, kind).await;
        bystanders_unaffected(&hub, &mut a, &mut b).await;
    }
    hub.wait_for_users(2).await;
    let closes = hub.inspector.recent_closes();
    let count = |r| closes.iter().filter(|(_, c)| *c == r).count();
    assert_eq!(count(hub::CloseReason::FrameTooLarge), 2, "{closes:?}");
    assert_eq!(count(hub::CloseReason::Malformed), 5, "{closes:?}");
    hub.stop().await;
}

#[tokio::test]
async fn truncated_frame_then_close_is_a_plain_disconnect() {
    let hub = TestHub::start().await;
    let mut a = hub.connect().await;
    let mut b = hub.connect().await;
    let (_frames, mut wr) = raw(&hub).await;
    // Half of a relay frame, then FIN.
    wr.write_all(&[0, 0, 0, 40, 2, 1, 1, 1])
        .await
        .expect("write");
    wr.shutdown().await.expect("fin");
    hub.wait_for_users(2).await;
    bystanders_unaffected(&hub, &mut a, &mut b).await;
    assert_eq!(list(&mut a).await, vec![UserId(2)]);
    hub.stop().await;
}

#[tokio::test]
async fn a_frame_exactly_at_the_cap_is_read_and_judged_by_its_content() {
    let hub = TestHub::start().await;
    // MAX_FRAME_LEN bytes of Echo with a body over the limit: the frame is accepted, the
    // request is refused, and the connection stays open.
    let body_len = MAX_FRAME_LEN - 1 - 1 - 3; // tag, req id, 3-byte length varint
    let mut payload = vec![3u8, 9];
    let mut n = body_len;
    while n >= 0x80 {
        payload.push((n as u8) | 0x80);
        n >>= 7;
    }
    payload.push(n as u8);
    payload.resize(MAX_FRAME_LEN, 0xAB);
    let (mut frames, mut wr) = raw(&hub).await;
    wr.write_all(&frame(&payload)).await.expect("write");
    let answer = frames.next().await.expect("answer").expect("frame");
    match HubMsg::decode(&answer).expect("hub message") {
        HubMsg::Error {
            req: Some(_), kind, ..
        } => assert_eq!(kind, ErrorKind::BodyTooLarge),
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    hub.stop().await;
}
