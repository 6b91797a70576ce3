//! Support for looking at what the hub sees: a recording TCP proxy in front of it (the hub's
//! side of the wire), the hub's log captured at trace level, and every byte of its files.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (recursively) with its bytes: the database, its `-wal` and `-shm`.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("lists") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).expect("reads");
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

/// A TCP proxy to `upstream` that keeps every byte either way: what the hub read and wrote.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(hub) = TcpStream::connect(upstream) else {
                    continue;
                };
                for (from, to) in [
                    (
                        client.try_clone().expect("clone"),
                        hub.try_clone().expect("clone"),
                    ),
                    (hub, client),
                ] {
                    let record = record.clone();
                    std::thread::spawn(move || pump(from, to, &record));
                }
            }
        });
        Proxy { addr, seen }
    }

    /// Everything that crossed so far, both directions interleaved in chunks.
    pub fn bytes(&self) -> Vec<u8> {
        self.seen.lock().expect("lock").clone()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, record: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                record.lock().expect("lock").extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// The log of every hub in this test process, at trace level, as the hub's binary would
/// write it (the clients are other processes with logs of their own).
pub struct HubLog {
    text: Arc<Mutex<Vec<u8>>>,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl HubLog {
    /// Start capturing (once per process; later calls share the capture).
    pub fn capture() -> HubLog {
        static TEXT: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
        let text = TEXT
            .get_or_init(|| {
                let text = Arc::new(Mutex::new(Vec::new()));
                let sink = Sink(text.clone());
                tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::TRACE)
                    .with_ansi(false)
                    .with_writer(move || sink.clone())
                    .init();
                text
            })
            .clone();
        HubLog { text }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().expect("lock")).into_owned()
    }
}
