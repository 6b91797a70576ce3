//! A relay's latency within one hub against across two hubs of a cluster: one nats-server and
//! two release hub processes on loopback. A on hub 1 relays a small body ROUNDS times, one at a
//! time, to B on hub 1, then to C on hub 2; each round is timed from the relay sent to both the
//! answer and the delivery in. Prints p50/p99 of each and the ratios.
//!
//! ```text
//! cargo build --release -p hub && cargo run --release -p hub --example cluster_latency -- [ROUNDS]
//! ```
//! Default: 5,000 rounds each. `HUB_BIN=PATH` runs that hub binary instead of the one beside
//! the example. Needs nats-server (scripts/deps.sh). Not part of CI.

use std::time::{Duration, Instant};

use shared::conn::Connection;
use shared::{HubMsg, UserId};
use testkit::child::HubProcess;
use testkit::nats::NatsServer;

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(5_000, |a| a.parse().expect("rounds"));
    let nats = NatsServer::start();
    let url = nats.url();
    let args = ["--cluster", url.as_str()];
    let spawn = || HubProcess::spawn_beside_example(&args, None);
    let (h1, h2) = (spawn(), spawn());
    let mut a = Connection::connect(h1.addr).await.expect("connect");
    let mut b = Connection::connect(h1.addr).await.expect("connect");
    let mut c = Connection::connect(h2.addr).await.expect("connect");
    // Until hub 1 has heard of C.
    while !testkit::list(&mut a).await.contains(&c.user_id()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (name, receiver) in [
        ("local (hub 1 → hub 1)", &mut b),
        ("cross-hub (hub 1 → hub 2)", &mut c),
    ] {
        let to = receiver.user_id();
        let (answered, delivered) = time(&mut a, receiver, to, rounds).await;
        println!(
            "{name}: answer p50 {:.1} µs p99 {:.1} µs; delivery p50 {:.1} µs p99 {:.1} µs",
            pct(&answered, 50),
            pct(&answered, 99),
            pct(&delivered, 50),
            pct(&delivered, 99)
        );
    }
}

/// Relay `rounds` times from `a` to `to` (read on `receiver`); each round's time to the answer
/// and to the delivery, in µs, sorted.
async fn time(
    a: &mut Connection,
    receiver: &mut Connection,
    to: UserId,
    rounds: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut answered, mut delivered) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let start = Instant::now();
        a.send(&testkit::relay_msg(i as u32, &[to], &b"ping"[..]))
            .await
            .expect("send");
        let answer = testkit::next_answer(a).await;
        assert!(
            matches!(answer, HubMsg::Posted { delivered: 1, .. }),
            "{answer:?}"
        );
        answered.push(start.elapsed().as_secs_f64() * 1e6);
        testkit::delivery(receiver).await;
        delivered.push(start.elapsed().as_secs_f64() * 1e6);
    }
    answered.sort_by(f64::total_cmp);
    delivered.sort_by(f64::total_cmp);
    (answered, delivered)
}

fn pct(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100]
}
