//! The inbox: entries in arrival order, wrapped to the pane width on demand, and a scroll
//! position anchored to an entry so that only the rows on screen are ever laid out.

use std::collections::{HashMap, VecDeque};

use chrono::NaiveTime;
use shared::{RequestId, UserId};

use super::names::Names;
use crate::incoming::Body;
use crate::net::Answer;
use crate::sanitize::{display, display_line};

/// Most entries kept. 100,000 short messages are a few tens of MiB; older ones fall off.
pub const INBOX_CAP: usize = 100_000;
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
}

/// One line of the inbox history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Local time of arrival (or of sending).
    pub at: NaiveTime,
    /// Who.
    pub from: Sender,
    /// What.
    pub body: Body,
    /// For our own messages: the relay's fate.
    pub delivery: Option<Delivery>,
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

    /// The body wrapped to `width` columns: the first line follows the time and label, the
    /// rest are indented by [`INDENT`]. Returned without the indents.
    pub fn wrap(&self, width: usize, names: &Names) -> Vec<String> {
        let label = self.label(names);
        let first =
            " ".repeat(TIME_WIDTH + unicode_width::UnicodeWidthStr::width(label.as_str()) + 1);
        let rest = " ".repeat(INDENT);
        let text = self.text();
        let options = textwrap::Options::new(width.max(INDENT + 8))
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(true);
        let lines = textwrap::wrap(&text, options);
        let mut out: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.strip_prefix(if i == 0 {
                    first.as_str()
                } else {
                    rest.as_str()
                })
                .unwrap_or(l)
                .to_owned()
            })
            .collect();
        if out.is_empty() {
            out.push(String::new());
        }
        out
    }

    /// Rows this entry takes at `width`: the wrapped body plus the delivery line.
    pub fn height(&self, width: usize, names: &Names) -> usize {
        self.wrap(width, names).len() + usize::from(self.delivery.is_some())
    }
}

/// Entries plus scroll state.
#[derive(Debug, Default)]
pub struct Inbox {
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`; numbers never repeat, so anchors survive trimming.
    first_seq: u64,
    /// `None`: follow the newest. `Some((seq, skip))`: entry `seq` is at the bottom with its
    /// last `skip` rows hidden below.
    anchor: Option<(u64, usize)>,
    /// Messages that arrived below the view while scrolled up.
    new_below: usize,
    /// Our relays waiting for an answer, by request id.
    pending: HashMap<RequestId, u64>,
    /// The entry the last search found, drawn marked.
    pub marked: Option<u64>,
    /// Account names for labels. Here rather than in `App` because an entry's height, and so
    /// every scroll computation, depends on its label.
    pub names: Names,
}

/// One entry on screen, and which of its rows are.
#[derive(Debug)]
pub struct Shown<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// The entry.
    pub entry: &'a Entry,
    /// Rows hidden above the view.
    pub skip_top: usize,
    /// Rows shown.
    pub take: usize,
}

impl Inbox {
    /// Add an entry; returns its sequence number.
    pub fn push(&mut self, entry: Entry) -> u64 {
        let seq = self.first_seq + self.entries.len() as u64;
        if self.anchor.is_some() && !matches!(entry.from, Sender::Me { .. }) {
            self.new_below += 1;
        }
        self.entries.push_back(entry);
        if self.entries.len() > INBOX_CAP {
            self.entries.pop_front();
            self.first_seq += 1;
            if let Some((s, _)) = &mut self.anchor {
                *s = (*s).max(self.first_seq);
            }
        }
        seq
    }

    /// Add one of our relays, waiting for its answer.
    pub fn push_pending(&mut self, req: RequestId, entry: Entry) {
        let seq = self.push(entry);
        self.pending.insert(req, seq);
        self.to_bottom();
    }

    /// Record the fate of relay `req`.
    pub fn settle(&mut self, req: RequestId, delivery: Delivery) {
        if let Some(seq) = self.pending.remove(&req) {
            if let Some(entry) = self.get_mut(seq) {
                entry.delivery = Some(delivery);
            }
        }
    }

    /// Fail every relay still waiting (the connection is gone, so no answer will come).
    pub fn fail_pending(&mut self, why: &str) {
        let reqs: Vec<RequestId> = self.pending.keys().copied().collect();
        for req in reqs {
            self.settle(req, Delivery::Failed(why.to_owned()));
        }
    }

    fn get(&self, seq: u64) -> Option<&Entry> {
        self.entries
            .get(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Entry> {
        self.entries
            .get_mut(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)
    }

    fn last_seq(&self) -> Option<u64> {
        (!self.entries.is_empty()).then(|| self.first_seq + self.entries.len() as u64 - 1)
    }

    fn height_of(&self, seq: u64, width: usize) -> usize {
        self.get(seq).map_or(1, |e| e.height(width, &self.names))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Messages below the view.
    pub fn new_below(&self) -> usize {
        self.new_below
    }
    /// Whether the view is scrolled up.
    pub fn scrolled(&self) -> bool {
        self.anchor.is_some()
    }
    /// The newest entry.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.back()
    }

    /// Empty the inbox (`/clear`). Sequence numbers go on from where they were, so an
    /// answer to a relay sent before finds no entry rather than a wrong one.
    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
        self.pending.clear();
        self.marked = None;
        self.to_bottom();
    }

    /// Follow the newest entries again.
    pub fn to_bottom(&mut self) {
        self.anchor = None;
        self.new_below = 0;
    }
}

mod scroll;
mod search;
