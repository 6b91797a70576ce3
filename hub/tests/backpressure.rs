//! Slow consumers and graceful shutdown: nobody waits for a client that stopped reading, and
//! a hub that stops delivers what it already accepted.

#[path = "support/helpers.rs"]
mod helpers;

use std::time::Duration;

use bytes::Bytes;
use helpers::*;
use hub::{CloseReason, Config};
use shared::{ErrorKind, HubMsg, UserId};
use tokio::net::TcpStream;

const QUEUE: usize = 256 * 1024;

#[tokio::test]
async fn a_receiver_that_never_reads_is_dropped_and_reported_while_others_get_everything() {
    let hub = TestHub::with_config(Config {
        queue_bytes: QUEUE,
        stats_interval: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let mut sender = hub.connect().await;
    let mut fast = hub.connect().await;
    // A raw socket that never reads a byte, not even its welcome.
    let slow = TcpStream::connect(hub.addr).await.expect("connect");
    hub.wait_for_users(3).await;
    let (fast_id, slow_id) = (UserId(2), UserId(3));

    const N: usize = 400;
    let body = Bytes::from(vec![0x5A; 64 * 1024]);
    let reader = tokio::spawn(async move {
        for i in 0..N {
            let (from, got) = delivery(&mut fast).await;
            assert_eq!(from, UserId(1));
            assert_eq!(got.len(), 64 * 1024, "message {i}");
        }
        fast
    });
    let (mut dropped_once, mut max_queued) = (false, 0);
    for _ in 0..N {
        match relay(&mut sender, &[fast_id, slow_id], body.clone()).await {
            HubMsg::Relayed {
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
        max_queued = max_queued.max(hub.budget.used());
    }
    tokio::time::timeout(WAIT, reader)
        .await
        .expect("fast reader done")
        .expect("task");
    assert!(dropped_once, "the slow receiver was reported as dropped");
    assert!(
        max_queued <= 3 * QUEUE,
        "hub held {max_queued} bytes, queues are {QUEUE}"
    );
    hub.wait_for_users(2).await;
    assert!(hub
        .registry
        .recent_closes()
        .contains(&(Some(slow_id), CloseReason::SlowConsumer)));
    drop(slow);
    hub.stop().await;
}

#[tokio::test]
async fn shutdown_delivers_every_accepted_frame_then_says_goodbye() {
    let hub = TestHub::start().await;
    let mut sender = hub.connect().await;
    let mut receiver = hub.connect().await;
    const N: u32 = 200;
    for i in 0..N {
        let answer = relay(&mut sender, &[UserId(2)], i.to_be_bytes().to_vec()).await;
        assert!(matches!(answer, HubMsg::Relayed { delivered: 1, .. }));
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
        stats_interval: Duration::ZERO,
        ..Config::default()
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
async fn a_full_hub_stops_reading_requests_until_writers_catch_up() {
    const GLOBAL: usize = 1024 * 1024;
    let hub = TestHub::with_config(Config {
        global_bytes: GLOBAL,
        queue_bytes: 64 * 1024 * 1024,
        stats_interval: Duration::ZERO,
        ..Config::default()
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
        max_used = max_used.max(hub.budget.used());
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
            HubMsg::Relayed {
                req, delivered: 1, ..
            } => assert_eq!(req.0, i as u32),
            other => panic!("expected relayed, got {other:?}"),
        }
    }
    sending.await.expect("sender done");
    hub.stop().await;
}

#[tokio::test]
async fn shutdown_handles_requests_already_received_while_the_hub_was_paused() {
    const GLOBAL: usize = 256 * 1024;
    const BODY: usize = 128 * 1024;
    const N: usize = 96;
    let hub = TestHub::with_config(Config {
        global_bytes: GLOBAL,
        stats_interval: Duration::ZERO,
        ..Config::default()
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
    tokio::time::timeout(WAIT, async {
        while hub.budget.used() <= GLOBAL {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the hub filled its budget");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before_shutdown = hub.registry.stats.snapshot().relays as usize;
    assert!(
        before_shutdown < N,
        "the hub paused before reading everything"
    );
    hub.shutdown.cancel();

    let mut answered = 0;
    while let Ok(Ok(msg)) = tokio::time::timeout(WAIT, rd.recv()).await {
        match msg {
            HubMsg::Relayed {
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
