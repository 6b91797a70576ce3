//! The compose box drawn into a `TestBackend`: a text taller than the box says how much of it
//! is hidden, and the cursor's line stays in view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui_client::app::{Action, App, Focus};

fn rows(app: &App) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("terminal");
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

/// The compose box's text rows on screen: those between its title and its info row.
fn box_rows(screen: &[String]) -> usize {
    let title = line_of(screen, "Compose").expect("the compose title");
    let info = line_of(screen, "Ctrl-O attaches").expect("the info row");
    info - title - 1
}

#[test]
fn the_box_grows_with_its_wrapped_text_up_to_a_third_of_the_screen() {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.focus = Focus::Compose;
    app.update(Action::Paste("one\ntwo".into()));
    assert_eq!(box_rows(&rows(&app)), 3, "three rows at least");
    app.update(Action::Paste("\nthree\nfour".into()));
    assert_eq!(box_rows(&rows(&app)), 4, "{:#?}", rows(&app));
    // A line longer than the box is wide takes rows of its own: 74 columns inside the
    // borders (beside the side panes), so 100 characters are two rows.
    app.update(Action::Paste(format!("\n{}", "x".repeat(100))));
    let screen = rows(&app);
    assert_eq!(box_rows(&screen), 5, "{screen:#?}");
    assert!(
        line_of(&screen, &format!("│{}│", "x".repeat(74))).is_some(),
        "{screen:#?}"
    );
    assert!(
        line_of(&screen, &format!("│{} ", "x".repeat(26))).is_some(),
        "{screen:#?}"
    );
    // 24 rows: a third is 8, the box's borders and info row take 3 of them.
    app.update(Action::Paste("\nsix\nseven".into()));
    assert_eq!(box_rows(&rows(&app)), 5, "it stops at a third");
}

#[test]
fn a_tall_text_says_how_many_lines_are_above_and_below() {
    let mut app = App::new("127.0.0.1:7878", (100, 24));
    app.focus = Focus::Compose;
    app.update(Action::Paste(
        "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight".into(),
    ));
    let screen = rows(&app);
    let hint = line_of(&screen, "↑ 4 more lines above").expect("a hint above the text");
    assert_eq!(line_of(&screen, "five"), Some(hint + 1), "{screen:#?}");
    assert_eq!(line_of(&screen, "eight"), Some(hint + 4), "{screen:#?}");
    assert_eq!(line_of(&screen, "four"), None, "{screen:#?}");

    for _ in 0..7 {
        app.update(Action::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)));
    }
    let screen = rows(&app);
    assert!(
        line_of(&screen, "↓ 4 more lines below").is_some(),
        "{screen:#?}"
    );
    assert!(line_of(&screen, "one").is_some(), "{screen:#?}");
}
