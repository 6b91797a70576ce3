//! Keys in compose that behave as readline's, Ctrl-L, and a send the network task refuses.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Action, App, Effect, Focus};

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// The compose box focused, holding `text` with the cursor at its end.
fn composing(text: &str) -> App {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.focus = Focus::Compose;
    app.update(Action::Paste(text.into()));
    app
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

#[test]
fn ctrl_u_kills_to_the_start_of_the_line() {
    let mut app = composing("first line\nsecond line");
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Left,
        KeyModifiers::NONE,
    )));
    app.update(ctrl('u'));
    assert_eq!(app.compose.content(), "first line\ne");
}

#[test]
fn ctrl_w_kills_the_word_before_the_cursor_as_readline_does() {
    let mut app = composing("git push origin/main  ");
    app.update(ctrl('w'));
    assert_eq!(app.compose.content(), "git push ");
    app.update(ctrl('w'));
    assert_eq!(app.compose.content(), "git ");
    app.update(ctrl('w'));
    app.update(ctrl('w'));
    assert_eq!(app.compose.content(), "");
}

#[test]
fn ctrl_a_and_ctrl_e_go_to_the_start_and_end_of_the_line() {
    let mut app = composing("one\ntwo");
    app.update(ctrl('a'));
    typed(&mut app, ">");
    app.update(ctrl('e'));
    typed(&mut app, "<");
    assert_eq!(app.compose.content(), "one\n>two<");
}

#[test]
fn ctrl_l_asks_for_the_whole_screen_to_be_redrawn_anywhere() {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    assert_eq!(app.update(ctrl('l')), vec![Effect::RedrawAll]);
    app.focus = Focus::Compose;
    assert_eq!(app.update(ctrl('l')), vec![Effect::RedrawAll]);
    assert_eq!(app.compose.content(), "", "not typed");
}

#[test]
fn a_relay_the_network_task_cannot_take_fails_its_entry() {
    use crate::app::inbox::Delivery;
    use shared::{Limits, UserId};
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.update(Action::Net(crate::net::NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    app.update(Action::Net(crate::net::NetEvent::Peers(vec![UserId(2)])));
    app.update(ctrl(' '));
    typed(&mut app, "hi");
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let [Effect::Relay(relay)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.update(Action::RelayRefused(relay.req));
    let entry = app.inbox.last().expect("own entry");
    assert!(
        matches!(&entry.delivery, Some(Delivery::Failed(why)) if why.contains("in flight")),
        "{entry:?}"
    );
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
}
