//! A read-only window on a running hub, for tests and tools: who is connected, what is
//! queued, why recent connections closed, and the stats counters.

use std::sync::Arc;

use shared::UserId;

use crate::close::CloseReason;
use crate::queue::Budget;
use crate::registry::Registry;
use crate::stats::Snapshot;

/// Cheap to clone; see [`crate::Hub::inspector`].
#[derive(Clone, Debug)]
pub struct Inspector {
    registry: Arc<Registry>,
    budget: Arc<Budget>,
    cluster_hub: Option<u64>,
}

impl Inspector {
    pub(crate) fn new(
        registry: Arc<Registry>,
        budget: Arc<Budget>,
        cluster_hub: Option<u64>,
    ) -> Inspector {
        Inspector {
            registry,
            budget,
            cluster_hub,
        }
    }

    /// This hub's id in its cluster (random at each start), which names its NATS subjects
    /// (docs/CLUSTER.md); `None` for a hub alone.
    pub fn cluster_hub(&self) -> Option<u64> {
        self.cluster_hub
    }

    /// Users connected right now.
    pub fn connections(&self) -> usize {
        self.registry.len()
    }

    /// Whether `id` is present here: connected to this hub, or, in a cluster, to another.
    pub fn is_present(&self, id: UserId) -> bool {
        self.registry.is_present(id)
    }

    /// Where this hub sees `id`: whether it has a session here, and the other hubs of the
    /// cluster it is present through (their [`Self::cluster_hub`] ids, ascending).
    pub fn presence_of(&self, id: UserId) -> (bool, Vec<u64>) {
        self.registry.presence_of(id)
    }

    /// Why the most recent connections closed (at most 1,024 of them), oldest first; `None`
    /// for a connection refused before it had an id.
    pub fn recent_closes(&self) -> Vec<(Option<UserId>, CloseReason)> {
        self.registry.recent_closes()
    }

    /// Bytes queued across every client, as charged against the global budget.
    pub fn queued_bytes(&self) -> usize {
        self.budget.used()
    }

    /// The stats counters since the hub started.
    pub fn stats(&self) -> Snapshot {
        self.registry.stats.snapshot()
    }
}
