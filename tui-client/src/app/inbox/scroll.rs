//! Scrolling by rows and finding what is on screen, touching only the entries passed over.

use super::{Inbox, Shown};

impl Inbox {
    /// Scroll towards older entries by `n` rows of a `width` x `height` pane.
    pub fn scroll_up(&mut self, n: usize, width: usize, height: usize) {
        let Some(last) = self.last_seq() else { return };
        let (mut seq, mut skip) = self.anchor.unwrap_or((last, 0));
        let mut rem = n;
        while rem > 0 {
            let h = self.height_of(seq, width);
            let room = h.saturating_sub(1 + skip);
            if room >= rem {
                skip += rem;
                break;
            }
            rem -= room + 1;
            if seq == self.first_seq {
                skip = h - 1;
                break;
            }
            seq -= 1;
            skip = 0;
        }
        self.anchor = Some((seq, skip));
        self.clamp_top(width, height);
    }

    /// Scroll towards newer entries by `n` rows; reaching the bottom follows again.
    pub fn scroll_down(&mut self, n: usize, width: usize) {
        let (Some((mut seq, mut skip)), Some(last)) = (self.anchor, self.last_seq()) else {
            return;
        };
        let mut rem = n;
        while rem > 0 {
            if skip >= rem {
                skip -= rem;
                break;
            }
            rem -= skip + 1;
            if seq == last {
                skip = 0;
                break;
            }
            seq += 1;
            skip = self.height_of(seq, width) - 1;
        }
        self.anchor = Some((seq, skip));
        if seq == last && skip == 0 {
            self.to_bottom();
        }
    }

    /// Show the oldest entries.
    pub fn to_top(&mut self, width: usize, height: usize) {
        self.fill_from_top(width, height);
    }

    /// If the view would start above the first entry, pin the first entry to the top instead.
    pub(super) fn clamp_top(&mut self, width: usize, height: usize) {
        let Some((seq, skip)) = self.anchor else {
            return;
        };
        let mut rows = self.height_of(seq, width) - skip;
        let mut s = seq;
        while rows < height && s > self.first_seq {
            s -= 1;
            rows += self.height_of(s, width);
        }
        if rows < height {
            self.fill_from_top(width, height);
        }
    }

    /// Put the anchor where the first entry's first row is at the top of the pane.
    fn fill_from_top(&mut self, width: usize, height: usize) {
        self.fill_from(self.first_seq, width, height);
    }

    /// Put the anchor where entry `first`'s first row is at the top of the pane (or follow
    /// the newest, when everything from `first` on fits).
    pub(super) fn fill_from(&mut self, first: u64, width: usize, height: usize) {
        let Some(last) = self.last_seq() else { return };
        let mut rows = 0;
        let mut seq = first;
        loop {
            let h = self.height_of(seq, width);
            if rows + h >= height || seq == last {
                let skip = (rows + h).saturating_sub(height);
                self.anchor = Some((seq, skip));
                if seq == last && skip == 0 {
                    self.to_bottom();
                }
                return;
            }
            rows += h;
            seq += 1;
        }
    }

    /// The entries on screen in a `width` x `height` pane, top first.
    pub fn visible(&self, width: usize, height: usize) -> Vec<Shown<'_>> {
        let Some(last) = self.last_seq() else {
            return Vec::new();
        };
        let (mut seq, mut skip) = self.anchor.unwrap_or((last, 0));
        let mut rows = 0;
        let mut out = Vec::new();
        while rows < height {
            let Some(entry) = self.get(seq) else { break };
            let h = entry.height(width, &self.names);
            let below = skip.min(h);
            let avail = h - below;
            let take = avail.min(height - rows);
            out.push(Shown {
                seq,
                entry,
                skip_top: avail - take,
                take,
            });
            rows += take;
            if seq == self.first_seq {
                break;
            }
            seq -= 1;
            skip = 0;
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests;
