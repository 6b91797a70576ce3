//! Per-client outgoing queues, bounded in bytes, and the hub-wide budget of queued bytes.
//!
//! A queue holds complete frames ([`Bytes`] made once by the router and shared by every
//! receiver). Routing never waits: [`Outbox::try_push`] either takes the frame or reports the
//! queue full, and the caller applies the slow-consumer policy. Readers wait on
//! [`Budget::wait_for_room`] and [`Outbox::wait_for_room`] *before* reading the next request,
//! which is how a busy hub pushes back on senders through TCP instead of growing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

/// Bookkeeping charged per queued frame on top of its bytes: the channel slot and the
/// reference count of the shared buffer. It also keeps a flood of tiny frames bounded.
pub const SLOT_COST: usize = 64;

/// The hub-wide count of queued bytes against its limit. Each receiver is charged for each
/// frame it holds, so a 1 MiB body queued for 255 receivers counts 255 MiB although it is
/// stored once: the count is an upper bound of the memory used, never an under-estimate.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    limit: usize,
    room: Notify,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            room: Notify::new(),
        }
    }

    /// Bytes charged right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether usage is at or below the limit: what [`Budget::wait_for_room`] waits for.
    pub fn has_room(&self) -> bool {
        self.used() <= self.limit
    }

    /// Wait until usage is at or below the limit.
    pub async fn wait_for_room(&self) {
        wait_until(&self.room, || self.has_room()).await
    }

    fn charge(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    fn release(&self, n: usize) {
        let before = self.used.fetch_sub(n, Ordering::Relaxed);
        if before > self.limit && before - n <= self.limit {
            self.room.notify_waiters();
        }
    }
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The queue is at its byte limit: the receiver is a slow consumer.
    Full,
    /// The receiver's writer is gone.
    Closed,
}

#[derive(Debug)]
struct Shared {
    bytes: AtomicUsize,
    limit: usize,
    budget: Arc<Budget>,
    room: Notify,
}

/// The sending side of one client's queue; cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
}

/// The receiving side, owned by the client's writer.
#[derive(Debug)]
pub struct Inbox {
    rx: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
}

/// A queue of at most `limit` bytes (plus [`SLOT_COST`] per frame), charged to `budget`.
pub fn queue(limit: usize, budget: Arc<Budget>) -> (Outbox, Inbox) {
    // Every frame costs at least SLOT_COST, so this many slots can never run out before the
    // byte limit does: the byte limit is the only one that bites.
    let slots = (limit / SLOT_COST).max(1);
    let (tx, rx) = mpsc::channel(slots);
    let shared = Arc::new(Shared {
        bytes: AtomicUsize::new(0),
        limit,
        budget,
        room: Notify::new(),
    });
    (
        Outbox {
            tx,
            shared: shared.clone(),
        },
        Inbox { rx, shared },
    )
}

/// What a frame costs against the limits.
pub fn cost(frame: &Bytes) -> usize {
    frame.len() + SLOT_COST
}

impl Outbox {
    /// Queue `frame` without waiting.
    pub fn try_push(&self, frame: Bytes) -> Result<(), PushError> {
        let cost = cost(&frame);
        let before = self.shared.bytes.fetch_add(cost, Ordering::Relaxed);
        if before + cost > self.shared.limit {
            self.shared.bytes.fetch_sub(cost, Ordering::Relaxed);
            return Err(PushError::Full);
        }
        match self.tx.try_send(frame) {
            Ok(()) => {
                self.shared.budget.charge(cost);
                Ok(())
            }
            Err(e) => {
                self.shared.bytes.fetch_sub(cost, Ordering::Relaxed);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => PushError::Full,
                    mpsc::error::TrySendError::Closed(_) => PushError::Closed,
                })
            }
        }
    }

    /// Whether this queue is below its limit: what [`Outbox::wait_for_room`] waits for.
    pub fn has_room(&self) -> bool {
        self.shared.bytes.load(Ordering::Relaxed) < self.shared.limit
    }

    /// Wait until this queue is below its limit, so the owner's next answer fits.
    pub async fn wait_for_room(&self) {
        wait_until(&self.shared.room, || self.has_room()).await
    }

    /// Bytes queued right now.
    pub fn queued(&self) -> usize {
        self.shared.bytes.load(Ordering::Relaxed)
    }
}

impl Inbox {
    /// Wait for frames and move up to `max` of them into `buf`; 0 means every sender is gone
    /// and the queue is empty.
    pub async fn recv_many(&mut self, buf: &mut Vec<Bytes>, max: usize) -> usize {
        self.rx.recv_many(buf, max).await
    }

    /// Take frames that are already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }

    /// Give back the charge of frames that have been written (or discarded).
    pub fn release(&self, cost: usize) {
        self.shared.bytes.fetch_sub(cost, Ordering::Relaxed);
        self.shared.budget.release(cost);
        self.shared.room.notify_one();
    }
}

impl Drop for Inbox {
    /// A client that goes away must not keep its unsent frames charged to the hub.
    fn drop(&mut self) {
        self.rx.close();
        let mut pending = 0;
        while let Ok(frame) = self.rx.try_recv() {
            pending += cost(&frame);
        }
        if pending > 0 {
            self.release(pending);
        }
    }
}

/// Wait on `notify` until `ready()` holds, without missing a wake-up between check and wait.
async fn wait_until(notify: &Notify, ready: impl Fn() -> bool) {
    // Readers call this before every frame and there is almost always room: registering a
    // waiter first would take the notifier's lock each time for nothing.
    if ready() {
        return;
    }
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if ready() {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[tokio::test]
    async fn queue_refuses_past_its_byte_limit_and_charges_the_budget() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, mut inbox) = queue(1000, budget.clone());
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

    #[tokio::test]
    async fn dropping_the_inbox_releases_unsent_frames() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, inbox) = queue(1 << 20, budget.clone());
        outbox.try_push(frame(100)).expect("fits");
        drop(inbox);
        assert_eq!(budget.used(), 0);
        assert_eq!(outbox.try_push(frame(1)), Err(PushError::Closed));
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn budget_wakes_waiters_when_it_drops_below_the_limit() {
        let budget = Arc::new(Budget::new(100));
        let (outbox, mut inbox) = queue(1 << 20, budget.clone());
        outbox.try_push(frame(200)).expect("fits");
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.wait_for_room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let mut got = Vec::new();
        inbox.recv_many(&mut got, 1).await;
        inbox.release(cost(&got[0]));
        waiter.await.expect("waiter woke");
    }
}
