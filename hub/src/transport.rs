//! A connection's byte stream: the accepted TCP socket itself, or, over TLS, one end of a
//! socket pair whose other end a pump task joins to the TLS session.
//!
//! The writer writes many frames per syscall with `try_write_vectored` and waits on
//! `writable`, which a TLS stream does not offer; the pump keeps that writer, its deadlines
//! and its slow-consumer rule as they are for both. Plain TCP is an enum variant holding the
//! socket's own halves: no lock, no box, no extra hop. TLS pays one local copy each way.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use shared::tls::{BINDING_LEN, EXPORTER_LABEL};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{tcp, unix, TcpStream, UnixStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::close::{goodbye, Close, CloseReason};

/// The first byte of every TLS client hello: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Bytes the pump moves from the writer to the TLS session per read: one TLS record's worth
/// of plaintext (16 KiB), so a 1 MiB body goes out in full records.
const PUMP_CHUNK: usize = 16 * 1024;

/// What a client that speaks plain TCP to a TLS hub is told.
const PLAIN_CLIENT_TEXT: &str = "this hub speaks TLS: connect with --tls or a tls:// address";

/// The receiving half of a connection's stream.
pub(crate) enum ReadHalf {
    /// The TCP socket's.
    Tcp(tcp::OwnedReadHalf),
    /// The socket pair's, for TLS.
    Local(unix::OwnedReadHalf),
}

/// The sending half of a connection's stream.
pub(crate) enum WriteHalf {
    /// The TCP socket's.
    Tcp(tcp::OwnedWriteHalf),
    /// The socket pair's, for TLS.
    Local(unix::OwnedWriteHalf),
}

/// A connection's stream, opened.
pub(crate) struct Opened {
    pub rd: ReadHalf,
    pub wr: WriteHalf,
    /// The TLS session's `tls-exporter` value; `None` over plain TCP.
    pub binding: Option<Box<[u8; BINDING_LEN]>>,
    /// The task joining the TLS session to the socket pair; `None` over plain TCP.
    pub pump: Option<Pump>,
}

/// Why a connection's stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The client did not finish the TLS handshake within the timeout.
    #[error("the TLS handshake took longer than {0:?}")]
    HandshakeTimeout(Duration),
    /// The client sent no TLS hello first (or nothing within the timeout): it was told so in a
    /// plain goodbye.
    #[error("the client did not start a TLS handshake (a plain-TCP client?)")]
    NotTls,
    /// The handshake failed (a bad hello, a reset).
    #[error("the TLS handshake failed: {0}")]
    Handshake(io::Error),
    /// The socket pair or the exporter failed.
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// Take `stream` as is, or run the TLS handshake on it (at most `timeout`) and start a pump.
pub(crate) async fn open(
    mut stream: TcpStream,
    tls: Option<&Arc<rustls::ServerConfig>>,
    timeout: Duration,
) -> Result<Opened, OpenError> {
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        let (rd, wr) = stream.into_split();
        return Ok(Opened {
            rd: ReadHalf::Tcp(rd),
            wr: WriteHalf::Tcp(wr),
            binding: None,
            pump: None,
        });
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
        Ok(Ok(1..)) if first[0] == TLS_HANDSHAKE_RECORD => {}
        Ok(Ok(_)) | Err(_) => {
            // A plain-TCP client of ours says nothing and waits for the welcome: tell it in
            // a frame it can read, instead of a silence it would only take for a dead hub.
            // What it sent is read first: closing on unread bytes would be a reset, which
            // can overtake the goodbye.
            let mut sent = [0u8; 4096];
            while matches!(stream.try_read(&mut sent), Ok(1..)) {}
            let bye = Close::with_text(CloseReason::Malformed, PLAIN_CLIENT_TEXT);
            let bye = goodbye(&bye).expect("a malformed stream gets a goodbye");
            let _ = stream.try_write(&bye);
            let _ = tokio::time::timeout_at(deadline, stream.shutdown()).await;
            return Err(OpenError::NotTls);
        }
        Ok(Err(e)) => return Err(OpenError::Handshake(e)),
    }
    let acceptor = TlsAcceptor::from(tls.clone());
    let session = tokio::time::timeout_at(deadline, acceptor.accept(stream))
        .await
        .map_err(|_| OpenError::HandshakeTimeout(timeout))?
        .map_err(OpenError::Handshake)?;
    let mut binding = Box::new([0u8; BINDING_LEN]);
    session
        .get_ref()
        .1
        .export_keying_material(&mut binding[..], EXPORTER_LABEL, None)
        .map_err(|e| OpenError::Setup(e.to_string()))?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| OpenError::Setup(e.to_string()))?;
    let pump = tokio::spawn(pump(session, theirs));
    let (rd, wr) = ours.into_split();
    Ok(Opened {
        rd: ReadHalf::Local(rd),
        wr: WriteHalf::Local(wr),
        binding: Some(binding),
        pump: Some(Pump(pump)),
    })
}

/// Copy between the TLS session and the socket pair until the hub's side is done: its FIN
/// (the writer's end) becomes TLS close_notify and ends the pump, whatever the client still
/// sends; the client's end of stream, or a failure, becomes the reader's end of stream.
async fn pump(session: tokio_rustls::server::TlsStream<TcpStream>, theirs: UnixStream) {
    let (mut tls_rd, mut tls_wr) = tokio::io::split(session);
    let (mut local_rd, mut local_wr) = theirs.into_split();
    let down = async {
        pass_down(&mut local_rd, &mut tls_wr).await;
        let _ = tls_wr.shutdown().await;
    };
    let up = async {
        let _ = tokio::io::copy(&mut tls_rd, &mut local_wr).await;
        let _ = local_wr.shutdown().await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = down => {}
        () = up => {}
    }
}

/// Pass what the writer wrote to the TLS session until its end of stream, holding a read
/// buffer only while bytes flow: an idle connection keeps none (as the reader's frames do).
async fn pass_down<W: AsyncWrite + Unpin>(local: &mut unix::OwnedReadHalf, tls: &mut W) {
    loop {
        if local.readable().await.is_err() {
            return;
        }
        let mut buf = vec![0u8; PUMP_CHUNK];
        loop {
            match local.try_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return,
            }
        }
        // Everything there was is in the session: out with it before waiting again.
        if tls.flush().await.is_err() {
            return;
        }
    }
}

/// The task joining a TLS session to its socket pair.
pub(crate) struct Pump(JoinHandle<()>);

impl Pump {
    /// Let the pump pass on what the writer wrote for up to `flush`, or until `hard_stop`,
    /// then stop it: a client that stopped reading must not keep it alive.
    pub(crate) async fn finish(self, flush: Duration, hard_stop: &CancellationToken) {
        let mut task = self.0;
        tokio::select! {
            _ = &mut task => {}
            () = tokio::time::sleep(flush) => task.abort(),
            () = hard_stop.cancelled() => task.abort(),
        }
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            ReadHalf::Local(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl WriteHalf {
    /// Write what the socket takes now, without waiting.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write(buf),
            WriteHalf::Local(s) => s.try_write(buf),
        }
    }

    /// Write from several buffers what the socket takes now, without waiting.
    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write_vectored(bufs),
            WriteHalf::Local(s) => s.try_write_vectored(bufs),
        }
    }

    /// Wait until the socket may take more.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(s) => s.writable().await,
            WriteHalf::Local(s) => s.writable().await,
        }
    }

    /// Send FIN.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(s) => s.shutdown().await,
            WriteHalf::Local(s) => s.shutdown().await,
        }
    }
}
