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
        await_listed(hub, &wanted, CONVERGE_TIMEOUT).await?;
    }
    Ok(())
}

/// Wait until `hub`'s `List` holds every one of `wanted`; an error after `timeout`.
pub async fn await_listed(
    hub: SocketAddr,
    wanted: &HashSet<u64>,
    timeout: Duration,
) -> anyhow::Result<()> {
    await_list(hub, timeout, |listed| {
        let missing = wanted.difference(listed).count();
        (missing > 0).then(|| format!("still lists {missing} of the run's clients as absent"))
    })
    .await
}

/// Wait until `hub`'s `List` holds none of `gone`; an error after `timeout`.
pub async fn await_unlisted(
    hub: SocketAddr,
    gone: &HashSet<u64>,
    timeout: Duration,
) -> anyhow::Result<()> {
    await_list(hub, timeout, |listed| {
        let left = gone.intersection(listed).count();
        (left > 0).then(|| format!("still lists {left} users that left"))
    })
    .await
}

/// Ask `hub` for `List` every 50 ms until `unmet` finds nothing missing in the answer (it
/// says what is, if something is); an error saying so after `timeout`.
async fn await_list(
    hub: SocketAddr,
    timeout: Duration,
    unmet: impl Fn(&HashSet<u64>) -> Option<String>,
) -> anyhow::Result<()> {
    let mut probe = Connection::connect(hub)
        .await
        .with_context(|| format!("connect to {hub} to watch presence"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        probe.send(&ClientMsg::List { req: RequestId(1) }).await?;
        let listed = loop {
            match probe.recv().await? {
                HubMsg::Peers { peers, .. } => break peers,
                HubMsg::KeepAlive => probe.send(&ClientMsg::KeepAliveAck).await?,
                _ => continue,
            }
        };
        let listed: HashSet<u64> = listed.iter().map(|&UserId(id)| id).collect();
        let Some(why) = unmet(&listed) else {
            return Ok(());
        };
        if tokio::time::Instant::now() > deadline {
            bail!("{hub} {why} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    /// A hub's `List` is awaited until it holds the ids, then until it holds none of them;
    /// an id never listed times out with an error.
    #[tokio::test]
    async fn lists_are_awaited_until_they_hold_or_lack_the_ids() {
        let hub = testkit::TestHub::start().await;
        let client = Connection::connect(hub.addr).await.expect("connect");
        let ids: HashSet<u64> = [client.user_id().0].into();
        await_listed(hub.addr, &ids, Duration::from_secs(10))
            .await
            .expect("listed");
        let never: HashSet<u64> = [u64::MAX].into();
        let err = await_listed(hub.addr, &never, Duration::from_millis(100))
            .await
            .expect_err("an id nobody has");
        assert!(err.to_string().contains("1 of the run's clients"), "{err}");
        let err = await_unlisted(hub.addr, &ids, Duration::from_millis(100))
            .await
            .expect_err("still connected");
        assert!(err.to_string().contains("still lists 1 users"), "{err}");
        drop(client);
        await_unlisted(hub.addr, &ids, Duration::from_secs(10))
            .await
            .expect("gone");
        hub.stop().await;
    }
}
