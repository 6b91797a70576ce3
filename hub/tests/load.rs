//! Memory under a wide fan-out, measured by a counting allocator: a hundred senders against a
//! small global budget, and a storm of relays with slow consumers that leaves no heap behind.
//!
//! The counter is process-wide, so these tests run one at a time (see [`SERIAL`]).

use std::sync::Arc;
use std::time::Duration;

use cap::Cap;
use hub::Config;
use shared::conn::Connection;
use shared::{HubMsg, UserId};
use testkit::baseline::Baseline;
use testkit::ledger::Ledger;
use testkit::peaks::Peaks;
use testkit::test_config;
use testkit::TestHub;

#[global_allocator]
static HEAP: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// One memory test at a time: the allocator counts the whole process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// How long a fan-out's sender waits for its answer and a receiver for its next message: the
/// whole fan-out (1.6 GiB through a 4 MiB budget) on a debug build sharing its cores.
const FAN_OUT_WAIT: Duration = Duration::from_secs(300);

/// `senders` clients each relay one `body`-byte message to the same `receivers` clients at once.
async fn fan_out(senders: usize, receivers: usize, body: usize, global_bytes: usize) {
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(Config {
        global_bytes,
        // Far above what the budget lets any one receiver hold, far below what all the senders
        // together could pour into it: only an overshooting budget makes a receiver overflow.
        queue_bytes: MIB,
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let ledger = Arc::new(Ledger::new());
    let before = HEAP.allocated();
    let mut readers = Vec::with_capacity(receivers);
    let mut ids = Vec::with_capacity(receivers);
    for _ in 0..receivers {
        let conn = hub.connect().await;
        ids.push(conn.user_id());
        readers.push(tokio::spawn(receive_all(conn, ledger.clone(), senders)));
    }
    let mut conns = Vec::with_capacity(senders);
    for _ in 0..senders {
        conns.push(hub.connect().await);
    }
    let peaks = Peaks::start(&hub, || HEAP.allocated());
    let start = Arc::new(tokio::sync::Barrier::new(senders));
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            tokio::spawn(send_one(
                conn,
                ledger.clone(),
                ids.clone(),
                body,
                start.clone(),
            ))
        })
        .collect();
    for task in tasks {
        task.await.expect("sender");
    }
    for (reader, id) in readers.into_iter().zip(&ids) {
        if reader.await.expect("receiver") {
            ledger.healthy(*id);
        }
    }
    let (peak, peak_budget) = peaks.finish().await;
    let (delivered, unknown, dropped, refused) = ledger.totals();
    eprintln!(
        "fan-out {senders} x {} KiB -> {receivers}: delivered {delivered}, dropped {dropped}, \
         peak heap +{} MiB, peak budget {} MiB of {} MiB",
        body / KIB,
        peak.saturating_sub(before) / MIB,
        peak_budget / MIB,
        global_bytes / MIB
    );
    // Every receiver reads as fast as it can: the budget must pause the senders before any
    // receiver's queue overflows, so nobody is dropped.
    assert_eq!((unknown, dropped, refused), (0, 0, 0));
    assert_eq!(delivered + dropped, (senders * receivers) as u64);
    ledger.check();
    // The documented bound: the budget, plus one frame in flight per sender (read buffer up to
    // twice a frame while it grows, and the encoded copy), plus 256 KiB per connection.
    let bound = global_bytes + senders * 4 * body + (senders + receivers) * 256 * KIB;
    assert!(
        peak.saturating_sub(before) < bound,
        "peak heap {peak} over {bound}"
    );
    base.wait_restored(&hub).await;
    hub.stop().await;
}

async fn send_one(
    mut conn: Connection,
    ledger: Arc<Ledger>,
    to: Vec<UserId>,
    body: usize,
    start: Arc<tokio::sync::Barrier>,
) {
    let me = conn.user_id();
    let relay = ledger.relay(me, &to, body);
    start.wait().await;
    conn.send(&relay).await.expect("send");
    // The answer comes once the relay is routed, which waits for room in the budget: for the
    // last senders, as long as most of the fan-out takes, however slow the machine is.
    let answer = tokio::time::timeout(FAN_OUT_WAIT, async {
        loop {
            match conn.recv().await.expect("an answer") {
                HubMsg::Joined { .. } | HubMsg::Arrived { .. } | HubMsg::Left { .. } => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the relay was answered");
    assert!(ledger.answer(me, &answer), "{answer:?}");
}

/// Read until `expect` deliveries arrived (true) or the hub dropped this receiver (false).
async fn receive_all(mut conn: Connection, ledger: Arc<Ledger>, expect: usize) -> bool {
    let me = conn.user_id();
    let mut got = 0;
    while got < expect {
        match tokio::time::timeout(FAN_OUT_WAIT, conn.recv()).await {
            Ok(Ok(msg @ HubMsg::Message { .. })) => {
                ledger.receive(me, &msg);
                got += 1;
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return false,
            Err(_) => panic!("{me} waited too long with {got} of {expect}"),
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_senders_fanning_out_to_255_stay_within_the_budget() {
    fan_out(100, 255, 64 * KIB, 4 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_relays_leaves_no_heap_behind() {
    const CLIENTS: usize = 40;
    const SLOW: usize = 4;
    const RELAYS: usize = 4000;
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(Config {
        queue_bytes: 256 * KIB,
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    // Warm up once so that lazily grown structures (registry map, close record, runtime slabs)
    // are counted in the baseline, then measure a second, identical storm.
    storm(&hub, CLIENTS, SLOW, RELAYS).await;
    base.wait_restored(&hub).await;
    let before = HEAP.allocated();
    storm(&hub, CLIENTS, SLOW, RELAYS).await;
    base.wait_restored(&hub).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = HEAP.allocated();
    eprintln!(
        "heap after a storm: {} KiB more than after the first",
        (after.saturating_sub(before)) / KIB
    );
    assert!(
        after.saturating_sub(before) < 512 * KIB,
        "{} bytes left behind",
        after - before
    );
    hub.stop().await;
}

/// Relays from random readers to random clients, some of which never read.
async fn storm(hub: &TestHub, clients: usize, slow: usize, relays: usize) {
    let ledger = Arc::new(Ledger::new());
    let mut writers = Vec::new();
    let mut ids = Vec::new();
    let mut idle = Vec::new();
    let mut readers = Vec::new();
    for i in 0..clients {
        let conn = hub.connect().await;
        ids.push(conn.user_id());
        let (mut rd, wr) = conn.split();
        if i < slow {
            idle.push((rd, wr));
            continue;
        }
        let (ledger, id) = (ledger.clone(), conn_id(&ids));
        readers.push(tokio::spawn(async move {
            while let Ok(msg) = rd.recv().await {
                if !ledger.receive(id, &msg) {
                    ledger.answer(id, &msg);
                }
            }
        }));
        writers.push((id, wr));
    }
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..relays {
        let k = rng.usize(..writers.len());
        let to = vec![ids[rng.usize(..ids.len())]];
        let size = if rng.u8(..20) == 0 {
            60 * KIB
        } else {
            rng.usize(8..600)
        };
        let (id, wr) = &mut writers[k];
        let _ = wr.send(&ledger.relay(*id, &to, size)).await;
    }
    drop((writers, idle));
    for r in readers {
        let _ = r.await;
    }
}

fn conn_id(ids: &[UserId]) -> UserId {
    *ids.last().expect("just pushed")
}
