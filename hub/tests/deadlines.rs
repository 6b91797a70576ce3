//! Frame deadline and keepalive, with short settings so the tests run in a blink.

#[path = "support/helpers.rs"]
mod helpers;

use std::time::Duration;

use futures::StreamExt;
use helpers::*;
use hub::{CloseReason, Config};
use shared::{ClientMsg, ErrorKind, FrameCodec, HubMsg, UserId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

async fn quick_hub() -> TestHub {
    TestHub::with_config(Config {
        frame_deadline: Duration::from_millis(300),
        ping_interval: Duration::from_millis(200),
        stats_interval: Duration::ZERO,
        ..Config::default()
    })
    .await
}

/// Every message the hub sends on a raw connection until it closes it.
async fn messages_until_close(stream: TcpStream) -> Vec<HubMsg> {
    let mut frames = FramedRead::new(stream, FrameCodec::new());
    let mut got = Vec::new();
    while let Some(frame) = tokio::time::timeout(WAIT, frames.next())
        .await
        .expect("in time")
    {
        got.push(HubMsg::decode(&frame.expect("frame")).expect("message"));
    }
    got
}

#[tokio::test]
async fn a_frame_that_never_finishes_is_cut_at_the_deadline() {
    let hub = quick_hub().await;
    let mut stream = TcpStream::connect(hub.addr).await.expect("connect");
    // A header announcing 100 bytes, then only 3 of them, then silence.
    stream
        .write_all(&[0, 0, 0, 100, 1, 2, 3])
        .await
        .expect("write");
    let got = messages_until_close(stream).await;
    assert!(
        matches!(
            got.last(),
            Some(HubMsg::Error {
                req: None,
                kind: ErrorKind::FrameDeadline,
                ..
            })
        ),
        "{got:?}"
    );
    hub.wait_for_users(0).await;
    assert!(hub
        .registry
        .recent_closes()
        .contains(&(Some(UserId(1)), CloseReason::FrameDeadline)));
    hub.stop().await;
}

#[tokio::test]
async fn a_silent_client_gets_a_keepalive_then_is_closed_as_idle() {
    let hub = quick_hub().await;
    let stream = TcpStream::connect(hub.addr).await.expect("connect");
    let got = messages_until_close(stream).await;
    assert!(matches!(got[0], HubMsg::Welcome { .. }), "{got:?}");
    assert!(got.contains(&HubMsg::KeepAlive), "{got:?}");
    assert!(
        matches!(
            got.last(),
            Some(HubMsg::Error {
                req: None,
                kind: ErrorKind::Idle,
                ..
            })
        ),
        "{got:?}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_client_that_answers_keepalives_stays() {
    let hub = quick_hub().await;
    let mut conn = hub.connect().await;
    let mut keepalives = 0;
    while keepalives < 5 {
        match recv(&mut conn).await {
            HubMsg::KeepAlive => {
                keepalives += 1;
                conn.send(&ClientMsg::KeepAliveAck).await.expect("ack");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        identity(&mut conn).await,
        UserId(1),
        "still connected after 5 intervals"
    );
    hub.stop().await;
}
