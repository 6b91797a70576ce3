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
/// memory (RSS stayed near 170 MB after the soak against 63 MB before it), while jemalloc's
/// background threads purge it to the OS within its decay time even when the hub is idle.
/// mimalloc was tried and kept more than glibc. Only the binary chooses; the `hub` library works
/// with any allocator.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Smallest queue the flags accept: one maximal frame must always fit in an empty queue.
const MIN_QUEUE_BYTES: u64 = 2 * 1024 * 1024;

/// hubbub's message hub: relays bodies of up to 1 MiB between connected users.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "HUB_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,

    /// Most connections at once; one more is told "server full" and closed. At most 100,000 so
    /// that a list of every id always fits in one frame.
    #[arg(long, env = "HUB_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_connections: u32,

    /// Bytes queued for one client before it is dropped as a slow consumer. At least 2 MiB, so
    /// that a maximal message always fits in an empty queue.
    #[arg(long, env = "HUB_QUEUE_BYTES", default_value_t = 16 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(MIN_QUEUE_BYTES..))]
    queue_bytes: u64,

    /// Bytes queued across all clients before the hub pauses reading requests. At least 2 MiB.
    #[arg(long, env = "HUB_GLOBAL_BYTES", default_value_t = 1024 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(MIN_QUEUE_BYTES..))]
    global_bytes: u64,

    /// Longest a frame may take to arrive, first byte to last (e.g. 30s, 500ms).
    #[arg(long, env = "HUB_FRAME_DEADLINE", default_value = "30s", value_parser = humantime::parse_duration)]
    frame_deadline: Duration,

    /// Silence after which a keepalive is sent; as long again without an answer closes.
    #[arg(long, env = "HUB_PING_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    ping_interval: Duration,

    /// Longest one write to a client may make no progress before it is dropped.
    #[arg(long, env = "HUB_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    write_timeout: Duration,

    /// How long shutdown waits for queues to flush.
    #[arg(long, env = "HUB_SHUTDOWN_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    shutdown_grace: Duration,

    /// How often to log a stats line; 0s turns it off.
    #[arg(long, env = "HUB_STATS_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    stats_interval: Duration,

    /// Log format. The level comes from RUST_LOG (default: info).
    #[arg(long, env = "HUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
    let config = Config {
        max_connections: args.max_connections as usize,
        queue_bytes: usize::try_from(args.queue_bytes).context("--queue-bytes is too large")?,
        global_bytes: usize::try_from(args.global_bytes).context("--global-bytes is too large")?,
        frame_deadline: args.frame_deadline,
        ping_interval: args.ping_interval,
        write_timeout: args.write_timeout,
        shutdown_grace: args.shutdown_grace,
        stats_interval: args.stats_interval,
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    info!("listening on {}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
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

async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("can install a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
        _ = term.recv() => info!("SIGTERM received"),
    }
    shutdown.cancel();
}
