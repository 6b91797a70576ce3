//! Many hubs as one over NATS (`hub --cluster nats://HOST:PORT`); docs/CLUSTER.md has the
//! design, the subjects, the timing bounds and the failure modes.
//!
//! - [`accounts`]: an account deleted on one hub has its sessions closed on every hub.
//! - [`ids`]: anonymous ids leased in blocks from a JetStream key-value counter.
//! - [`presence`]: each hub publishes its users' arrivals and leaves with a sequence number and
//!   heartbeats; the others keep them in the registry as present through it.
//! - [`relay`]: a relay's remote receivers cross NATS once per destination hub; so do the
//!   `Outgoing` copies and receipts for an account's sessions on other hubs.
//! - [`replies`]: the answers to this hub's relays, each handed to the relay waiting for it.
//! - [`wire`]: what hubs say to one another.
//!
//! Without `--cluster` none of this runs and nothing of NATS is touched.

pub(crate) mod accounts;
pub(crate) mod ids;
pub(crate) mod presence;
pub(crate) mod relay;
pub(crate) mod replies;
pub(crate) mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::connection::HubContext;

/// How often a hub says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Heartbeats missed in a row after which the other hubs take a hub for dead.
pub const DEAD_AFTER_MISSED: u32 = 3;
/// Longest the origin of a relay waits for a destination hub's answer.
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after an account's session arrives on a hub its drain keeps reading the mailbox
/// before it may go live: a relay from a hub that had not yet heard of the arrival (and so
/// wrote the mailbox itself) or whose write was in flight lands within it, and is read in its
/// place instead of being stranded until the next login (docs/CLUSTER.md, § The drain race).
pub const LATE_WRITES: Duration = Duration::from_millis(500);
/// Longest a hub holds the drains of a relay it answered `held` for the origin's note that its
/// mailbox write is done: past it (the origin died, or NATS lost the note) they go on without
/// it, and a write that lands later comes at the account's next login. Three JetStream
/// requests of a write at their timeout (`hub::store::jetstream::REQUEST_TIMEOUT`), and some.
pub const HELD_WRITE: Duration = Duration::from_secs(20);
/// Anonymous ids a hub leases at a time: a hub that restarts leaves at most this many unused,
/// and a burst of this many connections never waits on NATS.
pub const ID_BLOCK: u64 = 4096;
/// Smallest `max_payload` a cluster's NATS may have: a relay carries a frame of the largest
/// body and its receivers' header (255 ids of up to 20 digits). NATS's default is 1 MiB,
/// less than that; docs/CLUSTER.md asks for 2 MB.
pub const MIN_MAX_PAYLOAD: usize = shared::MAX_FRAME_LEN + 8 * 1024;
/// How long a hub's NATS connections (the cluster's and the JetStream store's) may hear
/// nothing from the server before they ping it; async-nats gives a connection up and
/// reconnects once a third ping is due with two unanswered, so a silent partition (packets
/// lost, no reset) is noticed within 3 × this (docs/CLUSTER.md, § Failure modes). Its own
/// default, 60 s, would take three minutes.
pub const NATS_PING_INTERVAL: Duration = Duration::from_secs(2);
/// Longest the hub waits for NATS when it starts.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first token of every subject the hubs use, their replies' inboxes included, so that one
/// NATS permission (`hubbub.>`) keeps every other NATS user off them (docs/CLUSTER.md).
pub const SUBJECT_PREFIX: &str = "hubbub";
/// The names of a clustered hub's JetStream store (`hubbub_accounts`, …): every hub of a
/// cluster uses the same, so that they share accounts and mailboxes.
pub const STORE_PREFIX: &str = "hubbub";
/// Most of this hub's presence changes waiting to be published: the registry numbers and
/// queues them under its lock, where it cannot wait, so on a full queue a change is dropped
/// and the gap in the numbers makes the other hubs ask for a snapshot (docs/CLUSTER.md).
pub const PRESENCE_QUEUE: usize = 16_384;
/// Most messages async-nats holds for one of the hub's subscriptions (relays, pushes,
/// presence, snapshot parts) that the hub has not taken yet; past it async-nats drops the
/// next and reports a slow consumer, which the hub logs and counts
/// ([`crate::stats::Stats::nats_slow_consumers`]). async-nats's default, 65,536, bounds
/// nothing: at relays of up to 1 MiB that is 64 GiB. 1,024 such relays are 1 GiB, the hub's
/// default `--global-bytes`; a hub takes a relay in microseconds and has one in flight per
/// sender on the origin, so a hub that keeps up never comes near it: W1 and W3 over 3 hubs
/// run as fast at 1,024 as at 65,536 (0.99x and 1.02x, bench/README.md § NATS subscription
/// capacity). What one that does not keep up loses is answered, as docs/CLUSTER.md § Failure
/// modes says.
pub const SUBSCRIPTION_CAPACITY: usize = 1024;
/// Where the answers to a hub's requests come back (relay answers, snapshots, JetStream's).
const INBOX_PREFIX: &str = "hubbub.inbox";

/// How to reach the cluster's NATS and the timings of the hubs on it.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `nats://HOST:PORT` (several, comma-separated, for a NATS cluster).
    pub url: String,
    /// The hubs' NATS credentials.
    pub auth: ClusterAuth,
    /// [`HEARTBEAT`].
    pub heartbeat: Duration,
    /// [`DEAD_AFTER_MISSED`].
    pub dead_after: u32,
    /// [`RELAY_TIMEOUT`].
    pub relay_timeout: Duration,
    /// [`ID_BLOCK`].
    pub id_block: u64,
    /// [`PRESENCE_QUEUE`] (at least 1).
    pub presence_queue: usize,
    /// [`LATE_WRITES`].
    pub late_writes: Duration,
    /// [`HELD_WRITE`].
    pub held_write: Duration,
    /// Most users in one snapshot message; `None`, or more than the server's `max_payload`
    /// carries, is as many as it carries ([`wire::snapshot_part_users`]: 23,829 at 1 MiB).
    /// Smaller only to test many parts with few users.
    pub snapshot_part: Option<usize>,
    /// [`SUBSCRIPTION_CAPACITY`] (at least 1).
    pub subscription_capacity: usize,
}

/// The hubs' NATS credentials.
#[derive(Clone, Debug, Default)]
pub enum ClusterAuth {
    /// None: the server lets anyone in (a test, or a NATS on the hubs' own network).
    #[default]
    None,
    /// A user and password of the server's `authorization` block.
    UserPassword {
        /// The user.
        user: String,
        /// Its password.
        password: String,
    },
    /// A token.
    Token(String),
}

impl ClusterConfig {
    /// NATS at `url`, no credentials, the default timings.
    pub fn new(url: impl Into<String>) -> ClusterConfig {
        ClusterConfig {
            url: url.into(),
            auth: ClusterAuth::None,
            heartbeat: HEARTBEAT,
            dead_after: DEAD_AFTER_MISSED,
            relay_timeout: RELAY_TIMEOUT,
            id_block: ID_BLOCK,
            presence_queue: PRESENCE_QUEUE,
            late_writes: LATE_WRITES,
            held_write: HELD_WRITE,
            snapshot_part: None,
            subscription_capacity: SUBSCRIPTION_CAPACITY,
        }
    }

    /// How long a hub may be silent before the others remove it: a hub killed is gone from
    /// everyone's presence within this plus one heartbeat (the check runs once a heartbeat).
    pub fn dead_after(&self) -> Duration {
        self.heartbeat * self.dead_after.max(1)
    }
}

/// Why a hub could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// NATS could not be reached, refused the credentials, or failed a request.
    #[error("NATS: {0}")]
    Nats(String),
    /// Every anonymous id has been leased.
    #[error("every anonymous id of the cluster has been leased")]
    IdsExhausted,
}

/// The subject on which hub `hub` publishes its presence changes and heartbeats.
fn presence_subject(hub: u64) -> String {
    format!("{SUBJECT_PREFIX}.presence.{hub:016x}")
}

/// The subject on which hub `hub` answers snapshot requests.
fn snapshot_subject(hub: u64) -> String {
    format!("{SUBJECT_PREFIX}.snapshot.{hub:016x}")
}

/// The subject on which hub `hub` takes relays from other hubs.
fn relay_subject(hub: u64) -> String {
    format!("{SUBJECT_PREFIX}.relay.{hub:016x}")
}

/// The subject on which hub `hub` takes pushes for its sessions (`Outgoing`, receipts).
fn push_subject(hub: u64) -> String {
    format!("{SUBJECT_PREFIX}.push.{hub:016x}")
}

/// A hub's place in its cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// This hub's id, random at each start.
    pub hub_id: u64,
    pub client: async_nats::Client,
    pub config: ClusterConfig,
    /// The relays of this hub waiting for other hubs' answers.
    pub replies: Arc<replies::Replies>,
    /// The number of this hub's latest relay to other hubs.
    pub relays: std::sync::atomic::AtomicU64,
    /// The relays of other hubs whose drains this hub holds ([`relay::Holds`]).
    pub holds: relay::Holds,
    /// Most users in one snapshot message: [`ClusterConfig::snapshot_part`] within what the
    /// server's `max_payload` carries.
    pub snapshot_part: usize,
}

impl Cluster {
    /// This hub's place on `client`, its snapshot parts cut for the server's `max_payload`.
    pub(crate) fn new(
        hub_id: u64,
        client: async_nats::Client,
        config: ClusterConfig,
        replies: Arc<replies::Replies>,
    ) -> Cluster {
        let fits = wire::snapshot_part_users(client.server_info().max_payload);
        let snapshot_part = config.snapshot_part.map_or(fits, |n| n.clamp(1, fits));
        Cluster {
            hub_id,
            client,
            config,
            snapshot_part,
            replies,
            relays: Default::default(),
            holds: Default::default(),
        }
    }
}

/// What a hub that joined its cluster starts serving with [`serve`].
pub(crate) struct Joined {
    pub cluster: Arc<Cluster>,
    pub leases: Arc<ids::Leases>,
    ids: async_nats::jetstream::kv::Store,
    pub changes: mpsc::Receiver<presence::Numbered>,
    pub changes_tx: mpsc::Sender<presence::Numbered>,
    /// Messages async-nats dropped for a subscription of the hub's that did not keep up.
    pub slow_consumers: Arc<AtomicU64>,
    /// The task taking the answers to this hub's relays into [`Cluster::replies`].
    replies: tokio::task::JoinHandle<()>,
    /// Account deletes on any hub, subscribed to before the hub takes a client
    /// ([`accounts`]).
    deletes: async_nats::Subscriber,
    /// Notified each time the cluster's connection to NATS is made (again).
    connected: Arc<Notify>,
}

/// The NATS options of every connection a clustered hub makes (its cluster connection and
/// its JetStream store's): they connect as the same user, with the same subscription
/// capacity, ping the server every [`NATS_PING_INTERVAL`] of silence, and reconnect for ever
/// (after NATS restarts, cuts the hub off as a slow consumer, or a partition heals); the
/// others take this hub for dead meanwhile and follow it again (a snapshot) when its
/// heartbeats come back.
pub fn nats_options(config: &ClusterConfig) -> async_nats::ConnectOptions {
    let options = async_nats::ConnectOptions::new()
        .ping_interval(NATS_PING_INTERVAL)
        .max_reconnects(None);
    with_auth(options, &config.auth).subscription_capacity(config.subscription_capacity.max(1))
}

/// [`nats_options`] whose events are logged, whose slow-consumer events (a message dropped
/// for a subscription past its capacity) are counted in `slow_consumers` too, and whose
/// connections (the first and each after a loss) notify `connected`.
pub(crate) fn watched_options(
    config: &ClusterConfig,
    slow_consumers: Arc<AtomicU64>,
    connected: Arc<Notify>,
) -> async_nats::ConnectOptions {
    nats_options(config).event_callback(move |event| {
        let counted = slow_consumers.clone();
        let connected = connected.clone();
        async move {
            match event {
                async_nats::Event::Connected => {
                    info!("NATS connected");
                    connected.notify_one();
                }
                async_nats::Event::SlowConsumer(sid) => {
                    counted.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        subscription = sid,
                        "NATS dropped a message this hub had not taken (subscription capacity \
                         reached): a relay is answered by its origin's timeout, a presence \
                         change heals by snapshot"
                    );
                }
                other => warn!(event = %other, "NATS"),
            }
        }
    })
}

fn with_auth(
    options: async_nats::ConnectOptions,
    auth: &ClusterAuth,
) -> async_nats::ConnectOptions {
    match auth {
        ClusterAuth::None => options,
        ClusterAuth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.clone())
        }
        ClusterAuth::Token(token) => options.token(token.clone()),
    }
}

/// Connect to NATS and lease the first block of ids: an error means the hub must not start.
pub(crate) async fn join(config: ClusterConfig) -> Result<Joined, ClusterError> {
    let mut hub_id = [0u8; 8];
    getrandom::fill(&mut hub_id).map_err(|e| ClusterError::Nats(format!("no randomness: {e}")))?;
    let hub_id = u64::from_le_bytes(hub_id);
    let slow_consumers = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(Notify::new());
    let options = watched_options(&config, slow_consumers.clone(), connected.clone())
        .name(format!("hubbub hub {hub_id:016x}"))
        .connection_timeout(CONNECT_TIMEOUT)
        .request_timeout(Some(config.relay_timeout))
        .custom_inbox_prefix(INBOX_PREFIX);
    let client = tokio::time::timeout(CONNECT_TIMEOUT, options.connect(config.url.as_str()))
        .await
        .map_err(|_| {
            ClusterError::Nats(format!(
                "no answer from {} in {CONNECT_TIMEOUT:?}",
                config.url
            ))
        })?
        .map_err(|e| ClusterError::Nats(format!("cannot connect to {}: {e}", config.url)))?;
    let max_payload = client.server_info().max_payload;
    if max_payload < MIN_MAX_PAYLOAD {
        return Err(ClusterError::Nats(format!(
            "the server's max_payload is {max_payload} bytes; a hub sends frames of up to \
             {MIN_MAX_PAYLOAD} to other hubs: set max_payload: 2MB in nats-server's config"
        )));
    }
    let js = async_nats::jetstream::new(client.clone());
    let (leases, ids) = ids::start(&js, config.id_block.max(1)).await?;
    let (replies, replies_task) = replies::Replies::start(&client, hub_id).await?;
    let deletes = client
        .subscribe(accounts::deleted_subject())
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    info!(hub = %format!("{hub_id:016x}"), nats = %config.url, "joined the cluster");
    let (changes_tx, changes) = mpsc::channel(config.presence_queue.max(1));
    Ok(Joined {
        cluster: Arc::new(Cluster::new(hub_id, client, config, replies)),
        leases,
        ids,
        changes,
        changes_tx,
        slow_consumers,
        replies: replies_task,
        deletes,
        connected,
    })
}

/// Serve the cluster's side of the hub until `shutdown`: lease ids ahead, publish and follow
/// presence, take relays. On the way out the others are told this hub is gone.
pub(crate) async fn serve(
    joined: Joined,
    hub: Arc<HubContext>,
    shutdown: CancellationToken,
) -> Result<(), ClusterError> {
    let registry = hub.registry.clone();
    let Joined {
        cluster,
        leases,
        ids,
        changes,
        replies,
        deletes,
        connected,
        ..
    } = joined;
    let leasing = tokio::spawn(leases.keep_ahead(ids));
    let relays = relay::serve(cluster.clone(), hub.clone()).await?;
    let pushes = relay::serve_pushes(cluster.clone(), hub.clone()).await?;
    let deleting = accounts::serve(cluster.clone(), hub.clone(), deletes, connected);
    let presence = presence::Presence::start(cluster.clone(), registry).await?;
    let followed = tokio::spawn(presence.run(changes, shutdown.clone()));
    shutdown.cancelled().await;
    let _ = followed.await;
    leasing.abort();
    relays.abort();
    pushes.abort();
    deleting.abort();
    replies.abort();
    Ok(())
}
