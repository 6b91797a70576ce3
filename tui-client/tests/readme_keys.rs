//! tui-client/README.md's key and command tables are the binding table the client draws its
//! help and hint row from (and parses and completes commands by): a key or command added,
//! changed or removed in `src/app/bindings.rs` or `src/app/bindings/commands.rs` fails this
//! test until the README says the same.

use tui_client::app::bindings;

/// The text between `<!-- NAME:start -->` and `<!-- NAME:end -->` in the README.
fn section(name: &str) -> &'static str {
    let readme = include_str!("../README.md");
    let (start, end) = (
        format!("<!-- {name}:start -->\n"),
        format!("<!-- {name}:end -->"),
    );
    let from = readme.find(&start).expect("the README marks the table") + start.len();
    let to = from + readme[from..].find(&end).expect("the end marker");
    &readme[from..to]
}

#[test]
fn the_readme_key_table_is_the_binding_table() {
    let expected = bindings::markdown();
    assert!(
        section("keys") == expected,
        "README.md's key table differs from src/app/bindings.rs; between the markers put:\n{expected}"
    );
}

#[test]
fn the_readme_command_table_is_the_command_table() {
    let expected = bindings::commands::markdown();
    assert!(
        section("commands") == expected,
        "README.md's command table differs from src/app/bindings/commands.rs; between the markers put:\n{expected}"
    );
}

#[test]
fn the_readme_action_table_is_the_binding_tables_actions() {
    let expected = bindings::actions_markdown();
    assert!(
        section("actions") == expected,
        "README.md's action table differs from src/app/bindings.rs; between the markers put:\n{expected}"
    );
}
