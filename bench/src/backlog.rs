//! M2: logging in to a big mailbox. An account that is away gets M small messages (100,000 of
//! 100 B by default), then a session logs in and reads them all, acknowledging every K (1,000)
//! as a client would, without waiting for each `Done`. Measured: the time from the login's
//! first byte (its challenge) to `LoggedIn` and to the first `Stored` push, the drain's rate
//! over all M, and the time until the last acknowledgement is durable.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use bytes::Bytes;
use serde_json::{json, Value};
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use tokio::time::Instant;

use crate::account::{self, Outcome};
use crate::proc_stat::memory;

/// The shape of one run.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Messages in the mailbox when the session logs in.
    pub messages: u64,
    /// Body size.
    pub body: usize,
    /// Acknowledge every this many messages (and the last).
    pub ack_every: u64,
    /// Concurrent senders filling the mailbox (their commits are grouped).
    pub senders: usize,
}

/// What filling mailboxes took.
#[derive(Debug, serde::Serialize)]
pub struct Filled {
    /// Messages stored (a relay to K accounts stores K).
    pub stored: u64,
    /// Relays that were answered without being queued for every receiver, and sent again.
    pub retried: u64,
    /// Seconds.
    pub seconds: f64,
    /// Messages stored per second.
    pub rate_per_s: f64,
}

/// Store `messages` messages of `body` bytes in the mailboxes of `to`, round robin, from
/// `senders` connections at once, each relay naming `per_relay` consecutive accounts.
pub async fn fill(
    addr: SocketAddr,
    to: &[UserId],
    messages: u64,
    body: usize,
    senders: usize,
    per_relay: usize,
) -> anyhow::Result<Filled> {
    let per_relay = per_relay.clamp(1, to.len());
    let relays = messages.div_ceil(per_relay as u64);
    let next = Arc::new(AtomicU64::new(0));
    let to: Arc<Vec<UserId>> = Arc::new(to.to_vec());
    let body = Bytes::from(vec![0x61u8; body]);
    let mut conns = Vec::with_capacity(senders);
    for _ in 0..senders {
        conns.push(account::connect(addr).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, to, body) = (next.clone(), to.clone(), body.clone());
            tokio::spawn(async move {
                let (mut stored, mut retried) = (0u64, 0u64);
                let mut receivers = Vec::with_capacity(per_relay);
                loop {
                    let ticket = next.fetch_add(1, Ordering::Relaxed);
                    if ticket >= relays {
                        break;
                    }
                    let first = ticket as usize * per_relay;
                    let count = per_relay.min((messages as usize).saturating_sub(first));
                    receivers.clear();
                    receivers.extend((first..first + count).map(|i| to[i % to.len()]));
                    loop {
                        match account::relay(&mut conn, &receivers, &body).await? {
                            Outcome::Queued => break,
                            Outcome::NotQueued => {
                                retried += 1;
                                if retried > 1000 {
                                    bail!("more than 1,000 relays were not queued");
                                }
                            }
                        }
                    }
                    stored += count as u64;
                }
                anyhow::Ok((stored, retried))
            })
        })
        .collect();
    let (mut stored, mut retried) = (0, 0);
    for task in tasks {
        let (s, r) = task.await.context("a sender panicked")??;
        stored += s;
        retried += r;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Filled {
        stored,
        retried,
        seconds,
        rate_per_s: stored as f64 / seconds,
    })
}

/// Fill one mailbox, log in, drain it; the figures as one JSON line.
pub async fn run(addr: SocketAddr, pid: u32, spec: Spec) -> anyhow::Result<Value> {
    const NAME: &str = "backlog";
    let key = account::key_for(0);
    let id = account::register_away(addr, &key, NAME).await?;
    account::wait_away(addr, &[id]).await?;
    let filled = fill(addr, &[id], spec.messages, spec.body, spec.senders, 1).await?;
    let before = memory(pid);

    let mut conn = account::connect(addr).await?;
    let start = Instant::now();
    account::start_login(&mut conn, &key, NAME).await?;
    let (mut logged_in, mut first) = (None, None);
    let mut waiting = None;
    let (mut received, mut last_seq) = (0u64, 0u64);
    let (mut acks_sent, mut acks_done) = (0u64, 0u64);
    let mut drained = None;
    let ack_req = RequestId(2);
    while drained.is_none() || acks_done < acks_sent {
        match conn.recv().await.context("draining")? {
            HubMsg::LoggedIn { waiting: w, .. } => {
                logged_in = Some(start.elapsed());
                waiting = Some(w);
                if w != spec.messages {
                    bail!("LoggedIn says {w} waiting, {} were stored", spec.messages);
                }
            }
            HubMsg::Stored { seq, body, .. } => {
                first.get_or_insert_with(|| start.elapsed());
                if seq <= last_seq {
                    bail!("seq {seq} came after {last_seq}");
                }
                if body.len() != spec.body {
                    bail!(
                        "a stored body of {} bytes, {} were sent",
                        body.len(),
                        spec.body
                    );
                }
                last_seq = seq;
                received += 1;
                let last = received == spec.messages;
                if received.is_multiple_of(spec.ack_every) || last {
                    conn.send(&ClientMsg::Ack { req: ack_req, seq }).await?;
                    acks_sent += 1;
                }
                if last {
                    drained = Some(start.elapsed());
                }
            }
            HubMsg::Done { req } if req == ack_req => acks_done += 1,
            HubMsg::KeepAlive => conn.send(&ClientMsg::KeepAliveAck).await?,
            HubMsg::Joined { .. } | HubMsg::Left { .. } => {}
            other => bail!("while draining: {other:?}"),
        }
    }
    let acked = start.elapsed();
    let after = memory(pid);
    // A second session now finds the mailbox empty: every acknowledgement was kept.
    let mut check = account::connect(addr).await?;
    let left = account::login(&mut check, &key, NAME).await?;
    let ms = |d: Option<std::time::Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let drained = drained.expect("the loop ends after the drain");
    Ok(json!({
        "target": "hub",
        "workload": "backlog",
        "messages": spec.messages,
        "body": spec.body,
        "ack_every": spec.ack_every,
        "fill": filled,
        "waiting": waiting,
        "received": received,
        "logged_in_ms": ms(logged_in),
        "first_stored_ms": ms(first),
        "drained_ms": ms(Some(drained)),
        "all_acked_ms": ms(Some(acked)),
        "drain_rate_per_s": received as f64 / drained.as_secs_f64(),
        "acks": acks_sent,
        "left_after_acks": left,
        "memory_before": before,
        "memory": after,
    }))
}
