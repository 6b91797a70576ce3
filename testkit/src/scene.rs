//! How a hostile-input test starts and ends, and the pair of well-behaved bystanders that prove
//! the hub still serves others meanwhile.

use hub::Config;
use shared::conn::Connection;
use shared::UserId;

use crate::baseline::Baseline;
use crate::client::recv_skipping;
use crate::ledger::Ledger;
use crate::testhub::TestHub;

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
    /// The first bystander.
    pub a: Connection,
    /// The second bystander.
    pub b: Connection,
}

impl Pair {
    /// Connect both.
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
