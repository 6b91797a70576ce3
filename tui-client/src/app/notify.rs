//! Telling you a message came when you are not looking: the terminal bell, the unread count in
//! the terminal's title and, if asked for, a desktop notification through OSC 9 or OSC 777.
//! Pure: `App` reports alerts and ticks, the event loop writes what [`Notifier::escapes`]
//! returns after each batch of events. Nothing here spams: a burst rings once, desktop
//! notifications are merged into one every [`DESKTOP_GAP_TICKS`], and the title is written
//! only when the count changes.

use std::fmt::Write as _;

/// Ticks (500 ms each) after a bell before another may ring: a burst rings once.
pub const BELL_GAP_TICKS: u32 = 4;
/// Ticks after a desktop notification before the next; what comes meanwhile is merged into it.
pub const DESKTOP_GAP_TICKS: u32 = 20;
/// Senders named in a merged desktop notification before "and n more".
const NAMED: usize = 3;

/// Which escape sequence, if any, carries desktop notifications.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Desktop {
    /// None (the default).
    #[default]
    Off,
    /// `ESC ] 9 ; text BEL` (iTerm2, Windows Terminal, ConEmu, kitty, WezTerm).
    Osc9,
    /// `ESC ] 777 ; notify ; title ; text BEL` (urxvt, foot, VTE terminals such as GNOME's).
    Osc777,
}

/// Which of the ways to tell are used (the config file's `[notify]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choices {
    /// Ring the terminal bell.
    pub bell: bool,
    /// Write the unread count into the terminal's title.
    pub title: bool,
    /// A mention notifies even in a quiet conversation.
    pub mentions: bool,
    /// Where "bob went offline" and "bob came back online" are drawn.
    pub presence: Presence,
}

/// Where a peer's presence lines go (`notify.presence`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Only in the peer's own conversation, if it has one: a busy hub does not bury "all".
    #[default]
    Conversations,
    /// There and in "all", for every peer.
    All,
    /// Nowhere.
    Off,
}

impl Default for Choices {
    fn default() -> Choices {
        Choices {
            bell: true,
            title: true,
            mentions: true,
            presence: Presence::default(),
        }
    }
}

/// What is due to be said, and when it may be.
#[derive(Debug, Default)]
pub struct Notifier {
    /// Whether the terminal has focus (focus events; assumed until told otherwise).
    pub unfocused: bool,
    /// Desktop notifications.
    pub desktop: Desktop,
    /// Bell, title, mentions.
    pub choices: Choices,
    bell_due: bool,
    bell_wait: u32,
    /// Senders of what is not yet in a desktop notification, each once, in order.
    senders: Vec<String>,
    count: usize,
    mention: bool,
    desktop_wait: u32,
    /// The unread count the title shows; `None` until the title is first written.
    title: Option<usize>,
}

impl Notifier {
    /// A message for us from `sender` that is not on screen.
    pub fn alert(&mut self, sender: &str, mention: bool) {
        self.bell_due = true;
        self.count += 1;
        self.mention |= mention;
        if !self.senders.iter().any(|s| s == sender) {
            self.senders.push(sender.to_owned());
        }
    }

    /// Half a second passed.
    pub fn tick(&mut self) {
        self.bell_wait = self.bell_wait.saturating_sub(1);
        self.desktop_wait = self.desktop_wait.saturating_sub(1);
    }

    /// The bytes to write to the terminal now (often none), with `unread` messages unread.
    pub fn escapes(&mut self, unread: usize) -> String {
        let mut out = String::new();
        if self.choices.title && self.title != Some(unread) {
            self.title = Some(unread);
            out.push_str(&title(unread));
        }
        if std::mem::take(&mut self.bell_due) && self.choices.bell && self.bell_wait == 0 {
            out.push('\x07');
            self.bell_wait = BELL_GAP_TICKS;
        }
        if self.desktop == Desktop::Off {
            self.clear_desktop();
        } else if self.count > 0 && self.desktop_wait == 0 {
            let text = self.desktop_text();
            let _ = match self.desktop {
                Desktop::Osc9 => write!(out, "\x1b]9;hubbub: {text}\x07"),
                Desktop::Osc777 => write!(out, "\x1b]777;notify;hubbub;{text}\x07"),
                Desktop::Off => Ok(()),
            };
            self.clear_desktop();
            self.desktop_wait = DESKTOP_GAP_TICKS;
        }
        out
    }

    fn clear_desktop(&mut self) {
        self.senders.clear();
        self.count = 0;
        self.mention = false;
    }

    /// "bob: a new message", "5 new messages from bob, carol", "… (you are mentioned)".
    /// Never the text itself: a notification daemon is no place for it.
    fn desktop_text(&self) -> String {
        let mut who: Vec<&str> = self
            .senders
            .iter()
            .take(NAMED)
            .map(String::as_str)
            .collect();
        let more = self.senders.len().saturating_sub(NAMED);
        let more = format!("and {more} more");
        if self.senders.len() > NAMED {
            who.push(&more);
        }
        let mut text = match self.count {
            1 => format!("a new message from {}", who.join(", ")),
            n => format!("{n} new messages from {}", who.join(", ")),
        };
        if self.mention {
            text.push_str(" (you are mentioned)");
        }
        // Names are account names or #ids, but nothing that ends or splits the sequence
        // may get in whatever they become.
        text.chars()
            .map(|c| if c.is_control() || c == ';' { ' ' } else { c })
            .collect()
    }
}

/// The title sequence (OSC 2) for `unread` messages: `(3) hubbub`, or `hubbub`.
pub fn title(unread: usize) -> String {
    match unread {
        0 => "\x1b]2;hubbub\x07".to_owned(),
        n => format!("\x1b]2;({n}) hubbub\x07"),
    }
}

/// Save the terminal's title on its stack (XTWINOPS 22); [`POP_TITLE`] puts it back on exit.
pub const PUSH_TITLE: &str = "\x1b[22;0t";
/// Restore the title saved by [`PUSH_TITLE`]. Terminals without a title stack ignore both, and
/// keep `hubbub` as the title.
pub const POP_TITLE: &str = "\x1b[23;0t";

impl super::App {
    /// The terminal's focus changed: coming back reads the conversation on screen.
    pub(super) fn on_focus(&mut self, focused: bool) {
        self.notify.unfocused = !focused;
        if focused {
            let i = self.inbox.active();
            self.inbox.conversation_mut(i).read();
        }
    }

    /// What to write to the terminal besides the frame (title, bell, desktop notification);
    /// the event loop asks after each batch of events.
    pub fn terminal_escapes(&mut self) -> String {
        let unread = self.unread();
        self.notify.escapes(unread)
    }

    /// Unread messages in every conversation ("all" counts only those that are in no other).
    pub fn unread(&self) -> usize {
        self.inbox.conversations().iter().map(|c| c.unread).sum()
    }
}

#[cfg(test)]
mod tests;
