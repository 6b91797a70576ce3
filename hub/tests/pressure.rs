//! Pressure that must not close a connection: a client's own unread answers slow its reading
//! down, and one sender's burst behind receivers that keep reading is delivered whole.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hub::Config;
use shared::conn::Connection;
use shared::{ClientMsg, FrameCodec, HubMsg, RequestId};
use testkit::{eventually, next_answer, relay_sized, test_config, TestHub, WAIT};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

const PATIENCE: Duration = WAIT;

#[tokio::test]
async fn a_client_that_reads_no_answers_is_slowed_down_not_dropped() {
    for (count, size) in [(200_000, 64), (48, 1024 * 1024)] {
        let hub = TestHub::with_config(Config {
            queue_bytes: 2 * 1024 * 1024,
            queue_max_bytes: 2 * 1024 * 1024,
            write_timeout: PATIENCE,
            ..test_config()
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
        eventually("the queue is full of answers", || {
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
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_burst_to_receivers_that_keep_reading_loses_nothing() {
    const RECEIVERS: usize = 255;
    const BODIES: u32 = 20;
    const SIZE: usize = 128 * 1024;
    // The burst is 2.5 MiB per receiver, five times the soft limit, and fits the hard one.
    let hub = TestHub::with_config(Config {
        queue_bytes: 512 * 1024,
        queue_max_bytes: 4 * 1024 * 1024,
        ..test_config()
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
        sender
            .send(&relay_sized(req, &ids, SIZE))
            .await
            .expect("send");
    }
    for _ in 0..BODIES {
        match next_answer(&mut sender).await {
            HubMsg::Posted {
                delivered, dropped, ..
            } => assert_eq!((delivered, dropped), (RECEIVERS as u32, vec![])),
            other => panic!("expected an answer, got {other:?}"),
        }
    }
    for reader in readers {
        reader.await.expect("every receiver got every body");
    }
    hub.stop().await;
}
