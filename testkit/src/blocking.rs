//! For tests whose bodies are plain blocking code (driving real `tui-client` processes): a hub
//! in its own runtime, and [`eventually`](crate::eventually) from blocking code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use hub::store::Store;
use hub::{Config, Hub};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::wait::WAIT;

/// A hub serving on its own runtime until dropped.
pub struct BlockingHub {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BlockingHub {
    /// A hub on 127.0.0.1:0 with [`crate::test_config`].
    pub fn start() -> BlockingHub {
        Self::start_at("127.0.0.1:0", crate::test_config())
    }

    /// A hub on `addr` (a port another hub just left, to test reconnecting) with `config`.
    pub fn start_at(addr: &str, config: Config) -> BlockingHub {
        Self::serve(addr, Hub::new(config))
    }

    /// A hub on 127.0.0.1:0 keeping its accounts and mailboxes in `store` (a file, to read
    /// what it wrote).
    pub fn start_with_store(config: Config, store: Arc<dyn Store>) -> BlockingHub {
        Self::serve("127.0.0.1:0", Hub::with_store(config, store))
    }

    fn serve(addr: &str, hub: Hub) -> BlockingHub {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        // A port another hub just left can be taken for a moment: by that hub's runtime
        // still closing, or as the source port of another test's outgoing connection
        // (both come from the ephemeral range). Wait for it, as a restarted hub would.
        let deadline = std::time::Instant::now() + WAIT;
        let listener = loop {
            match runtime.block_on(TcpListener::bind(addr)) {
                Ok(listener) => break listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{addr} still in use after {WAIT:?}"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        runtime.spawn(hub.run(listener, shutdown.clone()));
        BlockingHub {
            addr,
            shutdown,
            runtime: Some(runtime),
        }
    }
}

impl Drop for BlockingHub {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// [`crate::eventually_some`] for blocking code: wait until `check` gives a value.
pub fn wait_until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(crate::eventually_some(what, check))
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
pub fn wait_for_file(dir: &Path, len: u64) -> PathBuf {
    wait_until("a saved file", || {
        let entries = std::fs::read_dir(dir).ok()?;
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            !p.to_string_lossy().ends_with(".part")
                && p.metadata().map(|m| m.len()).ok() == Some(len)
        })
    })
}
