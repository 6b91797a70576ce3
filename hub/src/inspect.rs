//! A read-only view of a running hub, for tests, examples and benchmarks.

use std::sync::Arc;

use shared::UserId;

use crate::queue::Budget;
use crate::registry::{CloseReason, Registry};
use crate::stats::Snapshot;

/// What a hub holds right now, read while it serves. Cheap to clone; it stays readable after
/// the hub has stopped (it shows the state the hub left behind).
#[derive(Clone, Debug)]
pub struct Inspector {
    registry: Arc<Registry>,
    budget: Arc<Budget>,
}

impl Inspector {
    pub(crate) fn new(registry: Arc<Registry>, budget: Arc<Budget>) -> Inspector {
        Inspector { registry, budget }
    }

    /// Connections registered (welcomed and not yet gone).
    pub fn connections(&self) -> usize {
        self.registry.len()
    }

    /// The most recent closes, oldest first: who (`None` for a connection refused before it
    /// had an id) and why.
    pub fn recent_closes(&self) -> Vec<(Option<UserId>, CloseReason)> {
        self.registry.recent_closes()
    }

    /// Bytes charged to the global budget: every frame queued for a receiver, plus its
    /// per-frame cost ([`crate::SLOT_COST`]).
    pub fn queued_bytes(&self) -> usize {
        self.budget.used()
    }

    /// The hub's counters since it started.
    pub fn stats(&self) -> Snapshot {
        self.registry.stats.snapshot()
    }
}
