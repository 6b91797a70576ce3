//! The same test against one hub and against a cluster of hubs on one NATS: a test body takes
//! a [`Hubs`], and [`on_one_hub_and_a_cluster!`](crate::on_one_hub_and_a_cluster) makes it
//! two tests, `NAME::one_hub` and `NAME::three_hubs`.
//!
//! [`Hubs::connect`] hands out connections to the hubs in turn and returns each once every hub
//! knows it, so a test written for one hub (connect, then list or relay at once) means the
//! same on a cluster, where presence crosses NATS before another hub can route to a user.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Store};
use hub::Config;

use shared::conn::Connection;
use shared::{SecretKey, UserId};

use crate::accounts::LoggedIn;
use crate::nats::NatsServer;
use crate::wait::eventually;
use crate::TestHub;

/// What one hub sees of a user: a session there, and the other hubs it is present through.
type Seen = (bool, Vec<u64>);

/// What every hub of a [`Hubs`] is started with: its settings (a cluster's hubs get their
/// [`crate::cluster_config`] on top) and its mailboxes' bounds.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The hub's settings; [`crate::test_config`] by default.
    pub config: Config,
    /// Its store's bounds; [`Bounds::default`] by default.
    pub bounds: Bounds,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            config: crate::test_config(),
            bounds: Bounds::default(),
        }
    }
}

/// One hub, or several on one NATS.
pub struct Hubs {
    /// The hubs, in the order connections go to them.
    pub hubs: Vec<TestHub>,
    next: AtomicUsize,
    /// One hub's store, for [`Hubs::store`]; `None` on a cluster.
    store: Option<Arc<dyn Store>>,
    nats: Option<NatsServer>,
}

impl Hubs {
    /// One hub with [`crate::test_config`].
    pub async fn one() -> Hubs {
        Self::one_with(Setup::default()).await
    }

    /// One hub started with `setup`, its accounts in memory.
    pub async fn one_with(setup: Setup) -> Hubs {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::ephemeral(setup.bounds).expect("an in-memory store opens"));
        Hubs {
            hubs: vec![TestHub::with_store(setup.config, store.clone()).await],
            next: AtomicUsize::new(0),
            store: Some(store),
            nats: None,
        }
    }

    /// `n` hubs with [`crate::test_config`] on a NATS of their own
    /// ([`crate::cluster_config`]), their accounts and mailboxes in that NATS's JetStream, as
    /// `hub --cluster` keeps them.
    pub async fn cluster(n: usize) -> Hubs {
        Self::cluster_with(n, Setup::default()).await
    }

    /// `n` hubs started with `setup` on a NATS of their own, as [`Self::cluster`].
    pub async fn cluster_with(n: usize, setup: Setup) -> Hubs {
        let nats = NatsServer::start();
        let mut hubs = Vec::with_capacity(n);
        for _ in 0..n {
            let config = Config {
                cluster: Some(crate::cluster_config(&nats.url())),
                ..setup.config.clone()
            };
            hubs.push(TestHub::clustered_within(config, setup.bounds).await);
        }
        Hubs {
            hubs,
            next: AtomicUsize::new(0),
            store: None,
            nats: Some(nats),
        }
    }

    /// The accounts and mailboxes every hub keeps, to read behind the hubs' backs: one hub's
    /// own store, or a new handle on the cluster's JetStream store (the same data).
    pub async fn store(&self) -> Arc<dyn Store> {
        if let Some(store) = &self.store {
            return store.clone();
        }
        let url = self.nats.as_ref().expect("a cluster has its NATS").url();
        let store = tokio::task::spawn_blocking(move || {
            let config = crate::cluster_config(&url);
            hub::store::jetstream::JetStreamStore::connect_with(
                &url,
                hub::cluster::nats_options(&config),
                Bounds::default(),
                hub::cluster::STORE_PREFIX,
            )
        })
        .await
        .expect("the store's opening task")
        .expect("the cluster's JetStream store opens");
        Arc::new(store)
    }

    /// The hub the next connection goes to.
    pub fn next_hub(&self) -> &TestHub {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.hubs.len();
        &self.hubs[at]
    }

    /// A well-behaved client on the next hub, known to every hub.
    pub async fn connect(&self) -> Connection {
        let conn = self.next_hub().connect().await;
        self.settled(conn.user_id()).await;
        conn
    }

    /// A client speaking `version` on the next hub, known to every hub.
    pub async fn connect_at(&self, version: u32) -> Connection {
        let conn = self.next_hub().connect_at(version).await;
        self.settled(conn.user_id()).await;
        conn
    }

    /// A client speaking `version` on the next hub, known to every hub, and the hub it is on.
    pub async fn connect_at_on(&self, version: u32) -> (Connection, &TestHub) {
        let hub = self.next_hub();
        let conn = hub.connect_at(version).await;
        self.settled(conn.user_id()).await;
        (conn, hub)
    }

    /// A new connection on the next hub registered as `name` with a new key, the account
    /// known to every hub.
    pub async fn new_account(&self, name: &str) -> (Connection, SecretKey, LoggedIn) {
        let (conn, key, me) = crate::accounts::new_account(self.next_hub().addr, name).await;
        self.settled(me.user_id).await;
        (conn, key, me)
    }

    /// Log `conn` in as `name`, and wait until every hub knows where the account is.
    pub async fn login(&self, conn: &mut Connection, key: &SecretKey, name: &str) -> LoggedIn {
        let me = crate::accounts::login(conn, key, name).await;
        self.settled(me.user_id).await;
        me
    }

    /// Wait until every hub agrees where `id` is: each sees it through exactly the other hubs
    /// it has sessions on.
    pub async fn settled(&self, id: UserId) {
        let what = format!("every hub to agree where {id} is");
        eventually(&what, || {
            let seen: Vec<(Option<u64>, Seen)> = self
                .hubs
                .iter()
                .map(|h| (h.inspector.cluster_hub(), h.inspector.presence_of(id)))
                .collect();
            let mut on: Vec<u64> = seen
                .iter()
                .filter(|(_, (here, _))| *here)
                .filter_map(|(hub, _)| *hub)
                .collect();
            on.sort_unstable();
            seen.iter().all(|(hub, (_, remote))| {
                let others: Vec<u64> = on.iter().copied().filter(|h| Some(*h) != *hub).collect();
                *remote == others
            })
        })
        .await
    }

    /// Wait until no hub has `id` present.
    pub async fn gone(&self, id: UserId) {
        let what = format!("every hub to have forgotten {id}");
        eventually(&what, || {
            !self.hubs.iter().any(|h| h.inspector.is_present(id))
        })
        .await
    }

    /// Wait until no hub holds a connection.
    pub async fn empty(&self) {
        eventually("every hub to hold no connection", || {
            self.hubs.iter().all(|h| h.inspector.connections() == 0)
        })
        .await
    }

    /// Stop every hub.
    pub async fn stop(self) {
        for hub in self.hubs {
            hub.stop().await;
        }
    }
}

/// Make each `async fn NAME(hubs: Hubs) { … }` two tests: `NAME::one_hub` on one hub and
/// `NAME::three_hubs` on a cluster of three ([`Hubs`]). `async fn NAME(hubs: Hubs = SETUP)`
/// starts every hub with `SETUP`, a [`Setup`].
#[macro_export]
macro_rules! on_one_hub_and_a_cluster {
    ($($(#[doc = $doc:expr])* async fn $name:ident($hubs:ident: Hubs $(= $setup:expr)?) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn $name($hubs: $crate::hubs::Hubs) $body

                #[tokio::test]
                async fn one_hub() {
                    let setup = $crate::on_one_hub_and_a_cluster!(@setup $($setup)?);
                    $name($crate::hubs::Hubs::one_with(setup).await).await
                }

                #[tokio::test]
                async fn three_hubs() {
                    let setup = $crate::on_one_hub_and_a_cluster!(@setup $($setup)?);
                    $name($crate::hubs::Hubs::cluster_with(3, setup).await).await
                }
            }
        )*
    };
    (@setup) => { $crate::hubs::Setup::default() };
    (@setup $setup:expr) => { $setup };
}
