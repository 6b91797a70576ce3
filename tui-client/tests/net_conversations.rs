//! Conversations against a real hub: the full-screen client's network task feeds an `App`
//! (as the event loop does) while alice and carol, real connections, write to bob. Their
//! messages land in two conversations with unread counts, a message kept in the mailbox while
//! bob was away is among them (unread, though "all" is on screen), what bob's other session sent to both lands in their group,
//! and Enter in a conversation reaches its member.

#[path = "support/net.rs"]
mod net_support;

use bytes::Bytes;
use net_support::until;
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, SecretKey, UserId};
use testkit::accounts::{login, new_account, register};
use testkit::{next_answer, TestHub};
use tokio::sync::mpsc;
use tui_client::app::conversation::ConvKey;
use tui_client::app::{Action, App, Effect};
use tui_client::identity::Identity;
use tui_client::net::{self, NetCommand};

async fn relay(conn: &mut Connection, to: &[UserId], text: &'static str) -> HubMsg {
    let msg = ClientMsg::Relay {
        req: RequestId(5),
        to: to.to_vec(),
        kind: BodyKind::Text,
        body: Bytes::from_static(text.as_bytes()),
    };
    conn.send(&msg).await.expect("send");
    next_answer(conn).await
}

/// (label, unread) of each conversation.
fn list(app: &App) -> Vec<(String, usize)> {
    app.inbox
        .conversations()
        .iter()
        .map(|c| (c.key.label(&app.inbox.names), c.unread))
        .collect()
}

#[tokio::test]
async fn messages_from_two_peers_land_in_two_conversations() {
    let hub = TestHub::start().await;
    let bob_key = SecretKey::generate();
    let bob = {
        let mut conn = hub.connect().await;
        register(&mut conn, &bob_key, "bob").await.user_id
    };
    hub.wait_for_users(0).await;
    let (mut alice, _, alice_me) = new_account(hub.addr, "alice").await;
    let (mut carol, _, carol_me) = new_account(hub.addr, "carol").await;
    // While bob is away: kept in his mailbox.
    assert!(matches!(
        relay(&mut alice, &[bob], "while you were away").await,
        HubMsg::Posted { ref queued, .. } if queued.len() == 1 && queued[0].to == bob
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
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(hub.addr.to_string(), (100, 24));
    // Bob looks at "all" (the start), so what comes is seen until the terminal loses focus.
    until(&mut app, &mut events, |app| app.account.is_some()).await;
    let key_alice = ConvKey::With(vec![alice_me.user_id]);
    let key_carol = ConvKey::With(vec![carol_me.user_id]);
    until(&mut app, &mut events, |app| {
        app.inbox.index(&key_alice).is_some()
    })
    .await;

    assert!(matches!(
        relay(&mut carol, &[bob], "hi bob, carol here").await,
        HubMsg::Posted { delivered: 1, .. }
    ));
    assert!(matches!(
        relay(&mut alice, &[bob], "and now live").await,
        HubMsg::Posted { delivered: 1, .. }
    ));
    // Bob's laptop writes to both: his own message, in their group, not unread.
    let mut laptop = hub.connect().await;
    login(&mut laptop, &bob_key, "bob").await;
    let both = [alice_me.user_id, carol_me.user_id];
    assert!(matches!(
        relay(&mut laptop, &both, "to you both").await,
        HubMsg::Posted { delivered: 2, .. }
    ));
    let key_both = ConvKey::with(&both, Some(bob));
    until(&mut app, &mut events, |app| {
        app.inbox.index(&key_both).is_some()
            && app.inbox.conversations()[1..]
                .iter()
                .map(|c| c.len())
                .sum::<usize>()
                == 4
    })
    .await;
    let mut got = list(&app);
    got.sort();
    assert_eq!(
        got,
        [
            ("alice".to_owned(), 1),
            ("alice, carol".to_owned(), 0),
            ("all".to_owned(), 0),
            ("carol".to_owned(), 0),
        ],
        "only the mailbox's message is unread while bob looks at \"all\""
    );
    // Unfocused, the next message from each counts.
    app.update(Action::Focus(false));
    relay(&mut carol, &[bob], "still there?").await;
    relay(&mut alice, &[bob], "ping").await;
    until(&mut app, &mut events, |app| app.unread() == 3).await;
    let ia = app.inbox.index(&key_alice).expect("alice's");
    let ic = app.inbox.index(&key_carol).expect("carol's");
    assert_eq!(app.inbox.conversations()[ia].unread, 2);
    assert_eq!(app.inbox.conversations()[ic].unread, 1);
    assert_eq!(
        app.inbox.conversations()[ia].len(),
        3,
        "mailbox, live, ping"
    );
    assert!(app.terminal_escapes().contains("\x1b]2;(3) hubbub\x07\x07"));

    // Enter in carol's conversation goes to carol, whatever is selected.
    app.update(Action::Focus(true));
    app.inbox.switch(ic);
    app.compose.text.insert_str("yes, here");
    let effects = app.update(Action::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
    let [Effect::Relay(r)] = effects.as_slice() else {
        panic!("one relay: {effects:?}");
    };
    assert_eq!(r.to, [carol_me.user_id]);
    commands
        .send(NetCommand::Relay(r.clone()))
        .await
        .expect("task runs");
    loop {
        let msg = carol.recv().await.expect("read");
        if let HubMsg::Message { from, body, .. } = msg {
            assert_eq!((from, &body[..]), (bob, &b"yes, here"[..]));
            break;
        }
    }
    task.abort();
}
