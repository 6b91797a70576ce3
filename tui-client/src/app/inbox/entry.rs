//! One inbox entry: who, when, what, what became of it; its label, text and wrapping.

use chrono::{NaiveDate, NaiveTime};
use shared::UserId;

use super::Names;
use crate::incoming::Body;
use crate::net::Answer;
use crate::sanitize::{display, display_line};
use unicode_width::UnicodeWidthStr;

mod wrap;
pub use wrap::Row;

/// Width of `HH:MM:SS `, the start of every entry.
pub const TIME_WIDTH: usize = 9;
/// Indent of continuation lines.
pub const INDENT: usize = TIME_WIDTH + 2;

/// Who an entry is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    /// Another user.
    Peer(UserId),
    /// Us, sending to these ids.
    Me {
        /// The receivers.
        to: Vec<UserId>,
    },
    /// The client itself (joins, leaves, connection changes).
    System,
}

/// What became of one of our relays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for the hub's answer.
    Pending,
    /// The hub's answer.
    Done(Answer),
    /// The relay failed.
    Failed(String),
    /// Another session of our account sent it; only that session knows what became of it.
    Elsewhere,
    /// A message for us that came in the clear (not end-to-end encrypted).
    Clear,
    /// A message for us that must not be believed: an envelope that did not open, or one
    /// from a key that is not the pinned one (why).
    Alert(String),
}

/// One line of the inbox history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Local time of arrival (or of sending).
    pub at: NaiveTime,
    /// Its day: a date line is drawn where the day changes.
    pub day: NaiveDate,
    /// Who.
    pub from: Sender,
    /// What.
    pub body: Body,
    /// For our own messages: the relay's fate.
    pub delivery: Option<Delivery>,
    /// Its id in the history store, if it is kept there.
    pub record: Option<i64>,
}

impl Entry {
    /// The label after the time: `#3`, `bob`, `you → #2, alice`, `*`.
    pub fn label(&self, names: &Names) -> String {
        match &self.from {
            Sender::Peer(id) => names.label(*id),
            Sender::System => "*".to_owned(),
            Sender::Me { to } if to.len() <= 3 => {
                let ids: Vec<String> = to.iter().map(|id| names.label(*id)).collect();
                format!("you → {}", ids.join(", "))
            }
            Sender::Me { to } => format!("you → {} peers", to.len()),
        }
    }

    /// The body as one string to wrap, sanitised for the terminal.
    pub fn text(&self) -> String {
        match &self.body {
            Body::Text(text) => display(text).into_owned(),
            // A name or path with a newline in it still reads as one.
            file => display_line(&file.describe()).into_owned(),
        }
    }

    /// The body wrapped to `width` columns: the first row follows the time and label, the
    /// rest are indented by [`INDENT`] (returned without the indents), except the rows of a
    /// path. A word with a `/` in it (a path, a URL) is never broken at a hyphen, and one
    /// too long for an indented row gets rows of its own, unindented, cut only at `width`:
    /// nothing is inserted in it, so a terminal selection of those rows is the path.
    pub fn wrap(&self, width: usize, names: &Names) -> Vec<Row> {
        let label_width = TIME_WIDTH + self.label(names).width() + 1;
        wrap::rows(&self.text(), width, label_width)
    }

    /// Rows this entry takes at `width`: the wrapped body plus the delivery rows.
    pub fn height(&self, width: usize, names: &Names) -> usize {
        self.wrap(width, names).len() + self.delivery_rows(width, names).len()
    }

    /// The delivery line under the entry, in words: waiting, delivered to n (queued,
    /// unknown, dropped, full), failed and why, sent by another session, not encrypted, an
    /// alert.
    pub fn delivery_text(&self, names: &Names) -> Option<String> {
        Some(match self.delivery.as_ref()? {
            Delivery::Pending => "… waiting for the hub".to_owned(),
            Delivery::Elsewhere => "↗ sent from another session".to_owned(),
            Delivery::Done(answer) => outcome(answer, names),
            Delivery::Failed(why) => format!("✗ not sent: {}", display_line(why)),
            Delivery::Clear => "⚠ not encrypted".to_owned(),
            Delivery::Alert(why) => format!("⚠ {}", display_line(why)),
        })
    }

    /// [`Self::delivery_text`] wrapped under the message, every row after the indent (a
    /// refusal that names both fingerprints and the command to run is read to its end).
    pub fn delivery_rows(&self, width: usize, names: &Names) -> Vec<Row> {
        let Some(text) = self.delivery_text(names) else {
            return Vec::new();
        };
        let mut rows = wrap::rows(&text, width, INDENT);
        for row in &mut rows {
            row.indented = true;
        }
        rows
    }
}

/// How many receivers a delivery line names before "and n more".
const IDS_SHOWN: usize = 8;

/// The hub's answer in words. "delivered to 0" only when nobody was reached in any way; a
/// message that is only queued says so first, with a clock. Receipts move names from "queued
/// for" to "delivered to".
fn outcome(answer: &Answer, names: &Names) -> String {
    let mut parts = Vec::new();
    let reached = answer.reached.len() as u32;
    match (answer.delivered, reached) {
        (0, 0) => {}
        (0, _) => parts.push(format!("✓ delivered to {}", ids(&answer.reached, names))),
        (n, r) => parts.push(format!("✓ delivered to {}", n + r)),
    }
    let waiting = answer.waiting();
    let lists = [
        (&waiting, "queued for"),
        (&answer.unknown, "unknown"),
        (&answer.dropped, "dropped"),
        (&answer.full, "mailbox full"),
    ];
    for (list, what) in lists {
        if !list.is_empty() {
            parts.push(format!("{what} {}", ids(list, names)));
        }
    }
    match (answer.delivered + reached, waiting.is_empty()) {
        (0, false) => format!("◷ {}", parts.join(" · ")),
        (0, true) if parts.is_empty() => "✗ delivered to 0".to_owned(),
        (0, true) => format!("✗ delivered to 0 · {}", parts.join(" · ")),
        _ => parts.join(" · "),
    }
}

/// Up to [`IDS_SHOWN`] receivers by name, then how many more.
fn ids(list: &[UserId], names: &Names) -> String {
    let mut s: Vec<String> = list
        .iter()
        .take(IDS_SHOWN)
        .map(|id| names.label(*id))
        .collect();
    if list.len() > IDS_SHOWN {
        s.push(format!("and {} more", list.len() - IDS_SHOWN));
    }
    s.join(" ")
}

#[cfg(test)]
mod tests;
