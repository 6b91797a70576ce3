//! A TCP proxy on a loopback port in front of one upstream (a hub's NATS), which a test can
//! cut off and heal, to play a network partition between one hub and the rest.
//!
//! - [`Proxy::refuse`]: every connection through it is reset at once, and a new one is
//!   refused (nobody listens on its port): what a peer sees when the far host is up but its
//!   port is closed, or a firewall answers with a reset.
//! - [`Proxy::black_hole`]: nothing is reset and nothing answers: bytes already in a
//!   connection, and a new connection's bytes, go nowhere until [`Proxy::heal`]. What a real
//!   partition looks like: only the peer's own timeouts (NATS pings) tell it something is
//!   wrong. A new connection is taken (on loopback the kernel completes the handshake before
//!   anyone accepts it) but its server never speaks. At the heal, what waited is passed on in
//!   order, as TCP's retransmissions would; a connection its client gave up on meanwhile ends.
//! - [`Proxy::heal`]: connections pass again.
//!
//! The proxy runs on a thread and runtime of its own, so that a test's runtime being busy
//! (or blocked) never stalls it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How a proxy treats its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Bytes pass both ways.
    Open,
    /// Connections are reset; nobody listens.
    Refusing,
    /// Connections stay, bytes wait; new connections are taken and wait.
    BlackHole,
    /// The proxy is being dropped.
    Closed,
}

/// What the proxy's thread and the test share.
#[derive(Debug, Default)]
struct Counts {
    /// Connections taken since the proxy started.
    accepted: AtomicUsize,
    /// Connections open now.
    open: AtomicUsize,
}

/// A proxy to one upstream address; stopped on drop.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect to reach the upstream.
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    counts: Arc<Counts>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on a free loopback port to `upstream`, open.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let (mode, watching) = watch::channel(Mode::Open);
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        let thread = std::thread::Builder::new()
            .name("testkit-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the proxy's runtime");
                rt.block_on(serve(listener, upstream, watching, shared));
            })
            .expect("the proxy's thread");
        Proxy {
            addr,
            mode,
            counts,
            thread: Some(thread),
        }
    }

    /// `nats://ADDR`: the proxy's address as async-nats and `hub --cluster` take it.
    pub fn nats_url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Reset every connection and refuse new ones until [`Self::heal`].
    pub fn refuse(&self) {
        self.mode.send_replace(Mode::Refusing);
    }

    /// Hold every byte, both ways, and take new connections without passing anything on,
    /// until [`Self::heal`]: a silent partition.
    pub fn black_hole(&self) {
        self.mode.send_replace(Mode::BlackHole);
    }

    /// Pass bytes again (and listen again after [`Self::refuse`]).
    pub fn heal(&self) {
        self.mode.send_replace(Mode::Open);
    }

    /// Connections taken since the proxy started (a client that reconnects adds one).
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }

    /// Connections open through it now.
    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Closed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Wait until the mode is not `Refusing` or `Closed`: listen and accept meanwhile; stop
/// listening while refusing (the port is closed), and listen again on the same port after.
async fn serve(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    counts: Arc<Counts>,
) {
    let addr = listener.local_addr().expect("the proxy's address");
    let mut listener = Some(TcpListener::from_std(listener).expect("a tokio listener"));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Closed => break,
            Mode::Refusing => {
                listener = None;
                if mode.changed().await.is_err() {
                    break;
                }
                continue;
            }
            Mode::Open | Mode::BlackHole => {}
        }
        let Some(listening) = listener.as_ref() else {
            // Back from refusing: the same port (tokio sets SO_REUSEADDR, so the reset
            // connections' TIME_WAIT does not hold it).
            match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(e) => panic!("the proxy cannot listen on {addr} again: {e}"),
            }
            continue;
        };
        tokio::select! {
            changed = mode.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            taken = listening.accept() => {
                if let Ok((client, _)) = taken {
                    counts.accepted.fetch_add(1, Ordering::SeqCst);
                    connections.spawn(relay(client, upstream, mode.clone(), counts.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// One client's connection: to the upstream and back, as the mode allows, until either side
/// closes or the proxy refuses (then both are reset).
async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    mode: watch::Receiver<Mode>,
    counts: Arc<Counts>,
) {
    counts.open.fetch_add(1, Ordering::SeqCst);
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        counts.open.fetch_sub(1, Ordering::SeqCst);
        let _ = client.set_zero_linger();
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let refused = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let mut cut = mode.clone();
        tokio::select! {
            _ = async {
                tokio::join!(
                    pipe(client_read, server_write, mode.clone()),
                    pipe(server_read, client_write, mode.clone()),
                )
            } => false,
            _ = cut.wait_for(|m| matches!(m, Mode::Refusing | Mode::Closed)) => true,
        }
    };
    if refused {
        // A reset, not a close: the peer hears at once that the connection is gone.
        let _ = (client.set_zero_linger(), server.set_zero_linger());
    }
    counts.open.fetch_sub(1, Ordering::SeqCst);
}

/// Copy `from` to `to` while the mode is open, holding (not dropping) what was read while it
/// is not; at the end of `from`, close `to`'s writing side.
async fn pipe(
    mut from: tokio::net::tcp::ReadHalf<'_>,
    mut to: tokio::net::tcp::WriteHalf<'_>,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if passing(&mut mode).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if passing(&mut mode).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// Wait until bytes may pass; an error once they never will (refused, closed).
async fn passing(mode: &mut watch::Receiver<Mode>) -> Result<(), ()> {
    match mode.wait_for(|m| *m != Mode::BlackHole).await {
        Ok(m) if *m == Mode::Open => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::eventually_async;

    /// An upstream that echoes every byte back.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = conn.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(conn: &mut TcpStream, byte: u8) -> std::io::Result<u8> {
        conn.write_all(&[byte]).await?;
        let mut got = [0u8; 1];
        conn.read_exact(&mut got).await?;
        Ok(got[0])
    }

    #[tokio::test]
    async fn a_black_hole_holds_bytes_a_refusal_resets_and_a_heal_lets_them_pass() {
        let proxy = Proxy::start(echo().await);
        let mut conn = TcpStream::connect(proxy.addr).await.expect("connect");
        assert_eq!(round_trip(&mut conn, 1).await.expect("open"), 1);

        // Black hole: a new connection is taken, and what either sends is held, not lost.
        proxy.black_hole();
        let mut held = TcpStream::connect(proxy.addr).await.expect("taken");
        held.write_all(&[2]).await.expect("write");
        conn.write_all(&[3]).await.expect("write");
        crate::eventually("the proxy to take the new connection", || {
            proxy.accepted() == 2
        })
        .await;
        proxy.heal();
        let mut got = [0u8; 1];
        held.read_exact(&mut got).await.expect("held, then passed");
        assert_eq!(got, [2]);
        conn.read_exact(&mut got).await.expect("held, then passed");
        assert_eq!(got, [3]);

        // Refusing: open connections are reset, new ones refused; healed, they pass again.
        proxy.refuse();
        let mut buf = [0u8; 1];
        assert!(matches!(conn.read(&mut buf).await, Ok(0) | Err(_)), "reset");
        eventually_async("the proxy to refuse connections", async || {
            TcpStream::connect(proxy.addr).await.is_err().then_some(())
        })
        .await;
        proxy.heal();
        let mut again = eventually_async("the proxy to listen again", async || {
            TcpStream::connect(proxy.addr).await.ok()
        })
        .await;
        assert_eq!(round_trip(&mut again, 4).await.expect("open again"), 4);
    }
}
