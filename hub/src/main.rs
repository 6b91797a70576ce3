//! The `hub` binary: parse flags, set up logging, serve until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use hub::store::jetstream::JetStreamStore;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Store};
use hub::tls::TlsConfig;
use hub::{Config, Hub, Registration};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// jemalloc with background threads, not glibc's malloc: after a burst glibc keeps the freed
/// memory, while jemalloc's background threads purge it to the OS within its decay time even
/// when the hub is idle (the figures are in docs/RELIABILITY.md). Only the binary chooses; the
/// `hub` library works with any allocator.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Smallest queue the flags accept: one maximal frame must always fit in an empty queue.
const MIN_QUEUE_BYTES: u64 = 2 * 1024 * 1024;

/// The exit status of a hub refused to start as asked (clap's, for a bad command line).
const EXIT_USAGE: i32 = 2;

/// The database file in the data directory.
const DB_FILE: &str = "hub.db";

/// hubbub's message hub: relays bodies of up to 1 MiB between users, and keeps what is sent to
/// accounts that are away.
///
/// Every default is `hub::Config::default()`'s or `hub::store::Bounds::default()`'s, where
/// each one's reason is written.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Where accounts and mailboxes are kept (the file hub.db in it). Default:
    /// $XDG_DATA_HOME/hubbub/hub, else ~/.local/share/hubbub/hub.
    #[arg(long, env = "HUB_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,

    /// Keep accounts and mailboxes in memory only: gone when the hub stops.
    #[arg(long, env = "HUB_EPHEMERAL", conflicts_with = "data_dir")]
    ephemeral: bool,

    /// Whether clients may create accounts; with `closed`, only `hub account add` does.
    #[arg(long, env = "HUB_REGISTRATION", value_enum, default_value_t = RegistrationArg::Open)]
    registration: RegistrationArg,

    /// Registrations one IP address may attempt per minute.
    #[arg(long, env = "HUB_REGISTER_RATE", default_value_t = Config::default().register_rate,
          value_parser = clap::value_parser!(u32).range(1..))]
    register_rate: u32,

    /// Failed logins one IP address may make per minute.
    #[arg(long, env = "HUB_LOGIN_FAIL_RATE", default_value_t = Config::default().login_fail_rate,
          value_parser = clap::value_parser!(u32).range(1..))]
    login_fail_rate: u32,

    /// Most messages one mailbox keeps; a relay past it is answered `full` for that receiver.
    #[arg(long, env = "HUB_MAILBOX_MESSAGES", default_value_t = Bounds::default().max_messages,
          value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_messages: u64,

    /// Most body bytes one mailbox keeps.
    #[arg(long, env = "HUB_MAILBOX_BYTES", default_value_t = Bounds::default().max_bytes,
          value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_bytes: u64,

    /// How long a mailbox keeps a message (e.g. 30days, 12h).
    #[arg(long, env = "HUB_MAILBOX_AGE", default_value_t = Bounds::default().max_age.into())]
    mailbox_age: humantime::Duration,

    /// Address to listen on.
    #[arg(long, env = "HUB_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,

    /// Answer HTTP health checks on this address (for a load balancer: 200 while serving,
    /// 503 once shutting down); a check is not a client. Off by default.
    #[arg(long, env = "HUB_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,

    /// Most connections at once; one more is told "server full" and closed. At most 100,000 so
    /// that a list of every id always fits in one frame.
    #[arg(long, env = "HUB_MAX_CONNECTIONS", default_value_t = defaults().max_connections,
          value_parser = clap::value_parser!(u64).range(1..=hub::MAX_CONNECTIONS_CAP as u64))]
    max_connections: u64,

    /// Soft limit of one client's queue, in bytes: above it the client may stay for
    /// --slow-after before it is dropped as a slow consumer. At least 2 MiB, so that a maximal
    /// message always fits in an empty queue.
    #[arg(long, env = "HUB_QUEUE_BYTES", default_value_t = defaults().queue_bytes,
          value_parser = clap::value_parser!(u64).range(MIN_QUEUE_BYTES..))]
    queue_bytes: u64,

    /// Hard limit of one client's queue, in bytes: reaching it drops the client as a slow
    /// consumer at once. Raised to --queue-bytes if lower.
    #[arg(long, env = "HUB_QUEUE_MAX_BYTES", default_value_t = defaults().queue_max_bytes,
          value_parser = clap::value_parser!(u64).range(MIN_QUEUE_BYTES..))]
    queue_max_bytes: u64,

    /// Longest a client's queue may stay above --queue-bytes (e.g. 10s).
    #[arg(long, env = "HUB_SLOW_AFTER", default_value_t = defaults().slow_after.into())]
    slow_after: humantime::Duration,

    /// Bytes queued across all clients before the hub pauses reading requests. At least 2 MiB.
    #[arg(long, env = "HUB_GLOBAL_BYTES", default_value_t = defaults().global_bytes,
          value_parser = clap::value_parser!(u64).range(MIN_QUEUE_BYTES..))]
    global_bytes: u64,

    /// Longest a frame may take to arrive, first byte to last (e.g. 30s, 500ms).
    #[arg(long, env = "HUB_FRAME_DEADLINE", default_value_t = defaults().frame_deadline.into())]
    frame_deadline: humantime::Duration,

    /// Silence after which a keepalive is sent; as long again without an answer closes.
    #[arg(long, env = "HUB_PING_INTERVAL", default_value_t = defaults().ping_interval.into())]
    ping_interval: humantime::Duration,

    /// Longest one write to a client may make no progress before it is dropped.
    #[arg(long, env = "HUB_WRITE_TIMEOUT", default_value_t = defaults().write_timeout.into())]
    write_timeout: humantime::Duration,

    /// How long shutdown waits for queues to flush.
    #[arg(long, env = "HUB_SHUTDOWN_GRACE", default_value_t = defaults().shutdown_grace.into())]
    shutdown_grace: humantime::Duration,

    /// How often to log a stats line; 0s turns it off.
    #[arg(long, env = "HUB_STATS_INTERVAL", default_value_t = defaults().stats_interval.into())]
    stats_interval: humantime::Duration,

    /// Serve TLS 1.3 with the certificate chain in this PEM file (with --tls-key).
    #[arg(
        long,
        env = "HUB_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "HUB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Serve TLS 1.3 with a self-signed certificate made on the first run and kept in the
    /// data directory (tls-cert.pem, tls-key.pem); with --ephemeral, a fresh one in memory.
    /// Its SHA-256 fingerprint is logged, for clients to compare with what they pin.
    #[arg(long, env = "HUB_TLS_SELF_SIGNED")]
    tls_self_signed: bool,

    /// Longest a client may take over its TLS handshake (e.g. 10s).
    #[arg(long, env = "HUB_TLS_HANDSHAKE_TIMEOUT",
          default_value_t = defaults().tls_handshake_timeout.into())]
    tls_handshake_timeout: humantime::Duration,

    /// Every connection starts with a PROXY protocol v2 header from the load balancer in front
    /// of the hub (HAProxy's send-proxy-v2): the client's address in it counts for the
    /// per-address limits, not the balancer's. A connection without one is closed. Only for a
    /// listener that nothing but the balancer can reach.
    #[arg(long, env = "HUB_PROXY_PROTOCOL")]
    proxy_protocol: bool,

    /// Listen on an address other than loopback without TLS. Without it such a hub refuses
    /// to start: anyone on the path could read every body.
    #[arg(long, env = "HUB_ALLOW_PLAINTEXT")]
    allow_plaintext: bool,

    /// Refuse every request but the login steps (Hello, Challenge, Register, Login, Ping)
    /// from connections that are not logged in.
    #[arg(long, env = "HUB_REQUIRE_LOGIN")]
    require_login: bool,

    /// Act as one hub with every other hub on this NATS server (nats://HOST:PORT; several,
    /// comma-separated, for a NATS cluster). See docs/CLUSTER.md.
    #[arg(long, env = "HUB_CLUSTER")]
    cluster: Option<String>,

    /// The NATS user of --cluster (with --cluster-password).
    #[arg(long, env = "HUB_CLUSTER_USER", requires_all = ["cluster", "cluster_password"],
          conflicts_with = "cluster_token")]
    cluster_user: Option<String>,

    /// The password of --cluster-user.
    #[arg(long, env = "HUB_CLUSTER_PASSWORD", requires = "cluster_user")]
    cluster_password: Option<String>,

    /// A NATS token for --cluster.
    #[arg(long, env = "HUB_CLUSTER_TOKEN", requires = "cluster")]
    cluster_token: Option<String>,

    /// How often a hub of the cluster says it is alive (e.g. 1s).
    #[arg(long, env = "HUB_CLUSTER_HEARTBEAT", default_value_t = hub::cluster::HEARTBEAT.into())]
    cluster_heartbeat: humantime::Duration,

    /// Heartbeats missed in a row after which the other hubs remove a hub and its users.
    #[arg(long, env = "HUB_CLUSTER_DEAD_AFTER", default_value_t = hub::cluster::DEAD_AFTER_MISSED,
          value_parser = clap::value_parser!(u32).range(1..))]
    cluster_dead_after: u32,

    /// Longest a relay waits for another hub's answer (e.g. 2s).
    #[arg(long, env = "HUB_CLUSTER_RELAY_TIMEOUT",
          default_value_t = hub::cluster::RELAY_TIMEOUT.into())]
    cluster_relay_timeout: humantime::Duration,

    /// How long after a login on a clustered hub the session keeps reading its mailbox before
    /// it takes relays live, for writes from hubs that had not yet heard of it (e.g. 500ms).
    #[arg(long, env = "HUB_CLUSTER_LATE_WRITES",
          default_value_t = hub::cluster::LATE_WRITES.into())]
    cluster_late_writes: humantime::Duration,

    /// Most messages NATS's client holds for one of the hub's subscriptions before it drops
    /// the next as a slow consumer's (docs/CLUSTER.md).
    #[arg(long, env = "HUB_CLUSTER_SUBSCRIPTION_CAPACITY",
          default_value_t = hub::cluster::SUBSCRIPTION_CAPACITY as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    cluster_subscription_capacity: u32,

    /// Log format. The level comes from RUST_LOG (default: info).
    #[arg(long, env = "HUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// The defaults the flags show, as `u64`s where clap parses ranges of those.
struct Defaults {
    max_connections: u64,
    queue_bytes: u64,
    queue_max_bytes: u64,
    global_bytes: u64,
    slow_after: Duration,
    frame_deadline: Duration,
    ping_interval: Duration,
    write_timeout: Duration,
    shutdown_grace: Duration,
    stats_interval: Duration,
    tls_handshake_timeout: Duration,
}

fn defaults() -> Defaults {
    let c = Config::default();
    Defaults {
        max_connections: c.max_connections as u64,
        queue_bytes: c.queue_bytes as u64,
        queue_max_bytes: c.queue_max_bytes as u64,
        global_bytes: c.global_bytes as u64,
        slow_after: c.slow_after,
        frame_deadline: c.frame_deadline,
        ping_interval: c.ping_interval,
        write_timeout: c.write_timeout,
        shutdown_grace: c.shutdown_grace,
        stats_interval: c.stats_interval,
        tls_handshake_timeout: c.tls_handshake_timeout,
    }
}

/// What the hub binary can do besides serving.
#[derive(Subcommand, Debug)]
enum Command {
    /// Manage accounts in the data directory (works while a hub serves it).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Create an account for NAME with the ed25519 public key PUBKEY (64 hex digits, as
    /// `tui-client whoami --key` prints it); prints its id.
    Add {
        /// 1 to 32 of a-z, 0-9, `_`, `.` and `-` (folded to lower case).
        name: String,
        /// The account's public key, in hex.
        pubkey: shared::PublicKey,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RegistrationArg {
    /// Any client may create an account.
    Open,
    /// Only `hub account add` creates accounts.
    Closed,
}

impl Args {
    /// The data directory: the flag, or the user's data directory.
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".local/share"))
                .context("neither XDG_DATA_HOME nor HOME is set: give --data-dir")?,
        };
        Ok(base.join("hubbub/hub"))
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            max_messages: self.mailbox_messages,
            max_bytes: self.mailbox_bytes,
            max_age: self.mailbox_age.into(),
        }
    }

    /// Open the store the flags name.
    fn store(&self) -> anyhow::Result<(Arc<dyn Store>, String)> {
        if let Some(cluster) = self.cluster() {
            // The hubs of a cluster share accounts and mailboxes: in JetStream, whatever
            // --data-dir or --ephemeral say (they still hold a self-signed certificate).
            let options = hub::cluster::nats_options(&cluster);
            let prefix = hub::cluster::STORE_PREFIX;
            let store = JetStreamStore::connect_with(&cluster.url, options, self.bounds(), prefix)
                .context("cannot join the cluster: its store in JetStream")?;
            let url = &cluster.url;
            return Ok((Arc::new(store), format!("JetStream at {url} ({prefix}_*)")));
        }
        if self.ephemeral {
            let store = SqliteStore::ephemeral(self.bounds())?;
            return Ok((Arc::new(store), "memory (--ephemeral)".into()));
        }
        let dir = self.data_dir()?;
        let path = open_dir(&dir)?.join(DB_FILE);
        let store = SqliteStore::open(&path, self.bounds())?;
        Ok((Arc::new(store), path.display().to_string()))
    }

    fn config(&self) -> anyhow::Result<Config> {
        let size = |n: u64, flag: &str| {
            usize::try_from(n).with_context(|| format!("--{flag} is too large"))
        };
        Ok(Config {
            max_connections: size(self.max_connections, "max-connections")?,
            queue_bytes: size(self.queue_bytes, "queue-bytes")?,
            queue_max_bytes: size(self.queue_max_bytes, "queue-max-bytes")?,
            slow_after: self.slow_after.into(),
            global_bytes: size(self.global_bytes, "global-bytes")?,
            frame_deadline: self.frame_deadline.into(),
            ping_interval: self.ping_interval.into(),
            write_timeout: self.write_timeout.into(),
            shutdown_grace: self.shutdown_grace.into(),
            stats_interval: self.stats_interval.into(),
            registration: match self.registration {
                RegistrationArg::Open => Registration::Open,
                RegistrationArg::Closed => Registration::Closed,
            },
            register_rate: self.register_rate,
            login_fail_rate: self.login_fail_rate,
            tls: self.tls()?,
            tls_handshake_timeout: self.tls_handshake_timeout.into(),
            proxy_protocol: self.proxy_protocol,
            require_login: self.require_login,
            cluster: self.cluster(),
            ..Config::default()
        })
    }
}

impl Args {
    /// The cluster the flags name, if any.
    fn cluster(&self) -> Option<hub::ClusterConfig> {
        let url = self.cluster.as_ref()?;
        let auth = match (
            &self.cluster_user,
            &self.cluster_password,
            &self.cluster_token,
        ) {
            (Some(user), Some(password), _) => hub::ClusterAuth::UserPassword {
                user: user.clone(),
                password: password.clone(),
            },
            (_, _, Some(token)) => hub::ClusterAuth::Token(token.clone()),
            _ => hub::ClusterAuth::None,
        };
        Some(hub::ClusterConfig {
            auth,
            heartbeat: self.cluster_heartbeat.into(),
            dead_after: self.cluster_dead_after,
            relay_timeout: self.cluster_relay_timeout.into(),
            late_writes: self.cluster_late_writes.into(),
            subscription_capacity: self.cluster_subscription_capacity as usize,
            ..hub::ClusterConfig::new(url.clone())
        })
    }

    /// The TLS settings the flags name, and say which certificate it is.
    fn tls(&self) -> anyhow::Result<Option<TlsConfig>> {
        let tls = if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let tls = TlsConfig::from_files(cert, key)?;
            info!(fingerprint = %tls.fingerprint, "TLS with {}", cert.display());
            tls
        } else if self.tls_self_signed && self.ephemeral {
            let tls = TlsConfig::self_signed_ephemeral()?;
            info!(fingerprint = %tls.fingerprint, "TLS with a self-signed certificate in memory");
            tls
        } else if self.tls_self_signed {
            let dir = self.data_dir()?;
            let (tls, made) = TlsConfig::self_signed_in(open_dir(&dir)?)?;
            let what = if made { "made" } else { "kept" };
            info!(
                fingerprint = %tls.fingerprint,
                "TLS with the self-signed certificate {what} in {}",
                dir.display()
            );
            tls
        } else {
            return Ok(None);
        };
        Ok(Some(tls))
    }

    /// Why the hub must not start as asked: plain TCP on an address others can reach.
    fn plaintext_refusal(&self) -> Option<String> {
        let exposed = !self.listen.ip().is_loopback();
        let plain = self.tls_cert.is_none() && !self.tls_self_signed;
        (exposed && plain && !self.allow_plaintext).then(|| {
            format!(
                "refusing to listen on {} without TLS: anyone on the path could read every \
                 message. Give --tls-cert FILE --tls-key FILE or --tls-self-signed, or \
                 --allow-plaintext if the network is yours alone.",
                self.listen
            )
        })
    }
}

/// Create the data directory if needed, readable by its owner alone.
fn open_dir(dir: &Path) -> anyhow::Result<&Path> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

/// `hub account add NAME PUBKEY`.
fn add_account(args: &Args, name: &str, key: shared::PublicKey) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.ephemeral,
        "--ephemeral keeps accounts in memory: an account added there would be gone at once"
    );
    let name = shared::account::canonical_name(name).context("not an account name")?;
    let (store, path) = args.store()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let account = store
        .create_account(&name, key, now)
        .with_context(|| format!("in {path}"))?;
    println!("{} {}", account.id, account.name);
    Ok(())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_format);
    if let Some(Command::Account {
        command: AccountCommand::Add { name, pubkey },
    }) = &args.command
    {
        // A clustered hub's store starts a runtime of its own: opened off this one's threads.
        return tokio::task::block_in_place(|| add_account(&args, name, *pubkey));
    }
    if let Some(why) = args.plaintext_refusal() {
        eprintln!("hub: {why}");
        std::process::exit(EXIT_USAGE);
    }
    let config = args.config()?;
    // A clustered hub's store starts a runtime of its own: opened off this one's threads.
    let (store, where_) = tokio::task::block_in_place(|| args.store())?;
    // The handlers are in place before anyone can learn the address: a SIGTERM sent as soon
    // as "listening on" appears must stop the hub gracefully, not kill it.
    let signals = Signals::install()?;
    let clustered = config.cluster.is_some();
    let hub = Hub::open(config, store)
        .await
        .context("cannot join the cluster")?;
    if clustered {
        info!(
            "in the cluster at {}",
            args.cluster.as_deref().unwrap_or_default()
        );
    }
    let listener =
        hub::listen(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    let health = match args.health_listen {
        Some(addr) => {
            let health = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for health checks on {addr}"))?;
            info!("health checks on {}", health.local_addr()?);
            Some(health)
        }
        None => None,
    };
    info!("listening on {}", listener.local_addr()?);
    info!("accounts and mailboxes in {where_}");
    let shutdown = CancellationToken::new();
    tokio::spawn(signals.cancel_on_first(shutdown.clone()));
    if let Some(health) = health {
        tokio::spawn(hub::health::serve(
            health,
            hub.inspector(),
            shutdown.clone(),
        ));
    }
    hub.run(listener, shutdown).await;
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A failed log write is otherwise reported with `eprintln!`, which panics when stderr
        // is the very pipe that failed: a hub whose log reader went away had every task that
        // logged panic, the signal handler among them, and no longer stopped on SIGTERM.
        .log_internal_errors(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// SIGINT and SIGTERM, each caught from the moment it is installed.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
        })
    }

    async fn cancel_on_first(mut self, shutdown: CancellationToken) {
        tokio::select! {
            _ = self.interrupt.recv() => info!("SIGINT received"),
            _ = self.terminate.recv() => info!("SIGTERM received"),
        }
        shutdown.cancel();
    }
}
