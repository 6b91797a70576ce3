//! The `hub` binary: parse flags, set up logging, serve until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use hub::Config;
use tokio::net::TcpListener;
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

/// hubbub's message hub: relays bodies of up to 1 MiB between connected users.
///
/// Every default is `hub::Config::default()`'s, where each one's reason is written.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "HUB_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,

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
    }
}

impl Args {
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
        })
    }
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
    let config = args.config()?;
    // The handlers are in place before anyone can learn the address: a SIGTERM sent as soon
    // as "listening on" appears must stop the hub gracefully, not kill it.
    let signals = Signals::install()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    info!("listening on {}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(signals.cancel_on_first(shutdown.clone()));
    hub::run(listener, config, shutdown).await;
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
