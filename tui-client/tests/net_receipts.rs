//! Receipts against a real hub: alice's full-screen client (its network task feeding an
//! `App`, as the event loop does) writes to bob while he is away; the line under her message
//! reads "queued for bob" until bob logs in and acknowledges his mailbox, then "delivered to
//! bob".

#[path = "support/net.rs"]
mod net_support;

use bytes::Bytes;
use net_support::until;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, SecretKey};
use testkit::accounts::{ack, login, register};
use testkit::{recv_skipping, TestHub};
use tokio::sync::mpsc;
use tui_client::app::conversation::ConvKey;
use tui_client::app::{Action, App, Effect};
use tui_client::identity::Identity;
use tui_client::net::{self, NetCommand};

fn draw(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("test terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

#[tokio::test]
async fn the_line_under_a_message_to_an_away_account_turns_delivered_when_it_is_read() {
    let hub = TestHub::start().await;
    let alice_key = SecretKey::generate();
    {
        let mut conn = hub.connect().await;
        register(&mut conn, &alice_key, "alice").await;
    }
    let bob_key = SecretKey::generate();
    let mut bob = hub.connect().await;
    let bob_id = register(&mut bob, &bob_key, "bob").await.user_id;
    hub.wait_for_users(1).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = net_support::config(
        hub.addr,
        dir.path(),
        Some(Identity {
            name: "alice".into(),
            key: alice_key,
        }),
    );
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(hub.addr.to_string(), (100, 24));
    until(&mut app, &mut events, |app| app.account.is_some()).await;
    let alice_id = app.me.expect("logged in");

    // bob writes first, so alice has his conversation; then he goes away.
    bob.send(&ClientMsg::Relay {
        req: RequestId(5),
        to: vec![alice_id],
        kind: BodyKind::Text,
        body: Bytes::from_static(b"back tomorrow"),
    })
    .await
    .expect("send");
    let with_bob = ConvKey::With(vec![bob_id]);
    until(&mut app, &mut events, |app| {
        app.inbox.index(&with_bob).is_some()
    })
    .await;
    drop(bob);
    hub.wait_for_users(1).await;

    app.inbox.switch(app.inbox.index(&with_bob).expect("bob's"));
    app.compose.text.insert_str("see you then");
    let effects = app.update(Action::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
    let [Effect::Relay(r)] = effects.as_slice() else {
        panic!("one relay: {effects:?}");
    };
    commands
        .send(NetCommand::Relay(r.clone()))
        .await
        .expect("task runs");
    until(&mut app, &mut events, |app| {
        draw(app).contains("◷ queued for bob")
    })
    .await;

    let mut bob = hub.connect().await;
    let me = login(&mut bob, &bob_key, "bob").await;
    assert_eq!(me.waiting, 1);
    let HubMsg::Stored { seq, body, .. } = recv_skipping(&mut bob).await else {
        panic!("expected the stored message");
    };
    assert_eq!(&body[..], b"see you then");
    ack(&mut bob, seq).await;
    until(&mut app, &mut events, |app| {
        draw(app).contains("✓ delivered to bob")
    })
    .await;
    assert!(!draw(&app).contains("queued for bob"));
    task.abort();
}
