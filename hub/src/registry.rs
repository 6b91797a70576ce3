//! Who is connected: each user's [`Peer`], the presence watchers, and a bounded record of why
//! recent connections closed.
//!
//! One `std::sync::RwLock` guards the map: relays only read it (many at once), joins and
//! leaves write it. It is never held across an `.await`; under it we only queue frames, which
//! never waits, so one stuck client can never stall the lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use bytes::Bytes;
use shared::{HubMsg, RequestId, UserId};

use crate::close::CloseReason;
use crate::frame::encode as frame;
use crate::peer::Peer;
use crate::queue::PushError;
use crate::stats::Stats;

/// How many close records are kept: enough to debug a burst, small enough to forget.
pub(crate) const CLOSE_RECORD_LEN: usize = 1024;

/// What became of a relay's receivers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Routed {
    /// How many had the frame queued.
    pub delivered: u32,
    /// Ids that are not connected, in the order the relay named them.
    pub unknown: Vec<UserId>,
    /// Ids that were too slow (or already closing) and did not get it, in the order named.
    pub dropped: Vec<UserId>,
}

#[derive(Debug, Default)]
struct Inner {
    peers: HashMap<UserId, Peer>,
    watchers: HashSet<UserId>,
}

/// The hub's shared state.
#[derive(Debug)]
pub(crate) struct Registry {
    next_id: AtomicU64,
    inner: RwLock<Inner>,
    closes: Mutex<VecDeque<(Option<UserId>, CloseReason)>>,
    /// The hub is shutting down: everyone leaves, and nobody needs to hear about it.
    shutting_down: AtomicBool,
    /// Counters for the stats line.
    pub stats: Stats,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            next_id: AtomicU64::new(1),
            inner: RwLock::default(),
            closes: Mutex::default(),
            shutting_down: AtomicBool::new(false),
            stats: Stats::default(),
        }
    }
}

impl Registry {
    /// The next user id: 1, 2, 3, … never reused while the hub runs.
    pub(crate) fn next_id(&self) -> UserId {
        UserId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Connected users right now.
    pub(crate) fn len(&self) -> usize {
        self.read().peers.len()
    }

    /// Add a user and tell the watchers.
    pub(crate) fn join(&self, id: UserId, peer: Peer) {
        let frame = frame(&HubMsg::<Bytes>::Joined { user_id: id });
        let mut inner = self.write();
        inner.peers.insert(id, peer);
        self.tell_watchers(&inner, id, frame);
    }

    /// Remove a user and tell the watchers: the only way out of the registry, taken once by
    /// every connection when it stops routing (see `connection::serve`). Dropping the peer
    /// lets go of the queue's last sender, so its writer finishes once drained.
    pub(crate) fn leave(&self, id: UserId) {
        let frame = frame(&HubMsg::<Bytes>::Left { user_id: id });
        let mut inner = self.write();
        inner.watchers.remove(&id);
        if inner.peers.remove(&id).is_some() && !self.shutting_down.load(Ordering::Relaxed) {
            self.tell_watchers(&inner, id, frame);
        }
    }

    /// From now on users leave without telling the watchers: at shutdown everyone goes, and
    /// telling each of N watchers about N others would be N² frames nobody reads.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Every connected id but `asker`, ascending.
    pub(crate) fn list(&self, asker: UserId) -> Vec<UserId> {
        let mut ids: Vec<UserId> = self
            .read()
            .peers
            .keys()
            .copied()
            .filter(|&id| id != asker)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Make `id` a watcher and queue its snapshot, under the same lock as joins and leaves so
    /// that no event can fall between the snapshot and the stream of changes.
    pub(crate) fn watch(&self, id: UserId, req: RequestId) -> Result<(), PushError> {
        let mut inner = self.write();
        let Some(peer) = inner.peers.get(&id).cloned() else {
            return Err(PushError::Closed);
        };
        let mut peers: Vec<UserId> = inner.peers.keys().copied().filter(|&p| p != id).collect();
        peers.sort_unstable();
        inner.watchers.insert(id);
        peer.answer(frame(&HubMsg::<Bytes>::Peers { req, peers }))
    }

    /// Queue `frame` for each receiver through [`Peer::deliver`], which applies the
    /// slow-consumer rule; nobody waits for anyone.
    pub(crate) fn route(&self, to: &[UserId], frame: &Bytes) -> Routed {
        let mut routed = Routed::default();
        let inner = self.read();
        for &id in to {
            match inner.peers.get(&id).map(|peer| peer.deliver(frame.clone())) {
                None => routed.unknown.push(id),
                Some(Ok(())) => routed.delivered += 1,
                Some(Err(_)) => routed.dropped.push(id),
            }
        }
        drop(inner);
        let delivered = u64::from(routed.delivered);
        Stats::add(&self.stats.relays, 1);
        Stats::add(&self.stats.deliveries, delivered);
        Stats::add(&self.stats.delivered_bytes, delivered * frame.len() as u64);
        Stats::add(&self.stats.drops, routed.dropped.len() as u64);
        routed
    }

    /// Remember why a connection closed, forgetting the oldest beyond [`CLOSE_RECORD_LEN`].
    pub(crate) fn record_close(&self, id: Option<UserId>, reason: CloseReason) {
        let mut closes = self.closes.lock().expect("close record lock poisoned");
        if closes.len() == CLOSE_RECORD_LEN {
            closes.pop_front();
        }
        closes.push_back((id, reason));
    }

    /// The recent close records, oldest first.
    pub(crate) fn recent_closes(&self) -> Vec<(Option<UserId>, CloseReason)> {
        let closes = self.closes.lock().expect("close record lock poisoned");
        closes.iter().copied().collect()
    }

    fn tell_watchers(&self, inner: &Inner, about: UserId, frame: Bytes) {
        for watcher in &inner.watchers {
            if *watcher == about {
                continue;
            }
            if let Some(peer) = inner.peers.get(watcher) {
                // A watcher too slow for presence is closed by `deliver`; nobody else waits.
                let _ = peer.deliver(frame.clone());
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().expect("registry lock poisoned")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().expect("registry lock poisoned")
    }
}
