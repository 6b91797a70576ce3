//! Identity, list and relay over real TCP: the assignment's own case and its neighbours. Each
//! test runs on one hub and on a cluster of three (`NAME::one_hub`, `NAME::three_hubs`), its
//! clients spread over the hubs (`testkit::hubs`).

use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use testkit::*;

on_one_hub_and_a_cluster! {

async fn three_clients_identity_list_and_relay(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let mut c2 = hubs.connect().await;
    let mut c3 = hubs.connect().await;
    let (id1, id2, id3) = (c1.user_id(), c2.user_id(), c3.user_id());

    assert_eq!(identity(&mut c1).await, id1, "the welcome names the same id");
    assert_eq!(identity(&mut c2).await, id2);
    assert_eq!(identity(&mut c3).await, id3);
    assert!(id1 != id2 && id2 != id3 && id1 != id3);

    assert_eq!(list(&mut c1).await, sorted([id2, id3]));
    assert_eq!(list(&mut c2).await, sorted([id1, id3]));

    let answer = relay(&mut c1, &[id2, id3], &b"foobar"[..]).await;
    assert_eq!(
        answer,
        HubMsg::Posted {
            req: RequestId(9),
            delivered: 2,
            queued: vec![],
            unknown: vec![],
            dropped: vec![],
            full: vec![],
        }
    );
    for conn in [&mut c2, &mut c3] {
        let (from, body) = delivery(conn).await;
        assert_eq!(from, id1);
        assert_eq!(&body[..], b"foobar");
    }
    hubs.stop().await;
}

async fn ids_are_never_reused_and_list_forgets_who_left(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let c2 = hubs.connect().await;
    let (id1, id2) = (c1.user_id(), c2.user_id());
    drop(c2);
    hubs.gone(id2).await;
    let mut c3 = hubs.connect().await;
    let id3 = identity(&mut c3).await;
    assert!(id3 != id1 && id3 != id2, "{id3} was given before");
    assert_eq!(list(&mut c1).await, vec![id3]);
    hubs.stop().await;
}

async fn unknown_receivers_are_reported_and_the_known_ones_served(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let mut c2 = hubs.connect().await;
    let (nobody, nobody_else) = (UserId(9_000_077), UserId(9_000_078));
    let answer = relay(&mut c1, &[nobody, c2.user_id(), nobody_else], &b"hi"[..]).await;
    assert_eq!(
        answer,
        HubMsg::Posted {
            req: RequestId(9),
            delivered: 1,
            queued: vec![],
            unknown: vec![nobody, nobody_else],
            dropped: vec![],
            full: vec![],
        }
    );
    assert_eq!(delivery(&mut c2).await.0, c1.user_id());
    hubs.stop().await;
}

async fn relay_to_self_is_delivered(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let me = c1.user_id();
    c1.send(&relay_msg(4, &[me], &b"me"[..]))
        .await
        .expect("send");
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(recv(&mut c1).await);
    }
    assert!(got.contains(&HubMsg::Message {
        from: me,
        kind: shared::BodyKind::Bytes,
        body: bytes::Bytes::from_static(b"me"),
    }));
    assert!(got
        .iter()
        .any(|m| matches!(m, HubMsg::Posted { delivered: 1, .. })));
    hubs.stop().await;
}

async fn body_kind_travels_untouched_and_sender_cannot_be_forged(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let mut c2 = hubs.connect().await;
    // A body that claims to be from the receiver in every way a body could.
    let forged = HubMsg::Message {
        from: c2.user_id(),
        kind: BodyKind::Text,
        body: bytes::Bytes::from_static(b"x"),
    }
    .to_frame()
    .expect("encodes");
    let msg = ClientMsg::Relay {
        req: RequestId(1),
        to: vec![c2.user_id()],
        kind: BodyKind::File {
            name: "notes.txt".into(),
        },
        body: forged.clone(),
    };
    assert!(matches!(
        request(&mut c1, msg).await,
        HubMsg::Posted { delivered: 1, .. }
    ));
    match recv(&mut c2).await {
        HubMsg::Message { from, kind, body } => {
            assert_eq!(from, c1.user_id());
            assert_eq!(
                kind,
                BodyKind::File {
                    name: "notes.txt".into()
                }
            );
            assert_eq!(body, forged);
        }
        other => panic!("expected a message, got {other:?}"),
    }
    hubs.stop().await;
}

async fn echo_and_ping_answer_with_their_request_ids(hubs: Hubs) {
    let mut c1 = hubs.connect().await;
    let answer = request(
        &mut c1,
        ClientMsg::Echo {
            req: RequestId(41),
            body: bytes::Bytes::from_static(b"ping me back"),
        },
    )
    .await;
    assert_eq!(
        answer,
        HubMsg::Echo {
            req: RequestId(41),
            body: bytes::Bytes::from_static(b"ping me back"),
        }
    );
    let answer = request(&mut c1, ClientMsg::Ping { req: RequestId(42) }).await;
    assert_eq!(answer, HubMsg::Pong { req: RequestId(42) });
    hubs.stop().await;
}

async fn messages_sent_before_the_receiver_reads_arrive_in_order(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let mut receiver = hubs.connect().await;
    let to = receiver.user_id();
    const N: u32 = 2000;
    for i in 0..N {
        sender
            .send(&relay_msg(i, &[to], i.to_be_bytes().to_vec()))
            .await
            .expect("send");
    }
    // Every relay was answered before the receiver read anything.
    for i in 0..N {
        match recv(&mut sender).await {
            HubMsg::Posted {
                req, delivered: 1, ..
            } => assert_eq!(req, RequestId(i)),
            other => panic!("expected relayed, got {other:?}"),
        }
    }
    for i in 0..N {
        let (from, body) = delivery(&mut receiver).await;
        assert_eq!(from, sender.user_id());
        assert_eq!(&body[..], &i.to_be_bytes());
    }
    hubs.stop().await;
}
}

/// `ids`, ascending, as `List` gives them.
fn sorted<const N: usize>(mut ids: [UserId; N]) -> Vec<UserId> {
    ids.sort_unstable();
    ids.to_vec()
}
