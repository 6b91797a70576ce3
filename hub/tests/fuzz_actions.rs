//! Fuzzing the hub with proptest: random sequences of client actions (relays to random and
//! unknown receivers, invalid frames, hang-ups) against a real in-process hub. After each
//! sequence the hub still serves a newcomer, the ledger holds, and everything is given back.
//!
//! `PROPTEST_CASES` sets the number of cases; `scripts/fuzz.sh` runs this for a bounded time.

use std::time::Duration;

use bytes::Bytes;
use hub::Config;
use proptest::prelude::*;
use shared::conn::{ConnReader, ConnWriter};
use shared::{ClientMsg, HubMsg, RequestId, UserId, MAX_FRAME_LEN};
use testkit::baseline::Baseline;
use testkit::ledger::Ledger;
use testkit::TestHub;

/// Clients in every case.
const CLIENTS: usize = 4;

#[derive(Clone, Debug)]
enum Action {
    /// Client `from` relays `size` bytes to these clients (by index) and unknown ids.
    Relay {
        from: usize,
        to: Vec<usize>,
        unknown: Vec<u64>,
        size: usize,
    },
    /// Client `from` sends a frame the hub must reject, which ends that client.
    Invalid { from: usize, frame: Vec<u8> },
    /// Client `who` hangs up.
    Hangup { who: usize },
    /// Client `who` pings.
    Ping { who: usize },
}

fn invalid_frame() -> impl Strategy<Value = Vec<u8>> {
    let framed = |payload: Vec<u8>| {
        let mut out = (payload.len() as u32).to_be_bytes().to_vec();
        out.extend(payload);
        out
    };
    prop_oneof![
        // An unknown tag, whatever follows.
        (8u8..=255, prop::collection::vec(any::<u8>(), 0..32)).prop_map(move |(tag, rest)| {
            let mut p = vec![tag];
            p.extend(rest);
            framed(p)
        }),
        // A ping with trailing bytes.
        prop::collection::vec(any::<u8>(), 1..8).prop_map(move |rest| {
            let mut p = vec![5, 1];
            p.extend(rest);
            framed(p)
        }),
        Just(vec![0, 0, 0, 0]),
        Just(u32::MAX.to_be_bytes().to_vec()),
        Just((MAX_FRAME_LEN as u32 + 1).to_be_bytes().to_vec()),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..CLIENTS;
    prop_oneof![
        8 => (
            who.clone(),
            prop::sample::subsequence((0..CLIENTS).collect::<Vec<_>>(), 0..=CLIENTS),
            prop::collection::vec(1000u64..1010, 0..3),
            prop_oneof![8usize..64, 64usize..4096, 60_000usize..70_000],
        )
            .prop_map(|(from, to, unknown, size)| Action::Relay { from, to, unknown, size }),
        1 => (who.clone(), invalid_frame()).prop_map(|(from, frame)| Action::Invalid { from, frame }),
        1 => who.clone().prop_map(|who| Action::Hangup { who }),
        1 => who.prop_map(|who| Action::Ping { who }),
    ]
}

/// A client split in halves, so that it can also write raw frames.
struct Client {
    id: UserId,
    rd: ConnReader,
    wr: ConnWriter,
}

/// Read until a non-delivery arrives (returned; `None` if the hub closed), feeding deliveries
/// to the ledger.
async fn answer(client: &mut Client, ledger: &Ledger) -> Option<HubMsg> {
    loop {
        let msg = tokio::time::timeout(testkit::WAIT, client.rd.recv())
            .await
            .expect("the hub answers in time")
            .ok()?;
        if !ledger.receive(client.id, &msg)
            && !matches!(
                msg,
                HubMsg::Joined { .. } | HubMsg::Arrived { .. } | HubMsg::Left { .. }
            )
        {
            return Some(msg);
        }
    }
}

async fn play(actions: Vec<Action>) {
    let hub = TestHub::with_config(Config {
        queue_bytes: 256 * 1024,
        ..testkit::test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let ledger = Ledger::new();
    let mut clients: Vec<Option<Client>> = Vec::new();
    for _ in 0..CLIENTS {
        let conn = hub.connect().await;
        let id = conn.user_id();
        let (rd, wr) = conn.split();
        clients.push(Some(Client { id, rd, wr }));
    }
    let ids: Vec<UserId> = clients.iter().flatten().map(|c| c.id).collect();
    for action in actions {
        step(&mut clients, &ids, &ledger, action).await;
    }
    // A newcomer is served.
    let mut newcomer = hub.connect().await;
    let pong = testkit::request(
        &mut newcomer,
        ClientMsg::<Bytes>::Ping { req: RequestId(1) },
    )
    .await;
    assert_eq!(pong, HubMsg::Pong { req: RequestId(1) });
    // Survivors read everything meant for them, unless the hub dropped them as slow.
    for client in clients.iter_mut().flatten() {
        let me = client.id;
        let mut alive = true;
        while alive && ledger.received(me) < ledger.expected(me) {
            match tokio::time::timeout(testkit::WAIT, client.rd.recv()).await {
                Ok(Ok(msg)) => {
                    ledger.receive(me, &msg);
                }
                Ok(Err(_)) => alive = false,
                Err(_) => panic!("{me} is missing deliveries"),
            }
        }
        let dropped = hub
            .inspector
            .recent_closes()
            .contains(&(Some(me), hub::CloseReason::SlowConsumer));
        if alive && !dropped {
            ledger.healthy(me);
        }
    }
    ledger.check();
    drop((clients, newcomer));
    base.wait_restored(&hub).await;
    hub.stop().await;
}

async fn step(clients: &mut [Option<Client>], ids: &[UserId], ledger: &Ledger, action: Action) {
    match action {
        Action::Relay {
            from,
            to,
            unknown,
            size,
        } => {
            let Some(conn) = clients[from].as_mut() else {
                return;
            };
            let mut receivers: Vec<UserId> = to.iter().map(|&i| ids[i]).collect();
            receivers.extend(unknown.into_iter().map(UserId));
            let relay = ledger.relay(ids[from], &receivers, size);
            if conn.wr.send(&relay).await.is_err() {
                return gone(clients, from, ids, ledger);
            }
            let answered = answer(conn, ledger).await;
            if !answered.is_some_and(|msg| ledger.answer(ids[from], &msg)) {
                // The hub closed this client (slow consumer) before it could answer.
                gone(clients, from, ids, ledger);
            }
        }
        Action::Invalid { from, frame } => {
            let Some(conn) = clients[from].as_mut() else {
                return;
            };
            let _ = conn.wr.send_frame(Bytes::from(frame)).await;
            gone(clients, from, ids, ledger);
        }
        Action::Hangup { who } => gone(clients, who, ids, ledger),
        Action::Ping { who } => {
            let Some(conn) = clients[who].as_mut() else {
                return;
            };
            let ping = ClientMsg::<Bytes>::Ping {
                req: RequestId(u32::MAX),
            };
            if conn.wr.send(&ping).await.is_err() {
                return gone(clients, who, ids, ledger);
            }
            match answer(conn, ledger).await {
                Some(HubMsg::Pong { .. }) => {}
                _ => gone(clients, who, ids, ledger),
            }
        }
    }
}

fn gone(clients: &mut [Option<Client>], who: usize, ids: &[UserId], ledger: &Ledger) {
    clients[who] = None;
    ledger.gone(ids[who]);
}

proptest! {
    // 32 cases unless PROPTEST_CASES says otherwise: each case runs a whole hub.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_sequence_of_actions_keeps_the_hub_serving_and_the_ledger_whole(
        actions in prop::collection::vec(action(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), play(actions))
                .await
                .expect("a case finishes in time")
        });
    }
}
