//! How long a killed hub stays in the others' presence: one nats-server and two release hub
//! processes with the default heartbeat (1 s) and dead-after (3). A watcher on hub 1 sees a
//! client of hub 2 arrive; hub 2 is killed with SIGKILL; the time from the kill to the
//! watcher's `Left` is printed, ROUNDS times.
//!
//! ```text
//! cargo build --release -p hub && cargo run --release -p hub --example cluster_convergence -- [ROUNDS]
//! ```
//! Default: 3 rounds. `HUB_BIN=PATH` runs that hub binary instead of the one beside the
//! example. Needs nats-server (scripts/deps.sh). Not part of CI.

use std::time::Instant;

use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId};
use testkit::child::HubProcess;
use testkit::nats::NatsServer;

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(3, |a| a.parse().expect("rounds"));
    let nats = NatsServer::start();
    let url = nats.url();
    let args = ["--cluster", url.as_str()];
    let spawn = || HubProcess::spawn_beside_example(&args, None);
    let h1 = spawn();
    let mut watcher = Connection::connect(h1.addr).await.expect("connect");
    watcher
        .send(&ClientMsg::Watch { req: RequestId(1) })
        .await
        .expect("send");
    assert!(matches!(
        testkit::recv(&mut watcher).await,
        HubMsg::Present { .. }
    ));
    for round in 1..=rounds {
        let mut victim = spawn();
        let client = Connection::connect(victim.addr).await.expect("connect");
        let id = client.user_id();
        loop {
            if let HubMsg::Presence { arrived, .. } = testkit::recv(&mut watcher).await {
                if arrived.iter().any(|p| p.user_id == id) {
                    break;
                }
            }
        }
        let killed = Instant::now();
        victim.signal("KILL");
        loop {
            if let HubMsg::Presence { left, .. } = testkit::recv(&mut watcher).await {
                if left.contains(&id) {
                    break;
                }
            }
        }
        println!(
            "round {round}: Left pushed {:.2} s after SIGKILL",
            killed.elapsed().as_secs_f64()
        );
        drop(client);
        let _ = victim.wait(std::time::Duration::from_secs(10));
    }
}
