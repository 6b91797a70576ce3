//! A pipelining sender's relays across hubs are in flight together (docs/CLUSTER.md, § Relays):
//! all published before the first answer comes, answered in request order, each receiver
//! getting every body in order; a request behind them (a local relay, a `List`) is answered
//! after them; a connection that closes with relays in flight still writes their mailboxes.
//! Real nats-server, real hubs (one a process to stop with SIGSTOP), real TCP clients.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use testkit::nats::NatsServer;
use testkit::*;

/// Relays a sender sends back to back in the tests below.
const N: u32 = 8;

/// Wait until `conn`'s `List` holds every one of `want`.
async fn lists(conn: &mut Connection, want: &[UserId]) {
    let what = format!("List to hold {want:?}");
    eventually_async(&what, async || {
        let got: HashSet<UserId> = list(conn).await.into_iter().collect();
        want.iter().all(|id| got.contains(id)).then_some(())
    })
    .await
}

/// The answer (`Posted`) to relay `req` that queued nothing.
fn posted(req: u32, delivered: u32, dropped: Vec<UserId>) -> HubMsg {
    HubMsg::Posted {
        req: RequestId(req),
        delivered,
        queued: vec![],
        unknown: vec![],
        dropped,
        full: vec![],
    }
}

/// Body `i` of a sender's run of relays.
fn body(i: u32) -> Bytes {
    Bytes::from(format!("relay {i}"))
}

/// Every message `conn` receives from now on, as it comes, on a channel.
fn answers(mut conn: Connection) -> tokio::sync::mpsc::UnboundedReceiver<HubMsg> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(msg) = conn.recv().await {
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next message on `rx`, within testkit's wait.
async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<HubMsg>) -> HubMsg {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an answer in time")
        .expect("the connection still open")
}

/// A sender on hub 1 sends N relays back to back to a receiver on hub 2, which is stopped,
/// and one on hub 3: hub 3's receiver gets all N before the sender has any answer (the
/// relays were all in flight at once, each waiting for hub 2), then every relay is answered,
/// in request order, hub 2's receiver `dropped`. Hub 2, resumed, takes the N relays at last,
/// past their deadline: it delivers none of them (its receiver's first message is a relay
/// sent after the resume, which NATS keeps behind them), so each `dropped` stays true.
#[tokio::test]
async fn a_pipelining_senders_relays_are_in_flight_together_and_answered_in_order() {
    let nats = NatsServer::start();
    // Long enough that the N relays are all published and delivered on hub 3 well within
    // it: the first answer can only come once it has passed.
    let (h1, stuck) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_secs(3), env!("CARGO_BIN_EXE_hub"))
            .await;
    let h3 = TestHub::in_cluster(&nats.url()).await;
    let mut far = Connection::connect(stuck.addr).await.expect("connect");
    let mut c = h3.connect().await;
    let mut a = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let (idf, idc) = (far.user_id(), c.user_id());
    lists(&mut a, &[idf, idc]).await;
    stuck.pause().await;
    for i in 1..=N {
        a.send(&relay_msg(i, &[idf, idc], body(i)))
            .await
            .expect("send");
    }
    let mut answered = answers(a);
    for i in 1..=N {
        assert_eq!(
            delivery(&mut c).await.1,
            body(i),
            "hub 3 gets them in order"
        );
    }
    assert!(
        answered.try_recv().is_err(),
        "every relay reached hub 3 before any was answered: all were in flight at once"
    );
    for i in 1..=N {
        assert_eq!(next(&mut answered).await, posted(i, 1, vec![idf]));
    }
    stuck.signal("CONT");
    let mut b = h1.connect().await;
    let after = request(&mut b, relay_msg(N + 1, &[idf], body(N + 1))).await;
    assert!(
        matches!(
            after,
            HubMsg::Relayed { delivered: 1, .. } | HubMsg::Posted { delivered: 1, .. }
        ),
        "{after:?}"
    );
    assert_eq!(
        delivery(&mut far).await,
        (b.user_id(), body(N + 1)),
        "none of the N late relays was delivered: hub 2 took them before this one"
    );
    h1.stop().await;
    h3.stop().await;
}

/// Behind a relay in flight (to a stopped hub), a relay to a receiver on the sender's own
/// hub is delivered at once but answered second, and a `List` after both is answered third.
#[tokio::test]
async fn requests_behind_a_relay_in_flight_are_answered_after_it() {
    let nats = NatsServer::start();
    let (h1, stuck) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let far = Connection::connect(stuck.addr).await.expect("connect");
    let mut near = h1.connect().await;
    let mut a = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let (idf, idn) = (far.user_id(), near.user_id());
    lists(&mut a, &[idf, idn]).await;
    stuck.pause().await;
    a.send(&relay_msg(1, &[idf], body(1))).await.expect("send");
    a.send(&relay_msg(2, &[idn], body(2))).await.expect("send");
    a.send(&ClientMsg::List { req: RequestId(3) })
        .await
        .expect("send");
    assert_eq!(delivery(&mut near).await.1, body(2));
    assert_eq!(recv_skipping(&mut a).await, posted(1, 0, vec![idf]));
    assert_eq!(recv_skipping(&mut a).await, posted(2, 1, vec![]));
    match recv_skipping(&mut a).await {
        HubMsg::Peers { req, peers } => {
            assert_eq!(req, RequestId(3));
            assert!(peers.contains(&idn), "{peers:?}");
        }
        other => panic!("expected the List's answer third, got {other:?}"),
    }
    stuck.signal("CONT");
    h1.stop().await;
}

/// Bob logs in on `hub` and finds the `N` relays `from` sent him kept, in order.
async fn kept_for_bob(hub: &TestHub, key: &shared::SecretKey, from: UserId) {
    let mut back = hub.connect_at(shared::RECEIPTS_VERSION).await;
    let again = accounts::login(&mut back, key, "bob").await;
    assert_eq!(again.waiting, u64::from(N), "every relay kept for bob");
    for i in 1..=N {
        match recv_skipping(&mut back).await {
            HubMsg::Stored {
                from: f, body: b, ..
            } => assert_eq!((f, b), (from, body(i))),
            other => panic!("expected stored relay {i}, got {other:?}"),
        }
    }
}

/// A sender that closes its connection with relays in flight to an account on a stopped hub:
/// each relay still waits out its timeout and goes to the account's mailbox, in order, and
/// the account gets them all at its next login.
#[tokio::test]
async fn a_connection_that_closes_with_relays_in_flight_still_writes_their_mailboxes() {
    let nats = NatsServer::start();
    let (h1, stuck) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let (_bob_there, key, bob) = accounts::new_account(stuck.addr, "bob").await;
    let mut a = h1.connect().await;
    let ida = a.user_id();
    lists(&mut a, &[bob.user_id]).await;
    stuck.pause().await;
    for i in 1..=N {
        a.send(&relay_msg(i, &[bob.user_id], body(i)))
            .await
            .expect("send");
    }
    drop(a);
    // Recorded once the connection has ended, which is after what it had in flight.
    h1.close_reason(ida).await;
    stuck.signal("KILL");
    kept_for_bob(&h1, &key, ida).await;
    h1.stop().await;
}

/// A hub that shuts down while a sender's relays are in flight to an account on a stopped hub
/// settles them before it goes: each waits out its timeout and is
/// kept in the account's mailbox, in order, where another hub of the cluster hands them to
/// the account's next login.
#[tokio::test]
async fn a_hub_that_shuts_down_with_relays_in_flight_still_writes_their_mailboxes() {
    let nats = NatsServer::start();
    let (h1, stuck) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let h3 = TestHub::in_cluster(&nats.url()).await;
    let (_bob_there, key, bob) = accounts::new_account(stuck.addr, "bob").await;
    let mut a = h1.connect().await;
    let mut near = h1.connect().await;
    let ida = a.user_id();
    lists(&mut a, &[bob.user_id]).await;
    stuck.pause().await;
    for i in 1..=N {
        a.send(&relay_msg(i, &[bob.user_id, near.user_id()], body(i)))
            .await
            .expect("send");
    }
    // Delivered here as each is read: then all are in flight, waiting for hub 2.
    for i in 1..=N {
        assert_eq!(delivery(&mut near).await.1, body(i));
    }
    // Stopped once every connection has ended, which is after what it had in flight.
    h1.stop().await;
    drop(a);
    stuck.signal("KILL");
    kept_for_bob(&h3, &key, ida).await;
    h3.stop().await;
}
