//! Bad frames over real TCP: each gets its documented answer and close reason, the bystanders
//! keep being served, and the ledger and the baseline hold afterwards. Each test runs on one
//! hub and on a cluster of three (`NAME::one_hub`, `NAME::three_hubs`): there the bystanders
//! are on two hubs, relaying across NATS, and the offender on the third.

use bytes::Bytes;
use hub::CloseReason;
use shared::{BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId};
use shared::{MAX_BODY_LEN, MAX_FRAME_LEN, MAX_NAME_LEN, MAX_RECEIVERS};
use testkit::baseline::Baseline;
use testkit::hubs::Hubs;
use testkit::ledger::Ledger;
use testkit::on_one_hub_and_a_cluster;
use testkit::raw::{framed, Raw, Seen};
use testkit::scene::Pair;

/// Every hub's baseline, taken once each hub follows the others (a client on each has come
/// and gone, seen by every hub) and no client is connected: the tasks a cluster's hubs start
/// as they meet, in their first second, stay, and are part of it.
async fn baselines(hubs: &Hubs) -> Vec<Baseline> {
    for _ in 0..hubs.hubs.len() {
        let id = hubs.connect().await.user_id();
        hubs.gone(id).await;
    }
    hubs.empty().await;
    hubs.hubs.iter().map(Baseline::capture).collect()
}

/// Wait until every hub is back to its baseline (`bases`, from [`baselines`]).
async fn restored(hubs: &Hubs, bases: &[Baseline]) {
    for (hub, base) in hubs.hubs.iter().zip(bases) {
        base.wait_restored(hub).await;
    }
}

/// Send `bytes` on a fresh raw connection between two bystander exchanges; expect a goodbye of
/// `kind` and a close recorded as `reason`; then check the ledger and every hub's baseline.
async fn goodbye_for(hubs: Hubs, bytes: &[u8], kind: ErrorKind, reason: CloseReason) {
    let bases = baselines(&hubs).await;
    let ledger = Ledger::new();
    let mut pair = Pair {
        a: hubs.connect().await,
        b: hubs.connect().await,
    };
    pair.exchange(&ledger).await;

    let hub = hubs.next_hub();
    let mut raw = Raw::connect(hub.addr).await;
    // The hub may close before it has read everything; a failed write is part of the test.
    let _ = raw.write(bytes).await;
    raw.expect_goodbye(kind).await;
    assert_eq!(hub.close_reason(raw.user_id).await, reason);
    drop(raw);

    pair.exchange(&ledger).await;
    pair.finish(&ledger);
    ledger.check();
    restored(&hubs, &bases).await;
    hubs.stop().await;
}

on_one_hub_and_a_cluster! {

async fn length_prefix_of_all_ones_is_refused_on_sight(hubs: Hubs) {
    goodbye_for(
        hubs,
        &[0xFF; 4],
        ErrorKind::FrameTooLarge,
        CloseReason::FrameTooLarge,
    )
    .await;
}

async fn one_past_the_frame_cap_is_refused_on_sight(hubs: Hubs) {
    let header = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
    goodbye_for(
        hubs,
        &header,
        ErrorKind::FrameTooLarge,
        CloseReason::FrameTooLarge,
    )
    .await;
}

async fn zero_length_frame_is_malformed(hubs: Hubs) {
    goodbye_for(hubs, &[0, 0, 0, 0], ErrorKind::Malformed, CloseReason::Malformed).await;
}

async fn unknown_tag_is_malformed(hubs: Hubs) {
    goodbye_for(
        hubs,
        &framed(&[200, 1]),
        ErrorKind::Malformed,
        CloseReason::Malformed,
    )
    .await;
}

async fn overlong_varint_is_malformed(hubs: Hubs) {
    // Ping (tag 5) with a request id varint that never ends within u32's five bytes.
    let payload = [5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    goodbye_for(
        hubs,
        &framed(&payload),
        ErrorKind::Malformed,
        CloseReason::Malformed,
    )
    .await;
}

async fn receiver_count_of_two_to_the_32_in_a_tiny_frame_is_malformed(hubs: Hubs) {
    // Relay (tag 2), req 1, then a receiver count of 2^32 followed by a few ids: 20 bytes that
    // must not make the hub allocate 32 GiB.
    let mut payload = vec![2, 1, 0x80, 0x80, 0x80, 0x80, 0x10];
    payload.extend_from_slice(&[1; 13]);
    assert_eq!(payload.len(), 20);
    goodbye_for(
        hubs,
        &framed(&payload),
        ErrorKind::Malformed,
        CloseReason::Malformed,
    )
    .await;
}

async fn body_length_beyond_the_frame_is_malformed(hubs: Hubs) {
    // Echo (tag 3), req 1, body length 1 MiB, but only 4 body bytes in the frame.
    let payload = [3, 1, 0x80, 0x80, 0x40, 1, 2, 3, 4];
    goodbye_for(
        hubs,
        &framed(&payload),
        ErrorKind::Malformed,
        CloseReason::Malformed,
    )
    .await;
}

async fn trailing_bytes_after_a_message_are_malformed(hubs: Hubs) {
    goodbye_for(
        hubs,
        &framed(&[5, 7, 0]),
        ErrorKind::Malformed,
        CloseReason::Malformed,
    )
    .await;
}

async fn frame_exactly_at_the_cap_is_read_and_answered(hubs: Hubs) {
    let bases = baselines(&hubs).await;
    let hub = hubs.next_hub();
    let mut raw = Raw::connect(hub.addr).await;
    // An echo whose frame is exactly MAX_FRAME_LEN: tag, req, a 3-byte body length, the body.
    let body_len = MAX_FRAME_LEN - 5;
    let msg = ClientMsg::Echo {
        req: RequestId(3),
        body: Bytes::from(vec![7u8; body_len]),
    };
    let frame = msg.to_frame().expect("fits the cap exactly");
    assert_eq!(frame.len(), 4 + MAX_FRAME_LEN);
    raw.write(&frame)
        .await
        .expect("hub reads a frame at the cap");
    // The frame was read in full; its body breaks the body rule, which costs only the request.
    match raw.next().await {
        Seen::Msg(HubMsg::Error {
            req: Some(RequestId(3)),
            kind: ErrorKind::BodyTooLarge,
            ..
        }) => {}
        other => panic!("expected BodyTooLarge for req 3, got {other:?}"),
    }
    let ping = ClientMsg::<Bytes>::Ping { req: RequestId(4) };
    raw.write(&ping.to_frame().expect("encodes"))
        .await
        .expect("still open");
    assert!(matches!(
        raw.next().await,
        Seen::Msg(HubMsg::Pong { req: RequestId(4) })
    ));
    drop(raw);
    restored(&hubs, &bases).await;
    hubs.stop().await;
}

async fn largest_legal_relay_fits_the_frame_and_is_answered(hubs: Hubs) {
    let bases = baselines(&hubs).await;
    let hub = hubs.next_hub();
    let mut raw = Raw::connect(hub.addr).await;
    // The widest header the rules allow: 255 ten-byte ids and a 255-byte name.
    let to: Vec<UserId> = (0..MAX_RECEIVERS as u64)
        .map(|i| UserId(u64::MAX - i))
        .collect();
    let msg = ClientMsg::Relay {
        req: RequestId(1),
        to: to.clone(),
        kind: BodyKind::File {
            name: "n".repeat(MAX_NAME_LEN),
        },
        body: Bytes::from(vec![1u8; MAX_BODY_LEN]),
    };
    let frame = msg
        .to_frame()
        .expect("HEADER_ROOM covers the widest header");
    raw.write(&frame).await.expect("hub reads it");
    match raw.next().await {
        Seen::Msg(HubMsg::Relayed {
            delivered: 0,
            unknown,
            dropped,
            ..
        }) => {
            assert_eq!(unknown, to);
            assert!(dropped.is_empty());
        }
        other => panic!("expected Relayed, got {other:?}"),
    }
    drop(raw);
    restored(&hubs, &bases).await;
    hubs.stop().await;
}

}

#[test]
fn ledger_catches_loss_duplicates_disorder_and_forgery() {
    let (s, r) = (UserId(1), UserId(2));
    let deliver = |ledger: &Ledger, n: usize| -> Vec<HubMsg> {
        (0..n)
            .map(|_| {
                let ClientMsg::Relay { req, body, .. } = ledger.relay(s, &[r], 32) else {
                    unreachable!("ledger makes relays")
                };
                let answer = HubMsg::Posted {
                    req,
                    delivered: 1,
                    queued: vec![],
                    unknown: vec![],
                    dropped: vec![],
                    full: vec![],
                };
                assert!(ledger.answer(s, &answer));
                HubMsg::Message {
                    from: s,
                    kind: BodyKind::Bytes,
                    body,
                }
            })
            .collect()
    };
    // Lost: a healthy receiver missing one.
    let ledger = Ledger::new();
    let msgs = deliver(&ledger, 2);
    ledger.receive(r, &msgs[0]);
    ledger.healthy(r);
    assert_eq!(ledger.violations().len(), 1);
    // A gap, even for a receiver that died: 1 and 3 without 2.
    let ledger = Ledger::new();
    let msgs = deliver(&ledger, 3);
    ledger.receive(r, &msgs[0]);
    ledger.receive(r, &msgs[2]);
    assert_eq!(ledger.violations().len(), 1);
    // Duplicate and disorder.
    let ledger = Ledger::new();
    let msgs = deliver(&ledger, 2);
    for i in [1, 0, 0] {
        ledger.receive(r, &msgs[i]);
    }
    assert!(!ledger.violations().is_empty());
    // A forged sender, and a miscounted answer.
    let ledger = Ledger::new();
    let mut msgs = deliver(&ledger, 1);
    if let HubMsg::Message { from, .. } = &mut msgs[0] {
        *from = UserId(9);
    }
    ledger.receive(r, &msgs[0]);
    let ClientMsg::Relay { req, .. } = ledger.relay(s, &[r, UserId(3)], 8) else {
        unreachable!("ledger makes relays")
    };
    let wrong = HubMsg::Posted {
        req,
        delivered: 2,
        queued: vec![],
        unknown: vec![UserId(3)],
        dropped: vec![],
        full: vec![],
    };
    ledger.answer(s, &wrong);
    assert_eq!(ledger.violations().len(), 3, "{:?}", ledger.violations());
}
