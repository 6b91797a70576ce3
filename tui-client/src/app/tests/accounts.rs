//! `App::update` on version 3's events: logging in, names from presence and lookups, queued
//! receivers, the mailbox, and what another session sent.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::account::PeerInfo;

use super::*;

pub(super) const ALICE: UserId = UserId(1 << 32);
pub(super) const BOB: UserId = UserId((1 << 32) + 1);

pub(super) fn draw(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("test terminal");
    terminal
        .draw(|f| f.render_widget(&*app, f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

/// Logged in as alice, with bob (an account) and #2 (anonymous) present.
pub(super) fn alice() -> App {
    let mut app = App::new("hub", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(9),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::LoggedIn {
        user_id: ALICE,
        name: "alice".into(),
        waiting: 2,
    }));
    let peers = vec![
        PeerInfo {
            user_id: UserId(2),
            name: None,
        },
        PeerInfo {
            user_id: BOB,
            name: Some("bob".into()),
        },
    ];
    app.update(Action::Net(NetEvent::Present(peers)));
    app
}

#[test]
fn the_status_bar_names_the_account_and_the_inbox_says_what_waits() {
    let app = alice();
    assert_eq!(app.me, Some(ALICE));
    let screen = draw(&app);
    assert!(screen.contains("you alice"), "{screen}");
    assert!(!screen.contains("you #9"), "{screen}");
    assert!(screen.contains("logged in as alice"), "{screen}");
    assert!(screen.contains("(#4294967296); 2"), "{screen}");
    assert!(screen.contains("messages waiting"), "{screen}");
}

#[test]
fn peers_show_names_and_the_filter_finds_them() {
    let mut app = alice();
    let screen = draw(&app);
    assert!(screen.contains("[ ] bob"), "{screen}");
    assert!(screen.contains("[ ] #2"), "{screen}");
    app.update(ctrl('f'));
    type_text(&mut app, "Bo");
    assert_eq!(app.peers.view(), [BOB]);
    app.update(key(KeyCode::Esc));
    app.update(ctrl('f'));
    type_text(&mut app, "2");
    assert_eq!(app.peers.view(), [UserId(2), BOB], "digits find ids");
    type_text(&mut app, "97");
    assert_eq!(app.peers.view(), [BOB]);
}

#[test]
fn a_receiver_without_a_session_shows_as_queued_by_name() {
    let mut app = alice();
    app.update(alt('a'));
    let screen = draw(&app);
    assert!(screen.contains("Compose → #2, bob"), "{screen}");
    type_text(&mut app, "see you");
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Relay(relay)] = effects.as_slice() else {
        panic!("one relay: {effects:?}");
    };
    // bob left in the meantime: the hub kept it in his mailbox.
    let answer = Answer {
        delivered: 1,
        queued: vec![BOB],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer)));
    let screen = draw(&app);
    assert!(screen.contains("you → #2, bob"), "{screen}");
    assert!(
        screen.contains("✓ delivered to 1 · queued for bob"),
        "{screen}"
    );
}

#[test]
fn a_message_only_queued_says_queued_not_delivered_to_0() {
    let mut app = alice();
    let relay = app.relay_text(vec![BOB], "later".into());
    let Effect::Relay(relay) = relay else {
        panic!("a relay: {relay:?}");
    };
    let answer = Answer {
        queued: vec![BOB],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer)));
    let screen = draw(&app);
    assert!(screen.contains("◷ queued for bob"), "{screen}");
    assert!(!screen.contains("delivered to 0"), "{screen}");
}

#[test]
fn a_sender_named_later_is_relabelled() {
    let mut app = alice();
    app.update(Action::Net(NetEvent::Message {
        from: UserId((1 << 32) + 7),
        at: app_time(),
        body: Body::Text("from the mailbox".into()),
    }));
    assert!(draw(&app).contains("#4294967303 from the mailbox"));
    app.update(Action::Net(NetEvent::Names(vec![(
        UserId((1 << 32) + 7),
        "carol".into(),
    )])));
    let screen = draw(&app);
    assert!(screen.contains("carol from the mailbox"), "{screen}");
}

#[test]
fn what_another_session_sent_is_ours_without_an_outcome() {
    let mut app = alice();
    app.update(Action::Net(NetEvent::Outgoing {
        to: vec![BOB],
        at: app_time(),
        body: Body::Text("typed on the laptop".into()),
    }));
    let last = app.inbox.last().expect("an entry");
    assert_eq!(last.from, Sender::Me { to: vec![BOB] });
    assert_eq!(last.delivery, Some(Delivery::Elsewhere));
    let screen = draw(&app);
    assert!(screen.contains("you → bob typed on the laptop"), "{screen}");
    assert!(screen.contains("sent from another session"), "{screen}");
}

#[test]
fn a_refused_login_is_said_and_the_connection_stays_anonymous() {
    let mut app = App::new("hub", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(9),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::LoginRefused(
        "no account alice".into(),
    )));
    assert_eq!((app.me, app.account.as_deref()), (Some(UserId(9)), None));
    let notice = app.notice.clone().expect("a notice");
    assert!(notice.error && notice.text.contains("no account alice"));
    assert!(draw(&app).contains("you #9"));
}

#[test]
fn a_lost_hub_forgets_the_account_until_the_next_login() {
    let mut app = alice();
    app.update(Action::Net(NetEvent::Disconnected {
        reason: "closed".into(),
        retry_in: Duration::from_secs(1),
    }));
    assert!(app.account.is_none() && app.me.is_none());
}
