//! What the app asks the history store (`crate::history`) to keep and to load: each message
//! entry gets an id and is queued for the event loop to write after the burst (its delivery
//! again when the hub answers); older entries are paged in when the view reaches the oldest
//! one shown. No I/O here.

use shared::UserId;

use super::conversation::ConvKey;
use super::inbox::Sender;
use super::{App, Effect};
use crate::history::{Record, PAGE};

/// The state of keeping history, once the event loop has opened a store.
#[derive(Debug, Default)]
pub struct Keeping {
    /// The next entry's id.
    next_id: i64,
    /// Records to write after this burst.
    queue: Vec<Record>,
    /// Whether the store may have entries older than the oldest shown.
    more: bool,
    /// Whether a page was asked for and has not come yet.
    asked: bool,
    /// A `/search` to go on with in the store: the text, and the oldest id shown.
    search: Option<(String, i64)>,
    /// Receipts to apply to the store after this burst, for entries not in memory too.
    receipts: Vec<(UserId, u64)>,
}

impl App {
    /// Keep history from now on; the store's newest id is `last_id`.
    pub fn keep_history(&mut self, last_id: i64) {
        self.keeping = Some(Keeping {
            next_id: last_id + 1,
            queue: Vec::new(),
            more: last_id > 0,
            asked: false,
            search: None,
            receipts: Vec::new(),
        });
    }

    /// What to write to the store now.
    pub fn take_records(&mut self) -> Vec<Record> {
        self.keeping
            .as_mut()
            .map(|k| std::mem::take(&mut k.queue))
            .unwrap_or_default()
    }

    /// Receipts (`to`, `through`) to apply to the store now, after [`Self::take_records`].
    pub fn take_receipts(&mut self) -> Vec<(UserId, u64)> {
        self.keeping
            .as_mut()
            .map(|k| std::mem::take(&mut k.receipts))
            .unwrap_or_default()
    }

    /// A receipt came: the entries in memory have it already; the store's rows get it after
    /// the burst (`crate::history::History::receipt`), so one paged in later has it too.
    pub(super) fn keep_receipt(&mut self, to: UserId, through: u64) {
        if let Some(k) = &mut self.keeping {
            k.receipts.push((to, through));
        }
    }

    /// Entry `seq` is new: give it an id and queue it.
    pub(super) fn keep(&mut self, seq: u64) {
        let Some(k) = &mut self.keeping else { return };
        let id = k.next_id;
        if let Some(entry) = self.inbox.set_record(seq, id) {
            k.next_id += 1;
            k.queue.push(Record {
                id,
                entry: entry.clone(),
            });
        }
    }

    /// A kept entry changed (its delivery): queue it again, to be replaced.
    pub(super) fn keep_again(&mut self, entry: Option<super::inbox::Entry>) {
        let (Some(k), Some(entry)) = (&mut self.keeping, entry) else {
            return;
        };
        if let Some(id) = entry.record {
            k.queue.push(Record { id, entry });
        }
    }

    /// The `/search` to go on with in the store, if one ran out of entries in memory.
    pub fn take_history_search(&mut self) -> Option<(String, i64)> {
        self.keeping.as_mut()?.search.take()
    }

    /// Ask the store for a match of `text` older than every entry shown; whether it may
    /// have one (it has entries older than those loaded).
    pub(super) fn search_history(&mut self, text: &str) -> bool {
        let oldest = self.inbox.oldest_record();
        let Some(k) = &mut self.keeping else {
            return false;
        };
        if !k.more {
            return false;
        }
        k.search = Some((text.to_owned(), oldest.unwrap_or(k.next_id)));
        true
    }

    /// The store's answer to [`Self::search_history`]: the entries from its match on (none:
    /// no match). They go before those shown, and the search goes on in "all".
    pub(super) fn on_found(&mut self, records: Vec<Record>) {
        let Some(text) = self.searching.clone() else {
            return;
        };
        if records.is_empty() {
            self.tell(
                format!("no older match for '{text}', in the history either"),
                true,
            );
            return;
        }
        if self.put_before(records) == 0 {
            self.tell(
                format!("a match for '{text}' is older than the inbox holds; /clear makes room"),
                true,
            );
            return;
        }
        self.switch_to(0);
        self.search_step(true);
    }

    /// A page of older history (oldest first), or the recent part at start.
    pub(super) fn on_history(&mut self, records: Vec<Record>) {
        let Some(k) = &mut self.keeping else { return };
        k.asked = false;
        k.more = records.len() >= PAGE;
        self.put_before(records);
    }

    /// Older entries into the inbox, each in its conversation; how many found room.
    fn put_before(&mut self, records: Vec<Record>) -> usize {
        let me = self.me;
        let older = records
            .into_iter()
            .map(|r| {
                let key = match &r.entry.from {
                    Sender::Peer(id) => ConvKey::with(&[*id], me),
                    Sender::Me { to } => ConvKey::with(to, me),
                    Sender::System => ConvKey::All,
                };
                (r.entry, key)
            })
            .collect();
        self.inbox.prepend(older)
    }

    /// Ask for the page before the oldest entry shown when the view has reached it.
    pub(super) fn page_history(&mut self) -> Vec<Effect> {
        let (w, h) = self.inbox_dims();
        let at_top = self.inbox.at_top(w, h);
        let oldest = self.inbox.oldest_record();
        let Some(k) = &mut self.keeping else {
            return Vec::new();
        };
        if !at_top || !k.more || k.asked {
            return Vec::new();
        }
        k.asked = true;
        vec![Effect::LoadHistory {
            before: oldest.unwrap_or(k.next_id),
        }]
    }
}
