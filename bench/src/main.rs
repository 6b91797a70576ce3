//! `loadgen`: runs one workload against one server and prints its result as a JSON line;
//! `loadgen report` turns the lines of a whole run into the markdown tables. `durable`,
//! `backlog` and `crowd` are the accounts-and-mailboxes workloads (`bench/mailbox.sh`).

mod account;
mod backlog;
mod chart;
mod chat;
mod crowd;
mod durable;
mod fanout;
mod idle;
mod login;
mod minrelay;
mod proc_stat;
mod proto;
mod report;
mod report_cost;
mod report_mailbox;
mod report_tls;
mod scan;
mod setup;
#[cfg(test)]
mod smoke;
mod spread;
mod storm;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::proto::Proto;

#[derive(Parser)]
#[command(about = "Load generator for hubbub, NATS and Redis")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one workload against one server and print a JSON line.
    Run {
        /// Which protocol the server speaks.
        #[arg(long, value_enum)]
        target: Proto,
        /// The server's address (loopback).
        #[arg(long)]
        addr: SocketAddr,
        /// The server's process id, for its memory figures.
        #[arg(long)]
        pid: u32,
        /// The workload.
        #[arg(long, value_enum)]
        workload: Workload,
        /// Multiplies message counts (1.0 = the documented sizes).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Hub only: every client registers an account first (not timed), then logs in to it
        /// at protocol version 3, and relays name account ids. The hub's --register-rate must
        /// allow one registration per client.
        #[arg(long)]
        login: bool,
        /// W4 only: sends per second per client instead of the workload's own (20, or 2 for
        /// W4 light); each send goes to 5 receivers, so 2,500 times this is the offered load
        /// in deliveries per second.
        #[arg(long)]
        rate: Option<f64>,
        /// Record the result under this server name instead of the protocol's: `minimal` for
        /// `loadgen minrelay`, which speaks the hub's protocol.
        #[arg(long)]
        name: Option<String>,
        /// Hub and NATS: speak TLS 1.3 to the server (any certificate is taken: this measures,
        /// it does not authenticate). The hub runs with --tls-self-signed or --tls-cert,
        /// nats-server with a `tls` block (bench/tls.sh); NATS's plain INFO line comes first.
        #[arg(long)]
        tls: bool,
        /// Hub only: more hubs of the same cluster (comma-separated); client i connects to
        /// the (i mod n)th of --addr and these, and the run starts once every hub lists every
        /// client (bench/cluster.sh).
        #[arg(long, value_delimiter = ',')]
        also: Vec<SocketAddr>,
    },
    /// Connection set-up rate and latency (hub only): plain, --tls, --login.
    Setup {
        /// The hub's address (loopback); with --login its --register-rate must allow one
        /// registration.
        #[arg(long)]
        addr: SocketAddr,
        /// Connections to set up.
        #[arg(long, default_value_t = 5_000)]
        connections: usize,
        /// Set up at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Log each connection in to an account.
        #[arg(long)]
        login: bool,
        /// Speak TLS 1.3.
        #[arg(long)]
        tls: bool,
    },
    /// Serve the minimal relay (the hub's base protocol, nothing else) until killed.
    Minrelay {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:7879")]
        listen: SocketAddr,
    },
    /// Presence at scale: many watching clients connect at once; when does every one hold
    /// the complete list, and what does it cost the hub.
    Storm {
        /// The hub's address (loopback).
        #[arg(long)]
        addr: SocketAddr,
        /// The hub's process id, for its CPU time and memory.
        #[arg(long)]
        pid: u32,
        /// Watching clients.
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// The protocol version the watchers ask for (`Hello`; 1 sends none). At 6 a hub that
        /// speaks it coalesces presence into `Presence` frames; an older hub answers with its
        /// own highest version, and the watchers follow one push per change.
        #[arg(long, default_value_t = shared::PROTOCOL_VERSION)]
        version: u32,
    },
    /// Draw latency against offered load from the JSON lines of a sweep (bench/sweep.sh).
    Chart {
        /// JSON lines written by `run --workload w4 --rate R`.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// The SVG file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Durable relays/s to a recipient that is away: a hub account or a JetStream stream.
    Durable {
        /// The server.
        #[arg(long, value_enum)]
        target: durable::Target,
        /// The server's address (loopback).
        #[arg(long)]
        addr: SocketAddr,
        /// The server's process id, for its memory figures.
        #[arg(long)]
        pid: u32,
        /// Concurrent senders, one connection each, each waiting for every acknowledgement.
        #[arg(long, default_value_t = 1)]
        senders: usize,
        /// How long they send.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Body bytes.
        #[arg(long, default_value_t = 1024)]
        body: usize,
        /// The server's fsync setting, recorded in the result: `always` or `default`.
        #[arg(long, default_value = "always")]
        sync: String,
    },
    /// Log in to a mailbox of many messages: time to the first one, drain rate.
    Backlog {
        /// The hub's address (loopback).
        #[arg(long)]
        addr: SocketAddr,
        /// The hub's process id, for its memory figures.
        #[arg(long)]
        pid: u32,
        /// Messages in the mailbox (the hub's --mailbox-messages must allow them).
        #[arg(long, default_value_t = 100_000)]
        messages: u64,
        /// Body bytes.
        #[arg(long, default_value_t = 100)]
        body: usize,
        /// Acknowledge every this many messages.
        #[arg(long, default_value_t = 1000)]
        ack_every: u64,
        /// Concurrent senders filling the mailbox.
        #[arg(long, default_value_t = 64)]
        senders: usize,
    },
    /// The hub's RSS with many accounts and many queued messages.
    Crowd {
        /// The hub's address (loopback); its --register-rate must allow the accounts.
        #[arg(long)]
        addr: SocketAddr,
        /// The hub's process id, for its memory figures.
        #[arg(long)]
        pid: u32,
        /// Accounts to register.
        #[arg(long, default_value_t = 10_000)]
        accounts: u64,
        /// Messages to queue, spread evenly over the accounts.
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Body bytes.
        #[arg(long, default_value_t = 48)]
        body: usize,
        /// Concurrent senders.
        #[arg(long, default_value_t = 256)]
        senders: usize,
        /// Accounts each relay names.
        #[arg(long, default_value_t = 1)]
        per_relay: usize,
        /// Idle seconds before each memory reading: the hub's idle blocking threads (one per
        /// relay that waited on the store) end after 10 s, and jemalloc gives their memory
        /// back over the next 10–20 s.
        #[arg(long, default_value_t = 30.0)]
        settle: f64,
        /// The hub's data directory, for the sizes of its files.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only measure a hub restarted on an earlier run's data (same --accounts, --messages).
        #[arg(long)]
        restarted: bool,
    },
    /// Print the markdown table of files of JSON lines (medians over all their runs).
    Report {
        /// JSON lines written by `run` (and `iperf3 -J` summaries by the script).
        #[arg(required = true)]
        results: Vec<PathBuf>,
    },
}

/// The workloads of the benchmark issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Fan-out of 6-byte bodies to 49 receivers.
    W1,
    /// Fan-out of 2 KiB bodies to 49 receivers.
    W2,
    /// Fan-out of 1 MiB bodies to 255 receivers.
    W3,
    /// 500 chatting clients: latency.
    W4,
    /// W4 at a tenth of the rate (5,000 deliveries/s): latency at a light chat's load.
    W4l,
    /// 10,000 idle connections: memory.
    W5,
    /// W1 with a receiver that stops reading.
    W6,
}

/// Speak TLS to the hub or nats-server at `addr` for the rest of the run, taking whatever
/// certificate it shows (a first use that is never pinned).
fn trust_any_tls(addr: SocketAddr, target: Proto) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(target, Proto::Hub | Proto::Nats),
        "--tls is for --target hub or nats"
    );
    let dial = shared::conn::TlsDial::new(&addr.ip().to_string(), shared::tls::Trust::Pin(None))?;
    proto::TLS
        .set(dial)
        .map_err(|_| anyhow::anyhow!("TLS is set once"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Run {
            target,
            addr,
            pid,
            workload,
            scale,
            login,
            rate,
            name,
            tls,
            also,
        } => {
            let spread = !also.is_empty();
            if spread && target != Proto::Hub {
                anyhow::bail!("--also spreads clients over the hubs of a cluster: hub only");
            }
            spread::ALSO.set(also).expect("set once");
            if tls {
                trust_any_tls(addr, target)?;
            }
            let mut result = match workload {
                Workload::W1 | Workload::W2 | Workload::W3 | Workload::W6 => {
                    fanout::run(target, addr, pid, workload, scale, login).await?
                }
                Workload::W4 | Workload::W4l => {
                    let own = match workload {
                        Workload::W4 => chat::RATE_HZ,
                        _ => chat::LIGHT_RATE_HZ,
                    };
                    let chat = (workload, rate.unwrap_or(own));
                    chat::run(target, addr, pid, scale, login, chat).await?
                }
                Workload::W5 => idle::run(target, addr, pid, scale, login).await?,
            };
            result["login"] = login.into();
            result["tls"] = tls.into();
            if let Some(name) = name {
                result["target"] = name.into();
            }
            if spread {
                result["hubs"] = (spread::ALSO.get().map_or(0, Vec::len) + 1).into();
            }
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Setup {
            addr,
            connections,
            concurrency,
            login,
            tls,
        } => {
            if tls {
                trust_any_tls(addr, proto::Proto::Hub)?;
            }
            let spec = setup::Spec {
                connections,
                concurrency,
                login,
            };
            println!("{}", serde_json::to_string(&setup::run(addr, spec).await?)?);
        }
        Command::Durable {
            target,
            addr,
            pid,
            senders,
            seconds,
            body,
            sync,
        } => {
            let spec = durable::Spec {
                senders,
                seconds,
                body,
            };
            let result = durable::run(target, addr, pid, spec, &sync).await?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Backlog {
            addr,
            pid,
            messages,
            body,
            ack_every,
            senders,
        } => {
            let spec = backlog::Spec {
                messages,
                body,
                ack_every,
                senders,
            };
            let result = backlog::run(addr, pid, spec).await?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Crowd {
            addr,
            pid,
            accounts,
            messages,
            body,
            senders,
            per_relay,
            settle,
            data_dir,
            restarted,
        } => {
            let spec = crowd::Spec {
                accounts,
                messages,
                body,
                senders,
                per_relay,
                settle: Duration::from_secs_f64(settle),
                data_dir,
                restarted,
            };
            let result = crowd::run(addr, pid, spec).await?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Storm {
            addr,
            pid,
            clients,
            version,
        } => {
            let result = storm::run(addr, pid, clients, version).await?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Minrelay { listen } => minrelay::run(listen).await?,
        Command::Chart { results, out } => chart::draw(&results, &out)?,
        Command::Report { results } => print!("{}", report::table(&results)?),
    }
    Ok(())
}
