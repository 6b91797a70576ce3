//! A real hub serving on an ephemeral loopback port, in the test's own runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hub::store::{Bounds, Store};
use hub::{ClusterConfig, Config, Hub, Inspector};
use shared::conn::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::wait::{eventually, WAIT};

/// The hub's settings for tests: every deadline far beyond what a step of a test takes on a
/// loaded machine, so that only the policy a test is about fires (that test sets its own).
/// Keepalives are tested on their own; elsewhere they would only add noise.
pub fn test_config() -> Config {
    Config {
        frame_deadline: Duration::from_secs(60),
        ping_interval: Duration::from_secs(3600),
        write_timeout: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(5),
        stats_interval: Duration::ZERO,
        // Its blocking task would come and go under the task counts of the baseline checks.
        expire_interval: Duration::from_secs(365 * 24 * 3600),
        ..Config::default()
    }
}

/// The cluster settings for tests of hubs on the NATS at `url`: heartbeats five times a
/// second and a hub taken for dead after twenty missed (4 s), so that a test of a killed hub
/// takes seconds while a hub whose machine is busy is not taken for dead; small id blocks,
/// so that a few connections already make hubs lease blocks against one another; no wait
/// for late mailbox writes before a session goes live.
pub fn cluster_config(url: &str) -> ClusterConfig {
    ClusterConfig {
        heartbeat: Duration::from_millis(200),
        dead_after: 20,
        relay_timeout: Duration::from_secs(10),
        id_block: 16,
        // A session goes live as soon as its mailbox is read, as on one hub: the tests that
        // race relays from another hub against logins set it (docs/CLUSTER.md, § The drain
        // race).
        late_writes: Duration::ZERO,
        ..ClusterConfig::new(url)
    }
}

/// A hub serving on 127.0.0.1:0 until [`TestHub::stop`].
pub struct TestHub {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it holds; stays readable after the hub stopped.
    pub inspector: Inspector,
    /// Cancel to start a graceful shutdown without waiting for it.
    pub shutdown: CancellationToken,
    /// The hub's task: done once it has shut down.
    pub task: JoinHandle<()>,
}

impl TestHub {
    /// A hub with [`test_config`].
    pub async fn start() -> TestHub {
        Self::with_config(test_config()).await
    }

    /// A hub with `config`, its accounts in memory.
    pub async fn with_config(config: Config) -> TestHub {
        Self::serve(Hub::new(config)).await
    }

    /// A hub with [`test_config`] in the cluster at `url` ([`cluster_config`]).
    pub async fn in_cluster(url: &str) -> TestHub {
        Self::clustered(Config {
            cluster: Some(cluster_config(url)),
            ..test_config()
        })
        .await
    }

    /// A hub with `config` (naming its cluster), its accounts and mailboxes in the cluster's
    /// JetStream store, as `hub --cluster` keeps them (shared by every hub of the cluster); it
    /// has joined the cluster when this returns.
    pub async fn clustered(config: Config) -> TestHub {
        Self::clustered_within(config, Bounds::default()).await
    }

    /// A hub in the test's process whose relays wait `relay_timeout` for an answer, and a hub
    /// process (`bin`: `env!("CARGO_BIN_EXE_hub")`) beside it on `nats`, to stop with
    /// [`HubProcess::pause`]; neither takes the other for dead for minutes.
    pub async fn beside_a_hub_to_stop(
        nats: &crate::nats::NatsServer,
        relay_timeout: Duration,
        bin: &str,
    ) -> (TestHub, crate::child::HubProcess) {
        let url = nats.url();
        let here = TestHub::clustered(Config {
            cluster: Some(ClusterConfig {
                relay_timeout,
                dead_after: 600,
                ..cluster_config(&url)
            }),
            ..test_config()
        })
        .await;
        let other = crate::child::HubProcess::spawn_bin(
            bin,
            &["--cluster", &url, "--cluster-dead-after", "600"],
            None,
        );
        (here, other)
    }

    /// [`Self::clustered`] with the mailboxes bounded by `bounds`.
    pub async fn clustered_within(config: Config, bounds: Bounds) -> TestHub {
        let cluster = config.cluster.clone().expect("a cluster config");
        let store = tokio::task::spawn_blocking(move || {
            // Its own runtime is started outside the test's.
            hub::store::jetstream::JetStreamStore::connect_with(
                &cluster.url,
                hub::cluster::nats_options(&cluster),
                bounds,
                hub::cluster::STORE_PREFIX,
            )
        })
        .await
        .expect("the store's opening task")
        .expect("the cluster's JetStream store opens");
        Self::clustered_with_store(config, Arc::new(store)).await
    }

    /// A hub with `config` (naming its cluster) keeping its accounts in `store`: several
    /// hubs given one store share their accounts, as a cluster's JetStream store would.
    pub async fn clustered_with_store(config: Config, store: Arc<dyn Store>) -> TestHub {
        let hub = Hub::open(config, store)
            .await
            .expect("the hub joins its cluster");
        Self::serve(hub).await
    }

    /// A hub with `config` keeping its accounts and mailboxes in `store` (a real file, for
    /// tests of what outlives a hub).
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> TestHub {
        Self::serve(Hub::with_store(config, store)).await
    }

    async fn serve(hub: Hub) -> TestHub {
        // Bound as the hub binary binds.
        let listener = hub::listen(([127, 0, 0, 1], 0).into()).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inspector = hub.inspector();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(hub.run(listener, shutdown.clone()));
        TestHub {
            addr,
            inspector,
            shutdown,
            task,
        }
    }

    /// A well-behaved client, welcomed.
    pub async fn connect(&self) -> Connection {
        Connection::connect(self.addr).await.expect("connect")
    }

    /// A well-behaved client that speaks protocol `version`, welcomed.
    pub async fn connect_at(&self, version: u32) -> Connection {
        Connection::connect_speaking(self.addr, version)
            .await
            .expect("connect")
    }

    /// Stop the hub and wait until it has shut down.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.stopped().await;
    }

    /// Wait until the hub, already told to stop, has shut down.
    pub async fn stopped(self) {
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("hub stops in time")
            .expect("hub task");
    }

    /// Wait until the hub holds `n` connections.
    pub async fn wait_for_users(&self, n: usize) {
        let what = format!("the hub to hold {n} connections");
        eventually(&what, || self.inspector.connections() == n).await
    }

    /// Wait until the hub has recorded why `id` closed, and return the reason.
    pub async fn close_reason(&self, id: shared::UserId) -> hub::CloseReason {
        let what = format!("a close recorded for {id}");
        crate::wait::eventually_some(&what, || {
            let closes = self.inspector.recent_closes();
            closes
                .into_iter()
                .find(|(who, _)| *who == Some(id))
                .map(|c| c.1)
        })
        .await
    }

    /// How many of the recent closes had `reason`.
    pub fn closes(&self, reason: hub::CloseReason) -> usize {
        let all = self.inspector.recent_closes();
        all.iter().filter(|(_, r)| *r == reason).count()
    }
}
