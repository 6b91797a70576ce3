//! `loadgen`: runs one workload against one server and prints its result as a JSON line;
//! `loadgen report` turns the lines of a whole run into the markdown table.

mod chat;
mod fanout;
mod idle;
mod proc_stat;
mod proto;
mod report;
mod scan;
#[cfg(test)]
mod smoke;

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// 10,000 idle connections: memory.
    W5,
    /// W1 with a receiver that stops reading.
    W6,
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
        } => {
            let result = match workload {
                Workload::W1 | Workload::W2 | Workload::W3 | Workload::W6 => {
                    fanout::run(target, addr, pid, workload, scale).await?
                }
                Workload::W4 => chat::run(target, addr, pid, scale).await?,
                Workload::W5 => idle::run(target, addr, pid, scale).await?,
            };
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Report { results } => print!("{}", report::table(&results)?),
    }
    Ok(())
}
