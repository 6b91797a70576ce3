//! The inbox: entries in arrival order, wrapped to the pane width on demand, and a scroll
//! position anchored to an entry so that only the rows on screen are ever laid out.

use std::collections::{HashMap, VecDeque};

use chrono::NaiveDate;
use shared::{RequestId, UserId};

use super::conversation::{ConvKey, Conversation, MAX_CONVERSATIONS};
use super::names::Names;
pub use entry::{Delivery, Entry, Row, Sender, INDENT, TIME_WIDTH};

/// Most entries kept. 100,000 short messages are a few tens of MiB; older ones fall off.
pub const INBOX_CAP: usize = 100_000;
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

    /// Add an entry to "all" alone, whatever is on screen (presence lines of a peer without
    /// a conversation).
    pub fn push_all(&mut self, entry: Entry) -> u64 {
        let seq = self.store(entry);
        self.show_in(0, seq);
        seq
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

    fn view(&self) -> &Conversation {
        &self.convs[self.active]
    }

    fn view_mut(&mut self) -> &mut Conversation {
        &mut self.convs[self.active]
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

    /// A receipt for what we queued for `to` up to mailbox seq `through`: mark each of our
    /// entries in memory that it reaches; those entries, as they are now.
    pub fn receipt(&mut self, to: UserId, through: u64) -> Vec<Entry> {
        let mut changed = Vec::new();
        for entry in &mut self.entries {
            if let Some(Delivery::Done(answer)) = &mut entry.delivery {
                if answer.receipt(to, through) {
                    changed.push(entry.clone());
                }
            }
        }
        changed
    }

    /// Entry `seq` is kept in the history as `id`; the entry.
    pub fn set_record(&mut self, seq: u64, id: i64) -> Option<&Entry> {
        let entry = self.get_mut(seq)?;
        entry.record = Some(id);
        Some(entry)
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

mod entry;
mod scroll;
mod search;
mod views;
