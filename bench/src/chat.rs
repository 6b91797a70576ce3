//! W4: 500 clients, each sending 100-byte bodies at a fixed rate to 5 random others; latency
//! from send to receipt, measured on one clock since sender and receiver share this process.
//! W4 light is the same at a tenth of the rate, the load a real chat has; a sweep runs W4 at
//! any rate (`--rate`).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::conn::{ReadHalf, WriteHalf};
use tokio::io::AsyncReadExt;
use tokio::time::{timeout_at, Instant};

use crate::fanout::connect_all;
use crate::login;
use crate::proc_stat::memory;
use crate::proto::{Batch, Proto, Sender};
use crate::scan::{Event, Scanner};
use crate::Workload;

const CLIENTS: usize = 500;
/// Sends per second per client: 10,000 sends and 50,000 deliveries per second in all, a busy
/// chat, well below any target's capacity, so latency is not queueing behind a flood.
pub const RATE_HZ: f64 = 20.0;
/// W4 light: 1,000 sends and 5,000 deliveries per second.
pub const LIGHT_RATE_HZ: f64 = 2.0;
const FANOUT: usize = 5;
const BODY: usize = 100;
/// How long after the last send receivers keep listening for stragglers.
const GRACE: Duration = Duration::from_secs(2);

/// Nanoseconds since the first call, on the monotonic clock.
fn now_ns() -> u64 {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// Run W4 for 5 s (times `scale`), each client sending `rate_hz` times a second, and report
/// the latency distribution and the loss.
pub async fn run(
    proto: Proto,
    addr: SocketAddr,
    pid: u32,
    scale: f64,
    login: bool,
    (workload, rate_hz): (Workload, f64),
) -> anyhow::Result<Value> {
    now_ns();
    anyhow::ensure!(rate_hz > 0.0, "a chat needs a send rate above 0");
    let accounts = login::accounts(proto, addr, login, Workload::W4, CLIENTS).await?;
    let clients = connect_all(proto, addr, CLIENTS, accounts.as_deref()).await?;
    let addresses: Vec<u64> = clients.iter().map(|c| c.address).collect();
    let start = Instant::now() + Duration::from_millis(100);
    let stop_sending = start + Duration::from_secs_f64(5.0 * scale);
    let stop_reading = stop_sending + GRACE;
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let peers = addresses.clone();
        writers.push(tokio::spawn(write(
            proto,
            c.wr,
            i,
            peers,
            start,
            stop_sending,
            rate_hz,
        )));
        readers.push(tokio::spawn(read(c.rd, c.scan, stop_reading)));
    }
    // Write halves stay open until every reader is done: a half-closed connection counts as
    // gone for all three servers, and others may still be sending to it.
    let mut sent = 0;
    let mut open = Vec::new();
    for w in writers {
        let (n, wr) = w.await.context("writer task")?;
        sent += n;
        open.push(wr);
    }
    let mut latencies = Vec::new();
    let (mut acked, mut missed) = (0, 0);
    for r in readers {
        let (got, acks, misses) = r.await.context("reader task")?;
        latencies.extend(got);
        acked += acks;
        missed += misses;
    }
    drop(open);
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(f64::NAN, |&ns| ns as f64 / 1e6)
    };
    let expected = sent * FANOUT as u64;
    Ok(json!({
        "target": proto,
        "workload": workload,
        "offered_per_s": rate_hz * (CLIENTS * FANOUT) as f64,
        "sends": sent,
        "deliveries": latencies.len(),
        "expected": expected,
        "loss": expected.saturating_sub(latencies.len() as u64),
        "acked_deliveries": acked,
        "reported_missed": missed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies.last().map_or(f64::NAN, |&ns| ns as f64 / 1e6),
        "memory": memory(pid),
    }))
}

/// Send to 5 random others every 1/`rate_hz` s from a random phase; returns sends written and
/// the write half, still open.
async fn write(
    proto: Proto,
    mut wr: WriteHalf,
    me: usize,
    peers: Vec<u64>,
    start: Instant,
    stop: Instant,
    rate_hz: f64,
) -> (u64, WriteHalf) {
    let mut rng =
        XorShift(0x9e37_79b9_7f4a_7c15 ^ (me as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let period = Duration::from_secs_f64(1.0 / rate_hz);
    let phase = Duration::from_nanos(rng.next() % period.as_nanos() as u64);
    let mut tick = tokio::time::interval_at(start + phase, period);
    let mut batch = Batch::default();
    let mut sent = 0;
    loop {
        let at = tick.tick().await;
        if at >= stop {
            return (sent, wr);
        }
        let mut to = Vec::with_capacity(FANOUT);
        while to.len() < FANOUT {
            let pick = (rng.next() % peers.len() as u64) as usize;
            if pick != me && !to.contains(&peers[pick]) {
                to.push(peers[pick]);
            }
        }
        let mut body = vec![0u8; BODY];
        body[..8].copy_from_slice(&now_ns().to_le_bytes());
        Sender::new(proto, to, BODY).push(&mut batch, &Bytes::from(body));
        if batch.write_to(&mut wr).await.is_err() {
            return (sent, wr);
        }
        sent += 1;
    }
}

/// Collect the latency of every message that arrives before `stop`, in nanoseconds, and the
/// deliveries the server reported for this client's sends (hub, Redis) and (hub) those it
/// reported as not made.
async fn read(mut rd: ReadHalf, mut scan: Scanner, stop: Instant) -> (Vec<u64>, u64, u64) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut latencies = Vec::new();
    let (mut acked, mut missed) = (0, 0);
    loop {
        let n = match timeout_at(stop, rd.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return (latencies, acked, missed),
        };
        let now = now_ns();
        scan.feed(&buf[..n], &mut |e| match e {
            Event::Msg(body) => {
                if let Some(stamp) = body.get(..8) {
                    let sent = u64::from_le_bytes(stamp.try_into().expect("8 bytes"));
                    latencies.push(now.saturating_sub(sent));
                }
            }
            Event::Ack { delivered, dropped } => {
                acked += delivered;
                missed += dropped;
            }
            _ => {}
        });
    }
}

/// A tiny deterministic generator: receivers are picked the same way for every target.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
