//! The network task on a hub of protocol version 2, played byte for byte by a script: `/who`
//! and `/whois` are refused in the task, never sent (a hub below version 3 closes the
//! connection on an account request), and the connection goes on serving relays. And
//! one-shot `send` to a scripted hub of version 3, before end-to-end keys.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use shared::account::Who;
use shared::conn::HELLO_REQ;
use shared::{BodyKind, ClientMsg, FrameCodec, HubMsg, Limits, RequestId, UserId, BASE_VERSION};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tui_client::net::{self, NetCommand, NetConfig, NetEvent, Relay};

const WAIT: Duration = Duration::from_secs(10);

async fn send(socket: &mut Framed<TcpStream, FrameCodec>, msg: HubMsg) {
    socket
        .send(msg.to_frame().expect("encodes"))
        .await
        .expect("write");
}

async fn next_request(socket: &mut Framed<TcpStream, FrameCodec>) -> ClientMsg {
    let payload = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("valid");
    ClientMsg::decode(&payload).expect("a client message")
}

async fn next_event(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the network task runs")
}

#[tokio::test]
async fn account_requests_are_refused_in_the_task_on_a_version_2_hub() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The hub's side: welcome, agree on version 2, answer the watch, then hand over the
    // first request that follows.
    let (seen_tx, mut seen) = mpsc::channel(1);
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let mut socket = Framed::new(socket, FrameCodec::new());
        let welcome = HubMsg::Welcome {
            version: BASE_VERSION,
            user_id: UserId(3),
            limits: Limits::default(),
        };
        send(&mut socket, welcome).await;
        assert!(matches!(
            next_request(&mut socket).await,
            ClientMsg::Hello { .. }
        ));
        let hello = HubMsg::Hello {
            req: HELLO_REQ,
            version: 2,
        };
        send(&mut socket, hello).await;
        let ClientMsg::Watch { req } = next_request(&mut socket).await else {
            panic!("expected Watch");
        };
        let peers = HubMsg::Peers {
            req,
            peers: vec![UserId(4)],
        };
        send(&mut socket, peers).await;
        seen_tx
            .send(next_request(&mut socket).await)
            .await
            .expect("the test waits");
        // Keep the connection until the client goes.
        while let Some(Ok(_)) = socket.next().await {}
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let config = NetConfig {
        pins: None,
        hubs: tui_client::net::HubAddr::plain(addr).into(),
        download_dir: dir.path().to_owned(),
        identity: None,
    };
    let (commands, cmd_rx) = mpsc::channel::<NetCommand>(4);
    let (ev_tx, mut events) = mpsc::channel(64);
    let task = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    loop {
        if let NetEvent::Peers(peers) = next_event(&mut events).await {
            assert_eq!(peers, [UserId(4)]);
            break;
        }
    }

    let asks = [
        NetCommand::Users {
            req: RequestId(7),
            pattern: "*".into(),
        },
        NetCommand::Lookup {
            req: RequestId(8),
            who: Who::Name("bob".into()),
        },
    ];
    for (ask, req) in asks.into_iter().zip([7, 8]) {
        commands.send(ask).await.expect("task runs");
        match next_event(&mut events).await {
            NetEvent::Failed { req: got, text } => {
                assert_eq!(got, RequestId(req));
                assert!(text.contains("protocol version 2"), "{text}");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }
    // Nothing of them reached the hub: the next thing it reads is this relay.
    let relay = Relay {
        req: RequestId(9),
        to: vec![UserId(4)],
        kind: BodyKind::Text,
        body: Bytes::from_static(b"still here"),
    };
    commands
        .send(NetCommand::Relay(relay))
        .await
        .expect("task runs");
    match tokio::time::timeout(WAIT, seen.recv()).await {
        Ok(Some(ClientMsg::Relay { req, body, .. })) => {
            assert_eq!((req, &body[..]), (RequestId(9), &b"still here"[..]))
        }
        other => panic!("expected the relay first, got {other:?}"),
    }
    task.abort();
}

/// One-shot `send` to a hub of version 3, before end-to-end keys: the body goes as the user
/// gave it, and stderr says it is not encrypted and why.
#[tokio::test]
async fn send_to_a_hub_before_keys_says_it_is_not_encrypted_and_relays_the_text() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hub = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let mut socket = Framed::new(socket, FrameCodec::new());
        let welcome = HubMsg::Welcome {
            version: BASE_VERSION,
            user_id: UserId(3),
            limits: Limits::default(),
        };
        send(&mut socket, welcome).await;
        let ClientMsg::Hello { req, .. } = next_request(&mut socket).await else {
            panic!("expected Hello");
        };
        send(&mut socket, HubMsg::Hello { req, version: 3 }).await;
        let ClientMsg::Relay {
            req,
            to,
            kind,
            body,
        } = next_request(&mut socket).await
        else {
            panic!("expected the relay");
        };
        let answer = HubMsg::Routed {
            req,
            delivered: 1,
            queued: Vec::new(),
            unknown: Vec::new(),
            dropped: Vec::new(),
            full: Vec::new(),
        };
        send(&mut socket, answer).await;
        (to, kind, body)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("oneshot.log");
    let config = dir.path().join("config");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tui-client"))
            .env("HUBBUB_HUB", addr.to_string())
            .env("HUBBUB_LOG_FILE", log)
            .env("XDG_CONFIG_HOME", config)
            .env_remove("HUBBUB_IDENTITY")
            .env_remove("HUBBUB_CONFIG")
            .args(["send", "--to", "4", "in", "the", "clear"])
            .output()
    });
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("send ends in time")
        .expect("joins")
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("not encrypted: the hub speaks protocol version 3, before end-to-end keys"),
        "{stderr}"
    );
    let (to, kind, body) = tokio::time::timeout(WAIT, hub)
        .await
        .expect("the hub's side ends")
        .expect("the hub's side");
    assert_eq!(to, [UserId(4)]);
    assert_eq!((kind, &body[..]), (BodyKind::Text, &b"in the clear"[..]));
}
