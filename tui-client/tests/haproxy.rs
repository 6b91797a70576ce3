//! HAProxy in TCP mode in front of real hubs, with docs/examples/haproxy.cfg itself (its
//! addresses replaced by test ports): the full-screen client's network task, given HAProxy's
//! one address, connects through it to a hub; when that hub dies (every socket closed at
//! once, no goodbye, as `kill -9` leaves it) the client reconnects through HAProxy to the
//! other hub. The config's third backend is a dead port all along, as a hub that never came up.
//! HAProxy's own view (its stats socket, added for the test) shows what its health check makes
//! of a live, a full, a dead and a hung hub, and a hung hub's client is moved to the other.
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

/// A real hub on its own runtime, so that it can die or hang all at once.
struct Backend {
    addr: SocketAddr,
    inspector: Inspector,
    runtime: Option<tokio::runtime::Runtime>,
    /// Held while the hub hangs ([`Self::hang`]); dropped, it goes on.
    thaw: Option<std::sync::mpsc::Sender<()>>,
}

impl Backend {
    fn start() -> Backend {
        Self::with_config(test_config())
    }

    fn with_config(config: hub::Config) -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let hub = Hub::new(config);
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
            thaw: None,
        }
    }

    /// Drop every task of the hub, its listener and connections with them: the kernel closes
    /// the sockets, and no goodbye is sent.
    fn kill(&mut self) {
        self.thaw = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Block the hub's one worker thread, as a hub stopped by SIGSTOP or cut off by a
    /// partition: its sockets stay open and the kernel still accepts connections, but nothing
    /// is read, answered or welcomed. Returns once the worker is blocked.
    fn hang(&mut self) {
        let (thaw, frozen) = std::sync::mpsc::channel::<()>();
        let (told, blocked) = std::sync::mpsc::channel::<()>();
        self.thaw = Some(thaw);
        let runtime = self.runtime.as_ref().expect("a live hub");
        runtime.spawn(async move {
            let _ = told.send(());
            // Blocking on purpose: this is the hang.
            let _ = frozen.recv();
        });
        blocked
            .recv_timeout(testkit::WAIT)
            .expect("the worker blocked");
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
    /// Its stats socket (added to the example's `global` for the test).
    stats: std::path::PathBuf,
}

impl Haproxy {
    async fn start(dir: &Path, front: SocketAddr, backends: [SocketAddr; 3]) -> Haproxy {
        Self::start_edited(dir, front, backends, &[]).await
    }

    /// [`Self::start`] with each `(from, to)` of `edits` made in the config first.
    async fn start_edited(
        dir: &Path,
        front: SocketAddr,
        backends: [SocketAddr; 3],
        edits: &[(&str, &str)],
    ) -> Haproxy {
        let mut config = CONFIG.to_owned();
        for (from, to) in edits {
            assert_eq!(
                config.matches(from).count(),
                1,
                "{from:?} once in the example"
            );
            config = config.replace(from, to);
        }
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
        let stats = dir.join("haproxy.sock");
        let global = format!(
            "global\n    stats socket {} mode 600 level admin\n",
            stats.display()
        );
        assert_eq!(config.matches("global\n").count(), 1, "one global section");
        let config = config.replace("global\n", &global);
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
        let mut haproxy = Haproxy { child, stats };
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

impl Haproxy {
    /// What the last health check of backend server `server` (`hub1` …) said, as HAProxy's
    /// `show stat` has it (`L7OK`, `L4CON`, `L7TOUT`, …; with a `* ` while a check runs).
    fn check_status(&self, server: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut sock = std::os::unix::net::UnixStream::connect(&self.stats).ok()?;
        sock.write_all(b"show stat\n").ok()?;
        let mut csv = String::new();
        sock.read_to_string(&mut csv).ok()?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (px, sv, status) = (
            column("pxname")?,
            column("svname")?,
            column("check_status")?,
        );
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find_map(|row| {
                (row.get(px) == Some(&"hubs") && row.get(sv) == Some(&server))
                    .then(|| {
                        row.get(status)
                            .map(|s| s.trim_start_matches("* ").to_owned())
                    })
                    .flatten()
            })
    }

    /// The age in seconds of each session HAProxy holds to the hubs (`show sess`).
    fn session_ages(&self) -> Vec<u64> {
        use std::io::{Read, Write};
        let Ok(mut sock) = std::os::unix::net::UnixStream::connect(&self.stats) else {
            return Vec::new();
        };
        let mut text = String::new();
        if sock.write_all(b"show sess\n").is_err() || sock.read_to_string(&mut text).is_err() {
            return Vec::new();
        }
        text.lines()
            .filter(|l| l.contains(" be=hubs "))
            .filter_map(|l| l.split(" age=").nth(1)?.split(' ').next().map(seconds))
            .collect()
    }

    /// Wait until the last check of `server` said `status`.
    async fn wait_check(&self, server: &str, status: &str) {
        let what = format!("haproxy's check of {server}: {status}");
        eventually(&what, || {
            self.check_status(server).as_deref() == Some(status)
        })
        .await
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HAProxy's `1h2m3s` style of age, in seconds.
fn seconds(age: &str) -> u64 {
    let (mut total, mut n) = (0, 0);
    for c in age.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c as u8 - b'0'),
            'd' => (total, n) = (total + n * 86_400, 0),
            'h' => (total, n) = (total + n * 3_600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            _ => {}
        }
    }
    total
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_keeps_a_live_or_full_hub_and_drops_a_dead_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Backend::start();
    let full = Backend::with_config(hub::Config {
        max_connections: 1,
        ..test_config()
    });
    // Someone holds the full hub's one connection: a check then gets ServerFull.
    let _holding = shared::conn::Connection::connect(full.addr)
        .await
        .expect("the one connection");
    eventually("the full hub full", || full.inspector.connections() == 1).await;
    let dead = free_addr();
    let haproxy = Haproxy::start(dir.path(), free_addr(), [live.addr, full.addr, dead]).await;
    haproxy.wait_check("hub1", "L7OK").await;
    haproxy.wait_check("hub2", "L7OK").await;
    haproxy.wait_check("hub3", "L4CON").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_hub_is_marked_down_and_its_client_moves_to_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends = [Backend::start(), Backend::start()];
    let front = free_addr();
    let haproxy = Haproxy::start(
        dir.path(),
        front,
        [backends[0].addr, backends[1].addr, free_addr()],
    )
    .await;
    let config = net_support::config(front, dir.path(), None);
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(256);
    tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(front.to_string(), (120, 30));
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    let first = holder(&[&backends[0], &backends[1]]).await;
    let other = 1 - first;

    // The hub stops answering with the client's connection open: nothing closes it but
    // HAProxy, once its checks mark the hub down (on-marked-down shutdown-sessions).
    backends[first].hang();
    let server = format!("hub{}", first + 1);
    haproxy.wait_check(&server, "L7TOUT").await;
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    eventually("the client on the other hub", || {
        backends[other].inspector.connections() == 1
    })
    .await;
}

/// What the docs say a health check costs: it is a connection like any other, so every
/// watcher of the hub hears it arrive and leave (anonymous, an id used up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_health_check_is_a_connection_that_watchers_see_come_and_go() {
    use shared::{ClientMsg, HubMsg, RequestId};
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Backend::start();
    let mut watcher = shared::conn::Connection::connect(hub.addr)
        .await
        .expect("connect");
    let watch = ClientMsg::<bytes::Bytes>::Watch { req: RequestId(1) };
    watcher.send(&watch).await.expect("watch");
    let _haproxy = Haproxy::start(
        dir.path(),
        free_addr(),
        [hub.addr, free_addr(), free_addr()],
    )
    .await;
    let (mut arrived, mut left) = (Vec::new(), Vec::new());
    // Three that came and went: at most one is Haproxy::start's own connection through it.
    while arrived.iter().filter(|id| left.contains(*id)).count() < 3 {
        match testkit::recv(&mut watcher).await {
            HubMsg::Presence {
                arrived: a,
                left: l,
            } => {
                arrived.extend(a.into_iter().map(|p| p.user_id));
                left.extend(l);
            }
            HubMsg::Arrived { user_id, .. } | HubMsg::Joined { user_id } => arrived.push(user_id),
            HubMsg::Left { user_id } => left.push(user_id),
            _ => {}
        }
    }
}

/// The config's idle timeouts against the hub's keepalive, scaled down (3 s timeouts, a 1 s
/// ping interval, as 90 s to 30 s): a client that only answers keepalives (no `Watch`, so no
/// presence pushes) keeps its session through HAProxy well past the timeouts. Without
/// keepalives (the mutation: a ping interval of an hour) HAProxy cuts it at 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalives_keep_an_idle_client_through_haproxy_past_its_timeouts() {
    use shared::{ClientMsg, HubMsg};
    const TIMEOUT_S: u64 = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Backend::with_config(hub::Config {
        ping_interval: std::time::Duration::from_secs(1),
        ..test_config()
    });
    let front = free_addr();
    let haproxy = Haproxy::start_edited(
        dir.path(),
        front,
        [hub.addr, free_addr(), free_addr()],
        &[
            ("timeout client 90s", "timeout client 3s"),
            ("timeout server 90s", "timeout server 3s"),
        ],
    )
    .await;
    // Until its checks have run HAProxy takes the two dead backends for up, and a connection
    // handed to one of them is closed: retried, as the client's backoff would.
    let deadline = tokio::time::Instant::now() + testkit::WAIT;
    let mut idle = loop {
        match shared::conn::Connection::connect(front).await {
            Ok(conn) => break conn,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "through haproxy: {e}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Answers keepalives, as every client does; ends when the connection does.
    let client = tokio::spawn(async move {
        while let Ok(msg) = idle.recv().await {
            if matches!(msg, HubMsg::KeepAlive) {
                let ack = ClientMsg::<bytes::Bytes>::KeepAliveAck;
                if idle.send(&ack).await.is_err() {
                    return;
                }
            }
        }
    });
    eventually("a session older than twice the timeouts", || {
        haproxy
            .session_ages()
            .iter()
            .any(|age| *age > 2 * TIMEOUT_S)
    })
    .await;
    assert!(!client.is_finished(), "the idle client is still connected");
}

/// TLS hubs behind HAProxy: TCP mode passes TLS through, the client pins the one address,
/// and hubs that share one certificate pass for the pinned hub when the client moves to the
/// other. The welcome check cannot read inside TLS, so the config's three tcp-check lines
/// are dropped and `check` connects only (`L4OK`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_passes_through_and_hubs_sharing_a_certificate_pass_for_the_pinned_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = testkit::tls::self_signed();
    let tls = || hub::Config {
        tls: Some(testkit::tls::serving(&cert)),
        ..test_config()
    };
    let mut backends = [Backend::with_config(tls()), Backend::with_config(tls())];
    let front = free_addr();
    let check = "    option tcp-check\n    tcp-check connect\n    tcp-check expect rbinary ^000000..(0001|0[aA]0008)\n";
    let haproxy = Haproxy::start_edited(
        dir.path(),
        front,
        [backends[0].addr, backends[1].addr, free_addr()],
        &[(check, "")],
    )
    .await;
    haproxy.wait_check("hub1", "L4OK").await;
    let known_hubs = dir.path().join("known_hubs");
    let hub =
        tui_client::net::HubAddr::new(&format!("tls://{front}"), false, None, Some(&known_hubs))
            .expect("a TLS address");
    let config = tui_client::net::NetConfig {
        hubs: hub.into(),
        ..net_support::config(front, dir.path(), None)
    };
    let (_commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(256);
    tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(front.to_string(), (120, 30));
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    let first = holder(&[&backends[0], &backends[1]]).await;
    let pinned = std::fs::read_to_string(&known_hubs).expect("pinned on first use");
    assert_eq!(pinned.lines().count(), 1, "{pinned}");
    assert!(pinned.starts_with(&format!("{front} ")), "{pinned}");

    backends[first].kill();
    net_support::until(&mut app, &mut events, |a| a.conn != ConnState::Connected).await;
    net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    eventually("the client on the other hub", || {
        backends[1 - first].inspector.connections() == 1
    })
    .await;
    assert_eq!(std::fs::read_to_string(&known_hubs).expect("pins"), pinned);
}
