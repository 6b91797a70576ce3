//! `loadgen storm`: presence at scale. N clients connect at once, as after a hub restart, and
//! each watches presence, as every full-screen client does: it asks for `--version` (`Hello`),
//! then `Watch`es and follows whatever its version gets: a `Peers` snapshot then `Joined` and
//! `Left` (version 1, 2), a `Present` snapshot then `Arrived` and `Left` (3 to 5), or `Present`
//! then coalesced `Presence` frames (6). Measured: when every watcher holds the complete list
//! (all N - 1 others), the presence frames that took, the hub's CPU seconds and its peak RSS.
//! Presence sent one frame per arrival costs N² frames; this is the figure that shows it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::{ClientMsg, FrameCodec, HubMsg, RequestId, UserId};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::Framed;

use crate::proc_stat::{cpu_seconds, memory};
use crate::report::median;

/// How long the whole storm may take before it is reported as timed out.
const TIMEOUT: Duration = Duration::from_secs(240);

/// What one watcher saw.
struct Watcher {
    /// From the start of the storm until its list was complete; `None` if it never was.
    complete: Option<Duration>,
    /// Presence frames it read (the snapshot and every push).
    frames: u64,
    /// Why it stopped early, if it did (closed by the hub, an error).
    failed: Option<String>,
}

/// Run a storm of `clients` watchers against the hub at `addr` (process `pid`).
pub async fn run(
    addr: SocketAddr,
    pid: u32,
    clients: usize,
    version: u32,
) -> anyhow::Result<Value> {
    if clients < 2 {
        bail!("a storm needs at least 2 clients");
    }
    let before = memory(pid);
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let (stop_tx, stop) = watch::channel(false);
    // Each watcher reports once: when its list is complete, or when it fails.
    let (report, mut reports) = mpsc::channel(clients);
    // How many others each watcher holds so far (u64::MAX before its welcome): what a storm
    // that timed out got to.
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..clients).map(|_| AtomicU64::new(u64::MAX)).collect());
    // The version the hub agreed to (the last answer to `Hello` seen; 1 without one).
    let spoken = Arc::new(AtomicU64::new(1));
    let tasks: Vec<_> = (0..clients)
        .map(|slot| {
            let follow = Follow {
                addr,
                others: clients - 1,
                start,
                progress: progress.clone(),
                slot,
                version,
                spoken: spoken.clone(),
            };
            tokio::spawn(watch_all(follow, report.clone(), stop.clone()))
        })
        .collect();
    drop(report);
    let mut done = Vec::with_capacity(clients);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut timed_out = false;
    while done.len() < clients {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(watcher)) => done.push(watcher),
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    let cpu = cpu_seconds(pid) - cpu_before;
    let held: Vec<u64> = progress.iter().map(|p| p.load(Ordering::Relaxed)).collect();
    let welcomed = held.iter().filter(|&&n| n != u64::MAX).count();
    let least_held = held.iter().copied().filter(|&n| n != u64::MAX).min();
    let after = memory(pid);
    // Every watcher kept reading until now; let them all go.
    let _ = stop_tx.send(true);
    for task in tasks {
        task.await.context("watcher task")?;
    }

    let mut times: Vec<f64> = done
        .iter()
        .filter_map(|w| w.complete.map(|d| d.as_secs_f64()))
        .collect();
    times.sort_by(f64::total_cmp);
    let frames: u64 = done.iter().map(|w| w.frames).sum();
    let failures: Vec<&str> = done.iter().filter_map(|w| w.failed.as_deref()).collect();
    Ok(json!({
        "target": "hub",
        "workload": "storm",
        "clients": clients,
        "version_asked": version,
        "version": spoken.load(Ordering::Relaxed),
        "complete": times.len(),
        "failed": failures.len(),
        "first_failure": failures.first(),
        "timed_out": timed_out,
        "welcomed": welcomed,
        "least_held": least_held,
        "all_complete_s": (times.len() == clients).then(|| times.last().copied()).flatten(),
        "p50_complete_s": median(times.clone()),
        "elapsed_s": elapsed.as_secs_f64(),
        "presence_frames": frames,
        "frames_per_watcher": frames as f64 / clients as f64,
        "hub_cpu_s": cpu,
        "rss_before_kib": before.rss_kib,
        "memory": after,
    }))
}

/// One watcher: connect, watch, and follow presence until the list holds `others` users,
/// report, then keep reading (so the hub is never held up by it) until told to stop.
async fn watch_all(follow: Follow, report: mpsc::Sender<Watcher>, mut stop: watch::Receiver<bool>) {
    let (seen, conn) = follow.run(&mut stop).await;
    let complete = seen.complete.is_some();
    let _ = report.send(seen).await;
    if let (true, Some(mut conn)) = (complete, conn) {
        loop {
            tokio::select! {
                frame = conn.next() => if !matches!(frame, Some(Ok(_))) { return },
                _ = stop.changed() => return,
            }
        }
    }
}

/// One watcher's task.
struct Follow {
    addr: SocketAddr,
    /// How many others make the list complete.
    others: usize,
    start: Instant,
    progress: Arc<Vec<AtomicU64>>,
    /// This watcher's place in `progress`.
    slot: usize,
    /// The version to ask for.
    version: u32,
    /// Where the version the hub agreed to is kept.
    spoken: Arc<AtomicU64>,
}

impl Follow {
    /// Follow presence until the list is complete (the connection comes back to be kept open)
    /// or something fails.
    async fn run(
        self,
        stop: &mut watch::Receiver<bool>,
    ) -> (Watcher, Option<Framed<TcpStream, FrameCodec>>) {
        let Follow {
            addr,
            others,
            start,
            progress,
            slot,
            version,
            spoken,
        } = self;
        let mut seen = Watcher {
            complete: None,
            frames: 0,
            failed: None,
        };
        let mut conn = match TcpStream::connect(addr).await {
            Ok(socket) => Framed::new(socket, FrameCodec::new()),
            Err(e) => {
                seen.failed = Some(format!("connect: {e}"));
                return (seen, None);
            }
        };
        let mut me = None;
        let mut present: HashSet<UserId> = HashSet::new();
        loop {
            let frame = tokio::select! {
                frame = conn.next() => frame,
                _ = stop.changed() => return (seen, None),
            };
            let payload = match frame {
                Some(Ok(payload)) => payload,
                Some(Err(e)) => {
                    seen.failed = Some(format!("read: {e}"));
                    return (seen, None);
                }
                None => {
                    seen.failed = Some("closed by the hub".into());
                    return (seen, None);
                }
            };
            let reply = match HubMsg::decode_borrowed(&payload) {
                Ok(HubMsg::Welcome { user_id, .. }) => {
                    me = Some(user_id);
                    Some(if version > 1 {
                        ClientMsg::<Bytes>::Hello {
                            req: RequestId(2),
                            version,
                        }
                    } else {
                        ClientMsg::<Bytes>::Watch { req: RequestId(1) }
                    })
                }
                Ok(HubMsg::Hello { version, .. }) => {
                    spoken.store(u64::from(version), Ordering::Relaxed);
                    Some(ClientMsg::<Bytes>::Watch { req: RequestId(1) })
                }
                Ok(HubMsg::Peers { peers, .. }) => {
                    seen.frames += 1;
                    present.extend(peers);
                    None
                }
                Ok(HubMsg::Present { peers, .. }) => {
                    seen.frames += 1;
                    present.extend(peers.iter().map(|p| p.user_id));
                    None
                }
                Ok(HubMsg::Arrived { user_id, .. }) => {
                    seen.frames += 1;
                    present.insert(user_id);
                    None
                }
                Ok(HubMsg::Presence { arrived, left }) => {
                    seen.frames += 1;
                    present.extend(arrived.iter().map(|p| p.user_id));
                    for id in &left {
                        present.remove(id);
                    }
                    None
                }
                Ok(HubMsg::Joined { user_id }) => {
                    seen.frames += 1;
                    present.insert(user_id);
                    None
                }
                Ok(HubMsg::Left { user_id }) => {
                    seen.frames += 1;
                    present.remove(&user_id);
                    None
                }
                Ok(HubMsg::KeepAlive) => Some(ClientMsg::KeepAliveAck),
                Ok(HubMsg::Error { text, .. }) => {
                    seen.failed = Some(format!("hub error: {text}"));
                    return (seen, None);
                }
                Ok(_) => None,
                Err(e) => {
                    seen.failed = Some(format!("decode: {e}"));
                    return (seen, None);
                }
            };
            if let Some(reply) = reply {
                let sent = match reply.to_frame() {
                    Ok(frame) => conn.send(frame).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = sent {
                    seen.failed = Some(format!("write: {e}"));
                    return (seen, None);
                }
            }
            if me.is_some() {
                progress[slot].store(present.len() as u64, Ordering::Relaxed);
            }
            if seen.complete.is_none() && me.is_some() && present.len() >= others {
                seen.complete = Some(start.elapsed());
                return (seen, Some(conn));
            }
        }
    }
}
