//! Scrolling by rows and finding what is on screen, touching only the entries passed over.

use super::{Inbox, Shown};

impl Inbox {
    /// Scroll towards older entries by `n` rows of a `width` x `height` pane.
    pub fn scroll_up(&mut self, n: usize, width: usize, height: usize) {
        let Some(last) = self.view().last() else {
            return;
        };
        let (mut seq, mut skip) = self.view().anchor.unwrap_or((last, 0));
        let mut rem = n;
        while rem > 0 {
            let h = self.height_of(seq, width);
            let room = h.saturating_sub(1 + skip);
            if room >= rem {
                skip += rem;
                break;
            }
            rem -= room + 1;
            let Some(before) = self.view().before(seq) else {
                skip = h - 1;
                break;
            };
            seq = before;
            skip = 0;
        }
        self.view_mut().anchor = Some((seq, skip));
        self.clamp_top(width, height);
    }

    /// Scroll towards newer entries by `n` rows; reaching the bottom follows again.
    pub fn scroll_down(&mut self, n: usize, width: usize) {
        let (Some((mut seq, mut skip)), Some(last)) = (self.view().anchor, self.view().last())
        else {
            return;
        };
        let mut rem = n;
        while rem > 0 {
            if skip >= rem {
                skip -= rem;
                break;
            }
            rem -= skip + 1;
            let Some(after) = self.view().after(seq) else {
                skip = 0;
                break;
            };
            seq = after;
            skip = self.height_of(seq, width) - 1;
        }
        self.view_mut().anchor = Some((seq, skip));
        if seq == last && skip == 0 {
            self.to_bottom();
        }
    }

    /// Show the oldest entries.
    pub fn to_top(&mut self, width: usize, height: usize) {
        if let Some(first) = self.view().first() {
            self.fill_from(first, width, height);
        }
    }

    /// If the view would start above the first entry, pin the first entry to the top instead.
    pub(super) fn clamp_top(&mut self, width: usize, height: usize) {
        let Some((seq, skip)) = self.view().anchor else {
            return;
        };
        let mut rows = self.height_of(seq, width) - skip;
        let mut s = seq;
        while rows < height {
            let Some(before) = self.view().before(s) else {
                break;
            };
            s = before;
            rows += self.height_of(s, width);
        }
        if rows < height {
            self.to_top(width, height);
        }
    }

    /// Put the anchor where entry `first`'s first row is at the top of the pane (or follow
    /// the newest, when everything from `first` on fits).
    pub(super) fn fill_from(&mut self, first: u64, width: usize, height: usize) {
        let Some(last) = self.view().last() else {
            return;
        };
        let mut rows = 0;
        let mut seq = first;
        loop {
            let h = self.height_of(seq, width);
            let next = self.view().after(seq);
            if rows + h >= height || seq == last || next.is_none() {
                let skip = (rows + h).saturating_sub(height);
                self.view_mut().anchor = Some((seq, skip));
                if seq == last && skip == 0 {
                    self.to_bottom();
                }
                return;
            }
            rows += h;
            seq = next.expect("checked above");
        }
    }

    /// The entries on screen in a `width` x `height` pane, top first.
    pub fn visible(&self, width: usize, height: usize) -> Vec<Shown<'_>> {
        let view = self.view();
        let Some(last) = view.last() else {
            return Vec::new();
        };
        let (mut seq, mut skip) = view.anchor.unwrap_or((last, 0));
        let mut rows = 0;
        let mut out = Vec::new();
        while rows < height {
            let Some(entry) = self.get(seq) else { break };
            let h = self.height_of(seq, width);
            let below = skip.min(h);
            let avail = h - below;
            let take = avail.min(height - rows);
            out.push(Shown {
                seq,
                entry,
                date_line: self.date_line(seq),
                new_line: view.first_unread == Some(seq),
                skip_top: avail - take,
                take,
            });
            rows += take;
            let Some(before) = view.before(seq) else {
                break;
            };
            seq = before;
            skip = 0;
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests;
