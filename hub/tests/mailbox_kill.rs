//! Durability of mailboxes against `kill -9`: the hub binary, a real child process with a real
//! data directory, is killed with SIGKILL while a sender streams relays to an account that is
//! away, many times at random points. After every restart the account has the same id, and
//! when it finally logs in, every relay that was answered `queued` arrives exactly once (after
//! the client drops repeated seqs), in order; nothing answered is missing.

use std::sync::Arc;
use std::time::Duration;

use shared::conn::Connection;
use shared::{HubMsg, SecretKey, UserId};
use testkit::accounts::{ack, login, register, Seen};
use testkit::child::HubProcess;
use testkit::ledger::Ledger;
use testkit::{recv_skipping, WAIT};

/// Kills, each at a random point of its own stream of relays.
const ROUNDS: usize = 5;
/// Relays each round may send before it is killed.
const PER_ROUND: usize = 10_000;
/// Relays a sender keeps in flight, so that the hub commits many at once when it dies.
const WINDOW: usize = 64;

fn start(dir: &std::path::Path) -> HubProcess {
    let dir = dir.to_str().expect("utf-8 path");
    HubProcess::spawn_bin(env!("CARGO_BIN_EXE_hub"), &["--data-dir", dir], None)
}

/// Stream relays to `bob` until `kill_after` are answered, then kill the hub with SIGKILL.
async fn stream_until_killed(
    hub: &mut HubProcess,
    ledger: &Arc<Ledger>,
    bob: UserId,
    kill_after: usize,
) {
    let conn = Connection::connect(hub.addr).await.expect("connect");
    let me = conn.user_id();
    let (mut reader, mut writer) = conn.split();
    let (answered_tx, mut answered_rx) = tokio::sync::watch::channel(0usize);
    let window = Arc::new(tokio::sync::Semaphore::new(WINDOW));
    let reading = {
        let (ledger, window) = (ledger.clone(), window.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            while let Ok(msg) = reader.recv().await {
                if ledger.answer(me, &msg) {
                    answered += 1;
                    window.add_permits(1);
                    answered_tx.send_replace(answered);
                }
            }
        })
    };
    let writing = {
        let (ledger, window) = (ledger.clone(), window.clone());
        tokio::spawn(async move {
            for _ in 0..PER_ROUND {
                // Closed once the hub is dead: stop.
                let Ok(permit) = window.acquire().await else {
                    return;
                };
                permit.forget();
                if writer.send(&ledger.relay(me, &[bob], 64)).await.is_err() {
                    return;
                }
            }
        })
    };
    tokio::time::timeout(WAIT, answered_rx.wait_for(|n| *n >= kill_after))
        .await
        .expect("answers in time")
        .expect("the reader is alive");
    hub.signal("KILL");
    hub.wait(WAIT);
    ledger.gone(me);
    reading.await.expect("reader");
    window.close();
    writing.await.expect("writer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relay_answered_queued_survives_kill_9_exactly_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate();
    let ledger = Arc::new(Ledger::new());
    let mut hub = start(dir.path());
    let mut conn = Connection::connect(hub.addr).await.expect("connect");
    let bob = register(&mut conn, &key, "bob").await.user_id;
    drop(conn);
    // Away for real before the first relay: until the hub has seen the registering session
    // close, a relay is delivered to it live (answered `delivered`, in no mailbox), and under
    // load that window held a dozen.
    let mut probe = Connection::connect(hub.addr).await.expect("connect");
    testkit::eventually_async("bob's registering session gone", async || {
        (!testkit::list(&mut probe).await.contains(&bob)).then_some(())
    })
    .await;
    drop(probe);

    for _ in 0..ROUNDS {
        let kill_after = fastrand::usize(1..2_000);
        stream_until_killed(&mut hub, &ledger, bob, kill_after).await;
        hub = start(dir.path());
    }
    let (delivered, _, dropped, refused) = ledger.totals();
    assert_eq!((dropped, refused), (0, 0), "nothing full, nothing refused");
    assert!(
        delivered >= ROUNDS as u64,
        "every round was answered before its kill"
    );

    let mut conn = Connection::connect(hub.addr).await.expect("connect");
    let me = login(&mut conn, &key, "bob").await;
    assert_eq!(me.user_id, bob, "the same id after {ROUNDS} kills");
    // What was answered `queued`, and possibly some that were stored as the hub died.
    assert!(
        me.waiting >= delivered,
        "{} waiting, {delivered} answered",
        me.waiting
    );
    let mut seen = Seen::default();
    let mut last = 0;
    for _ in 0..me.waiting {
        let msg = tokio::time::timeout(Duration::from_secs(60), recv_skipping(&mut conn))
            .await
            .expect("the mailbox drains");
        let HubMsg::Stored { seq, .. } = &msg else {
            panic!("expected a stored message, got {msg:?}");
        };
        last = *seq;
        if seen.is_new(&msg) {
            assert!(ledger.receive(bob, &msg), "{msg:?}");
        }
    }
    ack(&mut conn, last).await;
    ledger.healthy(bob);
    ledger.check();
    drop(conn);
    hub.signal("TERM");
    assert!(hub.wait(WAIT).success());
}
