//! Per-client outgoing queues, bounded in bytes, and the hub-wide budget of queued bytes.
//!
//! A queue holds complete frames ([`Bytes`] made once by the router and shared by every
//! receiver). Routing never waits: [`Outbox::try_push`] either takes the frame or reports the
//! queue full, and [`crate::peer::Peer::deliver`] applies the slow-consumer policy. Readers wait
//! on [`Budget::wait_for_room`] and [`Outbox::wait_for_room`] *before* reading the next request,
//! which is how a busy hub pushes back on senders through TCP instead of growing.

mod budget;
mod inbox;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use budget::wait_until;
pub(crate) use budget::Budget;

/// Bookkeeping charged per queued frame on top of its bytes: the deque slot and the
/// reference count of the shared buffer. It also keeps a flood of tiny frames bounded.
pub const SLOT_COST: usize = 64;

/// How full a queue may get, and for how long. A receiver that keeps reading drains a burst
/// of any size up to `hard`; one that stops reading is over `soft` for `soft_for` and goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Above this the queue counts as backed up, and its owner's reader stops reading.
    pub soft: usize,
    /// Most bytes another client's frame may take the queue to.
    pub hard: usize,
    /// Longest the queue may stay above `soft` and still take other clients' frames.
    pub soft_for: Duration,
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue is past its hard limit, or past its soft limit for too long.
    Full,
    /// The receiver's writer is gone.
    Closed,
}

/// The frames of one queue and whether either end has gone.
#[derive(Debug, Default)]
struct Frames {
    frames: VecDeque<Bytes>,
    /// Since when the queue has been above its soft limit.
    over_soft_since: Option<Instant>,
    /// The writer is gone: pushes fail.
    closed: bool,
    /// The writer has handed its relayed messages to the mailbox (see
    /// [`Inbox::take_unsent`]): other clients' frames fail, the owner's answers still go.
    sealed: bool,
    /// Every outbox is gone: the writer drains what is left and stops.
    orphaned: bool,
}

#[derive(Debug)]
struct Shared {
    /// Bytes charged (frames plus [`SLOT_COST`] each), kept outside the lock so that readers
    /// can check for room without taking it.
    bytes: AtomicUsize,
    limits: Limits,
    budget: Arc<Budget>,
    /// Outboxes alive; the last one to go orphans the queue.
    senders: AtomicUsize,
    /// A plain mutex around a deque rather than a channel: pushes and drains are a few
    /// instructions under an uncontended lock, and an idle queue allocates nothing (a tokio
    /// channel allocates a block of slots per queue up front, over 1 KiB per idle client).
    frames: Mutex<Frames>,
    /// Wakes the writer when a frame lands in an empty queue or the queue is orphaned.
    ready: Notify,
    /// Wakes the owner's reader when the queue drops below its soft limit.
    room: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.frames.lock().expect("queue lock poisoned")
    }
}

/// The sending side of one client's queue; cheap to clone.
#[derive(Debug)]
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

/// The receiving side, owned by the client's writer.
#[derive(Debug)]
pub(crate) struct Inbox {
    shared: Arc<Shared>,
}

/// A queue within `limits` (counting [`SLOT_COST`] per frame), charged to `budget`.
pub(crate) fn queue(limits: Limits, budget: Arc<Budget>) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared {
        bytes: AtomicUsize::new(0),
        limits,
        budget,
        senders: AtomicUsize::new(1),
        frames: Mutex::default(),
        ready: Notify::new(),
        room: Notify::new(),
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        Inbox { shared },
    )
}

/// What a frame costs against the limits.
pub(crate) fn cost(frame: &Bytes) -> usize {
    frame.len() + SLOT_COST
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Outbox {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.lock().orphaned = true;
            self.shared.ready.notify_one();
        }
    }
}

impl Outbox {
    /// Queue another client's `frame` without waiting, within the queue's limits.
    pub fn try_push(&self, frame: Bytes) -> Result<(), PushError> {
        let shared = &*self.shared;
        let cost = cost(&frame);
        let after = shared.bytes.fetch_add(cost, Ordering::Relaxed) + cost;
        if after > shared.limits.hard {
            shared.bytes.fetch_sub(cost, Ordering::Relaxed);
            return Err(PushError::Full);
        }
        let mut queue = shared.lock();
        if after > shared.limits.soft && !queue.closed {
            let now = Instant::now();
            let since = *queue.over_soft_since.get_or_insert(now);
            if now.duration_since(since) >= shared.limits.soft_for {
                drop(queue);
                shared.bytes.fetch_sub(cost, Ordering::Relaxed);
                return Err(PushError::Full);
            }
        }
        self.push_locked(queue, frame, cost, false)
    }

    /// Queue an answer to the owner's own request, whatever the limits: the owner's reader
    /// waits for room before it reads the next request, so its answers push back on its own
    /// reading and never count against it. This overshoots the soft limit by one answer at most.
    pub fn push_own(&self, frame: Bytes) -> Result<(), PushError> {
        let cost = cost(&frame);
        self.shared.bytes.fetch_add(cost, Ordering::Relaxed);
        self.push_locked(self.shared.lock(), frame, cost, true)
    }

    fn push_locked(
        &self,
        mut queue: std::sync::MutexGuard<'_, Frames>,
        frame: Bytes,
        cost: usize,
        own: bool,
    ) -> Result<(), PushError> {
        let shared = &*self.shared;
        if queue.closed || (queue.sealed && !own) {
            drop(queue);
            shared.bytes.fetch_sub(cost, Ordering::Relaxed);
            return Err(PushError::Closed);
        }
        let was_empty = queue.frames.is_empty();
        queue.frames.push_back(frame);
        drop(queue);
        shared.budget.charge(cost);
        // A writer only ever waits on an empty queue, so only the first frame must wake it.
        if was_empty {
            shared.ready.notify_one();
        }
        Ok(())
    }

    /// Whether this queue is below its soft limit: what [`Outbox::wait_for_room`] waits for.
    pub fn has_room(&self) -> bool {
        self.shared.bytes.load(Ordering::Relaxed) < self.shared.limits.soft
    }

    /// Whether everything queued has been handed to the socket.
    pub fn is_drained(&self) -> bool {
        self.shared.bytes.load(Ordering::Relaxed) == 0
    }

    /// Wait until this queue is below its soft limit, so the owner's next answer fits.
    pub async fn wait_for_room(&self) {
        wait_until(&self.shared.room, || self.has_room()).await
    }

    /// Give back the memory of an empty queue's slots. For a quiet connection: a deque keeps
    /// the capacity its deepest backlog needed, which after a burst is kilobytes per client.
    pub fn shrink_if_empty(&self) {
        let mut queue = self.shared.lock();
        if queue.frames.is_empty() && queue.frames.capacity() > 0 {
            queue.frames = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn frame(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    /// A queue whose soft limit is `soft` bytes, for ever.
    pub(super) fn plain(soft: usize, budget: Arc<Budget>) -> (Outbox, Inbox) {
        let limits = Limits {
            soft,
            hard: soft,
            soft_for: Duration::MAX,
        };
        queue(limits, budget)
    }

    #[tokio::test]
    async fn queue_refuses_past_its_hard_limit_and_charges_the_budget() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, mut inbox) = plain(1000, budget.clone());
        outbox.try_push(frame(400)).expect("fits");
        outbox.try_push(frame(400)).expect("fits");
        assert_eq!(outbox.try_push(frame(400)), Err(PushError::Full));
        assert_eq!(budget.used(), 2 * (400 + SLOT_COST));

        let mut got = Vec::new();
        assert_eq!(inbox.recv_many(&mut got, 10).await, 2);
        inbox.release(got.iter().map(cost).sum());
        assert_eq!(budget.used(), 0);
        outbox.try_push(frame(400)).expect("room again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_may_stay_over_its_soft_limit_only_for_a_while() {
        let limits = Limits {
            soft: 1000,
            hard: 10_000,
            soft_for: Duration::from_secs(10),
        };
        let (outbox, mut inbox) = queue(limits, Arc::new(Budget::new(usize::MAX)));
        for _ in 0..3 {
            outbox
                .try_push(frame(400))
                .expect("over the soft limit, for now");
        }
        tokio::time::advance(Duration::from_secs(9)).await;
        outbox.try_push(frame(400)).expect("still within its time");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(outbox.try_push(frame(400)), Err(PushError::Full));

        // Drained below the soft limit, the clock starts again.
        let mut got = Vec::new();
        inbox.recv_many(&mut got, 3).await;
        inbox.release(got.iter().map(cost).sum());
        outbox.try_push(frame(400)).expect("under the soft limit");
        outbox
            .try_push(frame(400))
            .expect("over it again, a new clock");
        tokio::time::advance(Duration::from_secs(9)).await;
        outbox.try_push(frame(400)).expect("within the new clock");
    }

    #[tokio::test]
    async fn own_answers_are_queued_past_every_limit_and_push_back_on_reading() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, _inbox) = plain(1000, budget);
        outbox.push_own(frame(900)).expect("fits");
        assert!(outbox.has_room());
        outbox
            .push_own(frame(900))
            .expect("an own answer is never refused");
        assert!(!outbox.has_room(), "the owner's reader must wait now");
        assert_eq!(outbox.try_push(frame(1)), Err(PushError::Full));
    }
}
