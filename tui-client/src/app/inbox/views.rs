//! The conversations of the inbox: finding and beginning one, which is on screen, switching,
//! and history paged in before the oldest entry.

use super::{ConvKey, Conversation, Entry, Inbox, INBOX_CAP, MAX_CONVERSATIONS};

impl Inbox {
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
}
