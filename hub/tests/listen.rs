//! The hub's listening socket holds a storm of connections until they are accepted: after a
//! hub restart every client reconnects at once. A connection beyond the kernel's accept queue
//! is worse than refused: with SYN cookies its client believes it is connected while the hub
//! never hears of it, and waits for a welcome that never comes.

use std::time::Duration;

use futures::future::join_all;
use tokio::net::TcpStream;

/// More than tokio's default backlog (1024), fewer than the hub's (and than Linux's default
/// `net.core.somaxconn`, 4096, which caps it).
const STORM: usize = 1500;

#[tokio::test]
async fn a_storm_of_connections_waits_in_the_queue_until_accepted() {
    let listener = hub::listen("127.0.0.1:0".parse().expect("addr")).expect("listen");
    let addr = listener.local_addr().expect("addr");
    // Nothing accepts while they connect: every one must be held by the kernel. A connect the
    // queue has no room for is retried by the kernel for two minutes; a minute (for connects
    // that complete in milliseconds) is to fail sooner.
    let connects = join_all((0..STORM).map(|_| TcpStream::connect(addr)));
    let clients: Vec<TcpStream> = tokio::time::timeout(Duration::from_secs(60), connects)
        .await
        .expect("the kernel held up connects: the queue is full")
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every connect completes its handshake");
    let mut accepted = 0;
    // Those the queue holds are accepted at once; a second of silence means none are left.
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), listener.accept()).await {
        accepted += 1;
        if accepted == STORM {
            break;
        }
    }
    assert_eq!(
        accepted, STORM,
        "connections lost before the hub could accept them"
    );
    drop(clients);
}
