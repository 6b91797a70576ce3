//! Faults over real TCP: truncated frames, resets, silent peers, a full hub, shutdown. Each gets
//! its documented close reason, the bystanders keep being served, and the ledger holds.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/helpers.rs"]
mod helpers;
#[path = "support/ledger.rs"]
mod ledger;
#[path = "support/raw.rs"]
mod raw;
#[path = "support/scene.rs"]
mod scene;

use std::time::Duration;

use bytes::Bytes;
use helpers::TestHub;
use hub::{CloseReason, Config};
use raw::{Raw, Seen};
use scene::{close_reason, quick_config};
use shared::conn::{ConnError, Connection};
use shared::{ClientMsg, ErrorKind, HubMsg, RequestId};
use tokio::io::AsyncWriteExt;

/// The first 10 bytes of a frame announcing 100.
const TRUNCATED: [u8; 10] = [0, 0, 0, 100, 2, 1, 1, 1, 1, 1];

async fn truncated_then(reset: bool, reason: CloseReason) {
    let (hub, base, ledger, mut pair) = scene::start(quick_config()).await;
    let mut raw = Raw::connect(hub.addr).await;
    raw.write(&TRUNCATED).await.expect("write");
    let id = raw.user_id;
    if reset {
        raw.reset();
    } else {
        raw.wr.shutdown().await.expect("fin");
        assert!(matches!(raw.next().await, Seen::Closed));
    }
    assert_eq!(close_reason(&hub, id).await, reason);
    pair.exchange(&ledger).await;
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn truncated_frame_then_fin_is_a_peer_close() {
    truncated_then(false, CloseReason::PeerClosed).await;
}

#[tokio::test]
async fn truncated_frame_then_reset_is_an_io_close() {
    truncated_then(true, CloseReason::Io).await;
}

#[tokio::test]
async fn silent_peer_is_closed_as_idle() {
    let (hub, base, ledger, mut pair) = scene::start(Config {
        ping_interval: Duration::from_millis(100),
        ..quick_config()
    })
    .await;
    // A stopped process looks like this on the wire: the kernel ACKs, nobody answers.
    let mut silent = Raw::connect(hub.addr).await;
    let id = silent.user_id;
    let goodbye = tokio::spawn(async move { silent.expect_goodbye(ErrorKind::Idle).await });
    // The bystanders keep talking (which keeps them alive) until the silent one is gone.
    for _ in 0..500 {
        if goodbye.is_finished() {
            break;
        }
        pair.exchange(&ledger).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    goodbye.await.expect("idle goodbye");
    assert_eq!(close_reason(&hub, id).await, CloseReason::Idle);
    pair.exchange(&ledger).await;
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn connection_over_the_limit_is_told_server_full_and_the_rest_unaffected() {
    let (hub, base, ledger, mut pair) = scene::start(Config {
        max_connections: 3,
        ..quick_config()
    })
    .await;
    let mut third = hub.connect().await;
    match Connection::connect(hub.addr).await {
        Err(ConnError::Refused {
            kind: ErrorKind::ServerFull,
            ..
        }) => {}
        Err(e) => panic!("expected server full, got {e}"),
        Ok(_) => panic!("a fourth connection was served"),
    }
    assert!(hub
        .registry
        .recent_closes()
        .contains(&(None, CloseReason::ServerFull)));
    pair.exchange(&ledger).await;
    let pong = helpers::request(&mut third, ClientMsg::<Bytes>::Ping { req: RequestId(5) }).await;
    assert_eq!(pong, HubMsg::Pong { req: RequestId(5) });
    // A place freed is a place taken.
    drop(third);
    let mut again = None;
    for _ in 0..500 {
        if let Ok(conn) = Connection::connect(hub.addr).await {
            again = Some(conn);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "the freed place was never given out");
    drop(again);
    pair.exchange(&ledger).await;
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn shutdown_tells_every_client_and_is_recorded() {
    let hub = TestHub::with_config(quick_config()).await;
    let registry = hub.registry.clone();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Raw::connect(hub.addr).await);
    }
    hub.shutdown.cancel();
    for raw in &mut clients {
        raw.expect_goodbye(ErrorKind::ShuttingDown).await;
    }
    hub.stop().await;
    for raw in &clients {
        let closes = registry.recent_closes();
        assert!(
            closes.contains(&(Some(raw.user_id), CloseReason::Shutdown)),
            "{closes:?}"
        );
    }
}
