//! The receiving end of a client's queue, drained by its writer.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{cost, Inbox};

/// A deque this much larger than needed is given back once it empties.
const SHRINK_ABOVE: usize = 1024;

/// A deque of at most this many slots is given back as soon as it empties, so that a
/// connection idle after a few frames (its welcome) holds none: refilling it costs one small
/// allocation, where a deep one is kept for the burst that is likely still coming.
const SMALL_SLOTS: usize = 16;

impl Inbox {
    /// Wait for frames and move up to `max` of them into `buf`; 0 means every sender is gone
    /// and the queue is empty. Cancel-safe: frames are only taken when it returns.
    #[cfg(test)]
    pub async fn recv_many(&mut self, buf: &mut Vec<Bytes>, max: usize) -> usize {
        loop {
            self.ready().await;
            if let Some(n) = self.take(buf, max) {
                return n;
            }
        }
    }

    /// Wait until [`Inbox::take`] has something to say: frames, or an orphaned queue.
    /// Cancel-safe, and it takes nothing, so the waiting future holds nothing but its
    /// `Notified`.
    pub async fn ready(&self) {
        loop {
            // `notify_one` keeps a permit when nobody waits, so a push between this check and
            // the `await` below is not missed.
            let notified = self.shared.ready.notified();
            {
                let queue = self.shared.lock();
                if !queue.frames.is_empty() || queue.orphaned {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Move up to `max` frames into `buf`: how many, 0 if the queue is orphaned and empty,
    /// `None` if there is nothing to take yet. The deque goes once emptied if it is small
    /// (refilling it is one small allocation) or far larger than needed.
    pub fn take(&self, buf: &mut Vec<Bytes>, max: usize) -> Option<usize> {
        let mut queue = self.shared.lock();
        let n = queue.frames.len().min(max);
        if n > 0 {
            buf.extend(queue.frames.drain(..n));
            let slots = queue.frames.capacity();
            if queue.frames.is_empty() && (slots > SHRINK_ABOVE || slots <= SMALL_SLOTS) {
                queue.frames = VecDeque::new();
            }
            return Some(n);
        }
        queue.orphaned.then_some(0)
    }

    /// Throw away every queued frame and refuse new ones: the client is being dropped, and
    /// what it did not read must not hold the budget while its goodbye is written.
    pub fn discard(&mut self) {
        let pending: usize = {
            let mut queue = self.shared.lock();
            queue.closed = true;
            queue.frames.drain(..).map(|f| cost(&f)).sum()
        };
        if pending > 0 {
            self.release(pending);
        }
    }

    /// Refuse other clients' frames from now on, and take every queued frame that `unsent`
    /// picks out of the queue, in order, giving back its charge: the relays a closing session
    /// of an account hands to the mailbox. The rest stays queued.
    pub fn take_unsent(&mut self, unsent: impl Fn(&Bytes) -> bool) -> Vec<Bytes> {
        let taken: Vec<Bytes> = {
            let mut queue = self.shared.lock();
            queue.sealed = true;
            if !queue.frames.iter().any(&unsent) {
                return Vec::new();
            }
            let (taken, kept): (VecDeque<Bytes>, VecDeque<Bytes>) =
                queue.frames.drain(..).partition(|f| unsent(f));
            queue.frames = kept;
            taken.into()
        };
        self.release(taken.iter().map(cost).sum());
        taken
    }

    /// Charge `cost` for frames the writer made in place of one it took (the presence it
    /// writes where its place was queued, see `crate::presence`), so that [`Inbox::release`]
    /// gives back what it charged, whatever the frames it writes.
    pub fn charge(&self, cost: usize) {
        self.shared.bytes.fetch_add(cost, Ordering::Relaxed);
        self.shared.budget.charge(cost);
    }

    /// Give back the charge of frames that have been written (or discarded).
    pub fn release(&self, cost: usize) {
        let shared = &*self.shared;
        let before = shared.bytes.fetch_sub(cost, Ordering::Relaxed);
        shared.budget.release(cost);
        let soft = shared.limits.soft;
        if before > soft && before - cost <= soft {
            // Back under the soft limit: the clock of a backed-up queue starts again next time.
            // Checked under the lock, where pushes set it, so a push that just went over keeps it.
            let mut queue = shared.lock();
            if shared.bytes.load(Ordering::Relaxed) <= soft {
                queue.over_soft_since = None;
            }
        }
        shared.room.notify_one();
    }
}

impl Drop for Inbox {
    /// A client that goes away must not keep its unsent frames charged to the hub.
    fn drop(&mut self) {
        self.discard();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::{frame, plain};
    use super::super::{Budget, Outbox, PushError};

    #[tokio::test]
    async fn dropping_the_inbox_releases_unsent_frames() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, inbox) = plain(1 << 20, budget.clone());
        outbox.try_push(frame(100)).expect("fits");
        drop(inbox);
        assert_eq!(budget.used(), 0);
        assert_eq!(outbox.try_push(frame(1)), Err(PushError::Closed));
        assert_eq!(outbox.push_own(frame(1)), Err(PushError::Closed));
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn an_empty_queue_gives_back_its_slots_a_busy_one_keeps_them() {
        let budget = Arc::new(Budget::new(usize::MAX));
        let (outbox, mut inbox) = plain(1 << 20, budget);
        let capacity = |o: &Outbox| o.shared.lock().frames.capacity();
        for _ in 0..100 {
            outbox.try_push(frame(1)).expect("fits");
        }
        let mut got = Vec::new();
        inbox.recv_many(&mut got, 99).await;
        outbox.shrink_if_empty();
        assert!(capacity(&outbox) >= 100, "one frame is still queued");
        inbox.recv_many(&mut got, 1).await;
        assert!(
            capacity(&outbox) >= 100,
            "draining alone keeps a small deque"
        );
        outbox.shrink_if_empty();
        assert_eq!(capacity(&outbox), 0);

        // A few frames, as an idle connection gets: drained, the deque goes at once.
        outbox.try_push(frame(1)).expect("fits");
        assert!(capacity(&outbox) > 0);
        inbox.recv_many(&mut got, 1).await;
        assert_eq!(capacity(&outbox), 0, "an idle queue holds no slots");
    }
}
