//! How a connection the hub closes ends: whole frames, then the goodbye that says why, then
//! the end of the stream; and the pressure that must not close one (its own answers, a burst).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hub::{CloseReason, Config, Hub, Inspector};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, ErrorKind, FrameCodec, HubMsg, RequestId, UserId};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// Longer than anything here should take, on any machine.
const PATIENCE: Duration = Duration::from_secs(60);

struct Served {
    addr: SocketAddr,
    inspector: Inspector,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(config: Config) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hub = Hub::new(Config {
        stats_interval: Duration::ZERO,
        ..config
    });
    let inspector = hub.inspector();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(hub.run(listener, shutdown.clone()));
    Served {
        addr,
        inspector,
        shutdown,
        task,
    }
}

/// Wait until `condition` holds, checking often; fail naming `what` after [`PATIENCE`].
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A client with a tiny receive buffer, so that the hub's writes to it stall early.
async fn small_buffered(addr: SocketAddr) -> (TcpStream, UserId) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    let mut frames = FramedRead::new(&mut stream, FrameCodec::new());
    let Some(Ok(payload)) = frames.next().await else {
        panic!("no welcome")
    };
    let Ok(HubMsg::Welcome { user_id, .. }) = HubMsg::decode(&payload) else {
        panic!("not a welcome")
    };
    assert!(
        frames.read_buffer().is_empty(),
        "nothing but the welcome yet"
    );
    (stream, user_id)
}

/// Everything a stream carries until it ends, and whether it ended on a frame boundary.
struct Ending {
    frames: Vec<HubMsg>,
    on_boundary: bool,
}

impl Ending {
    /// The last frame, which should be the goodbye.
    fn last(&self) -> &HubMsg {
        self.frames.last().expect("at least one frame")
    }
}

/// Read `stream` to its end, pausing `pace` between frames.
async fn read_to_end(stream: TcpStream, pace: Duration) -> Ending {
    let mut frames = FramedRead::new(stream, FrameCodec::new());
    let mut seen = Vec::new();
    let read = async {
        loop {
            match frames.next().await {
                Some(Ok(payload)) => {
                    seen.push(HubMsg::decode(&payload).expect("a whole frame decodes"));
                    if !pace.is_zero() {
                        tokio::time::sleep(pace).await;
                    }
                }
                None => return true,
                Some(Err(e)) => {
                    eprintln!("stream ended inside a frame: {e}");
                    return false;
                }
            }
        }
    };
    let on_boundary = tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the hub ends the stream");
    Ending {
        frames: seen,
        on_boundary,
    }
}

fn is_goodbye(msg: &HubMsg, want: ErrorKind) -> bool {
    matches!(msg, HubMsg::Error { req: None, kind, .. } if *kind == want)
}

fn relay(req: u32, to: &[UserId], size: usize) -> ClientMsg {
    ClientMsg::Relay {
        req: RequestId(req),
        to: to.to_vec(),
        kind: BodyKind::Bytes,
        body: Bytes::from(vec![7u8; size]),
    }
}

/// The answer to the next request, skipping pushes.
async fn answer(conn: &mut Connection) -> HubMsg {
    loop {
        let msg = tokio::time::timeout(PATIENCE, conn.recv())
            .await
            .expect("an answer in time")
            .expect("an answer");
        match msg {
            HubMsg::Joined { .. } | HubMsg::Left { .. } | HubMsg::Message { .. } => continue,
            HubMsg::KeepAlive => conn.send(&ClientMsg::KeepAliveAck).await.expect("ack"),
            other => return other,
        }
    }
}

/// A queue of at most `bytes`, soft and hard alike; writes may stall for a minute.
fn tight(bytes: usize) -> Config {
    Config {
        queue_bytes: bytes,
        queue_max_bytes: bytes,
        write_timeout: PATIENCE,
        ..Config::default()
    }
}

/// Relay 64 KiB bodies to `victim` (and `others`) until the hub reports it dropped.
async fn relay_until_dropped(sender: &mut Connection, victim: UserId, others: &[UserId]) -> u32 {
    let to: Vec<UserId> = std::iter::once(victim)
        .chain(others.iter().copied())
        .collect();
    for req in 1.. {
        sender
            .send(&relay(req, &to, 64 * 1024))
            .await
            .expect("send");
        match answer(sender).await {
            HubMsg::Relayed { dropped, .. } if dropped == [victim] => return req,
            HubMsg::Relayed { dropped, .. } => assert!(dropped.is_empty(), "{dropped:?}"),
            other => panic!("expected an answer to the relay, got {other:?}"),
        }
        assert!(req < 10_000, "the receiver was never dropped");
    }
    unreachable!()
}

#[tokio::test]
async fn a_dropped_consumer_reads_whole_frames_then_its_goodbye() {
    for pace in [Duration::ZERO, Duration::from_millis(2)] {
        let hub = serve(tight(256 * 1024)).await;
        let (victim, victim_id) = small_buffered(hub.addr).await;
        let mut sender = Connection::connect(hub.addr).await.expect("connect");
        let relays = relay_until_dropped(&mut sender, victim_id, &[]).await;

        let ending = read_to_end(victim, pace).await;
        assert!(ending.on_boundary, "the stream ended inside a frame");
        assert!(
            is_goodbye(ending.last(), ErrorKind::SlowConsumer),
            "{:?}",
            ending.last()
        );
        let messages = ending.frames.len() - 1;
        assert!(
            ending.frames[..messages]
                .iter()
                .all(|m| matches!(m, HubMsg::Message { .. })),
            "only messages before the goodbye"
        );
        assert!(messages < relays as usize, "the backlog was thrown away");
        hub.shutdown.cancel();
        hub.task.await.expect("hub stops");
    }
}

#[tokio::test]
async fn a_watcher_too_slow_for_presence_is_closed_with_its_goodbye() {
    // Any frame that would take the watcher's queue past 4 KiB drops it at once.
    let hub = serve(Config {
        queue_bytes: 4096,
        queue_max_bytes: 1 << 30,
        slow_after: Duration::ZERO,
        write_timeout: PATIENCE,
        ..Config::default()
    })
    .await;
    let (mut watcher, watcher_id) = small_buffered(hub.addr).await;
    let watch = ClientMsg::<Bytes>::Watch { req: RequestId(1) }
        .to_frame()
        .expect("encodes");
    watcher.write_all(&watch).await.expect("watch");
    // Fill the watcher's socket with messages its queue can take one at a time, until its
    // writer stalls and a message stays queued.
    let mut sender = Connection::connect(hub.addr).await.expect("connect");
    for req in 1.. {
        sender
            .send(&relay(req, &[watcher_id], 2048))
            .await
            .expect("send");
        let delivered = matches!(
            answer(&mut sender).await,
            HubMsg::Relayed { delivered: 1, .. }
        );
        assert!(delivered, "the queue had room");
        if hub.inspector.queued_bytes() > 0 {
            break;
        }
        assert!(req < 100_000, "the watcher's socket never filled");
    }
    // Now presence alone overflows it: a few dozen events fill 4 KiB.
    for _ in 0..200 {
        drop(Connection::connect(hub.addr).await.expect("connect"));
    }
    // It leaves the registry at once; its writer waits for it to read the goodbye.
    until("the watcher and every visitor are gone", || {
        hub.inspector.connections() == 1
    })
    .await;
    let ending = read_to_end(watcher, Duration::ZERO).await;
    assert!(ending.on_boundary);
    assert!(is_goodbye(ending.last(), ErrorKind::SlowConsumer));
    until("the close is recorded", || {
        hub.inspector
            .recent_closes()
            .contains(&(Some(watcher_id), CloseReason::SlowConsumer))
    })
    .await;
    hub.shutdown.cancel();
    hub.task.await.expect("hub stops");
}

#[tokio::test]
async fn a_client_that_reads_no_answers_is_slowed_down_not_dropped() {
    for (count, size) in [(200_000, 64), (48, 1024 * 1024)] {
        let hub = serve(Config {
            queue_bytes: 2 * 1024 * 1024,
            queue_max_bytes: 2 * 1024 * 1024,
            write_timeout: PATIENCE,
            ..Config::default()
        })
        .await;
        let stream = TcpStream::connect(hub.addr).await.expect("connect");
        let (rd, mut wr) = stream.into_split();
        let writer = tokio::spawn(async move {
            for req in 0..count {
                let echo = ClientMsg::Echo {
                    req: RequestId(req),
                    body: Bytes::from(vec![1u8; size]),
                };
                wr.write_all(&echo.to_frame().expect("encodes"))
                    .await
                    .expect("the hub keeps reading, slowly");
            }
            wr
        });
        // Not reading: the hub fills this client's queue to its limit and then pauses.
        until("the queue is full of answers", || {
            hub.inspector.queued_bytes() >= 2 * 1024 * 1024
        })
        .await;
        let mut frames = FramedRead::new(rd, FrameCodec::new());
        assert!(matches!(
            HubMsg::decode(&frames.next().await.expect("welcome").expect("whole")),
            Ok(HubMsg::Welcome { .. })
        ));
        for req in 0..count {
            let payload = tokio::time::timeout(PATIENCE, frames.next())
                .await
                .expect("answers keep coming")
                .expect("not the end")
                .expect("a whole frame");
            match HubMsg::decode(&payload).expect("decodes") {
                HubMsg::Echo { req: r, body } => {
                    assert_eq!((r, body.len()), (RequestId(req), size))
                }
                other => panic!("answer {req}: expected an echo, got {other:?}"),
            }
        }
        drop(writer.await.expect("writer"));
        assert!(hub.inspector.recent_closes().is_empty());
        hub.shutdown.cancel();
        hub.task.await.expect("hub stops");
    }
}

#[tokio::test]
async fn a_burst_to_receivers_that_keep_reading_loses_nothing() {
    const RECEIVERS: usize = 255;
    const BODIES: u32 = 20;
    const SIZE: usize = 128 * 1024;
    // The burst is 2.5 MiB per receiver, five times the soft limit, and fits the hard one.
    let hub = serve(Config {
        queue_bytes: 512 * 1024,
        queue_max_bytes: 4 * 1024 * 1024,
        ..Config::default()
    })
    .await;
    let mut readers = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..RECEIVERS {
        let mut conn = Connection::connect(hub.addr).await.expect("connect");
        ids.push(conn.user_id());
        readers.push(tokio::spawn(async move {
            let mut got = 0;
            while got < BODIES {
                match tokio::time::timeout(PATIENCE, conn.recv()).await {
                    Ok(Ok(HubMsg::Message { body, .. })) => {
                        assert_eq!(body.len(), SIZE);
                        got += 1;
                    }
                    Ok(Ok(HubMsg::KeepAlive)) => {}
                    other => panic!("receiver lost the burst after {got}: {other:?}"),
                }
            }
        }));
    }
    let mut sender = Connection::connect(hub.addr).await.expect("connect");
    for req in 0..BODIES {
        sender.send(&relay(req, &ids, SIZE)).await.expect("send");
    }
    for _ in 0..BODIES {
        match answer(&mut sender).await {
            HubMsg::Relayed {
                delivered, dropped, ..
            } => assert_eq!((delivered, dropped), (RECEIVERS as u32, vec![])),
            other => panic!("expected an answer, got {other:?}"),
        }
    }
    for reader in readers {
        reader.await.expect("every receiver got every body");
    }
    hub.shutdown.cancel();
    hub.task.await.expect("hub stops");
}

#[tokio::test]
async fn past_the_shutdown_grace_a_slow_reader_still_ends_on_a_frame_boundary() {
    let hub = serve(Config {
        queue_bytes: 64 * 1024 * 1024,
        queue_max_bytes: 64 * 1024 * 1024,
        shutdown_grace: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let (receiver, receiver_id) = small_buffered(hub.addr).await;
    let mut sender = Connection::connect(hub.addr).await.expect("connect");
    for req in 0..64 {
        sender
            .send(&relay(req, &[receiver_id], 64 * 1024))
            .await
            .expect("send");
        assert!(matches!(
            answer(&mut sender).await,
            HubMsg::Relayed { delivered: 1, .. }
        ));
    }
    hub.shutdown.cancel();
    // 4 MiB at 64 KiB per 20 ms cannot drain within the grace: the hub gives up on the rest,
    // finishes the frame it is writing and says goodbye.
    let ending = read_to_end(receiver, Duration::from_millis(20)).await;
    assert!(ending.on_boundary, "the stream ended inside a frame");
    assert!(
        is_goodbye(ending.last(), ErrorKind::ShuttingDown),
        "{:?}",
        ending.last()
    );
    assert!(ending.frames.len() < 65, "the rest was given up");
    hub.task.await.expect("hub stops");
}

#[tokio::test]
async fn a_malformed_frame_is_told_what_was_wrong_and_where() {
    let hub = serve(Config::default()).await;
    for (payload, says) in [
        (&[37u8][..], "unknown ClientMsg tag 37 at payload offset 0"),
        (
            &[5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80][..],
            "at payload offset 1",
        ),
    ] {
        let (mut stream, _) = small_buffered(hub.addr).await;
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        stream.write_all(&frame).await.expect("write");
        let ending = read_to_end(stream, Duration::ZERO).await;
        assert!(
            matches!(ending.last(), HubMsg::Error { req: None, kind: ErrorKind::Malformed, text } if text.contains(says)),
            "{:?}",
            ending.last()
        );
    }
    hub.shutdown.cancel();
    hub.task.await.expect("hub stops");
}
