//! How a connection the hub closes ends: whole frames, then the goodbye that says why, then
//! the end of the stream; and the pressure that must not close one (its own answers, a burst).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hub::{CloseReason, Config};
use shared::conn::Connection;
use shared::{ClientMsg, ErrorKind, FrameCodec, HubMsg, RequestId, UserId};
use testkit::{eventually, next_answer, relay_sized, test_config, TestHub, WAIT};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::FramedRead;

/// Longer than anything here should take, on any machine.
const PATIENCE: Duration = WAIT;

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

/// A queue of at most `bytes`, soft and hard alike; writes may stall for a minute.
fn tight(bytes: usize) -> Config {
    Config {
        queue_bytes: bytes,
        queue_max_bytes: bytes,
        write_timeout: PATIENCE,
        ..test_config()
    }
}

/// Relay 64 KiB bodies to `victim` (and `others`) until the hub reports it dropped.
async fn relay_until_dropped(sender: &mut Connection, victim: UserId, others: &[UserId]) -> u32 {
    let to: Vec<UserId> = std::iter::once(victim)
        .chain(others.iter().copied())
        .collect();
    for req in 1.. {
        sender
            .send(&relay_sized(req, &to, 64 * 1024))
            .await
            .expect("send");
        match next_answer(sender).await {
            HubMsg::Posted { dropped, .. } if dropped == [victim] => return req,
            HubMsg::Posted { dropped, .. } => assert!(dropped.is_empty(), "{dropped:?}"),
            other => panic!("expected an answer to the relay, got {other:?}"),
        }
        assert!(req < 10_000, "the receiver was never dropped");
    }
    unreachable!()
}

#[tokio::test]
async fn a_dropped_consumer_reads_whole_frames_then_its_goodbye() {
    for pace in [Duration::ZERO, Duration::from_millis(2)] {
        let hub = TestHub::with_config(tight(256 * 1024)).await;
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
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_watcher_too_slow_for_presence_is_closed_with_its_goodbye() {
    // Any frame that would take the watcher's queue past 4 KiB drops it at once.
    let hub = TestHub::with_config(Config {
        queue_bytes: 4096,
        queue_max_bytes: 1 << 30,
        slow_after: Duration::ZERO,
        write_timeout: PATIENCE,
        ..test_config()
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
            .send(&relay_sized(req, &[watcher_id], 2048))
            .await
            .expect("send");
        let delivered = matches!(
            next_answer(&mut sender).await,
            HubMsg::Posted { delivered: 1, .. }
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
    eventually("the watcher and every visitor are gone", || {
        hub.inspector.connections() == 1
    })
    .await;
    let ending = read_to_end(watcher, Duration::ZERO).await;
    assert!(ending.on_boundary);
    assert!(is_goodbye(ending.last(), ErrorKind::SlowConsumer));
    eventually("the close is recorded", || {
        hub.inspector
            .recent_closes()
            .contains(&(Some(watcher_id), CloseReason::SlowConsumer))
    })
    .await;
    hub.stop().await;
}

#[tokio::test]
async fn past_the_shutdown_grace_a_slow_reader_still_ends_on_a_frame_boundary() {
    let hub = TestHub::with_config(Config {
        queue_bytes: 64 * 1024 * 1024,
        queue_max_bytes: 64 * 1024 * 1024,
        shutdown_grace: Duration::from_millis(200),
        ..test_config()
    })
    .await;
    let (receiver, receiver_id) = small_buffered(hub.addr).await;
    let mut sender = Connection::connect(hub.addr).await.expect("connect");
    for req in 0..64 {
        sender
            .send(&relay_sized(req, &[receiver_id], 64 * 1024))
            .await
            .expect("send");
        assert!(matches!(
            next_answer(&mut sender).await,
            HubMsg::Posted { delivered: 1, .. }
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
    let hub = TestHub::start().await;
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
    hub.stop().await;
}
