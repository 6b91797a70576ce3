//! Pieces the hostile-input tests share: a quick config, a pair of well-behaved bystanders that
//! prove the hub still serves others, a wait for a connection's recorded close reason, and how
//! every such test starts and ends.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use hub::{CloseReason, Config};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, UserId};

use crate::baseline::Baseline;
use crate::helpers::{recv, TestHub};
use crate::ledger::Ledger;

/// Short deadlines so that every policy fires within a test's patience. The frame deadline
/// stays long enough for a 1 MiB frame from a debug-built client on a busy machine; the
/// slowloris tests run on paused time with the default deadline instead.
pub fn quick_config() -> Config {
    Config {
        frame_deadline: Duration::from_secs(2),
        // Keepalives are tested on their own; elsewhere they would only add noise.
        ping_interval: Duration::from_secs(3600),
        write_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(2),
        stats_interval: Duration::ZERO,
        ..Config::default()
    }
}

/// The start of a hostile-input test: a hub, its baseline, a ledger and two bystanders.
pub async fn start(config: Config) -> (TestHub, Baseline, Ledger, Pair) {
    let hub = TestHub::with_config(config).await;
    let base = Baseline::capture(&hub);
    let pair = Pair::connect(&hub).await;
    (hub, base, Ledger::new(), pair)
}

/// The end of a hostile-input test: the bystanders stayed healthy, the ledger holds, the hub is
/// back to its baseline (the offender's connection, tasks and charge all gone); stop it.
pub async fn finish(hub: TestHub, base: Baseline, ledger: &Ledger, pair: Pair) {
    pair.finish(ledger);
    ledger.check();
    base.wait_restored(&hub).await;
    hub.stop().await;
}

/// Two well-behaved clients that relay to each other through the ledger.
pub struct Pair {
    pub a: Connection,
    pub b: Connection,
}

impl Pair {
    pub async fn connect(hub: &TestHub) -> Pair {
        Pair {
            a: hub.connect().await,
            b: hub.connect().await,
        }
    }

    /// One ledger relay each way, answered and received: the hub still serves them.
    pub async fn exchange(&mut self, ledger: &Ledger) {
        let (a, b) = (self.a.user_id(), self.b.user_id());
        relay_and_receive(ledger, &mut self.a, &mut self.b, a, b).await;
        relay_and_receive(ledger, &mut self.b, &mut self.a, b, a).await;
    }

    /// Both stayed healthy to the end; hang up.
    pub fn finish(self, ledger: &Ledger) {
        ledger.healthy(self.a.user_id());
        ledger.healthy(self.b.user_id());
    }
}

async fn relay_and_receive(
    ledger: &Ledger,
    from: &mut Connection,
    to: &mut Connection,
    sender: UserId,
    receiver: UserId,
) {
    from.send(&ledger.relay(sender, &[receiver], 64))
        .await
        .expect("bystander sends");
    let answer = recv_skipping(from).await;
    assert!(
        ledger.answer(sender, &answer),
        "expected an answer, got {answer:?}"
    );
    let msg = recv_skipping(to).await;
    assert!(
        ledger.receive(receiver, &msg),
        "expected a message, got {msg:?}"
    );
}

/// The next message that is not a presence push or keepalive; keepalives are answered.
pub async fn recv_skipping(conn: &mut Connection) -> HubMsg {
    loop {
        match recv(conn).await {
            HubMsg::Joined { .. } | HubMsg::Left { .. } => continue,
            HubMsg::KeepAlive => conn
                .send(&ClientMsg::<Bytes>::KeepAliveAck)
                .await
                .expect("ack"),
            other => return other,
        }
    }
}

/// Wait (bounded) for the hub to record why `id` closed.
pub async fn close_reason(hub: &TestHub, id: UserId) -> CloseReason {
    for _ in 0..1000 {
        let found = hub
            .registry
            .recent_closes()
            .into_iter()
            .find(|(who, _)| *who == Some(id));
        if let Some((_, reason)) = found {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no close recorded for {id}");
}
