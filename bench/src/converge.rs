//! `loadgen converge`: how long the other hubs of a cluster take to see a killed hub's users
//! leave. `--clients` clients connect to the victim hub; `--watchers` watchers on each other
//! hub (`--addr`, `--also`) follow presence (`Watch`, coalesced `Presence` frames) until each
//! holds every one of those clients; then the victim is killed with SIGKILL, and the run times
//! how long until every watcher has seen every one of them leave. The documented bound
//! (docs/CLUSTER.md § Presence) is heartbeat × (dead-after + 1) plus a NATS round trip.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use tokio::sync::mpsc;

use crate::proc_stat::sigkill;
use crate::report::median;

/// Longest the watchers may take to hold every client before the kill, and to see them all
/// leave after it.
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections opened at once.
const CONNECT_AT_ONCE: usize = 64;

/// What a run needs.
pub struct Spec {
    /// The hubs that stay: the first one and the others.
    pub stay: Vec<SocketAddr>,
    /// The hub to kill, and its process.
    pub victim: SocketAddr,
    pub victim_pid: u32,
    /// Clients on the victim.
    pub clients: usize,
    /// Watchers on each hub that stays.
    pub watchers: usize,
    /// The cluster's `--cluster-heartbeat` and `--cluster-dead-after`, for the bound.
    pub heartbeat: Duration,
    pub dead_after: u32,
}

/// What a watcher tells the run.
enum Event {
    /// It holds every one of the victim's clients.
    AllPresent,
    /// It has seen the first of them leave.
    FirstLeft(Instant),
    /// It has seen the last of them leave.
    AllLeft(Instant),
    /// It stopped for this reason.
    Failed(String),
}

pub async fn run(spec: Spec) -> anyhow::Result<Value> {
    if spec.stay.is_empty() || spec.watchers == 0 || spec.clients == 0 {
        bail!("converge needs a hub that stays, a watcher and a client");
    }
    let victim = spec.victim;
    let clients: Vec<Connection> = futures::stream::iter(0..spec.clients)
        .map(|_| Connection::connect(victim))
        .buffer_unordered(CONNECT_AT_ONCE)
        .try_collect()
        .await
        .with_context(|| format!("connecting the clients to {victim}"))?;
    let ids: Arc<HashSet<UserId>> = Arc::new(clients.iter().map(Connection::user_id).collect());

    let (events, mut heard) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for &hub in &spec.stay {
        for _ in 0..spec.watchers {
            let conn = Connection::connect(hub)
                .await
                .with_context(|| format!("connecting a watcher to {hub}"))?;
            tasks.push(tokio::spawn(follow(conn, ids.clone(), events.clone())));
        }
    }
    drop(events);
    let watchers = tasks.len();

    // Phase 1: every watcher holds every client.
    let mut present = 0;
    while present < watchers {
        match tokio::time::timeout(PHASE_TIMEOUT, heard.recv()).await {
            Ok(Some(Event::AllPresent)) => present += 1,
            Ok(Some(Event::Failed(why))) => bail!("a watcher failed before the kill: {why}"),
            Ok(Some(_)) => bail!("the victim's clients left before the kill"),
            Ok(None) => bail!("every watcher stopped before the kill"),
            Err(_) => {
                bail!("{present} of {watchers} watchers held every client after {PHASE_TIMEOUT:?}")
            }
        }
    }

    // Phase 2: the kill, then every watcher sees every client leave.
    let killed = Instant::now();
    sigkill(spec.victim_pid)?;
    let (mut first, mut last) = (Vec::new(), Vec::new());
    let mut failures = Vec::new();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    while last.len() + failures.len() < watchers {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Some(Event::FirstLeft(at))) => first.push((at - killed).as_secs_f64()),
            Ok(Some(Event::AllLeft(at))) => last.push((at - killed).as_secs_f64()),
            Ok(Some(Event::Failed(why))) => failures.push(why),
            Ok(Some(Event::AllPresent)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    for task in tasks {
        task.abort();
    }
    drop(clients);
    let bound = spec.heartbeat.as_secs_f64() * f64::from(spec.dead_after + 1);
    let all_left = (last.len() == watchers).then(|| last.iter().copied().fold(0.0, f64::max));
    Ok(json!({
        "target": "cluster",
        "workload": "converge",
        "hubs": spec.stay.len() + 1,
        "clients": spec.clients,
        "watchers": watchers,
        "heartbeat_s": spec.heartbeat.as_secs_f64(),
        "dead_after": spec.dead_after,
        "bound_s": bound,
        "first_left_s": first.iter().copied().reduce(f64::min),
        "p50_all_left_s": median(last.clone()),
        "all_left_s": all_left,
        "within_bound": all_left.is_some_and(|t| t <= bound),
        "watchers_done": last.len(),
        "failed": failures.len(),
        "first_failure": failures.first(),
    }))
}

/// One watcher: watch presence, say when it holds all of `ids`, when the first of them left
/// and when the last did; answer keepalives meanwhile.
async fn follow(
    mut conn: Connection,
    ids: Arc<HashSet<UserId>>,
    events: mpsc::UnboundedSender<Event>,
) {
    let failed = |why: String| {
        let _ = events.send(Event::Failed(why));
    };
    if let Err(e) = conn.send(&ClientMsg::Watch { req: RequestId(1) }).await {
        return failed(format!("watch: {e}"));
    }
    // How many of `ids` this watcher holds as present.
    let mut held: HashSet<UserId> = HashSet::new();
    let mut all_present = false;
    let mut first_left = false;
    loop {
        let msg = match conn.recv().await {
            Ok(msg) => msg,
            Err(e) => return failed(format!("read: {e}")),
        };
        let (arrived, left): (Vec<UserId>, Vec<UserId>) = match msg {
            HubMsg::Present { peers, .. } => (peers.iter().map(|p| p.user_id).collect(), vec![]),
            HubMsg::Peers { peers, .. } => (peers, vec![]),
            HubMsg::Arrived { user_id, .. } | HubMsg::Joined { user_id } => (vec![user_id], vec![]),
            HubMsg::Presence { arrived, left } => {
                (arrived.iter().map(|p| p.user_id).collect(), left)
            }
            HubMsg::Left { user_id } => (vec![], vec![user_id]),
            HubMsg::KeepAlive => {
                if let Err(e) = conn.send(&ClientMsg::KeepAliveAck).await {
                    return failed(format!("keepalive: {e}"));
                }
                continue;
            }
            _ => continue,
        };
        held.extend(arrived.into_iter().filter(|id| ids.contains(id)));
        let before = held.len();
        for id in &left {
            held.remove(id);
        }
        let now = Instant::now();
        if !all_present && held.len() == ids.len() {
            all_present = true;
            let _ = events.send(Event::AllPresent);
        }
        if all_present && !first_left && held.len() < before {
            first_left = true;
            let _ = events.send(Event::FirstLeft(now));
        }
        if all_present && held.is_empty() {
            let _ = events.send(Event::AllLeft(now));
            // Keep reading (and answering keepalives) until the run ends.
            while conn.recv().await.is_ok() {}
            return;
        }
    }
}
