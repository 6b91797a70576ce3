//! The full-screen client's network task given several hub addresses, against real hubs over
//! real TCP: it passes over a dead address to a live one, moves to the next address when its
//! hub is lost (the app sees the new id, peers and the switch), and an account resumes its id
//! on the hub it fails over to (one hub's data served again on a second port).

#[path = "support/net.rs"]
mod net_support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hub::store::sqlite::SqliteStore;
use hub::store::Bounds;
use hub::Hub;
use shared::SecretKey;
use testkit::accounts::register;
use testkit::{test_config, TestHub, WAIT};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tui_client::app::{Action, App, ConnState};
use tui_client::identity::Identity;
use tui_client::net::backoff::BACKOFF_MIN;
use tui_client::net::hubs::WITHIN_ROUND;
use tui_client::net::{self, Hubs, NetCommand, NetConfig, NetEvent};

/// The network task's config for the plain hubs at `addrs`, in that order.
fn config(addrs: &[SocketAddr], dir: &Path, identity: Option<Identity>) -> NetConfig {
    NetConfig {
        hubs: Hubs::plain(addrs).expect("at least one address"),
        ..net_support::config(addrs[0], dir, identity)
    }
}

/// A loopback port nothing listens on (it was free a moment ago).
fn dead_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

/// Start the network task; its command sender (kept, or the task ends) and its events.
fn start(config: NetConfig) -> (mpsc::Sender<NetCommand>, mpsc::Receiver<NetEvent>) {
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, events) = mpsc::channel(256);
    tokio::spawn(net::run(config, cmd_rx, ev_tx));
    (commands, events)
}

/// Feed events to `app` until `done(app)`; the events fed, in order.
async fn feed_until(
    app: &mut App,
    events: &mut mpsc::Receiver<NetEvent>,
    done: impl Fn(&App) -> bool,
) -> Vec<NetEvent> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    while !done(app) {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the condition in time")
            .expect("the network task runs");
        seen.push(event.clone());
        app.update(Action::Net(event));
    }
    seen
}

/// The inbox's lines on screen.
fn on_screen(app: &App) -> Vec<String> {
    let a = app.areas().inbox_text;
    let visible = app
        .inbox
        .visible(usize::from(a.width), usize::from(a.height));
    visible.iter().map(|s| s.entry.text()).collect()
}

/// Connected, to `addr`.
fn on(app: &App, addr: SocketAddr) -> bool {
    app.conn == ConnState::Connected && app.hub == addr.to_string()
}

#[tokio::test]
async fn a_dead_first_address_is_passed_over_at_once_for_the_live_one() {
    let live = TestHub::start().await;
    let dead = dead_addr();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_commands, mut events) = start(config(&[dead, live.addr], dir.path(), None));
    let mut app = App::new(dead.to_string(), (120, 30));
    let seen = feed_until(&mut app, &mut events, |a| on(a, live.addr)).await;
    match seen.as_slice() {
        [NetEvent::Connecting {
            attempt: 1,
            hub: first,
        }, NetEvent::Disconnected { reason, retry_in }, NetEvent::Connecting {
            attempt: 2,
            hub: second,
        }, NetEvent::Connected { .. }] => {
            assert_eq!(first, &dead.to_string());
            assert!(reason.contains("refused"), "{reason}");
            assert_eq!(
                *retry_in, WITHIN_ROUND,
                "the next address without a backoff"
            );
            assert_eq!(second, &live.addr.to_string());
        }
        other => panic!("unexpected events {other:?}"),
    }
    assert_eq!(app.switched_from, None, "no connection had worked before");
    live.wait_for_users(1).await;
}

#[tokio::test]
async fn losing_hub_a_moves_the_session_to_hub_b_with_its_id_and_peers() {
    let a = TestHub::start().await;
    let b = TestHub::start().await;
    // Someone on b only, first there, so that our id on b is not the one we had on a.
    let watcher = b.connect().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_commands, mut events) = start(config(&[a.addr, b.addr], dir.path(), None));
    let mut app = App::new(a.addr.to_string(), (160, 30));
    feed_until(&mut app, &mut events, |app| on(app, a.addr)).await;
    let id_on_a = app.me.expect("an id on a");
    assert!(app.peers.all().is_empty(), "nobody else on a");

    let a_addr = a.addr;
    a.stop().await;
    let seen = feed_until(&mut app, &mut events, |app| {
        on(app, b.addr) && app.peers.all().contains(&watcher.user_id())
    })
    .await;
    let waits: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            NetEvent::Disconnected { retry_in, .. } => Some(*retry_in),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [BACKOFF_MIN], "one pause, the shortest, then b");
    let id_on_b = app.me.expect("an id on b");
    assert_ne!(id_on_b, id_on_a);
    assert_ne!(id_on_b, watcher.user_id());
    b.wait_for_users(2).await;
    assert_eq!(app.switched_from, Some(a_addr.to_string()));
    let lines = on_screen(&app);
    let switch = format!("switched hub: from {a_addr} to {}", b.addr);
    assert!(lines.iter().any(|l| l.contains(&switch)), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("lost the hub")),
        "{lines:#?}"
    );
}

/// A hub keeping its accounts in the SQLite file `db`, serving `listener` until `shutdown`.
fn serve(db: &Path, listener: tokio::net::TcpListener, shutdown: CancellationToken) {
    let store = SqliteStore::open(db, Bounds::default()).expect("open the store");
    let hub = Hub::with_store(test_config(), Arc::new(store));
    tokio::spawn(hub.run(listener, shutdown));
}

#[tokio::test]
async fn an_account_resumes_its_id_on_the_address_it_fails_over_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hub.sqlite3");
    // The second address is bound from the start; its hub serves only once the first is gone
    // (one SQLite file, one hub at a time): a restart on another port with the same data.
    let first = hub::listen(([127, 0, 0, 1], 0).into()).expect("bind");
    let second = hub::listen(([127, 0, 0, 1], 0).into()).expect("bind");
    let addrs = [
        first.local_addr().expect("addr"),
        second.local_addr().expect("addr"),
    ];
    let first_down = CancellationToken::new();
    serve(&db, first, first_down.clone());
    let key = SecretKey::generate();
    let alice = {
        let mut conn = shared::conn::Connection::connect(addrs[0])
            .await
            .expect("connect");
        register(&mut conn, &key, "alice").await.user_id
    };
    let me = Identity {
        name: "alice".into(),
        key,
    };
    let (_commands, mut events) = start(config(&addrs, dir.path(), Some(me)));
    let mut app = App::new(addrs[0].to_string(), (160, 30));
    feed_until(&mut app, &mut events, |app| {
        on(app, addrs[0]) && app.account.is_some()
    })
    .await;
    assert_eq!(app.me, Some(alice));

    first_down.cancel();
    feed_until(&mut app, &mut events, |app| {
        app.conn != ConnState::Connected
    })
    .await;
    serve(&db, second, CancellationToken::new());
    feed_until(&mut app, &mut events, |app| {
        on(app, addrs[1]) && app.account.is_some()
    })
    .await;
    assert_eq!(
        app.me,
        Some(alice),
        "the same account's id on the other address"
    );
    assert_eq!(app.account.as_deref(), Some("alice"));
    assert_eq!(app.switched_from, Some(addrs[0].to_string()));
}

#[tokio::test]
async fn an_unpinned_tls_address_is_refused_and_the_next_one_used() {
    let config_x = testkit::tls::tls_config();
    let config_y = testkit::tls::tls_config();
    let fp_y = testkit::tls::fingerprint(&config_y);
    let x = TestHub::with_config(config_x).await;
    let y = TestHub::with_config(config_y).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let known_hubs = dir.path().join("known_hubs");
    std::fs::write(&known_hubs, format!("{} {fp_y}\n", y.addr)).expect("pin y");
    let list = format!("tls://{},tls://{}", x.addr, y.addr);
    let mut hubs = Hubs::new(&list, false, None, Some(&known_hubs)).expect("a list");
    // As the full-screen client sets it once it has asked about first uses.
    hubs.on_first_use(net::FirstUse::Refuse);
    let config = NetConfig {
        hubs,
        ..net_support::config(x.addr, dir.path(), None)
    };
    let (_commands, mut events) = start(config);
    let mut app = App::new(list.clone(), (120, 30));
    let tls_y = format!("tls://{}", y.addr);
    let seen = feed_until(&mut app, &mut events, |a| {
        a.conn == ConnState::Connected && a.hub == tls_y
    })
    .await;
    let refused = seen.iter().find_map(|e| match e {
        NetEvent::Disconnected { reason, retry_in } => Some((reason.clone(), *retry_in)),
        _ => None,
    });
    let (reason, retry_in) = refused.expect("x refused first");
    assert!(
        reason.contains(&format!("the certificate of {} is not pinned", x.addr)),
        "{reason}"
    );
    assert_eq!(retry_in, WITHIN_ROUND);
    let pins = std::fs::read_to_string(&known_hubs).expect("pins");
    assert_eq!(pins, format!("{} {fp_y}\n", y.addr), "x was not pinned");
}
