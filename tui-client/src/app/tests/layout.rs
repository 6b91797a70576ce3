//! The side panes: hidden on a narrow terminal, F2 brings them back or hides them, and the
//! focus never stays in a hidden pane.

use super::*;

#[test]
fn a_narrow_terminal_hides_the_side_panes_and_f2_shows_them() {
    let mut app = connected();
    assert!(app.areas().panes, "100 columns: shown");
    app.update(Action::Resize(89, 24));
    let a = app.areas();
    assert!(!a.panes, "89 columns: hidden");
    assert_eq!(a.inbox.width, 89, "the conversation takes the width");
    assert_eq!(a.compose.width, 89);
    assert_eq!(app.focus, Focus::Compose, "keys leave the hidden peer list");
    app.update(key(KeyCode::F(2)));
    let a = app.areas();
    assert!(a.panes, "F2 shows them");
    assert!(a.peers_list.height > 0 && a.convs_list.height > 0);
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Peers, "and F6 reaches the peers again");
    app.update(key(KeyCode::F(2)));
    assert!(!app.areas().panes, "F2 again hides them");
    assert_eq!(app.focus, Focus::Compose);
}

#[test]
fn f2_hides_the_panes_on_a_wide_terminal_too_and_f6_skips_the_peers() {
    let mut app = connected();
    app.update(key(KeyCode::F(2)));
    assert!(!app.areas().panes);
    assert_eq!(app.focus, Focus::Compose);
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Inbox);
    app.update(key(KeyCode::F(6)));
    assert_eq!(
        app.focus,
        Focus::Compose,
        "no hidden peer list in the cycle"
    );
    // The choice stays when the terminal is resized.
    app.update(Action::Resize(200, 60));
    assert!(!app.areas().panes);
}

#[test]
fn ctrl_f_shows_the_hidden_peer_list_it_searches() {
    let mut app = connected();
    app.update(Action::Resize(60, 20));
    assert!(!app.areas().panes);
    app.update(ctrl('f'));
    assert!(app.areas().panes);
    assert_eq!(app.focus, Focus::Peers);
    assert!(app.peers.filtering);
}

#[test]
fn keys_from_the_config_act_as_their_actions_and_the_own_keys_still_work() {
    use crate::app::keymap::KeyMap;
    let table = [("toggle-panes", "alt-p"), ("next-pane", "f9")]
        .into_iter()
        .map(|(a, k)| (a.to_owned(), k.to_owned()))
        .collect();
    let mut app = connected();
    app.keys = KeyMap::new(&table).expect("good keys");
    app.update(alt('p'));
    assert!(!app.areas().panes, "alt-p hides the panes");
    assert_eq!(app.compose.content(), "", "and types nothing");
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('P'),
        KeyModifiers::ALT | KeyModifiers::SHIFT,
    )));
    assert!(app.areas().panes, "Alt-Shift-P is Alt-P too");
    app.update(key(KeyCode::F(2)));
    assert!(!app.areas().panes, "F2 still works");
    app.update(key(KeyCode::F(2)));
    assert_eq!(app.focus, Focus::Compose);
    app.update(key(KeyCode::F(9)));
    assert_eq!(app.focus, Focus::Peers, "F9 is F6 now");
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Inbox);
}

#[test]
fn a_client_started_narrow_has_the_focus_in_compose_from_the_start() {
    let app = App::new("hub", (80, 24));
    assert_eq!(app.focus, Focus::Compose);
    assert_eq!(App::new("hub", (90, 24)).focus, Focus::Peers);
}
