//! Conversations through `App::update`: grouping by receiver set, unread counts, mentions, the
//! "new messages" line, switching, replying, presence lines, quiet mode and notifications.

use chrono::NaiveTime;
use shared::account::PeerInfo;

use super::*;
use crate::app::conversation::{mentions, ConvKey};
use crate::app::notify;

const ALICE: UserId = UserId(1 << 32);
const BOB: UserId = UserId((1 << 32) + 1);
const CAROL: UserId = UserId((1 << 32) + 2);

fn alt_key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::ALT))
}

/// Logged in as alice, with bob and carol present; the bell already rang for nothing.
fn alice() -> App {
    let mut app = App::new("hub", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(9),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::LoggedIn {
        user_id: ALICE,
        name: "alice".into(),
        waiting: 0,
    }));
    let peer = |user_id, name: &str| PeerInfo {
        user_id,
        name: Some(name.into()),
    };
    app.update(Action::Net(NetEvent::Present(vec![
        peer(BOB, "bob"),
        peer(CAROL, "carol"),
    ])));
    app.terminal_escapes();
    app
}

fn from(app: &mut App, who: UserId, text: &str) {
    app.update(Action::Net(NetEvent::Message {
        clear: false,
        from: who,
        at: NaiveTime::MIN,
        body: Body::Text(text.into()),
    }));
}

fn outgoing(app: &mut App, to: &[UserId], text: &str) {
    app.update(Action::Net(NetEvent::Outgoing {
        to: to.to_vec(),
        at: NaiveTime::MIN,
        body: Body::Text(text.into()),
    }));
}

/// (label, unread, mention) of every conversation, "all" first.
fn list(app: &App) -> Vec<(String, usize, bool)> {
    app.inbox
        .conversations()
        .iter()
        .map(|c| (c.key.label(&app.inbox.names), c.unread, c.mention))
        .collect()
}

/// What is on screen: the entries and whether the "new messages" line is above each.
fn shown(app: &App) -> Vec<(String, bool)> {
    let a = app.areas().inbox_text;
    app.inbox
        .visible(usize::from(a.width), usize::from(a.height))
        .iter()
        .filter(|s| {
            let t = s.entry.text();
            s.entry.from != Sender::System
                || !(t.starts_with("connected to") || t.starts_with("logged in"))
        })
        .map(|s| (s.entry.text(), s.new_line))
        .collect()
}

/// The texts on screen, without the connection's own lines.
fn texts(app: &App) -> Vec<String> {
    shown(app).into_iter().map(|(t, _)| t).collect()
}

fn send(app: &mut App, text: &str) -> Relay {
    type_text(app, text);
    let effects = app.update(key(KeyCode::Enter));
    match effects.as_slice() {
        [Effect::Relay(relay)] => relay.clone(),
        other => panic!("one relay: {other:?}"),
    }
}

#[test]
fn messages_go_to_the_conversation_of_their_peer_or_receiver_set() {
    let mut app = alice();
    // In "all", Enter sends to the selection: bob and carol together.
    app.update(alt('a'));
    let relay = send(&mut app, "hello both");
    assert_eq!(relay.to, [BOB, CAROL]);
    from(&mut app, BOB, "hi from bob");
    from(&mut app, CAROL, "hi from carol");
    // Another session of ours wrote to carol and bob, in another order: the same group.
    outgoing(&mut app, &[CAROL, BOB, ALICE], "from my laptop");
    outgoing(&mut app, &[BOB], "just bob");
    let labels: Vec<String> = list(&app).into_iter().map(|c| c.0).collect();
    assert_eq!(labels, ["all", "bob, carol", "bob", "carol"]);
    assert_eq!(
        texts(&app),
        [
            "hello both",
            "hi from bob",
            "hi from carol",
            "from my laptop",
            "just bob"
        ],
        "all has everything"
    );
    app.update(alt('2'));
    assert_eq!(texts(&app), ["hello both", "from my laptop"]);
    assert_eq!(app.receivers(), [BOB, CAROL]);
    app.update(alt('3'));
    assert_eq!(texts(&app), ["hi from bob", "just bob"]);
    assert_eq!(app.receivers(), [BOB]);
    assert_eq!(send(&mut app, "only you").to, [BOB]);
    assert_eq!(texts(&app).last().map(String::as_str), Some("only you"));
}

#[test]
fn unread_counts_and_mentions_until_the_conversation_is_shown() {
    let mut app = alice();
    app.update(Action::Net(NetEvent::Names(vec![(CAROL, "carol".into())])));
    app.open_conversation(ConvKey::With(vec![CAROL]))
        .expect("room");
    from(&mut app, BOB, "one");
    from(&mut app, BOB, "hey Alice, look");
    from(&mut app, CAROL, "seen at once");
    assert_eq!(
        list(&app),
        [
            ("all".to_owned(), 0, false),
            ("carol".to_owned(), 0, false),
            ("bob".to_owned(), 2, true),
        ]
    );
    assert_eq!(
        app.unread(),
        2,
        "\"all\" repeats bob's and does not count them twice"
    );
    app.update(alt('3'));
    assert_eq!(list(&app)[2], ("bob".to_owned(), 0, false));
    assert_eq!(app.unread(), 0);
    // Looking at "all" (focused) sees everything: nothing is unread.
    app.update(alt('1'));
    from(&mut app, BOB, "in plain sight");
    assert_eq!(app.unread(), 0);
    // Unfocused, what comes is unread even with "all" on screen.
    app.update(Action::Focus(false));
    from(&mut app, BOB, "while away");
    assert_eq!(app.unread(), 1);
    assert_eq!(list(&app)[2].1, 1);
    app.update(Action::Focus(true));
    assert_eq!(
        app.unread(),
        1,
        "bob's conversation is unread until it is shown"
    );
    // "all" counts nothing, but keeps its line where it was left (for carol's conversation,
    // before bob's first message).
    let lines: Vec<String> = shown(&app)
        .into_iter()
        .filter(|s| s.1)
        .map(|s| s.0)
        .collect();
    assert_eq!(lines, ["one"]);
}

#[test]
fn mailbox_messages_are_unread_even_with_their_conversation_on_screen() {
    let mut app = alice();
    app.update(Action::Net(NetEvent::LoggedIn {
        user_id: ALICE,
        name: "alice".into(),
        waiting: 2,
    }));
    from(&mut app, BOB, "kept for you");
    from(&mut app, CAROL, "kept too");
    from(&mut app, BOB, "live, and seen in \"all\"");
    assert_eq!(
        list(&app),
        [
            ("all".to_owned(), 0, false),
            ("bob".to_owned(), 1, false),
            ("carol".to_owned(), 1, false),
        ]
    );
}

#[test]
fn a_mention_is_the_name_as_a_word() {
    assert!(mentions("hey alice", "alice"));
    assert!(mentions("@Alice: hi", "alice"));
    assert!(mentions("is that you, alice?", "alice"));
    assert!(mentions("ask alice.", "alice"));
    assert!(!mentions("malice aforethought", "alice"));
    assert!(!mentions("alice2 is someone else", "alice"));
    assert!(!mentions("alice.b is too", "alice"));
    assert!(!mentions("anything", ""));
}

#[test]
fn the_new_messages_line_is_where_you_left_off_until_you_leave() {
    let mut app = alice();
    app.open_conversation(ConvKey::With(vec![BOB]))
        .expect("room");
    from(&mut app, BOB, "read at once");
    // Away in carol's conversation ("all" would show bob's messages: seen).
    app.open_conversation(ConvKey::With(vec![CAROL]))
        .expect("room");
    from(&mut app, BOB, "first unread");
    from(&mut app, BOB, "second unread");
    app.update(alt('2'));
    assert_eq!(
        shown(&app),
        [
            ("read at once".to_owned(), false),
            ("first unread".to_owned(), true),
            ("second unread".to_owned(), false),
        ]
    );
    // The line is a row: the entry is one taller.
    let first = &app.inbox.visible(60, 20)[1];
    assert_eq!(first.take, 2);
    // Leaving forgets it; coming back without news shows none.
    app.update(alt('3'));
    app.update(alt('2'));
    assert!(shown(&app).iter().all(|s| !s.1));
}

#[test]
fn alt_n_jumps_to_the_first_unread_then_to_the_next_conversation_with_some() {
    let mut app = alice();
    app.open_conversation(ConvKey::With(vec![BOB]))
        .expect("room");
    app.open_conversation(ConvKey::With(vec![CAROL]))
        .expect("room");
    for i in 0..40 {
        from(&mut app, BOB, &format!("bob {i}"));
    }
    app.update(alt('1'));
    from(&mut app, CAROL, "carol 0");
    app.update(Action::Focus(false));
    from(&mut app, CAROL, "carol 1");
    app.update(Action::Focus(true));
    app.update(alt('2'));
    assert!(!app.inbox.scrolled(), "showing the newest");
    app.update(alt('n'));
    let top = shown(&app)[0].clone();
    assert_eq!(
        top,
        ("bob 0".to_owned(), true),
        "the first unread at the top"
    );
    // Nothing unread here any more: on to carol's, where only the message that came while
    // the terminal had no focus is unread ("all" showed the other).
    app.update(alt('1'));
    app.update(alt('2'));
    app.update(alt('n'));
    assert_eq!(app.inbox.current().key, ConvKey::With(vec![CAROL]));
    assert_eq!(
        shown(&app),
        [("carol 0".to_owned(), false), ("carol 1".to_owned(), true)]
    );
    app.update(alt('n'));
    app.update(alt('n'));
    assert_eq!(
        app.notice.clone().expect("notice").text,
        "no unread messages"
    );
}

#[test]
fn switching_keys_wrap_and_ignore_missing_numbers() {
    let mut app = alice();
    from(&mut app, BOB, "b");
    from(&mut app, CAROL, "c");
    assert_eq!(app.inbox.active(), 0);
    app.update(alt_key(KeyCode::Down));
    assert_eq!(app.inbox.active(), 1);
    app.update(ctrl('n'));
    assert_eq!(app.inbox.active(), 2);
    app.update(ctrl('n'));
    assert_eq!(app.inbox.active(), 0, "wraps");
    app.update(alt_key(KeyCode::Up));
    assert_eq!(app.inbox.active(), 2);
    app.update(ctrl('p'));
    assert_eq!(app.inbox.active(), 1);
    app.update(alt('9'));
    assert_eq!(app.inbox.active(), 1);
    assert!(app.notice.clone().expect("notice").error);
    // Alt-Up in the peer list switches conversations, it does not move the peer cursor.
    assert_eq!(app.focus, Focus::Peers);
    let cursor = app.peers.cursor();
    app.update(alt_key(KeyCode::Up));
    assert_eq!((app.peers.cursor(), app.inbox.active()), (cursor, 0));
    assert!(app.compose.content().is_empty(), "nothing typed");
}

#[test]
fn reply_keys_open_the_senders_or_the_receivers_conversation() {
    let mut app = alice();
    from(&mut app, BOB, "a question");
    app.update(alt('r'));
    assert_eq!(app.inbox.current().key, ConvKey::With(vec![BOB]));
    assert_eq!(app.receivers(), [BOB]);
    // In "all", the newest message on screen is what Alt-R answers.
    app.update(alt('1'));
    outgoing(&mut app, &[BOB, CAROL], "to you two");
    app.update(alt('r'));
    assert_eq!(app.receivers(), [BOB, CAROL]);
    app.update(alt('1'));
    from(&mut app, CAROL, "me too");
    app.update(alt('g'));
    assert_eq!(app.receivers(), [CAROL]);
    assert!(
        app.notice
            .clone()
            .expect("notice")
            .text
            .contains("does not say whom else"),
        "a received message's other receivers are not known"
    );
    // A /search match is the message under the cursor.
    app.update(alt('1'));
    type_text(&mut app, "/search question");
    app.update(key(KeyCode::Enter));
    app.update(alt('r'));
    assert_eq!(app.receivers(), [BOB]);
    // Nothing to answer in an empty conversation.
    let mut app = alice();
    app.update(alt('r'));
    assert!(app.notice.clone().expect("notice").error);
}

#[test]
fn presence_lines_go_to_the_peers_own_conversation() {
    let mut app = alice();
    from(&mut app, BOB, "hi");
    app.update(Action::Net(NetEvent::Left(BOB)));
    app.update(Action::Net(NetEvent::Arrived(PeerInfo {
        user_id: BOB,
        name: Some("bob".into()),
    })));
    // Carol has no conversation: her coming and going is not drawn anywhere.
    app.update(Action::Net(NetEvent::Left(CAROL)));
    let all = texts(&app);
    assert!(!all.iter().any(|t| t.contains("online")), "{all:?}");
    app.update(alt('2'));
    assert_eq!(
        texts(&app),
        ["hi", "bob went offline", "bob came back online"]
    );
}

#[test]
fn presence_lines_can_go_to_all_too_or_nowhere() {
    let mut app = alice();
    app.notify.choices.presence = notify::Presence::All;
    from(&mut app, BOB, "hi");
    app.update(Action::Net(NetEvent::Left(BOB)));
    app.update(Action::Net(NetEvent::Left(CAROL)));
    // In "all", everyone's, conversation or not; bob's own conversation has his too.
    assert_eq!(
        texts(&app),
        ["hi", "bob went offline", "carol went offline"]
    );
    app.update(alt('2'));
    assert_eq!(texts(&app), ["hi", "bob went offline"]);
    app.notify.choices.presence = notify::Presence::Off;
    app.update(Action::Net(NetEvent::Arrived(PeerInfo {
        user_id: BOB,
        name: Some("bob".into()),
    })));
    assert_eq!(texts(&app), ["hi", "bob went offline"], "off: none");
    app.update(alt('1'));
    assert!(!texts(&app).iter().any(|t| t.contains("came back")));
}

#[test]
fn the_bell_and_title_follow_unread_messages_and_quiet_keeps_to_mentions() {
    let mut app = alice();
    assert_eq!(app.terminal_escapes(), "", "nothing changed");
    app.open_conversation(ConvKey::With(vec![CAROL]))
        .expect("room");
    // A burst from bob rings once and the title counts it.
    for _ in 0..3 {
        from(&mut app, BOB, "ping");
    }
    assert_eq!(app.terminal_escapes(), "\x1b]2;(3) hubbub\x07\x07");
    // Within the bell's gap another message changes the title only.
    from(&mut app, BOB, "ping");
    assert_eq!(app.terminal_escapes(), "\x1b]2;(4) hubbub\x07");
    for _ in 0..notify::BELL_GAP_TICKS {
        app.update(Action::Tick);
    }
    // Carol's conversation is on screen and the terminal focused: no bell, no count.
    from(&mut app, CAROL, "right here");
    assert_eq!(app.terminal_escapes(), "");
    // Bob's made quiet: only a mention rings.
    app.update(alt('3'));
    assert_eq!(
        app.terminal_escapes(),
        "\x1b]2;hubbub\x07",
        "read: the count goes"
    );
    type_text(&mut app, "/quiet");
    app.update(key(KeyCode::Enter));
    assert!(app.inbox.current().quiet);
    app.update(alt('2'));
    from(&mut app, BOB, "ping");
    assert_eq!(
        app.terminal_escapes(),
        "\x1b]2;(1) hubbub\x07",
        "counted, silent"
    );
    from(&mut app, BOB, "alice: urgent");
    assert_eq!(app.terminal_escapes(), "\x1b]2;(2) hubbub\x07\x07");
}

#[test]
fn desktop_notifications_are_merged_and_never_carry_the_text() {
    let mut app = alice();
    app.notify.desktop = notify::Desktop::Osc777;
    app.update(Action::Focus(false));
    from(&mut app, BOB, "secret one");
    let out = app.terminal_escapes();
    assert!(
        out.ends_with("\x1b]777;notify;hubbub;a new message from bob\x07"),
        "{out:?}"
    );
    from(&mut app, BOB, "secret two");
    from(&mut app, CAROL, "hey alice");
    let out = app.terminal_escapes();
    assert!(!out.contains("777"), "within the gap: held back, {out:?}");
    for _ in 0..notify::DESKTOP_GAP_TICKS {
        app.update(Action::Tick);
    }
    let out = app.terminal_escapes();
    assert_eq!(
        out,
        "\x1b]777;notify;hubbub;2 new messages from bob, carol (you are mentioned)\x07"
    );
    assert!(!out.contains("secret"));
    let mut app = alice();
    app.notify.desktop = notify::Desktop::Osc9;
    app.update(Action::Focus(false));
    from(&mut app, BOB, "x");
    assert!(app
        .terminal_escapes()
        .ends_with("\x1b]9;hubbub: a new message from bob\x07"));
}

#[test]
fn notify_choices_turn_off_the_bell_the_title_and_mentions_in_quiet_conversations() {
    let mut app = alice();
    app.notify.choices = notify::Choices {
        bell: false,
        title: true,
        mentions: false,
        ..notify::Choices::default()
    };
    app.open_conversation(ConvKey::With(vec![CAROL]))
        .expect("room");
    from(&mut app, BOB, "ping");
    assert_eq!(app.terminal_escapes(), "\x1b]2;(1) hubbub\x07", "no bell");
    // Bob's quiet, and mentions.false: a mention there does not notify either.
    app.update(alt('3'));
    type_text(&mut app, "/quiet");
    app.update(key(KeyCode::Enter));
    app.update(alt('2'));
    app.notify.choices.bell = true;
    app.terminal_escapes();
    from(&mut app, BOB, "alice: urgent");
    assert_eq!(
        app.terminal_escapes(),
        "\x1b]2;(1) hubbub\x07",
        "counted, silent"
    );
    // Without the title, the count is not written; the bell rings for bob, loud again.
    app.notify.choices.title = false;
    app.update(alt('3'));
    type_text(&mut app, "/quiet");
    app.update(key(KeyCode::Enter));
    assert!(!app.inbox.current().quiet);
    app.update(alt('2'));
    for _ in 0..notify::BELL_GAP_TICKS {
        app.update(Action::Tick);
    }
    from(&mut app, BOB, "again");
    assert_eq!(app.terminal_escapes(), "\x07");
}
