//! The accept loop, the connection limit, the stats line and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use shared::{ErrorKind, HubMsg};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::connection::{serve, HubContext};
use crate::queue::Budget;
use crate::registry::{frame, CloseReason, Registry};

/// First pause after a failed `accept` (typically EMFILE: out of descriptors).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between failed `accept`s.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Most connections a hub accepts whatever its configuration: a list of every other id (at
/// most 10 bytes each as varints) must fit in one frame of [`shared::MAX_FRAME_LEN`].
pub const MAX_CONNECTIONS_CAP: usize = 100_000;

/// A hub: its state can be inspected while [`Hub::run`] serves.
pub struct Hub {
    context: HubContext,
}

impl Hub {
    /// A hub with these settings, not yet serving. `max_connections` is capped at
    /// [`MAX_CONNECTIONS_CAP`].
    pub fn new(mut config: Config) -> Hub {
        config.max_connections = config.max_connections.min(MAX_CONNECTIONS_CAP);
        Hub {
            context: HubContext {
                registry: Arc::new(Registry::default()),
                budget: Arc::new(Budget::new(config.global_bytes)),
                config: Arc::new(config),
                shutdown: CancellationToken::new(),
                hard_stop: CancellationToken::new(),
            },
        }
    }

    /// A read-only view of this hub's state, for tests and tools; it stays valid while and
    /// after [`Hub::run`] serves.
    pub fn inspector(&self) -> crate::Inspector {
        crate::Inspector::new(self.context.registry.clone(), self.context.budget.clone())
    }

    /// The registry, for tests and stats.
    pub fn registry(&self) -> Arc<Registry> {
        self.context.registry.clone()
    }

    /// The global budget, for tests and stats.
    pub fn budget(&self) -> Arc<Budget> {
        self.context.budget.clone()
    }

    /// Serve `listener` until `shutdown` is cancelled, then stop accepting, let every reader
    /// finish the frames it already has, flush every queue for up to the grace period, say
    /// goodbye and return.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) {
        let hub = self.context;
        let limit = Arc::new(Semaphore::new(hub.config.max_connections));
        let reading = TaskTracker::new();
        let connections = TaskTracker::new();
        let stats = tokio::spawn(log_stats(hub.clone()));
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    stream
                }
                Err(e) => {
                    // Never exit the loop: out of descriptors is a passing state.
                    warn!(error = %e, ?backoff, "accept failed; backing off");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                refuse_full(&stream);
                hub.registry.record_close(None, CloseReason::ServerFull);
                continue;
            };
            crate::stats::Stats::add(&hub.registry.stats.accepted, 1);
            let (hub, token) = (hub.clone(), reading.token());
            connections.spawn(async move {
                serve(stream, hub, token).await;
                drop(permit);
            });
        }
        drop(listener);
        info!(
            connections = hub.registry.len(),
            "shutting down: flushing queues"
        );
        hub.shutdown.cancel();
        let grace = hub.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        reading.close();
        let _ = tokio::time::timeout_at(deadline, reading.wait()).await;
        hub.registry.clear();
        connections.close();
        if tokio::time::timeout_at(deadline, connections.wait())
            .await
            .is_err()
        {
            warn!(
                ?grace,
                "grace period over; closing the remaining connections"
            );
            hub.hard_stop.cancel();
            connections.wait().await;
        }
        stats.abort();
        info!("shut down");
    }
}

/// Serve with these settings until `shutdown` is cancelled. See [`Hub::run`].
pub async fn run(listener: TcpListener, config: Config, shutdown: CancellationToken) {
    Hub::new(config).run(listener, shutdown).await
}

/// Tell a connection over the limit why it is closed, without waiting for it: a full hub must
/// not spend a task on each refusal.
fn refuse_full(stream: &TcpStream) {
    let bye = frame(&HubMsg::<bytes::Bytes>::Error {
        req: None,
        kind: ErrorKind::ServerFull,
        text: "the hub is at its connection limit; try again later".into(),
    });
    if let Err(e) = stream.try_write(&bye) {
        error!(error = %e, "could not tell a refused connection why");
    }
}

async fn log_stats(hub: HubContext) {
    let every = hub.config.stats_interval;
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut before = (tokio::time::Instant::now(), hub.registry.stats.snapshot());
    loop {
        tick.tick().await;
        let now = (tokio::time::Instant::now(), hub.registry.stats.snapshot());
        info!(
            connections = hub.registry.len(),
            queued_bytes = hub.budget.used(),
            "stats {}",
            now.1.rates_since(&before.1, now.0 - before.0)
        );
        before = now;
    }
}
