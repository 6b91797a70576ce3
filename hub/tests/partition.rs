//! A network partition between one hub and NATS (docs/CLUSTER.md, § Failure modes): three
//! hubs, hub 2 reaching NATS (its cluster connection and its JetStream store) only through a
//! [`Proxy`] the test cuts, once refusing (connections reset, new ones refused) and once as
//! a black hole (nothing answers, nothing is reset). Every relay goes through the ledger:
//! what was answered `delivered` or `queued` arrives, whatever the partition did.

use std::collections::HashSet;
use std::time::Duration;

use shared::conn::Connection;
use shared::{ClientMsg, ErrorKind, HubMsg, RequestId, SecretKey, UserId};
use testkit::ledger::Ledger;
use testkit::nats::NatsServer;
use testkit::proxy::Proxy;
use testkit::*;

/// The relay timeout of these hubs: shorter than the test's default, so that a relay to the
/// cut-off hub is answered before its users are taken for gone (heartbeat × dead-after, 4 s).
const RELAY_TIMEOUT: Duration = Duration::from_secs(2);

/// How the proxy cuts hub 2 off.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Connections reset, new ones refused.
    Refuse,
    /// Nothing answers and nothing is reset: only NATS pings tell hub 2.
    BlackHole,
}

fn config(url: &str) -> hub::Config {
    hub::Config {
        cluster: Some(hub::ClusterConfig {
            relay_timeout: RELAY_TIMEOUT,
            ..cluster_config(url)
        }),
        ..test_config()
    }
}

/// Relay a ledger body from `conn` to `to` and return the answer, recorded.
async fn send(ledger: &Ledger, conn: &mut Connection, to: &[UserId]) -> HubMsg {
    let msg = ledger.relay(conn.user_id(), to, 64);
    let answer = request(conn, msg).await;
    assert!(ledger.answer(conn.user_id(), &answer), "{answer:?}");
    answer
}

/// Who the answer lists as (queued, unknown, dropped, full), with its delivered count.
fn outcome(answer: &HubMsg) -> (u32, Vec<UserId>, Vec<UserId>, Vec<UserId>, Vec<UserId>) {
    match answer {
        HubMsg::Posted {
            delivered,
            queued,
            unknown,
            dropped,
            full,
            ..
        } => (
            *delivered,
            queued.iter().map(|k| k.to).collect(),
            unknown.clone(),
            dropped.clone(),
            full.clone(),
        ),
        other => panic!("expected Posted, got {other:?}"),
    }
}

/// Read `conn`'s messages into the ledger until it holds all `receiver` is owed.
async fn collect(ledger: &Ledger, conn: &mut Connection, receiver: UserId) {
    let mut seen = accounts::Seen::default();
    let mut last = None;
    while ledger.received(receiver) < ledger.expected(receiver) {
        let msg = recv_skipping(conn).await;
        if let HubMsg::Stored { seq, .. } = &msg {
            last = last.max(Some(*seq));
        }
        if seen.is_new(&msg) {
            assert!(ledger.receive(receiver, &msg), "{msg:?}");
        }
    }
    if let Some(seq) = last {
        accounts::ack(conn, seq).await;
    }
}

/// Wait until `hub` has exactly `want` present (its own and other hubs' users).
async fn present(hub: &TestHub, name: &str, want: &[UserId], absent: &[UserId]) {
    let what = format!("{name} to see {want:?} present and {absent:?} gone");
    eventually(&what, || {
        want.iter().all(|id| hub.inspector.is_present(*id))
            && !absent.iter().any(|id| hub.inspector.is_present(*id))
    })
    .await
}

/// A watcher's view of who is present, kept from its pushes.
struct Watcher {
    conn: Connection,
    present: HashSet<UserId>,
}

impl Watcher {
    async fn on(hub: &TestHub) -> Watcher {
        let mut conn = hub.connect_at(shared::RECEIPTS_VERSION).await;
        conn.send(&ClientMsg::Watch { req: RequestId(3) })
            .await
            .expect("send");
        match recv(&mut conn).await {
            HubMsg::Present { peers, .. } => Watcher {
                conn,
                present: peers.into_iter().map(|p| p.user_id).collect(),
            },
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    /// Read pushes until every one of `want` is present and none of `gone`.
    async fn until(&mut self, want: &[UserId], gone: &[UserId]) {
        let sees = |present: &HashSet<UserId>| {
            want.iter().all(|id| present.contains(id))
                && !gone.iter().any(|id| present.contains(id))
        };
        while !sees(&self.present) {
            match recv(&mut self.conn).await {
                HubMsg::Arrived { user_id, .. } => {
                    self.present.insert(user_id);
                }
                HubMsg::Left { user_id } => {
                    self.present.remove(&user_id);
                }
                HubMsg::Presence { arrived, left } => {
                    self.present.extend(arrived.iter().map(|p| p.user_id));
                    for id in left {
                        self.present.remove(&id);
                    }
                }
                HubMsg::KeepAlive => self
                    .conn
                    .send(&ClientMsg::<bytes::Bytes>::KeepAliveAck)
                    .await
                    .expect("ack"),
                other => panic!("a watcher got {other:?}"),
            }
        }
    }
}

/// The whole partition, cut as `cut`: before, during and after, every outcome a client sees.
async fn partition(cut: Cut) {
    let nats = NatsServer::start();
    let proxy = Proxy::start(nats.addr);
    let h1 = TestHub::clustered(config(&nats.url())).await;
    let h2 = TestHub::clustered(config(&proxy.nats_url())).await;
    let h3 = TestHub::clustered(config(&nats.url())).await;
    // What hub 2 sent in the moment before it knew it was cut off (async-nats keeps it while
    // it reconnects; the black hole holds it, as TCP would) goes out at the heal, long after
    // hub 2 answered it `dropped`: its deadline has passed, and hub 3 does not deliver it.
    // The ledger allows no late arrival.
    let ledger = Ledger::new();

    // Hub 1: a sender and a bystander; hub 2: a receiver, an account, a sender; hub 3: a
    // receiver and an account.
    let mut s1 = h1.connect().await;
    let mut n1 = h1.connect().await;
    let mut r2 = h2.connect().await;
    let (mut bob, bob_key, bob_me) = accounts::new_account(h2.addr, "bob").await;
    let mut s2 = h2.connect().await;
    let mut r3 = h3.connect().await;
    let (carol, carol_key, carol_me) = accounts::new_account(h3.addr, "carol").await;
    let (bob_id, carol_id) = (bob_me.user_id, carol_me.user_id);
    let on_1 = [s1.user_id(), n1.user_id()];
    let on_2 = [r2.user_id(), bob_id, s2.user_id()];
    let on_3 = [r3.user_id(), carol_id];
    let everyone: Vec<UserId> = on_1.iter().chain(&on_2).chain(&on_3).copied().collect();
    for (hub, name) in [(&h1, "hub 1"), (&h2, "hub 2"), (&h3, "hub 3")] {
        present(hub, name, &everyone, &[]).await;
    }
    let mut w1 = Watcher::on(&h1).await;
    let mut w3 = Watcher::on(&h3).await;

    // Before: one relay from hub 1 reaches all three hubs.
    let before = send(&ledger, &mut s1, &[r2.user_id(), bob_id, r3.user_id()]).await;
    assert_eq!(outcome(&before).0, 3, "{before:?}");
    let (r2_id, r3_id) = (r2.user_id(), r3.user_id());
    for (conn, id) in [(&mut r2, r2_id), (&mut bob, bob_id), (&mut r3, r3_id)] {
        collect(&ledger, conn, id).await;
    }

    let accepted = proxy.accepted();
    match cut {
        Cut::Refuse => proxy.refuse(),
        Cut::BlackHole => proxy.black_hole(),
    }

    // Hub 1 still takes hub 2 for alive: hub 2 does not answer, so after the relay timeout
    // its anonymous receiver is `dropped` and its account's copy is kept in the mailbox by
    // hub 1 (`queued`); meanwhile a relay from hub 1 to hub 3 is delivered as ever.
    let (far, near, out) = (
        [r2.user_id(), bob_id],
        [r3.user_id()],
        [r3.user_id(), carol_id],
    );
    let (to_2, to_3, early) = tokio::join!(
        send(&ledger, &mut s1, &far),
        send(&ledger, &mut n1, &near),
        send(&ledger, &mut s2, &out),
    );
    // And hub 2's own first relay: hub 3 does not answer (`dropped`), nor does the store
    // that would keep carol's copy (`dropped`: kept nowhere).
    assert_eq!(
        outcome(&early),
        (0, vec![], vec![], vec![r3.user_id(), carol_id], vec![]),
        "{early:?}"
    );
    assert_eq!(
        outcome(&to_2),
        (0, vec![bob_id], vec![], vec![r2.user_id()], vec![]),
        "{to_2:?}"
    );
    assert_eq!(outcome(&to_3).0, 1, "{to_3:?}");

    // Hub 2's users leave hub 1's and hub 3's watchers (heartbeat × (dead-after + 1)), and
    // hub 1's and hub 3's leave hub 2.
    w1.until(&on_3, &on_2).await;
    w3.until(&on_1, &on_2).await;
    present(&h2, "hub 2", &on_2, &[&on_1[..], &on_3[..]].concat()).await;

    // Taken for gone: the anonymous receiver is `unknown`, the account is kept for its next
    // login (`queued`).
    let gone = send(&ledger, &mut s1, &[r2.user_id(), bob_id]).await;
    assert_eq!(
        outcome(&gone),
        (0, vec![bob_id], vec![r2.user_id()], vec![], vec![]),
        "{gone:?}"
    );

    // Hub 2's own clients: a relay to hub 3's users gets an answer (they are gone from hub 2,
    // and the mailbox is out of reach), a login and a register that need the store get a
    // clear error.
    let from_2 = send(&ledger, &mut s2, &[r3.user_id(), carol_id]).await;
    assert_eq!(
        outcome(&from_2),
        (0, vec![], vec![r3.user_id()], vec![carol_id], vec![]),
        "{from_2:?}"
    );
    let mut late = h2.connect().await;
    let login = accounts::try_login(&mut late, &carol_key, "carol").await;
    assert!(
        matches!(
            login,
            HubMsg::Error {
                kind: ErrorKind::StoreFailed,
                ..
            }
        ),
        "{login:?}"
    );
    let register = accounts::try_register(&mut late, &SecretKey::generate(), "dave").await;
    assert!(
        matches!(
            register,
            HubMsg::Error {
                kind: ErrorKind::StoreFailed,
                ..
            }
        ),
        "{register:?}"
    );
    drop(late);

    if let Cut::BlackHole = cut {
        // Nothing was reset: hub 2's two NATS connections notice the silence by their own
        // pings and try again (each a new connection the proxy takes and holds).
        eventually("hub 2's NATS connections to give up and reconnect", || {
            proxy.accepted() >= accepted + 2
        })
        .await;
    }
    proxy.heal();

    // Healed, with no operator: hub 2 reconnects, its users arrive again everywhere, hub 2
    // sees everyone again.
    w1.until(&on_2, &[]).await;
    w3.until(&on_2, &[]).await;
    present(&h2, "hub 2", &everyone, &[]).await;

    // Bob logs in again and reads what hub 1 kept for him, then relays cross both ways.
    drop(bob);
    h2.wait_for_users(2).await;
    let mut bob = h2.connect().await;
    let again = accounts::login(&mut bob, &bob_key, "bob").await;
    assert_eq!(again.waiting, 2, "the two copies hub 1 kept");
    collect(&ledger, &mut bob, bob_id).await;
    let after = send(&ledger, &mut s1, &[r2.user_id(), bob_id, r3.user_id()]).await;
    assert_eq!(outcome(&after).0, 3, "{after:?}");
    let back = send(&ledger, &mut s2, &[s1.user_id(), r3.user_id()]).await;
    assert_eq!(outcome(&back).0, 2, "{back:?}");

    // The register that failed changed nothing: the name is free.
    let mut dave = h1.connect().await;
    accounts::register(&mut dave, &SecretKey::generate(), "dave").await;
    // Every hub still gives ids no other hub gave.
    let mut ids: HashSet<UserId> = everyone.iter().copied().collect();
    for _ in 0..20 {
        let (x, y, z) = tokio::join!(h1.connect(), h2.connect(), h3.connect());
        for id in [x.user_id(), y.user_id(), z.user_id()] {
            assert!(ids.insert(id), "{id} given twice");
        }
    }

    // The ledger: what was answered delivered or queued arrived, once, in order.
    let s1_id = s1.user_id();
    for (conn, id) in [
        (&mut r2, r2_id),
        (&mut bob, bob_id),
        (&mut r3, r3_id),
        (&mut s1, s1_id),
    ] {
        collect(&ledger, conn, id).await;
        ledger.healthy(id);
    }
    drop(carol);
    let mut carol = h1.connect().await;
    accounts::login(&mut carol, &carol_key, "carol").await;
    collect(&ledger, &mut carol, carol_id).await;
    ledger.healthy(carol_id);
    ledger.check();
    // 8 relays to 17 receivers: 11 delivered or queued (and arrived), 2 unknown, 4 dropped.
    assert_eq!(ledger.relays(), 8);
    assert_eq!(ledger.totals(), (11, 2, 4, 0));
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// Hub 2's connections to NATS reset and refused, then let through again.
#[tokio::test]
async fn a_hub_cut_off_from_nats_by_resets_heals_by_itself() {
    partition(Cut::Refuse).await;
}

/// Hub 2's packets to and from NATS lost, nothing reset, then let through again.
#[tokio::test]
async fn a_hub_behind_a_silent_partition_notices_and_heals_by_itself() {
    partition(Cut::BlackHole).await;
}

/// An account deleted on hub 1 while hub 2, where it has a session, is cut off from NATS:
/// hub 2 never hears the delete (NATS keeps nothing for it), and closes that session itself
/// once it is connected again (docs/CLUSTER.md, § Deleting an account across hubs).
#[tokio::test]
async fn an_account_deleted_while_a_hub_is_cut_off_loses_its_session_there_at_the_heal() {
    let nats = NatsServer::start();
    let proxy = Proxy::start(nats.addr);
    let h1 = TestHub::clustered(config(&nats.url())).await;
    let h2 = TestHub::clustered(config(&proxy.nats_url())).await;
    let (mut first, key, me) = accounts::new_account(h1.addr, "alice").await;
    let mut second = h2.connect().await;
    accounts::login(&mut second, &key, "alice").await;
    let anon = h2.connect().await;
    present(&h1, "hub 1", &[anon.user_id()], &[]).await;

    proxy.refuse();
    eventually("hub 2's connections to NATS to be cut", || {
        proxy.open() == 0
    })
    .await;
    let nonce = accounts::challenge(&mut first).await;
    let answer = request(
        &mut first,
        ClientMsg::DeleteAccount {
            req: RequestId(9),
            signature: key.sign(shared::account::Purpose::Delete, &nonce, "alice"),
        },
    )
    .await;
    assert_eq!(answer, HubMsg::Done { req: RequestId(9) });
    proxy.heal();

    for session in [&mut first, &mut second] {
        accounts::deleted_goodbye(session).await;
    }
    eventually("alice to be gone from both hubs", || {
        !h1.inspector.is_present(me.user_id) && !h2.inspector.is_present(me.user_id)
    })
    .await;
    drop(anon);
    for hub in [h1, h2] {
        hub.stop().await;
    }
}
