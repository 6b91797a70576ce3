//! Graceful shutdown: every client is told and the close recorded, a hub that stops delivers
//! what it already accepted (even requests it had read while paused on its budget), and gives
//! up on a client that stopped reading after the grace period.

use std::time::Duration;

use hub::{CloseReason, Config};
use shared::{ErrorKind, HubMsg, UserId};
use testkit::raw::Raw;
use testkit::*;
use tokio::net::TcpStream;

#[tokio::test]
async fn shutdown_tells_every_client_and_is_recorded() {
    let hub = TestHub::with_config(test_config()).await;
    let inspector = hub.inspector.clone();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Raw::connect(hub.addr).await);
    }
    hub.shutdown.cancel();
    for raw in &mut clients {
        raw.expect_goodbye(ErrorKind::ShuttingDown).await;
    }
    hub.stop().await;
    for raw in &clients {
        let closes = inspector.recent_closes();
        assert!(
            closes.contains(&(Some(raw.user_id), CloseReason::Shutdown)),
            "{closes:?}"
        );
    }
}

#[tokio::test]
async fn shutdown_delivers_every_accepted_frame_then_says_goodbye() {
    let hub = TestHub::start().await;
    let mut sender = hub.connect().await;
    let mut receiver = hub.connect().await;
    const N: u32 = 200;
    for i in 0..N {
        let answer = relay(&mut sender, &[UserId(2)], i.to_be_bytes().to_vec()).await;
        assert!(matches!(answer, HubMsg::Posted { delivered: 1, .. }));
    }
    hub.shutdown.cancel();
    for i in 0..N {
        let (_, body) = delivery(&mut receiver).await;
        assert_eq!(&body[..], &i.to_be_bytes());
    }
    match recv(&mut receiver).await {
        HubMsg::Error {
            req: None, kind, ..
        } => assert_eq!(kind, ErrorKind::ShuttingDown),
        other => panic!("expected goodbye, got {other:?}"),
    }
    assert!(matches!(
        receiver.recv().await,
        Err(shared::conn::ConnError::Closed)
    ));
    tokio::time::timeout(WAIT, hub.task)
        .await
        .expect("hub exits")
        .expect("task");
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stuck_client_after_the_grace_period() {
    let hub = TestHub::with_config(Config {
        shutdown_grace: Duration::from_millis(300),
        queue_bytes: 32 * 1024 * 1024,
        ..test_config()
    })
    .await;
    let mut sender = hub.connect().await;
    let stuck = TcpStream::connect(hub.addr).await.expect("connect");
    hub.wait_for_users(2).await;
    // Far more than loopback socket buffers hold, so its writer is blocked at shutdown.
    const SENT: usize = 24 * 1024 * 1024;
    for _ in 0..SENT / (1024 * 1024) {
        relay(&mut sender, &[UserId(2)], vec![1u8; 1024 * 1024]).await;
    }
    hub.shutdown.cancel();
    tokio::time::timeout(WAIT, hub.task)
        .await
        .expect("hub exits despite the stuck client")
        .expect("task");
    // The hub gave up on it rather than waiting to flush everything.
    let mut stuck = stuck;
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stuck, &mut got)
        .await
        .expect("read what was sent");
    assert!(
        got.len() < SENT,
        "stuck client received all {} bytes",
        got.len()
    );
}

#[tokio::test]
async fn shutdown_handles_requests_already_received_while_the_hub_was_paused() {
    const GLOBAL: usize = 256 * 1024;
    const BODY: usize = 128 * 1024;
    const N: usize = 96;
    let hub = TestHub::with_config(Config {
        global_bytes: GLOBAL,
        ..test_config()
    })
    .await;
    let sender = hub.connect().await;
    let mut receiver = hub.connect().await;
    let (mut rd, mut wr) = sender.split();
    // 12 MiB: more than loopback socket buffers hold, so the hub's budget fills up.
    let sending = tokio::spawn(async move {
        for i in 0..N {
            if wr
                .send(&relay_msg(i as u32, &[UserId(2)], vec![i as u8; BODY]))
                .await
                .is_err()
            {
                break; // the hub closed while we were still sending
            }
        }
    });
    // The hub pauses once the receiver's queue passes the budget; the rest wait in the kernel.
    eventually("the hub to fill its budget", || {
        hub.inspector.queued_bytes() > GLOBAL
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before_shutdown = hub.inspector.stats().relays as usize;
    assert!(
        before_shutdown < N,
        "the hub paused before reading everything"
    );
    hub.shutdown.cancel();

    let mut answered = 0;
    while let Ok(Ok(msg)) = tokio::time::timeout(WAIT, rd.recv()).await {
        match msg {
            HubMsg::Posted {
                req, delivered: 1, ..
            } => {
                assert_eq!(req.0 as usize, answered);
                answered += 1;
            }
            HubMsg::Error {
                kind: ErrorKind::ShuttingDown,
                ..
            } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    for i in 0..answered {
        let (_, body) = delivery(&mut receiver).await;
        assert_eq!(body[0], i as u8, "in order, no gap");
    }
    assert!(
        answered > before_shutdown,
        "requests already received were handled on shutdown ({answered} of {N}, {before_shutdown} before)"
    );
    tokio::time::timeout(WAIT, hub.task)
        .await
        .expect("hub exits")
        .expect("task");
    sending.abort();
}
