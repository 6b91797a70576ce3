//! What the hub refuses and what it closes. A request that breaks a relay rule at its edge gets
//! a soft error naming the rule, delivers nothing, and leaves the connection usable; a fault
//! (a truncated frame, a reset, one connection too many) gets its documented close reason while
//! the bystanders keep being served and the ledger holds. The relay rules hold on a cluster as
//! on one hub: those tests run on both (`NAME::one_hub`, `NAME::three_hubs`), their receivers
//! spread over the hubs; the closes are one connection's to its own hub, and run on one.

use bytes::Bytes;
use hub::{CloseReason, Config};
use shared::conn::{ConnError, Connection};
use shared::{BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId, MAX_BODY_LEN};
use std::time::Duration;
use testkit::raw::{Raw, Seen};
use testkit::*;
use tokio::io::AsyncWriteExt;

/// Expect an error for request 9 of the given kind, then prove the connection still works.
async fn expect_refused(conn: &mut Connection, answer: HubMsg, kind: ErrorKind) {
    match answer {
        HubMsg::Error {
            req: Some(RequestId(9)),
            kind: got,
            text,
        } => {
            assert_eq!(got, kind, "{text}");
            assert!(!text.is_empty());
        }
        other => panic!("expected {kind:?}, got {other:?}"),
    }
    let me = conn.user_id();
    assert_eq!(identity(conn).await, me, "connection still usable");
}

on_one_hub_and_a_cluster! {

async fn relay_to_255_receivers_works_and_256_is_refused(hubs: Hubs) {
    // The sender on one hub, the receivers spread over every hub.
    let mut sender = hubs.connect().await;
    let mut conns = Vec::with_capacity(256);
    for _ in 0..256 {
        conns.push(hubs.connect().await);
    }
    let ids: Vec<UserId> = conns.iter().map(Connection::user_id).collect();

    let answer = relay(&mut sender, &ids, &b"x"[..]).await;
    expect_refused(&mut sender, answer, ErrorKind::TooManyReceivers).await;

    let answer = relay(&mut sender, &ids[..255], &b"y"[..]).await;
    assert!(
        matches!(answer, HubMsg::Posted { delivered: 255, .. }),
        "{answer:?}"
    );
    // Every receiver got exactly the second body: nothing from the refused relay.
    for conn in &mut conns[..255] {
        let (from, body) = delivery(conn).await;
        assert_eq!((from, &body[..]), (sender.user_id(), &b"y"[..]));
    }
    hubs.stop().await;
}

async fn body_of_exactly_the_limit_is_delivered_and_one_more_byte_is_refused(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let mut receiver = hubs.connect().await;
    let to = [receiver.user_id()];

    let too_big = Bytes::from(vec![7u8; MAX_BODY_LEN + 1]);
    let answer = relay(&mut sender, &to, too_big).await;
    expect_refused(&mut sender, answer, ErrorKind::BodyTooLarge).await;

    let max = Bytes::from((0..MAX_BODY_LEN).map(|i| i as u8).collect::<Vec<u8>>());
    let answer = relay(&mut sender, &to, max.clone()).await;
    assert!(
        matches!(answer, HubMsg::Posted { delivered: 1, .. }),
        "{answer:?}"
    );
    let (_, body) = delivery(&mut receiver).await;
    assert_eq!(body, max);

    let answer = request(
        &mut sender,
        ClientMsg::Echo {
            req: RequestId(9),
            body: Bytes::from(vec![0u8; MAX_BODY_LEN + 1]),
        },
    )
    .await;
    expect_refused(&mut sender, answer, ErrorKind::BodyTooLarge).await;
    hubs.stop().await;
}

async fn empty_body_is_allowed(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let mut receiver = hubs.connect().await;
    let answer = relay(&mut sender, &[receiver.user_id()], Bytes::new()).await;
    assert!(
        matches!(answer, HubMsg::Posted { delivered: 1, .. }),
        "{answer:?}"
    );
    assert!(delivery(&mut receiver).await.1.is_empty());
    hubs.stop().await;
}

async fn zero_receivers_and_duplicates_are_refused(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let mut receiver = hubs.connect().await;
    let (me, them) = (sender.user_id(), receiver.user_id());

    let answer = relay(&mut sender, &[], &b"x"[..]).await;
    expect_refused(&mut sender, answer, ErrorKind::NoReceivers).await;

    let answer = relay(&mut sender, &[them, me, them], &b"x"[..]).await;
    expect_refused(&mut sender, answer, ErrorKind::DuplicateReceivers).await;

    // Nothing was delivered: the next thing the receiver sees is this ping's answer.
    assert_eq!(
        request(&mut receiver, ClientMsg::Ping { req: RequestId(5) }).await,
        HubMsg::Pong { req: RequestId(5) }
    );
    hubs.stop().await;
}

async fn file_name_longer_than_the_limit_is_refused(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let receiver = hubs.connect().await;
    let msg = ClientMsg::Relay {
        req: RequestId(9),
        to: vec![receiver.user_id()],
        kind: BodyKind::File {
            name: "n".repeat(256),
        },
        body: Bytes::from_static(b"data"),
    };
    let answer = request(&mut sender, msg).await;
    expect_refused(&mut sender, answer, ErrorKind::NameTooLong).await;
    hubs.stop().await;
}

}

/// The first 10 bytes of a frame announcing 100.
const TRUNCATED: [u8; 10] = [0, 0, 0, 100, 2, 1, 1, 1, 1, 1];

async fn truncated_then(reset: bool, reason: CloseReason) {
    let (hub, base, ledger, mut pair) = testkit::scene::start(test_config()).await;
    let mut raw = Raw::connect(hub.addr).await;
    raw.write(&TRUNCATED).await.expect("write");
    let id = raw.user_id;
    if reset {
        raw.reset();
    } else {
        raw.wr.shutdown().await.expect("fin");
        assert!(matches!(raw.next().await, Seen::Closed));
    }
    assert_eq!(hub.close_reason(id).await, reason);
    pair.exchange(&ledger).await;
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn truncated_frame_then_fin_is_a_peer_close() {
    truncated_then(false, CloseReason::PeerClosed).await;
}

#[tokio::test]
async fn truncated_frame_then_reset_is_an_io_close() {
    truncated_then(true, CloseReason::Io).await;
}

#[tokio::test]
async fn connection_over_the_limit_is_told_server_full_and_the_rest_unaffected() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(Config {
        max_connections: 3,
        ..test_config()
    })
    .await;
    let mut third = hub.connect().await;
    match Connection::connect(hub.addr).await {
        Err(ConnError::Refused {
            kind: ErrorKind::ServerFull,
            ..
        }) => {}
        Err(e) => panic!("expected server full, got {e}"),
        Ok(_) => panic!("a fourth connection was served"),
    }
    assert!(hub
        .inspector
        .recent_closes()
        .contains(&(None, CloseReason::ServerFull)));
    pair.exchange(&ledger).await;
    let pong = testkit::request(&mut third, ClientMsg::<Bytes>::Ping { req: RequestId(5) }).await;
    assert_eq!(pong, HubMsg::Pong { req: RequestId(5) });
    // A place freed is a place taken.
    drop(third);
    // The place comes back when the third connection's task ends; until then a try is refused.
    let again = tokio::time::timeout(testkit::WAIT, async {
        loop {
            if let Ok(conn) = Connection::connect(hub.addr).await {
                return conn;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the freed place was given out");
    drop(again);
    pair.exchange(&ledger).await;
    testkit::scene::finish(hub, base, &ledger, pair).await;
}
