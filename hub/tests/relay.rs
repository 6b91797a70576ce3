//! Identity, list and relay over real TCP: the assignment's own case and its neighbours.

use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use testkit::*;

#[tokio::test]
async fn three_clients_identity_list_and_relay() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
    let mut c2 = hub.connect().await;
    let mut c3 = hub.connect().await;

    assert_eq!(identity(&mut c1).await, UserId(1));
    assert_eq!(identity(&mut c2).await, UserId(2));
    assert_eq!(identity(&mut c3).await, UserId(3));
    assert_eq!(c3.user_id(), UserId(3), "the welcome names the same id");

    assert_eq!(list(&mut c1).await, vec![UserId(2), UserId(3)]);
    assert_eq!(list(&mut c2).await, vec![UserId(1), UserId(3)]);

    let answer = relay(&mut c1, &[UserId(2), UserId(3)], &b"foobar"[..]).await;
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
        assert_eq!(from, UserId(1));
        assert_eq!(&body[..], b"foobar");
    }
    hub.stop().await;
}

#[tokio::test]
async fn ids_are_never_reused_and_list_forgets_who_left() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
    let c2 = hub.connect().await;
    drop(c2);
    hub.wait_for_users(1).await;
    let mut c3 = hub.connect().await;
    assert_eq!(identity(&mut c3).await, UserId(3));
    assert_eq!(list(&mut c1).await, vec![UserId(3)]);
    hub.stop().await;
}

#[tokio::test]
async fn unknown_receivers_are_reported_and_the_known_ones_served() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
    let mut c2 = hub.connect().await;
    let answer = relay(&mut c1, &[UserId(77), UserId(2), UserId(78)], &b"hi"[..]).await;
    assert_eq!(
        answer,
        HubMsg::Posted {
            req: RequestId(9),
            delivered: 1,
            queued: vec![],
            unknown: vec![UserId(77), UserId(78)],
            dropped: vec![],
            full: vec![],
        }
    );
    assert_eq!(delivery(&mut c2).await.0, UserId(1));
    hub.stop().await;
}

#[tokio::test]
async fn relay_to_self_is_delivered() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
    c1.send(&relay_msg(4, &[UserId(1)], &b"me"[..]))
        .await
        .expect("send");
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(recv(&mut c1).await);
    }
    assert!(got.contains(&HubMsg::Message {
        from: UserId(1),
        kind: shared::BodyKind::Bytes,
        body: bytes::Bytes::from_static(b"me"),
    }));
    assert!(got
        .iter()
        .any(|m| matches!(m, HubMsg::Posted { delivered: 1, .. })));
    hub.stop().await;
}

#[tokio::test]
async fn body_kind_travels_untouched_and_sender_cannot_be_forged() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
    let mut c2 = hub.connect().await;
    // A body that claims to be from user 2 in every way a body could.
    let forged = HubMsg::Message {
        from: UserId(2),
        kind: BodyKind::Text,
        body: bytes::Bytes::from_static(b"x"),
    }
    .to_frame()
    .expect("encodes");
    let msg = ClientMsg::Relay {
        req: RequestId(1),
        to: vec![UserId(2)],
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
            assert_eq!(from, UserId(1));
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
    hub.stop().await;
}

#[tokio::test]
async fn echo_and_ping_answer_with_their_request_ids() {
    let hub = TestHub::start().await;
    let mut c1 = hub.connect().await;
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
    hub.stop().await;
}

#[tokio::test]
async fn messages_sent_before_the_receiver_reads_arrive_in_order() {
    let hub = TestHub::start().await;
    let mut sender = hub.connect().await;
    let mut receiver = hub.connect().await;
    const N: u32 = 2000;
    for i in 0..N {
        sender
            .send(&relay_msg(i, &[UserId(2)], i.to_be_bytes().to_vec()))
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
        assert_eq!(from, UserId(1));
        assert_eq!(&body[..], &i.to_be_bytes());
    }
    hub.stop().await;
}
