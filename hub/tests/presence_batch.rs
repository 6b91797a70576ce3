//! Coalesced presence (version 6, docs/PROTOCOL.md § 7 `Presence`): while a watcher's writer is
//! held up, every change joins one pending set, and it goes out as one frame; a join and a
//! leave of the same user cancel. The writer is held up for real: the watcher's socket has a
//! tiny receive buffer and is sent more than the kernel can hold while it reads nothing. Each
//! test runs on one hub and on a cluster of three (`NAME::one_hub`, `NAME::three_hubs`): there
//! the watcher's hub hears the others' changes over NATS, the relays that stall it cross too,
//! and the watcher reads only once every hub agrees on who is present (`testkit::hubs`).

use std::collections::BTreeSet;

use bytes::Bytes;
use shared::account::PeerInfo;
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId, MAX_BODY_LEN, PRESENCE_VERSION};
use testkit::hubs::Hubs;
use testkit::raw::{Raw, Seen};
use testkit::*;

/// Relays of [`MAX_BODY_LEN`] that stall the watcher's writer: more than the kernel's send and
/// receive buffers hold (4 MiB at most here), less than a queue's soft limit (16 MiB).
const STALL_RELAYS: usize = 10;

/// A watcher at version 6 with a tiny receive buffer, past its `Present` snapshot (returned).
async fn watcher(hub: &TestHub) -> (Raw, Vec<PeerInfo>) {
    let mut raw = Raw::connect_small(hub.addr).await;
    raw.send(&ClientMsg::Hello {
        req: RequestId(1),
        version: PRESENCE_VERSION,
    })
    .await;
    match raw.next().await {
        Seen::Msg(HubMsg::Hello { version, .. }) => assert_eq!(version, PRESENCE_VERSION),
        other => panic!("{other:?}"),
    }
    raw.send(&ClientMsg::Watch { req: RequestId(2) }).await;
    match raw.next().await {
        Seen::Msg(HubMsg::Present { peers, .. }) => (raw, peers),
        other => panic!("{other:?}"),
    }
}

/// A [`watcher`] on the next hub of `hubs`, known to every hub, and that hub.
async fn watcher_on(hubs: &Hubs) -> (Raw, Vec<PeerInfo>, &TestHub) {
    let hub = hubs.next_hub();
    let (raw, peers) = watcher(hub).await;
    hubs.settled(raw.user_id).await;
    (raw, peers, hub)
}

/// Relay enough to `to` that its writer stalls while it reads nothing; wait until the hub holds
/// the rest in its queue.
async fn stall(hub: &TestHub, sender: &mut Connection, to: UserId) {
    for _ in 0..STALL_RELAYS {
        match relay(sender, &[to], Bytes::from(vec![7u8; MAX_BODY_LEN])).await {
            HubMsg::Posted { delivered: 1, .. } => {}
            other => panic!("{other:?}"),
        }
    }
    eventually(
        "the watcher's writer to hold relays it cannot write",
        || hub.inspector.queued_bytes() > MAX_BODY_LEN,
    )
    .await;
}

/// Read the watcher's stream until `n` presence frames have come (skipping the relays):
/// the frames, each as (arrived, left).
async fn presence(raw: &mut Raw, n: usize) -> Vec<(Vec<PeerInfo>, Vec<UserId>)> {
    let mut frames = Vec::new();
    while frames.len() < n {
        match raw.next().await {
            Seen::Msg(HubMsg::Message { .. } | HubMsg::KeepAlive) => {}
            Seen::Msg(HubMsg::Presence { arrived, left }) => frames.push((arrived, left)),
            other => panic!("expected presence, got {other:?}"),
        }
    }
    frames
}

fn anon(user_id: UserId) -> PeerInfo {
    PeerInfo {
        user_id,
        name: None,
    }
}

on_one_hub_and_a_cluster! {

async fn a_storm_of_joins_reaches_a_busy_watcher_in_one_frame_and_cancels_what_came_and_went(
    hubs: Hubs
) {
    let old = hubs.connect().await;
    let mut sender = hubs.connect().await;
    let (mut raw, snapshot, hub) = watcher_on(&hubs).await;
    let mut known: BTreeSet<UserId> = snapshot.iter().map(|p| p.user_id).collect();
    assert_eq!(known, BTreeSet::from([old.user_id(), sender.user_id()]));

    stall(hub, &mut sender, raw.user_id).await;
    let mut crowd = Vec::new();
    for _ in 0..200 {
        crowd.push(hubs.connect().await);
    }
    let staying = crowd.split_off(50);
    // Ascending, as the frame lists them (a cluster's hubs give ids from blocks of their own).
    let mut stayed: Vec<UserId> = staying.iter().map(Connection::user_id).collect();
    stayed.sort();
    let left: Vec<UserId> = crowd.iter().map(Connection::user_id).collect();
    drop(crowd);
    let gone = old.user_id();
    drop(old);
    // Everything happened before the watcher reads a byte.
    for id in left.into_iter().chain([gone]) {
        hubs.gone(id).await;
    }

    let frames = presence(&mut raw, 1).await;
    let (arrived, left) = &frames[0];
    assert_eq!(
        arrived,
        &stayed.iter().copied().map(anon).collect::<Vec<_>>(),
        "one frame: the 150 who stayed, ascending; the 50 who came and went are in neither list"
    );
    assert_eq!(left, &vec![gone], "who was in the snapshot and left");
    for peer in arrived {
        known.insert(peer.user_id);
    }
    known.remove(&gone);

    // The set was taken: the next change is a frame of its own.
    let late = hubs.connect().await;
    let frames = presence(&mut raw, 1).await;
    assert_eq!(frames[0], (vec![anon(late.user_id())], vec![]));
    known.insert(late.user_id());
    let mut everyone = list_of(hub).await;
    everyone.remove(&raw.user_id);
    assert_eq!(known, everyone, "the watcher holds the complete list");
    drop(staying);
    hubs.stop().await;
}

async fn an_account_arrives_with_its_name_and_its_anonymous_id_leaves(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let (mut raw, _, hub) = watcher_on(&hubs).await;
    stall(hub, &mut sender, raw.user_id).await;
    let (alice, _key, me) = hubs.new_account("alice").await;
    hubs.gone(alice.welcome.user_id).await;
    // The anonymous id came and went before the watcher heard of it: only the account.
    let frames = presence(&mut raw, 1).await;
    assert_eq!(
        frames[0],
        (
            vec![PeerInfo {
                user_id: me.user_id,
                name: Some("alice".into())
            }],
            vec![]
        )
    );
    drop(alice);
    let frames = presence(&mut raw, 1).await;
    assert_eq!(frames[0], (vec![], vec![me.user_id]));
    hubs.stop().await;
}

/// A second `Watch` while changes are pending: its snapshot has them, and what comes after it
/// follows it, so the watcher's list is right.
async fn a_second_watch_is_followed_by_what_came_after_its_snapshot(hubs: Hubs) {
    let mut sender = hubs.connect().await;
    let (mut raw, _, hub) = watcher_on(&hubs).await;
    stall(hub, &mut sender, raw.user_id).await;
    let before = hubs.connect().await;
    let queued = hub.inspector.queued_bytes();
    raw.send(&ClientMsg::Watch { req: RequestId(3) }).await;
    // Nothing the stalled writer holds goes out while the watcher reads nothing: the queue
    // grows only by the new snapshot.
    eventually("the second snapshot to be queued", || {
        hub.inspector.queued_bytes() > queued
    })
    .await;
    let after = hubs.connect().await;
    let mut seen = Vec::new();
    loop {
        match raw.next().await {
            Seen::Msg(HubMsg::Message { .. }) => {}
            Seen::Msg(HubMsg::Present { peers, .. }) => {
                let ids: Vec<UserId> = peers.iter().map(|p| p.user_id).collect();
                let mut want = vec![sender.user_id(), before.user_id()];
                want.sort();
                assert_eq!(ids, want);
                seen.push("present".into());
            }
            Seen::Msg(HubMsg::Presence { arrived, left }) => {
                assert_eq!((arrived, left), (vec![anon(after.user_id())], vec![]));
                seen.push("presence".into());
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("present"),
        "{seen:?}"
    );
    hubs.stop().await;
}

}

/// Everyone present, as a fresh client of `hub` lists them (but itself).
async fn list_of(hub: &TestHub) -> BTreeSet<UserId> {
    let mut asker = hub.connect().await;
    list(&mut asker).await.into_iter().collect()
}
