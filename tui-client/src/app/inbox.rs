//! The inbox: entries in arrival order, wrapped to the pane width on demand, and a scroll
//! position anchored to an entry so that only the rows on screen are ever laid out.

use std::collections::{HashMap, VecDeque};

use chrono::{NaiveDate, NaiveTime};
use shared::{RequestId, UserId};

use super::conversation::{ConvKey, Conversation, MAX_CONVERSATIONS};
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

/// Entries, stored once, and the conversations that show them.
#[derive(Debug)]
pub struct Inbox {
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`; numbers never repeat, so anchors survive trimming.
    first_seq: u64,
    /// Our relays waiting for an answer, by request id.
    pending: HashMap<RequestId, u64>,
    /// "all" first, then the others in the order they began (so Alt-2 stays the same
    /// conversation all day).
    convs: Vec<Conversation>,
    /// The conversation on screen.
    active: usize,
    /// Account names for labels. Here rather than in `App` because an entry's height, and so
    /// every scroll computation, depends on its label.
    pub names: Names,
}

impl Default for Inbox {
    fn default() -> Inbox {
        Inbox {
            entries: VecDeque::new(),
            // Room below for history paged in before the first live entry.
            first_seq: 1 << 40,
            pending: HashMap::new(),
            convs: vec![Conversation::new(ConvKey::All)],
            active: 0,
            names: Names::default(),
        }
    }
}

/// One entry on screen, and which of its rows are.
#[derive(Debug)]
pub struct Shown<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// The entry.
    pub entry: &'a Entry,
    /// The date line drawn above it (its first row), if the day changes here.
    pub date_line: Option<NaiveDate>,
    /// Whether the "new messages" line is drawn above it (its first row after the date).
    pub new_line: bool,
    /// Rows hidden above the view.
    pub skip_top: usize,
    /// Rows shown.
    pub take: usize,
}

impl Inbox {
    /// Add an entry from the client itself (or a test's) to "all" and to the conversation
    /// on screen; returns its sequence number.
    pub fn push(&mut self, entry: Entry) -> u64 {
        let seq = self.store(entry);
        self.show_in(0, seq);
        if self.active != 0 {
            self.show_in(self.active, seq);
        }
        seq
    }

    /// Add an entry to "all" and to the conversation `key` (begun if new, unless there are
    /// [`MAX_CONVERSATIONS`] already); returns its sequence number and the conversation's
    /// index, if it has one.
    pub fn push_in(&mut self, entry: Entry, key: ConvKey) -> (u64, Option<usize>) {
        let conv = self.index_or_begin(key);
        let seq = self.store(entry);
        self.show_in(0, seq);
        if let Some(i) = conv.filter(|i| *i != 0) {
            self.show_in(i, seq);
        }
        (seq, conv)
    }

    /// Add an entry only to the conversation `key`, if there is one (presence lines).
    pub fn push_only(&mut self, entry: Entry, key: &ConvKey) -> Option<u64> {
        let i = self.index(key)?;
        let seq = self.store(entry);
        self.show_in(i, seq);
        Some(seq)
    }

    fn store(&mut self, entry: Entry) -> u64 {
        let seq = self.first_seq + self.entries.len() as u64;
        self.entries.push_back(entry);
        if self.entries.len() > INBOX_CAP {
            self.entries.pop_front();
            self.first_seq += 1;
            let first = self.first_seq;
            self.convs.iter_mut().for_each(|c| c.trim(first));
        }
        seq
    }

    fn show_in(&mut self, i: usize, seq: u64) {
        let mine = self
            .get(seq)
            .is_some_and(|e| matches!(e.from, Sender::Me { .. }));
        let conv = &mut self.convs[i];
        conv.seqs.push_back(seq);
        if conv.anchor.is_some() && !mine {
            conv.new_below += 1;
        }
    }

    /// The index of conversation `key`.
    pub fn index(&self, key: &ConvKey) -> Option<usize> {
        self.convs.iter().position(|c| &c.key == key)
    }

    /// The index of conversation `key`, begun now if new and there is room.
    pub fn index_or_begin(&mut self, key: ConvKey) -> Option<usize> {
        if let Some(i) = self.index(&key) {
            return Some(i);
        }
        if self.convs.len() > MAX_CONVERSATIONS {
            return None;
        }
        self.convs.push(Conversation::new(key));
        Some(self.convs.len() - 1)
    }

    /// Every conversation, "all" first.
    pub fn conversations(&self) -> &[Conversation] {
        &self.convs
    }

    /// Conversation `i`.
    pub fn conversation_mut(&mut self, i: usize) -> &mut Conversation {
        &mut self.convs[i]
    }

    /// The index of the conversation on screen.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The conversation on screen.
    pub fn current(&self) -> &Conversation {
        &self.convs[self.active]
    }

    fn view(&self) -> &Conversation {
        &self.convs[self.active]
    }

    fn view_mut(&mut self) -> &mut Conversation {
        &mut self.convs[self.active]
    }

    /// Put conversation `i` on screen (an index past the end is ignored): the one left
    /// forgets its "new messages" line, the one shown counts as read.
    pub fn switch(&mut self, i: usize) {
        if i >= self.convs.len() || i == self.active {
            return;
        }
        self.view_mut().first_unread = None;
        self.active = i;
        self.view_mut().read();
    }

    /// Add one of our relays, waiting for its answer, to "all" and to `key`; the
    /// conversation on screen follows the newest.
    pub fn push_pending(&mut self, req: RequestId, entry: Entry, key: ConvKey) -> u64 {
        let (seq, _) = self.push_in(entry, key);
        self.pending.insert(req, seq);
        self.to_bottom();
        seq
    }

    /// Record the fate of relay `req`.
    /// Record the fate of relay `req`; the entry, if it is still here.
    pub fn settle(&mut self, req: RequestId, delivery: Delivery) -> Option<&Entry> {
        let seq = self.pending.remove(&req)?;
        let entry = self.get_mut(seq)?;
        entry.delivery = Some(delivery);
        Some(entry)
    }

    /// Entry `seq` is kept in the history as `id`; the entry.
    pub fn set_record(&mut self, seq: u64, id: i64) -> Option<&Entry> {
        let entry = self.get_mut(seq)?;
        entry.record = Some(id);
        Some(entry)
    }

    /// Put older entries (oldest first, each with its conversation) before the oldest one
    /// kept, while there is room: history paged in. Returns how many were taken.
    pub fn prepend(&mut self, older: Vec<(Entry, ConvKey)>) -> usize {
        let room = INBOX_CAP
            .saturating_sub(self.entries.len())
            .min(older.len());
        let skip = older.len() - room;
        for (entry, key) in older.into_iter().skip(skip).rev() {
            let Some(seq) = self.first_seq.checked_sub(1) else {
                break;
            };
            self.first_seq = seq;
            self.entries.push_front(entry);
            self.convs[0].seqs.push_front(seq);
            if let Some(i) = self.index_or_begin(key).filter(|i| *i != 0) {
                self.convs[i].seqs.push_front(seq);
            }
        }
        room
    }

    /// Whether the oldest entry of the conversation on screen is shown whole at the top of a
    /// `width` x `height` pane (time to page in older history).
    pub fn at_top(&self, width: usize, height: usize) -> bool {
        let first = self.view().first();
        self.visible(width, height)
            .first()
            .is_some_and(|s| Some(s.seq) == first && s.skip_top == 0)
    }

    /// The oldest entry kept that is in the history, if any.
    pub fn oldest_record(&self) -> Option<i64> {
        self.entries.iter().find_map(|e| e.record)
    }

    /// Fail every relay still waiting (the connection is gone, so no answer will come).
    /// Returns the entries failed, as they are now.
    pub fn fail_pending(&mut self, why: &str) -> Vec<Entry> {
        let reqs: Vec<RequestId> = self.pending.keys().copied().collect();
        reqs.into_iter()
            .filter_map(|req| self.settle(req, Delivery::Failed(why.to_owned())).cloned())
            .collect()
    }

    /// Entry `seq`, if still kept.
    pub fn get(&self, seq: u64) -> Option<&Entry> {
        self.entries
            .get(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Entry> {
        self.entries
            .get_mut(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)
    }

    /// Rows of entry `seq` at `width` in the conversation on screen: the entry's and the
    /// "new messages" line above it.
    fn height_of(&self, seq: u64, width: usize) -> usize {
        let line = usize::from(self.view().first_unread == Some(seq));
        let date = usize::from(self.date_line(seq).is_some());
        self.get(seq).map_or(1, |e| e.height(width, &self.names)) + line + date
    }

    /// The day to name above entry `seq` in the conversation on screen: where the day
    /// changes, and above the first entry when the conversation spans more than one day.
    pub fn date_line(&self, seq: u64) -> Option<NaiveDate> {
        let view = self.view();
        let day = self.get(seq)?.day;
        let other = match view.before(seq) {
            Some(before) => self.get(before)?.day,
            None => self.get(view.last()?)?.day,
        };
        (other != day).then_some(day)
    }

    /// Entries in the conversation on screen.
    pub fn len(&self) -> usize {
        self.view().len()
    }
    /// Whether the conversation on screen is empty.
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }
    /// Messages below the view.
    pub fn new_below(&self) -> usize {
        self.view().new_below
    }
    /// Whether the view is scrolled up.
    pub fn scrolled(&self) -> bool {
        self.view().anchor.is_some()
    }
    /// The entry the last search found.
    pub fn marked(&self) -> Option<u64> {
        self.view().marked
    }
    /// Forget the search's mark.
    pub fn unmark(&mut self) {
        self.view_mut().marked = None;
    }
    /// The newest entry of the conversation on screen.
    pub fn last(&self) -> Option<&Entry> {
        self.get(self.view().last()?)
    }

    /// Empty the inbox (`/clear`), every conversation with it. Sequence numbers go on from
    /// where they were, so an answer to a relay sent before finds no entry rather than a
    /// wrong one.
    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
        self.pending.clear();
        for conv in &mut self.convs {
            conv.seqs.clear();
            conv.marked = None;
            conv.first_unread = None;
            conv.read();
            conv.anchor = None;
            conv.new_below = 0;
        }
    }

    /// Follow the newest entries again.
    pub fn to_bottom(&mut self) {
        let view = self.view_mut();
        view.anchor = None;
        view.new_below = 0;
    }
}

mod scroll;
mod search;
