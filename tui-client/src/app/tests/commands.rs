//! Slash commands through `App::update`: each one, its errors, and `//`.

use shared::account::{AccountInfo, PeerInfo, Who};

use super::*;
use crate::app::conversation::ConvKey;
use crate::app::Request;

const BOB: UserId = UserId(4_294_967_297);
const CAROL: UserId = UserId(4_294_967_298);

/// `connected()` with bob (an account) present too.
fn with_bob() -> App {
    let mut app = connected();
    app.update(Action::Net(NetEvent::Arrived(PeerInfo {
        user_id: BOB,
        name: Some("bob".into()),
    })));
    app
}

fn run(app: &mut App, line: &str) -> Vec<Effect> {
    type_text(app, line);
    app.update(key(KeyCode::Enter))
}

fn notice(app: &App) -> (String, bool) {
    let n = app.notice.clone().expect("a notice");
    (n.text, n.error)
}

#[test]
fn msg_sends_to_names_and_ids_and_leaves_the_selection_alone() {
    let mut app = with_bob();
    let effects = run(&mut app, "/msg Bob,#2,bob see you at 3");
    let [Effect::Relay(Relay { to, body, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(to, &[BOB, UserId(2)], "bob once");
    assert_eq!(&body[..], b"see you at 3");
    assert!(selected(&app).is_empty());
    assert_eq!(app.compose.content(), "", "done: the line is cleared");
    let last = app.inbox.last().expect("own entry");
    assert_eq!(
        last.from,
        Sender::Me {
            to: vec![BOB, UserId(2)]
        }
    );
}

#[test]
fn msg_to_an_unknown_name_or_without_text_says_why_and_keeps_the_line() {
    let mut app = with_bob();
    assert!(run(&mut app, "/msg nobody hi").is_empty());
    let (text, error) = notice(&app);
    assert!(error && text.contains("no one called nobody"), "{text}");
    assert_eq!(app.compose.content(), "/msg nobody hi");
    app.update(ctrl('u'));
    assert!(run(&mut app, "/msg bob").is_empty());
    assert!(notice(&app).0.contains("usage: /msg"));
}

#[test]
fn query_opens_the_conversation_and_enter_sends_to_it() {
    let mut app = with_bob();
    app.update(alt('a'));
    let all = selected(&app);
    run(&mut app, "/query bob");
    assert_eq!(app.inbox.current().key, ConvKey::With(vec![BOB]));
    assert_eq!(app.receivers(), [BOB]);
    assert_eq!(selected(&app), all, "the selection stays for \"all\"");
    run(&mut app, "/query #3");
    assert_eq!(app.receivers(), [UserId(3)]);
    run(&mut app, "/query #99");
    assert!(notice(&app).1, "not here");
    assert_eq!(app.receivers(), [UserId(3)]);
    app.update(ctrl('u'));
    run(&mut app, "/query bob,#3");
    assert_eq!(app.receivers(), [UserId(3), BOB]);
    type_text(&mut app, "to both");
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Relay(relay)] = effects.as_slice() else {
        panic!("one relay: {effects:?}");
    };
    assert_eq!(relay.to, [UserId(3), BOB]);
    // bob's conversation was opened before; /query does not open it twice.
    assert_eq!(app.inbox.conversations().len(), 4);
    run(&mut app, "/query bob");
    assert_eq!(app.inbox.active(), 1);
}

#[test]
fn query_of_a_name_never_seen_asks_the_directory_then_opens_it() {
    let mut app = with_bob();
    // carol is an account that is away and that this client never met.
    let effects = run(&mut app, "/query bob,carol");
    let [Effect::Request(req, Request::Lookup(Who::Name(name)))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(name, "carol");
    assert_eq!(app.inbox.active(), 0, "nothing opened before the answer");
    app.update(Action::Net(NetEvent::Account {
        req: *req,
        account: Some(AccountInfo {
            user_id: CAROL,
            name: "carol".into(),
            online: false,
        }),
        keys: None,
    }));
    assert_eq!(app.inbox.current().key, ConvKey::With(vec![BOB, CAROL]));
    assert_eq!(app.receivers(), [BOB, CAROL]);
    // No such account: said, and nothing opened.
    let effects = run(&mut app, "/query dave");
    let [Effect::Request(req, _)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.update(Action::Net(NetEvent::Account {
        req: *req,
        account: None,
        keys: None,
    }));
    assert!(
        notice(&app).0.contains("no account dave"),
        "{:?}",
        notice(&app)
    );
    assert_eq!(app.inbox.current().key, ConvKey::With(vec![BOB, CAROL]));
}

#[test]
fn file_attaches_as_ctrl_o_does() {
    let mut app = connected();
    let effects = run(&mut app, "/file /tmp/report.pdf");
    assert_eq!(
        effects,
        [Effect::LoadFile {
            path: "/tmp/report.pdf".into(),
            max: 1_048_576
        }]
    );
    run(&mut app, "/file");
    assert!(notice(&app).0.contains("usage: /file PATH"));
}

#[test]
fn who_asks_the_hub_and_its_answer_is_listed_and_learnt() {
    let mut app = with_bob();
    let effects = run(&mut app, "/who");
    assert!(matches!(&effects[..], [Effect::Request(_, Request::Users(p))] if p == "*"));
    let effects = run(&mut app, "/who ca");
    let [Effect::Request(req, Request::Users(pattern))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(pattern, "*ca*", "plain text matches anywhere");
    let carol = AccountInfo {
        user_id: CAROL,
        name: "carol".into(),
        online: false,
    };
    app.update(Action::Net(NetEvent::Users {
        req: *req,
        users: vec![carol],
        limited: true,
    }));
    let line = app.inbox.last().expect("a line").body.describe();
    assert!(
        line.contains("carol (offline)") && line.contains("narrow"),
        "{line}"
    );
    let effects = run(&mut app, "/msg carol for your mailbox");
    assert!(
        matches!(&effects[..], [Effect::Relay(r)] if r.to == [CAROL]),
        "a learnt name can be sent to: {effects:?}"
    );
}

#[test]
fn who_and_whois_need_a_connection_and_their_failures_are_told() {
    let mut app = App::new("hub", (100, 24));
    assert!(run(&mut app, "/who").is_empty());
    assert!(notice(&app).0.contains("not connected"));
    let mut app = connected();
    let effects = run(&mut app, "/whois bob");
    let [Effect::Request(req, Request::Lookup(Who::Name(name)))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(name, "bob");
    let failed = NetEvent::Failed {
        req: *req,
        text: "the hub speaks protocol version 2: no accounts".into(),
    };
    app.update(Action::Net(failed));
    let (text, error) = notice(&app);
    assert!(
        error && text.starts_with("/whois bob: the hub speaks"),
        "{text}"
    );
    assert!(!text.contains("send failed"));
}

#[test]
fn whois_shows_the_account_or_that_there_is_none() {
    let mut app = connected();
    let effects = run(&mut app, "/whois #4294967298");
    let [Effect::Request(req, Request::Lookup(Who::Id(CAROL)))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let account = Some(AccountInfo {
        user_id: CAROL,
        name: "carol".into(),
        online: true,
    });
    app.update(Action::Net(NetEvent::Account {
        req: *req,
        account,
        keys: None,
    }));
    let line = app.inbox.last().expect("a line").body.describe();
    assert_eq!(line, "whois #4294967298: carol is #4294967298, online");
    let effects = run(&mut app, "/whois dave");
    let [Effect::Request(req, _)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.update(Action::Net(NetEvent::Account {
        keys: None,
        req: *req,
        account: None,
    }));
    assert!(notice(&app).0.contains("no account dave"));
}

#[test]
fn clear_empties_the_inbox() {
    let mut app = connected();
    assert!(!app.inbox.is_empty());
    run(&mut app, "/clear");
    assert!(app.inbox.is_empty());
}

#[test]
fn search_finds_the_newest_match_then_older_and_newer_ones() {
    let mut app = connected();
    for text in ["the build is red", "lunch?", "BUILD green again", "ok"] {
        app.update(Action::Net(NetEvent::Message {
            clear: false,
            from: UserId(2),
            at: app_time(),
            body: Body::Text(text.into()),
        }));
    }
    let text_of = |app: &App| {
        let seq = app.inbox.marked().expect("a match");
        app.inbox
            .visible(60, 20)
            .into_iter()
            .find(|s| s.seq == seq)
            .expect("on screen")
            .entry
            .text()
    };
    run(&mut app, "/search build");
    assert_eq!(text_of(&app), "BUILD green again");
    assert_eq!(app.focus, Focus::Inbox);
    assert!(notice(&app).0.starts_with("match 1/2"));
    app.update(key(KeyCode::F(3)));
    assert_eq!(text_of(&app), "the build is red");
    app.update(key(KeyCode::F(3)));
    assert!(notice(&app).0.contains("no older match"));
    app.update(shifted(KeyCode::F(3)));
    assert_eq!(text_of(&app), "BUILD green again");
    run(&mut app, "/search");
    assert_eq!(text_of(&app), "the build is red", "/search alone goes on");
    run(&mut app, "/search nowhere");
    assert!(notice(&app).0.contains("no match for 'nowhere'"));
}

#[test]
fn search_without_text_the_first_time_is_a_usage_error() {
    let mut app = connected();
    run(&mut app, "/search");
    assert!(notice(&app).0.contains("usage: /search TEXT"));
    app.update(ctrl('u'));
    app.update(key(KeyCode::F(3)));
    assert!(notice(&app).0.contains("nothing to search for"));
}

#[test]
fn help_opens_the_popup_or_explains_one_command() {
    let mut app = connected();
    run(&mut app, "/help msg");
    assert_eq!(
        notice(&app),
        (
            "/msg NAME[,NAME…] TEXT: send TEXT to these names or #ids; the selection stays".into(),
            false
        )
    );
    run(&mut app, "/help /nope");
    assert!(notice(&app).1);
    app.update(ctrl('u'));
    run(&mut app, "/help");
    assert!(app.help);
}

#[test]
fn quit_quits_and_an_unknown_command_says_so() {
    let mut app = connected();
    run(&mut app, "/frobnicate now");
    let (text, error) = notice(&app);
    assert!(
        error && text.starts_with("unknown command /frobnicate"),
        "{text}"
    );
    assert_eq!(
        app.compose.content(),
        "/frobnicate now",
        "kept for a correction"
    );
    assert!(!app.quit);
    app.update(ctrl('u'));
    run(&mut app, "/QUIT");
    assert!(app.quit);
}

#[test]
fn a_double_slash_sends_a_text_that_starts_with_one() {
    let mut app = connected();
    app.update(ctrl_space());
    let effects = run(&mut app, "//shrug");
    let [Effect::Relay(Relay { body, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(&body[..], b"/shrug");
}
