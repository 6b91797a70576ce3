//! What the cluster's JetStream store costs against the embedded SQLite store: accounts
//! created, mail enqueued (one writer, then 16 at once), mailboxes read and acknowledged, per
//! second, on the same machine, with the ratio. The JetStream store talks to a nats-server
//! on loopback that this starts (testkit's, Debian's 2.9 binary; file storage, its default
//! sync); SQLite is a file in a temporary directory, fsynced per commit.
//!
//! ```text
//! cargo run --release -p hub --example store_bench -- [ACCOUNTS] [PER_ACCOUNT]
//! ```

use std::time::Instant;

use bytes::Bytes;
use hub::store::jetstream::JetStreamStore;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Enqueued, Mail, Store};
use shared::{BodyKind, SecretKey, UserId};
use testkit::nats::NatsServer;

/// Concurrent writers in the second enqueue phase.
const WRITERS: usize = 16;
/// Messages a mailbox read asks for at once (the hub's drain reads 64).
const PAGE: usize = 64;
/// Body size.
const BODY: usize = 256;

fn main() {
    let mut args = std::env::args().skip(1);
    let accounts: usize = args.next().map_or(100, |a| a.parse().expect("ACCOUNTS"));
    let per: usize = args.next().map_or(20, |a| a.parse().expect("PER_ACCOUNT"));
    let bounds = Bounds {
        max_messages: u64::MAX >> 1,
        max_bytes: u64::MAX >> 1,
        ..Bounds::default()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteStore::open(&dir.path().join("hub.db"), bounds).expect("opens");
    let nats = NatsServer::start();
    let jetstream = JetStreamStore::connect(&nats.url(), bounds, "bench").expect("connects");
    let a = run(&sqlite, accounts, per);
    let b = run(&jetstream, accounts, per);
    println!("{accounts} accounts, {per} messages of {BODY} B each per enqueue phase");
    println!("| per second | SQLite file | JetStream | JetStream ÷ SQLite |");
    println!("|---|---:|---:|---:|");
    for ((what, x), (_, y)) in a.iter().zip(&b) {
        println!("| {what} | {x:.0} | {y:.0} | {:.2}x |", y / x);
    }
}

/// Each phase's rate on `store`.
fn run(store: &dyn Store, accounts: usize, per: usize) -> Vec<(&'static str, f64)> {
    let mut rates = Vec::new();
    let start = Instant::now();
    let ids: Vec<UserId> = (0..accounts)
        .map(|n| {
            let key = SecretKey::from_seed([n as u8; 32]).public();
            store
                .create_account(&format!("u{n}"), key, 0)
                .expect("creates")
                .id
        })
        .collect();
    rates.push(("accounts created", rate(accounts, start)));
    let mail = Mail {
        from: UserId(7),
        sent_at_ms: 0,
        kind: BodyKind::Bytes,
        body: Bytes::from(vec![7u8; BODY]),
    };
    let total = accounts * per;
    let start = Instant::now();
    for n in 0..total {
        enqueue(store, ids[n % accounts], &mail);
    }
    rates.push(("enqueue, 1 writer", rate(total, start)));
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (ids, mail) = (&ids, &mail);
            s.spawn(move || {
                for n in (w..total).step_by(WRITERS) {
                    enqueue(store, ids[n % accounts], mail);
                }
            });
        }
    });
    rates.push(("enqueue, 16 writers", rate(total, start)));
    let start = Instant::now();
    let mut last = Vec::with_capacity(accounts);
    let mut read = 0;
    for &id in &ids {
        let mut after = 0;
        loop {
            let page = store.mailbox(id, after, PAGE, usize::MAX).expect("reads");
            let Some(end) = page.last() else { break };
            after = end.seq;
            read += page.len();
        }
        last.push(after);
    }
    assert_eq!(read, 2 * total, "every message read");
    rates.push(("messages read (pages of 64)", rate(read, start)));
    let start = Instant::now();
    let mut removed = 0;
    for (&id, &upto) in ids.iter().zip(&last) {
        removed += store.ack(id, upto).expect("acks").removed;
    }
    assert_eq!(removed as usize, read, "every message acknowledged");
    rates.push((
        "messages acknowledged (one ack per mailbox)",
        rate(read, start),
    ));
    rates
}

fn enqueue(store: &dyn Store, to: UserId, mail: &Mail) {
    let answer = store.enqueue(&[to], mail).expect("stores");
    assert!(matches!(answer[..], [Enqueued::Stored(_)]), "{answer:?}");
}

fn rate(n: usize, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64()
}
