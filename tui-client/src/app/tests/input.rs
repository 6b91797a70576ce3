//! Typing always types: text goes to the input line in every pane, the panes answer only to
//! keys that cannot be text, and quitting with a draft asks first.

use super::*;

/// The sentence of the issue, and every letter that used to be a command outside compose.
const SENTENCE: &str = "quick question: hey can you check a/c? jk gG q";

#[test]
fn a_sentence_of_former_command_letters_lands_in_the_input_line_in_every_pane() {
    for focus in [Focus::Peers, Focus::Inbox, Focus::Compose] {
        let mut app = connected();
        app.update(ctrl_space());
        app.focus = focus;
        type_text(&mut app, SENTENCE);
        assert_eq!(app.compose.content(), SENTENCE, "in {focus:?}");
        assert!(
            !app.quit && !app.help && !app.peers.filtering,
            "in {focus:?}"
        );
        assert_eq!(
            selected(&app),
            [2],
            "the selection is untouched in {focus:?}"
        );
        assert_eq!(app.focus, focus, "the focus stays");
        assert_eq!(app.peers.view().len(), 3, "no filter in {focus:?}");
    }
}

#[test]
fn editing_keys_edit_the_input_line_from_the_peer_list() {
    let mut app = connected();
    type_text(&mut app, "ac");
    app.update(key(KeyCode::Left));
    type_text(&mut app, "b");
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    type_text(&mut app, "xb");
    assert_eq!(app.compose.content(), "xbc");
    app.update(ctrl('u'));
    assert_eq!(app.compose.content(), "c");
    assert_eq!(app.focus, Focus::Peers);
}

#[test]
fn f6_and_alt_arrows_move_between_panes_and_esc_comes_back_to_compose() {
    let mut app = connected();
    assert_eq!(app.focus, Focus::Peers);
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Inbox);
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Compose);
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Peers);
    app.update(shifted(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Compose);
    let alt_key = |code| Action::Key(KeyEvent::new(code, KeyModifiers::ALT));
    app.update(alt_key(KeyCode::Right));
    assert_eq!(app.focus, Focus::Peers);
    app.update(alt_key(KeyCode::Left));
    assert_eq!(app.focus, Focus::Compose);
    app.update(alt_key(KeyCode::Left));
    assert_eq!(app.focus, Focus::Inbox);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.focus, Focus::Compose);
    assert_eq!(app.compose.content(), "");
}

#[test]
fn arrows_and_home_end_move_in_the_focused_pane() {
    let mut app = connected();
    app.update(key(KeyCode::End));
    assert_eq!(app.peers.cursor(), 2);
    app.update(key(KeyCode::Up));
    assert_eq!(app.peers.cursor(), 1);
    app.update(key(KeyCode::Home));
    assert_eq!(app.peers.cursor(), 0);
    for i in 0..40 {
        app.update(Action::Net(NetEvent::Message {
            clear: false,
            from: UserId(2),
            at: app_time(),
            body: Body::Text(format!("m{i}")),
        }));
    }
    app.focus = Focus::Inbox;
    app.update(key(KeyCode::Up));
    assert!(app.inbox.scrolled());
    app.update(key(KeyCode::Down));
    assert!(!app.inbox.scrolled());
    app.update(key(KeyCode::Home));
    assert!(app.inbox.scrolled());
    app.update(key(KeyCode::End));
    assert!(!app.inbox.scrolled());
    assert_eq!(app.peers.cursor(), 0, "the peer cursor stayed");
    assert_eq!(app.compose.content(), "");
}

#[test]
fn quitting_with_a_draft_asks_and_any_key_but_y_keeps_it() {
    let mut app = connected();
    type_text(&mut app, "half a thought");
    app.update(ctrl('c'));
    assert!(app.confirm_quit && !app.quit, "asks first");
    app.update(key(KeyCode::Char('n')));
    assert!(!app.confirm_quit && !app.quit);
    assert_eq!(app.compose.content(), "half a thought", "n is not typed");
    app.update(ctrl('c'));
    app.update(ctrl('c'));
    assert!(app.quit, "Ctrl-C twice quits");
    let mut app = connected();
    type_text(&mut app, "x");
    app.update(ctrl('c'));
    app.update(key(KeyCode::Char('y')));
    assert!(app.quit, "y quits");
}

#[test]
fn quitting_with_an_attached_file_asks_too_and_a_recalled_text_does_not() {
    let mut app = connected();
    app.update(Action::FileLoaded(Ok(super::super::compose::Attachment {
        path: "/tmp/a".into(),
        name: "a".into(),
        body: Bytes::from_static(b"a"),
    })));
    type_text(&mut app, "/quit");
    app.update(key(KeyCode::Enter));
    assert!(app.confirm_quit && !app.quit, "/quit asks about the file");
    app.update(key(KeyCode::Esc));
    app.update(ctrl('x'));
    app.update(ctrl('c'));
    assert!(app.quit);

    let mut app = connected();
    app.update(ctrl_space());
    type_text(&mut app, "sent already");
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Up));
    assert_eq!(app.compose.content(), "sent already");
    app.update(ctrl('c'));
    assert!(app.quit, "a text from the history is not a draft");
}

#[test]
fn the_help_scrolls_at_50x12_and_stops_at_its_end() {
    let mut app = connected();
    app.update(Action::Resize(50, 12));
    app.update(key(KeyCode::F(1)));
    let max = crate::render::help::max_scroll((50, 12), &app.keys);
    assert!(max > 20, "most of the help is below at 50x12: {max}");
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.help_scroll, 2);
    app.update(key(KeyCode::PageDown));
    assert_eq!(
        app.help_scroll,
        2 + crate::render::help::page((50, 12), &app.keys)
    );
    app.update(key(KeyCode::End));
    assert_eq!(app.help_scroll, max);
    app.update(key(KeyCode::Down));
    assert_eq!(app.help_scroll, max, "not past the end");
    app.update(key(KeyCode::Home));
    assert_eq!(app.help_scroll, 0);
    app.update(key(KeyCode::Up));
    assert_eq!(app.help_scroll, 0);
    assert!(app.help);
    app.update(key(KeyCode::Esc));
    assert!(!app.help);
    app.update(key(KeyCode::F(1)));
    assert_eq!(app.help_scroll, 0, "opens at the top");
}

#[test]
fn ctrl_c_quits_at_once_without_a_draft() {
    let mut app = connected();
    app.update(ctrl('c'));
    assert!(app.quit && !app.confirm_quit);
}

#[test]
fn f1_opens_help_and_another_key_closes_it_without_typing() {
    let mut app = connected();
    app.update(key(KeyCode::F(1)));
    assert!(app.help);
    app.update(key(KeyCode::Char('x')));
    assert!(!app.help && !app.quit);
    assert_eq!(app.compose.content(), "");
}

#[test]
fn paste_goes_to_the_input_line_with_newlines_and_the_focus_stays() {
    let mut app = connected();
    app.update(Action::Paste("line one\r\nline two".into()));
    assert_eq!(app.focus, Focus::Peers);
    assert_eq!(app.compose.content(), "line one\nline two");
    assert_eq!(RequestId(1), app.next_req);
}
