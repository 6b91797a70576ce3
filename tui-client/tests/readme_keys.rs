//! tui-client/README.md's key table is the binding table the client draws its help and hint
//! row from: a key added, changed or removed in `src/app/bindings.rs` fails this test until the
//! README says the same.

use tui_client::app::bindings;

#[test]
fn the_readme_key_table_is_the_binding_table() {
    let readme = include_str!("../README.md");
    let (start, end) = ("<!-- keys:start -->\n", "<!-- keys:end -->");
    let from = readme.find(start).expect("the README marks its key table") + start.len();
    let to = from + readme[from..].find(end).expect("the end marker");
    let expected = bindings::markdown();
    assert!(
        readme[from..to] == expected,
        "README.md's key table differs from src/app/bindings.rs; between the markers put:\n{expected}"
    );
}
