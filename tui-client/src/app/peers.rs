//! The peer list: every other connected id (with its account name, which version 3's
//! presence carries), a filter, a cursor and the selection. Joins and leaves are applied
//! incrementally so 10,000 peers stay cheap.

use std::collections::{BTreeSet, HashMap};

use shared::account::PeerInfo;
use shared::UserId;

/// Longest filter, in characters: an id has at most 20 digits, a name 32 characters.
const FILTER_MAX: usize = 32;

/// Peers, filtered view, cursor and selection.
#[derive(Debug, Default)]
pub struct Peers {
    /// Everyone else, ascending.
    all: Vec<UserId>,
    /// The account names of those in `all` that have one.
    names: HashMap<UserId, String>,
    /// The ids that match the filter, ascending; what the list shows.
    view: Vec<UserId>,
    /// Selected ids (the receivers of the next send).
    selected: BTreeSet<UserId>,
    /// Digits typed after `/`; empty shows everyone.
    filter: String,
    /// Whether keys go to the filter.
    pub filtering: bool,
    /// Index into `view`.
    cursor: usize,
}

/// What a selection change did, for the notice line.
#[derive(Debug, PartialEq, Eq)]
pub enum Selected {
    /// Now selected.
    On,
    /// Now unselected.
    Off,
    /// Not selected: the limit is reached.
    Full,
    /// There is nobody under the cursor.
    Nobody,
}

impl Peers {
    /// Replace everyone (the start of a watch). The selection keeps only ids still here.
    pub fn set_all(&mut self, mut peers: Vec<UserId>, me: Option<UserId>) {
        peers.sort_unstable();
        peers.dedup();
        peers.retain(|p| Some(*p) != me);
        self.all = peers;
        self.selected.retain(|p| self.all.binary_search(p).is_ok());
        self.rebuild_view();
    }

    /// Replace everyone with names, as version 3's presence snapshot gives them.
    pub fn set_all_named(&mut self, peers: Vec<PeerInfo>, me: Option<UserId>) {
        self.names = peers
            .iter()
            .filter_map(|p| Some((p.user_id, p.name.clone()?)))
            .collect();
        self.set_all(peers.into_iter().map(|p| p.user_id).collect(), me);
    }

    /// Someone arrived, with their account name if they have one.
    pub fn join_named(&mut self, id: UserId, name: Option<String>) {
        if let Some(name) = name {
            self.names.insert(id, name);
        }
        self.join(id);
    }

    /// The account name of a peer, if it has one.
    pub fn name(&self, id: UserId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// How a peer is shown: its name, else `#id`.
    pub fn label(&self, id: UserId) -> String {
        self.name(id)
            .map_or_else(|| format!("#{id}"), str::to_owned)
    }

    /// Forget everything (disconnected).
    pub fn clear_all(&mut self) {
        self.names.clear();
        self.all.clear();
        self.view.clear();
        self.selected.clear();
        self.cursor = 0;
    }

    /// A user connected.
    pub fn join(&mut self, id: UserId) {
        if let Err(i) = self.all.binary_search(&id) {
            self.all.insert(i, id);
            if self.matches(id) {
                let at = self.view.binary_search(&id).unwrap_or_else(|i| i);
                self.view.insert(at, id);
                // Keep the cursor on the same peer.
                if at <= self.cursor && self.view.len() > 1 {
                    self.cursor += 1;
                }
            }
        }
    }

    /// A user disconnected; returns whether they were selected (and are no longer).
    pub fn leave(&mut self, id: UserId) -> bool {
        self.names.remove(&id);
        if let Ok(i) = self.all.binary_search(&id) {
            self.all.remove(i);
        }
        if let Ok(at) = self.view.binary_search(&id) {
            self.view.remove(at);
            if at < self.cursor {
                self.cursor -= 1;
            }
            self.clamp();
        }
        self.selected.remove(&id)
    }

    /// Toggle the peer under the cursor, keeping at most `max` selected.
    pub fn toggle(&mut self, max: usize) -> (Option<UserId>, Selected) {
        let Some(&id) = self.view.get(self.cursor) else {
            return (None, Selected::Nobody);
        };
        if self.selected.remove(&id) {
            (Some(id), Selected::Off)
        } else if self.selected.len() >= max {
            (Some(id), Selected::Full)
        } else {
            self.selected.insert(id);
            (Some(id), Selected::On)
        }
    }

    /// Select every shown peer, up to `max` in all; returns how many shown ones stayed out.
    pub fn select_all(&mut self, max: usize) -> usize {
        let mut left_out = 0;
        for id in &self.view {
            if self.selected.len() >= max {
                left_out += usize::from(!self.selected.contains(id));
            } else {
                self.selected.insert(*id);
            }
        }
        left_out
    }

    /// The present peer whose account name is `name` (lower case).
    pub fn find(&self, name: &str) -> Option<UserId> {
        self.names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// Select `id` alone, with the cursor on it (the filter cleared if it hid it); `false`
    /// when `id` is not present.
    pub fn select_only(&mut self, id: UserId) -> bool {
        if self.all.binary_search(&id).is_err() {
            return false;
        }
        self.selected.clear();
        self.selected.insert(id);
        if !self.matches(id) {
            self.filter_clear();
        }
        if let Ok(at) = self.view.binary_search(&id) {
            self.cursor = at;
        }
        true
    }

    /// Unselect everyone.
    pub fn clear_selection(&mut self) {
        self.selected.clear();
    }

    /// Move the cursor by `delta` rows, clamped to the list.
    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = self.cursor.saturating_add_signed(delta);
        self.clamp();
    }

    /// Put the cursor on the first (`false`) or last (`true`) row.
    pub fn cursor_to_end(&mut self, last: bool) {
        self.cursor = if last {
            self.view.len().saturating_sub(1)
        } else {
            0
        };
    }

    /// Type into the filter: the characters of ids and names (upper case folds to lower).
    pub fn filter_push(&mut self, c: char) {
        let c = c.to_ascii_lowercase();
        let fits = matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-');
        if fits && self.filter.len() < FILTER_MAX {
            self.filter.push(c);
            self.rebuild_view();
        }
    }

    /// Delete the last filter character.
    pub fn filter_pop(&mut self) {
        self.filter.pop();
        self.rebuild_view();
    }

    /// Drop the filter.
    pub fn filter_clear(&mut self) {
        self.filter.clear();
        self.filtering = false;
        self.rebuild_view();
    }

    /// Whether `id` is shown: the filter is part of its id or of its name.
    fn matches(&self, id: UserId) -> bool {
        self.filter.is_empty()
            || id.0.to_string().contains(&self.filter)
            || self.name(id).is_some_and(|n| n.contains(&self.filter))
    }

    fn rebuild_view(&mut self) {
        let current = self.view.get(self.cursor).copied();
        self.view = self
            .all
            .iter()
            .copied()
            .filter(|id| self.matches(*id))
            .collect();
        self.cursor = current
            .and_then(|id| self.view.binary_search(&id).ok())
            .unwrap_or(0);
        self.clamp();
    }

    fn clamp(&mut self) {
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
    }

    /// Everyone else, ascending.
    pub fn all(&self) -> &[UserId] {
        &self.all
    }
    /// The shown ids.
    pub fn view(&self) -> &[UserId] {
        &self.view
    }
    /// The selected ids, ascending.
    pub fn selected(&self) -> &BTreeSet<UserId> {
        &self.selected
    }
    /// The filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }
    /// The cursor row in the view.
    pub fn cursor(&self) -> usize {
        self.cursor
    }
}
