//! Clicks (with `--mouse`): on a conversation it is shown, on a peer it is selected or
//! unselected; a click elsewhere, or on a hidden pane, does nothing.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::*;

fn click(app: &mut App, x: u16, y: u16) {
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    }));
}

/// `connected()` with conversations with #2 and #3 begun (3 in the list, "all" shown).
fn with_conversations() -> App {
    let mut app = connected();
    for who in ["#2", "#3"] {
        type_text(&mut app, &format!("/query {who}"));
        app.update(key(KeyCode::Enter));
    }
    app.update(alt('1'));
    assert_eq!(app.inbox.conversations().len(), 3);
    assert_eq!(app.inbox.active(), 0);
    app
}

#[test]
fn a_click_on_a_conversation_shows_it() {
    let mut app = with_conversations();
    let list = app.areas().convs_list;
    click(&mut app, list.x + 3, list.y + 2);
    assert_eq!(app.inbox.active(), 2, "the third row");
    click(&mut app, list.x, list.y + 1);
    assert_eq!(app.inbox.active(), 1);
    // Below the last conversation, and on the border: nothing.
    click(&mut app, list.x, list.y + 3);
    click(&mut app, list.x - 1, list.y);
    assert_eq!(app.inbox.active(), 1);
}

#[test]
fn a_click_on_a_peer_selects_it_and_again_unselects_it() {
    let mut app = connected();
    app.focus = Focus::Compose;
    let list = app.areas().peers_list;
    click(&mut app, list.x + 5, list.y + 1);
    assert_eq!(selected(&app), [3], "the second row is #3");
    assert_eq!(app.peers.cursor(), 1);
    assert_eq!(app.focus, Focus::Peers);
    click(&mut app, list.x, list.y + 2);
    assert_eq!(selected(&app), [3, 4]);
    click(&mut app, list.x, list.y + 1);
    assert_eq!(selected(&app), [4]);
    click(&mut app, list.x, list.y + 3);
    assert_eq!(selected(&app), [4], "no peer on that row");
}

#[test]
fn clicks_on_hidden_panes_or_elsewhere_do_nothing() {
    let mut app = with_conversations();
    let (convs, peers) = (app.areas().convs_list, app.areas().peers_list);
    app.update(key(KeyCode::F(2)));
    click(&mut app, convs.x, convs.y + 1);
    click(&mut app, peers.x, peers.y);
    assert_eq!(app.inbox.active(), 0);
    assert!(selected(&app).is_empty());
    app.update(key(KeyCode::F(2)));
    let inbox = app.areas().inbox_text;
    click(&mut app, inbox.x + 2, inbox.y + 2);
    assert_eq!(app.inbox.active(), 0);
    assert!(selected(&app).is_empty());
}
