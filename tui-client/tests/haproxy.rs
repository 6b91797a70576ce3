//! HAProxy in TCP mode in front of real hubs, with docs/examples/haproxy.cfg itself (its
//! addresses replaced by test ports): the full-screen client's network task, given HAProxy's
//! one address, connects through it to a hub; when that hub dies (every socket closed at
//! once, no goodbye, as `kill -9` leaves it) the client reconnects through HAProxy to the
//! other hub. The config's third backend is a dead port all along, as a hub that never came up.
//! HAProxy's own view (its stats socket, added for the test) shows what its health check makes
//! of a live, a full, a dead and a hung hub, and a hung hub's client is moved to the other.
//!
//! Needs the `haproxy` binary (Debian's package): scripts/deps.sh installs it. Without it
//! the test fails and says so; it never skips.

#[path = "support/haproxy.rs"]
mod haproxy_support;
#[path = "support/net.rs"]
mod net_support;

use haproxy_support::{
    connected_client, connected_with, free_addr, holder, nowhere, Backend, Haproxy,
};
use testkit::{eventually, test_config};
use tui_client::app::ConnState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_the_client_reconnects_to_the_other_hub_when_its_hub_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends = [Backend::start(), Backend::start()];
    let front = free_addr();
    let _haproxy = Haproxy::start(
        dir.path(),
        front,
        [backends[0].target(), backends[1].target(), nowhere()],
    )
    .await;

    let (mut app, mut events, _commands) = connected_client(front, dir.path()).await;
    let first = holder(&[&backends[0], &backends[1]]).await;

    backends[first].kill();
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    let other = 1 - first;
    eventually("the client on the other hub", || {
        backends[other].inspector.connections() == 1
    })
    .await;
    assert_eq!(app.hub, front.to_string(), "one address all along");
    assert_eq!(app.switched_from, None, "the client saw one address only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_keeps_a_live_or_full_hub_and_drops_a_dead_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Backend::start();
    let full = Backend::with_config(hub::Config {
        max_connections: 1,
        ..test_config()
    });
    // Someone holds the full hub's one connection: a client would get ServerFull, a check
    // on the health port gets 200.
    let _holding = shared::conn::Connection::connect(full.addr)
        .await
        .expect("the one connection");
    eventually("the full hub full", || full.inspector.connections() == 1).await;
    let haproxy = Haproxy::start(
        dir.path(),
        free_addr(),
        [live.target(), full.target(), nowhere()],
    )
    .await;
    haproxy.wait_check("hub1", "L7OK").await;
    haproxy.wait_check("hub2", "L7OK").await;
    haproxy.wait_check("hub3", "L4CON").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_hub_is_marked_down_and_its_client_moves_to_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends = [Backend::start(), Backend::start()];
    let front = free_addr();
    let haproxy = Haproxy::start(
        dir.path(),
        front,
        [backends[0].target(), backends[1].target(), nowhere()],
    )
    .await;
    let (mut app, mut events, _commands) = connected_client(front, dir.path()).await;
    let first = holder(&[&backends[0], &backends[1]]).await;
    let other = 1 - first;

    // The hub stops answering with the client's connection open: nothing closes it but
    // HAProxy, once its checks mark the hub down (on-marked-down shutdown-sessions).
    backends[first].hang();
    let server = format!("hub{}", first + 1);
    haproxy.wait_check(&server, "L7TOUT").await;
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    eventually("the client on the other hub", || {
        backends[other].inspector.connections() == 1
    })
    .await;
}

/// A health check is not a client: with HAProxy checking the hub, a watcher there hears of
/// nobody but HAProxy's own first connection through the frontend, however many checks ran
/// (with the old check on the clients' port, each was an arrival and a leave).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_are_not_clients_and_no_watcher_hears_of_them() {
    use shared::{ClientMsg, HubMsg, RequestId};
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Backend::start();
    let mut watcher = shared::conn::Connection::connect_speaking(hub.addr, shared::BASE_VERSION)
        .await
        .expect("connect");
    let watch = ClientMsg::<bytes::Bytes>::Watch { req: RequestId(1) };
    watcher.send(&watch).await.expect("watch");
    assert!(matches!(
        testkit::recv(&mut watcher).await,
        HubMsg::Peers { .. }
    ));
    let _haproxy = Haproxy::start(
        dir.path(),
        free_addr(),
        [hub.target(), nowhere(), nowhere()],
    )
    .await;
    eventually("three checks answered", || hub.checks() >= 3).await;
    let sentinel = shared::conn::Connection::connect(hub.addr)
        .await
        .expect("connect");
    let mut heard = Vec::new();
    loop {
        match testkit::recv(&mut watcher).await {
            HubMsg::Joined { user_id } if user_id == sentinel.user_id() => break,
            HubMsg::Joined { user_id } => heard.push(user_id),
            _ => {}
        }
    }
    assert!(
        heard.len() <= 1,
        "only HAProxy's own connection came before the sentinel: {heard:?}"
    );
}

/// The config's idle timeouts against the hub's keepalive, scaled down (3 s timeouts, a 1 s
/// ping interval, as 90 s to 30 s): a client that only answers keepalives (no `Watch`, so no
/// presence pushes) keeps its session through HAProxy well past the timeouts. Without
/// keepalives (the mutation: a ping interval of an hour) HAProxy cuts it at 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalives_keep_an_idle_client_through_haproxy_past_its_timeouts() {
    use shared::{ClientMsg, HubMsg};
    const TIMEOUT_S: u64 = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Backend::with_config(hub::Config {
        ping_interval: std::time::Duration::from_secs(1),
        ..test_config()
    });
    let front = free_addr();
    let haproxy = Haproxy::start_edited(
        dir.path(),
        front,
        [hub.target(), nowhere(), nowhere()],
        &[
            ("timeout client 90s", "timeout client 3s"),
            ("timeout server 90s", "timeout server 3s"),
        ],
    )
    .await;
    // Until its checks have run HAProxy takes the two dead backends for up, and a connection
    // handed to one of them is closed: retried, as the client's backoff would.
    let mut idle = testkit::eventually_async("a connection through haproxy", async || {
        shared::conn::Connection::connect(front).await.ok()
    })
    .await;
    // Answers keepalives, as every client does; ends when the connection does.
    let client = tokio::spawn(async move {
        while let Ok(msg) = idle.recv().await {
            if matches!(msg, HubMsg::KeepAlive) {
                let ack = ClientMsg::<bytes::Bytes>::KeepAliveAck;
                if idle.send(&ack).await.is_err() {
                    return;
                }
            }
        }
    });
    eventually("a session older than twice the timeouts", || {
        haproxy
            .session_ages()
            .iter()
            .any(|age| *age > 2 * TIMEOUT_S)
    })
    .await;
    assert!(!client.is_finished(), "the idle client is still connected");
}

/// TLS hubs behind HAProxy: TCP mode passes TLS through, the client pins the one address,
/// and hubs that share one certificate pass for the pinned hub when the client moves to the
/// other. The health check is plain HTTP on its own port, so the config is the same as for
/// plain hubs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_passes_through_and_hubs_sharing_a_certificate_pass_for_the_pinned_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = testkit::tls::self_signed();
    let tls = || hub::Config {
        tls: Some(testkit::tls::serving(&cert)),
        ..test_config()
    };
    let mut backends = [Backend::with_config(tls()), Backend::with_config(tls())];
    let front = free_addr();
    let haproxy = Haproxy::start(
        dir.path(),
        front,
        [backends[0].target(), backends[1].target(), nowhere()],
    )
    .await;
    haproxy.wait_check("hub1", "L7OK").await;
    let known_hubs = dir.path().join("known_hubs");
    let hub =
        tui_client::net::HubAddr::new(&format!("tls://{front}"), false, None, Some(&known_hubs))
            .expect("a TLS address");
    let config = tui_client::net::NetConfig {
        hubs: hub.into(),
        ..net_support::config(front, dir.path(), None)
    };
    let (mut app, mut events, _commands) = connected_with(config).await;
    let first = holder(&[&backends[0], &backends[1]]).await;
    let pinned = std::fs::read_to_string(&known_hubs).expect("pinned on first use");
    assert_eq!(pinned.lines().count(), 1, "{pinned}");
    assert!(pinned.starts_with(&format!("{front} ")), "{pinned}");

    backends[first].kill();
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    eventually("the client on the other hub", || {
        backends[1 - first].inspector.connections() == 1
    })
    .await;
    assert_eq!(std::fs::read_to_string(&known_hubs).expect("pins"), pinned);
}

/// With `send-proxy-v2` on HAProxy's servers and `hub --proxy-protocol` (docs/CLUSTER-haproxy.md
/// § The client's address), a client through HAProxy is welcomed: the hub reads HAProxy's
/// header, and its per-address limits count the client's address in it. Without the edit the
/// hub gets no header and closes the connection before its welcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_send_proxy_v2_a_proxy_protocol_hub_welcomes_clients_through_haproxy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Backend::with_config(hub::Config {
        proxy_protocol: true,
        ..test_config()
    });
    let front = free_addr();
    let haproxy = Haproxy::start_edited(
        dir.path(),
        front,
        [hub.target(), nowhere(), nowhere()],
        &[("default-server inter", "default-server send-proxy-v2 inter")],
    )
    .await;
    haproxy.wait_check("hub1", "L7OK").await;
    // HAProxy may still close the first connections while it takes the hub for up.
    let mut conn = testkit::eventually_async("a welcome through HAProxy", async || {
        shared::conn::Connection::connect(front).await.ok()
    })
    .await;
    let id = conn.user_id();
    assert_eq!(testkit::identity(&mut conn).await, id);
    eventually("the client on the hub", || hub.inspector.connections() == 1).await;
}
