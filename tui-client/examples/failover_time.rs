//! How long N full-screen clients take to fail over from one hub to the next address.
//!
//! `cargo run --release -p tui-client --example failover_time -- [CLIENTS] [RUNS]`
//!
//! Two real hubs on loopback (testkit's `TestHub`, in this process); CLIENTS network tasks
//! (`tui_client::net::run`, each with `--hub A,B`, anonymous, each watching presence as the
//! full-screen client does) connected to A. Then A is stopped (its goodbye to every client)
//! and the time is taken until B holds all of them. The floor is the policy's 250 ms pause
//! after a lost connection (`BACKOFF_MIN`); the rest is the reconnect storm on B (every client
//! at once, each one's arrival told to every watcher already there).

use std::time::{Duration, Instant};

use testkit::TestHub;
use tokio::sync::mpsc;
use tui_client::net::{self, Hubs, NetCommand, NetConfig, NetEvent};

async fn run_once(clients: usize, dir: &std::path::Path) -> Duration {
    let a = TestHub::start().await;
    let b = TestHub::start().await;
    let mut keep = Vec::with_capacity(clients);
    for _ in 0..clients {
        let config = NetConfig {
            hubs: Hubs::plain([a.addr, b.addr]).expect("two addresses"),
            download_dir: dir.to_owned(),
            identity: None,
            pins: None,
        };
        let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
        let (ev_tx, mut events) = mpsc::channel::<NetEvent>(net::EVENT_CAPACITY);
        // The UI's side: take every event, as the full-screen client does.
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
        keep.push((commands, drain, task));
    }
    wait_for(&a, clients).await;
    let started = Instant::now();
    a.stop().await;
    wait_for(&b, clients).await;
    let took = started.elapsed();
    for (_, drain, task) in keep {
        task.abort();
        drain.abort();
    }
    b.stop().await;
    took
}

/// Wait (bounded by a minute) until `hub` holds `n` connections.
async fn wait_for(hub: &TestHub, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while hub.inspector.connections() < n {
        assert!(Instant::now() < deadline, "{n} clients never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut times = Vec::with_capacity(runs);
    for run in 1..=runs {
        let took = run_once(clients, dir.path()).await;
        println!("run {run}: {clients} clients on B {took:.3?} after A stopped");
        times.push(took);
    }
    times.sort();
    println!(
        "median of {runs}: {:.3?} (floor: the {:?} pause after a lost connection)",
        times[runs / 2],
        net::backoff::BACKOFF_MIN
    );
}
