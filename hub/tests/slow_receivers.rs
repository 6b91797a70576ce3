//! Receivers that read slowly, stop reading or reset mid-write: only they pay (slow consumer,
//! write timeout, i/o), senders are told, and a slow but steady reader is served to the end.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/helpers.rs"]
mod helpers;
#[path = "support/ledger.rs"]
mod ledger;
#[path = "support/raw.rs"]
mod raw;
#[path = "support/scene.rs"]
mod scene;

use std::sync::Arc;
use std::time::Duration;

use baseline::Baseline;
use helpers::TestHub;
use hub::{CloseReason, Config};
use ledger::Ledger;
use raw::{Raw, Seen};
use scene::{close_reason, quick_config, recv_skipping, Pair};
use shared::conn::Connection;
use shared::{FrameCodec, HubMsg, UserId};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::{Decoder, FramedRead};

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
                HubMsg::Relayed { delivered: 1, .. } => delivered += 1,
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
    let (hub, base, ledger, mut pair) = scene::start(Config {
        queue_bytes: 256 * 1024,
        ..quick_config()
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
        close_reason(&hub, sleeper.user_id).await,
        CloseReason::SlowConsumer
    );
    // What it does get, once it wakes up, is an unbroken prefix of what it was sent.
    drain_until_closed(&ledger, &mut sleeper).await;
    assert!(ledger.received(sleeper.user_id) <= sent);
    pair.exchange(&ledger).await;
    drop(sleeper);
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn receiver_that_stops_reading_hits_the_write_deadline() {
    let (hub, base, ledger, mut pair) = scene::start(Config {
        queue_bytes: 64 * 1024 * 1024,
        write_timeout: Duration::from_millis(300),
        ..quick_config()
    })
    .await;
    // A normal receive buffer: a tiny one makes the kernel trickle the backlog out later.
    let mut sleeper = Raw::connect(hub.addr).await;
    // 16 MiB: more than the kernel buffers hold, less than the queue: only the write deadline
    // can end it (the flood may still be going when it does; the ledger accounts for that).
    let sent = flood(&ledger, &mut pair.a, sleeper.user_id, 1024 * 1024, 16).await;
    assert!(sent >= 1);
    assert_eq!(
        close_reason(&hub, sleeper.user_id).await,
        CloseReason::WriteTimeout
    );
    drain_until_closed(&ledger, &mut sleeper).await;
    pair.exchange(&ledger).await;
    drop(sleeper);
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test]
async fn receiver_reset_in_the_middle_of_large_writes_costs_only_itself() {
    let (hub, base, ledger, mut pair) = scene::start(quick_config()).await;
    let victim = small_buffered(&hub).await;
    let id = victim.user_id;
    let sent = flood(&ledger, &mut pair.a, id, 1024 * 1024, 8).await;
    assert_eq!(sent, 8);
    victim.reset();
    assert_eq!(close_reason(&hub, id).await, CloseReason::Io);
    pair.exchange(&ledger).await;
    scene::finish(hub, base, &ledger, pair).await;
}

/// Read `want` messages, at most 64 KiB every 10 ms, feeding the ledger.
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
        match tokio::time::timeout(raw::RAW_WAIT, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
            _ => break,
        }
        while let Ok(Some(payload)) = Decoder::decode(&mut codec, &mut buffer) {
            ledger.receive(id, &HubMsg::decode(&payload).expect("hub speaks"));
        }
        if ledger.received(id) == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ledger.received(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_but_steady_receiver_of_a_large_backlog_is_not_cut_off() {
    const RELAYS: usize = 16;
    let hub = TestHub::with_config(Config {
        queue_bytes: 64 * 1024 * 1024,
        // The kernel reports a full socket writable again only once half its send buffer
        // (up to 2 MiB here) has drained, so progress shows in steps.
        write_timeout: Duration::from_secs(2),
        ..quick_config()
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
    let reader = tokio::spawn(paced_read(rd, ledger.clone(), user_id, RELAYS));
    let sent = flood(&ledger, &mut pair.a, user_id, 1024 * 1024, RELAYS).await;
    assert_eq!(sent, RELAYS);
    let got = reader.await.expect("reader");
    let closes = hub.registry.recent_closes();
    assert_eq!(got, RELAYS, "cut off mid-backlog: {closes:?}");
    ledger.healthy(user_id);
    pair.exchange(&ledger).await;
    drop(wr);
    scene::finish(hub, base, &ledger, pair).await;
}
