//! Tab completion of commands, names and paths in the input line.

use shared::account::PeerInfo;

use super::*;

fn named(app: &mut App, id: u64, name: &str) {
    app.update(Action::Net(NetEvent::Arrived(PeerInfo {
        user_id: UserId(id),
        name: Some(name.into()),
    })));
}

/// `connected()` with bea and bob present.
fn with_names() -> App {
    let mut app = connected();
    named(&mut app, 4_294_967_297, "bob");
    named(&mut app, 4_294_967_298, "bea");
    app
}

fn tab(app: &mut App) -> Vec<Effect> {
    app.update(key(KeyCode::Tab))
}

#[test]
fn tab_completes_command_names_and_cycles_both_ways() {
    let mut app = connected();
    type_text(&mut app, "/w");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/who ");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/whois ");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/who ", "round again");
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.compose.content(), "/whois ");
    type_text(&mut app, "b");
    tab(&mut app);
    assert_eq!(
        app.compose.content(),
        "/whois b",
        "a new word: nothing starts with b"
    );
}

#[test]
fn tab_completes_names_in_arguments_and_after_commas() {
    let mut app = with_names();
    type_text(&mut app, "/msg b");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/msg bea");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/msg bob");
    type_text(&mut app, ",#");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/msg bob,#2");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/msg bob,#3");
}

#[test]
fn tab_completes_names_in_plain_text_and_command_names_for_help() {
    let mut app = with_names();
    type_text(&mut app, "thanks BO");
    tab(&mut app);
    assert_eq!(app.compose.content(), "thanks bob");
    app.update(ctrl('u'));
    type_text(&mut app, "/help se");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/help search");
}

#[test]
fn tab_after_file_asks_for_paths_and_fills_in_the_common_part() {
    let mut app = connected();
    type_text(&mut app, "/file /d/no");
    assert_eq!(tab(&mut app), [Effect::CompletePath("/d/no".into())]);
    app.update(Action::Completions(vec![
        "/d/notes.md".into(),
        "/d/notes.txt".into(),
    ]));
    assert_eq!(app.compose.content(), "/file /d/notes.");
    let n = app.notice.clone().expect("the choices");
    assert_eq!(n.text, "notes.md  notes.txt");
    tab(&mut app);
    app.update(Action::Completions(vec!["/d/notes.md".into()]));
    assert_eq!(app.compose.content(), "/file /d/notes.md");
}

#[test]
fn nothing_to_complete_is_said() {
    let mut app = connected();
    type_text(&mut app, "/zz");
    tab(&mut app);
    assert!(app
        .notice
        .clone()
        .expect("notice")
        .text
        .contains("no completion for '/zz'"));
    app.update(ctrl('u'));
    type_text(&mut app, "/clear ");
    tab(&mut app);
    assert_eq!(app.compose.content(), "/clear ", "no tab typed");
    assert!(app
        .notice
        .clone()
        .expect("notice")
        .text
        .contains("nothing completes"));
}
