//! Counters for the periodic stats line, updated with relaxed atomics on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Totals since the hub started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Relay requests accepted (valid ones, whatever became of their receivers).
    pub relays: AtomicU64,
    /// Frames queued for a receiver by a relay.
    pub deliveries: AtomicU64,
    /// Bytes of frames queued for receivers by relays.
    pub delivered_bytes: AtomicU64,
    /// Receivers dropped as slow consumers.
    pub drops: AtomicU64,
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Presence changes of this hub not queued for the cluster (its queue was full): the
    /// other hubs took a snapshot instead (`crate::cluster::PRESENCE_QUEUE`).
    pub presence_dropped: AtomicU64,
    /// Messages NATS's client dropped for one of this hub's subscriptions that had not kept
    /// up (`crate::cluster::SUBSCRIPTION_CAPACITY`); shared with the cluster connection's
    /// event handler, which counts them.
    pub nats_slow_consumers: Arc<AtomicU64>,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Stats::relays`].
    pub relays: u64,
    /// See [`Stats::deliveries`].
    pub deliveries: u64,
    /// See [`Stats::delivered_bytes`].
    pub delivered_bytes: u64,
    /// See [`Stats::drops`].
    pub drops: u64,
    /// See [`Stats::accepted`].
    pub accepted: u64,
    /// See [`Stats::presence_dropped`].
    pub presence_dropped: u64,
    /// See [`Stats::nats_slow_consumers`].
    pub nats_slow_consumers: u64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Read every counter.
    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            relays: get(&self.relays),
            deliveries: get(&self.deliveries),
            delivered_bytes: get(&self.delivered_bytes),
            drops: get(&self.drops),
            accepted: get(&self.accepted),
            presence_dropped: get(&self.presence_dropped),
            nats_slow_consumers: get(&self.nats_slow_consumers),
        }
    }
}

impl Snapshot {
    /// One log line of rates between `earlier` and `self`, `elapsed` apart.
    pub fn rates_since(&self, earlier: &Snapshot, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let rate = |now: u64, then: u64| (now.saturating_sub(then)) as f64 / secs;
        format!(
            "relays/s={:.0} deliveries/s={:.0} bytes/s={:.0} drops={}",
            rate(self.relays, earlier.relays),
            rate(self.deliveries, earlier.deliveries),
            rate(self.delivered_bytes, earlier.delivered_bytes),
            self.drops,
        )
    }
}
