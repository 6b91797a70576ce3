//! Test support: docs/examples/haproxy.cfg run by a real `haproxy` (its addresses replaced by
//! test ports, a stats socket added), and real hubs on their own runtimes that can die or hang
//! at once. Include it as `haproxy_support` next to `support/net.rs` (`net_support`).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hub::{Hub, Inspector};
use testkit::{eventually, test_config};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tui_client::app::{App, ConnState};
use tui_client::net::{self, NetCommand, NetEvent};

/// The full-screen client's network task for the plain address `front`, and an `App` fed
/// until it is connected (HAProxy may still be starting: the client retries with its
/// backoff); keep the command sender, or the task ends.
pub async fn connected_client(
    front: SocketAddr,
    dir: &Path,
) -> (App, mpsc::Receiver<NetEvent>, mpsc::Sender<NetCommand>) {
    connected_with(crate::net_support::config(front, dir, None)).await
}

/// [`connected_client`] with its own config.
pub async fn connected_with(
    config: net::NetConfig,
) -> (App, mpsc::Receiver<NetEvent>, mpsc::Sender<NetCommand>) {
    let shown = config.hubs.get(0).to_string();
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(256);
    tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let mut app = App::new(shown, (120, 30));
    crate::net_support::until(&mut app, &mut events, |a| a.conn == ConnState::Connected).await;
    (app, events, commands)
}

/// The example config, as shipped.
pub const CONFIG: &str = include_str!("../../../docs/examples/haproxy.cfg");
/// The addresses in [`CONFIG`] that the test replaces: the frontend, then the three hubs.
pub const FRONTEND: &str = "127.0.0.1:7878";
pub const BACKENDS: [&str; 3] = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"];

/// The haproxy binary: on the PATH, else where Debian puts it (/usr/sbin is not on every
/// user's PATH).
pub fn haproxy_bin() -> &'static str {
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
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

/// A real hub on its own runtime, so that it can die or hang all at once.
pub struct Backend {
    pub addr: SocketAddr,
    pub inspector: Inspector,
    pub runtime: Option<tokio::runtime::Runtime>,
    /// Held while the hub hangs ([`Self::hang`]); dropped, it goes on.
    thaw: Option<std::sync::mpsc::Sender<()>>,
}

impl Backend {
    pub fn start() -> Backend {
        Self::with_config(test_config())
    }

    pub fn with_config(config: hub::Config) -> Backend {
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
    pub fn kill(&mut self) {
        self.thaw = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Block the hub's one worker thread, as a hub stopped by SIGSTOP or cut off by a
    /// partition: its sockets stay open and the kernel still accepts connections, but nothing
    /// is read, answered or welcomed. Returns once the worker is blocked.
    pub fn hang(&mut self) {
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
pub struct Haproxy {
    child: Child,
    /// Its stats socket (added to the example's `global` for the test).
    stats: std::path::PathBuf,
}

impl Haproxy {
    pub async fn start(dir: &Path, front: SocketAddr, backends: [SocketAddr; 3]) -> Haproxy {
        Self::start_edited(dir, front, backends, &[]).await
    }

    /// [`Self::start`] with each `(from, to)` of `edits` made in the config first.
    pub async fn start_edited(
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
    pub async fn wait_listening(&mut self, dir: &Path, front: SocketAddr) {
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
    pub fn check_status(&self, server: &str) -> Option<String> {
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
    pub fn session_ages(&self) -> Vec<u64> {
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
    pub async fn wait_check(&self, server: &str, status: &str) {
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
pub fn seconds(age: &str) -> u64 {
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
pub async fn holder(backends: &[&Backend]) -> usize {
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
