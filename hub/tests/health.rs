//! `--health-listen`: HTTP health checks on a port of their own (hub/src/health.rs). A check
//! is answered 200 while the hub serves, full or not, and 503 once it shuts down; it is not a
//! client: no connection is counted and no watcher hears of it.

use std::net::SocketAddr;

use shared::{ClientMsg, HubMsg, RequestId};
use testkit::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serve health checks for `hub` on a loopback port of their own.
async fn health_of(hub: &TestHub) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(hub::health::serve(
        listener,
        hub.inspector.clone(),
        hub.shutdown.clone(),
    ));
    addr
}

/// One check as HAProxy's `option httpchk GET /healthz` sends it: the whole answer.
async fn check(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    answer
}

#[tokio::test]
async fn a_check_is_answered_and_is_not_a_client() {
    let hub = TestHub::start().await;
    let health = health_of(&hub).await;
    // At the base version, presence comes one push per change.
    let mut watcher = hub.connect_at(shared::BASE_VERSION).await;
    watcher
        .send(&ClientMsg::Watch { req: RequestId(1) })
        .await
        .expect("watch");
    assert!(matches!(recv(&mut watcher).await, HubMsg::Peers { .. }));

    let answer = check(health).await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nserving 1 connections\n"),
        "{answer}"
    );
    assert_eq!(hub.inspector.connections(), 1, "the check is not counted");
    // The next thing the watcher hears is the next client: the check came and went unseen.
    let next = hub.connect().await;
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Joined {
            user_id: next.user_id()
        }
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_full_hub_is_healthy_and_a_hub_shutting_down_is_not() {
    let hub = TestHub::with_config(hub::Config {
        max_connections: 1,
        ..test_config()
    })
    .await;
    let health = health_of(&hub).await;
    let _one = hub.connect().await;
    let answer = check(health).await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "full: {answer}");
    hub.shutdown.cancel();
    let answer = check(health).await;
    assert!(
        answer.starts_with("HTTP/1.0 503 Service Unavailable\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("shutting down\n"), "{answer}");
    hub.stopped().await;
}

/// The binary's flag: it listens for checks where it is told, beside the clients' port.
#[tokio::test]
async fn the_hub_binary_answers_checks_on_its_health_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _hub = testkit::child::HubProcess::spawn_bin(
        env!("CARGO_BIN_EXE_hub"),
        &["--health-listen", &addr],
        None,
    );
    let answer = check(addr.parse().expect("addr")).await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("serving 0 connections\n"), "{answer}");
}
