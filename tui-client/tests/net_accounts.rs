//! The full-screen client's network task with an identity, against a real hub: it logs in,
//! shows presence with names, hands the mailbox to the UI and acknowledges it, and shows what
//! another session of the account sent.

#[path = "support/net.rs"]
mod net_support;

use std::time::Duration;

use bytes::Bytes;
use net_support::next;
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, SecretKey, UserId};
use testkit::accounts::{login, new_account, register};
use testkit::{next_answer, TestHub, WAIT};
use tokio::sync::mpsc;
use tui_client::identity::Identity;
use tui_client::incoming::Body;
use tui_client::net::{self, NetCommand, NetEvent};

/// How often an async condition is checked again, as testkit's `eventually` does for sync
/// ones (it takes no async closure).
const POLL: Duration = Duration::from_millis(10);

/// Relay `text` and return the hub's answer.
async fn relay(conn: &mut Connection, to: UserId, text: &'static str) -> HubMsg {
    let msg = ClientMsg::Relay {
        req: RequestId(5),
        to: vec![to],
        kind: BodyKind::Text,
        body: Bytes::from_static(text.as_bytes()),
    };
    conn.send(&msg).await.expect("send");
    next_answer(conn).await
}

/// Log in as `name` on a fresh connection until the mailbox is empty (the client's ack has
/// been made durable); that connection, still logged in.
async fn once_acknowledged(hub: &TestHub, key: &SecretKey, name: &str) -> Connection {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut conn = hub.connect().await;
        if login(&mut conn, key, name).await.waiting == 0 {
            return conn;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mailbox was never acknowledged"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test]
async fn the_ui_logs_in_gets_the_mailbox_acknowledged_and_sees_its_other_sessions() {
    let hub = TestHub::start().await;
    let bob_key = SecretKey::generate();
    let bob_id = {
        let mut conn = hub.connect().await;
        register(&mut conn, &bob_key, "bob").await.user_id
    };
    hub.wait_for_users(0).await;
    let (mut alice, _, me) = new_account(hub.addr, "alice").await;
    assert!(matches!(
        relay(&mut alice, bob_id, "while you were away").await,
        HubMsg::Posted { ref queued, .. } if queued.len() == 1 && queued[0].to == bob_id
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let config = net_support::config(
        hub.addr,
        dir.path(),
        Some(Identity {
            name: "bob".into(),
            key: bob_key.clone(),
        }),
    );
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));

    assert!(matches!(
        next(&mut events).await,
        NetEvent::Connected { .. }
    ));
    match next(&mut events).await {
        NetEvent::LoggedIn {
            user_id,
            name,
            waiting,
        } => assert_eq!((user_id, name.as_str(), waiting), (bob_id, "bob", 1)),
        other => panic!("expected LoggedIn, got {other:?}"),
    }
    let mut present = None;
    let mut stored = None;
    while present.is_none() || stored.is_none() {
        match next(&mut events).await {
            NetEvent::Present(peers) => present = Some(peers),
            NetEvent::Message { from, body, .. } => stored = Some((from, body)),
            // The mailbox comes before the watch's snapshot: the sender is looked up.
            NetEvent::Names(names) => assert_eq!(names, [(me.user_id, "alice".into())]),
            other => panic!("unexpected {other:?}"),
        }
    }
    let alice_seen = present
        .expect("present")
        .into_iter()
        .find(|p| p.user_id == me.user_id);
    assert_eq!(alice_seen.and_then(|p| p.name).as_deref(), Some("alice"));
    assert_eq!(
        stored,
        Some((me.user_id, Body::Text("while you were away".into())))
    );

    // Another session of bob's: the mailbox is empty now, and what it sends shows in the UI.
    let mut laptop = once_acknowledged(&hub, &bob_key, "bob").await;
    assert!(matches!(
        relay(&mut laptop, me.user_id, "from the laptop").await,
        HubMsg::Posted { delivered: 1, .. }
    ));
    loop {
        match next(&mut events).await {
            NetEvent::Outgoing { to, body, .. } => {
                assert_eq!(to, [me.user_id]);
                assert_eq!(body, Body::Text("from the laptop".into()));
                break;
            }
            // The laptop's connections come and go before they log in; the lookup's answer.
            NetEvent::Arrived(_) | NetEvent::Left(_) | NetEvent::Names(_) => continue,
            other => panic!("expected Outgoing, got {other:?}"),
        }
    }
    task.abort();
}

#[tokio::test]
async fn a_refused_identity_leaves_the_ui_connected_anonymously() {
    let hub = TestHub::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = net_support::config(
        hub.addr,
        dir.path(),
        Some(Identity {
            name: "nobody".into(),
            key: SecretKey::generate(),
        }),
    );
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let NetEvent::Connected { user_id, .. } = next(&mut events).await else {
        panic!("expected Connected");
    };
    match next(&mut events).await {
        NetEvent::LoginRefused(why) => assert!(why.contains("no account nobody"), "{why}"),
        other => panic!("expected LoginRefused, got {other:?}"),
    }
    // Still served: presence comes, and a relay to the anonymous id arrives.
    assert!(matches!(next(&mut events).await, NetEvent::Present(_)));
    let mut other = hub.connect().await;
    assert!(matches!(
        relay(&mut other, user_id, "hi").await,
        HubMsg::Posted { delivered: 1, .. }
    ));
    loop {
        match next(&mut events).await {
            NetEvent::Message { body, .. } => {
                assert_eq!(body, Body::Text("hi".into()));
                break;
            }
            NetEvent::Arrived(_) | NetEvent::Left(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    task.abort();
}

#[tokio::test]
async fn who_and_whois_from_the_ui_are_answered_by_request_id() {
    let hub = TestHub::start().await;
    let carol_id = {
        let mut conn = hub.connect().await;
        register(&mut conn, &SecretKey::generate(), "carol")
            .await
            .user_id
    };
    hub.wait_for_users(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = net_support::config(hub.addr, dir.path(), None);
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    assert!(matches!(
        next(&mut events).await,
        NetEvent::Connected { .. }
    ));
    assert!(matches!(next(&mut events).await, NetEvent::Present(_)));

    let users = NetCommand::Users {
        req: RequestId(7),
        pattern: "c*".into(),
    };
    commands.send(users).await.expect("task runs");
    match next(&mut events).await {
        NetEvent::Users {
            req,
            users,
            limited,
        } => {
            assert_eq!((req, limited), (RequestId(7), false));
            let found: Vec<_> = users.iter().map(|u| (u.user_id, u.online)).collect();
            assert_eq!(found, [(carol_id, false)]);
        }
        other => panic!("expected Users, got {other:?}"),
    }
    // A lookup that finds nothing is answered too (the network task's own lookups'
    // empty answers are not passed on; these carry the UI's id).
    for (req, name, found) in [(8, "Carol", Some(carol_id)), (9, "nobody", None)] {
        let lookup = NetCommand::Lookup {
            req: RequestId(req),
            who: shared::account::Who::Name(name.into()),
        };
        commands.send(lookup).await.expect("task runs");
        match next(&mut events).await {
            NetEvent::Account {
                req: got, account, ..
            } => {
                assert_eq!(got, RequestId(req));
                assert_eq!(account.map(|a| a.user_id), found, "{name}");
            }
            other => panic!("expected Account, got {other:?}"),
        }
    }
    task.abort();
}
