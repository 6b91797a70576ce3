//! Test helpers: a real hub on 127.0.0.1:0 and clients that talk to it over real TCP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hub::registry::Registry;
use hub::{Config, Hub};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(10);

/// A hub serving on an ephemeral loopback port.
pub struct TestHub {
    pub addr: SocketAddr,
    pub registry: Arc<Registry>,
    pub budget: Arc<hub::queue::Budget>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
}

impl TestHub {
    pub async fn start() -> TestHub {
        Self::with_config(Config {
            stats_interval: Duration::ZERO,
            ..Config::default()
        })
        .await
    }

    pub async fn with_config(config: Config) -> TestHub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hub = Hub::new(config);
        let registry = hub.registry();
        let budget = hub.budget();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(hub.run(listener, shutdown.clone()));
        TestHub {
            addr,
            registry,
            budget,
            shutdown,
            task,
        }
    }

    pub async fn connect(&self) -> Connection {
        Connection::connect(self.addr).await.expect("connect")
    }

    /// Stop the hub and wait until it has shut down.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("hub stops in time")
            .expect("hub task");
    }

    /// Wait until the registry holds `n` users.
    pub async fn wait_for_users(&self, n: usize) {
        tokio::time::timeout(WAIT, async {
            while self.registry.len() != n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("registry never reached {n} users"));
    }
}

/// Receive the next message or fail the test after [`WAIT`].
pub async fn recv(conn: &mut Connection) -> HubMsg {
    tokio::time::timeout(WAIT, conn.recv())
        .await
        .expect("a message in time")
        .expect("a message")
}

/// Send a request and return its answer, skipping presence pushes and keepalives.
pub async fn request(conn: &mut Connection, msg: ClientMsg) -> HubMsg {
    conn.send(&msg).await.expect("send");
    loop {
        match recv(conn).await {
            HubMsg::Joined { .. } | HubMsg::Left { .. } | HubMsg::KeepAlive => continue,
            other => return other,
        }
    }
}

pub async fn identity(conn: &mut Connection) -> UserId {
    match request(conn, ClientMsg::Identity { req: RequestId(1) }).await {
        HubMsg::Identity { req, user_id } => {
            assert_eq!(req, RequestId(1));
            user_id
        }
        other => panic!("expected identity, got {other:?}"),
    }
}

pub async fn list(conn: &mut Connection) -> Vec<UserId> {
    match request(conn, ClientMsg::List { req: RequestId(2) }).await {
        HubMsg::Peers { peers, .. } => peers,
        other => panic!("expected peers, got {other:?}"),
    }
}

pub fn relay_msg(req: u32, to: &[UserId], body: impl Into<Bytes>) -> ClientMsg {
    ClientMsg::Relay {
        req: RequestId(req),
        to: to.to_vec(),
        kind: BodyKind::Bytes,
        body: body.into(),
    }
}

/// Relay and return the hub's answer.
pub async fn relay(conn: &mut Connection, to: &[UserId], body: impl Into<Bytes>) -> HubMsg {
    request(conn, relay_msg(9, to, body)).await
}

/// Expect the next message to be a delivery and return (sender, body).
pub async fn delivery(conn: &mut Connection) -> (UserId, Bytes) {
    match recv(conn).await {
        HubMsg::Message { from, body, .. } => (from, body),
        other => panic!("expected a message, got {other:?}"),
    }
}
