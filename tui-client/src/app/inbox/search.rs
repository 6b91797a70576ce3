//! `/search` in the inbox: entries whose text or sender contains a text (any case), found
//! from the newest back, and the view moved to one. A scan of at most [`super::INBOX_CAP`]
//! entries, a few milliseconds, once per search step.

use super::Inbox;

impl Inbox {
    fn matches(&self, seq: u64, needle: &str) -> bool {
        self.get(seq).is_some_and(|e| {
            e.text().to_lowercase().contains(needle)
                || e.label(&self.names).to_lowercase().contains(needle)
        })
    }

    /// The newest entry of the conversation on screen older than `before` (than none: the
    /// newest of all) that matches.
    pub fn find_older(&self, text: &str, before: Option<u64>) -> Option<u64> {
        let needle = text.to_lowercase();
        let seqs = &self.view().seqs;
        let end = before.map_or(seqs.len(), |b| seqs.partition_point(|s| *s < b));
        seqs.range(..end)
            .rev()
            .copied()
            .find(|s| self.matches(*s, &needle))
    }

    /// The oldest entry newer than `after` that matches.
    pub fn find_newer(&self, text: &str, after: u64) -> Option<u64> {
        let needle = text.to_lowercase();
        let seqs = &self.view().seqs;
        let start = seqs.partition_point(|s| *s <= after);
        seqs.range(start..)
            .copied()
            .find(|s| self.matches(*s, &needle))
    }

    /// Where `seq` is among the matches, newest first: (its rank from 1, how many).
    pub fn match_rank(&self, text: &str, seq: u64) -> (usize, usize) {
        let needle = text.to_lowercase();
        let all: Vec<u64> = self
            .view()
            .seqs
            .iter()
            .copied()
            .filter(|s| self.matches(*s, &needle))
            .collect();
        let newer = all.iter().filter(|s| **s > seq).count();
        (newer + 1, all.len())
    }

    /// Mark `seq` and scroll so that its first row is at the top of a `width` x `height`
    /// pane, clear of the "scrolled up" bar at the bottom.
    pub fn show(&mut self, seq: u64, width: usize, height: usize) {
        self.view_mut().marked = Some(seq);
        self.fill_from(seq, width, height);
    }

    /// Scroll so that entry `seq` starts at the top of the pane, unmarked (the first unread).
    pub fn scroll_to(&mut self, seq: u64, width: usize, height: usize) {
        self.fill_from(seq, width, height);
    }
}
