//! The config's palette reaches the screen: the focused border in `accent`, your name in
//! `own`, the client's lines in `system`, the unread count in `unread`, an error in `warning`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use shared::{Limits, UserId};
use tui_client::app::{Action, App, Focus};
use tui_client::incoming::Body;
use tui_client::net::NetEvent;
use tui_client::render::Theme;

fn draw(app: &App) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The colour of the first cell of the first place `text` is drawn.
fn color_of(buf: &Buffer, text: &str) -> Color {
    let width = usize::from(buf.area.width);
    let cells: Vec<&str> = buf.content.iter().map(|c| c.symbol()).collect();
    for (row, line) in cells.chunks(width).enumerate() {
        let joined: String = line.concat();
        if let Some(byte) = joined.find(text) {
            let col = joined[..byte].chars().count();
            return buf[(col as u16, row as u16)].fg;
        }
    }
    panic!("{text:?} is not on screen");
}

#[test]
fn the_palette_colours_what_it_names() {
    let theme = Theme {
        accent: Color::Indexed(201),
        own: Color::Indexed(202),
        system: Color::Indexed(203),
        unread: Color::Indexed(204),
        warning: Color::Indexed(205),
    };
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.theme = theme;
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    app.update(Action::Net(NetEvent::Peers(vec![UserId(2)])));
    app.update(Action::Paste("/query #2".into()));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    app.update(Action::Paste("hello".into()));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('1'),
        KeyModifiers::ALT,
    )));
    app.update(Action::Focus(false));
    app.update(Action::Net(NetEvent::Message {
        from: UserId(2),
        at: chrono::NaiveTime::MIN,
        body: Body::Text("unseen".into()),
        clear: false,
    }));
    app.update(Action::Paste("/frobnicate".into()));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    app.focus = Focus::Compose;
    let buf = draw(&app);
    assert_eq!(color_of(&buf, "╭ Compose"), theme.accent);
    assert_eq!(color_of(&buf, "you → #2"), theme.own);
    assert_eq!(color_of(&buf, "* connected"), theme.system);
    assert_eq!(color_of(&buf, "1 unread"), theme.unread);
    assert_eq!(color_of(&buf, "unknown command"), theme.warning);
}
