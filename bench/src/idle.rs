//! W5: 10,000 idle connections (subscribed, on NATS and Redis); the server's RSS per connection.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::fanout::connect_all;
use crate::login;
use crate::proc_stat::memory;
use crate::proto::Proto;
use crate::Workload;

/// Connect the clients, let the server settle, and compare its RSS with the RSS before. A
/// logged-in run registers its accounts before the first reading: the figure is what a
/// session costs, not what an account does.
pub async fn run(
    proto: Proto,
    addr: SocketAddr,
    pid: u32,
    scale: f64,
    login: bool,
) -> anyhow::Result<Value> {
    let n = ((10_000.0 * scale) as usize).max(1);
    let accounts = login::accounts(proto, addr, login, Workload::W5, n).await?;
    let before = memory(pid);
    let clients = connect_all(proto, addr, n, accounts.as_deref()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = memory(pid);
    drop(clients);
    let per = after.rss_kib.saturating_sub(before.rss_kib) as f64 / n as f64;
    Ok(json!({
        "target": proto,
        "workload": Workload::W5,
        "connections": n,
        "rss_before_kib": before.rss_kib,
        "rss_after_kib": after.rss_kib,
        "kib_per_connection": per,
        "memory": after,
    }))
}
