//! Many hubs as one over NATS (docs/CLUSTER.md): real nats-server, real hubs, real TCP
//! clients. Ids unique across hubs, presence merged (joins, leaves, a hub started late, a hub
//! that stops, a hub killed), relays across hubs answered once.

use std::collections::HashSet;
use std::time::Duration;

use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use testkit::child::HubProcess;
use testkit::nats::NatsServer;
use testkit::*;

/// Three hubs on `nats`, started one after another.
async fn three(nats: &NatsServer) -> [TestHub; 3] {
    [
        TestHub::in_cluster(&nats.url()).await,
        TestHub::in_cluster(&nats.url()).await,
        TestHub::in_cluster(&nats.url()).await,
    ]
}

/// Wait until `conn`'s `List` is `want` (in any order).
async fn lists(conn: &mut Connection, want: &[UserId]) {
    let want: HashSet<UserId> = want.iter().copied().collect();
    let what = format!("List to be {want:?}");
    eventually_async(&what, async || {
        let got: HashSet<UserId> = list(conn).await.into_iter().collect();
        (got == want).then_some(())
    })
    .await
}

/// A watcher at the current version, its snapshot read.
async fn watcher(hub: &TestHub) -> (Connection, Vec<UserId>) {
    let mut w = hub.connect_at(shared::RECEIPTS_VERSION).await;
    w.send(&ClientMsg::Watch { req: RequestId(3) })
        .await
        .expect("send");
    match recv(&mut w).await {
        HubMsg::Present { peers, .. } => {
            let peers = peers.into_iter().map(|p| p.user_id).collect();
            (w, peers)
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

/// The answer (`Posted`, the current version's) to a relay of request 9 that queued nothing.
fn posted(delivered: u32, unknown: Vec<UserId>, dropped: Vec<UserId>) -> HubMsg {
    HubMsg::Posted {
        req: RequestId(9),
        delivered,
        queued: vec![],
        unknown,
        dropped,
        full: vec![],
    }
}

#[tokio::test]
async fn hubs_starting_at_once_give_disjoint_ids() {
    let nats = NatsServer::start();
    let url = nats.url();
    // Blocks of 16: forty connections on each hub make the three lease blocks against one
    // another on the one counter.
    let (a, b, c) = tokio::join!(
        TestHub::in_cluster(&url),
        TestHub::in_cluster(&url),
        TestHub::in_cluster(&url)
    );
    let mut conns = Vec::new();
    for _ in 0..40 {
        let (x, y, z) = tokio::join!(a.connect(), b.connect(), c.connect());
        conns.extend([x, y, z]);
    }
    let ids: HashSet<UserId> = conns.iter().map(Connection::user_id).collect();
    assert_eq!(
        ids.len(),
        conns.len(),
        "every id given once across the hubs"
    );
    assert!(ids
        .iter()
        .all(|id| id.0 < shared::account::FIRST_ACCOUNT_ID));
    for hub in [a, b, c] {
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_watcher_on_one_hub_sees_a_client_join_and_leave_on_another() {
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let (mut w, _) = watcher(&h1).await;
    let far = h2.connect().await;
    let id = far.user_id();
    assert_eq!(
        recv(&mut w).await,
        HubMsg::Arrived {
            user_id: id,
            name: None
        }
    );
    drop(far);
    assert_eq!(recv(&mut w).await, HubMsg::Left { user_id: id });
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

#[tokio::test]
async fn list_on_any_hub_lists_everyone_and_a_late_hub_learns_them() {
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let mut conns = vec![h1.connect().await, h2.connect().await, h3.connect().await];
    conns.push(h2.connect().await);
    let everyone: Vec<UserId> = conns.iter().map(Connection::user_id).collect();
    for conn in &mut conns {
        let me = conn.user_id();
        let others: Vec<UserId> = everyone.iter().copied().filter(|&u| u != me).collect();
        lists(conn, &others).await;
    }
    // A hub that starts now learns the earlier hubs' users from their snapshots.
    let late = TestHub::in_cluster(&nats.url()).await;
    let mut newcomer = late.connect().await;
    lists(&mut newcomer, &everyone).await;
    let (_w, snapshot) = watcher(&late).await;
    let mut want: Vec<UserId> = everyone.clone();
    want.push(newcomer.user_id());
    want.sort_unstable();
    assert_eq!(snapshot, want, "a Watch snapshot has them too");
    for hub in [h1, h2, h3, late] {
        hub.stop().await;
    }
}

/// A hub with more users than one snapshot message holds (here parts of 10 users, as NATS's
/// `max_payload` bounds them at 23,829) sends its snapshot in parts, and a hub that starts
/// later learns every one of its users from them.
#[tokio::test]
async fn a_snapshot_in_many_parts_is_seen_whole_by_a_late_hub() {
    let nats = NatsServer::start();
    let big = TestHub::clustered(hub::Config {
        cluster: Some(hub::ClusterConfig {
            snapshot_part: Some(10),
            ..cluster_config(&nats.url())
        }),
        ..test_config()
    })
    .await;
    let conns = futures::future::join_all((0..35).map(|_| big.connect())).await;
    let everyone: Vec<UserId> = conns.iter().map(Connection::user_id).collect();
    let late = TestHub::in_cluster(&nats.url()).await;
    let mut newcomer = late.connect().await;
    lists(&mut newcomer, &everyone).await;
    let (_w, snapshot) = watcher(&late).await;
    let mut want = everyone.clone();
    want.push(newcomer.user_id());
    want.sort_unstable();
    assert_eq!(snapshot, want, "a Watch snapshot has them too");
    for hub in [big, late] {
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_hub_that_stops_takes_its_users_with_it_at_once() {
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let mut here = h1.connect().await;
    let there = h2.connect().await;
    lists(&mut here, &[there.user_id()]).await;
    let (mut w, _) = watcher(&h1).await;
    let gone = there.user_id();
    h2.stop().await;
    assert_eq!(recv(&mut w).await, HubMsg::Left { user_id: gone });
    lists(&mut here, &[w.user_id()]).await;
    for hub in [h1, h3] {
        hub.stop().await;
    }
}

/// A hub process killed with SIGKILL says nothing: the others remove it once its heartbeats
/// stop for `dead_after` (here 20 × 200 ms), and their watchers hear its users leave.
#[tokio::test]
async fn a_killed_hub_disappears_and_its_users_leave() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let url = nats.url();
    let mut victim = HubProcess::spawn_bin(
        env!("CARGO_BIN_EXE_hub"),
        &[
            "--cluster",
            &url,
            "--cluster-heartbeat",
            "200ms",
            "--cluster-dead-after",
            "20",
        ],
        None,
    );
    let doomed = Connection::connect(victim.addr).await.expect("connect");
    let id = doomed.user_id();
    let mut here = h1.connect().await;
    lists(&mut here, &[id]).await;
    let (mut w, peers) = watcher(&h1).await;
    assert!(peers.contains(&id));
    victim.signal("KILL");
    victim.wait(WAIT);
    assert_eq!(recv(&mut w).await, HubMsg::Left { user_id: id });
    lists(&mut here, &[w.user_id()]).await;
    h1.stop().await;
}

#[tokio::test]
async fn a_relay_to_two_other_hubs_is_answered_once_for_both() {
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let mut a = h1.connect().await;
    let mut b = h2.connect().await;
    let mut c = h3.connect().await;
    let (ida, idb, idc) = (a.user_id(), b.user_id(), c.user_id());
    lists(&mut a, &[idb, idc]).await;
    assert_eq!(
        relay(&mut a, &[idb, idc], &b"across"[..]).await,
        posted(2, vec![], vec![])
    );
    for conn in [&mut b, &mut c] {
        let (from, body) = delivery(conn).await;
        assert_eq!((from, &body[..]), (ida, &b"across"[..]));
    }
    // An id nobody has, beside one on another hub: one answer, in the relay's order.
    let nobody = UserId(9_999_999);
    assert_eq!(
        relay(&mut a, &[nobody, idc], &b"again"[..]).await,
        posted(1, vec![nobody], vec![])
    );
    assert_eq!(
        delivery(&mut c).await,
        (ida, bytes::Bytes::from_static(b"again"))
    );
    // A receiver that leaves hub 2: whether hub 1 has heard of it yet or hub 2 answers for
    // it, the relay says it is unknown.
    drop(b);
    h2.wait_for_users(0).await;
    assert_eq!(
        relay(&mut a, &[idb], &b"late"[..]).await,
        posted(0, vec![idb], vec![])
    );
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// A hub that cannot answer (its process stopped with SIGSTOP, not yet taken for dead): the
/// relay is answered within the relay timeout, that hub's anonymous receivers `dropped`, and
/// the local receiver delivered as ever.
#[tokio::test]
async fn a_hub_that_does_not_answer_in_time_has_its_receivers_dropped() {
    let nats = NatsServer::start();
    let (h1, stuck) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let far = Connection::connect(stuck.addr).await.expect("connect");
    let mut a = h1.connect().await;
    let mut near = h1.connect().await;
    lists(&mut a, &[far.user_id(), near.user_id()]).await;
    stuck.pause().await;
    assert_eq!(
        relay(&mut a, &[far.user_id(), near.user_id()], &b"x"[..]).await,
        posted(1, vec![], vec![far.user_id()])
    );
    assert_eq!(delivery(&mut near).await.1, bytes::Bytes::from_static(b"x"));
    stuck.signal("CONT");
    h1.stop().await;
}

/// The NATS users of the permissions test: `hub` may do anything, `app` (any other user of
/// the same NATS) may neither publish nor subscribe under `hubbub.`, where the hubs take
/// stamped relays, nor touch the id counter (docs/CLUSTER.md, § Permissions).
const NATS_USERS: &str = r#"
authorization {
  users = [
    { user: hub, password: hub-secret }
    { user: app, password: app-secret, permissions: {
        publish: { deny: ["hubbub.>", "$KV.hubbub-ids.>", "$JS.API.*.*.KV_hubbub-ids", "$JS.API.*.*.KV_hubbub-ids.>"] }
        subscribe: { deny: ["hubbub.>", "$KV.hubbub-ids.>"] }
    } }
  ]
}
"#;

/// A relay stamped as from `from` to `to`, as one hub sends another.
async fn forge(
    client: &async_nats::Client,
    hub: u64,
    from: UserId,
    to: UserId,
    body: &'static [u8],
) {
    let frame = HubMsg::Message {
        from,
        kind: shared::BodyKind::Bytes,
        body: bytes::Bytes::from_static(body),
    }
    .to_frame()
    .expect("a frame");
    let mut headers = async_nats::HeaderMap::new();
    // The wire version, then the receivers; the relay's origin and number; until when it
    // may be delivered (Unix milliseconds: a minute from now).
    headers.insert("Hubbub-To", format!("4:{}", to.0).as_str());
    headers.insert("Hubbub-Relay", "0000000000000001.1");
    let deadline = std::time::SystemTime::now() + Duration::from_secs(60);
    let deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    headers.insert("Hubbub-Deadline", deadline.to_string().as_str());
    client
        .publish_with_headers(format!("hubbub.relay.{hub:016x}"), headers, frame)
        .await
        .expect("publish");
    client.flush().await.expect("flush");
}

#[tokio::test]
async fn only_the_hubs_nats_user_may_publish_stamped_relays() {
    let nats = NatsServer::with_config(NATS_USERS);
    let url = nats.url();
    let hub_user = hub::ClusterAuth::UserPassword {
        user: "hub".into(),
        password: "hub-secret".into(),
    };
    let config = || hub::Config {
        cluster: Some(hub::ClusterConfig {
            auth: hub_user.clone(),
            ..cluster_config(&url)
        }),
        ..test_config()
    };
    let h1 = TestHub::clustered(config()).await;
    let h2 = TestHub::clustered(config()).await;
    let mut a = h1.connect().await;
    let mut b = h2.connect().await;
    lists(&mut a, &[b.user_id()]).await;
    assert_eq!(
        relay(&mut a, &[b.user_id()], &b"real"[..]).await,
        posted(1, vec![], vec![])
    );
    assert_eq!(
        delivery(&mut b).await,
        (a.user_id(), bytes::Bytes::from_static(b"real"))
    );
    let target = h2.inspector.cluster_hub().expect("in a cluster");

    let (errors_tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
    let app = async_nats::ConnectOptions::with_user_and_password("app".into(), "app-secret".into())
        .event_callback(move |event| {
            let errors_tx = errors_tx.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    let _ = errors_tx.send(e.to_string());
                }
            }
        })
        .connect(&url)
        .await
        .expect("app connects");
    forge(&app, target, UserId(42), b.user_id(), b"forged").await;
    let refused = tokio::time::timeout(WAIT, errors.recv())
        .await
        .expect("NATS says why in time")
        .expect("an error");
    assert!(
        refused.to_lowercase().contains("permissions violation"),
        "{refused}"
    );

    // The hubs' own user gets the same bytes through: the permission is what kept them out.
    let trusted =
        async_nats::ConnectOptions::with_user_and_password("hub".into(), "hub-secret".into())
            .connect(&url)
            .await
            .expect("hub user connects");
    forge(&trusted, target, UserId(43), b.user_id(), b"stamped").await;
    assert_eq!(
        delivery(&mut b).await,
        (UserId(43), bytes::Bytes::from_static(b"stamped"))
    );
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// Wait for the watcher's next push and insist it is `want`.
async fn hears(w: &mut Connection, want: HubMsg) {
    assert_eq!(recv(w).await, want);
}

fn arrived(user_id: UserId, name: Option<&str>) -> HubMsg {
    HubMsg::Arrived {
        user_id,
        name: name.map(str::to_owned),
    }
}

/// One account, a session on hub 1 and one on hub 2: hub 3's watcher hears it arrive once
/// and leave with its last session; a relay from hub 3 reaches both sessions and counts once;
/// what one session relays, the other hears (`Outgoing`) on its hub.
/// (The hubs share one store here, as the cluster's JetStream store will give them.)
#[tokio::test]
async fn an_account_on_two_hubs_is_present_once_and_leaves_with_its_last_session() {
    use hub::store::sqlite::SqliteStore;
    let nats = NatsServer::start();
    let store: std::sync::Arc<dyn hub::store::Store> =
        std::sync::Arc::new(SqliteStore::ephemeral(Default::default()).expect("store"));
    let config = || hub::Config {
        cluster: Some(cluster_config(&nats.url())),
        ..test_config()
    };
    let h1 = TestHub::clustered_with_store(config(), store.clone()).await;
    let h2 = TestHub::clustered_with_store(config(), store.clone()).await;
    let h3 = TestHub::clustered_with_store(config(), store).await;
    let mut sender = h3.connect().await;
    let (mut w, _) = watcher(&h3).await;

    let mut s1 = h1.connect().await;
    hears(&mut w, arrived(s1.user_id(), None)).await;
    let key = shared::SecretKey::generate();
    let bob = accounts::register(&mut s1, &key, "bob").await.user_id;
    hears(
        &mut w,
        HubMsg::Left {
            user_id: s1.user_id(),
        },
    )
    .await;
    hears(&mut w, arrived(bob, Some("bob"))).await;

    let mut s2 = h2.connect().await;
    hears(&mut w, arrived(s2.user_id(), None)).await;
    accounts::login(&mut s2, &key, "bob").await;
    hears(
        &mut w,
        HubMsg::Left {
            user_id: s2.user_id(),
        },
    )
    .await;

    lists(&mut sender, &[bob, w.user_id()]).await;
    assert_eq!(
        relay(&mut sender, &[bob], &b"both"[..]).await,
        posted(1, vec![], vec![])
    );
    for session in [&mut s1, &mut s2] {
        assert_eq!(
            delivery(session).await,
            (sender.user_id(), bytes::Bytes::from_static(b"both"))
        );
    }

    // What its session on hub 1 relays, its session on hub 2 hears as `Outgoing`.
    assert_eq!(
        relay(&mut s1, &[sender.user_id()], &b"from bob"[..]).await,
        posted(1, vec![], vec![])
    );
    assert_eq!(
        delivery(&mut sender).await,
        (bob, bytes::Bytes::from_static(b"from bob"))
    );
    assert_eq!(
        recv_skipping(&mut s2).await,
        HubMsg::Outgoing {
            to: vec![sender.user_id()],
            kind: shared::BodyKind::Bytes,
            body: bytes::Bytes::from_static(b"from bob"),
        }
    );

    // Its session on hub 1 goes: still present through hub 2. The next arrival from hub 1
    // comes after anything hub 1 said before it, so no Left for bob came in between.
    drop(s1);
    h1.wait_for_users(0).await;
    let sentinel = h1.connect().await;
    hears(&mut w, arrived(sentinel.user_id(), None)).await;
    drop(s2);
    hears(&mut w, HubMsg::Left { user_id: bob }).await;
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// NATS killed and restarted on the same port and data: each hub takes the other for dead
/// while NATS is away (its watchers hear the far user leave), and once NATS is back the hubs
/// reconnect, hear one another's heartbeats and follow again (snapshots) with no operator:
/// the far user arrives again, relays cross again, and new ids stay unique.
#[tokio::test]
async fn the_cluster_heals_after_nats_restarts() {
    let mut nats = NatsServer::start();
    let [h1, h2, _h3] = three(&nats).await;
    let mut a = h1.connect().await;
    let mut b = h2.connect().await;
    lists(&mut a, &[b.user_id()]).await;
    let (mut w, _) = watcher(&h1).await;
    nats.kill();
    hears(
        &mut w,
        HubMsg::Left {
            user_id: b.user_id(),
        },
    )
    .await;
    nats.restart();
    hears(&mut w, arrived(b.user_id(), None)).await;
    assert_eq!(
        relay(&mut a, &[b.user_id()], &b"healed"[..]).await,
        posted(1, vec![], vec![])
    );
    assert_eq!(
        delivery(&mut b).await.1,
        bytes::Bytes::from_static(b"healed")
    );
    let mut ids: HashSet<UserId> = [a.user_id(), b.user_id(), w.user_id()].into();
    for _ in 0..20 {
        let (x, y) = tokio::join!(h1.connect(), h2.connect());
        assert!(
            ids.insert(x.user_id()) && ids.insert(y.user_id()),
            "an id given twice"
        );
    }
}

/// A hub that cannot reach its cluster's NATS at start does not serve alone: it says why and
/// exits 1.
#[test]
fn a_hub_that_cannot_reach_nats_exits_saying_why() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["--ephemeral", "--listen", "127.0.0.1:0", "--cluster"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the hub runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot join the cluster")
            && stderr.contains(&format!("nats://127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}

/// The cluster's accounts and mailboxes are in JetStream, shared by every hub: an account
/// registered on hub 1 logs in on hub 2 under the same id; what hub 2 relays to it while it
/// is away waits in its mailbox and comes at its next login, on hub 1; one name registered on
/// both hubs at once has exactly one winner.
#[tokio::test]
async fn accounts_and_mailboxes_are_the_clusters_wherever_a_client_connects() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let h2 = TestHub::in_cluster(&nats.url()).await;
    let (first, key, me) = accounts::new_account(h1.addr, "alice").await;
    drop(first);
    h1.wait_for_users(0).await;
    let mut elsewhere = h2.connect().await;
    let there = accounts::login(&mut elsewhere, &key, "alice").await;
    assert_eq!(there.user_id, me.user_id, "the same account on hub 2");
    drop(elsewhere);
    h2.wait_for_users(0).await;

    let mut sender = h2.connect_at(shared::RECEIPTS_VERSION).await;
    // Until hub 2 has heard that alice left nowhere else either, a relay could still cross.
    lists(&mut sender, &[]).await;
    let answer = relay(&mut sender, &[me.user_id], &b"while away"[..]).await;
    let HubMsg::Posted {
        queued, delivered, ..
    } = answer
    else {
        panic!("expected Posted, got {answer:?}");
    };
    assert_eq!((delivered, queued.len()), (0, 1), "kept for alice");
    assert_eq!(queued[0].to, me.user_id);

    let mut back = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let again = accounts::login(&mut back, &key, "alice").await;
    assert_eq!((again.user_id, again.waiting), (me.user_id, 1));
    match recv_skipping(&mut back).await {
        HubMsg::Stored {
            seq, from, body, ..
        } => {
            assert_eq!(seq, queued[0].seq);
            assert_eq!((from, &body[..]), (sender.user_id(), &b"while away"[..]));
        }
        other => panic!("expected the stored message, got {other:?}"),
    }

    let (a, b) = (h1.connect().await, h2.connect().await);
    let claim = |mut conn: Connection| async move {
        let key = shared::SecretKey::generate();
        accounts::try_register(&mut conn, &key, "carol").await
    };
    let (one, two) = tokio::join!(claim(a), claim(b));
    let won = [&one, &two]
        .iter()
        .filter(|m| matches!(m, HubMsg::LoggedIn { .. }))
        .count();
    assert_eq!(won, 1, "exactly one winner: {one:?} / {two:?}");
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// A hub whose presence queue holds one change drops most of a storm of joins (the registry
/// numbers them under its lock, where it cannot wait); the gaps in the numbers, and the
/// heartbeat's latest number for a gap at the end, make the other hub take snapshots, and its
/// `List` still converges on everyone.
#[tokio::test]
async fn a_storm_of_joins_through_a_tiny_presence_queue_still_converges() {
    let nats = NatsServer::start();
    let tiny = TestHub::clustered(hub::Config {
        cluster: Some(hub::ClusterConfig {
            presence_queue: 1,
            ..cluster_config(&nats.url())
        }),
        ..test_config()
    })
    .await;
    let other = TestHub::in_cluster(&nats.url()).await;
    let mut far = other.connect().await;
    let mut conns: Vec<Connection> = Vec::new();
    // Storms until the queue has overflowed at least once: however fast the machine, the
    // drop path is what this test is about.
    while tiny.inspector.stats().presence_dropped == 0 {
        let storm = (0..50).map(|_| tiny.connect());
        conns.extend(futures::future::join_all(storm).await);
        assert!(conns.len() < 5_000, "the queue of one never overflowed");
    }
    // And some leave, in a storm too.
    let leaving = conns.split_off(conns.len() / 2);
    drop(leaving);
    let everyone: Vec<UserId> = conns.iter().map(Connection::user_id).collect();
    lists(&mut far, &everyone).await;
    for hub in [tiny, other] {
        hub.stop().await;
    }
}

/// Version 6's coalesced presence with the changes coming from another hub: a watcher on hub 1
/// whose writer is stalled gets a storm of joins and leaves on hub 2 as one `Presence` frame,
/// those who came and went in neither list.
#[tokio::test]
async fn a_storm_on_another_hub_reaches_a_busy_watcher_in_one_frame() {
    use shared::{MAX_BODY_LEN, PRESENCE_VERSION};
    use testkit::raw::{Raw, Seen};
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let old = h2.connect().await;
    let mut sender = h1.connect().await;
    let mut raw = Raw::connect_small(h1.addr).await;
    raw.send(&ClientMsg::Hello {
        req: RequestId(1),
        version: PRESENCE_VERSION,
    })
    .await;
    assert!(matches!(raw.next().await, Seen::Msg(HubMsg::Hello { .. })));
    lists(&mut sender, &[old.user_id(), raw.user_id]).await;
    raw.send(&ClientMsg::Watch { req: RequestId(2) }).await;
    assert!(matches!(
        raw.next().await,
        Seen::Msg(HubMsg::Present { .. })
    ));
    // Stall the watcher's writer: more than the kernel's buffers hold, less than its queue's
    // soft limit.
    for _ in 0..10 {
        let big = bytes::Bytes::from(vec![7u8; MAX_BODY_LEN]);
        assert!(matches!(
            relay(&mut sender, &[raw.user_id], big).await,
            HubMsg::Posted { delivered: 1, .. }
        ));
    }
    eventually("the watcher's writer to hold relays", || {
        h1.inspector.queued_bytes() > MAX_BODY_LEN
    })
    .await;

    let mut crowd = Vec::new();
    for _ in 0..100 {
        crowd.push(h2.connect().await);
    }
    let staying = crowd.split_off(30);
    let came_and_went: Vec<UserId> = crowd.iter().map(Connection::user_id).collect();
    let mut stayed: Vec<UserId> = staying.iter().map(Connection::user_id).collect();
    stayed.sort_unstable();
    drop(crowd);
    let gone = old.user_id();
    drop(old);
    eventually("hub 1 to have heard it all", || {
        stayed.iter().all(|&u| h1.inspector.is_present(u))
            && !came_and_went.iter().any(|&u| h1.inspector.is_present(u))
            && !h1.inspector.is_present(gone)
    })
    .await;
    let (arrived, left) = loop {
        match raw.next().await {
            Seen::Msg(HubMsg::Message { .. } | HubMsg::KeepAlive) => {}
            Seen::Msg(HubMsg::Presence { arrived, left }) => break (arrived, left),
            other => panic!("expected presence, got {other:?}"),
        }
    };
    let arrived: Vec<UserId> = arrived.into_iter().map(|p| p.user_id).collect();
    assert_eq!(arrived, stayed, "one frame: the 70 who stayed, ascending");
    assert_eq!(left, vec![gone]);
    drop(staying);
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// The largest body the protocol allows crosses to another hub whole (NATS's `max_payload`
/// must hold a frame of `MAX_FRAME_LEN`; testkit's server has 2 MiB, as docs/CLUSTER.md asks).
#[tokio::test]
async fn a_maximal_body_crosses_to_another_hub() {
    let nats = NatsServer::start();
    let [h1, h2, h3] = three(&nats).await;
    let mut a = h1.connect().await;
    let mut b = h2.connect().await;
    lists(&mut a, &[b.user_id()]).await;
    let body = bytes::Bytes::from(vec![0x5a; shared::MAX_BODY_LEN]);
    assert_eq!(
        relay(&mut a, &[b.user_id()], body.clone()).await,
        posted(1, vec![], vec![])
    );
    assert_eq!(delivery(&mut b).await, (a.user_id(), body));
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// A NATS whose `max_payload` cannot carry the largest relay (its default of 1 MiB): the hub
/// refuses to join it, saying what to set.
#[tokio::test]
async fn a_hub_refuses_a_nats_too_small_for_a_maximal_relay() {
    let nats = NatsServer::with_config("max_payload: 1MB");
    let store = hub::store::sqlite::SqliteStore::ephemeral(Default::default()).expect("store");
    let config = hub::Config {
        cluster: Some(cluster_config(&nats.url())),
        ..test_config()
    };
    let refused = hub::Hub::open(config, std::sync::Arc::new(store)).await;
    let Err(e) = refused else {
        panic!("a hub joined a NATS that cannot carry its frames")
    };
    assert!(e.to_string().contains("max_payload: 2MB"), "{e}");
}

/// A clustered hub's config that waits for late mailbox writes before a session goes live,
/// as `hub --cluster` does ([`hub::cluster::LATE_WRITES`], here 200 ms: far above what a
/// presence change and a mailbox write take on loopback, and 30 logins stay quick).
fn waiting_for_late_writes(nats: &NatsServer) -> hub::Config {
    hub::Config {
        cluster: Some(hub::ClusterConfig {
            late_writes: Duration::from_millis(200),
            ..cluster_config(&nats.url())
        }),
        ..test_config()
    }
}

/// Read one message for `bob` into the ledger (a `Stored` seen before is dropped, as a
/// client does); the highest mailbox seq seen so far goes in `through`. A message owed that
/// never comes fails the test saying how many bob has.
async fn take(
    conn: &mut Connection,
    ledger: &testkit::ledger::Ledger,
    bob: UserId,
    seen: &mut accounts::Seen,
    through: &mut u64,
) -> HubMsg {
    let msg = loop {
        let Ok(next) = tokio::time::timeout(WAIT, conn.recv()).await else {
            panic!(
                "bob has {} of the {} owed: one stranded? {:?}",
                ledger.received(bob),
                ledger.expected(bob),
                ledger.violations()
            );
        };
        match next.expect("a message") {
            HubMsg::KeepAlive => conn
                .send(&ClientMsg::<bytes::Bytes>::KeepAliveAck)
                .await
                .expect("ack"),
            HubMsg::Arrived { .. } | HubMsg::Left { .. } | HubMsg::Presence { .. } => {}
            other => break other,
        }
    };
    if let HubMsg::Stored { seq, .. } = msg {
        *through = (*through).max(seq);
    }
    if seen.is_new(&msg) {
        ledger.receive(bob, &msg);
    }
    msg
}

/// The drain race across hubs: hub 1 relays a numbered stream to bob while bob logs in and
/// out on hub 2 again and again. A relay that reaches hub 2 while bob drains there is kept by
/// hub 2 itself, under its drain's bookkeeping; one that hub 1 kept before it heard bob
/// arrive lands before bob's session goes live ([`hub::cluster::LATE_WRITES`]). Every relay
/// answered delivered or queued reaches bob once, in order, and nothing is left in the
/// mailbox.
#[tokio::test]
async fn relays_from_another_hub_while_an_account_logs_in_and_out_are_never_stranded() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const ROUNDS: usize = 30;
    const PER_ROUND: usize = 20;
    let nats = NatsServer::start();
    let h1 = TestHub::clustered(waiting_for_late_writes(&nats)).await;
    let h2 = TestHub::clustered(waiting_for_late_writes(&nats)).await;
    let (first, key, me) = accounts::new_account(h2.addr, "bob").await;
    let bob = me.user_id;
    drop(first);
    h2.wait_for_users(0).await;
    let ledger = Arc::new(testkit::ledger::Ledger::new());

    // The sender relays one at a time, each inside the gate: whoever holds the gate knows no
    // relay is on its way.
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut sender = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let sending = tokio::spawn({
        let (ledger, gate, stop) = (ledger.clone(), gate.clone(), stop.clone());
        async move {
            let me = sender.user_id();
            loop {
                let _relaying = gate.lock().await;
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                sender
                    .send(&ledger.relay(me, &[bob], 64))
                    .await
                    .expect("send");
                let answer = recv_skipping(&mut sender).await;
                assert!(ledger.answer(me, &answer), "{answer:?}");
            }
        }
    });

    let mut seen = accounts::Seen::default();
    let mut through = 0;
    for round in 0..=ROUNDS {
        let mut conn = h2.connect_at(shared::RECEIPTS_VERSION).await;
        accounts::login(&mut conn, &key, "bob").await;
        let want = ledger.received(bob) + PER_ROUND;
        while round < ROUNDS && ledger.received(bob) < want {
            take(&mut conn, &ledger, bob, &mut seen, &mut through).await;
        }
        // Hold the sender, take what is owed, acknowledge the mailbox, and leave.
        let held = gate.lock().await;
        if round == ROUNDS {
            stop.store(true, Ordering::SeqCst);
        }
        while ledger.received(bob) < ledger.expected(bob) {
            take(&mut conn, &ledger, bob, &mut seen, &mut through).await;
        }
        if through > 0 {
            let req = RequestId(77);
            conn.send(&ClientMsg::Ack { req, seq: through })
                .await
                .expect("send");
            while take(&mut conn, &ledger, bob, &mut seen, &mut through).await
                != (HubMsg::Done { req })
            {}
        }
        drop(conn);
        h2.wait_for_users(0).await;
        drop(held);
    }
    sending.await.expect("the sender");
    ledger.healthy(bob);
    ledger.check();
    assert!(ledger.received(bob) >= ROUNDS * PER_ROUND);
    let mut last = h1.connect().await;
    let again = accounts::login(&mut last, &key, "bob").await;
    assert_eq!(again.waiting, 0, "nothing left in the mailbox");
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// Receipts cross hubs: alice on hub 1 relays to bob, who is away (queued); bob logs in on
/// hub 2 and acknowledges it; alice gets `Delivered` on hub 1.
#[tokio::test]
async fn a_receipt_reaches_the_sender_on_another_hub() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let h2 = TestHub::in_cluster(&nats.url()).await;
    let (first, bob_key, bob) = accounts::new_account(h2.addr, "bob").await;
    drop(first);
    h2.wait_for_users(0).await;
    let mut alice = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let alice_id = accounts::register(&mut alice, &shared::SecretKey::generate(), "alice")
        .await
        .user_id;
    lists(&mut alice, &[]).await;
    let HubMsg::Posted { queued, .. } = relay(&mut alice, &[bob.user_id], &b"hi"[..]).await else {
        panic!("expected Posted");
    };
    assert_eq!(queued.len(), 1, "kept for bob");
    let seq = queued[0].seq;

    let mut b = h2.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut b, &bob_key, "bob").await;
    assert!(matches!(recv_skipping(&mut b).await, HubMsg::Stored { seq: s, .. } if s == seq));
    // Hub 2 knows alice is on hub 1 before bob acknowledges.
    lists(&mut b, &[alice_id]).await;
    accounts::ack(&mut b, seq).await;
    assert_eq!(
        recv_skipping(&mut alice).await,
        HubMsg::Delivered {
            to: bob.user_id,
            through: seq
        }
    );
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// The cluster's store, as its hubs open it, for a test to look into.
async fn cluster_store(nats: &NatsServer) -> std::sync::Arc<hub::store::jetstream::JetStreamStore> {
    let url = nats.url();
    let store = tokio::task::spawn_blocking(move || {
        hub::store::jetstream::JetStreamStore::connect(
            &url,
            Default::default(),
            hub::cluster::STORE_PREFIX,
        )
    })
    .await
    .expect("the store's opening task")
    .expect("the cluster's store opens");
    std::sync::Arc::new(store)
}

/// The receipts the cluster's store keeps for `sender`.
async fn kept_receipts(
    store: &std::sync::Arc<hub::store::jetstream::JetStreamStore>,
    sender: UserId,
) -> Vec<hub::store::Receipt> {
    use hub::store::Store;
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.receipts(sender))
        .await
        .expect("the store's task")
        .expect("receipts read")
}

/// Alice on `at` relays to bob, who is away; bob logs in on `bob_at`, takes it and
/// acknowledges it once `bob_at` knows alice is there. Alice's id and the seq.
async fn a_receipt_for_alice(
    at: std::net::SocketAddr,
    alice_key: &shared::SecretKey,
    bob_at: &TestHub,
) -> (Connection, Connection, UserId, UserId, u64) {
    let (first, bob_key, bob) = accounts::new_account(bob_at.addr, "bob").await;
    drop(first);
    bob_at.wait_for_users(0).await;
    let mut alice = Connection::connect_speaking(at, shared::RECEIPTS_VERSION)
        .await
        .expect("connect");
    let alice_id = accounts::register(&mut alice, alice_key, "alice")
        .await
        .user_id;
    let HubMsg::Posted { queued, .. } = relay(&mut alice, &[bob.user_id], &b"hi"[..]).await else {
        panic!("expected Posted");
    };
    assert_eq!(queued.len(), 1, "kept for bob");
    let seq = queued[0].seq;
    let mut b = bob_at.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut b, &bob_key, "bob").await;
    assert!(matches!(recv_skipping(&mut b).await, HubMsg::Stored { seq: s, .. } if s == seq));
    // Bob's hub knows alice is on hers before bob acknowledges.
    lists(&mut b, &[alice_id]).await;
    (alice, b, alice_id, bob.user_id, seq)
}

/// A receipt pushed to the sender's session on another hub is forgotten once that session
/// took it: alice on hub 1 gets `Delivered` for what bob acknowledged on hub 2, and when she
/// logs out and in again it does not come a second time.
#[tokio::test]
async fn a_receipt_taken_on_another_hub_does_not_come_again() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let h2 = TestHub::in_cluster(&nats.url()).await;
    let store = cluster_store(&nats).await;
    let key = shared::SecretKey::generate();
    let (mut alice, mut b, alice_id, bob, seq) = a_receipt_for_alice(h1.addr, &key, &h2).await;
    accounts::ack(&mut b, seq).await;
    let receipt = HubMsg::Delivered {
        to: bob,
        through: seq,
    };
    assert_eq!(recv_skipping(&mut alice).await, receipt);
    let what = "hub 1 to have the store forget the receipt its session took";
    eventually_async(what, async || {
        kept_receipts(&store, alice_id)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    drop(alice);
    h1.wait_for_users(0).await;
    let mut again = h1.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut again, &key, "alice").await;
    // Kept receipts come as the session goes live (at once: her mailbox is empty), before
    // the hub reads her next request.
    let req = RequestId(5);
    again
        .send(&ClientMsg::<bytes::Bytes>::Identity { req })
        .await
        .expect("send");
    assert_eq!(
        recv_skipping(&mut again).await,
        HubMsg::Identity {
            req,
            user_id: alice_id
        },
        "the receipt came again"
    );
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// A receipt pushed to a hub that dies before its session takes it is not lost: it comes at
/// the sender's next login. Alice is on a hub process, stopped (SIGSTOP) while bob
/// acknowledges on hub 1 and then killed; she logs in on hub 1 and gets `Delivered`.
#[tokio::test]
async fn a_receipt_pushed_to_a_hub_that_dies_comes_at_the_next_login() {
    let nats = NatsServer::start();
    let (h1, mut doomed) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let key = shared::SecretKey::generate();
    let (alice, mut b, _, bob, seq) = a_receipt_for_alice(doomed.addr, &key, &h1).await;
    doomed.pause().await;
    accounts::ack(&mut b, seq).await;
    doomed.signal("KILL");
    doomed.wait(WAIT);
    drop(alice);
    let mut again = h1.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut again, &key, "alice").await;
    assert_eq!(
        recv_skipping(&mut again).await,
        HubMsg::Delivered {
            to: bob,
            through: seq
        }
    );
    h1.stop().await;
}

/// `Outgoing` crosses hubs: alice with sessions on hubs 1 and 2; what her hub-1 session
/// relays reaches her hub-2 session as `Outgoing`.
#[tokio::test]
async fn what_a_session_relays_reaches_its_sessions_on_other_hubs_as_outgoing() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let h2 = TestHub::in_cluster(&nats.url()).await;
    let mut there = h2.connect_at(shared::RECEIPTS_VERSION).await;
    let key = shared::SecretKey::generate();
    let alice = accounts::register(&mut there, &key, "alice").await.user_id;
    let mut carol = h1.connect().await;
    // Hub 1 knows alice is on hub 2 before her session there logs in.
    lists(&mut carol, &[alice]).await;
    let mut here = h1.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut here, &key, "alice").await;
    assert_eq!(
        relay(&mut here, &[carol.user_id()], &b"to carol"[..]).await,
        HubMsg::Posted {
            req: RequestId(9),
            delivered: 1,
            queued: vec![],
            unknown: vec![],
            dropped: vec![],
            full: vec![],
        }
    );
    match recv_skipping(&mut there).await {
        HubMsg::Outgoing { to, body, .. } => {
            assert_eq!((to, &body[..]), (vec![carol.user_id()], &b"to carol"[..]));
        }
        other => panic!("expected Outgoing, got {other:?}"),
    }
    for hub in [h1, h2] {
        hub.stop().await;
    }
}

/// A receiver on hub 2 that never reads is hub 2's slow consumer: hub 2 drops it under its own
/// queue limits, the sender on hub 1 is told `dropped`, and hub 1 goes on serving (a relay to
/// hub 3 right after is delivered).
#[tokio::test]
async fn a_receiver_that_never_reads_on_another_hub_is_that_hubs_slow_consumer() {
    use testkit::raw::Raw;
    const SMALL_QUEUE: usize = 256 * 1024;
    let nats = NatsServer::start();
    let url = nats.url();
    let h1 = TestHub::in_cluster(&url).await;
    let h2 = TestHub::clustered(hub::Config {
        queue_bytes: SMALL_QUEUE,
        queue_max_bytes: SMALL_QUEUE,
        // Its close is recorded once its writer, stuck on the full socket, gives up.
        write_timeout: std::time::Duration::from_secs(1),
        cluster: Some(cluster_config(&url)),
        ..test_config()
    })
    .await;
    let h3 = TestHub::in_cluster(&url).await;
    let mut a = h1.connect().await;
    let sleeper = Raw::connect(h2.addr).await;
    let mut c = h3.connect().await;
    lists(&mut a, &[sleeper.user_id, c.user_id()]).await;
    // Kernel buffers take a few MiB before the queue fills; 1,000 × 64 KiB is plenty.
    let mut delivered = 0;
    let dropped = loop {
        let body = bytes::Bytes::from(vec![1u8; 64 * 1024]);
        match relay(&mut a, &[sleeper.user_id], body).await {
            HubMsg::Posted { delivered: 1, .. } => delivered += 1,
            HubMsg::Posted { dropped, .. } => break dropped,
            other => panic!("{other:?}"),
        }
        assert!(
            delivered < 1000,
            "hub 2 never gave up on a receiver that never reads"
        );
    };
    assert_eq!(dropped, vec![sleeper.user_id]);
    assert_eq!(
        h2.close_reason(sleeper.user_id).await,
        hub::CloseReason::SlowConsumer
    );
    assert_eq!(
        relay(&mut a, &[c.user_id()], &b"on"[..]).await,
        posted(1, vec![], vec![])
    );
    assert_eq!(delivery(&mut c).await.1, bytes::Bytes::from_static(b"on"));
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// NATS's own slow-consumer rule: a hub that does not read (stopped) while relays for it
/// pile up past the server's `max_pending` is cut off by nats-server; its senders' relays
/// are answered (dropped at the relay timeout), the other hub goes on, and once the hub runs
/// again it reconnects and resubscribes by itself: a relay reaches its client again.
#[tokio::test]
async fn a_hub_that_nats_cuts_off_as_a_slow_consumer_reconnects_and_serves_again() {
    let nats = NatsServer::with_config("max_pending: 4MB");
    let (h1, slow) =
        TestHub::beside_a_hub_to_stop(&nats, Duration::from_millis(500), env!("CARGO_BIN_EXE_hub"))
            .await;
    let mut far = Connection::connect(slow.addr).await.expect("connect");
    let mut senders = Vec::new();
    for _ in 0..8 {
        senders.push(h1.connect().await);
    }
    let mut everyone: Vec<UserId> = senders.iter().map(Connection::user_id).collect();
    everyone.push(far.user_id());
    let others: Vec<UserId> = everyone[1..].to_vec();
    lists(&mut senders[0], &others).await;
    assert_eq!(slow.logged("NATS connected"), 1);

    slow.pause().await;
    // 8 senders × 4 relays of 1 MiB for the stopped hub: far past the 4 MB NATS holds for it.
    let to = far.user_id();
    let big = bytes::Bytes::from(vec![7u8; shared::MAX_BODY_LEN]);
    let sends = senders.iter_mut().map(|s| {
        let big = big.clone();
        async move {
            for _ in 0..4 {
                let answer = relay(s, &[to], big.clone()).await;
                assert!(
                    matches!(&answer, HubMsg::Posted { dropped, .. } if dropped == &[to]),
                    "{answer:?}"
                );
            }
        }
    });
    futures::future::join_all(sends).await;
    slow.signal("CONT");
    eventually("NATS to have cut the slow hub off and let it back", || {
        slow.logged("NATS connected") >= 2
    })
    .await;
    assert!(slow.logged("disconnected") >= 1, "it was cut off");

    // Resubscribed: a relay reaches its client again (after whatever of the big ones it had
    // taken in before it was cut off).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = relay(&mut senders[0], &[to], &b"after"[..]).await;
        if answer == posted(1, vec![], vec![]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no relay reached the hub again: {answer:?}"
        );
    }
    loop {
        let (_, body) = delivery(&mut far).await;
        if &body[..] == b"after" {
            break;
        }
    }
    h1.stop().await;
}

/// One session of bob's in the two-hub drain test: what it got, in order.
#[derive(Default)]
struct Session {
    /// The token of each relay it got (a `Stored` seq seen before is dropped, as a client
    /// does), in arrival order.
    tokens: Vec<u32>,
    seen: accounts::Seen,
    /// The highest mailbox seq it got.
    through: u64,
}

impl Session {
    /// Read the next message but presence and keep-alives: a relay's token goes in `tokens`
    /// (`None` comes back); anything else comes back.
    async fn take(&mut self, conn: &mut Connection) -> Option<HubMsg> {
        let next = loop {
            let Ok(next) = tokio::time::timeout(WAIT, conn.recv()).await else {
                panic!("a session of bob waited {WAIT:?} for what it is owed: stranded");
            };
            match next.expect("a message") {
                HubMsg::KeepAlive => conn
                    .send(&ClientMsg::<bytes::Bytes>::KeepAliveAck)
                    .await
                    .expect("ack"),
                HubMsg::Arrived { .. } | HubMsg::Left { .. } | HubMsg::Presence { .. } => {}
                other => break other,
            }
        };
        let body = match &next {
            HubMsg::Stored { seq, body, .. } => {
                self.through = self.through.max(*seq);
                if !self.seen.is_new(&next) {
                    return None;
                }
                body
            }
            HubMsg::Message { body, .. } => body,
            _ => return Some(next),
        };
        let token = <[u8; 4]>::try_from(&body[..]).expect("a 4-byte token");
        self.tokens.push(u32::from_be_bytes(token));
        None
    }

    /// Read until every token of `owed` has come.
    async fn take_all(&mut self, conn: &mut Connection, owed: std::ops::RangeInclusive<u32>) {
        while !owed.clone().all(|t| self.tokens.contains(&t)) {
            if let Some(other) = self.take(conn).await {
                panic!("expected relays, got {other:?}");
            }
        }
    }

    /// Acknowledge the mailbox through the highest seq this session got.
    async fn ack(&mut self, conn: &mut Connection) {
        if self.through == 0 {
            return;
        }
        let req = RequestId(77);
        conn.send(&ClientMsg::Ack {
            req,
            seq: self.through,
        })
        .await
        .expect("send");
        loop {
            match self.take(conn).await {
                Some(HubMsg::Done { req: r }) if r == req => return,
                Some(other) => panic!("expected Done, got {other:?}"),
                None => {}
            }
        }
    }
}

/// The drain race with an account on two hubs at once: hub 1 relays a numbered stream to
/// bob while two sessions of bob log in together, one on hub 2 and one on hub 3, again and
/// again (each logout with no relay in flight). Each session gets every relay that hub 1 sent
/// once it knew of both, once and in order, without waiting for a next login; every relay
/// reaches the account.
#[tokio::test]
async fn an_account_logging_in_on_two_hubs_at_once_gets_every_relay_on_both() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    const ROUNDS: usize = 20;
    const PER_ROUND: u32 = 20;
    let nats = NatsServer::start();
    let h1 = TestHub::clustered(waiting_for_late_writes(&nats)).await;
    let h2 = TestHub::clustered(waiting_for_late_writes(&nats)).await;
    let h3 = TestHub::clustered(waiting_for_late_writes(&nats)).await;
    let (first, key, me) = accounts::new_account(h2.addr, "bob").await;
    let bob = me.user_id;
    drop(first);
    h2.wait_for_users(0).await;
    let hubs = [&h2, &h3].map(|h| h.inspector.cluster_hub().expect("clustered"));

    // The sender relays one at a time, each inside the gate: whoever holds the gate knows no
    // relay is on its way. `made` is the last token sent, `answered` the last answered; what
    // each answer was is in `outcomes`.
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let (made, answered) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut sender = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let sending = tokio::spawn({
        let (gate, stop) = (gate.clone(), stop.clone());
        let (made, answered, outcomes) = (made.clone(), answered.clone(), outcomes.clone());
        async move {
            for token in 1u32.. {
                let _relaying = gate.lock().await;
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                made.store(token, Ordering::SeqCst);
                let msg = relay_msg(token, &[bob], token.to_be_bytes().to_vec());
                let answer = request(&mut sender, msg).await;
                let HubMsg::Posted {
                    req,
                    delivered,
                    queued,
                    ..
                } = &answer
                else {
                    panic!("expected Posted, got {answer:?}");
                };
                assert_eq!(*req, RequestId(token));
                let reached = *delivered == 1 || queued.len() == 1;
                outcomes.lock().expect("outcomes").push((token, reached));
                answered.store(token, Ordering::SeqCst);
            }
        }
    });

    let mut got = HashSet::new();
    for _ in 0..ROUNDS {
        let mut conns = [
            h2.connect_at(shared::RECEIPTS_VERSION).await,
            h3.connect_at(shared::RECEIPTS_VERSION).await,
        ];
        let [c2, c3] = &mut conns;
        tokio::join!(
            accounts::login(c2, &key, "bob"),
            accounts::login(c3, &key, "bob")
        );
        eventually("hub 1 to know bob on hubs 2 and 3", || {
            let (_, on) = h1.inspector.presence_of(bob);
            hubs.iter().all(|h| on.contains(h))
        })
        .await;
        // Every relay made from here on was routed by a hub 1 that knew both sessions.
        let from = made.load(Ordering::SeqCst) + 1;
        eventually("hub 1 to relay a round's stream", || {
            answered.load(Ordering::SeqCst) >= from + PER_ROUND
        })
        .await;
        let held = gate.lock().await;
        let upto = answered.load(Ordering::SeqCst);
        let mut sessions = [Session::default(), Session::default()];
        // Each takes what it is owed before either acknowledges: a drain does not read what
        // another session acknowledged first.
        for (session, conn) in sessions.iter_mut().zip(conns.iter_mut()) {
            session.take_all(conn, from..=upto).await;
        }
        for (session, conn) in sessions.iter_mut().zip(conns.iter_mut()) {
            session.ack(conn).await;
            got.extend(session.tokens.iter().copied());
            let owed: Vec<u32> = session
                .tokens
                .iter()
                .copied()
                .filter(|t| (from..=upto).contains(t))
                .collect();
            let want: Vec<u32> = (from..=upto).collect();
            assert_eq!(
                owed, want,
                "a session's relays of {from}..={upto}: each once, in order"
            );
        }
        drop(conns);
        h2.wait_for_users(0).await;
        h3.wait_for_users(0).await;
        drop(held);
    }
    {
        let _held = gate.lock().await;
        stop.store(true, Ordering::SeqCst);
    }
    sending.await.expect("the sender");
    // What is left in the mailbox (copies of relays the sessions already had) comes at the
    // next login; with it, every relay answered delivered or queued reached the account.
    let mut last = h1.connect_at(shared::RECEIPTS_VERSION).await;
    let left = accounts::login(&mut last, &key, "bob").await.waiting;
    let mut rest = Session::default();
    while (rest.tokens.len() as u64) < left {
        if let Some(other) = rest.take(&mut last).await {
            panic!("expected what is left in the mailbox, got {other:?}");
        }
    }
    got.extend(rest.tokens);
    let outcomes = outcomes.lock().expect("outcomes").clone();
    for (token, reached) in outcomes {
        assert!(
            reached,
            "relay {token} was answered neither delivered nor queued"
        );
        assert!(got.contains(&token), "relay {token} never reached bob");
    }
    for hub in [h1, h2, h3] {
        hub.stop().await;
    }
}

/// A hub holds a drain for a relay's origin only so long: a relay forged as from a hub that
/// does not exist (so no `Written` ever comes) reaches bob while he drains on hub 2 and keeps
/// his session from going live for `held_write`; then it goes live, and relays from hub 1 are
/// delivered to it (with the hold never released, they are queued for ever).
#[tokio::test]
async fn a_drain_held_for_an_origin_that_never_says_it_wrote_goes_live_after_held_write() {
    let nats = NatsServer::start();
    let h1 = TestHub::in_cluster(&nats.url()).await;
    let h2 = TestHub::clustered(hub::Config {
        cluster: Some(hub::ClusterConfig {
            // Long enough that the forged relay finds bob draining, far below the wait.
            late_writes: Duration::from_secs(3),
            held_write: Duration::from_secs(1),
            ..cluster_config(&nats.url())
        }),
        ..test_config()
    })
    .await;
    let (first, key, me) = accounts::new_account(h2.addr, "bob").await;
    let bob = me.user_id;
    drop(first);
    h2.wait_for_users(0).await;
    let mut session = h2.connect_at(shared::RECEIPTS_VERSION).await;
    accounts::login(&mut session, &key, "bob").await;
    let nobody = async_nats::connect(nats.url()).await.expect("connect");
    let target = h2.inspector.cluster_hub().expect("in a cluster");
    forge(&nobody, target, UserId(42), bob, b"held").await;
    let mut alice = h1.connect().await;
    lists(&mut alice, &[bob]).await;
    eventually_async("bob's session on hub 2 to go live", async || {
        let answer = relay(&mut alice, &[bob], &b"x"[..]).await;
        matches!(answer, HubMsg::Posted { delivered: 1, .. }).then_some(())
    })
    .await;
    drop(session);
    for hub in [h1, h2] {
        hub.stop().await;
    }
}
