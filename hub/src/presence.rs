//! Coalesced presence for watchers at [`shared::PRESENCE_VERSION`] (docs/PROTOCOL.md § 7,
//! `Presence`): the changes a watcher has not been sent yet, one entry per user at most.
//!
//! The registry notes each arrival and leave here, under its lock. The first change after the
//! last flush asks the registry to queue one place (a [`PLACE_LEN`]-byte frame) in the
//! watcher's queue; later changes
//! only join the set while that place waits behind the frames ahead of it. When the watcher's
//! writer reaches the place it takes the set and writes it as `Presence` frames
//! ([`Pending::take`]), so a storm of N arrivals costs a busy watcher a few frames, not N, and
//! the encoding happens in the writer's task, not under the registry's lock.
//!
//! A change is one push onto a list (no hashing under the registry's lock: a storm notes N
//! changes for each of N watchers). The writer sorts the list by user and nets each user's
//! changes out: an arrival and a leave of the same user cancel. The bound: when the list has
//! doubled since it was last netted out (and holds at least [`COMPACT_FLOOR`] changes) it is
//! netted out in place, so it never holds more than twice the users the watcher can have
//! heard of, plus [`COMPACT_FLOOR`]; and a queue holds at most one live place at a time.
//!
//! A second `Watch` queues a new snapshot: it starts a new generation ([`Pending::restart`]),
//! so a place queued before that snapshot writes nothing (the snapshot has what it held), and
//! every change after it goes out behind it.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use shared::account::PeerInfo;
use shared::{HubMsg, UserId};

use crate::frame::encode as frame;

/// Most changes in one `Presence` frame: with account names of at most 32 bytes a frame stays
/// under 48 KiB, far below `MAX_FRAME_LEN`. A larger set goes out as several frames in a row.
pub(crate) const PRESENCE_CHUNK: usize = 1024;

/// The length of the place a watcher's pending presence takes in its queue: its generation,
/// 4 bytes. No real frame is that short: each has a 4-byte length prefix and a tag.
pub(crate) const PLACE_LEN: usize = 4;

/// Whether a queued frame is the place of the pending presence.
pub(crate) fn is_place(frame: &Bytes) -> bool {
    frame.len() == PLACE_LEN
}

/// The fewest changes a pending list nets out in place at (see the module's docs).
pub(crate) const COMPACT_FLOOR: usize = 1024;

/// A change not yet told: who, and whether they arrived (else left).
type Change = (UserId, bool);

/// One watcher's pending presence.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by each snapshot: a place of another generation is stale.
    generation: u32,
    /// The changes not yet told, in the order they came; `None` when no place of this
    /// generation is queued.
    changes: Option<Box<Changes>>,
}

#[derive(Debug, Default)]
struct Changes {
    list: Vec<Change>,
    /// The names of accounts among the arrivals.
    names: Vec<(UserId, Arc<str>)>,
    /// The list's length at which it is next netted out in place.
    compact_at: usize,
}

impl Changes {
    /// Net each user's changes out: at most one per user is left, by id ascending (a stable
    /// sort, which runs of ascending ids, as a storm's arrivals are, cost one pass).
    fn net(&mut self) {
        self.list.sort_by_key(|c| c.0);
        let mut out = 0;
        let mut at = 0;
        while at < self.list.len() {
            let user = self.list[at].0;
            let mut balance = 0i64;
            while at < self.list.len() && self.list[at].0 == user {
                balance += if self.list[at].1 { 1 } else { -1 };
                at += 1;
            }
            // Changes of one user alternate, so the balance is -1, 0 or 1.
            if balance != 0 {
                self.list[out] = (user, balance > 0);
                out += 1;
            }
        }
        self.list.truncate(out);
        let list = &self.list;
        self.names.retain(|(id, _)| {
            list.binary_search_by_key(id, |c| c.0)
                .is_ok_and(|i| list[i].1)
        });
        self.names.sort_by_key(|n| n.0);
        self.names.dedup_by_key(|n| n.0);
        self.compact_at = (self.list.len() * 2).max(COMPACT_FLOOR);
    }
}

impl Pending {
    /// `user` arrived (named `name` if an account): the place the caller must queue, if this
    /// is the first change since the last was taken.
    pub(crate) fn arrived(&self, user: UserId, name: Option<&Arc<str>>) -> Option<Bytes> {
        self.note((user, true), name)
    }

    /// `user` left: the place the caller must queue, if any (see [`Pending::arrived`]).
    pub(crate) fn left(&self, user: UserId) -> Option<Bytes> {
        self.note((user, false), None)
    }

    /// A snapshot is being queued: what is pending is in it, and a place queued before it is
    /// stale.
    pub(crate) fn restart(&self) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.changes = None;
    }

    fn note(&self, change: Change, name: Option<&Arc<str>>) -> Option<Bytes> {
        let mut state = self.lock();
        let place = state
            .changes
            .is_none()
            .then(|| Bytes::copy_from_slice(&state.generation.to_le_bytes()));
        let set = state.changes.get_or_insert_with(|| {
            Box::new(Changes {
                compact_at: COMPACT_FLOOR,
                ..Changes::default()
            })
        });
        set.list.push(change);
        if let Some(name) = name {
            set.names.push((change.0, name.clone()));
        }
        if set.list.len() >= set.compact_at {
            set.net();
        }
        place
    }

    /// Take what is pending, as the frames to write in the stead of `place` (none if it all
    /// cancelled out, or the place is stale); the next change queues a new place.
    pub(crate) fn take(&self, place: &Bytes) -> Vec<Bytes> {
        let set = {
            let mut state = self.lock();
            if place[..] != state.generation.to_le_bytes() {
                return Vec::new();
            }
            state.changes.take()
        };
        let Some(mut set) = set else {
            return Vec::new();
        };
        set.net();
        let mut names = set.names.iter().peekable();
        let mut arrived = Vec::new();
        let mut left = Vec::new();
        for &(user_id, came) in &set.list {
            if !came {
                left.push(user_id);
                continue;
            }
            let name = names.next_if(|n| n.0 == user_id);
            arrived.push(PeerInfo {
                user_id,
                name: name.map(|n| n.1.to_string()),
            });
        }
        let mut frames = Vec::new();
        let (mut arrived, mut left) = (arrived.as_slice(), left.as_slice());
        while !arrived.is_empty() || !left.is_empty() {
            let a = arrived.len().min(PRESENCE_CHUNK);
            let l = left.len().min(PRESENCE_CHUNK - a);
            frames.push(frame(&HubMsg::<Bytes>::Presence {
                arrived: arrived[..a].to_vec(),
                left: left[..l].to_vec(),
            }));
            (arrived, left) = (&arrived[a..], &left[l..]);
        }
        frames
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("presence lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(frame: &Bytes) -> (Vec<PeerInfo>, Vec<UserId>) {
        match HubMsg::decode(&frame[4..]) {
            Ok(HubMsg::Presence { arrived, left }) => (arrived, left),
            other => panic!("not a Presence: {other:?}"),
        }
    }

    fn anon(id: u64) -> PeerInfo {
        PeerInfo {
            user_id: UserId(id),
            name: None,
        }
    }

    #[test]
    fn the_first_change_asks_for_a_place_and_the_rest_join_it() {
        let pending = Pending::default();
        let bob: Arc<str> = "bob".into();
        let place = pending.arrived(UserId(5), None).expect("a place");
        assert!(is_place(&place));
        assert!(pending.arrived(UserId(3), Some(&bob)).is_none());
        assert!(pending.left(UserId(9)).is_none());
        let frames = pending.take(&place);
        assert_eq!(frames.len(), 1);
        let (arrived, left) = decode(&frames[0]);
        let ids: Vec<UserId> = arrived.iter().map(|p| p.user_id).collect();
        assert_eq!(ids, vec![UserId(3), UserId(5)], "ascending");
        assert_eq!(arrived[0].name.as_deref(), Some("bob"));
        assert_eq!(left, vec![UserId(9)]);
        assert!(pending.take(&place).is_empty(), "taken");
        assert!(
            pending.left(UserId(3)).is_some(),
            "a new place after a take"
        );
    }

    #[test]
    fn an_arrival_and_a_leave_cancel_whichever_comes_first() {
        let pending = Pending::default();
        let place = pending.arrived(UserId(1), None).expect("a place");
        assert!(pending.left(UserId(1)).is_none());
        assert!(pending.left(UserId(2)).is_none());
        assert!(pending.arrived(UserId(2), None).is_none());
        assert!(pending.arrived(UserId(3), None).is_none(), "still queued");
        let frames = pending.take(&place);
        assert_eq!(decode(&frames[0]), (vec![anon(3)], vec![]));
        let place = pending.arrived(UserId(7), None).expect("a place");
        assert!(pending.left(UserId(7)).is_none());
        assert!(
            pending.take(&place).is_empty(),
            "all cancelled: nothing to write"
        );
    }

    #[test]
    fn a_place_from_before_a_snapshot_writes_nothing() {
        let pending = Pending::default();
        let stale = pending.arrived(UserId(1), None).expect("a place");
        pending.restart();
        let place = pending.arrived(UserId(2), None).expect("a new place");
        assert!(pending.take(&stale).is_empty(), "the snapshot had user 1");
        assert_eq!(decode(&pending.take(&place)[0]), (vec![anon(2)], vec![]));
    }

    #[test]
    fn a_flapping_account_keeps_the_list_bounded_and_nets_out_to_its_last_change() {
        let pending = Pending::default();
        let bob: Arc<str> = "bob".into();
        let account = UserId(1 << 32);
        let place = pending.left(account).expect("a place");
        for _ in 0..10_000 {
            pending.arrived(account, Some(&bob));
            pending.left(account);
        }
        pending.arrived(account, Some(&bob));
        {
            let state = pending.lock();
            let set = state.changes.as_ref().expect("pending");
            assert!(set.list.len() <= COMPACT_FLOOR, "{}", set.list.len());
            assert!(set.names.len() <= COMPACT_FLOOR, "{}", set.names.len());
        }
        // It left and came back: the watcher already holds it, and nothing is to be said.
        assert!(pending.take(&place).is_empty());
        let place = pending.arrived(account, Some(&bob)).expect("a place");
        assert_eq!(
            decode(&pending.take(&place)[0]),
            (
                vec![PeerInfo {
                    user_id: account,
                    name: Some("bob".into())
                }],
                vec![]
            )
        );
    }

    #[test]
    fn a_large_set_goes_out_in_frames_of_at_most_a_chunk() {
        let pending = Pending::default();
        let total = PRESENCE_CHUNK * 2 + 10;
        let place = pending.left(UserId(1_000_000)).expect("a place");
        for id in 1..=total as u64 {
            pending.arrived(UserId(id), None);
        }
        let frames = pending.take(&place);
        assert_eq!(frames.len(), 3);
        let mut seen = Vec::new();
        for frame in &frames {
            let (arrived, left) = decode(frame);
            assert!(arrived.len() + left.len() <= PRESENCE_CHUNK);
            seen.extend(arrived.into_iter().map(|p| p.user_id));
            seen.extend(left);
        }
        assert_eq!(seen.len(), total + 1);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order, each once");
    }
}
