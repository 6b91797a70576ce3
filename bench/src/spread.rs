//! `loadgen run --also ADDR,…`: one workload spread over several hubs of one cluster, to
//! price a delivery that crosses NATS against one that stays on its hub.
//!
//! Client `i` connects to hub `i mod n` of `--addr` followed by `--also`, so client 0 (the
//! fan-out's sender) is on the first hub and two thirds of the receivers of a 3-hub run are on
//! others. Before anything is timed, the run waits until every hub lists every client: a
//! relay sent before a hub has heard of its receivers would be answered `unknown`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, UserId};

/// The other hubs of this run, set once before the workload starts (as [`crate::proto::TLS`]);
/// unset or empty: every client on `--addr`.
pub static ALSO: OnceLock<Vec<SocketAddr>> = OnceLock::new();

/// Longest the hubs may take to list every client of the run.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where client `index` connects, `addr` being the run's first hub.
pub fn addr_for(addr: SocketAddr, index: u64) -> SocketAddr {
    pick(addr, ALSO.get().map_or(&[], Vec::as_slice), index)
}

fn pick(addr: SocketAddr, also: &[SocketAddr], index: u64) -> SocketAddr {
    match index as usize % (also.len() + 1) {
        0 => addr,
        at => also[at - 1],
    }
}

/// Whether the run spreads its clients over several hubs.
pub fn spread() -> bool {
    ALSO.get().is_some_and(|a| !a.is_empty())
}

/// Wait until `addr` and every hub in [`ALSO`] list each of `ids` (the clients' addresses,
/// which on the hub are their user ids).
pub async fn converge(addr: SocketAddr, ids: &[u64]) -> anyhow::Result<()> {
    let mut hubs = vec![addr];
    hubs.extend(ALSO.get().into_iter().flatten());
    let wanted: HashSet<u64> = ids.iter().copied().collect();
    for hub in hubs {
        let mut probe = Connection::connect(hub)
            .await
            .with_context(|| format!("connect to {hub} to watch presence"))?;
        let deadline = tokio::time::Instant::now() + CONVERGE_TIMEOUT;
        loop {
            probe.send(&ClientMsg::List { req: RequestId(1) }).await?;
            let listed = loop {
                match probe.recv().await? {
                    HubMsg::Peers { peers, .. } => break peers,
                    _ => continue,
                }
            };
            let listed: HashSet<u64> = listed.iter().map(|&UserId(id)| id).collect();
            if wanted.is_subset(&listed) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let missing = wanted.difference(&listed).count();
                bail!("{hub} still lists {missing} of the run's clients as absent after {CONVERGE_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_go_round_the_hubs_from_the_first() {
        let [a, b, c]: [SocketAddr; 3] =
            ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"].map(|s| s.parse().expect("addr"));
        assert_eq!(pick(a, &[], 5), a, "no others: every client on --addr");
        let got: Vec<SocketAddr> = (0..6).map(|i| pick(a, &[b, c], i)).collect();
        assert_eq!(got, [a, b, c, a, b, c]);
    }
}
