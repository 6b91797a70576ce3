//! The one binding table: every key, where it works, what it does and what the hint row says
//! about it. The help popup and the hint row are drawn from it, and a test holds
//! tui-client/README.md's key table to [`markdown`]. What a key does is coded in `keys.rs`.

use super::Focus;

/// Where a binding works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In every pane.
    Any,
    /// In the peer list.
    Peers,
    /// In the compose box.
    Compose,
    /// In the inbox.
    Inbox,
    /// In the peer list and the inbox (compose takes these keys as text).
    PeersInbox,
    /// The mouse.
    Mouse,
}

impl Place {
    /// The word the help popup and the README show.
    pub fn label(self) -> &'static str {
        match self {
            Place::Any => "any",
            Place::Peers => "peers",
            Place::Compose => "compose",
            Place::Inbox => "inbox",
            Place::PeersInbox => "peers+inbox",
            Place::Mouse => "mouse",
        }
    }
}

/// What the hint row shows of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Nothing.
    None,
    /// This text while this pane has focus.
    In(Focus, &'static str),
    /// This text in every pane, after the pane's own hints.
    Always(&'static str),
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// Where it works.
    pub place: Place,
    /// The keys, as written for people.
    pub keys: &'static str,
    /// What they do.
    pub does: &'static str,
    /// Its part of the hint row.
    pub hint: Hint,
}

const fn bind(place: Place, keys: &'static str, does: &'static str, hint: Hint) -> Binding {
    Binding {
        place,
        keys,
        does,
        hint,
    }
}

use Hint::{Always, In};
use Place::{Any, Compose, Inbox, Mouse, Peers, PeersInbox};

/// Every key binding, in the order the help popup and the README list them.
pub const BINDINGS: &[Binding] = &[
    bind(
        Any,
        "Tab / Shift-Tab",
        "next / previous pane",
        Always("Tab focus"),
    ),
    bind(
        Any,
        "Ctrl-O / Ctrl-X",
        "attach a file (Tab completes) / drop it",
        In(Focus::Compose, "Ctrl-O attach"),
    ),
    bind(
        Any,
        "PgUp / PgDn",
        "scroll the inbox (peers when focused)",
        Hint::None,
    ),
    bind(
        Any,
        "F1 / Ctrl-C",
        "this help / quit",
        Always("F1 help · Ctrl-C quit"),
    ),
    bind(Any, "Ctrl-L", "redraw the whole screen", Hint::None),
    bind(Peers, "Up/Down j/k Home/End", "move", Hint::None),
    bind(
        Peers,
        "Space",
        "select / unselect (at most 255)",
        In(Focus::Peers, "Space select"),
    ),
    bind(
        Peers,
        "a / c",
        "select all shown / clear selection",
        In(Focus::Peers, "a all · c clear"),
    ),
    bind(
        Peers,
        "/",
        "filter id/name; Enter keeps, Esc clears",
        In(Focus::Peers, "/ filter"),
    ),
    bind(Peers, "Enter", "go to compose", Hint::None),
    bind(
        Compose,
        "Enter",
        "send to the selected peers",
        In(Focus::Compose, "Enter send"),
    ),
    bind(
        Compose,
        "Alt/Shift-Enter, Ctrl-J",
        "new line",
        In(Focus::Compose, "Alt-Enter newline"),
    ),
    bind(Compose, "Up / Down", "older / newer sent text", Hint::None),
    bind(
        Compose,
        "Ctrl-A/E Ctrl-U/W",
        "start/end of line; delete to start/word",
        Hint::None,
    ),
    bind(Compose, "Esc", "back to the peer list", Hint::None),
    bind(
        Inbox,
        "Up/Down j/k",
        "scroll a line",
        In(Focus::Inbox, "Up/Down PgUp/PgDn scroll"),
    ),
    bind(
        Inbox,
        "Home/g End/G",
        "oldest / newest",
        In(Focus::Inbox, "End newest"),
    ),
    bind(PeersInbox, "? / q", "this help / quit", Hint::None),
    bind(
        Mouse,
        "wheel",
        "scroll the inbox (with --mouse)",
        Hint::None,
    ),
];

/// The hint row for a pane: its own hints (the pane's keys before the global keys shown
/// there), then the ones every pane shows.
pub fn hints(focus: Focus) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut own: Vec<(bool, &str)> = BINDINGS
        .iter()
        .filter_map(|b| match b.hint {
            In(pane, text) if pane == focus => Some((b.place == Any, text)),
            _ => None,
        })
        .collect();
    own.sort_by_key(|(global, _)| *global);
    let own = own.into_iter().map(|(_, text)| text).collect();
    let always = BINDINGS
        .iter()
        .filter_map(|b| match b.hint {
            Always(text) => Some(text),
            _ => None,
        })
        .collect();
    (own, always)
}

/// The table as Markdown, as tui-client/README.md shows it.
pub fn markdown() -> String {
    let mut out = String::from("| where | keys | does |\n|---|---|---|\n");
    for b in BINDINGS {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            b.place.label(),
            b.keys.replace('|', "\\|"),
            b.does.replace('|', "\\|")
        ));
    }
    out
}
