//! Receivers that read slowly, stop reading or reset mid-write: only they pay (slow consumer,
//! write timeout, i/o), senders are told, the others get everything, and a slow but steady
//! reader is served to the end. A full hub stops reading requests until its writers catch up.
//! The receiver that never reads beside a fast one runs on one hub and on a cluster of three
//! (`NAME::one_hub`, `NAME::three_hubs`); the others check one hub's baseline (every task and
//! byte given back), or its own global limit, and run on one.
//!
//! The slow-consumer policy under test is set in one place: [`SMALL_QUEUE`], [`LARGE_QUEUE`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hub::{CloseReason, Config};
use shared::conn::Connection;
use shared::{FrameCodec, HubMsg, UserId};
use testkit::baseline::Baseline;
use testkit::ledger::Ledger;
use testkit::raw::{Raw, Seen};
use testkit::scene::Pair;
use testkit::*;
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::{Decoder, FramedRead};

/// A receiver's queue limit, soft and hard, that a receiver which never reads soon overflows (64
/// KiB bodies).
const SMALL_QUEUE: usize = 256 * 1024;
/// A queue limit no test here reaches: only a write timeout (or nothing) can end the receiver.
const LARGE_QUEUE: usize = 64 * 1024 * 1024;

/// Relay ledger bodies of `size` from `sender` to `receiver`, in pipelined batches of 8, until
/// the hub reports the receiver dropped or `max` relays were made; returns how many were
/// delivered.
async fn flood(
    ledger: &Ledger,
    sender: &mut Connection,
    receiver: shared::UserId,
    size: usize,
    max: usize,
) -> usize {
    const BATCH: usize = 8;
    let me = sender.user_id();
    let mut delivered = 0;
    for _ in 0..max.div_ceil(BATCH) {
        for _ in 0..BATCH {
            let relay = ledger.relay(me, &[receiver], size);
            sender.send(&relay).await.expect("send");
        }
        let mut dropped = false;
        for _ in 0..BATCH {
            let answer = recv_skipping(sender).await;
            assert!(ledger.answer(me, &answer), "{answer:?}");
            match answer {
                HubMsg::Posted { delivered: 1, .. } => delivered += 1,
                _ => dropped = true,
            }
        }
        if dropped {
            break;
        }
    }
    delivered
}

/// A raw client with a tiny receive buffer, so that the hub's writes to it block early.
async fn small_buffered(hub: &TestHub) -> Raw {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(hub.addr).await.expect("connect");
    Raw::from_stream(stream).await
}

/// Read whatever arrives until the hub closes, feeding the ledger.
async fn drain_until_closed(ledger: &Ledger, raw: &mut Raw) {
    loop {
        match raw.next().await {
            Seen::Msg(msg) => {
                ledger.receive(raw.user_id, &msg);
            }
            Seen::Closed => return,
        }
    }
}

#[tokio::test]
async fn receiver_that_never_reads_is_dropped_and_the_sender_told() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(Config {
        queue_bytes: SMALL_QUEUE,
        queue_max_bytes: SMALL_QUEUE,
        ..test_config()
    })
    .await;
    let mut sleeper = Raw::connect(hub.addr).await;
    // Kernel buffers take a few MiB before the queue starts to fill; 1,000 x 64 KiB is plenty.
    let sent = flood(&ledger, &mut pair.a, sleeper.user_id, 64 * 1024, 1000).await;
    assert!(
        sent < 1000,
        "the hub never gave up on a receiver that never reads"
    );
    assert_eq!(
        hub.close_reason(sleeper.user_id).await,
        CloseReason::SlowConsumer
    );
    // What it does get, once it wakes up, is an unbroken prefix of what it was sent.
    drain_until_closed(&ledger, &mut sleeper).await;
    assert!(ledger.received(sleeper.user_id) <= sent);
    pair.exchange(&ledger).await;
    drop(sleeper);
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn receiver_that_stops_reading_hits_the_write_deadline() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(Config {
        queue_bytes: LARGE_QUEUE,
        queue_max_bytes: LARGE_QUEUE,
        write_timeout: Duration::from_millis(300),
        ..test_config()
    })
    .await;
    // A normal receive buffer: a tiny one makes the kernel trickle the backlog out later.
    let mut sleeper = Raw::connect(hub.addr).await;
    // 16 MiB: more than the kernel buffers hold, less than the queue: only the write deadline
    // can end it (the flood may still be going when it does; the ledger accounts for that).
    let sent = flood(&ledger, &mut pair.a, sleeper.user_id, 1024 * 1024, 16).await;
    assert!(sent >= 1);
    assert_eq!(
        hub.close_reason(sleeper.user_id).await,
        CloseReason::WriteTimeout
    );
    drain_until_closed(&ledger, &mut sleeper).await;
    pair.exchange(&ledger).await;
    drop(sleeper);
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn receiver_reset_in_the_middle_of_large_writes_costs_only_itself() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(test_config()).await;
    let victim = small_buffered(&hub).await;
    let id = victim.user_id;
    let sent = flood(&ledger, &mut pair.a, id, 1024 * 1024, 8).await;
    assert_eq!(sent, 8);
    victim.reset();
    assert_eq!(hub.close_reason(id).await, CloseReason::Io);
    pair.exchange(&ledger).await;
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

/// How long [`paced_read`] pauses after each read of at most 64 KiB.
const PACE: Duration = Duration::from_millis(25);

/// Read `want` messages, at most 64 KiB every [`PACE`], feeding the ledger.
async fn paced_read(
    mut rd: FramedRead<OwnedReadHalf, FrameCodec>,
    ledger: Arc<Ledger>,
    id: UserId,
    want: usize,
) -> usize {
    use tokio::io::AsyncReadExt;
    let mut buffer = bytes::BytesMut::new();
    let mut codec = FrameCodec::new();
    let stream = rd.get_mut();
    for _ in 0..100_000 {
        let mut chunk = vec![0u8; 64 * 1024];
        match tokio::time::timeout(testkit::WAIT, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
            _ => break,
        }
        while let Ok(Some(payload)) = Decoder::decode(&mut codec, &mut buffer) {
            ledger.receive(id, &HubMsg::decode(&payload).expect("hub speaks"));
        }
        if ledger.received(id) == want {
            break;
        }
        tokio::time::sleep(PACE).await;
    }
    ledger.received(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_but_steady_receiver_of_a_large_backlog_is_not_cut_off() {
    const RELAYS: usize = 16;
    // The kernel reports a full socket writable again only once half its send buffer (up to
    // 2 MiB here) has drained, so progress shows in steps: 16 paced reads, 0.4 s, far within
    // the timeout even on a loaded machine. The whole backlog takes at least 256 paced reads,
    // 6.4 s, longer than the timeout however fast the machine is.
    let write_timeout = Duration::from_secs(4);
    let hub = TestHub::with_config(Config {
        queue_bytes: LARGE_QUEUE,
        queue_max_bytes: LARGE_QUEUE,
        write_timeout,
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let ledger = Arc::new(Ledger::new());
    let mut pair = Pair::connect(&hub).await;
    let Raw {
        user_id, rd, wr, ..
    } = Raw::connect(hub.addr).await;
    // It reads steadily but slowly while 16 MiB arrive for it at once: the backlog grows, and
    // so do the writer's batches. Each write makes progress well within the write timeout,
    // though a whole batch takes longer than that.
    let started = tokio::time::Instant::now();
    let reader = tokio::spawn(paced_read(rd, ledger.clone(), user_id, RELAYS));
    let sent = flood(&ledger, &mut pair.a, user_id, 1024 * 1024, RELAYS).await;
    assert_eq!(sent, RELAYS);
    let got = reader.await.expect("reader");
    assert!(
        started.elapsed() > write_timeout,
        "the backlog took longer than the timeout"
    );
    let closes = hub.inspector.recent_closes();
    assert_eq!(got, RELAYS, "cut off mid-backlog: {closes:?}");
    ledger.healthy(user_id);
    pair.exchange(&ledger).await;
    drop(wr);
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

fn small_queues() -> testkit::hubs::Setup {
    testkit::hubs::Setup {
        config: Config {
            queue_bytes: SMALL_QUEUE,
            queue_max_bytes: SMALL_QUEUE,
            ..test_config()
        },
        ..Default::default()
    }
}

on_one_hub_and_a_cluster! {

/// On a cluster the sender is on hub 1, the fast receiver on hub 2, the one that never reads
/// on hub 3: hub 3's slow consumer, dropped there, reported to the sender on hub 1.
async fn a_receiver_that_never_reads_is_dropped_and_reported_while_others_get_everything(
    hubs: Hubs = small_queues()
) {
    let mut sender = hubs.connect().await;
    let mut fast = hubs.connect().await;
    // A raw client that reads its welcome and never another byte.
    let slow_hub = hubs.next_hub();
    let slow = Raw::connect(slow_hub.addr).await;
    let (me, fast_id, slow_id) = (sender.user_id(), fast.user_id(), slow.user_id);
    hubs.settled(slow_id).await;

    const N: usize = 400;
    let body = Bytes::from(vec![0x5A; 64 * 1024]);
    let reader = tokio::spawn(async move {
        for i in 0..N {
            let (from, got) = delivery(&mut fast).await;
            assert_eq!(from, me);
            assert_eq!(got.len(), 64 * 1024, "message {i}");
        }
        fast
    });
    let (mut dropped_once, mut max_queued) = (false, 0);
    for _ in 0..N {
        match relay(&mut sender, &[fast_id, slow_id], body.clone()).await {
            HubMsg::Posted {
                delivered,
                unknown,
                dropped,
                ..
            } => {
                assert!(delivered >= 1, "the fast receiver always gets it");
                if dropped == vec![slow_id] {
                    dropped_once = true;
                } else if dropped_once {
                    // Once dropped, it is gone: either still closing or unknown.
                    assert!(unknown == vec![slow_id] || delivered == 1, "{unknown:?}");
                }
            }
            other => panic!("expected relayed, got {other:?}"),
        }
        let queued = hubs.hubs.iter().map(|h| h.inspector.queued_bytes()).max();
        max_queued = max_queued.max(queued.unwrap_or(0));
    }
    tokio::time::timeout(WAIT, reader)
        .await
        .expect("fast reader done")
        .expect("task");
    assert!(dropped_once, "the slow receiver was reported as dropped");
    assert!(
        max_queued <= 3 * SMALL_QUEUE,
        "a hub held {max_queued} bytes, queues are {SMALL_QUEUE}"
    );
    hubs.gone(slow_id).await;
    // Its writer still waits to finish the frame it had begun; closing the socket ends it.
    drop(slow);
    eventually("the slow receiver's close is recorded", || {
        slow_hub
            .inspector
            .recent_closes()
            .contains(&(Some(slow_id), CloseReason::SlowConsumer))
    })
    .await;
    hubs.stop().await;
}

}

#[tokio::test]
async fn a_full_hub_stops_reading_requests_until_writers_catch_up() {
    const GLOBAL: usize = 1024 * 1024;
    let hub = TestHub::with_config(Config {
        global_bytes: GLOBAL,
        queue_bytes: LARGE_QUEUE,
        queue_max_bytes: LARGE_QUEUE,
        ..test_config()
    })
    .await;
    let sender = hub.connect().await;
    let mut receiver = hub.connect().await;
    // 32 MiB: far more than the budget and than loopback socket buffers can hide.
    const N: usize = 64;
    const BODY: usize = 512 * 1024;
    let (mut rd, mut wr) = sender.split();
    let sending = tokio::spawn(async move {
        for i in 0..N {
            wr.send(&relay_msg(i as u32, &[UserId(2)], vec![i as u8; BODY]))
                .await
                .expect("send");
        }
        wr
    });
    // While the receiver does not read, the hub's queued bytes stay near the budget.
    let mut max_used = 0;
    for _ in 0..50 {
        max_used = max_used.max(hub.inspector.queued_bytes());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(max_used > 0, "the receiver's queue filled");
    assert!(
        max_used <= GLOBAL + 2 * (BODY + 4096),
        "queued {max_used} bytes with a budget of {GLOBAL}"
    );
    // Once it reads, everything arrives, in order, and every relay was delivered.
    for i in 0..N {
        let (_, body) = delivery(&mut receiver).await;
        assert_eq!((body.len(), body[0]), (BODY, i as u8));
    }
    for i in 0..N {
        match tokio::time::timeout(WAIT, rd.recv())
            .await
            .expect("in time")
            .expect("answer")
        {
            HubMsg::Posted {
                req, delivered: 1, ..
            } => assert_eq!(req.0, i as u32),
            other => panic!("expected relayed, got {other:?}"),
        }
    }
    sending.await.expect("sender done");
    hub.stop().await;
}
