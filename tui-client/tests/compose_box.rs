//! The compose box drawn into a `TestBackend`: a text taller than the box says how much of it
//! is hidden, and the cursor's line stays in view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui_client::app::{Action, App, Focus};

fn rows(app: &App) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("draw");
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

fn line_of(rows: &[String], text: &str) -> Option<usize> {
    rows.iter().position(|r| r.contains(text))
}

#[test]
fn a_tall_text_says_how_many_lines_are_above_and_below() {
    let mut app = App::new("127.0.0.1:7878", (80, 24));
    app.focus = Focus::Compose;
    app.update(Action::Paste("one\ntwo\nthree\nfour\nfive".into()));
    let screen = rows(&app);
    let hint = line_of(&screen, "↑ 3 more lines above").expect("a hint above the text");
    assert_eq!(line_of(&screen, "four"), Some(hint + 1), "{screen:#?}");
    assert_eq!(line_of(&screen, "five"), Some(hint + 2), "{screen:#?}");
    assert_eq!(line_of(&screen, "three"), None, "{screen:#?}");

    for _ in 0..4 {
        app.update(Action::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)));
    }
    let screen = rows(&app);
    assert!(
        line_of(&screen, "↓ 3 more lines below").is_some(),
        "{screen:#?}"
    );
    assert!(line_of(&screen, "one").is_some(), "{screen:#?}");
}
