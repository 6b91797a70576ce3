//! The full-screen client's network task speaks version 6 or later, where the hub coalesces presence
//! into `Presence` pushes: the UI still hears one `Arrived` or `Left` per change, so what it
//! shows is what it showed with one push per change.

#[path = "support/net.rs"]
mod net_support;

use std::collections::BTreeSet;

use net_support::next;
use shared::{UserId, PRESENCE_VERSION};
use testkit::TestHub;
use tokio::sync::mpsc;
use tui_client::net::{self, NetCommand, NetEvent};

#[tokio::test]
async fn a_storm_of_arrivals_and_leaves_reaches_the_ui_as_one_event_each() {
    let hub = TestHub::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = net_support::config(hub.addr, dir.path(), None);
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    // A small channel: the task waits on the UI, and presence piles up at the hub meanwhile.
    let (ev_tx, mut events) = mpsc::channel(4);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    assert!(matches!(
        next(&mut events).await,
        NetEvent::Connected { .. }
    ));
    let mut shown: BTreeSet<UserId> = match next(&mut events).await {
        NetEvent::Present(peers) => peers.into_iter().map(|p| p.user_id).collect(),
        other => panic!("expected Present, got {other:?}"),
    };
    assert!(shown.is_empty());

    let mut crowd = Vec::new();
    for _ in 0..60 {
        crowd.push(hub.connect().await);
    }
    let staying = crowd.split_off(20);
    drop(crowd);
    let expected: BTreeSet<UserId> = staying.iter().map(|c| c.user_id()).collect();
    hub.wait_for_users(1 + staying.len()).await;
    // The task speaks `PROTOCOL_VERSION`, `PRESENCE_VERSION` or later: the hub sends it no
    // `Arrived` or `Left`, only `Presence`, so every event here was made from one.
    const _: () = assert!(shared::PROTOCOL_VERSION >= PRESENCE_VERSION);
    while shown != expected {
        match next(&mut events).await {
            NetEvent::Arrived(peer) => assert!(shown.insert(peer.user_id), "arrived once"),
            NetEvent::Left(id) => assert!(shown.remove(&id), "left after it arrived"),
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(staying);
    task.abort();
}
