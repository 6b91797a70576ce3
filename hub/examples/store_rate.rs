//! Durable mailbox writes per second: THREADS writers each store 1 KiB messages for an
//! offline account through the embedded store, every `enqueue` fsynced before it returns.
//!
//! ```text
//! cargo run --release -p hub --example store_rate -- [THREADS] [SECONDS]
//! ```
//!
//! Concurrent writers are committed in groups (one transaction, one fsync for all waiting), so
//! 64 writers store several times what one does.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Enqueued, Mail, Store};
use shared::{BodyKind, SecretKey, UserId};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(1, |a| a.parse().expect("THREADS"));
    let seconds: u64 = args.next().map_or(3, |a| a.parse().expect("SECONDS"));
    let dir = tempfile::tempdir().expect("temp dir");
    let bounds = Bounds {
        max_messages: u64::MAX >> 1,
        max_bytes: u64::MAX >> 1,
        ..Bounds::default()
    };
    let store = SqliteStore::open(&dir.path().join("hub.db"), bounds).expect("opens");
    let to = store
        .create_account("away", SecretKey::from_seed([1; 32]).public(), 0)
        .expect("creates")
        .id;
    let mail = Mail {
        from: UserId(1),
        sent_at_ms: 0,
        kind: BodyKind::Bytes,
        body: Bytes::from(vec![7u8; 1024]),
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let stored: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let answer = store.enqueue(&[to], &mail).expect("stores");
                        assert!(matches!(answer[0], Enqueued::Stored(_)));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("no panic"))
            .sum()
    });
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{threads} writers: {stored} durable 1 KiB messages in {elapsed:.1} s = {:.0}/s",
        stored as f64 / elapsed
    );
}
