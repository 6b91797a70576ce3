//! Who is connected: each user's queue and kill switch, the presence watchers, and a bounded
//! record of why recent connections closed.
//!
//! One `std::sync::RwLock` guards the map: relays only read it (many at once), joins and
//! leaves write it. It is never held across an `.await`; under it we only `try_push`, which
//! never waits, so one stuck client can never stall the lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use shared::{HubMsg, RequestId, UserId};
use tokio_util::sync::CancellationToken;

use crate::queue::{Outbox, PushError};
use crate::stats::Stats;

/// How many close records are kept: enough to debug a burst, small enough to forget.
pub const CLOSE_RECORD_LEN: usize = 1024;

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection.
    PeerClosed,
    /// The client's queue overflowed.
    SlowConsumer,
    /// A length prefix exceeded the frame limit.
    FrameTooLarge,
    /// A frame did not hold a valid message.
    Malformed,
    /// A frame took too long to arrive.
    FrameDeadline,
    /// The hub was at its connection limit.
    ServerFull,
    /// The client did not answer keepalives.
    Idle,
    /// The hub shut down.
    Shutdown,
    /// A write made no progress within the write timeout.
    WriteTimeout,
    /// The socket failed (reset, broken pipe).
    Io,
}

/// Lets any task end a connection and say why; the first reason given wins.
#[derive(Debug, Default)]
pub struct Control {
    kill: CancellationToken,
    reason: OnceLock<CloseReason>,
}

impl Control {
    /// Ask the connection's tasks to stop.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.kill.cancel();
    }

    /// The reason given to the first `close`, if any.
    pub fn reason(&self) -> Option<CloseReason> {
        self.reason.get().copied()
    }

    /// Resolves once `close` has been called.
    pub async fn closed(&self) {
        self.kill.cancelled().await
    }

    /// Whether `close` has been called. Reads the reason (one atomic load) rather than the
    /// token, whose `is_cancelled` takes a mutex: routing asks this for every receiver.
    pub fn is_closed(&self) -> bool {
        self.reason.get().is_some()
    }
}

/// What the registry holds for each connected user.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The user's queue.
    pub outbox: Outbox,
    /// The user's kill switch.
    pub control: Arc<Control>,
}

/// What became of a relay's receivers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Routed {
    /// How many had the frame queued.
    pub delivered: u32,
    /// Ids that are not connected.
    pub unknown: Vec<UserId>,
    /// Ids that were too slow (or already closing) and did not get it.
    pub dropped: Vec<UserId>,
}

#[derive(Debug, Default)]
struct Inner {
    peers: HashMap<UserId, Peer>,
    watchers: HashSet<UserId>,
}

/// The hub's shared state.
#[derive(Debug)]
pub struct Registry {
    next_id: AtomicU64,
    inner: RwLock<Inner>,
    closes: Mutex<VecDeque<(Option<UserId>, CloseReason)>>,
    /// Counters for the stats line.
    pub stats: Stats,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            next_id: AtomicU64::new(1),
            inner: RwLock::default(),
            closes: Mutex::default(),
            stats: Stats::default(),
        }
    }
}

impl Registry {
    /// The next user id: 1, 2, 3, … never reused while the hub runs.
    pub fn next_id(&self) -> UserId {
        UserId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Connected users right now.
    pub fn len(&self) -> usize {
        self.read().peers.len()
    }

    /// Whether nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add a user and tell the watchers.
    pub fn join(&self, id: UserId, peer: Peer) {
        let frame = frame(&HubMsg::<Bytes>::Joined { user_id: id });
        let mut inner = self.write();
        inner.peers.insert(id, peer);
        self.tell_watchers(&inner, id, frame);
    }

    /// Remove a user (if still there) and tell the watchers.
    pub fn leave(&self, id: UserId) {
        let frame = frame(&HubMsg::<Bytes>::Left { user_id: id });
        let mut inner = self.write();
        inner.watchers.remove(&id);
        if inner.peers.remove(&id).is_some() {
            self.tell_watchers(&inner, id, frame);
        }
    }

    /// Remove everyone, dropping every queue's sender so writers finish once drained.
    pub fn clear(&self) {
        let mut inner = self.write();
        inner.peers.clear();
        inner.watchers.clear();
    }

    /// Every connected id but `asker`, ascending.
    pub fn list(&self, asker: UserId) -> Vec<UserId> {
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
    pub fn watch(&self, id: UserId, req: RequestId) -> Result<(), PushError> {
        let mut inner = self.write();
        let Some(peer) = inner.peers.get(&id).cloned() else {
            return Err(PushError::Closed);
        };
        let mut peers: Vec<UserId> = inner.peers.keys().copied().filter(|&p| p != id).collect();
        peers.sort_unstable();
        inner.watchers.insert(id);
        peer.outbox
            .try_push(frame(&HubMsg::<Bytes>::Peers { req, peers }))
    }

    /// Queue `frame` for each receiver. A receiver whose queue is full is a slow consumer: it
    /// is told to close and counted as dropped, and nobody waits for it.
    pub fn route(&self, to: &[UserId], frame: &Bytes) -> Routed {
        let mut routed = Routed::default();
        let inner = self.read();
        for &id in to {
            match inner.peers.get(&id) {
                None => routed.unknown.push(id),
                Some(peer) if peer.control.is_closed() => routed.dropped.push(id),
                Some(peer) => match peer.outbox.try_push(frame.clone()) {
                    Ok(()) => routed.delivered += 1,
                    Err(e) => {
                        if e == PushError::Full {
                            peer.control.close(CloseReason::SlowConsumer);
                        }
                        routed.dropped.push(id);
                    }
                },
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
    pub fn record_close(&self, id: Option<UserId>, reason: CloseReason) {
        let mut closes = self.closes.lock().expect("close record lock poisoned");
        if closes.len() == CLOSE_RECORD_LEN {
            closes.pop_front();
        }
        closes.push_back((id, reason));
    }

    /// The recent close records, oldest first.
    pub fn recent_closes(&self) -> Vec<(Option<UserId>, CloseReason)> {
        let closes = self.closes.lock().expect("close record lock poisoned");
        closes.iter().copied().collect()
    }

    fn tell_watchers(&self, inner: &Inner, about: UserId, frame: Bytes) {
        for watcher in &inner.watchers {
            if *watcher == about {
                continue;
            }
            if let Some(peer) = inner.peers.get(watcher) {
                if peer.outbox.try_push(frame.clone()) == Err(PushError::Full) {
                    peer.control.close(CloseReason::SlowConsumer);
                }
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

/// Encode a hub message whose size is bounded by the protocol's own limits.
pub fn frame(msg: &HubMsg<impl serde::Serialize>) -> Bytes {
    msg.to_frame()
        .expect("hub messages are built within the frame limit")
}
