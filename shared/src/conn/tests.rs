//! The client connection against scripted hubs on 127.0.0.1: each script plays one side of the
//! protocol byte for byte, so every case a real hub of some version could produce is covered.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

use super::*;
use crate::BodyKind;

type Socket = Framed<TcpStream, FrameCodec>;

/// A hub that runs `script` on each of the connections it accepts, one after another.
async fn scripted<F, Fut>(connections: usize, script: F) -> std::net::SocketAddr
where
    F: Fn(usize, Socket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for n in 0..connections {
            let (socket, _) = listener.accept().await.expect("accept");
            script(n, Framed::new(socket, FrameCodec::new())).await;
        }
    });
    addr
}

fn welcome(user: u64) -> Bytes {
    HubMsg::<Bytes>::Welcome {
        version: BASE_VERSION,
        user_id: UserId(user),
        limits: Limits::default(),
    }
    .to_frame()
    .expect("encodes")
}

fn message(n: u8) -> Bytes {
    HubMsg::Message {
        from: UserId(9),
        kind: BodyKind::Bytes,
        body: Bytes::from(vec![n]),
    }
    .to_frame()
    .expect("encodes")
}

fn hello_answer(version: u32) -> Bytes {
    HubMsg::<Bytes>::Hello {
        req: HELLO_REQ,
        version,
    }
    .to_frame()
    .expect("encodes")
}

async fn next_request(socket: &mut Socket) -> ClientMsg {
    let payload = socket.next().await.expect("a frame").expect("valid");
    ClientMsg::decode(&payload).expect("a client message")
}

/// Keep the socket open until the client has gone.
async fn linger(mut socket: Socket) {
    while let Some(Ok(_)) = socket.next().await {}
}

#[tokio::test]
async fn a_hub_of_another_version_is_a_clear_error_whatever_follows() {
    // Tag 0 (welcome), version 2, then bytes no welcome could hold.
    let addr = scripted(1, |_, mut socket| async move {
        let bytes = Bytes::from_static(&[0, 0, 0, 5, 0, 2, 0xFF, 0xFF, 0xFF]);
        socket.send(bytes).await.expect("write");
        linger(socket).await;
    })
    .await;
    match Connection::connect(addr).await {
        Err(ConnError::Version { hub: 2, ours }) => assert_eq!(ours, BASE_VERSION),
        Err(e) => panic!("expected a version error, got {e}"),
        Ok(_) => panic!("expected a version error, got a connection"),
    }
}

#[tokio::test]
async fn a_first_frame_that_is_not_a_welcome_is_refused() {
    let addr = scripted(1, |_, mut socket| async move {
        let pong = HubMsg::<Bytes>::Pong { req: RequestId(1) };
        socket
            .send(pong.to_frame().expect("encodes"))
            .await
            .expect("write");
        linger(socket).await;
    })
    .await;
    assert!(matches!(
        Connection::connect(addr).await,
        Err(ConnError::NoWelcome(_))
    ));
}

#[tokio::test]
async fn the_client_announces_its_version_and_keeps_pushes_sent_before_the_answer() {
    let addr = scripted(1, |_, mut socket| async move {
        socket.send(welcome(3)).await.expect("write");
        let hello = next_request(&mut socket).await;
        assert_eq!(
            hello,
            ClientMsg::Hello {
                req: HELLO_REQ,
                version: PROTOCOL_VERSION
            }
        );
        socket.send(message(1)).await.expect("write");
        socket
            .send(hello_answer(PROTOCOL_VERSION))
            .await
            .expect("write");
        socket.send(message(2)).await.expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    assert_eq!(conn.version(), PROTOCOL_VERSION);
    assert_eq!(conn.user_id(), UserId(3));
    for n in [1, 2] {
        match conn.recv().await.expect("a message") {
            HubMsg::Message { body, .. } => assert_eq!(&body[..], &[n]),
            other => panic!("expected message {n}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_hub_cannot_raise_the_version_past_the_announced_one() {
    let addr = scripted(1, |_, mut socket| async move {
        socket.send(welcome(1)).await.expect("write");
        next_request(&mut socket).await;
        socket.send(hello_answer(9)).await.expect("write");
        linger(socket).await;
    })
    .await;
    let conn = Connection::connect_speaking(addr, 2)
        .await
        .expect("connects");
    assert_eq!(conn.version(), 2);
}

#[tokio::test]
async fn a_base_version_client_sends_no_hello() {
    let addr = scripted(1, |_, mut socket| async move {
        socket.send(welcome(1)).await.expect("write");
        assert_eq!(
            next_request(&mut socket).await,
            ClientMsg::Ping { req: RequestId(5) }
        );
        let pong = HubMsg::<Bytes>::Pong { req: RequestId(5) };
        socket
            .send(pong.to_frame().expect("encodes"))
            .await
            .expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect_speaking(addr, BASE_VERSION)
        .await
        .expect("connects");
    conn.send(&ClientMsg::Ping { req: RequestId(5) })
        .await
        .expect("sends");
    assert_eq!(
        conn.recv().await.expect("pong"),
        HubMsg::Pong { req: RequestId(5) }
    );
    assert_eq!(conn.version(), BASE_VERSION);
}

#[tokio::test]
async fn a_hub_that_predates_hello_is_reconnected_to_at_the_base_version() {
    let addr = scripted(2, |n, mut socket| async move {
        socket.send(welcome(n as u64 + 1)).await.expect("write");
        if n == 0 {
            // What a hub without Hello answers to tag 7, then it closes.
            next_request(&mut socket).await;
            let goodbye = HubMsg::<Bytes>::Error {
                req: None,
                kind: ErrorKind::Malformed,
                text: "malformed message: unknown tag".into(),
            };
            socket
                .send(goodbye.to_frame().expect("encodes"))
                .await
                .expect("write");
            let mut stream = socket.into_inner();
            stream.shutdown().await.expect("close");
            return;
        }
        assert_eq!(
            next_request(&mut socket).await,
            ClientMsg::Ping { req: RequestId(1) }
        );
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects again");
    assert_eq!(conn.version(), BASE_VERSION);
    assert_eq!(conn.user_id(), UserId(2), "the second connection's welcome");
    conn.send(&ClientMsg::Ping { req: RequestId(1) })
        .await
        .expect("sends");
}

#[tokio::test]
async fn a_flood_before_the_answer_is_kept_in_order_and_the_answer_still_counts() {
    let flood = PENDING_MAX + 20;
    let addr = scripted(1, move |_, mut socket| async move {
        socket.send(welcome(1)).await.expect("write");
        next_request(&mut socket).await;
        for n in 0..flood {
            socket.feed(message(n as u8)).await.expect("write");
        }
        socket
            .feed(hello_answer(PROTOCOL_VERSION))
            .await
            .expect("write");
        let pong = HubMsg::<Bytes>::Pong { req: RequestId(1) };
        socket
            .send(pong.to_frame().expect("encodes"))
            .await
            .expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = tokio::time::timeout(Duration::from_secs(60), Connection::connect(addr))
        .await
        .expect("connect returns without reading the whole flood")
        .expect("connects");
    for n in 0..flood {
        match conn.recv().await.expect("a message") {
            HubMsg::Message { body, .. } => assert_eq!(&body[..], &[n as u8]),
            other => panic!("expected message {n}, got {other:?}"),
        }
    }
    assert_eq!(
        conn.recv().await.expect("pong"),
        HubMsg::Pong { req: RequestId(1) },
        "the hello answer is taken out of the stream"
    );
    assert_eq!(conn.version(), PROTOCOL_VERSION);
}

mod account;

/// A `List` answered in parts (version 7) is gathered up to its closing `Peers`; a push that
/// comes between the parts is kept for `recv`.
#[tokio::test]
async fn a_list_in_parts_is_gathered_up_to_its_peers() {
    let addr = scripted(1, |_, mut socket| async move {
        socket.send(welcome(1)).await.expect("write");
        next_request(&mut socket).await;
        socket
            .send(hello_answer(crate::LIST_VERSION))
            .await
            .expect("write");
        let ClientMsg::List { req } = next_request(&mut socket).await else {
            panic!("a list")
        };
        let ids = |ids: &[u64]| ids.iter().copied().map(UserId).collect::<Vec<_>>();
        let part = |peers| HubMsg::<Bytes>::PeersPart { req, peers }.to_frame();
        socket
            .send(part(ids(&[2, 3])).expect("encodes"))
            .await
            .expect("write");
        socket.send(message(7)).await.expect("write");
        socket
            .send(part(ids(&[4])).expect("encodes"))
            .await
            .expect("write");
        let last = HubMsg::<Bytes>::Peers {
            req,
            peers: ids(&[5]),
        };
        socket
            .send(last.to_frame().expect("encodes"))
            .await
            .expect("write");
        linger(socket).await;
    })
    .await;
    let mut conn = Connection::connect(addr).await.expect("connects");
    let all = conn.list(RequestId(5)).await.expect("a list");
    assert_eq!(all, [2, 3, 4, 5].map(UserId));
    match conn.recv().await.expect("the push") {
        HubMsg::Message { body, .. } => assert_eq!(&body[..], &[7]),
        other => panic!("expected the message, got {other:?}"),
    }
}
