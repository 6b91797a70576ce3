//! The part of the binding table the config file's `[keys]` reaches: the actions of
//! [`super::BINDINGS`] by name, each with its own keys in the config's notation, and the
//! other keys of the table, which no action may be given.

/// An action a key can be given for in the config file's `[keys]` (as well as its own keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Act {
    /// F6.
    NextPane,
    /// Shift-F6.
    PreviousPane,
    /// Esc.
    Compose,
    /// F2.
    TogglePanes,
    /// Alt-Up.
    PreviousConversation,
    /// Alt-Down.
    NextConversation,
    /// Alt-N.
    NextUnread,
    /// Alt-R.
    Reply,
    /// Alt-G.
    ReplyAll,
    /// Ctrl-O.
    Attach,
    /// Ctrl-X.
    DropFile,
    /// Ctrl-F.
    FindPeers,
    /// PgUp.
    PageUp,
    /// PgDn.
    PageDown,
    /// F3.
    SearchOlder,
    /// Shift-F3.
    SearchNewer,
    /// F1.
    Help,
    /// Ctrl-C.
    Quit,
    /// Ctrl-L.
    Redraw,
    /// Insert.
    SelectPeer,
    /// Alt-A.
    SelectAll,
    /// Alt-U.
    UnselectAll,
}

/// One action of [`ACTIONS`].
#[derive(Clone, Copy, Debug)]
pub struct ActSpec {
    /// The action.
    pub act: Act,
    /// Its name in the config file.
    pub name: &'static str,
    /// Its own keys, in the config file's notation; a key given for it in the config acts
    /// as the first.
    pub keys: &'static [&'static str],
}

const fn act(act: Act, name: &'static str, keys: &'static [&'static str]) -> ActSpec {
    ActSpec { act, name, keys }
}

/// The actions of [`BINDINGS`] that the config file can give another key, with their own keys.
pub const ACTIONS: &[ActSpec] = &[
    act(Act::NextPane, "next-pane", &["f6", "alt-right"]),
    act(
        Act::PreviousPane,
        "previous-pane",
        &["shift-f6", "alt-left"],
    ),
    act(Act::Compose, "compose", &["esc"]),
    act(Act::TogglePanes, "toggle-panes", &["f2"]),
    act(
        Act::PreviousConversation,
        "previous-conversation",
        &["alt-up", "ctrl-p"],
    ),
    act(
        Act::NextConversation,
        "next-conversation",
        &["alt-down", "ctrl-n"],
    ),
    act(Act::NextUnread, "next-unread", &["alt-n"]),
    act(Act::Reply, "reply", &["alt-r"]),
    act(Act::ReplyAll, "reply-all", &["alt-g"]),
    act(Act::Attach, "attach", &["ctrl-o"]),
    act(Act::DropFile, "drop-file", &["ctrl-x"]),
    act(Act::FindPeers, "find-peers", &["ctrl-f"]),
    act(Act::PageUp, "page-up", &["pageup"]),
    act(Act::PageDown, "page-down", &["pagedown"]),
    act(Act::SearchOlder, "search-older", &["f3"]),
    act(Act::SearchNewer, "search-newer", &["shift-f3"]),
    act(Act::Help, "help", &["f1"]),
    act(Act::Quit, "quit", &["ctrl-c"]),
    act(Act::Redraw, "redraw", &["ctrl-l"]),
    act(Act::SelectPeer, "select-peer", &["insert", "ctrl-space"]),
    act(Act::SelectAll, "select-all", &["alt-a"]),
    act(Act::UnselectAll, "unselect-all", &["alt-u"]),
];

/// The other keys of [`BINDINGS`] (the input line's and the panes' own), which the config
/// file cannot give to an action either.
pub const OTHER_KEYS: &[&str] = &[
    "enter",
    "tab",
    "shift-tab",
    "alt-enter",
    "shift-enter",
    "ctrl-j",
    "left",
    "right",
    "ctrl-left",
    "ctrl-right",
    "ctrl-a",
    "ctrl-e",
    "ctrl-u",
    "ctrl-w",
    "up",
    "down",
    "home",
    "end",
    "backspace",
    "delete",
    "alt-1",
    "alt-2",
    "alt-3",
    "alt-4",
    "alt-5",
    "alt-6",
    "alt-7",
    "alt-8",
    "alt-9",
];

/// The actions as Markdown, as tui-client/README.md's Config section shows them.
pub fn actions_markdown() -> String {
    let mut out = String::from("| action | its own keys |\n|---|---|\n");
    for a in ACTIONS {
        out.push_str(&format!("| `{}` | {} |\n", a.name, a.keys.join(", ")));
    }
    out
}
