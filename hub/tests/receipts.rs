//! Delivery receipts over real TCP (version 5): a relay to an away account is answered with
//! the seq of its mailbox copy; when the receiver acknowledges it, every session of the
//! sender that speaks version 5 hears `Delivered`, and a sender with none connected hears it
//! at its next login. Older clients never get the push.

use std::sync::Arc;

use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Store};
use shared::account::Kept;
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId, ACCOUNTS_VERSION};
use testkit::accounts::{ack, login, new_account};
use testkit::{recv_skipping, relay, test_config, TestHub};

/// Relay `body` to `to` and insist it was queued for them: the seq of each copy.
async fn queued(conn: &mut Connection, to: UserId, body: &'static [u8]) -> u64 {
    match relay(conn, &[to], body).await {
        HubMsg::Posted {
            delivered: 0,
            queued,
            ..
        } => match queued[..] {
            [Kept { to: id, seq }] if id == to => seq,
            _ => panic!("not queued for {to:?}: {queued:?}"),
        },
        other => panic!("expected Posted, got {other:?}"),
    }
}

/// The next push that is not an `Outgoing` (another session's relay).
async fn next_push(conn: &mut Connection) -> HubMsg {
    loop {
        match recv_skipping(conn).await {
            HubMsg::Outgoing { .. } => continue,
            other => return other,
        }
    }
}

/// Ping and wait for the pong; what came before it.
async fn until_pong(conn: &mut Connection) -> Vec<HubMsg> {
    conn.send(&ClientMsg::Ping { req: RequestId(77) })
        .await
        .expect("send");
    let mut before = Vec::new();
    loop {
        match recv_skipping(conn).await {
            HubMsg::Pong { req: RequestId(77) } => return before,
            other => before.push(other),
        }
    }
}

/// bob logs in, takes his `waiting` messages, acknowledges them all, and waits until his
/// reader has passed the ack (the receipts are pushed before his next request is read).
async fn bob_reads(hub: &TestHub, key: &shared::SecretKey) -> Connection {
    let mut bob = hub.connect().await;
    let me = login(&mut bob, key, "bob").await;
    let mut last = 0;
    for _ in 0..me.waiting {
        match recv_skipping(&mut bob).await {
            HubMsg::Stored { seq, .. } => last = seq,
            other => panic!("expected a stored message, got {other:?}"),
        }
    }
    ack(&mut bob, last).await;
    until_pong(&mut bob).await;
    bob
}

#[tokio::test]
async fn an_ack_reaches_every_session_of_the_sender_with_the_seqs_it_was_told() {
    let hub = TestHub::start().await;
    let (bob, bob_key, b) = new_account(hub.addr, "bob").await;
    drop(bob);
    testkit::eventually("bob to leave", || hub.inspector.connections() == 0).await;
    let (mut alice, alice_key, _) = new_account(hub.addr, "alice").await;
    let mut second = hub.connect().await;
    login(&mut second, &alice_key, "alice").await;
    let first = queued(&mut alice, b.user_id, b"one").await;
    let last = queued(&mut alice, b.user_id, b"two").await;
    assert!(first < last, "{first} then {last}");

    let _bob = bob_reads(&hub, &bob_key).await;
    for session in [&mut alice, &mut second] {
        match next_push(session).await {
            HubMsg::Delivered { to, through } => assert_eq!((to, through), (b.user_id, last)),
            other => panic!("expected Delivered, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_sender_away_at_the_ack_hears_it_at_its_next_login_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("hub.db"), Bounds::default()).expect("opens"));
    let hub = TestHub::with_store(test_config(), store.clone()).await;
    let (bob, bob_key, b) = new_account(hub.addr, "bob").await;
    drop(bob);
    let (mut alice, alice_key, a) = new_account(hub.addr, "alice").await;
    testkit::eventually("bob to leave", || hub.inspector.connections() == 1).await;
    let seq = queued(&mut alice, b.user_id, b"hi").await;
    drop(alice);
    testkit::eventually("alice to leave", || hub.inspector.connections() == 0).await;

    let _bob = bob_reads(&hub, &bob_key).await;
    assert_eq!(store.receipts(a.user_id).expect("reads").len(), 1, "kept");
    let mut alice = hub.connect().await;
    login(&mut alice, &alice_key, "alice").await;
    match next_push(&mut alice).await {
        HubMsg::Delivered { to, through } => assert_eq!((to, through), (b.user_id, seq)),
        other => panic!("expected Delivered, got {other:?}"),
    }
    testkit::eventually("the given receipt to be forgotten", || {
        store.receipts(a.user_id).is_ok_and(|r| r.is_empty())
    })
    .await;
}

#[tokio::test]
async fn a_client_before_version_5_is_answered_routed_and_never_hears_a_receipt() {
    let hub = TestHub::start().await;
    let (bob, bob_key, b) = new_account(hub.addr, "bob").await;
    drop(bob);
    testkit::eventually("bob to leave", || hub.inspector.connections() == 0).await;
    let alice_key = shared::SecretKey::generate();
    let mut alice = Connection::connect_speaking(hub.addr, ACCOUNTS_VERSION)
        .await
        .expect("v3");
    testkit::accounts::register(&mut alice, &alice_key, "alice").await;
    match relay(&mut alice, &[b.user_id], &b"hi"[..]).await {
        HubMsg::Routed { queued, .. } => assert_eq!(queued, vec![b.user_id]),
        other => panic!("expected Routed, got {other:?}"),
    }
    let _bob = bob_reads(&hub, &bob_key).await;
    // The receipt was pushed (or not) before bob's pong, so before alice's.
    let before = until_pong(&mut alice).await;
    assert!(before.is_empty(), "a version 3 client heard {before:?}");
    // Kept for her: a later session at version 5 hears it.
    let mut later = hub.connect().await;
    login(&mut later, &alice_key, "alice").await;
    assert!(matches!(
        next_push(&mut later).await,
        HubMsg::Delivered { to, .. } if to == b.user_id
    ));
}
