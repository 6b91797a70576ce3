//! Every limit and interval of the hub in one place, with the reason for its default.

use std::time::Duration;

use crate::cluster::ClusterConfig;
use crate::queue::Limits;
use crate::tls::TlsConfig;

/// The hub's settings. `main.rs` exposes each as a flag and an environment variable.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most connections served at once; one more is told "server full" and closed. 10,000 idle
    /// connections cost the hub a few tens of MiB.
    pub max_connections: usize,
    /// The soft limit of one client's queue: above it the client's own reader pauses, and it
    /// may stay above it for [`Config::slow_after`] before it counts as a slow consumer. 16
    /// maximal bodies, several seconds of a fast chat.
    pub queue_bytes: usize,
    /// The hard limit of one client's queue: a frame from another client that would take it
    /// past this makes it a slow consumer at once. Four times the soft limit, so that one
    /// sender's burst of 20 maximal bodies fits whole behind a receiver that keeps reading.
    pub queue_max_bytes: usize,
    /// Longest a queue may stay above its soft limit: a receiver that reads nothing for this
    /// long while others send to it is dropped, and one that reads drains well within it.
    pub slow_after: Duration,
    /// Most bytes queued across all clients (as charged per receiver) before the hub stops
    /// reading new requests until writers catch up. Bounds the hub's memory under any load.
    pub global_bytes: usize,
    /// Longest a frame may take from its first byte to its last. 30 s allows a maximal frame at
    /// 35 KiB/s, yet a slowloris holding a partial frame open is gone in half a minute.
    pub frame_deadline: Duration,
    /// After this long without a frame the hub sends a keepalive; after as long again without
    /// one it closes the connection as idle. Catches peers that vanished without a FIN.
    pub ping_interval: Duration,
    /// Longest one write may make no progress before the client is dropped, so a peer that
    /// stops reading only hurts itself.
    pub write_timeout: Duration,
    /// How long shutdown waits for queues to flush before closing everything.
    pub shutdown_grace: Duration,
    /// How often the stats line is logged; zero turns it off.
    pub stats_interval: Duration,
    /// Whether clients may create accounts ([`Registration::Open`]), or only the operator
    /// with `hub account add` ([`Registration::Closed`]).
    pub registration: Registration,
    /// Registrations one IP address may attempt per minute (a burst of as many, then one per
    /// `60 s / n`). Ten is more than a household makes and few enough that squatting names
    /// takes a long time.
    pub register_rate: u32,
    /// Failed logins and deletes one IP address may make per minute, in the same way. A person
    /// with the wrong key file fails a few times; guessing a key is hopeless anyway, so this
    /// only bounds the work a stranger can make the hub do.
    pub login_fail_rate: u32,
    /// How often messages older than the mailbox's age limit are removed.
    pub expire_interval: Duration,
    /// Serve TLS 1.3 with this certificate; `None` is plain TCP.
    pub tls: Option<TlsConfig>,
    /// Longest a client may take over its TLS handshake, which runs in the connection's own
    /// task: a client that opens a socket and says nothing costs the hub a slot for this
    /// long, and no other client waits for it. 5 s is a hundred round trips, and shorter
    /// than the terminal client's 10 s wait for a welcome, so a client that speaks plain
    /// TCP to a TLS hub is told why before it gives up.
    pub tls_handshake_timeout: Duration,
    /// Whether every connection starts with a PROXY protocol v2 header (from a load balancer
    /// in front of the hub, HAProxy's `send-proxy-v2`), whose client address then counts for
    /// the per-address limits in place of the balancer's (`crate::proxy_protocol`). A
    /// connection without one is closed.
    pub proxy_protocol: bool,
    /// Whether a connection must log in before anything but the login steps (`Hello`,
    /// `Challenge`, `Register`, `Login`, `Ping`); other requests are refused.
    pub require_login: bool,
    /// Act as one hub with the others on this NATS (`--cluster`); `None`: a hub alone, and
    /// nothing of NATS is touched.
    pub cluster: Option<ClusterConfig>,
}

/// Who may create accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Any client, with `ClientMsg::Register`.
    Open,
    /// Only the operator, on the hub's machine (`hub account add`).
    Closed,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_connections: 10_000,
            queue_bytes: 16 * 1024 * 1024,
            queue_max_bytes: 64 * 1024 * 1024,
            slow_after: Duration::from_secs(10),
            global_bytes: 1024 * 1024 * 1024,
            frame_deadline: Duration::from_secs(30),
            ping_interval: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            stats_interval: Duration::from_secs(10),
            registration: Registration::Open,
            register_rate: 10,
            login_fail_rate: 10,
            expire_interval: Duration::from_secs(60),
            tls: None,
            tls_handshake_timeout: Duration::from_secs(5),
            proxy_protocol: false,
            require_login: false,
            cluster: None,
        }
    }
}

impl Config {
    /// The limits of every client's queue. A hard limit below the soft one is raised to it.
    pub(crate) fn queue_limits(&self) -> Limits {
        Limits {
            soft: self.queue_bytes,
            hard: self.queue_max_bytes.max(self.queue_bytes),
            soft_for: self.slow_after,
        }
    }
}
