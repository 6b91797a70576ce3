//! Conversations: the "all" timeline, one per peer and one per group of receivers. Each is a
//! view of the one inbox (the sequence numbers of its entries, in order), with its own scroll
//! position, unread count, mention mark, "new messages" line and quiet mode. An entry is
//! stored once however many views show it.

use std::collections::VecDeque;

use shared::UserId;

use super::names::Names;

/// Conversations kept besides "all". Past it a message from a new peer is only in "all"
/// (and said so once): each view costs 8 bytes an entry, and a list longer than this is not
/// one anybody reads.
pub const MAX_CONVERSATIONS: usize = 256;

/// Which conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConvKey {
    /// Everything, in arrival order.
    All,
    /// The accounts (or anonymous ids) besides us that a message went to or came from:
    /// sorted, no repeats, never empty. One member is a conversation with a peer.
    With(Vec<UserId>),
}

impl ConvKey {
    /// The key of the conversation between us (`me`) and `ids`: sorted, without repeats and
    /// without us, unless we are the only one (a note to ourselves).
    pub fn with(ids: &[UserId], me: Option<UserId>) -> ConvKey {
        let mut members: Vec<UserId> = ids.iter().copied().filter(|id| Some(*id) != me).collect();
        if members.is_empty() {
            members = ids.to_vec();
        }
        members.sort_unstable();
        members.dedup();
        ConvKey::With(members)
    }

    /// Who a message sent in this conversation goes to (none for "all").
    pub fn members(&self) -> &[UserId] {
        match self {
            ConvKey::All => &[],
            ConvKey::With(ids) => ids,
        }
    }

    /// How the list and the titles name it: `all`, `bob`, `bob, carol`, `bob, carol +3`.
    pub fn label(&self, names: &Names) -> String {
        const SHOWN: usize = 2;
        let ids = match self {
            ConvKey::All => return "all".to_owned(),
            ConvKey::With(ids) => ids,
        };
        let mut s: Vec<String> = ids.iter().take(SHOWN).map(|id| names.label(*id)).collect();
        if ids.len() > SHOWN {
            s.push(format!("+{}", ids.len() - SHOWN));
        }
        s.join(", ")
    }
}

/// One conversation: which entries it shows and how far it has been read.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// Which.
    pub key: ConvKey,
    /// Sequence numbers of its entries, oldest first.
    pub(super) seqs: VecDeque<u64>,
    /// `None`: follow the newest. `Some((seq, skip))`: entry `seq` is at the bottom with its
    /// last `skip` rows hidden below.
    pub(super) anchor: Option<(u64, usize)>,
    /// Messages that arrived below the view while scrolled up.
    pub(super) new_below: usize,
    /// The entry the last search found, drawn marked.
    pub(super) marked: Option<u64>,
    /// Messages from others that came while it was not being read.
    pub unread: usize,
    /// Whether one of those named us.
    pub mention: bool,
    /// The first entry that came while it was not being read: the "new messages" line is
    /// drawn above it until we leave the conversation.
    pub first_unread: Option<u64>,
    /// Quiet: only mentions notify.
    pub quiet: bool,
}

impl Conversation {
    /// An empty conversation.
    pub fn new(key: ConvKey) -> Conversation {
        Conversation {
            key,
            seqs: VecDeque::new(),
            anchor: None,
            new_below: 0,
            marked: None,
            unread: 0,
            mention: false,
            first_unread: None,
            quiet: false,
        }
    }

    /// Entry `seq` came while this conversation was not being read.
    pub fn mark_unread(&mut self, seq: u64, mention: bool) {
        self.unread += 1;
        self.mention |= mention;
        self.first_unread.get_or_insert(seq);
    }

    /// It is being read: the count and the mark go, the line stays where it was.
    pub fn read(&mut self) {
        self.unread = 0;
        self.mention = false;
    }

    /// Entries shown.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether it shows nothing.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Its newest entry's sequence number.
    pub(super) fn last(&self) -> Option<u64> {
        self.seqs.back().copied()
    }

    /// Its oldest entry's sequence number.
    pub(super) fn first(&self) -> Option<u64> {
        self.seqs.front().copied()
    }

    /// The entry before `seq` in this conversation.
    pub(super) fn before(&self, seq: u64) -> Option<u64> {
        let i = self.seqs.partition_point(|s| *s < seq);
        i.checked_sub(1).map(|i| self.seqs[i])
    }

    /// The entry after `seq` in this conversation.
    pub(super) fn after(&self, seq: u64) -> Option<u64> {
        let i = self.seqs.partition_point(|s| *s <= seq);
        self.seqs.get(i).copied()
    }

    /// Forget the entries older than `first` (they fell out of the inbox).
    pub(super) fn trim(&mut self, first: u64) {
        while self.seqs.front().is_some_and(|s| *s < first) {
            self.seqs.pop_front();
        }
        if let Some((s, _)) = &mut self.anchor {
            *s = (*s).max(first);
        }
        if self.first_unread.is_some_and(|s| s < first) {
            self.first_unread = self.first();
        }
    }
}

/// Whether `text` names the account `name`: the name as a word (any case), with or without
/// an `@` before it. "bob" is named in "@bob: hi" and "Bob?", not in "bobcat".
pub fn mentions(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let lower = text.to_lowercase();
    let name = name.to_lowercase();
    lower.match_indices(&name).any(|(i, _)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + name.len()..].chars().next();
        // A trailing '.' ends a sentence, not the name.
        let after_ok = match after {
            Some('.') => lower[i + name.len() + 1..]
                .chars()
                .next()
                .is_none_or(|c| !word(c)),
            Some(c) => !word(c),
            None => true,
        };
        before.is_none_or(|c| !word(c)) && after_ok
    })
}
