//! The peaks of a process's heap and of a hub's queued bytes during a test, sampled every
//! millisecond. The heap is read through the test binary's own counting allocator.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::TestHub;

/// Samples the heap (and the hub's budget) until stopped; keeps the peaks.
pub struct Peaks {
    heap: Arc<AtomicUsize>,
    budget: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Peaks {
    /// Start sampling `heap()` and `hub`'s queued bytes.
    pub fn start(hub: &TestHub, heap_now: fn() -> usize) -> Peaks {
        let (heap, budget) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let hub_budget = hub.inspector.clone();
        let task = tokio::spawn({
            let (heap, budget, stop) = (heap.clone(), budget.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    heap.fetch_max(heap_now(), Ordering::Relaxed);
                    budget.fetch_max(hub_budget.queued_bytes(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        Peaks {
            heap,
            budget,
            stop,
            task,
        }
    }

    /// (peak heap, peak budget use).
    pub async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("sampler");
        (
            self.heap.load(Ordering::Relaxed),
            self.budget.load(Ordering::Relaxed),
        )
    }
}
