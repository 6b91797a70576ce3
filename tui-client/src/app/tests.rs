//! `App::update` on key and network actions, without a terminal.

use std::time::Duration;

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shared::{BodyKind, Limits, RequestId, UserId};

use super::inbox::{Delivery, Sender};
use super::{Action, App, ConnState, Effect, Focus};
use crate::incoming::Body;
use crate::net::{Answer, NetEvent, Relay};

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn alt(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}

fn shifted(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::SHIFT))
}

/// Select or unselect the peer under the cursor, as a terminal sends Ctrl-Space (NUL).
fn ctrl_space() -> Action {
    ctrl(' ')
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// Connected as #1 with peers #2, #3 and #4.
fn connected() -> App {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers(vec![
        UserId(2),
        UserId(3),
        UserId(4),
    ])));
    app
}

fn selected(app: &App) -> Vec<u64> {
    app.peers.selected().iter().map(|id| id.0).collect()
}

#[test]
fn presence_events_keep_the_list_sorted_and_exclude_me() {
    let mut app = connected();
    app.update(Action::Net(NetEvent::Joined(UserId(10))));
    app.update(Action::Net(NetEvent::Joined(UserId(1))));
    app.update(Action::Net(NetEvent::Left(UserId(3))));
    let ids: Vec<u64> = app.peers.all().iter().map(|id| id.0).collect();
    assert_eq!(ids, [2, 4, 10]);
}

#[test]
fn ctrl_space_and_insert_toggle_alt_a_selects_all_and_alt_u_clears() {
    let mut app = connected();
    app.update(key(KeyCode::Down));
    app.update(ctrl_space());
    assert_eq!(selected(&app), [3]);
    app.update(key(KeyCode::Insert));
    assert!(selected(&app).is_empty());
    app.update(alt('a'));
    assert_eq!(selected(&app), [2, 3, 4]);
    app.update(alt('u'));
    assert!(selected(&app).is_empty());
    assert_eq!(app.compose.content(), "", "none of them typed");
}

#[test]
fn selection_stops_at_the_receiver_limit() {
    let mut app = App::new("hub", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers((2..300).map(UserId).collect())));
    app.update(alt('a'));
    assert_eq!(app.peers.selected().len(), 255);
    let notice = app.notice.clone().expect("told about the limit");
    assert!(
        notice.error && notice.text.contains("43 shown peers left out"),
        "{notice:?}"
    );
}

#[test]
fn filter_narrows_the_list_and_esc_clears_it() {
    let mut app = connected();
    app.update(Action::Net(NetEvent::Joined(UserId(33))));
    app.update(ctrl('f'));
    assert_eq!(app.focus, Focus::Peers);
    type_text(&mut app, "3");
    assert_eq!(app.peers.view(), [UserId(3), UserId(33)]);
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Down));
    app.update(ctrl_space());
    assert_eq!(selected(&app), [33]);
    app.update(ctrl('f'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.peers.view().len(), 4);
    assert_eq!(app.compose.content(), "", "the filter took the text");
}

#[test]
fn a_selected_peer_that_leaves_is_unselected_and_the_user_told() {
    let mut app = connected();
    app.update(ctrl_space());
    app.update(Action::Net(NetEvent::Left(UserId(2))));
    assert!(selected(&app).is_empty());
    let notice = app.notice.clone().expect("notice");
    assert!(notice.text.contains("#2 left"), "{notice:?}");
    let last = app.inbox.last().expect("system line");
    assert_eq!(last.from, Sender::System);
}

#[test]
fn enter_without_receivers_is_refused_with_a_clear_error() {
    let mut app = connected();
    type_text(&mut app, "hi");
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.is_empty());
    assert!(app
        .notice
        .clone()
        .expect("notice")
        .text
        .contains("no receiver"));
    assert_eq!(app.compose.content(), "hi", "the text is kept");
}

#[test]
fn enter_sends_to_the_selection_and_the_answer_lands_on_the_message() {
    let mut app = connected();
    app.update(alt('a'));
    type_text(&mut app, "hello");
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::ALT,
    )));
    type_text(&mut app, "world");
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Relay(Relay {
        req,
        to,
        kind,
        body,
    })] = effects.as_slice()
    else {
        panic!("one relay expected: {effects:?}");
    };
    assert_eq!(to, &[UserId(2), UserId(3), UserId(4)]);
    assert_eq!((kind, &body[..]), (&BodyKind::Text, &b"hello\nworld"[..]));
    assert_eq!(app.compose.content(), "");
    let answer = Answer {
        delivered: 2,
        unknown: vec![UserId(4)],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(*req, answer.clone())));
    let last = app.inbox.last().expect("own message");
    assert_eq!(last.body, Body::Text("hello\nworld".into()));
    assert_eq!(last.delivery, Some(Delivery::Done(answer)));
}

#[test]
fn up_and_down_walk_the_history() {
    let mut app = connected();
    app.update(ctrl_space());
    app.update(key(KeyCode::Esc));
    assert_eq!(app.focus, Focus::Compose);
    for text in ["one", "two"] {
        type_text(&mut app, text);
        app.update(key(KeyCode::Enter));
    }
    type_text(&mut app, "draft");
    app.update(key(KeyCode::Up));
    assert_eq!(app.compose.content(), "two");
    app.update(key(KeyCode::Up));
    assert_eq!(app.compose.content(), "one");
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.compose.content(), "draft");
}

#[test]
fn attaching_asks_for_the_file_and_sends_it_as_a_file() {
    let mut app = connected();
    app.update(ctrl_space());
    app.update(ctrl('o'));
    type_text(&mut app, "/tmp/x.bin");
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::LoadFile {
            path: "/tmp/x.bin".into(),
            max: 1_048_576
        }]
    );
    app.update(Action::FileLoaded(Err(
        "/tmp/x.bin is 2000000 bytes; the limit is 1048576 bytes".into(),
    )));
    assert!(
        app.compose.prompt.is_some(),
        "the prompt stays for a correction"
    );
    assert!(app
        .notice
        .clone()
        .expect("notice")
        .text
        .contains("the limit is 1048576"));
    let att = super::compose::Attachment {
        path: "/tmp/x.bin".into(),
        name: "x.bin".into(),
        body: Bytes::from_static(b"xyz"),
    };
    app.update(Action::FileLoaded(Ok(att)));
    assert!(app.compose.prompt.is_none());
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Relay(Relay { kind, body, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        kind,
        &BodyKind::File {
            name: "x.bin".into()
        }
    );
    assert_eq!(&body[..], b"xyz");
}

#[test]
fn tab_in_the_prompt_completes_to_the_common_prefix() {
    let mut app = connected();
    app.update(ctrl('o'));
    type_text(&mut app, "/d/no");
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        [Effect::CompletePath("/d/no".into())]
    );
    app.update(Action::Completions(vec![
        "/d/notes.md".into(),
        "/d/notes.txt".into(),
    ]));
    let prompt = app.compose.prompt.clone().expect("prompt");
    assert_eq!(prompt.input, "/d/notes.");
    assert_eq!(prompt.candidates.len(), 2);
}

#[test]
fn losing_the_hub_fails_pending_sends_and_clears_peers() {
    let mut app = connected();
    app.update(ctrl_space());
    type_text(&mut app, "x");
    app.update(key(KeyCode::Enter));
    let down = NetEvent::Disconnected {
        reason: "closed".into(),
        retry_in: Duration::from_secs(1),
    };
    app.update(Action::Net(down));
    assert!(matches!(app.conn, ConnState::Down { .. }));
    assert!(app.peers.all().is_empty() && app.me.is_none());
    let own = app
        .inbox
        .visible(60, 10)
        .into_iter()
        .find(|s| matches!(s.entry.from, Sender::Me { .. }))
        .expect("own");
    assert!(matches!(own.entry.delivery, Some(Delivery::Failed(_))));
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.is_empty(), "nothing to send while down");
}

#[test]
fn messages_arriving_while_scrolled_up_count_as_unread() {
    let mut app = connected();
    let msg = |i: usize| NetEvent::Message {
        clear: false,
        from: UserId(2),
        at: app_time(),
        body: Body::Text(format!("m{i}")),
    };
    for i in 0..50 {
        app.update(Action::Net(msg(i)));
    }
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Inbox);
    app.update(key(KeyCode::PageUp));
    app.update(Action::Net(msg(50)));
    app.update(Action::Net(msg(51)));
    assert_eq!(app.inbox.new_below(), 2);
    app.update(key(KeyCode::End));
    assert_eq!(app.inbox.new_below(), 0);
}

fn app_time() -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(9, 30, 0).expect("valid time")
}

mod accounts;
mod commands;
mod complete;
mod conversations;
mod history;
mod input;
mod layout;
mod mouse;
mod receipts;
