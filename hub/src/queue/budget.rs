//! The hub-wide budget of queued bytes, and the wait both it and the queues use.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The hub-wide count of queued bytes against its limit. Each receiver is charged for each
/// frame it holds, so a 1 MiB body queued for 255 receivers counts 255 MiB although it is
/// stored once: the count is an upper bound of the memory used, never an under-estimate.
#[derive(Debug)]
pub(crate) struct Budget {
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
        // The common case, checked without registering a waiter: readers ask before every frame.
        if self.has_room() {
            return;
        }
        wait_until(&self.room, || self.has_room()).await
    }

    pub(super) fn charge(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn release(&self, n: usize) {
        let before = self.used.fetch_sub(n, Ordering::Relaxed);
        if before > self.limit && before - n <= self.limit {
            self.room.notify_waiters();
        }
    }
}

/// Wait on `notify` until `ready()` holds, without missing a wake-up between check and wait.
pub(super) async fn wait_until(notify: &Notify, ready: impl Fn() -> bool) {
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
    use std::sync::Arc;

    use bytes::Bytes;

    use super::super::{cost, queue, Limits};
    use super::*;

    #[tokio::test]
    async fn budget_wakes_waiters_when_it_drops_below_the_limit() {
        let budget = Arc::new(Budget::new(100));
        let limits = Limits {
            soft: 1 << 20,
            hard: 1 << 20,
            soft_for: std::time::Duration::MAX,
        };
        let (outbox, mut inbox) = queue(limits, budget.clone());
        outbox.try_push(Bytes::from(vec![0u8; 200])).expect("fits");
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
