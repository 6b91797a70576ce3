//! `App::update` on version 3's events: logging in, names from presence and lookups, queued
//! receivers, the mailbox, and what another session sent.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::account::{AccountInfo, PeerInfo, Who};

use crate::app::command::Request;

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
        clear: false,
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

#[test]
fn the_peer_list_detail_row_shows_the_key_of_the_account_under_the_cursor() {
    let mut app = alice();
    assert_eq!(app.focus, Focus::Peers, "100 columns: the list has focus");
    // The cursor is on #2, anonymous: no key to ask about, the hints stay.
    assert_eq!(app.peers.view()[app.peers.cursor()], UserId(2));
    let effects = app.update(key(KeyCode::Down));
    let [Effect::Request(req, Request::Lookup(Who::Id(BOB)))] = effects.as_slice() else {
        panic!("bob's key is asked for: {effects:?}");
    };
    // Up and down again: asked once, not again while the answer is on its way.
    app.update(key(KeyCode::Up));
    assert!(app.update(key(KeyCode::Down)).is_empty());
    let keys = "fingerprint 1A2B 3C4D 5E6F 7A8B 9C0D 1E2F 3A4B 5C6D · pinned · encrypted";
    app.update(Action::Net(NetEvent::Account {
        req: *req,
        account: Some(AccountInfo {
            user_id: BOB,
            name: "bob".into(),
            online: true,
        }),
        keys: Some(keys.into()),
    }));
    let screen = draw(&app);
    let bottom = screen.lines().last().expect("a bottom row");
    assert!(bottom.contains(&format!("bob: {keys}")), "{screen}");
    assert!(app
        .inbox
        .last()
        .is_none_or(|e| !e.body.describe().contains("whois")));
    // Elsewhere the hints come back; a key alert for bob forgets what was said of his key.
    app.update(key(KeyCode::Up));
    assert!(!draw(&app).contains("1A2B"));
    app.update(Action::Net(NetEvent::KeyAlert {
        id: BOB,
        why: "bob's key CHANGED".into(),
    }));
    // Typing in the list asks nothing: only a move onto him does.
    type_text(&mut app, "hi");
    let effects = app.update(key(KeyCode::Down));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Request(_, Request::Lookup(Who::Id(BOB)))]
        ),
        "asked again: {effects:?}"
    );
}

#[test]
fn your_fingerprint_ends_the_status_bar_only_where_it_fits_whole() {
    let fingerprint = "3F2A 9C01 7B44 E2D0 81A9 55C1 08BE 6D3E";
    let status_at = |width: u16| {
        let mut app = alice();
        app.fingerprint = Some(fingerprint.into());
        app.update(Action::Resize(width, 24));
        let mut terminal = Terminal::new(TestBackend::new(width, 24)).expect("test terminal");
        terminal
            .draw(|f| f.render_widget(&app, f.area()))
            .expect("draw");
        let screen = terminal.backend().to_string();
        screen.lines().next().expect("a status bar").to_owned()
    };
    let wide = status_at(140);
    assert!(wide.contains(&format!("key {fingerprint}")), "{wide}");
    assert!(wide.contains("0 unread"), "{wide}");
    for width in [100, 80] {
        let bar = status_at(width);
        assert!(
            !bar.contains("3F2A"),
            "no cut fingerprint at {width}: {bar}"
        );
        assert!(bar.contains("unread"), "the rest stays at {width}: {bar}");
    }
}
