//! The same test against one hub and against a cluster of hubs on one NATS: a test body takes
//! a [`Hubs`], and [`on_one_hub_and_a_cluster!`](crate::on_one_hub_and_a_cluster) makes it
//! two tests, `NAME::one_hub` and `NAME::three_hubs`.
//!
//! [`Hubs::connect`] hands out connections to the hubs in turn and returns each once every hub
//! knows it, so a test written for one hub (connect, then list or relay at once) means the
//! same on a cluster, where presence crosses NATS before another hub can route to a user.

use std::sync::atomic::{AtomicUsize, Ordering};

use shared::conn::Connection;
use shared::UserId;

use crate::nats::NatsServer;
use crate::wait::eventually;
use crate::TestHub;

/// One hub, or several on one NATS.
pub struct Hubs {
    /// The hubs, in the order connections go to them.
    pub hubs: Vec<TestHub>,
    next: AtomicUsize,
    _nats: Option<NatsServer>,
}

impl Hubs {
    /// One hub with [`crate::test_config`].
    pub async fn one() -> Hubs {
        Hubs {
            hubs: vec![TestHub::start().await],
            next: AtomicUsize::new(0),
            _nats: None,
        }
    }

    /// `n` hubs with [`crate::test_config`] on a NATS of their own
    /// ([`crate::cluster_config`]).
    pub async fn cluster(n: usize) -> Hubs {
        let nats = NatsServer::start();
        let mut hubs = Vec::with_capacity(n);
        for _ in 0..n {
            hubs.push(TestHub::in_cluster(&nats.url()).await);
        }
        Hubs {
            hubs,
            next: AtomicUsize::new(0),
            _nats: Some(nats),
        }
    }

    /// The hub the next connection goes to.
    pub fn next_hub(&self) -> &TestHub {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.hubs.len();
        &self.hubs[at]
    }

    /// A well-behaved client on the next hub, known to every hub.
    pub async fn connect(&self) -> Connection {
        let conn = self.next_hub().connect().await;
        self.known(conn.user_id()).await;
        conn
    }

    /// A client speaking `version` on the next hub, known to every hub.
    pub async fn connect_at(&self, version: u32) -> Connection {
        let conn = self.next_hub().connect_at(version).await;
        self.known(conn.user_id()).await;
        conn
    }

    /// Wait until every hub has `id` present.
    pub async fn known(&self, id: UserId) {
        let what = format!("every hub to know {id}");
        eventually(&what, || {
            self.hubs.iter().all(|h| h.inspector.is_present(id))
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

    /// Stop every hub.
    pub async fn stop(self) {
        for hub in self.hubs {
            hub.stop().await;
        }
    }
}

/// Make each `async fn NAME(hubs: Hubs) { … }` two tests: `NAME::one_hub` on one hub and
/// `NAME::three_hubs` on a cluster of three ([`Hubs`]).
#[macro_export]
macro_rules! on_one_hub_and_a_cluster {
    ($($(#[doc = $doc:expr])* async fn $name:ident($hubs:ident: Hubs) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn $name($hubs: $crate::hubs::Hubs) $body

                #[tokio::test]
                async fn one_hub() {
                    $name($crate::hubs::Hubs::one().await).await
                }

                #[tokio::test]
                async fn three_hubs() {
                    $name($crate::hubs::Hubs::cluster(3).await).await
                }
            }
        )*
    };
}
