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
