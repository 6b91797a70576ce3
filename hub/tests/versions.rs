//! Agreeing on a protocol version: the welcome always says 1, `Hello` as the first request
//! raises the connection to the lower of both sides' versions, and a late `Hello` is a
//! protocol error (docs/PROTOCOL.md § 12).

use std::time::Duration;

use futures::StreamExt;
use hub::{Config, Hub};
use shared::conn::Connection;
use shared::{ClientMsg, ErrorKind, FrameCodec, HubMsg, RequestId, BASE_VERSION, PROTOCOL_VERSION};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(30);

async fn hub() -> (std::net::SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let config = Config {
        stats_interval: Duration::ZERO,
        ..Config::default()
    };
    tokio::spawn(Hub::new(config).run(listener, shutdown.clone()));
    (addr, shutdown)
}

/// Send `requests` in one write, then read every frame until the hub closes.
async fn exchange(addr: std::net::SocketAddr, requests: &[ClientMsg]) -> Vec<HubMsg> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (rd, mut wr) = stream.into_split();
    let mut bytes = Vec::new();
    for msg in requests {
        bytes.extend_from_slice(&msg.to_frame().expect("encodes"));
    }
    wr.write_all(&bytes).await.expect("write");
    wr.shutdown().await.expect("FIN");
    let mut frames = FramedRead::new(rd, FrameCodec::new());
    let mut seen = Vec::new();
    while let Some(frame) = tokio::time::timeout(PATIENCE, frames.next())
        .await
        .expect("the hub answers and closes")
    {
        seen.push(HubMsg::decode(&frame.expect("whole frames")).expect("decodes"));
    }
    seen
}

fn hello(req: u32, version: u32) -> ClientMsg {
    ClientMsg::Hello {
        req: RequestId(req),
        version,
    }
}

#[tokio::test]
async fn the_first_hello_agrees_on_the_lower_version() {
    let (addr, _stop) = hub().await;
    for (asked, agreed) in [
        (0, BASE_VERSION),
        (1, 1),
        (PROTOCOL_VERSION, PROTOCOL_VERSION),
        (u32::MAX, PROTOCOL_VERSION),
    ] {
        let seen = exchange(
            addr,
            &[hello(5, asked), ClientMsg::Ping { req: RequestId(6) }],
        )
        .await;
        assert!(
            matches!(seen[0], HubMsg::Welcome { version, .. } if version == BASE_VERSION),
            "{seen:?}"
        );
        assert_eq!(
            seen[1],
            HubMsg::Hello {
                req: RequestId(5),
                version: agreed
            }
        );
        assert_eq!(seen[2], HubMsg::Pong { req: RequestId(6) });
    }
}

#[tokio::test]
async fn a_hello_after_another_request_is_a_protocol_error() {
    let (addr, _stop) = hub().await;
    for requests in [
        vec![ClientMsg::Ping { req: RequestId(1) }, hello(2, 2)],
        vec![hello(1, 2), hello(2, 2)],
    ] {
        let seen = exchange(addr, &requests).await;
        let last = seen.last().expect("frames");
        assert!(
            matches!(last, HubMsg::Error { req: None, kind: ErrorKind::Malformed, text } if text.contains("first request")),
            "{seen:?}"
        );
        assert_eq!(
            seen.len(),
            3,
            "welcome, the first answer, the goodbye: {seen:?}"
        );
    }
}

#[tokio::test]
async fn a_keepalive_ack_before_hello_does_not_count_as_a_request() {
    let (addr, _stop) = hub().await;
    let seen = exchange(addr, &[ClientMsg::KeepAliveAck, hello(3, 2)]).await;
    assert_eq!(
        seen[1],
        HubMsg::Hello {
            req: RequestId(3),
            version: 2
        }
    );
}

#[tokio::test]
async fn the_ready_made_connection_speaks_the_highest_version() {
    let (addr, _stop) = hub().await;
    let conn = Connection::connect(addr).await.expect("connect");
    assert_eq!(conn.version(), PROTOCOL_VERSION);
}
