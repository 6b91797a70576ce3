//! Memory under hostile load, measured by a counting allocator: stalled maximal headers, idle
//! connections after large frames, quiet connections after a backlog, and read buffers widened
//! for a stream.
//!
//! The counter is process-wide, so these tests run one at a time (see [`SERIAL`]).

use std::time::Duration;

use cap::Cap;
use hub::{CloseReason, Config};
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId, MAX_FRAME_LEN};
use testkit::baseline::Baseline;
use testkit::ledger::Ledger;
use testkit::peaks::Peaks;
use testkit::raw::{Raw, Seen};
use testkit::test_config;
use testkit::TestHub;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[global_allocator]
static HEAP: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// One memory test at a time: the allocator counts the whole process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_stalled_maximal_headers_pin_little_and_all_close_at_the_deadline() {
    // Both ends live in this process: 2 descriptors per connection. A machine with a low
    // soft limit runs fewer (the per-connection bound is what is asserted).
    let n = 1000.min(soft_fd_limit().saturating_sub(256) / 2);
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(Config {
        frame_deadline: Duration::from_secs(1),
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let before = HEAP.allocated();
    let peaks = Peaks::start(&hub, || HEAP.allocated());
    let header = (MAX_FRAME_LEN as u32).to_be_bytes();
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(hub.addr).await.expect("connect");
        stream.write_all(&header).await.expect("header");
        streams.push(stream);
    }
    let all_cut = || hub.closes(CloseReason::FrameDeadline) == n;
    testkit::eventually("every stalled header cut off at the deadline", all_cut).await;
    let (peak, _) = peaks.finish().await;
    let per_conn = peak.saturating_sub(before) / n;
    eprintln!(
        "{n} stalled maximal headers: peak heap +{} KiB per connection",
        per_conn / KIB
    );
    // Reserving the announced length would cost 1 MiB each; the codec reserves 64 KiB at most.
    assert!(
        per_conn < 128 * KIB,
        "{per_conn} bytes per stalled connection"
    );
    drop(streams);
    base.wait_restored(&hub).await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_idle_after_a_large_frame_keep_no_large_buffer() {
    const N: usize = 16;
    const BODY: usize = 512 * KIB;
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(test_config()).await;
    let base = Baseline::capture(&hub);
    let ledger = Ledger::new();
    let mut sink = hub.connect().await;
    let sink_id = sink.user_id();
    let mut senders = Vec::with_capacity(N);
    for _ in 0..N {
        senders.push(Raw::connect(hub.addr).await);
    }
    let before = HEAP.allocated();
    for sender in &mut senders {
        let frame = ledger.relay(sender.user_id, &[sink_id], BODY).to_frame();
        sender.write(&frame.expect("encodes")).await.expect("send");
        match sender.next().await {
            Seen::Msg(answer) => assert!(ledger.answer(sender.user_id, &answer)),
            Seen::Closed => panic!("sender closed"),
        }
        let msg = testkit::recv_skipping(&mut sink).await;
        assert!(ledger.receive(sink_id, &msg));
    }
    // Every sender is idle now, between frames; its reader lets the grown buffer go right
    // after handling the frame, which may be just after the answer went out.
    let per_connection = || HEAP.allocated().saturating_sub(before) / N;
    testkit::eventually("idle connections to give back their large buffers", || {
        per_connection() < 128 * KIB
    })
    .await;
    let idle = per_connection();
    eprintln!(
        "after one 512 KiB frame each, idle connections hold +{} KiB each",
        idle / KIB
    );
    // Keeping the grown buffer would cost at least the frame's size per connection.
    assert!(idle < 128 * KIB, "an idle connection holds {idle} bytes");
    ledger.healthy(sink_id);
    ledger.check();
    drop((senders, sink));
    base.wait_restored(&hub).await;
    hub.stop().await;
}

/// Connections that stay open after a backlog must give its memory back once they are quiet: a
/// queue's deque and a writer's batch keep the capacity of their deepest backlog, and a hub
/// that lived through a burst would hold kilobytes per client for good (the soak's settled RSS
/// was twice its start before they were let go). No ledger here: its records would be counted
/// as heap; counters and one body checked on arrival do.
///
/// The hub lets that memory go on a quiet connection's timer, the one that sends keepalives: a
/// receiver that has read everything waits for two of them (the second comes after an answer
/// to the first, so the hub's timer ran with the queue empty), not for the wall clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_connections_give_back_the_memory_of_a_backlog() {
    const RECEIVERS: usize = 8;
    /// Frames each receiver's queue must hold at the peak: a deque of 256 slots or more. (Kept
    /// well under 1,024 frames: deques of more than 1,024 slots were always let go.)
    const BACKLOG: usize = 150;
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(Config {
        ping_interval: Duration::from_secs(1),
        queue_bytes: 64 * MIB,
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let (mut receivers, mut ids) = (Vec::new(), Vec::new());
    for _ in 0..RECEIVERS {
        // Small kernel buffers, so that the backlog soon lands in the hub's queue.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .set_recv_buffer_size(4 * KIB as u32)
            .expect("SO_RCVBUF");
        let raw = Raw::from_stream(socket.connect(hub.addr).await.expect("connect")).await;
        ids.push(raw.user_id);
        receivers.push(raw);
    }
    // Bodies of 4 KiB, so that the kernel's buffers take only a few hundred before the queues.
    let body = bytes::Bytes::from(b"a backlog let go once read. ".repeat(4 * KIB / 28));
    let relay = ClientMsg::Relay {
        req: RequestId(1),
        to: ids.clone(),
        kind: BodyKind::Bytes,
        body: body.clone(),
    };
    let ack = ClientMsg::<bytes::Bytes>::KeepAliveAck
        .to_frame()
        .expect("encodes");
    let mut sender = hub.connect().await;
    let me = sender.user_id();
    let before = HEAP.allocated();

    // Nobody reads: the kernel's socket buffers fill, then the hub's queues. One relay at a
    // time, each answered (so routed) before the budget is read: the backlog stops at BACKLOG.
    // A delivered frame is the relay's frame give or take a few header bytes. The receivers
    // show they are alive after each relay (their keepalives wait behind the backlog), so
    // however long the fill takes it is not an idle client's.
    let cost = hub::SLOT_COST + relay.to_frame().expect("encodes").len() + 16;
    let mut sent = 0;
    while hub.inspector.queued_bytes() < RECEIVERS * BACKLOG * cost {
        assert!(sent < 1_000_000, "the queues never filled");
        sender.send(&relay).await.expect("send");
        sent += 1;
        match testkit::recv_skipping(&mut sender).await {
            HubMsg::Posted { delivered, .. } => assert_eq!(delivered as usize, RECEIVERS),
            other => panic!("unexpected {other:?}"),
        }
        for raw in &mut receivers {
            raw.write(&ack).await.expect("alive");
        }
    }
    // The sender stays connected and answers keepalives.
    let sender = tokio::spawn(async move {
        let msg = testkit::recv_skipping(&mut sender).await;
        panic!("unexpected {msg:?}");
    });
    // Now read everything, answering keepalives, and stay connected until the hub's timer has
    // run on an empty queue, as any live client does.
    let readers: Vec<_> = receivers
        .into_iter()
        .map(|raw| tokio::spawn(read_then_idle(raw, sent, me, body.clone())))
        .collect();
    let mut conns = Vec::new();
    for reader in readers {
        conns.push(reader.await.expect("receiver"));
    }
    let held = HEAP.allocated().saturating_sub(before) / (RECEIVERS + 1);
    eprintln!("{sent} relays to {RECEIVERS} receivers; once quiet +{held} bytes per connection");
    // A backlog of BACKLOG frames grew a deque of at least 256 slots of 32 bytes (8 KiB) per
    // receiver; the writer's batch as much again.
    assert!(held < 2 * KIB, "{held} bytes per connection still held");
    sender.abort();
    drop(conns);
    base.wait_restored(&hub).await;
    hub.stop().await;
}

/// Read `sent` copies of `body` from `from`, then answer keepalives until two have come after
/// the last message (the second is sent after the answer to the first, so the hub's timer has
/// run on an empty queue).
async fn read_then_idle(mut raw: Raw, sent: usize, from: UserId, body: bytes::Bytes) -> Raw {
    let ack = ClientMsg::<bytes::Bytes>::KeepAliveAck
        .to_frame()
        .expect("encodes");
    let (mut got, mut quiet_keepalives) = (0, 0);
    while quiet_keepalives < 2 {
        match raw.next().await {
            Seen::Msg(HubMsg::KeepAlive) => {
                raw.write(&ack).await.expect("ack");
                quiet_keepalives += usize::from(got == sent);
            }
            Seen::Msg(HubMsg::Message {
                from: f, body: b, ..
            }) if got < sent => {
                assert_eq!((f, &b), (from, &body));
                got += 1;
                // A keepalive waits behind the backlog, longer than a ping interval when the
                // machine is busy: showing life as it reads keeps the idle rule out of this.
                raw.write(&ack).await.expect("alive");
            }
            other => panic!("unexpected {other:?} with {got} of {sent} read"),
        }
    }
    raw
}

/// A client that pipelines gets a wide read buffer; once it stops sending, the buffer goes
/// within about a second (before, it stayed until the frame deadline or a ping interval, and a
/// busy hub, which reads every client a few frames at a time, held 16-32 KiB per client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_buffer_widened_for_a_stream_is_let_go_soon_after_it() {
    const CLIENTS: usize = 16;
    const PINGS: u32 = 64;
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(Config {
        // Far off: only the release of a widened buffer can free it in this test.
        frame_deadline: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let base = Baseline::capture(&hub);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(hub.connect().await.split());
    }
    hub.wait_for_users(CLIENTS).await;
    let before = HEAP.allocated();
    for (_, wr) in &mut clients {
        // All in one write: the hub finds many frames at once and widens the read buffer.
        for req in 0..PINGS {
            let ping = ClientMsg::<bytes::Bytes>::Ping {
                req: RequestId(req),
            };
            wr.feed(&ping).await.expect("feed");
        }
        wr.flush().await.expect("flush");
    }
    for (rd, _) in &mut clients {
        let mut next = 0;
        while next < PINGS {
            match rd.recv().await.expect("answer") {
                HubMsg::Pong { req } => {
                    assert_eq!(req, RequestId(next));
                    next += 1;
                }
                HubMsg::Joined { .. } | HubMsg::Arrived { .. } | HubMsg::Left { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let busy = HEAP.allocated().saturating_sub(before) / CLIENTS;
    assert!(
        busy > 8 * KIB,
        "the stream widened no buffer: +{busy} bytes"
    );
    // Every other timer (frame deadline, keepalive) is a minute or more away: only the
    // release of a widened buffer can free it while this waits.
    let quiet = || HEAP.allocated().saturating_sub(before) / CLIENTS < 2 * KIB;
    testkit::eventually("the widened buffers let go", quiet).await;
    eprintln!("per connection: +{busy} bytes after the stream, then under 2 KiB");
    drop(clients);
    base.wait_restored(&hub).await;
    hub.stop().await;
}

/// What an idle connection costs the hub's heap, from its accept to its first quiet moment:
/// both tasks (reader and writer, their futures), the socket's registration with the runtime,
/// the queue, the kill switch and the registry's entry. Measured with plain blocking sockets
/// on the client side, which allocate nothing, so the counter sees the hub alone. (W5 in
/// `bench/README.md` measures the release hub's RSS, allocator rounding included.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_costs_the_hub_little_heap() {
    /// The bound: requested bytes, before the allocator rounds them up to its size classes.
    const IDLE_BOUND: usize = 2 * KIB + KIB / 2;
    let n = 1000.min(soft_fd_limit().saturating_sub(256) / 2);
    let _serial = SERIAL.lock().await;
    let hub = TestHub::with_config(test_config()).await;
    let base = Baseline::capture(&hub);
    let addr = hub.addr;
    let before = HEAP.allocated();
    let clients = tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| {
                let mut stream = std::net::TcpStream::connect(addr).expect("connect");
                // The welcome: once it is here the hub has registered the connection and
                // started both its tasks.
                let mut welcome = [0u8; 4];
                std::io::Read::read_exact(&mut stream, &mut welcome).expect("welcome");
                stream
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("clients");
    hub.wait_for_users(n).await;
    let per_conn = HEAP.allocated().saturating_sub(before) / n;
    eprintln!("{n} idle connections: +{per_conn} bytes of heap each");
    assert!(
        per_conn <= IDLE_BOUND,
        "an idle connection holds {per_conn} bytes"
    );
    drop(clients);
    base.wait_restored(&hub).await;
    hub.stop().await;
}

/// The soft limit on open descriptors, from /proc/self/limits.
fn soft_fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .expect("a numeric soft limit")
}
