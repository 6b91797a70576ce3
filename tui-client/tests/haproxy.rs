//! HAProxy in TCP mode in front of real hubs, with docs/examples/haproxy.cfg itself (its
//! addresses replaced by test ports): the full-screen client's network task, given HAProxy's
//! one address, connects through it to a hub; when that hub dies (every socket closed at
//! once, no goodbye, as `kill -9` leaves it) the client reconnects through HAProxy to the
//! other hub. The config's third backend is a dead port all along, as a hub that never came up.
//!
//! Needs the `haproxy` binary (Debian's package): scripts/deps.sh installs it. Without it
//! the test fails and says so; it never skips.

#[path = "support/net.rs"]
mod net_support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hub::{Hub, Inspector};
use testkit::{eventually, test_config};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tui_client::app::{App, ConnState};
use tui_client::net::{self, NetCommand};

/// The example config, as shipped.
const CONFIG: &str = include_str!("../../docs/examples/haproxy.cfg");
/// The addresses in [`CONFIG`] that the test replaces: the frontend, then the three hubs.
const FRONTEND: &str = "127.0.0.1:7878";
const BACKENDS: [&str; 3] = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"];

/// The haproxy binary: on the PATH, else where Debian puts it (/usr/sbin is not on every
/// user's PATH).
fn haproxy_bin() -> &'static str {
    let on_path = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if on_path {
        "haproxy"
    } else {
        "/usr/sbin/haproxy"
    }
}

/// A loopback port nothing listens on (it was free a moment ago).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

/// A real hub on its own runtime, so that it can die all at once.
struct Backend {
    addr: SocketAddr,
    inspector: Inspector,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Backend {
    fn start() -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let hub = Hub::new(test_config());
        let inspector = hub.inspector();
        let listener = {
            let _in = runtime.enter();
            hub::listen(([127, 0, 0, 1], 0).into()).expect("bind")
        };
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(hub.run(listener, CancellationToken::new()));
        Backend {
            addr,
            inspector,
            runtime: Some(runtime),
        }
    }

    /// Drop every task of the hub, its listener and connections with them: the kernel closes
    /// the sockets, and no goodbye is sent.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `haproxy -db` with [`CONFIG`], its frontend on `front` and its backends at `backends`.
struct Haproxy {
    child: Child,
}

impl Haproxy {
    async fn start(dir: &Path, front: SocketAddr, backends: [SocketAddr; 3]) -> Haproxy {
        let mut config = CONFIG.to_owned();
        for (from, to) in
            std::iter::once((FRONTEND, front)).chain(BACKENDS.into_iter().zip(backends))
        {
            assert_eq!(
                config.matches(from).count(),
                1,
                "{from} once in the example"
            );
            config = config.replace(from, &to.to_string());
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("write the config");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("log file");
        let child = Command::new(haproxy_bin())
            .arg("-f")
            .arg(&path)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run haproxy ({e}): it is needed by this test; scripts/deps.sh \
                     installs it (Debian's haproxy package)"
                )
            });
        let mut haproxy = Haproxy { child };
        haproxy.wait_listening(dir, front).await;
        haproxy
    }

    /// Wait until HAProxy accepts on `front`; if it exits instead, fail with its log.
    async fn wait_listening(&mut self, dir: &Path, front: SocketAddr) {
        testkit::eventually_some("haproxy listening", || {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default();
                panic!("haproxy exited ({status}):\n{log}");
            }
            std::net::TcpStream::connect(front).ok().map(drop)
        })
        .await;
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which of `backends` holds the client's connection: the one with a connection while no
/// other connection is open anywhere (a health check's lasts a moment).
async fn holder(backends: &[&Backend]) -> usize {
    eventually("the client's connection alone on one hub", || {
        backends
            .iter()
            .map(|b| b.inspector.connections())
            .sum::<usize>()
            == 1
    })
    .await;
    backends
        .iter()
        .position(|b| b.inspector.connections() == 1)
        .expect("one hub holds it")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_the_client_reconnects_to_the_other_hub_when_its_hub_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends = [Backend::start(), Backend::start()];
    let front = free_addr();
    let never_up = free_addr();
    let _haproxy = Haproxy::start(
        dir.path(),
        front,
        [backends[0].addr, backends[1].addr, never_up],
    )
    .await;

    let config = net_support::config(front, dir.path(), None);
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(256);
    tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(front.to_string(), (120, 30));
    // HAProxy may still be starting: the client retries with its backoff until it answers.
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    let first = holder(&[&backends[0], &backends[1]]).await;

    backends[first].kill();
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    let other = 1 - first;
    eventually("the client on the other hub", || {
        backends[other].inspector.connections() == 1
    })
    .await;
    assert_eq!(app.hub, front.to_string(), "one address all along");
    assert_eq!(app.switched_from, None, "the client saw one address only");
}
