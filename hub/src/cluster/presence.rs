//! Presence merged across hubs. Each hub publishes its users' arrivals and leaves (per user,
//! not per session), numbered by a sequence of its own, on its presence subject, and a
//! heartbeat with the latest number every [`ClusterConfig::heartbeat`](super::ClusterConfig).
//!
//! A hub that hears a hub it does not follow, a gap in its numbers, or a heartbeat ahead of
//! what it applied asks that hub for a snapshot (request/reply), applies it, then the changes
//! numbered after it (held meanwhile). A hub not heard for
//! [`ClusterConfig::dead_after`](super::ClusterConfig::dead_after) is removed, and so are its
//! users, whose leaves local watchers hear; a hub that stops says `Bye` and is removed at once.
//! The registry keeps remote users as present through their hubs, so `List`, `Watch` and the
//! pushes see them with no path of their own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use shared::UserId;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::wire::{Change, Envelope, PeerMsg};
use super::{presence_subject, snapshot_subject, Cluster, ClusterError, SUBJECT_PREFIX};
use crate::registry::Registry;

/// A presence change of this hub and its number.
pub(crate) type Numbered = (u64, Change);

/// A hub and its snapshot (its number and users, as arrivals), or `None` if it did not come.
type Answered = (u64, Option<(u64, Vec<Change>)>);

/// Most snapshot answers waiting for the presence task. At most one request per hub is out
/// at a time, and the task that asked waits for room, so nothing is lost.
const SNAPSHOT_ANSWERS: usize = 64;

/// Most changes in one message: a storm of joins crosses NATS in few messages, each well
/// under NATS's default 1 MiB payload limit (a change is at most ~45 bytes).
const MAX_BATCH: usize = 4096;

/// What this hub knows of another.
#[derive(Debug)]
struct RemoteHub {
    /// Its users present here.
    users: HashSet<UserId>,
    /// The number of the last of its changes applied.
    applied: u64,
    /// When it was last heard.
    heard: Instant,
    /// Waiting for a snapshot: changes are held in `held` until it comes.
    syncing: bool,
    /// A snapshot request is out.
    asking: bool,
    held: Vec<Numbered>,
}

/// The task that publishes this hub's presence and follows the others'.
pub(crate) struct Presence {
    cluster: Arc<Cluster>,
    registry: Arc<Registry>,
    events: async_nats::Subscriber,
    asks: async_nats::Subscriber,
    hubs: HashMap<u64, RemoteHub>,
    snapshots: mpsc::Receiver<Answered>,
    snapshots_tx: mpsc::Sender<Answered>,
    /// The number of the last change of this hub published.
    published: u64,
}

impl Presence {
    /// Subscribe to every hub's presence and to this hub's snapshot requests.
    pub(crate) async fn start(
        cluster: Arc<Cluster>,
        registry: Arc<Registry>,
    ) -> Result<Presence, ClusterError> {
        let nats = |e: async_nats::SubscribeError| ClusterError::Nats(e.to_string());
        let events = cluster
            .client
            .subscribe(format!("{SUBJECT_PREFIX}.presence.*"))
            .await
            .map_err(nats)?;
        let asks = cluster
            .client
            .subscribe(snapshot_subject(cluster.hub_id))
            .await
            .map_err(nats)?;
        let (snapshots_tx, snapshots) = mpsc::channel(SNAPSHOT_ANSWERS);
        Ok(Presence {
            cluster,
            registry,
            events,
            asks,
            hubs: HashMap::new(),
            snapshots,
            snapshots_tx,
            published: 0,
        })
    }

    /// Publish `changes` and heartbeats, follow the other hubs, answer snapshot requests,
    /// until `shutdown`; then say `Bye`.
    pub(crate) async fn run(
        mut self,
        mut changes: mpsc::Receiver<Numbered>,
        shutdown: CancellationToken,
    ) {
        let every = self.cluster.config.heartbeat;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(64);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                n = changes.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    self.publish_changes(&mut batch).await;
                }
                _ = tick.tick() => self.on_tick(&mut changes, &mut batch).await,
                Some(msg) = self.events.next() => self.on_event(&msg.payload),
                Some(ask) = self.asks.next() => self.answer_snapshot(ask).await,
                Some((hub, snapshot)) = self.snapshots.recv() => self.on_snapshot(hub, snapshot),
            }
        }
        let bye = Envelope::new(self.cluster.hub_id, PeerMsg::Bye).encode();
        let client = &self.cluster.client;
        let _ = client
            .publish(presence_subject(self.cluster.hub_id), bye)
            .await;
        let _ = client.flush().await;
    }

    async fn publish(&self, msg: PeerMsg) {
        let me = self.cluster.hub_id;
        let bytes = Envelope::new(me, msg).encode();
        if let Err(e) = self
            .cluster
            .client
            .publish(presence_subject(me), bytes)
            .await
        {
            warn!(error = %e, "could not publish presence");
        }
    }

    /// Publish `batch`, one message per run of consecutive numbers: where the registry
    /// dropped changes on a full queue the next message starts past the gap, and the other
    /// hubs ask for a snapshot.
    async fn publish_changes(&mut self, batch: &mut Vec<Numbered>) {
        let mut changes = batch.drain(..).peekable();
        while let Some((first, change)) = changes.next() {
            let mut run = vec![change];
            let mut last = first;
            while let Some((_, change)) = changes.next_if(|(n, _)| *n == last + 1) {
                run.push(change);
                last += 1;
            }
            self.published = last;
            self.publish(PeerMsg::Changes {
                first,
                changes: run,
            })
            .await;
        }
    }

    /// A heartbeat: publish what is queued, say this hub is alive and the number of its
    /// latest change (so that a change dropped at the end of a burst shows as a gap too),
    /// remove the hubs not heard for too long, and ask again for the snapshots that did not
    /// come.
    async fn on_tick(&mut self, changes: &mut mpsc::Receiver<Numbered>, batch: &mut Vec<Numbered>) {
        // The number first, then the queue: every change numbered up to it has been queued
        // (or dropped) by then, under the registry's lock, so none of it is announced before
        // it is published.
        let seq = self.registry.presence_seq();
        // Any change after those is numbered past `seq`: the first one ends the loop, so it
        // takes at most a queue's worth.
        while let Ok(change) = changes.try_recv() {
            let n = change.0;
            batch.push(change);
            if n >= seq {
                break;
            }
        }
        self.publish_changes(batch).await;
        self.publish(PeerMsg::Heartbeat {
            seq: seq.max(self.published),
        })
        .await;
        let dead_after = self.cluster.config.dead_after();
        let now = Instant::now();
        let dead: Vec<u64> = self
            .hubs
            .iter()
            .filter(|(_, h)| now.duration_since(h.heard) > dead_after)
            .map(|(&id, _)| id)
            .collect();
        for hub in dead {
            warn!(hub = %format!("{hub:016x}"), ?dead_after, "hub not heard: removed");
            self.remove(hub);
        }
        let retry: Vec<u64> = self
            .hubs
            .iter()
            .filter(|(_, h)| h.syncing && !h.asking)
            .map(|(&id, _)| id)
            .collect();
        for hub in retry {
            self.ask_snapshot(hub);
        }
    }

    fn remove(&mut self, hub: u64) {
        if let Some(gone) = self.hubs.remove(&hub) {
            let left: Vec<Change> = gone
                .users
                .into_iter()
                .map(|user| Change::Left { user })
                .collect();
            self.registry.remote_apply(hub, &left);
        }
    }

    fn on_event(&mut self, payload: &[u8]) {
        let envelope = match Envelope::decode(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                warn!(error = %e, "a presence message not understood");
                return;
            }
        };
        let hub = envelope.hub;
        if hub == self.cluster.hub_id {
            return;
        }
        if envelope.msg == PeerMsg::Bye {
            info!(hub = %format!("{hub:016x}"), "hub stopped: removed");
            self.remove(hub);
            return;
        }
        let known = self.hubs.contains_key(&hub);
        let remote = self.hubs.entry(hub).or_insert_with(|| RemoteHub {
            users: HashSet::new(),
            applied: 0,
            heard: Instant::now(),
            syncing: true,
            asking: false,
            held: Vec::new(),
        });
        remote.heard = Instant::now();
        let mut resync = !known;
        match envelope.msg {
            PeerMsg::Heartbeat { seq } => resync |= !remote.syncing && seq > remote.applied,
            PeerMsg::Changes { first, changes } => {
                let numbered = (first..).zip(changes);
                if remote.syncing {
                    remote.held.extend(numbered);
                } else if first > remote.applied + 1 {
                    remote.held.extend(numbered);
                    resync = true;
                } else {
                    let applied = remote.applied;
                    let fresh: Vec<Numbered> = numbered.filter(|(seq, _)| *seq > applied).collect();
                    remote.applied = fresh.last().map_or(applied, |c| c.0);
                    let fresh: Vec<Change> = fresh.into_iter().map(|(_, c)| c).collect();
                    apply(&self.registry, hub, remote, &fresh);
                }
            }
            other => debug!(?other, "not a presence message"),
        }
        if resync {
            remote.syncing = true;
            if !remote.asking {
                self.ask_snapshot(hub);
            }
        }
    }

    /// Ask `hub` for its snapshot without waiting: the answer comes back through
    /// `self.snapshots`.
    fn ask_snapshot(&mut self, hub: u64) {
        let Some(remote) = self.hubs.get_mut(&hub) else {
            return;
        };
        remote.asking = true;
        let (client, tx) = (self.cluster.client.clone(), self.snapshots_tx.clone());
        let wait = self.cluster.config.relay_timeout;
        tokio::spawn(async move {
            let snapshot = match fetch_snapshot(&client, hub, wait).await {
                Ok(snapshot) => Some(snapshot),
                Err(why) => {
                    warn!(hub = %format!("{hub:016x}"), %why, "no snapshot; asking again");
                    None
                }
            };
            let _ = tx.send((hub, snapshot)).await;
        });
    }

    /// Replace what is known of `hub` by its snapshot, then apply the changes held since.
    fn on_snapshot(&mut self, hub: u64, snapshot: Option<(u64, Vec<Change>)>) {
        let Some(remote) = self.hubs.get_mut(&hub) else {
            return;
        };
        remote.asking = false;
        let Some((seq, arrived)) = snapshot else {
            return;
        };
        let now: HashSet<UserId> = arrived
            .iter()
            .filter_map(|c| match c {
                Change::Arrived { user, .. } | Change::Handing { user } => Some(*user),
                Change::Left { .. } => None,
            })
            .collect();
        let mut diff: Vec<Change> = remote
            .users
            .iter()
            .filter(|u| !now.contains(u))
            .map(|&user| Change::Left { user })
            .collect();
        diff.extend(
            arrived.into_iter().filter(
                |c| matches!(c, Change::Arrived { user, .. } if !remote.users.contains(user)),
            ),
        );
        apply(&self.registry, hub, remote, &diff);
        remote.applied = seq;
        remote.syncing = false;
        let mut held = std::mem::take(&mut remote.held);
        held.sort_by_key(|c| c.0);
        let mut fresh = Vec::new();
        for (n, change) in held {
            if n <= remote.applied {
                continue;
            }
            if n != remote.applied + 1 {
                remote.syncing = true;
                break;
            }
            remote.applied = n;
            fresh.push(change);
        }
        apply(&self.registry, hub, remote, &fresh);
        if remote.syncing {
            self.ask_snapshot(hub);
        }
    }

    async fn answer_snapshot(&self, ask: async_nats::Message) {
        let Some(reply) = ask.reply else {
            return;
        };
        let (seq, users) = self.registry.local_snapshot();
        let chunks: Vec<&[(UserId, Option<String>)]> = if users.is_empty() {
            vec![&[]]
        } else {
            users.chunks(self.cluster.snapshot_part).collect()
        };
        let Ok(parts) = u32::try_from(chunks.len()) else {
            warn!(
                users = users.len(),
                "a snapshot of more parts than a u32 counts"
            );
            return;
        };
        for (part, chunk) in (0..).zip(chunks) {
            let users = chunk.to_vec();
            let msg = PeerMsg::Snapshot {
                seq,
                part,
                parts,
                users,
            };
            let bytes = Envelope::new(self.cluster.hub_id, msg).encode();
            if let Err(e) = self.cluster.client.publish(reply.clone(), bytes).await {
                warn!(error = %e, part, parts, "could not answer a snapshot request");
                return;
            }
        }
    }
}

/// Ask `hub` for its snapshot and gather its parts, in order, into one: its number and its
/// users as arrivals. Each part must come within `wait` of the one before; a part missing
/// or out of place fails the whole snapshot (the caller asks again at the next heartbeat).
async fn fetch_snapshot(
    client: &async_nats::Client,
    hub: u64,
    wait: std::time::Duration,
) -> Result<(u64, Vec<Change>), String> {
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    client
        .publish_with_reply(snapshot_subject(hub), inbox, bytes::Bytes::new())
        .await
        .map_err(|e| e.to_string())?;
    let (mut at, mut users, mut next) = (None, Vec::new(), 0u32);
    loop {
        let msg = tokio::time::timeout(wait, answers.next())
            .await
            .map_err(|_| format!("part {next} did not come within {wait:?}"))?
            .ok_or("the subscription ended")?;
        let (seq, parts, chunk) = match Envelope::decode(&msg.payload) {
            Ok(Envelope {
                msg:
                    PeerMsg::Snapshot {
                        seq,
                        part,
                        parts,
                        users,
                    },
                ..
            }) if part == next && at.is_none_or(|at| at == seq) => (seq, parts, users),
            Ok(Envelope {
                msg: PeerMsg::Snapshot { seq, part, .. },
                ..
            }) => return Err(format!("part {next} expected, got {part} of change {seq}")),
            Ok(_) => return Err(format!("part {next} expected, got another message")),
            Err(e) => return Err(e.to_string()),
        };
        at = Some(seq);
        users.extend(
            chunk
                .into_iter()
                .map(|(user, name)| Change::Arrived { user, name }),
        );
        next += 1;
        if next >= parts {
            return Ok((seq, users));
        }
    }
}

/// Apply `changes` of `hub` to what is known of it and to the registry.
fn apply(registry: &Registry, hub: u64, remote: &mut RemoteHub, changes: &[Change]) {
    if changes.is_empty() {
        return;
    }
    for change in changes {
        match change {
            Change::Arrived { user, .. } | Change::Handing { user } => remote.users.insert(*user),
            Change::Left { user } => remote.users.remove(user),
        };
    }
    registry.remote_apply(hub, changes);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::cluster::ClusterConfig;

    /// A fake hub 2 on a real NATS, speaking the wire by hand: it answers snapshot requests
    /// with what `state` holds, and publishes what the test says.
    struct Fake {
        client: async_nats::Client,
        state: Arc<Mutex<(u64, Vec<UserId>)>>,
        asks: Arc<AtomicU32>,
    }

    const FAKE: u64 = 2;

    impl Fake {
        /// A fake hub 2 on `client` answering snapshot requests with `state`, in one part.
        async fn answering(client: async_nats::Client, state: (u64, Vec<UserId>)) -> Fake {
            let fake = Fake {
                client: client.clone(),
                state: Arc::new(Mutex::new(state)),
                asks: Arc::new(AtomicU32::new(0)),
            };
            let mut asked = client
                .subscribe(snapshot_subject(FAKE))
                .await
                .expect("subscribe");
            let (state, asks) = (fake.state.clone(), fake.asks.clone());
            tokio::spawn(async move {
                while let Some(ask) = asked.next().await {
                    asks.fetch_add(1, Ordering::SeqCst);
                    let (seq, users) = state.lock().expect("state").clone();
                    let users = users.into_iter().map(|u| (u, None)).collect();
                    let (part, parts) = (0, 1);
                    let msg = PeerMsg::Snapshot {
                        seq,
                        part,
                        parts,
                        users,
                    };
                    let bytes = Envelope::new(FAKE, msg).encode();
                    let reply = ask.reply.expect("a request");
                    client.publish(reply, bytes).await.expect("answer");
                }
            });
            fake
        }

        async fn say(&self, msg: PeerMsg) {
            let bytes = Envelope::new(FAKE, msg).encode();
            self.client
                .publish(presence_subject(FAKE), bytes)
                .await
                .expect("publish");
        }
    }

    async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(Instant::now() < deadline, "waited too long for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A hub follows another from its snapshot, applies its numbered changes, asks again when
    /// a number is missing (a lost message), and removes it and its users on `Bye`.
    #[tokio::test]
    async fn a_gap_in_a_hubs_numbers_is_healed_by_a_new_snapshot() {
        let nats = testkit::nats::NatsServer::start();
        let client = async_nats::connect(nats.url()).await.expect("connect");
        let (replies, _answers) = super::super::replies::Replies::start(&client, 1)
            .await
            .expect("subscribes");
        let config = ClusterConfig {
            heartbeat: Duration::from_millis(50),
            dead_after: 10_000,
            ..ClusterConfig::new(nats.url())
        };
        let cluster = Arc::new(Cluster::new(1, client.clone(), config, replies));
        let registry = Arc::new(Registry::default());
        let presence = Presence::start(cluster, registry.clone())
            .await
            .expect("subscribes");
        let (_changes_tx, changes) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let following = tokio::spawn(presence.run(changes, shutdown.clone()));

        let fake = Fake::answering(client.clone(), (1, vec![UserId(10)])).await;
        let [u10, u11, u12, u13] = [10, 11, 12, 13].map(UserId);

        fake.say(PeerMsg::Heartbeat { seq: 1 }).await;
        eventually("the snapshot's user", || registry.is_present(u10)).await;
        fake.say(PeerMsg::Changes {
            first: 2,
            changes: vec![Change::Arrived {
                user: u11,
                name: None,
            }],
        })
        .await;
        eventually("the next change", || registry.is_present(u11)).await;
        assert_eq!(
            fake.asks.load(Ordering::SeqCst),
            1,
            "in order: no new snapshot"
        );

        // Change 3 (u12 arrived) and 4 (u10 left) are lost; 5 comes.
        *fake.state.lock().expect("state") = (5, vec![u11, u12, u13]);
        fake.say(PeerMsg::Changes {
            first: 5,
            changes: vec![Change::Arrived {
                user: u13,
                name: None,
            }],
        })
        .await;
        eventually("the second snapshot applied", || {
            registry.is_present(u12) && registry.is_present(u13) && !registry.is_present(u10)
        })
        .await;
        assert_eq!(fake.asks.load(Ordering::SeqCst), 2);

        fake.say(PeerMsg::Bye).await;
        eventually("the hub's users gone", || {
            [u11, u12, u13].iter().all(|&u| !registry.is_present(u))
        })
        .await;
        shutdown.cancel();
        following.await.expect("stops");
    }

    /// A subscription past its capacity: with nothing taking the hub's presence messages, the
    /// client keeps the first 4 (its capacity) of another hub's 100 changes and drops the 96
    /// others, each counted (and logged) as a slow consumer's; the hub applies what it kept,
    /// and the next heartbeat shows the gap, which a snapshot heals.
    #[tokio::test]
    async fn presence_dropped_past_the_subscription_capacity_heals_by_snapshot() {
        let nats = testkit::nats::NatsServer::start();
        let config = ClusterConfig {
            heartbeat: Duration::from_millis(50),
            dead_after: 10_000,
            subscription_capacity: 4,
            ..ClusterConfig::new(nats.url())
        };
        let slow = Arc::new(AtomicU64::new(0));
        let client = crate::cluster::watched_options(&config, slow.clone(), Default::default())
            .connect(nats.url())
            .await
            .expect("connect");
        let (replies, _answers) = super::super::replies::Replies::start(&client, 1)
            .await
            .expect("subscribes");
        let cluster = Arc::new(Cluster::new(1, client, config, replies));
        let registry = Arc::new(Registry::default());
        // Subscribed, but not running yet: nothing takes the subscriptions' messages.
        let presence = Presence::start(cluster, registry.clone())
            .await
            .expect("subscribes");
        let other = async_nats::connect(nats.url()).await.expect("connect");
        let fake = Fake::answering(other.clone(), (0, vec![])).await;
        let users: Vec<UserId> = (1..=100).map(UserId).collect();
        for (first, &user) in (1..).zip(&users) {
            let changes = vec![Change::Arrived { user, name: None }];
            fake.say(PeerMsg::Changes { first, changes }).await;
        }
        other.flush().await.expect("flush");
        eventually("96 messages dropped and counted", || {
            slow.load(Ordering::Relaxed) == 96
        })
        .await;

        let (_changes_tx, changes) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let following = tokio::spawn(presence.run(changes, shutdown.clone()));
        eventually("the 4 changes kept", || {
            users[..4].iter().all(|&u| registry.is_present(u))
        })
        .await;
        assert!(
            users[4..].iter().all(|&u| !registry.is_present(u)),
            "the dropped ones never came"
        );
        assert_eq!(fake.asks.load(Ordering::SeqCst), 1, "the first snapshot");

        *fake.state.lock().expect("state") = (100, users.clone());
        fake.say(PeerMsg::Heartbeat { seq: 100 }).await;
        eventually("the gap healed by a snapshot", || {
            users.iter().all(|&u| registry.is_present(u))
        })
        .await;
        assert_eq!(fake.asks.load(Ordering::SeqCst), 2);
        shutdown.cancel();
        following.await.expect("stops");
    }

    /// A change dropped on a full queue at the end of a burst, with nothing after it, still
    /// shows: the heartbeat carries the registry's latest number, past the last published.
    #[tokio::test]
    async fn a_heartbeat_shows_a_change_dropped_at_the_end() {
        use crate::close::Control;
        use crate::config::Config;
        use crate::peer::Peer;
        use crate::queue::{queue, Budget};
        let nats = testkit::nats::NatsServer::start();
        let client = async_nats::connect(nats.url()).await.expect("connect");
        let mut heard = client
            .subscribe(presence_subject(1))
            .await
            .expect("subscribe");
        let (replies, _answers) = super::super::replies::Replies::start(&client, 1)
            .await
            .expect("subscribes");
        let config = ClusterConfig {
            heartbeat: Duration::from_millis(50),
            ..ClusterConfig::new(nats.url())
        };
        let cluster = Arc::new(Cluster::new(1, client.clone(), config, replies));
        let (changes_tx, changes) = mpsc::channel(1);
        let registry = Arc::new(Registry::telling(changes_tx));
        let mut inboxes = Vec::new();
        for id in [UserId(10), UserId(11)] {
            let (outbox, inbox) = queue(
                Config::default().queue_limits(),
                Arc::new(Budget::new(1 << 30)),
            );
            registry.join(id, Peer::new(outbox, Arc::new(Control::default())));
            inboxes.push(inbox);
        }
        assert_eq!(registry.stats.snapshot().presence_dropped, 1, "the second");
        let presence = Presence::start(cluster, registry.clone())
            .await
            .expect("subscribes");
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(presence.run(changes, shutdown.clone()));
        let mut saw_change = false;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), heard.next())
                .await
                .expect("in time")
                .expect("a message");
            match Envelope::decode(&msg.payload).expect("decodes").msg {
                PeerMsg::Changes { first, changes } => {
                    assert_eq!((first, changes.len()), (1, 1), "only the first was queued");
                    saw_change = true;
                }
                PeerMsg::Heartbeat { seq } => {
                    assert_eq!(seq, 2, "the latest number, not the last published");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(saw_change);
        shutdown.cancel();
        running.await.expect("stops");
    }
}
