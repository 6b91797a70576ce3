//! Delivery receipts over real TCP (version 5): a relay to an away account is answered with
//! the seq of its mailbox copy; when the receiver acknowledges it, every session of the
//! sender that speaks version 5 hears `Delivered`, and a sender with none connected hears it
//! at its next login. Older clients never get the push. Each test runs on one hub and on a
//! cluster of three (`NAME::one_hub`, `NAME::three_hubs`), the sessions spread over the hubs
//! (`testkit::hubs`).

use shared::account::Kept;
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId, ACCOUNTS_VERSION};
use testkit::accounts::{ack, login};
use testkit::{on_one_hub_and_a_cluster, recv_skipping, relay, TestHub};

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

on_one_hub_and_a_cluster! {

/// The receipt taken live is then forgotten by the store: it does not come again at a login.
async fn an_ack_reaches_every_session_of_the_sender_with_the_seqs_it_was_told(hubs: Hubs) {
    let store = hubs.store().await;
    let (bob, bob_key, b) = hubs.new_account("bob").await;
    drop(bob);
    hubs.gone(b.user_id).await;
    let (mut alice, alice_key, a) = hubs.new_account("alice").await;
    let mut second = hubs.next_hub().connect().await;
    hubs.login(&mut second, &alice_key, "alice").await;
    let first = queued(&mut alice, b.user_id, b"one").await;
    let last = queued(&mut alice, b.user_id, b"two").await;
    assert!(first < last, "{first} then {last}");

    let _bob = bob_reads(hubs.next_hub(), &bob_key).await;
    for session in [&mut alice, &mut second] {
        match next_push(session).await {
            HubMsg::Delivered { to, through } => assert_eq!((to, through), (b.user_id, last)),
            other => panic!("expected Delivered, got {other:?}"),
        }
    }
    testkit::eventually("the receipt taken live to be forgotten", || {
        store.receipts(a.user_id).is_ok_and(|r| r.is_empty())
    })
    .await;
    hubs.stop().await;
}

async fn a_sender_away_at_the_ack_hears_it_at_its_next_login_once(hubs: Hubs) {
    let store = hubs.store().await;
    let (bob, bob_key, b) = hubs.new_account("bob").await;
    drop(bob);
    let (mut alice, alice_key, a) = hubs.new_account("alice").await;
    hubs.gone(b.user_id).await;
    let seq = queued(&mut alice, b.user_id, b"hi").await;
    drop(alice);
    hubs.gone(a.user_id).await;

    let _bob = bob_reads(hubs.next_hub(), &bob_key).await;
    assert_eq!(store.receipts(a.user_id).expect("reads").len(), 1, "kept");
    let mut alice = hubs.next_hub().connect().await;
    login(&mut alice, &alice_key, "alice").await;
    match next_push(&mut alice).await {
        HubMsg::Delivered { to, through } => assert_eq!((to, through), (b.user_id, seq)),
        other => panic!("expected Delivered, got {other:?}"),
    }
    testkit::eventually("the given receipt to be forgotten", || {
        store.receipts(a.user_id).is_ok_and(|r| r.is_empty())
    })
    .await;
    hubs.stop().await;
}

/// Alice's version-3 session and bob's acknowledging one are on one hub (bob registered on
/// another): the receipt is pushed, or not, before bob's pong, so before alice's.
async fn a_client_before_version_5_is_answered_routed_and_never_hears_a_receipt(hubs: Hubs) {
    let (bob, bob_key, b) = hubs.new_account("bob").await;
    drop(bob);
    hubs.gone(b.user_id).await;
    let hub = hubs.next_hub();
    let alice_key = shared::SecretKey::generate();
    let mut alice = Connection::connect_speaking(hub.addr, ACCOUNTS_VERSION)
        .await
        .expect("v3");
    let a = testkit::accounts::register(&mut alice, &alice_key, "alice").await;
    hubs.settled(a.user_id).await;
    match relay(&mut alice, &[b.user_id], &b"hi"[..]).await {
        HubMsg::Routed { queued, .. } => assert_eq!(queued, vec![b.user_id]),
        other => panic!("expected Routed, got {other:?}"),
    }
    let _bob = bob_reads(hub, &bob_key).await;
    let before = until_pong(&mut alice).await;
    assert!(before.is_empty(), "a version 3 client heard {before:?}");
    // Kept for her: a later session at version 5, on another hub of a cluster, hears it.
    let mut later = hubs.next_hub().connect().await;
    login(&mut later, &alice_key, "alice").await;
    assert!(matches!(
        next_push(&mut later).await,
        HubMsg::Delivered { to, .. } if to == b.user_id
    ));
    hubs.stop().await;
}

}
