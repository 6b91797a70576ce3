//! Mailboxes over real TCP: what is sent to an account that is away is kept (`queued`), comes
//! in order when it logs in, before anything live, stays until acknowledged, survives the hub
//! (a real database file), and is bounded (`full`). Older clients see `Relayed`.
//!
//! Each test runs on one hub and on a cluster of three with the JetStream store
//! (`NAME::one_hub`, `NAME::three_hubs`), senders and the account's sessions on different hubs,
//! but the two that stop the hub to read its SQLite file again (by nature one process's) and
//! one whose promise holds on one hub only (docs/CLUSTER.md, § Not done yet).

use std::sync::Arc;

use bytes::Bytes;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Store};
use shared::conn::Connection;
use shared::{HubMsg, SecretKey, UserId};
use testkit::accounts::{ack, login, new_account, register, Seen};
use testkit::hubs::Setup;
use testkit::ledger::Ledger;
use testkit::{on_one_hub_and_a_cluster, recv_skipping, relay, test_config, TestHub};

fn file_store(dir: &tempfile::TempDir, bounds: Bounds) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.path().join("hub.db"), bounds).expect("opens"))
}

/// The next `Stored` push: (seq, from, body).
async fn stored(conn: &mut Connection) -> (u64, UserId, Bytes) {
    match recv_skipping(conn).await {
        HubMsg::Stored {
            seq, from, body, ..
        } => (seq, from, body),
        other => panic!("expected a stored message, got {other:?}"),
    }
}

#[tokio::test]
async fn an_account_and_its_mailbox_outlive_the_hub() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = TestHub::with_store(test_config(), file_store(&dir, Bounds::default())).await;
    let key = SecretKey::generate();
    let mut bob = hub.connect().await;
    let first = register(&mut bob, &key, "bob").await;
    drop(bob);
    let mut alice = hub.connect().await;
    testkit::eventually("bob to leave", || hub.inspector.connections() == 1).await;
    relay(&mut alice, &[first.user_id], &b"kept"[..]).await;
    drop(alice);
    hub.stop().await;

    let hub = TestHub::with_store(test_config(), file_store(&dir, Bounds::default())).await;
    let mut bob = hub.connect().await;
    let again = login(&mut bob, &key, "bob").await;
    assert_eq!(again.user_id, first.user_id, "the same id after a restart");
    assert_eq!(again.waiting, 1);
    assert_eq!(&stored(&mut bob).await.2[..], b"kept");
    let mut other = hub.connect().await;
    match testkit::accounts::try_register(&mut other, &SecretKey::generate(), "bob").await {
        HubMsg::Error {
            kind: shared::ErrorKind::NameTaken,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    hub.stop().await;
}

/// The number a test relay's body starts with.
fn number(body: &[u8]) -> u32 {
    u32::from_be_bytes(body[..4].try_into().expect("numbered"))
}

/// Read what a dropped session's socket still holds, to its end: the numbers of the relays
/// that reached it.
async fn read_to_end(conn: &mut Connection) -> Vec<u32> {
    let mut got = Vec::new();
    while let Ok(msg) = conn.recv().await {
        if let HubMsg::Message { body, .. } = msg {
            got.push(number(&body));
        }
    }
    got
}

/// Log in as `name` and take the whole mailbox: the numbers of the stored relays, in order.
async fn drain_all(hub: &TestHub, key: &SecretKey, name: &str) -> Vec<u32> {
    let mut bob = hub.connect().await;
    let me = login(&mut bob, key, name).await;
    let mut got = Vec::new();
    for _ in 0..me.waiting {
        got.push(number(&stored(&mut bob).await.2));
    }
    got
}

/// A hub that shuts down while a session still has relays queued keeps those it did not
/// write: after a restart they come from the mailbox, and with what reached the socket, each
/// relay arrives exactly once, in order (the one the stream was cut inside, as the client
/// reads nothing, is kept too).
#[tokio::test]
async fn a_hub_shutting_down_keeps_what_it_had_not_written_to_a_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || hub::Config {
        queue_bytes: 64 << 20,
        queue_max_bytes: 64 << 20,
        ..test_config()
    };
    let hub = TestHub::with_store(config(), file_store(&dir, Bounds::default())).await;
    let key = SecretKey::generate();
    let mut stuck = hub.connect().await;
    let b = register(&mut stuck, &key, "bob").await;
    let mut alice = hub.connect().await;
    let last = 256u32;
    for n in 1..=last {
        let body = [n.to_be_bytes().to_vec(), vec![0; 64 * 1024]].concat();
        match relay(&mut alice, &[b.user_id], body).await {
            HubMsg::Posted { delivered: 1, .. } => {}
            other => panic!("{other:?}"),
        }
    }
    hub.stop().await;
    let written = read_to_end(&mut stuck).await;

    let hub = TestHub::with_store(config(), file_store(&dir, Bounds::default())).await;
    let kept = drain_all(&hub, &key, "bob").await;
    assert!(!kept.is_empty(), "most of it was still queued");
    let all: Vec<u32> = written.iter().chain(&kept).copied().collect();
    assert_eq!(all, (1..=last).collect::<Vec<_>>(), "each once, in order");
    hub.stop().await;
}

/// A hub's settings with per-session queues of `bytes`.
fn queues(bytes: usize) -> Setup {
    Setup {
        config: hub::Config {
            queue_bytes: bytes,
            queue_max_bytes: bytes,
            ..test_config()
        },
        ..Setup::default()
    }
}

/// Mailboxes of at most `n` messages.
fn mailboxes_of(n: u64) -> Setup {
    Setup {
        bounds: Bounds {
            max_messages: n,
            ..Bounds::default()
        },
        ..Setup::default()
    }
}

/// Relay `n` bodies of 64 KiB numbered from 1 to `to`, each delivered live. 256 are 16 MiB:
/// far more than two sockets' buffers hold, so most of it stays queued for a reader that
/// reads nothing.
async fn relay_live(from: &mut Connection, to: UserId, n: u32) {
    for i in 1..=n {
        let body = [i.to_be_bytes().to_vec(), vec![0; 64 * 1024]].concat();
        match relay(from, &[to], body).await {
            HubMsg::Posted { delivered: 1, .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

/// What a relay was answered: (delivered, queued receivers, dropped).
fn answered(answer: &HubMsg) -> (u32, Vec<UserId>, Vec<UserId>) {
    match answer {
        HubMsg::Posted {
            delivered,
            queued,
            dropped,
            ..
        } => (
            *delivered,
            queued.iter().map(|k| k.to).collect(),
            dropped.clone(),
        ),
        other => panic!("expected Posted, got {other:?}"),
    }
}

on_one_hub_and_a_cluster! {

async fn what_is_sent_while_away_comes_in_order_before_anything_live_until_acknowledged(hubs: Hubs) {
    let nobody = UserId(9_000_077);
    let (bob, bob_key, b) = hubs.new_account("bob").await;
    drop(bob);
    hubs.gone(b.user_id).await;
    let mut alice = hubs.connect().await;
    for body in ["one", "two", "three"] {
        match relay(&mut alice, &[b.user_id, nobody], body.as_bytes().to_vec()).await {
            HubMsg::Posted {
                delivered: 0,
                queued,
                unknown,
                dropped,
                full,
                ..
            } => {
                assert_eq!(
                    queued.iter().map(|k| k.to).collect::<Vec<_>>(),
                    vec![b.user_id]
                );
                assert_eq!(unknown, vec![nobody]);
                assert!(dropped.is_empty() && full.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
    let mut bob = hubs.connect().await;
    let me = hubs.login(&mut bob, &bob_key, "bob").await;
    assert_eq!(me.waiting, 3);
    let mut seqs = Vec::new();
    for want in ["one", "two", "three"] {
        let (seq, from, body) = stored(&mut bob).await;
        assert_eq!((from, &body[..]), (alice.user_id(), want.as_bytes()));
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The next relay comes after everything stored: live, or kept if the drain has not
    // quite finished, and then as the drain's last message.
    match relay(&mut alice, &[b.user_id], &b"next"[..]).await {
        HubMsg::Posted {
            delivered, queued, ..
        } => assert_eq!(delivered as usize + queued.len(), 1),
        other => panic!("{other:?}"),
    }
    let next_seq = match recv_skipping(&mut bob).await {
        HubMsg::Message { body, .. } => {
            assert_eq!(&body[..], b"next");
            None
        }
        HubMsg::Stored { seq, body, .. } => {
            assert_eq!(&body[..], b"next");
            Some(seq)
        }
        other => panic!("{other:?}"),
    };
    seqs.extend(next_seq);

    // Not acknowledged: a new session (on another hub) gets them again, same seqs.
    let mut again = hubs.connect().await;
    let me = login(&mut again, &bob_key, "bob").await;
    assert_eq!(me.waiting, seqs.len() as u64);
    let mut seen = Seen::default();
    for &seq in &seqs {
        let (got, _, _) = stored(&mut again).await;
        assert_eq!(got, seq);
        assert!(seen.is_new(&HubMsg::Stored {
            seq,
            from: alice.user_id(),
            sent_at_ms: 0,
            kind: shared::BodyKind::Text,
            body: Bytes::new(),
        }));
    }
    ack(&mut again, seqs[1]).await;
    drop((bob, again));
    let mut third = hubs.connect().await;
    let rest = &seqs[2..];
    assert_eq!(
        login(&mut third, &bob_key, "bob").await.waiting,
        rest.len() as u64
    );
    for &seq in rest {
        assert_eq!(stored(&mut third).await.0, seq);
    }
    ack(&mut third, *rest.last().expect("the third")).await;
    let mut fourth = hubs.connect().await;
    assert_eq!(login(&mut fourth, &bob_key, "bob").await.waiting, 0);
    hubs.stop().await;
}

async fn a_full_mailbox_is_reported_for_that_receiver_alone(hubs: Hubs = mailboxes_of(2)) {
    let (bob, _, b) = hubs.new_account("bob").await;
    let (carol, _, c) = hubs.new_account("carol").await;
    drop((bob, carol));
    hubs.gone(b.user_id).await;
    hubs.gone(c.user_id).await;
    let mut alice = hubs.connect().await;
    relay(&mut alice, &[b.user_id], &b"1"[..]).await;
    relay(&mut alice, &[b.user_id], &b"2"[..]).await;
    match relay(&mut alice, &[c.user_id, b.user_id], &b"3"[..]).await {
        HubMsg::Posted { queued, full, .. } => {
            assert_eq!(
                queued.iter().map(|k| k.to).collect::<Vec<_>>(),
                vec![c.user_id]
            );
            assert_eq!(full, vec![b.user_id]);
        }
        other => panic!("{other:?}"),
    }
    hubs.stop().await;
}

async fn an_older_client_sees_a_kept_message_as_delivered_and_a_full_mailbox_as_dropped(
    hubs: Hubs = mailboxes_of(1)
) {
    let (bob, _, b) = hubs.new_account("bob").await;
    drop(bob);
    hubs.gone(b.user_id).await;
    let mut old = hubs.connect_at(2).await;
    let answers = [
        relay(&mut old, &[b.user_id], &b"1"[..]).await,
        relay(&mut old, &[b.user_id], &b"2"[..]).await,
    ];
    assert!(
        matches!(&answers[0], HubMsg::Relayed { delivered: 1, dropped, .. } if dropped.is_empty()),
        "{answers:?}"
    );
    assert!(
        matches!(&answers[1], HubMsg::Relayed { delivered: 0, dropped, .. } if dropped == &[b.user_id]),
        "{answers:?}"
    );
    hubs.stop().await;
}

/// A session drains a mailbox while its senders keep sending: every message arrives once, in
/// each sender's order, none stranded in the mailbox when the session goes live.
async fn relays_during_a_drain_arrive_once_and_in_order(hubs: Hubs) {
    const BEFORE: usize = 300;
    const DURING: usize = 300;
    let (bob, bob_key, b) = hubs.new_account("bob").await;
    drop(bob);
    hubs.gone(b.user_id).await;
    let ledger = Arc::new(Ledger::new());
    let mut senders = Vec::new();
    for _ in 0..2 {
        senders.push(hubs.connect().await);
    }
    for sender in &mut senders {
        for _ in 0..BEFORE / 2 {
            let me = sender.user_id();
            sender
                .send(&ledger.relay(me, &[b.user_id], 64))
                .await
                .expect("send");
            let answer = recv_skipping(sender).await;
            assert!(ledger.answer(me, &answer), "{answer:?}");
        }
    }
    // The second half is sent while the drain runs: from the moment bob is logged in.
    let (go, started) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let ledger = ledger.clone();
            let mut started = started.clone();
            tokio::spawn(async move {
                started.wait_for(|go| *go).await.expect("go");
                let me = sender.user_id();
                for _ in 0..DURING / 2 {
                    sender
                        .send(&ledger.relay(me, &[b.user_id], 64))
                        .await
                        .expect("send");
                    let answer = recv_skipping(&mut sender).await;
                    assert!(ledger.answer(me, &answer), "{answer:?}");
                }
            })
        })
        .collect();
    let mut bob = hubs.connect().await;
    login(&mut bob, &bob_key, "bob").await;
    go.send(true).expect("senders wait");
    let mut seen = Seen::default();
    let mut got = 0;
    while got < BEFORE + DURING {
        let msg = recv_skipping(&mut bob).await;
        if seen.is_new(&msg) {
            assert!(ledger.receive(b.user_id, &msg), "{msg:?}");
            got += 1;
        }
    }
    for task in tasks {
        task.await.expect("sender");
    }
    ledger.healthy(b.user_id);
    ledger.check();
    hubs.stop().await;
}

/// An account whose only session is too slow: the session is dropped as a slow consumer; the
/// relays it had not written, and what is sent to the account from then on, are kept in its
/// mailbox, in order. Between what reached its socket and what was kept, every relay arrives
/// exactly once.
async fn a_session_too_slow_hands_what_it_did_not_write_to_the_mailbox(
    hubs: Hubs = queues(256 * 1024)
) {
    // bob logs in, then reads nothing more.
    let (mut stuck, bob_key, b) = hubs.new_account("bob").await;
    let mut alice = hubs.connect().await;
    let mut after_drop = 0;
    let mut req = 0u32;
    while after_drop < 5 {
        req += 1;
        assert!(req < 10_000, "bob was never found too slow");
        let body = [req.to_be_bytes().to_vec(), vec![0; 64 * 1024]].concat();
        match answered(&relay(&mut alice, &[b.user_id], body).await) {
            (1, _, dropped) => {
                assert!(dropped.is_empty());
                assert_eq!(after_drop, 0, "nothing is live once bob was dropped");
            }
            (0, queued, dropped) => {
                assert!(dropped.is_empty(), "an account is never just dropped");
                assert_eq!(queued, vec![b.user_id]);
                after_drop += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    let written = read_to_end(&mut stuck).await;
    let kept = drain_all(hubs.next_hub(), &bob_key, "bob").await;
    assert!(
        kept.len() > after_drop,
        "the relays bob's queue held were kept too ({} kept)",
        kept.len()
    );
    let all: Vec<u32> = written.iter().chain(&kept).copied().collect();
    assert_eq!(all, (1..=req).collect::<Vec<_>>(), "each once, in order");
    hubs.stop().await;
}

/// A session whose client vanishes (a reset) with relays still queued: those it did not write
/// are kept, and come in order before what was sent after. On three hubs alice's hub hears
/// bob leave only once his hub has written what his session did not (docs/CLUSTER.md, § A
/// session's hand-off across hubs), so what alice's hub keeps comes after it.
async fn relays_queued_for_a_session_that_resets_are_kept_in_order(
    hubs: Hubs = queues(64 << 20)
) {
    let (stuck, bob_key, b) = hubs.new_account("bob").await;
    let mut alice = hubs.connect().await;
    let before = 256u32;
    relay_live(&mut alice, b.user_id, before).await;
    // Unread bytes in its buffer: closing it resets the connection.
    drop(stuck);
    hubs.gone(b.user_id).await;
    let last = before + 5;
    for n in before + 1..=last {
        match relay(&mut alice, &[b.user_id], n.to_be_bytes().to_vec()).await {
            HubMsg::Posted { queued, .. } => assert_eq!(
                queued.iter().map(|k| k.to).collect::<Vec<_>>(),
                vec![b.user_id]
            ),
            other => panic!("{other:?}"),
        }
    }
    let kept = drain_all(hubs.next_hub(), &bob_key, "bob").await;
    let first = *kept.first().expect("something was kept");
    assert!(
        first <= before,
        "relays queued before the reset were kept: {first}"
    );
    assert_eq!(
        kept,
        (first..=last).collect::<Vec<_>>(),
        "from the first kept on, each once, in order"
    );
    hubs.stop().await;
}

/// A login while a session that reset is still handing what it did not write to the mailbox
/// gets all of it at that login, in order, then what is sent after. On three hubs the login
/// is on another hub than the reset session: its drain does not go live until that hub says
/// the hand-off is written (docs/CLUSTER.md, § A session's hand-off across hubs).
async fn a_login_during_a_hand_off_gets_all_of_it_in_order(hubs: Hubs = queues(64 << 20)) {
    let (stuck, bob_key, b) = hubs.new_account("bob").await;
    let mut alice = hubs.connect().await;
    let before = 256u32;
    relay_live(&mut alice, b.user_id, before).await;
    let stuck_on = &hubs.hubs[0];
    let others = stuck_on.inspector.connections() - 1;
    drop(stuck);
    testkit::eventually("bob's reset session to leave its hub", || {
        stuck_on.inspector.connections() == others
    })
    .await;
    let mut bob = hubs.connect().await;
    login(&mut bob, &bob_key, "bob").await;
    let last = before + 5;
    for n in before + 1..=last {
        relay(&mut alice, &[b.user_id], n.to_be_bytes().to_vec()).await;
    }
    let mut got = Vec::new();
    while got.last() != Some(&last) {
        match recv_skipping(&mut bob).await {
            HubMsg::Stored { body, .. } | HubMsg::Message { body, .. } => {
                got.push(number(&body));
            }
            other => panic!("{other:?}"),
        }
    }
    let first = *got.first().expect("something came");
    assert!(first <= before, "relays queued before the reset were kept: {first}");
    assert_eq!(
        got,
        (first..=last).collect::<Vec<_>>(),
        "at this login, from the first kept on, each once, in order"
    );
    hubs.stop().await;
}

}

/// With another session of the account live, a session dropped as too slow keeps nothing in
/// the mailbox: the live one had every relay, so kept copies would come twice. One hub only: on
/// a cluster a live session on another hub is not known to have had them, so the dropped one's
/// hub keeps them (they come again at the next login: at-least-once; docs/CLUSTER.md).
#[tokio::test]
async fn a_session_dropped_beside_a_live_one_keeps_nothing() {
    let hub = TestHub::with_config(hub::Config {
        queue_bytes: 256 * 1024,
        queue_max_bytes: 256 * 1024,
        ..test_config()
    })
    .await;
    let (stuck, bob_key, b) = new_account(hub.addr, "bob").await;
    let mut reading = hub.connect().await;
    login(&mut reading, &bob_key, "bob").await;
    let (mut rd, wr) = reading.split();
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = tokio::spawn({
        let got = got.clone();
        async move {
            while let Ok(msg) = rd.recv().await {
                if let HubMsg::Message { body, .. } = msg {
                    got.lock().expect("lock").push(number(&body));
                }
            }
        }
    });
    let mut alice = hub.connect().await;
    let mut n = 0u32;
    while hub.closes(hub::CloseReason::SlowConsumer) == 0 {
        n += 1;
        assert!(n < 10_000, "the stuck session was never found too slow");
        let body = [n.to_be_bytes().to_vec(), vec![0; 64 * 1024]].concat();
        match relay(&mut alice, &[b.user_id], body).await {
            HubMsg::Posted {
                delivered: 1,
                queued,
                ..
            } => assert!(queued.is_empty()),
            other => panic!("{other:?}"),
        }
    }
    // Every relay reached the live session, and nothing was kept.
    testkit::eventually("the live session to read them all", || {
        got.lock().expect("lock").len() >= n as usize
    })
    .await;
    assert_eq!(*got.lock().expect("lock"), (1..=n).collect::<Vec<_>>());
    drop((stuck, wr));
    reader.await.expect("reader");
    assert!(drain_all(&hub, &bob_key, "bob").await.is_empty());
    hub.stop().await;
}
