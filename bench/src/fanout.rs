//! W1, W2, W3 and W6: client 0 relays M bodies to every other client, pipelined.
//!
//! The sender keeps at most a window of messages ahead of the slowest reading receiver. Without
//! it a sender on loopback outruns its receivers and every server ends up dropping them as slow
//! consumers (by design); the same window applies to all three targets, and it is wide enough
//! (hundreds of KiB to MiBs per receiver) that batching inside the server is not starved.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use shared::conn::{ReadHalf, WriteHalf};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use crate::login::{self, Identity};
use crate::proc_stat::memory;
use crate::proto::{connect, Batch, Client, Proto, Sender};
use crate::scan::{Event, Scanner};
use crate::Workload;

/// The shape of one fan-out run.
struct Spec {
    clients: usize,
    body: usize,
    messages: u64,
    /// Most messages the sender may be ahead of the slowest reading receiver.
    window: u64,
    /// Messages per write.
    batch: u64,
    /// Whether the last receiver stops reading (W6).
    slow: bool,
    /// Longest the sender keeps sending; receivers then wait for what was sent.
    send_for: Duration,
    read_buf: usize,
    timeout: Duration,
}

fn spec(workload: Workload, scale: f64) -> Spec {
    let count = |n: f64| ((n * scale) as u64).max(1);
    let small = |messages, slow| Spec {
        clients: 50,
        body: 6,
        messages,
        window: 8192,
        batch: 256,
        slow,
        // W1 and W6 send for the same time, so that W6's rate can be compared with W1's.
        send_for: Duration::from_secs(12),
        read_buf: 64 * 1024,
        timeout: Duration::from_secs(60),
    };
    match workload {
        Workload::W1 => small(count(1_500_000.0), false),
        // Enough that every server's limit on a reader that stopped could be reached; the
        // sending time is capped instead, so a slow server does not take minutes.
        Workload::W6 => small(count(1_500_000.0), true),
        Workload::W2 => Spec {
            body: 2048,
            messages: count(20_000.0),
            window: 1024,
            batch: 32,
            ..small(0, false)
        },
        _ => Spec {
            clients: 256,
            body: 1024 * 1024,
            messages: count(16.0),
            window: 4,
            batch: 1,
            slow: false,
            send_for: Duration::from_secs(50),
            read_buf: 256 * 1024,
            timeout: Duration::from_secs(60),
        },
    }
}

/// Longest that connecting every client of a run may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect `n` clients (numbered 0..n), a few at a time; client `i` logs in as `accounts[i]`
/// if there are accounts.
pub async fn connect_all(
    proto: Proto,
    addr: SocketAddr,
    n: usize,
    accounts: Option<&[Identity]>,
) -> anyhow::Result<Vec<Client>> {
    if accounts.is_some_and(|a| a.len() != n) {
        bail!("{n} clients need {n} accounts");
    }
    let all = futures::stream::iter(0..n)
        .map(|i| connect(proto, addr, i as u64, accounts.map(|a| &a[i])))
        .buffered(64)
        .try_collect();
    let clients: Vec<Client> = tokio::time::timeout(CONNECT_TIMEOUT, all)
        .await
        .context("connecting clients took too long")?
        .context("connecting clients")?;
    if crate::spread::spread() {
        let ids: Vec<u64> = clients.iter().map(|c| c.address).collect();
        crate::spread::converge(addr, &ids).await?;
    }
    Ok(clients)
}

/// Run a fan-out workload and describe the outcome.
pub async fn run(
    proto: Proto,
    addr: SocketAddr,
    pid: u32,
    workload: Workload,
    scale: f64,
    login: bool,
) -> anyhow::Result<Value> {
    let spec = spec(workload, scale);
    let accounts = login::accounts(proto, addr, login, workload, spec.clients).await?;
    let mut clients = connect_all(proto, addr, spec.clients, accounts.as_deref()).await?;
    let sender = clients.remove(0);
    let slow = if spec.slow { clients.pop() } else { None };
    let to: Vec<u64> = clients
        .iter()
        .chain(slow.iter())
        .map(|c| c.address)
        .collect();
    let deadline = Instant::now() + spec.timeout;
    // How many messages the run sends in the end: fewer than planned if sending was capped.
    let (total_tx, total) = watch::channel(spec.messages);
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new(clients.iter().map(|_| AtomicU64::new(0)).collect());
    let receivers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let progress = progress.clone();
            tokio::spawn(receive(
                c,
                total.clone(),
                progress,
                i,
                deadline,
                spec.read_buf,
            ))
        })
        .collect();

    let out = Sender::new(proto, to.clone(), spec.body);
    let Client {
        rd, mut wr, scan, ..
    } = sender;
    let acks = tokio::spawn(read_acks(rd, scan, out.acks_per_push(), total, deadline));
    let start = Instant::now();
    let stop = deadline.min(start + spec.send_for);
    let sent = send(&spec, &out, &mut wr, &progress, stop, deadline).await;
    total_tx.send_replace(sent);

    let mut delivered = 0;
    let mut last = Some(start);
    for r in receivers {
        let (got, done) = r.await.context("receiver task")?;
        delivered += got;
        last = last.zip(done).map(|(a, b)| a.max(b));
    }
    let (acked, acked_dropped) = acks.await.context("ack task")?;
    drop(total_tx);
    let timed_out = last.is_none();
    let elapsed = last.unwrap_or_else(Instant::now) - start;
    let slow_report = match slow {
        Some(c) => Some(drain_slow(c).await),
        None => None,
    };
    drop(wr);
    let readers = to.len() as u64 - u64::from(spec.slow);
    let expected = sent * readers;
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok(json!({
        "target": proto,
        "workload": workload,
        "messages": spec.messages,
        "sent": sent,
        "receivers": to.len(),
        "body": spec.body,
        "deliveries": delivered,
        "expected": expected,
        "loss": expected.saturating_sub(delivered),
        "timed_out": timed_out,
        "elapsed_s": secs,
        "rate_per_s": delivered as f64 / secs,
        "gbytes_per_s": (delivered * spec.body as u64) as f64 / secs / 1e9,
        "acks": { "delivered": acked, "dropped": acked_dropped },
        "slow": slow_report,
        "memory": memory(pid),
    }))
}

/// Write `spec.messages` sends in batches, never more than the window ahead, starting no batch
/// after `stop`; returns how many were written (a batch cut short by `deadline` is not counted).
async fn send(
    spec: &Spec,
    out: &Sender,
    wr: &mut WriteHalf,
    progress: &[AtomicU64],
    stop: Instant,
    deadline: Instant,
) -> u64 {
    let body = Bytes::from(vec![b'x'; spec.body]);
    let mut batch = Batch::default();
    let mut sent = 0;
    while sent < spec.messages && Instant::now() < stop {
        let slowest = progress
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .min()
            .unwrap_or(sent);
        let room = (slowest + spec.window).saturating_sub(sent);
        if room == 0 {
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        let n = room.min(spec.batch).min(spec.messages - sent);
        for _ in 0..n {
            out.push(&mut batch, &body);
        }
        match timeout_at(deadline, batch.write_to(wr)).await {
            Ok(Ok(())) => sent += n,
            _ => break,
        }
    }
    sent
}

/// Count messages until all that were sent have arrived; returns the count and when the last
/// one came (`None` if the deadline came first).
async fn receive(
    mut c: Client,
    mut total: watch::Receiver<u64>,
    progress: Arc<Vec<AtomicU64>>,
    me: usize,
    deadline: Instant,
    buf_len: usize,
) -> (u64, Option<Instant>) {
    let mut buf = vec![0u8; buf_len];
    let (mut got, mut last) = (0, Instant::now());
    loop {
        if got >= *total.borrow_and_update() {
            return (got, Some(last));
        }
        let n = tokio::select! {
            read = timeout_at(deadline, c.rd.read(&mut buf)) => match read {
                Ok(Ok(n)) if n > 0 => n,
                _ => return (got, None),
            },
            // The sender stopped early: the target came down.
            _ = total.changed() => continue,
        };
        last = Instant::now();
        c.scan.feed(&buf[..n], &mut |e| {
            if let Event::Msg(_) = e {
                got += 1;
            }
        });
        progress[me].store(got, Ordering::Relaxed);
    }
}

/// Read the sender's answers (`per_push` per message sent): returns receivers reached and
/// not reached, summed over answers.
async fn read_acks(
    mut rd: ReadHalf,
    mut scan: Scanner,
    per_push: u64,
    mut total: watch::Receiver<u64>,
    deadline: Instant,
) -> (u64, u64) {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut acks, mut delivered, mut dropped) = (0, 0, 0);
    while acks < *total.borrow_and_update() * per_push {
        let n = tokio::select! {
            read = timeout_at(deadline, rd.read(&mut buf)) => match read {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            },
            _ = total.changed() => continue,
        };
        scan.feed(&buf[..n], &mut |e| {
            if let Event::Ack {
                delivered: d,
                dropped: x,
            } = e
            {
                acks += 1;
                delivered += d;
                dropped += x;
            }
        });
    }
    (delivered, dropped)
}

/// The receiver that stopped reading: did the server drop it? Reads what was left for it until
/// the server closes the connection, for at most a few seconds.
async fn drain_slow(mut c: Client) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 256 * 1024];
    let (mut got, mut told) = (0u64, false);
    let closed = loop {
        match timeout_at(deadline, c.rd.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => c.scan.feed(&buf[..n], &mut |e| match e {
                Event::Msg(_) => got += 1,
                Event::Error(_) => told = true,
                _ => {}
            }),
        }
    };
    json!({ "dropped": closed, "told": told, "received": got })
}
