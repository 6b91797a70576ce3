//! One inbox entry: who, when, what, what became of it; its label, text and wrapping.

use chrono::{NaiveDate, NaiveTime};
use shared::UserId;

use super::Names;
use crate::incoming::Body;
use crate::net::Answer;
use crate::sanitize::{display, display_line};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Width of `HH:MM:SS `, the start of every entry.
pub const TIME_WIDTH: usize = 9;
/// Indent of continuation lines.
pub const INDENT: usize = TIME_WIDTH + 2;

/// One row of a wrapped entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Its text, without the indent.
    pub text: String,
    /// Whether it is drawn after the indent (a continuation row); the rows of a long path
    /// start at the pane's edge.
    pub indented: bool,
}

/// Where textwrap may break a word: at its hyphens as usual, but never inside a path or URL.
fn split_points(word: &str) -> Vec<usize> {
    if word.contains('/') {
        Vec::new()
    } else {
        textwrap::WordSplitter::HyphenSplitter.split_points(word)
    }
}

fn wrap_options<'a>(width: usize, initial: &'a str, rest: &'a str) -> textwrap::Options<'a> {
    textwrap::Options::new(width)
        .initial_indent(initial)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::Custom(split_points))
        .break_words(true)
}

/// `word` cut into pieces of at most `width` columns (at least one character each).
fn hard_split(word: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in word.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push(c);
        used += w;
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

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
        let label = self.label(names);
        let first = " ".repeat(TIME_WIDTH + label.width() + 1);
        let rest = " ".repeat(INDENT);
        let wrap_width = width.max(INDENT + 8);
        // The body's first row follows the label; rows after a path are continuation rows.
        let (opening, going_on) = (
            wrap_options(wrap_width, &first, &rest),
            wrap_options(wrap_width, &rest, &rest),
        );
        let long = |word: &str| word.contains('/') && word.width() > wrap_width - INDENT;
        let mut out: Vec<Row> = Vec::new();
        // Wrap a run of ordinary words onto rows after those so far.
        let words = |out: &mut Vec<Row>, text: &str| {
            let opening_row = out.is_empty();
            let options = if opening_row { &opening } else { &going_on };
            for (i, line) in textwrap::wrap(text, options).into_iter().enumerate() {
                let indent = if i == 0 && opening_row { &first } else { &rest };
                out.push(Row {
                    text: line
                        .strip_prefix(indent.as_str())
                        .unwrap_or(&line)
                        .to_owned(),
                    indented: true,
                });
            }
        };
        let text = self.text();
        for para in text.split('\n') {
            let rows_before = out.len();
            let (mut from, mut at) = (0, 0);
            for word in para.split(' ') {
                let (start, end) = (at, at + word.len());
                at = end + 1;
                if !long(word) {
                    continue;
                }
                let before = para[from..start].trim_end();
                if !before.is_empty() {
                    words(&mut out, before);
                } else if out.is_empty() {
                    // The path starts the body: the first row holds only the label.
                    out.push(Row {
                        text: String::new(),
                        indented: true,
                    });
                }
                out.extend(hard_split(word, width).into_iter().map(|text| Row {
                    text,
                    indented: false,
                }));
                from = at.min(para.len());
            }
            let after = &para[from..];
            if !after.is_empty() || out.len() == rows_before {
                words(&mut out, after);
            }
        }
        if out.is_empty() {
            out.push(Row {
                text: String::new(),
                indented: true,
            });
        }
        out
    }

    /// Rows this entry takes at `width`: the wrapped body plus the delivery line.
    pub fn height(&self, width: usize, names: &Names) -> usize {
        self.wrap(width, names).len() + usize::from(self.delivery.is_some())
    }
}

#[cfg(test)]
mod tests;
