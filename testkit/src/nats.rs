//! A real `nats-server` with JetStream on a loopback port, for the tests of a clustered hub
//! and of its JetStream store. `scripts/deps.sh` installs the server (Debian's package); a
//! test that cannot start one fails, it never skips.
//!
//! The server keeps its JetStream data in a directory of its own, which outlives
//! [`NatsServer::kill`] and [`NatsServer::stop`], so that [`NatsServer::restart`] brings back
//! the same server (same port, same streams) as a real restart would.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::WAIT;

/// What every test server reads first: a `max_payload` that holds the hub's largest frame
/// (a 1 MiB body and its header) and a relay's receiver header, as docs/CLUSTER.md asks of a
/// cluster's NATS (the server's default is 1 MiB).
pub const BASE_CONFIG: &str = "max_payload: 2MB";

/// A running nats-server; killed on drop, its data directory removed with it.
pub struct NatsServer {
    child: Option<Child>,
    /// Where it listens for clients.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    config: Option<PathBuf>,
}

impl NatsServer {
    /// A server with JetStream on a free loopback port, and [`BASE_CONFIG`].
    pub fn start() -> NatsServer {
        Self::with_config("")
    }

    /// A server with JetStream on a free loopback port, reading [`BASE_CONFIG`] and then
    /// `config` (nats-server's own format: users, permissions; a setting here overrides the
    /// base's); its `listen`, `port` and store are set here.
    pub fn with_config(config: &str) -> NatsServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("nats.conf");
        std::fs::write(&path, format!("{BASE_CONFIG}\n{config}")).expect("write the nats config");
        Self::launch_in(dir, Some(path), None)
    }

    fn launch_in(dir: tempfile::TempDir, config: Option<PathBuf>, port: Option<u16>) -> NatsServer {
        let (child, addr) = spawn(dir.path(), config.as_deref(), port);
        NatsServer {
            child: Some(child),
            addr,
            dir,
            config,
        }
    }

    /// `nats://127.0.0.1:PORT`, what `hub --cluster` and async-nats take.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the server is gone at once, as when its machine fails.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and wait for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// Start it again after [`Self::kill`] or [`Self::stop`]: the same port and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server first");
        let (child, addr) = spawn(
            self.dir.path(),
            self.config.as_deref(),
            Some(self.addr.port()),
        );
        assert_eq!(addr, self.addr, "the restarted server listens where it did");
        self.child = Some(child);
    }

    /// Its JetStream data directory.
    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server's binary: on PATH, else where Debian's package puts it (/usr/sbin, which a
/// user's PATH may lack).
fn binary() -> &'static str {
    const DEBIAN: &str = "/usr/sbin/nats-server";
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("nats-server").is_file())
    });
    if !on_path && Path::new(DEBIAN).is_file() {
        DEBIAN
    } else {
        "nats-server"
    }
}

/// Start nats-server with JetStream in `dir` on `port` (a free one when `None`, which the
/// server picks itself so that no other test can take it in between) and wait until it
/// says where it listens.
fn spawn(dir: &Path, config: Option<&Path>, port: Option<u16>) -> (Child, SocketAddr) {
    let port = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
    let mut cmd = Command::new(binary());
    if let Some(config) = config {
        cmd.arg("-c").arg(config);
    }
    cmd.args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("nats-server starts (scripts/deps.sh installs Debian's nats-server)");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::sync_channel(1);
    // Drain stderr for the whole life of the process so that its log never blocks it.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("nats-server says where it listens within {WAIT:?}"));
    let addr: SocketAddr = addr.parse().expect("a socket address");
    wait_until_ready(addr);
    (child, addr)
}

/// Wait until a client can connect and the server answers `PING` with `PONG` (or, if it has
/// users, refuses the anonymous `CONNECT`).
fn wait_until_ready(addr: SocketAddr) {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let answered = std::net::TcpStream::connect(addr).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut info = [0u8; 4096];
            let _ = s.read(&mut info)?;
            s.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")?;
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf)?;
            // A server with users (`with_config`) answers a CONNECT without credentials with
            // an authorization error: it is up all the same.
            let said = &buf[..n];
            Ok(said.windows(4).any(|w| w == b"PONG")
                || said.windows(13).any(|w| w == b"Authorization"))
        });
        if matches!(answered, Ok(true)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server on {addr} did not answer PING"
        );
        // A plain thread sleep, not `blocking::wait_until`: servers are started from inside
        // async tests, where another runtime cannot be entered.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_server_comes_back_on_its_port() {
        let mut nats = NatsServer::start();
        let addr = nats.addr;
        assert!(std::net::TcpStream::connect(addr).is_ok());
        nats.kill();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "killed: nobody listens"
        );
        nats.restart();
        assert_eq!(nats.addr, addr);
        wait_until_ready(addr);
    }
}
