//! A bounded soak of the release hub binary: many connections, a million relays to random
//! receivers with random sizes, a few clients that never read and a few that vanish. At the end
//! the ledger must hold and the hub's RSS must be back within 10% of its figure with every
//! client connected and before the first relay.
//!
//! ```text
//! cargo build --release -p hub && cargo run --release -p hub --example soak -- [CONNECTIONS] [RELAYS]
//! ```
//! Defaults: 10,000 connections, 1,000,000 relays. Not part of CI.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::conn::{ConnReader, ConnWriter, Connection};
use shared::UserId;
use testkit::child::HubProcess;
use testkit::ledger::Ledger;
use tokio::task::AbortHandle;

/// Phases of the run; RSS is compared between them.
const PHASES: usize = 4;
/// Senders at once; each owns a share of the clients and relays from them in turn.
const DRIVERS: usize = 64;
/// The hub's ping interval. The soak's clients never answer a keepalive, so it must outlast the
/// connecting (up to ~30 s), every pause between relays and the final RSS reading.
const PING: Duration = Duration::from_secs(60);
/// Clients that never read (and are made to overflow), and clients that vanish mid-run.
const SLOW: usize = 20;
const VANISH: usize = 20;

struct Client {
    id: UserId,
    wr: ConnWriter,
    reader: AbortHandle,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let conns: usize = args
        .next()
        .map_or(10_000, |a| a.parse().expect("connections"));
    let relays: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("relays"));
    let max = (conns + 100).to_string();
    let hub = HubProcess::spawn_beside_example(
        &[
            "--max-connections",
            &max,
            // The smallest queue the hub accepts, so that the clients that never read overflow
            // soon.
            "--queue-bytes",
            "2097152",
            "--ping-interval",
            &format!("{}s", PING.as_secs()),
        ],
        None,
    );
    let rss_idle = hub.status_kib("VmRSS");
    let ledger = Arc::new(Ledger::new());
    let started = Instant::now();
    let (clients, slow) = connect_all(&hub, conns, &ledger).await;
    let rss_start = hub.status_kib("VmRSS");
    println!(
        "{conns} connected in {:.1} s; hub RSS {} KiB idle, {} KiB with connections",
        started.elapsed().as_secs_f64(),
        rss_idle,
        rss_start
    );
    let ids: Arc<Vec<UserId>> = Arc::new(
        clients
            .iter()
            .map(|c| c.id)
            .chain(slow.iter().map(|s| s.0))
            .collect(),
    );
    let slow_ids: Arc<Vec<UserId>> = Arc::new(slow.iter().map(|s| s.0).collect());
    let t = Instant::now();
    // Four equal quarters; RSS after each is printed for information (a leak would show as
    // growth from one to the next). The pass mark is the end against `rss_start`.
    let mut survivors = clients;
    let mut rss = Vec::new();
    for quarter in 0..PHASES {
        let n = relays / PHASES;
        survivors = drive(survivors, n, ids.clone(), slow_ids.clone(), ledger.clone()).await;
        settle(&ledger, &survivors, false).await;
        rss.push(hub.status_kib("VmRSS"));
        println!(
            "quarter {}: {} relays so far, {} clients left, hub RSS {} KiB",
            quarter + 1,
            ledger.relays(),
            survivors.len(),
            rss[quarter]
        );
    }
    let sent = t.elapsed();
    let last_sent = Instant::now();
    settle(&ledger, &survivors, true).await;
    let elapsed = t.elapsed();
    let rss_end = settled_rss(&hub, rss_start, last_sent).await;
    let hwm = hub.status_kib("VmHWM");
    let (delivered, unknown, dropped, refused) = ledger.totals();
    println!(
        "{} relays sent in {:.1} s, settled in {:.1} s: {:.0} relays/s, {delivered} deliveries, \
         {unknown} unknown, {dropped} dropped, {refused} refused",
        ledger.relays(),
        sent.as_secs_f64(),
        elapsed.as_secs_f64(),
        ledger.relays() as f64 / elapsed.as_secs_f64(),
    );
    let violations = ledger.violations();
    println!(
        "ledger: {} violations {:?}",
        violations.len(),
        &violations[..violations.len().min(5)]
    );
    let growth = rss_end as f64 / rss_start as f64 - 1.0;
    println!(
        "hub RSS: connected {rss_start} KiB, quarters {rss:?} KiB, peak {hwm} KiB, \
         end {rss_end} KiB ({:+.1}% from connected)",
        growth * 100.0
    );
    drop((survivors, slow));
    // For information: the allocator gives freed pages back over its decay time (10 s).
    let mut rss_gone = u64::MAX;
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_gone = rss_gone.min(hub.status_kib("VmRSS"));
    }
    println!(
        "after every client left: hub RSS {rss_gone} KiB (lowest over 15 s), {} fds",
        hub.fds()
    );
    let ok = violations.is_empty() && growth <= 0.10;
    println!("soak {}", if ok { "PASSED" } else { "FAILED" });
    // Returned, not `process::exit`: that skips destructors, and dropping `hub` kills it.
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The hub's RSS once the relays have settled, connections still open. A connection gives back
/// what a burst grew a second after its last frame if it was streaming, else at its next timer
/// (the frame deadline, 30 s), and the allocator hands freed pages back to the OS over its
/// decay time (jemalloc's default: 10 s),
/// so poll until RSS is within 10% of `start`, for at most until [`PING`] + 30 s after the last
/// relay was sent (`last_sent`): well before any connection has been quiet for two intervals,
/// when the hub would close it for not answering keepalives. Past that, the figure stands.
async fn settled_rss(hub: &HubProcess, start: u64, last_sent: Instant) -> u64 {
    let deadline = last_sent + PING + Duration::from_secs(30);
    let waited = Instant::now();
    let first = hub.status_kib("VmRSS");
    let mut rss = first;
    while rss as f64 > start as f64 * 1.10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rss = hub.status_kib("VmRSS");
    }
    println!(
        "hub RSS once settled: {first} KiB, {rss} KiB after waiting {:.1} s ({} fds open)",
        waited.elapsed().as_secs_f64(),
        hub.fds()
    );
    rss
}

/// Connect `n` clients, 200 at a time. The first [`SLOW`] never read; the others read
/// everything into the ledger.
async fn connect_all(
    hub: &HubProcess,
    n: usize,
    ledger: &Arc<Ledger>,
) -> (Vec<Client>, Vec<(UserId, ConnReader, ConnWriter)>) {
    let mut clients = Vec::with_capacity(n);
    let mut slow = Vec::new();
    for batch in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut pending = Vec::new();
        for &i in batch {
            let addr = hub.addr;
            pending.push(tokio::spawn(async move {
                (i, Connection::connect(addr).await.expect("connect"))
            }));
        }
        for p in pending {
            let (i, conn) = p.await.expect("connect task");
            let id = conn.user_id();
            let (rd, wr) = conn.split();
            if i < SLOW {
                slow.push((id, rd, wr));
            } else {
                let reader = tokio::spawn(read_all(id, rd, ledger.clone())).abort_handle();
                clients.push(Client { id, wr, reader });
            }
        }
    }
    (clients, slow)
}

async fn read_all(id: UserId, mut rd: ConnReader, ledger: Arc<Ledger>) {
    while let Ok(msg) = rd.recv().await {
        if !ledger.receive(id, &msg) {
            ledger.answer(id, &msg);
        }
    }
}

/// Relay `total` times from random clients to 1-8 random receivers (1% of relays: to a slow
/// client, 32 KiB, so that it overflows), sizes mostly small; a few clients vanish on the way.
async fn drive(
    clients: Vec<Client>,
    total: usize,
    ids: Arc<Vec<UserId>>,
    slow: Arc<Vec<UserId>>,
    ledger: Arc<Ledger>,
) -> Vec<Client> {
    let mut shares: Vec<Vec<Client>> = (0..DRIVERS).map(|_| Vec::new()).collect();
    for (i, c) in clients.into_iter().enumerate() {
        shares[i % DRIVERS].push(c);
    }
    let per = total / DRIVERS;
    let mut tasks = Vec::new();
    for (d, share) in shares.into_iter().enumerate() {
        let (ids, slow, ledger) = (ids.clone(), slow.clone(), ledger.clone());
        let vanish_every = if d < VANISH { per / 2 } else { usize::MAX };
        tasks.push(tokio::spawn(async move {
            let mut share = share;
            let mut rng = fastrand::Rng::with_seed(d as u64);
            for n in 0..per {
                if share.is_empty() {
                    break;
                }
                let k = rng.usize(..share.len());
                if n == vanish_every {
                    let gone = share.swap_remove(k);
                    gone.reader.abort();
                    ledger.gone(gone.id);
                    continue;
                }
                let (to, size) = if rng.u32(..100) == 0 {
                    (vec![slow[rng.usize(..slow.len())]], 32 * 1024)
                } else {
                    let count = rng.usize(1..=8);
                    let mut to: Vec<UserId> =
                        (0..count).map(|_| ids[rng.usize(..ids.len())]).collect();
                    to.sort_unstable();
                    to.dedup();
                    let size = if rng.u32(..50) == 0 {
                        rng.usize(8..65_536)
                    } else {
                        rng.usize(8..512)
                    };
                    (to, size)
                };
                let client = &mut share[k];
                let relay = ledger.relay(client.id, &to, size);
                if client.wr.send(&relay).await.is_err() {
                    let gone = share.swap_remove(k);
                    ledger.gone(gone.id);
                }
            }
            share
        }));
    }
    let mut survivors = Vec::new();
    for t in tasks {
        survivors.extend(t.await.expect("driver"));
    }
    survivors
}

/// Wait until every live relay is answered and, at the `end`, until every surviving client has
/// all its deliveries.
async fn settle(ledger: &Ledger, survivors: &[Client], end: bool) {
    for _ in 0..600 {
        if ledger.unanswered_live() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !end {
        return;
    }
    // A client whose reader ended was closed by the hub (a slow consumer): it owes nothing.
    for c in survivors.iter().filter(|c| !c.reader.is_finished()) {
        ledger.healthy(c.id);
    }
    for _ in 0..30 {
        if ledger.violations().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
