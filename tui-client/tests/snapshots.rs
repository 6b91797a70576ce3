//! Snapshots of the main screens, drawn by `impl Widget for &App` into ratatui's `TestBackend`.
//! Times are filtered; ids are fixed by the test, so every run draws the same cells.

use std::time::Duration;

use chrono::NaiveTime;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{Limits, UserId};
use tui_client::app::{Action, App};
use tui_client::incoming::{Body, FilePlace};
use tui_client::net::{Answer, NetEvent};

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.update(Action::Key(KeyEvent::new(code, modifiers)));
}

fn type_text(app: &mut App, text: &str) {
    text.chars().for_each(|c| key(app, KeyCode::Char(c)));
}

fn at(s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(10, 15, s).expect("valid time")
}

fn message(app: &mut App, from: u64, s: u32, body: Body) {
    app.update(Action::Net(NetEvent::Message {
        clear: false,
        from: UserId(from),
        at: at(s),
        body,
    }));
}

/// Connected as #7 with five peers, #3 selected, a short conversation.
fn conversation() -> App {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.now = at(0);
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(7),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers(vec![
        UserId(2),
        UserId(3),
        UserId(5),
        UserId(11),
        UserId(12),
    ])));
    message(
        &mut app,
        2,
        5,
        Body::Text("hi all, is the build green?".into()),
    );
    message(
        &mut app,
        3,
        9,
        Body::Text("yes; the relay tests pass and the fan-out bench is at the usual figure".into()),
    );
    let file = Body::File {
        name: "report.pdf".into(),
        size: 48_213,
        place: FilePlace::Saved("/home/me/.local/share/hubbub/downloads/report.pdf".into()),
    };
    message(&mut app, 3, 12, file);
    key(&mut app, KeyCode::Down);
    key_with(&mut app, KeyCode::Char(' '), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Esc);
    app.now = at(20);
    type_text(&mut app, "thanks, merging now");
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let Some(tui_client::app::Effect::Relay(relay)) = effects.first() else {
        panic!("a relay: {effects:?}");
    };
    let answer = NetEvent::Relayed(
        relay.req,
        Answer {
            delivered: 1,
            ..Answer::default()
        },
    );
    app.update(Action::Net(answer));
    type_text(&mut app, "next: the client");
    app
}

fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

fn check(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    // Same width as a time, so the filtered screen keeps its columns.
    settings.add_filter(r"\d\d:\d\d:\d\d", "hh:mm:ss");
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

#[test]
fn main_screen_with_a_conversation() {
    let mut app = conversation();
    check("main_screen", draw(&app, 100, 24));
    app.update(Action::Resize(50, 12));
    check("main_screen_50x12", draw(&app, 50, 12));
}

/// `conversation()` logged in as alice (#7), in #3's conversation, while #2 writes twice (once
/// naming alice) and #5 once.
fn two_conversations() -> App {
    let mut app = conversation();
    app.update(Action::Net(NetEvent::LoggedIn {
        user_id: UserId(7),
        name: "alice".into(),
        waiting: 0,
    }));
    key_with(&mut app, KeyCode::Char('3'), KeyModifiers::ALT);
    message(&mut app, 2, 30, Body::Text("are you there?".into()));
    message(
        &mut app,
        2,
        31,
        Body::Text("alice: the release notes".into()),
    );
    message(&mut app, 5, 32, Body::Text("lunch?".into()));
    app
}

#[test]
fn two_conversations_with_unread_counts_and_a_mention() {
    let mut app = two_conversations();
    check("conversations", draw(&app, 100, 24));
    app.update(Action::Resize(50, 12));
    check("conversations_50x12", draw(&app, 50, 12));
    // In #2's conversation: its count is gone, the "new messages" line is where it was left.
    let mut app = two_conversations();
    key_with(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    check("conversation_new_messages", draw(&app, 100, 24));
    app.update(Action::Resize(50, 12));
    check("conversation_new_messages_50x12", draw(&app, 50, 12));
}

#[test]
fn help_popup_lists_the_keys_and_the_commands() {
    let mut app = conversation();
    key(&mut app, KeyCode::F(1));
    check("help", draw(&app, 100, 24));
    key(&mut app, KeyCode::End);
    check("help_end", draw(&app, 100, 24));
}

#[test]
fn help_popup_scrolls_at_50x12() {
    let mut app = conversation();
    app.update(Action::Resize(50, 12));
    key(&mut app, KeyCode::F(1));
    check("help_50x12", draw(&app, 50, 12));
    key(&mut app, KeyCode::PageDown);
    check("help_50x12_page_2", draw(&app, 50, 12));
    key(&mut app, KeyCode::End);
    check("help_50x12_end", draw(&app, 50, 12));
}

#[test]
fn quitting_with_a_draft_asks_on_the_bottom_row() {
    let mut app = conversation();
    key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    check("quit_confirm", draw(&app, 100, 24));
    app.update(Action::Resize(50, 12));
    check("quit_confirm_50x12", draw(&app, 50, 12));
}

#[test]
fn a_sentence_typed_in_the_peer_list_is_in_the_input_line() {
    let mut app = conversation();
    key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    key_with(&mut app, KeyCode::F(6), KeyModifiers::NONE);
    type_text(&mut app, "quick question: hey can you");
    check("typed_in_peers", draw(&app, 100, 24));
}

#[test]
fn search_marks_the_match_and_names_the_text() {
    let mut app = conversation();
    key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for i in 0..30 {
        message(&mut app, 5, 30, Body::Text(format!("filler {i}")));
    }
    type_text(&mut app, "/search relay");
    key(&mut app, KeyCode::Enter);
    check("search", draw(&app, 100, 24));
    let mut app = conversation();
    app.update(Action::Resize(50, 12));
    key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    message(&mut app, 5, 30, Body::Text("after it".into()));
    type_text(&mut app, "/search build");
    key(&mut app, KeyCode::Enter);
    check("search_50x12", draw(&app, 50, 12));
}

#[test]
fn attach_prompt_with_completions() {
    let mut app = conversation();
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('o'),
        KeyModifiers::CONTROL,
    )));
    type_text(&mut app, "~/notes/re");
    app.update(Action::Completions(vec![
        "~/notes/report.md".into(),
        "~/notes/retro.txt".into(),
    ]));
    check("attach_prompt", draw(&app, 100, 24));
}

#[test]
fn scrolled_up_inbox_shows_the_new_messages_marker() {
    let mut app = conversation();
    for i in 0..40 {
        message(
            &mut app,
            5 + (i % 2),
            30,
            Body::Text(format!("message number {i}")),
        );
    }
    key_with(&mut app, KeyCode::F(6), KeyModifiers::SHIFT);
    key(&mut app, KeyCode::PageUp);
    message(&mut app, 2, 40, Body::Text("this one arrives below".into()));
    check("scrolled_up", draw(&app, 100, 24));
}

#[test]
fn filtered_peer_list() {
    let mut app = conversation();
    key_with(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    type_text(&mut app, "1");
    check("filter", draw(&app, 100, 24));
}

#[test]
fn hub_gone_is_shown() {
    let mut app = conversation();
    app.now = at(50);
    let down = NetEvent::Disconnected {
        reason: "the hub closed the connection".into(),
        retry_in: Duration::from_secs(2),
    };
    app.update(Action::Net(down));
    check("disconnected", draw(&app, 100, 24));
}

#[test]
fn a_fail_over_to_another_address_is_shown() {
    let mut app = conversation();
    app.now = at(50);
    app.update(Action::Net(NetEvent::Disconnected {
        reason: "the hub closed the connection".into(),
        retry_in: Duration::from_millis(250),
    }));
    app.update(Action::Net(NetEvent::Connecting {
        attempt: 1,
        hub: "10.0.0.2:7878".into(),
    }));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(9),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers(vec![UserId(4), UserId(5)])));
    check("failed_over", draw(&app, 120, 24));
}

#[test]
fn too_small_says_so_instead_of_panicking() {
    let app = conversation();
    check("too_small", draw(&app, 30, 8));
    // Every size from 1x1 up draws without panicking.
    for w in 1..90 {
        for h in (1..30).step_by(3) {
            draw(&app, w, h);
        }
    }
}

#[test]
fn history_from_yesterday_has_a_date_line() {
    use chrono::NaiveDate;
    use tui_client::app::inbox::{Entry, Sender};
    use tui_client::history::Record;
    let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("valid");
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.today = day(3);
    app.now = at(0);
    app.keep_history(2);
    let old = |id, text: &str| Record {
        id,
        entry: Entry {
            at: at(id as u32),
            day: day(2),
            from: Sender::Peer(UserId(2)),
            body: Body::Text(text.into()),
            delivery: None,
            record: Some(id),
        },
    };
    app.update(Action::History(vec![
        old(1, "see you tomorrow"),
        old(2, "and bring the notes"),
    ]));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(7),
        limits: Limits::default(),
    }));
    message(&mut app, 2, 9, Body::Text("morning!".into()));
    check("history_date_lines", draw(&app, 100, 24));
    app.update(Action::Resize(50, 12));
    check("history_date_lines_50x12", draw(&app, 50, 12));
}

#[test]
fn a_narrow_terminal_hides_the_side_panes_and_says_which_key_shows_them() {
    let mut app = conversation();
    app.update(Action::Resize(80, 24));
    check("narrow_80x24", draw(&app, 80, 24));
    app.update(Action::Resize(50, 12));
    check("narrow_50x12", draw(&app, 50, 12));
}

#[test]
fn f2_shows_the_side_panes_on_a_narrow_terminal() {
    let mut app = two_conversations();
    app.update(Action::Resize(80, 24));
    key(&mut app, KeyCode::F(2));
    check("panes_shown_80x24", draw(&app, 80, 24));
    app.update(Action::Resize(50, 12));
    check("panes_shown_50x12", draw(&app, 50, 12));
}

#[test]
fn the_compose_box_grows_and_marks_the_lines_above() {
    let mut app = conversation();
    app.update(Action::Resize(80, 24));
    key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    app.update(Action::Paste(
        "a long draft: first line\nsecond\nthird, which is long enough to wrap at eighty columns, \
         so that it takes two rows\nfourth\nfifth"
            .into(),
    ));
    check("compose_grown", draw(&app, 80, 24));
}

#[test]
fn help_lists_the_keys_the_config_file_gave() {
    let table = [("toggle-panes", "alt-p"), ("next-pane", "f7")]
        .into_iter()
        .map(|(a, k)| (a.to_owned(), k.to_owned()))
        .collect();
    let mut app = conversation();
    app.keys = tui_client::app::keymap::KeyMap::new(&table).expect("good keys");
    key(&mut app, KeyCode::F(1));
    key(&mut app, KeyCode::End);
    for _ in 0..11 {
        key(&mut app, KeyCode::Up);
    }
    check("help_config_keys", draw(&app, 100, 24));
}

#[test]
fn a_queued_message_reads_delivered_once_its_receipt_comes() {
    let mut app = conversation();
    app.update(Action::Net(NetEvent::Names(vec![(
        UserId(3),
        "bob".into(),
    )])));
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let Some(tui_client::app::Effect::Relay(relay)) = effects.first() else {
        panic!("a relay: {effects:?}");
    };
    let answer = Answer {
        queued: vec![UserId(3)],
        seqs: vec![12],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer)));
    assert!(draw(&app, 100, 24).contains("◷ queued for bob"));
    app.update(Action::Net(NetEvent::Delivered {
        to: UserId(3),
        through: 12,
    }));
    check("receipt_delivered", draw(&app, 100, 24));
}
