//! Everything drawn passes one sanitiser: text typed, pasted, sent, remembered or received, file
//! names offered by completion and paths typed or attached never reach the terminal as
//! control, bidi or other format characters; those are shown visibly instead.

use std::path::PathBuf;

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{Limits, UserId};
use tui_client::app::compose::{Attachment, PathPrompt};
use tui_client::app::{Action, App};
use tui_client::incoming::Body;
use tui_client::net::NetEvent;

const RED: &str = "x \x1b[41mRED\x1b[0m\ty";

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Connected as #1 with #2 selected and the compose box focused.
fn ready() -> App {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers(vec![UserId(2)])));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(' '),
        KeyModifiers::CONTROL,
    )));
    key(&mut app, KeyCode::Esc);
    app
}

/// Whether a character may go to the terminal as it is.
fn harmless(c: char) -> bool {
    let format = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}' | '\u{2060}'..='\u{2064}');
    !c.is_control() && !format
}

/// Draw `app` and return the screen's rows, failing on any cell that holds a character that
/// must not reach the terminal.
fn screen(app: &App) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    let buf = terminal.backend().buffer();
    let mut rows = Vec::new();
    for y in 0..buf.area.height {
        let mut row = String::new();
        for x in 0..buf.area.width {
            let symbol = buf[(x, y)].symbol();
            assert!(
                symbol.chars().all(harmless),
                "cell ({x},{y}) holds {symbol:?}"
            );
            row.push_str(symbol);
        }
        rows.push(row);
    }
    rows
}

fn shows(rows: &[String], text: &str) -> bool {
    rows.iter().any(|r| r.contains(text))
}

#[test]
fn pasted_escapes_are_shown_not_obeyed_in_compose_inbox_and_history() {
    let mut app = ready();
    app.update(Action::Paste(RED.into()));
    let rows = screen(&app);
    assert!(shows(&rows, "x ^[[41mRED^[[0m y"), "compose: {rows:#?}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.compose.content(), "", "sent");
    let rows = screen(&app);
    assert!(shows(&rows, "x ^[[41mRED^[[0m y"), "own entry: {rows:#?}");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.compose.content(), RED, "history keeps the exact text");
    let rows = screen(&app);
    assert_eq!(
        rows.iter().filter(|r| r.contains("^[[41mRED")).count(),
        2,
        "entry and history: {rows:#?}"
    );
}

#[test]
fn received_bidi_and_zero_width_characters_are_shown_visibly() {
    let mut app = ready();
    app.update(Action::Net(NetEvent::Message {
        clear: false,
        from: UserId(2),
        at: chrono::NaiveTime::MIN,
        body: Body::Text("pay \u{202e}gnp.exe\u{200b} now\x07".into()),
    }));
    let rows = screen(&app);
    assert!(
        shows(&rows, "pay <U+202E>gnp.exe<U+200B> now^G"),
        "{rows:#?}"
    );
}

#[test]
fn file_names_in_completions_prompt_and_attachment_are_sanitised() {
    let mut app = ready();
    app.compose.prompt = Some(PathPrompt::default());
    let odd = "/tmp/a\x1b[2Jb\u{202e}c";
    app.update(Action::Paste(odd.into()));
    app.update(Action::Completions(vec![
        format!("{odd}1"),
        format!("{odd}2\x1b[5m"),
        format!("{odd}3\nx"),
    ]));
    let rows = screen(&app);
    assert!(shows(&rows, "a^[[2Jb<U+202E>c"), "prompt: {rows:#?}");
    assert!(
        shows(&rows, "a^[[2Jb<U+202E>c2^[[5m"),
        "completions: {rows:#?}"
    );
    assert!(shows(&rows, "c3^Jx"), "a newline in a name: {rows:#?}");
    let attachment = Attachment {
        path: PathBuf::from(format!("{odd}.txt")),
        name: "ab.txt".into(),
        body: Bytes::from_static(b"hello"),
    };
    app.update(Action::FileLoaded(Ok(attachment)));
    key(&mut app, KeyCode::Enter);
    let rows = screen(&app);
    assert!(
        shows(&rows, "/tmp/a^[[2Jb<U+202E>c.txt"),
        "own file entry: {rows:#?}"
    );
}
