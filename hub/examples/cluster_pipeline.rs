//! A pipelining sender's relay rate within one hub against across two hubs of a cluster: one
//! nats-server and two release hub processes on loopback. A on hub 1 sends RELAYS small relays
//! to B on hub 1, then to C on hub 2, WINDOW at a time (it sends a window, then reads its
//! answers); the receiver reads beside it. Prints relays per second for each and the ratio.
//! One receiver, so what it measures is the sender's wait for other hubs' answers, not fan-out
//! (bench/README.md § Many hubs over NATS).
//!
//! ```text
//! cargo build --release -p hub && cargo run --release -p hub --example cluster_pipeline -- [RELAYS] [WINDOW]
//! ```
//! Default: 20,000 relays, 64 at a time. `HUB_BIN=PATH` runs that hub binary instead of the one
//! beside the example. Needs nats-server (scripts/deps.sh). Not part of CI.

use std::time::{Duration, Instant};

use shared::conn::Connection;
use shared::HubMsg;
use testkit::child::HubProcess;
use testkit::nats::NatsServer;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let relays: u32 = args.next().map_or(20_000, |a| a.parse().expect("relays"));
    let window: u32 = args.next().map_or(64, |a| a.parse().expect("window"));
    let nats = NatsServer::start();
    let url = nats.url();
    let hub_args = ["--cluster", url.as_str()];
    let spawn = || HubProcess::spawn_beside_example(&hub_args, None);
    let (h1, h2) = (spawn(), spawn());
    let mut a = Connection::connect(h1.addr).await.expect("connect");
    let b = Connection::connect(h1.addr).await.expect("connect");
    let c = Connection::connect(h2.addr).await.expect("connect");
    // Until hub 1 has heard of C.
    while !testkit::list(&mut a).await.contains(&c.user_id()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rates = Vec::new();
    for (name, receiver) in [
        ("local (hub 1 → hub 1)", b),
        ("cross-hub (hub 1 → hub 2)", c),
    ] {
        let to = receiver.user_id();
        let reading = tokio::spawn(async move {
            let mut receiver = receiver;
            for _ in 0..relays {
                testkit::delivery(&mut receiver).await;
            }
        });
        let start = Instant::now();
        let mut sent = 0;
        while sent < relays {
            let batch = window.min(relays - sent);
            for i in 0..batch {
                a.send(&testkit::relay_msg(sent + i, &[to], &b"ping"[..]))
                    .await
                    .expect("send");
            }
            for _ in 0..batch {
                let answer = testkit::next_answer(&mut a).await;
                assert!(
                    matches!(answer, HubMsg::Posted { delivered: 1, .. }),
                    "{answer:?}"
                );
            }
            sent += batch;
        }
        reading.await.expect("the receiver read them all");
        let rate = f64::from(relays) / start.elapsed().as_secs_f64();
        println!("{name}: {rate:.0} relays/s ({relays} relays, {window} at a time)");
        rates.push(rate);
    }
    println!("cross-hub / local: {:.2}", rates[1] / rates[0]);
}
