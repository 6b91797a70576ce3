//! Test support: a real hub on 127.0.0.1:0 in its own runtime, so that test bodies can be plain
//! blocking code that drives real `tui-client` processes.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use hub::{Config, Hub};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The generous bound of every wait: far above what any step takes, so only a real hang fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A hub serving on an ephemeral loopback port until dropped.
pub struct TestHub {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestHub {
    pub fn start() -> TestHub {
        Self::start_at(
            "127.0.0.1:0",
            Config {
                stats_interval: Duration::ZERO,
                ..Config::default()
            },
        )
    }

    /// A hub on `addr` (a port another hub just left, to test reconnecting) with `config`.
    pub fn start_at(addr: &str, config: Config) -> TestHub {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime.block_on(TcpListener::bind(addr)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        runtime.spawn(Hub::new(config).run(listener, shutdown.clone()));
        TestHub {
            addr,
            shutdown,
            runtime: Some(runtime),
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Poll `check` every 50 ms until it gives a value or [`WAIT`] passes.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `len` bytes that are not all alike, so a mix-up in the copy would show.
pub fn patterned_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The one file in `dir` once it has `len` bytes (the download is renamed into place whole).
pub fn wait_for_file(dir: &Path, len: u64) -> std::path::PathBuf {
    wait_until("a saved file", || {
        let entries = std::fs::read_dir(dir).ok()?;
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            !p.to_string_lossy().ends_with(".part")
                && p.metadata().map(|m| m.len()).ok() == Some(len)
        })
    })
}
