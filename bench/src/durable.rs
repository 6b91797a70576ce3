//! M1: durable queued relays per second. N senders, each on its own connection, each sending
//! one 1 KiB body and waiting for its acknowledgement before the next (a window of one), to one
//! recipient that is away: on the hub an account with no session, whose mailbox keeps the
//! relay before `Routed { queued }`; on NATS a JetStream file stream, publish with ack.
//!
//! Whether an acknowledged write is fsynced is the server's setting (the hub always syncs;
//! JetStream per `sync_interval`), so the script names it (`--sync`) and this records it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use tokio::time::Instant;

use crate::account;
use crate::proc_stat::memory;

/// A server that keeps messages for a recipient that is away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// hubbub's hub: a relay to an account with no session online.
    Hub,
    /// nats-server with JetStream: a publish with ack to a file-storage stream.
    Jetstream,
}

/// The shape of one run.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Concurrent senders, one connection each.
    pub senders: usize,
    /// How long they send.
    pub seconds: f64,
    /// Body size.
    pub body: usize,
}

/// The account (hub) or the stream and its subject (JetStream) that receives.
const AWAY: &str = "away";

/// What the senders did.
struct Counts {
    /// Acknowledgements received before the deadline.
    in_window: u64,
    /// Every acknowledgement, the last ones after the deadline included.
    total: u64,
    /// Sends that were answered but not stored (the hub: not `queued`).
    not_stored: u64,
    /// Time from send to acknowledgement, microseconds.
    latencies_us: Vec<u32>,
}

/// Run `spec` against `target`; `sync` is the server's fsync setting, for the record.
pub async fn run(
    target: Target,
    addr: SocketAddr,
    pid: u32,
    spec: Spec,
    sync: &str,
) -> anyhow::Result<Value> {
    let before = memory(pid);
    let (counts, elapsed, kept) = match target {
        Target::Hub => hub(addr, spec).await?,
        Target::Jetstream => jetstream(addr, spec).await?,
    };
    let mut lat = counts.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    Ok(json!({
        "target": target,
        "workload": "durable",
        "sync": sync,
        "senders": spec.senders,
        "body": spec.body,
        "seconds": elapsed,
        "acked": counts.in_window,
        "acked_total": counts.total,
        "not_stored": counts.not_stored,
        "kept": kept,
        "rate_per_s": counts.in_window as f64 / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "memory_before": before,
        "memory": memory(pid),
    }))
}

/// Start `senders` tasks at once, each calling `send` until the deadline; the counts, and the
/// time from the start to the deadline.
async fn drive<C, F, Fut>(conns: Vec<C>, seconds: f64, send: F) -> anyhow::Result<(Counts, f64)>
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<(C, bool)>> + Send,
{
    let barrier = Arc::new(Barrier::new(conns.len() + 1));
    let window = Duration::from_secs_f64(seconds);
    let (start_tx, start_rx) = tokio::sync::watch::channel(None::<Instant>);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let barrier = barrier.clone();
            let send = send.clone();
            let mut start_rx = start_rx.clone();
            tokio::spawn(async move {
                let mut conn = conn;
                barrier.wait().await;
                let start = loop {
                    if let Some(start) = *start_rx.borrow_and_update() {
                        break start;
                    }
                    start_rx.changed().await?;
                };
                let deadline = start + window;
                let mut counts = Counts {
                    in_window: 0,
                    total: 0,
                    not_stored: 0,
                    latencies_us: Vec::new(),
                };
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let (back, stored) = send(conn).await?;
                    conn = back;
                    let now = Instant::now();
                    counts.total += 1;
                    if !stored {
                        counts.not_stored += 1;
                        continue;
                    }
                    if now <= deadline {
                        counts.in_window += 1;
                        counts
                            .latencies_us
                            .push((now - sent).as_micros().min(u32::MAX as u128) as u32);
                    }
                }
                anyhow::Ok(counts)
            })
        })
        .collect();
    barrier.wait().await;
    let start = Instant::now();
    start_tx.send(Some(start))?;
    let mut all = Counts {
        in_window: 0,
        total: 0,
        not_stored: 0,
        latencies_us: Vec::new(),
    };
    for task in tasks {
        let c = task.await.context("a sender panicked")??;
        all.in_window += c.in_window;
        all.total += c.total;
        all.not_stored += c.not_stored;
        all.latencies_us.extend(c.latencies_us);
    }
    Ok((all, seconds))
}

/// The hub: an account registered and left, then the senders; afterwards the mailbox must hold
/// exactly what was acknowledged (a fresh login says how many are waiting).
async fn hub(addr: SocketAddr, spec: Spec) -> anyhow::Result<(Counts, f64, u64)> {
    let key = account::key_for(0);
    let id = account::register_away(addr, &key, AWAY).await?;
    account::wait_away(addr, &[id]).await?;
    let mut conns = Vec::with_capacity(spec.senders);
    for _ in 0..spec.senders {
        conns.push(account::connect(addr).await?);
    }
    let body = Bytes::from(vec![0x42u8; spec.body]);
    let (counts, elapsed) = drive(conns, spec.seconds, move |conn| {
        let body = body.clone();
        async move {
            let mut conn = conn;
            let outcome = account::relay(&mut conn, &[id], &body).await?;
            Ok((conn, outcome == account::Outcome::Queued))
        }
    })
    .await?;
    let mut check = account::connect(addr).await?;
    let kept = account::login(&mut check, &key, AWAY).await?;
    let stored = counts.total - counts.not_stored;
    if kept != stored {
        bail!("the mailbox holds {kept} messages, {stored} were acknowledged as queued");
    }
    Ok((counts, elapsed, kept))
}

/// JetStream: a file stream, then the senders, each on its own connection; afterwards the
/// stream must hold exactly what was acknowledged.
async fn jetstream(addr: SocketAddr, spec: Spec) -> anyhow::Result<(Counts, f64, u64)> {
    use async_nats::jetstream::{self, stream};
    let url = format!("nats://{addr}");
    let control = jetstream::new(async_nats::connect(&url).await.context("connect")?);
    let mut created = control
        .get_or_create_stream(stream::Config {
            name: AWAY.to_owned(),
            subjects: vec![AWAY.to_owned()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the stream: {e}"))?;
    let mut conns = Vec::with_capacity(spec.senders);
    for _ in 0..spec.senders {
        conns.push(jetstream::new(
            async_nats::connect(&url).await.context("connect")?,
        ));
    }
    let body = Bytes::from(vec![0x42u8; spec.body]);
    let (counts, elapsed) = drive(conns, spec.seconds, move |js| {
        let body = body.clone();
        async move {
            let ack = js
                .publish(AWAY, body)
                .await
                .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
            ack.await.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
            Ok((js, true))
        }
    })
    .await?;
    let kept = created
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("stream info: {e}"))?
        .state
        .messages;
    if kept != counts.total {
        bail!(
            "the stream holds {kept} messages, {} were acknowledged",
            counts.total
        );
    }
    Ok((counts, elapsed, kept))
}
