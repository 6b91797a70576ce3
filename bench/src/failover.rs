//! `loadgen failover`: `--clients` clients on hub 1 of a 2-hub cluster, each with the
//! reconnect loop of a client given both hubs (`tui-client --hub A,B`): when it loses its hub it
//! waits a random pause below `--backoff-ms`, connects to the other address, and on failure
//! alternates between the two with the pause doubling (up to [`BACKOFF_MAX`]). Once hub 2 lists
//! every client of hub 1, hub 1 is killed with SIGKILL; the run times how long until every
//! client is connected to hub 2 (its `Welcome` read) and until hub 2's `List` holds every one
//! of their new ids, then until hub 2 no longer lists their old ids (it took hub 1 for dead),
//! and reads hub 2's CPU seconds over both and its peak RSS.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use serde_json::{json, Value};
use shared::conn::Connection;
use shared::ClientMsg;
use shared::HubMsg;
use tokio::sync::{mpsc, Semaphore};

use crate::proc_stat::{cpu_seconds, memory, sigkill};
use crate::report::median;
use crate::spread::{await_listed, await_unlisted};

/// Longest the clients may take to connect to hub 1 at the start, and to move to hub 2.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections opened at once at the start (the move is not throttled: each client goes when
/// its pause ends).
const CONNECT_AT_ONCE: usize = 64;
/// Longest one connection attempt may take to bring the hub's `Welcome`: a handshake the
/// kernel dropped from a full accept queue would otherwise wait for ever.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest pause between attempts, as the full-screen client's.
const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// What a run needs.
pub struct Spec {
    /// Hub 1, where the clients start, and its process (killed).
    pub from: SocketAddr,
    pub from_pid: u32,
    /// Hub 2, where they go, and its process (measured).
    pub to: SocketAddr,
    pub to_pid: u32,
    pub clients: usize,
    /// Upper bound of the first pause after the loss.
    pub backoff: Duration,
}

/// What a client tells the run.
enum Event {
    /// Connected to hub 1 as this id.
    Started(u64),
    /// Connected again, to hub 2, as this id, after this many attempts.
    Moved { id: u64, at: Instant, attempts: u32 },
    /// Gave up for this reason.
    Failed(String),
}

pub async fn run(spec: Spec) -> anyhow::Result<Value> {
    if spec.clients == 0 {
        bail!("failover needs a client");
    }
    let hubs = Arc::new([spec.from, spec.to]);
    let gate = Arc::new(Semaphore::new(CONNECT_AT_ONCE));
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let (events, mut heard) = mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..spec.clients)
        .map(|i| {
            let client = Client {
                hubs: hubs.clone(),
                gate: gate.clone(),
                backoff: spec.backoff,
                seed: seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            };
            tokio::spawn(client.run(events.clone()))
        })
        .collect();
    drop(events);

    let mut first: HashSet<u64> = HashSet::with_capacity(spec.clients);
    while first.len() < spec.clients {
        match tokio::time::timeout(PHASE_TIMEOUT, heard.recv()).await {
            Ok(Some(Event::Started(id))) => {
                first.insert(id);
            }
            Ok(Some(Event::Failed(why))) => bail!("a client failed before the kill: {why}"),
            Ok(Some(Event::Moved { .. })) => bail!("a client lost hub 1 before the kill"),
            Ok(None) | Err(_) => bail!(
                "{} of {} clients connected to hub 1 within {PHASE_TIMEOUT:?}",
                first.len(),
                spec.clients
            ),
        }
    }
    // Hub 2 holds hub 1's users, as it would in service.
    await_listed(spec.to, &first, PHASE_TIMEOUT).await?;

    let cpu_before = cpu_seconds(spec.to_pid);
    let memory_before = memory(spec.to_pid);
    let killed = Instant::now();
    sigkill(spec.from_pid)?;
    let mut moved: HashSet<u64> = HashSet::with_capacity(spec.clients);
    let mut times = Vec::with_capacity(spec.clients);
    let mut attempts = 0u64;
    let mut failures = Vec::new();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    while moved.len() + failures.len() < spec.clients {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Some(Event::Moved {
                id,
                at,
                attempts: n,
            })) => {
                moved.insert(id);
                times.push((at - killed).as_secs_f64());
                attempts += u64::from(n);
            }
            Ok(Some(Event::Failed(why))) => failures.push(why),
            Ok(Some(Event::Started(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let all_connected =
        (moved.len() == spec.clients).then(|| times.iter().copied().fold(0.0, f64::max));
    let (listed, list_error) = match all_connected {
        Some(_) => match await_listed(spec.to, &moved, PHASE_TIMEOUT).await {
            Ok(()) => (Some(killed.elapsed().as_secs_f64()), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        },
        None => (None, None),
    };
    let cpu_moved = cpu_seconds(spec.to_pid) - cpu_before;
    // Hub 2 drops hub 1's users once it takes hub 1 for dead (docs/CLUSTER.md § Presence).
    let (forgot, forget_error) = match await_unlisted(spec.to, &first, PHASE_TIMEOUT).await {
        Ok(()) => (Some(killed.elapsed().as_secs_f64()), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    let cpu = cpu_seconds(spec.to_pid) - cpu_before;
    let memory_after = memory(spec.to_pid);
    for task in tasks {
        task.abort();
    }
    Ok(json!({
        "target": "cluster",
        "workload": "failover",
        "hubs": 2,
        "clients": spec.clients,
        "backoff_ms": spec.backoff.as_millis() as u64,
        "moved": moved.len(),
        "attempts": attempts,
        "first_connected_s": times.iter().copied().reduce(f64::min),
        "p50_connected_s": median(times.clone()),
        "all_connected_s": all_connected,
        "all_listed_s": listed,
        "list_error": list_error,
        "hub2_cpu_moved_s": cpu_moved,
        "old_unlisted_s": forgot,
        "forget_error": forget_error,
        "hub2_cpu_s": cpu,
        "hub2_rss_before_kib": memory_before.rss_kib,
        "hub2_memory": memory_after,
        "failed": failures.len(),
        "first_failure": failures.first(),
    }))
}

/// One client and its reconnect loop.
struct Client {
    hubs: Arc<[SocketAddr; 2]>,
    gate: Arc<Semaphore>,
    backoff: Duration,
    /// Its own stream of pauses.
    seed: u64,
}

impl Client {
    async fn run(mut self, events: mpsc::UnboundedSender<Event>) {
        let first = {
            let _permit = self.gate.acquire().await;
            attempt(self.hubs[0]).await
        };
        let mut conn = match first {
            Ok(conn) => conn,
            Err(why) => {
                let _ = events.send(Event::Failed(format!("hub 1: {why}")));
                return;
            }
        };
        let _ = events.send(Event::Started(conn.user_id().0));
        serve(&mut conn).await;
        drop(conn);
        // Lost: the other address first, then back and forth.
        let mut at = 1;
        let mut ceiling = self.backoff;
        for attempts in 1u32.. {
            tokio::time::sleep(self.pause(ceiling)).await;
            match attempt(self.hubs[at]).await {
                Ok(mut conn) => {
                    let _ = events.send(Event::Moved {
                        id: conn.user_id().0,
                        at: Instant::now(),
                        attempts,
                    });
                    serve(&mut conn).await;
                    return;
                }
                Err(_) => {
                    at = 1 - at;
                    ceiling = (ceiling * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// A pause drawn evenly below `ceiling` (splitmix64 of this client's stream).
    fn pause(&mut self, ceiling: Duration) -> Duration {
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ceiling.mul_f64((z >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// One connection attempt: the hub's `Welcome` (and its answer to `Hello`) within
/// [`ATTEMPT_TIMEOUT`].
async fn attempt(hub: SocketAddr) -> Result<Connection, String> {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, Connection::connect(hub)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no welcome within {ATTEMPT_TIMEOUT:?}")),
    }
}

/// Read until the connection is lost, answering keepalives.
async fn serve(conn: &mut Connection) {
    while let Ok(msg) = conn.recv().await {
        if matches!(msg, HubMsg::KeepAlive) && conn.send(&ClientMsg::KeepAliveAck).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pauses stay below their ceiling and are spread over it, not one value.
    #[test]
    fn pauses_are_drawn_below_the_ceiling() {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let mut client = Client {
            hubs: Arc::new([addr, addr]),
            gate: Arc::new(Semaphore::new(1)),
            backoff: Duration::from_millis(250),
            seed: 7,
        };
        let ceiling = Duration::from_millis(250);
        let pauses: Vec<Duration> = (0..1000).map(|_| client.pause(ceiling)).collect();
        assert!(pauses.iter().all(|&p| p < ceiling));
        let low = pauses.iter().filter(|&&p| p < ceiling / 4).count();
        let high = pauses.iter().filter(|&&p| p > ceiling * 3 / 4).count();
        assert!(low > 150 && high > 150, "{low} low, {high} high of 1,000");
    }
}
