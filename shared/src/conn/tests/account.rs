//! The login helpers against scripted version-3 hubs: what is signed, what is kept for later,
//! and how each refusal comes back.

use super::*;
use crate::account::{verify, Purpose, SecretKey, CHALLENGE_LEN};
use crate::conn::{LoggedIn, ACCOUNT_REQ, ANSWER_BACKLOG_MAX};

const NONCE: [u8; CHALLENGE_LEN] = [42; CHALLENGE_LEN];

fn frame(msg: HubMsg) -> Bytes {
    msg.to_frame().expect("encodes")
}

/// Welcome as anonymous #3 and agree on version 3.
async fn greet(socket: &mut Socket) {
    socket.send(welcome(3)).await.expect("write");
    next_request(socket).await;
    socket.send(hello_answer(3)).await.expect("write");
}

/// Answer a challenge request with [`NONCE`].
async fn challenge(socket: &mut Socket) {
    assert_eq!(
        next_request(socket).await,
        ClientMsg::Challenge { req: ACCOUNT_REQ }
    );
    let answer = HubMsg::Challenge {
        req: ACCOUNT_REQ,
        nonce: NONCE,
    };
    socket.send(frame(answer)).await.expect("write");
}

fn logged_in(name: &str) -> HubMsg {
    HubMsg::LoggedIn {
        req: ACCOUNT_REQ,
        user_id: UserId(1 << 32),
        name: name.into(),
        waiting: 2,
    }
}

#[tokio::test]
async fn login_signs_the_challenge_with_the_canonical_name_and_keeps_earlier_pushes() {
    let key = SecretKey::from_seed([5; 32]);
    let public = key.public();
    let addr = scripted(1, move |_, mut socket| async move {
        greet(&mut socket).await;
        challenge(&mut socket).await;
        let ClientMsg::Login {
            req,
            name,
            signature,
            receive: true,
        } = next_request(&mut socket).await
        else {
            panic!("expected a login");
        };
        assert_eq!((req, name.as_str()), (ACCOUNT_REQ, "alice"));
        assert!(verify(
            &public,
            &signature,
            Purpose::Login,
            &NONCE,
            "alice",
            &[]
        ));
        // A relay to the anonymous id and a keepalive come before the answer.
        socket.send(message(7)).await.expect("write");
        socket.send(frame(HubMsg::KeepAlive)).await.expect("write");
        assert_eq!(next_request(&mut socket).await, ClientMsg::KeepAliveAck);
        socket.send(frame(logged_in("alice"))).await.expect("write");
        let stored = HubMsg::Stored {
            seq: 1,
            from: UserId(9),
            sent_at_ms: 5,
            kind: BodyKind::Text,
            body: Bytes::from_static(b"hi"),
        };
        socket.send(frame(stored)).await.expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    assert_eq!(conn.user_id(), UserId(3));
    let account = conn.login(&key, "Alice").await.expect("logs in");
    let expected = LoggedIn {
        user_id: UserId(1 << 32),
        name: "alice".into(),
        waiting: 2,
    };
    assert_eq!(account, expected);
    assert_eq!(conn.account(), Some(&expected));
    assert_eq!(
        conn.user_id(),
        UserId(1 << 32),
        "the account's id from now on"
    );
    match conn.recv().await.expect("the kept relay") {
        HubMsg::Message { body, .. } => assert_eq!(&body[..], &[7]),
        other => panic!("expected the relay first, got {other:?}"),
    }
    assert!(matches!(
        conn.recv().await.expect("the mailbox"),
        HubMsg::Stored { seq: 1, .. }
    ));
}

#[tokio::test]
async fn register_proves_the_key_and_a_refusal_carries_kind_and_text() {
    let key = SecretKey::from_seed([6; 32]);
    let public = key.public();
    let addr = scripted(1, move |_, mut socket| async move {
        greet(&mut socket).await;
        challenge(&mut socket).await;
        let ClientMsg::Register {
            name,
            key,
            signature,
            ..
        } = next_request(&mut socket).await
        else {
            panic!("expected a registration");
        };
        assert_eq!((name.as_str(), key), ("bob", public));
        assert!(verify(
            &key,
            &signature,
            Purpose::Register,
            &NONCE,
            "bob",
            &[]
        ));
        let taken = HubMsg::Error {
            req: Some(ACCOUNT_REQ),
            kind: ErrorKind::NameTaken,
            text: "the name bob is taken".into(),
        };
        socket.send(frame(taken)).await.expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    match conn.register(&key, "bob").await {
        Err(ConnError::Denied { kind, text }) => {
            assert_eq!(kind, ErrorKind::NameTaken);
            assert_eq!(text, "the name bob is taken");
        }
        other => panic!("expected NameTaken, got {other:?}"),
    }
    assert_eq!(conn.account(), None);
    assert_eq!(conn.user_id(), UserId(3));
}

#[tokio::test]
async fn delete_signs_for_the_account_it_is_logged_in_as() {
    let key = SecretKey::from_seed([8; 32]);
    let public = key.public();
    let addr = scripted(1, move |_, mut socket| async move {
        greet(&mut socket).await;
        challenge(&mut socket).await;
        next_request(&mut socket).await;
        socket.send(frame(logged_in("carol"))).await.expect("write");
        challenge(&mut socket).await;
        let ClientMsg::DeleteAccount { req, signature } = next_request(&mut socket).await else {
            panic!("expected a deletion");
        };
        assert!(verify(
            &public,
            &signature,
            Purpose::Delete,
            &NONCE,
            "carol",
            &[]
        ));
        socket
            .send(frame(HubMsg::Done { req }))
            .await
            .expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    assert!(matches!(
        conn.delete_account(&key).await,
        Err(ConnError::NotLoggedIn)
    ));
    conn.login(&key, "carol").await.expect("logs in");
    conn.delete_account(&key).await.expect("deleted");
    assert_eq!(conn.account(), None);
}

#[tokio::test]
async fn an_older_hub_is_not_sent_account_requests() {
    let addr = scripted(1, |_, mut socket| async move {
        socket.send(welcome(3)).await.expect("write");
        next_request(&mut socket).await;
        socket.send(hello_answer(2)).await.expect("write");
        // Anything the client sent now would be a frame here.
        assert!(socket.next().await.is_none(), "no request reaches the hub");
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    let key = SecretKey::from_seed([1; 32]);
    match conn.login(&key, "alice").await {
        Err(ConnError::NeedsVersion { needed: 3, agreed }) => assert_eq!(agreed, 2),
        other => panic!("expected NeedsVersion, got {other:?}"),
    }
    assert!(matches!(
        conn.login(&key, "not a name").await,
        Err(ConnError::BadName(_))
    ));
}

#[tokio::test]
async fn a_goodbye_while_waiting_is_a_refusal_and_a_flood_is_bounded() {
    let addr = scripted(2, |n, mut socket| async move {
        greet(&mut socket).await;
        next_request(&mut socket).await;
        if n == 0 {
            let goodbye = HubMsg::Error {
                req: None,
                kind: ErrorKind::ShuttingDown,
                text: "bye".into(),
            };
            socket.send(frame(goodbye)).await.expect("write");
        } else {
            for i in 0..=ANSWER_BACKLOG_MAX {
                socket.feed(message(i as u8)).await.expect("write");
            }
            socket.flush().await.expect("flush");
        }
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    let ping = ClientMsg::Ping { req: RequestId(4) };
    assert!(matches!(
        conn.request(&ping).await,
        Err(ConnError::Refused {
            kind: ErrorKind::ShuttingDown,
            ..
        })
    ));
    // The script serves one connection at a time.
    drop(conn);
    let mut conn = Connection::connect(addr).await.expect("connects");
    assert!(matches!(
        conn.request(&ping).await,
        Err(ConnError::Backlog(ANSWER_BACKLOG_MAX))
    ));
    match conn.recv().await.expect("the first kept push") {
        HubMsg::Message { body, .. } => assert_eq!(&body[..], &[0]),
        other => panic!("expected the first relay, got {other:?}"),
    }
}
