//! `hub --proxy-protocol`: behind a load balancer every connection comes from the balancer's
//! address, so the hub reads the client's from the PROXY protocol v2 header the balancer
//! sends first (hub/src/proxy_protocol.rs; docs/CLUSTER-haproxy.md). Here a small balancer of
//! the test's own sends each connection on with the header of the address it is told.

use std::net::SocketAddr;

use ppp::v2::{Builder, Command, Protocol, Version};
use shared::conn::Connection;
use shared::{ErrorKind, HubMsg, SecretKey};
use testkit::accounts::{new_account, try_login};
use testkit::{test_config, TestHub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A balancer in front of `hub` that says every client it passes on comes from `client`.
async fn balancer(hub: SocketAddr, client: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut from, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut to = TcpStream::connect(hub).await.expect("the hub");
                let header = Builder::with_addresses(
                    Version::Two | Command::Proxy,
                    Protocol::Stream,
                    (client, hub),
                )
                .build()
                .expect("a header");
                to.write_all(&header).await.expect("header");
                let _ = tokio::io::copy_bidirectional(&mut from, &mut to).await;
            });
        }
    });
    addr
}

fn behind_a_balancer() -> hub::Config {
    hub::Config {
        proxy_protocol: true,
        login_fail_rate: 3,
        ..test_config()
    }
}

fn refused(answer: &HubMsg) -> ErrorKind {
    match answer {
        HubMsg::Error { kind, .. } => *kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The failed-login limit counts each client address the header names, not the balancer's:
/// one address past its limit is refused, another is not, though all come from 127.0.0.1.
#[tokio::test]
async fn each_client_is_limited_by_the_address_its_header_names() {
    let hub = TestHub::with_config(behind_a_balancer()).await;
    let x = balancer(hub.addr, "203.0.113.7:40000".parse().expect("an address")).await;
    let y = balancer(hub.addr, "[2001:db8::8]:40000".parse().expect("an address")).await;
    let (_alice, key, _) = new_account(x, "alice").await;
    let wrong = SecretKey::generate();
    let mut c = Connection::connect(x).await.expect("through x");
    for _ in 0..3 {
        assert_eq!(
            refused(&try_login(&mut c, &wrong, "alice").await),
            ErrorKind::LoginFailed
        );
    }
    assert_eq!(
        refused(&try_login(&mut c, &key, "alice").await),
        ErrorKind::RateLimited
    );
    let mut other = Connection::connect(y).await.expect("through y");
    assert_eq!(
        refused(&try_login(&mut other, &wrong, "alice").await),
        ErrorKind::LoginFailed,
        "another client address is not limited"
    );
    let mut again = Connection::connect(x).await.expect("through x");
    assert_eq!(
        refused(&try_login(&mut again, &key, "alice").await),
        ErrorKind::RateLimited,
        "the same client address on a new connection is"
    );
    hub.stop().await;
}

/// A connection that does not start with a PROXY header is closed before its welcome; the
/// hub serves the next client through the balancer as ever.
#[tokio::test]
async fn a_connection_without_a_header_is_closed_and_nothing_else_notices() {
    let hub = TestHub::with_config(behind_a_balancer()).await;
    let x = balancer(hub.addr, "203.0.113.7:40000".parse().expect("an address")).await;
    let mut good = Connection::connect(x).await.expect("through the balancer");
    let mut raw = TcpStream::connect(hub.addr).await.expect("connect");
    raw.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(testkit::WAIT, raw.read_to_end(&mut got))
        .await
        .expect("closed in time");
    assert!(got.is_empty(), "no welcome: {got:?}");
    let id = good.user_id();
    assert_eq!(testkit::identity(&mut good).await, id);
    let late = Connection::connect(x).await.expect("the next client");
    assert_ne!(late.user_id(), id);
    hub.stop().await;
}
