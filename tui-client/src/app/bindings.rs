//! The one binding table: every key and every slash command, where it works, what it does and
//! what the hint row says about it. The help popup and the hint row are drawn from it, slash
//! commands are parsed and completed from it, and a test holds tui-client/README.md's key and
//! command tables to [`markdown`] and [`commands::markdown`]. What a key does is coded in
//! `keys.rs`, what a command does in `command.rs`.

pub mod actions;
pub mod commands;

use super::Focus;
pub use actions::{actions_markdown, Act, ActSpec, ACTIONS, OTHER_KEYS};
pub use commands::{CommandSpec, COMMANDS};

/// Where a binding works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In every pane.
    Any,
    /// The input line, which takes text and editing keys whatever pane has focus.
    Input,
    /// While the compose box has focus.
    Compose,
    /// While the peer list has focus.
    Peers,
    /// While the inbox has focus.
    Inbox,
    /// In the help popup.
    Help,
    /// The mouse.
    Mouse,
}

impl Place {
    /// The heading the help popup shows over these keys.
    pub fn heading(self) -> &'static str {
        match self {
            Place::Any => "in every pane",
            Place::Input => "the input line, in every pane",
            Place::Compose => "compose focused",
            Place::Peers => "peer list focused",
            Place::Inbox => "inbox focused",
            Place::Help => "this help",
            Place::Mouse => "the mouse (with --mouse)",
        }
    }

    /// The word the README's table shows.
    pub fn label(self) -> &'static str {
        match self {
            Place::Any => "any",
            Place::Input => "input",
            Place::Compose => "compose",
            Place::Peers => "peers",
            Place::Inbox => "inbox",
            Place::Help => "help",
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
use Place::{Any, Compose, Help, Inbox, Input, Mouse, Peers};

/// Every key binding, in the order the help popup and the README list them. No binding but
/// the input line's is a key that can be text: typing always types (as in weechat and irssi).
pub const BINDINGS: &[Binding] = &[
    bind(
        Input,
        "letters, digits, Space…",
        "typed into the input line, whatever pane has focus",
        Hint::None,
    ),
    bind(
        Input,
        "Enter",
        "send to the conversation (in all: the selected peers), or run the /command",
        In(Focus::Compose, "Enter send"),
    ),
    bind(
        Input,
        "Tab / Shift-Tab",
        "complete a /command, name or path; again cycles",
        In(Focus::Compose, "Tab completes"),
    ),
    bind(
        Input,
        "Alt/Shift-Enter, Ctrl-J",
        "new line",
        In(Focus::Compose, "Alt-Enter newline"),
    ),
    bind(
        Input,
        "Left/Right, Ctrl-Left/Right",
        "move by character / word",
        Hint::None,
    ),
    bind(
        Input,
        "Ctrl-A/E Ctrl-U/W",
        "start/end of line; delete to start/word",
        Hint::None,
    ),
    bind(
        Any,
        "F6 / Shift-F6, Alt-Right/Left",
        "next / previous pane",
        Always("F6 pane"),
    ),
    bind(Any, "Esc", "back to compose", Hint::None),
    bind(
        Any,
        "F2",
        "show / hide the conversation and peer panes (hidden below 90 columns)",
        Hint::None,
    ),
    bind(
        Any,
        "Alt-1…9",
        "show conversation 1–9 of the list (1 is all)",
        Hint::None,
    ),
    bind(
        Any,
        "Alt-Up/Down, Ctrl-P/N",
        "previous / next conversation",
        In(Focus::Compose, "Ctrl-N/P conv"),
    ),
    bind(
        Any,
        "Alt-N",
        "first unread here, else the next conversation with some",
        In(Focus::Inbox, "Alt-N unread"),
    ),
    bind(
        Any,
        "Alt-R / Alt-G",
        "reply to the sender / to all it went to",
        In(Focus::Inbox, "Alt-R/G reply"),
    ),
    bind(
        Any,
        "Ctrl-O / Ctrl-X",
        "attach a file (Tab completes) / drop it",
        // The compose box's last row says so already.
        Hint::None,
    ),
    bind(
        Any,
        "Ctrl-F",
        "find peers by id/name; Enter keeps, Esc clears",
        In(Focus::Peers, "Ctrl-F find"),
    ),
    bind(
        Any,
        "PgUp / PgDn",
        "scroll the inbox (peers when focused)",
        Hint::None,
    ),
    bind(
        Any,
        "F3 / Shift-F3",
        "next older / newer /search match",
        Hint::None,
    ),
    bind(
        Any,
        "F1 / Ctrl-C",
        "help / quit (asks if a draft is unsent)",
        Always("F1 help"),
    ),
    bind(Any, "Ctrl-L", "redraw the whole screen", Hint::None),
    bind(
        Compose,
        "Up / Down",
        "older / newer sent text (first / last line)",
        Hint::None,
    ),
    bind(Compose, "Home / End", "start / end of the line", Hint::None),
    bind(Peers, "Up/Down Home/End", "move", Hint::None),
    bind(
        Peers,
        "Ctrl-Space / Insert",
        "select / unselect (at most 255)",
        In(Focus::Peers, "Ctrl-Space select"),
    ),
    bind(
        Peers,
        "Alt-A / Alt-U",
        "select all shown / unselect all",
        In(Focus::Peers, "Alt-A/U all/none"),
    ),
    bind(
        Inbox,
        "Up / Down",
        "scroll a line",
        In(Focus::Inbox, "Up/Down PgUp/PgDn scroll"),
    ),
    bind(
        Inbox,
        "Home / End",
        "oldest / newest",
        In(Focus::Inbox, "End newest"),
    ),
    bind(
        Help,
        "Up/Down PgUp/PgDn",
        "scroll; any other key closes",
        Hint::None,
    ),
    bind(
        Mouse,
        "wheel",
        "scroll the inbox (with --mouse)",
        Hint::None,
    ),
    bind(
        Mouse,
        "left click",
        "on a conversation: show it; on a peer: select / unselect it (with --mouse)",
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

/// One row of the help popup.
#[derive(Clone, Debug)]
pub enum HelpRow {
    /// A heading: where the keys below work, or "commands".
    Heading(&'static str),
    /// Keys and what they do.
    Key(&'static Binding),
    /// A slash command and what it does.
    Command(&'static CommandSpec),
    /// A key the config file gave to an action: the key, and what it does.
    Given(String, String),
}

/// The help popup's rows: the keys grouped under their place, the keys the config file
/// (`given`) added, then the commands.
pub fn help_rows(given: &super::keymap::KeyMap) -> Vec<HelpRow> {
    let mut rows = Vec::new();
    let mut place = None;
    for b in BINDINGS {
        if place != Some(b.place) {
            place = Some(b.place);
            rows.push(HelpRow::Heading(b.place.heading()));
        }
        rows.push(HelpRow::Key(b));
    }
    let given = given.given();
    if !given.is_empty() {
        rows.push(HelpRow::Heading("keys from the config file"));
        for (key, act) in given {
            let own = super::keymap::Key::parse(act.keys[0]).map(|k| k.human());
            let does = format!("{} (as {})", act.name, own.unwrap_or_default());
            rows.push(HelpRow::Given(key, does));
        }
    }
    rows.push(HelpRow::Heading("slash commands"));
    rows.extend(COMMANDS.iter().map(HelpRow::Command));
    rows
}

/// The key table as Markdown, as tui-client/README.md shows it.
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
