//! The accept loop, the connection limit, the stats line and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::close::{goodbye, CloseReason};
use crate::cluster::{self, ClusterError};
use crate::config::Config;
use crate::connection::{serve, HubContext};
use crate::inspect::Inspector;
use crate::queue::Budget;
use crate::rate::{RateLimit, Rates};
use crate::registry::Registry;
use crate::store::sqlite::SqliteStore;
use crate::store::{Bounds, Store};

/// First pause after a failed `accept` (typically EMFILE: out of descriptors).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between failed `accept`s.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Most connections a hub accepts whatever its configuration: a list of every other id (at
/// most 10 bytes each as varints) must fit in one frame of [`shared::MAX_FRAME_LEN`].
pub const MAX_CONNECTIONS_CAP: usize = 100_000;

/// Connections the kernel holds for the hub until it accepts them. After a restart every
/// client reconnects at once, faster than any accept loop; past this queue the kernel drops
/// handshakes, and with SYN cookies a client may believe it is connected while the hub never
/// hears of it. Linux caps it at `net.core.somaxconn` (4096 by default since 5.4); tokio's
/// default is 1024.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listen on `addr` as the hub does: address reuse on (a restarted hub can bind while old
/// connections linger in TIME_WAIT) and a [`LISTEN_BACKLOG`] queue.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A hub: its state can be inspected while [`Hub::run`] serves.
pub struct Hub {
    context: HubContext,
    /// Its place in a cluster, to be served by [`Hub::run`].
    joined: Option<cluster::Joined>,
}

impl Hub {
    /// A hub with these settings and its accounts in memory (`--ephemeral`), not yet
    /// serving. `max_connections` is capped at [`MAX_CONNECTIONS_CAP`].
    pub fn new(config: Config) -> Hub {
        let store = SqliteStore::ephemeral(Bounds::default()).expect("an in-memory store opens");
        Hub::with_store(config, Arc::new(store))
    }

    /// A hub keeping its accounts and mailboxes in `store`, not yet serving, in the cluster
    /// [`Config::cluster`] names if it names one: it connects to NATS and leases its first
    /// ids first, and an error means it cannot serve as asked.
    pub async fn open(config: Config, store: Arc<dyn Store>) -> Result<Hub, ClusterError> {
        let Some(cluster) = config.cluster.clone() else {
            return Ok(Hub::with_store(config, store));
        };
        let joined = cluster::join(cluster).await?;
        let registry = Registry::clustered(
            joined.leases.clone(),
            joined.changes_tx.clone(),
            joined.slow_consumers.clone(),
        );
        let mut hub = Hub::build(config, store, registry);
        hub.context.cluster = Some(joined.cluster.clone());
        hub.joined = Some(joined);
        Ok(hub)
    }

    /// A hub keeping its accounts and mailboxes in `store`, not yet serving, on its own
    /// ([`Config::cluster`] is not looked at: see [`Hub::open`]).
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Hub {
        Hub::build(config, store, Registry::default())
    }

    fn build(mut config: Config, store: Arc<dyn Store>, registry: Registry) -> Hub {
        config.max_connections = config.max_connections.min(MAX_CONNECTIONS_CAP);
        let rates = Rates {
            register: RateLimit::new(config.register_rate),
            login_fail: RateLimit::new(config.login_fail_rate),
        };
        Hub {
            context: HubContext {
                registry: Arc::new(registry),
                budget: Arc::new(Budget::new(config.global_bytes)),
                store,
                rates: Arc::new(rates),
                config: Arc::new(config),
                shutdown: CancellationToken::new(),
                readers_done: CancellationToken::new(),
                hard_stop: CancellationToken::new(),
                cluster: None,
            },
            joined: None,
        }
    }

    /// A window on the hub's state while it serves, for tests and tools.
    pub fn inspector(&self) -> Inspector {
        Inspector::new(
            self.context.registry.clone(),
            self.context.budget.clone(),
            self.context.cluster.as_ref().map(|c| c.hub_id),
        )
    }

    /// Serve `listener` until `shutdown` is cancelled, then stop accepting, let every reader
    /// finish the frames it already has, flush every queue for up to the grace period, say
    /// goodbye and return.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) {
        let hub = Arc::new(self.context);
        let leave_cluster = CancellationToken::new();
        let clustered = self.joined.map(|joined| {
            let serving = cluster::serve(joined, hub.clone(), leave_cluster.clone());
            tokio::spawn(async move {
                if let Err(e) = serving.await {
                    error!(error = %e, "the cluster's subscriptions failed");
                }
            })
        });
        let limit = Arc::new(Semaphore::new(hub.config.max_connections));
        let reading = TaskTracker::new();
        let connections = TaskTracker::new();
        let stats = tokio::spawn(log_stats(hub.clone()));
        let every = hub.config.expire_interval.max(Duration::from_secs(1));
        let mut expiry = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
                _ = expiry.tick() => {
                    expire_mailboxes(&hub);
                    continue;
                }
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
            if hub.config.proxy_protocol {
                connections.spawn(behind_a_balancer(stream, hub, token, permit));
            } else {
                connections.spawn(serve(stream, hub, token, permit, None));
            }
        }
        drop(listener);
        info!(
            connections = hub.registry.len(),
            "shutting down: flushing queues"
        );
        hub.registry.begin_shutdown();
        hub.shutdown.cancel();
        let grace = hub.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        reading.close();
        let _ = tokio::time::timeout_at(deadline, reading.wait()).await;
        hub.readers_done.cancel();
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
        if let Some(clustered) = clustered {
            // The others hear `Bye` and remove this hub's users at once.
            leave_cluster.cancel();
            let _ = clustered.await;
        }
        info!("shut down");
    }
}

/// Serve with these settings until `shutdown` is cancelled. See [`Hub::run`].
pub async fn run(listener: TcpListener, config: Config, shutdown: CancellationToken) {
    Hub::new(config).run(listener, shutdown).await
}

/// Tell a connection over the limit why it is closed, without waiting for it: a full hub must
/// not spend a task on each refusal.
pub(crate) fn refuse_full(stream: &TcpStream) {
    let bye = goodbye(&CloseReason::ServerFull.into()).expect("a full hub says why");
    if let Err(e) = stream.try_write(&bye) {
        error!(error = %e, "could not tell a refused connection why");
    }
}

/// Remove messages past the mailboxes' age limit, on a blocking thread, without waiting.
fn expire_mailboxes(hub: &HubContext) {
    let store = hub.store.clone();
    let now = crate::connection::now_ms();
    tokio::task::spawn_blocking(move || match store.expire(now) {
        Ok(0) => {}
        Ok(n) => info!(messages = n, "expired from mailboxes"),
        Err(e) => warn!(error = %e, "mailbox expiry failed"),
    });
}

async fn log_stats(hub: Arc<HubContext>) {
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

/// A connection of a hub behind a load balancer (`--proxy-protocol`): its PROXY header first,
/// then [`serve`] with the client's address it names. A connection without a good header is
/// closed before its welcome. The connection is boxed here, so that a hub without the flag
/// spawns [`serve`] itself and pays nothing for it.
async fn behind_a_balancer(
    mut stream: TcpStream,
    hub: Arc<HubContext>,
    reading: tokio_util::task::task_tracker::TaskTrackerToken,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let header = tokio::select! {
        header = crate::proxy_protocol::read_header(&mut stream) => header,
        () = hub.shutdown.cancelled() => return,
    };
    match header {
        Ok(client) => Box::pin(serve(stream, hub, reading, permit, client)).await,
        Err(e) => info!(error = %e, peer = ?stream.peer_addr().ok(), "closed before the welcome"),
    }
}
