//! `hub --health-listen ADDR`: a health check for load balancers (HAProxy's `option httpchk`,
//! a container's probe) on a port of its own, so that a check is not a client: it gets no id,
//! no watcher hears it come and go, and a hub at its connection limit still answers it.
//!
//! Whatever the request (up to [`MAX_REQUEST`] bytes, read until its blank line or for at
//! most [`READ_TIMEOUT`]), the answer is HTTP/1.0 `200 OK` while the hub serves, full or not
//! (a full hub is alive, and marking it down would cut its sessions), and
//! `503 Service Unavailable` once it is shutting down, so that new clients go elsewhere while
//! it lets the old ones go. The body is one line: `serving N connections` or
//! `shutting down`. Then the connection closes. At most [`MAX_CHECKS`] are answered at once;
//! one more is closed unanswered.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::Inspector;

/// Longest a check may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Most request bytes read; the rest is not looked at.
pub const MAX_REQUEST: usize = 4096;
/// Most checks answered at once.
pub const MAX_CHECKS: usize = 64;

/// Answer health checks on `listener` for the hub `inspector` looks at, until the process
/// ends: `503` from the moment `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, inspector: Inspector, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(MAX_CHECKS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: the next accept may work.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let (inspector, shutdown) = (inspector.clone(), shutdown.clone());
        tokio::spawn(async move {
            answer(stream, &inspector, &shutdown).await;
            drop(permit);
        });
    }
}

/// Answer one check on `stream` (what [`serve`] does with each connection it accepts).
pub async fn answer(stream: TcpStream, inspector: &Inspector, shutdown: &CancellationToken) {
    if let Err(e) = respond(stream, inspector, shutdown).await {
        debug!(error = %e, "health check");
    }
}

async fn respond(
    mut stream: TcpStream,
    inspector: &Inspector,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    // The request is read (not answered before it came, which would reset the connection
    // under a client still sending) but not parsed: every path gets the same answer.
    let mut request = Vec::with_capacity(256);
    let _ = tokio::time::timeout(READ_TIMEOUT, async {
        let mut buf = [0u8; 512];
        while request.len() < MAX_REQUEST && !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let (status, body) = if shutdown.is_cancelled() {
        ("503 Service Unavailable", "shutting down\n".to_owned())
    } else {
        let n = inspector.connections();
        ("200 OK", format!("serving {n} connections\n"))
    };
    let response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
