//! The byte stream under a client connection: plain TCP, or TLS over it. One enum per half,
//! so the plain path is the socket's own halves with no lock and no box.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::ConnError;
use crate::tls::{client_config, Fingerprint, Trust, BINDING_LEN, EXPORTER_LABEL};

/// How to speak TLS to a hub: whom to trust and the name to ask for (and, with a CA, to
/// check the certificate against).
#[derive(Clone, Debug)]
pub struct TlsDial {
    config: Arc<rustls::ClientConfig>,
    trust: Trust,
    name: ServerName<'static>,
}

impl TlsDial {
    /// TLS to the hub at `host` (a DNS name or an IP address), trusting it as `trust` says.
    pub fn new(host: &str, trust: Trust) -> Result<TlsDial, ConnError> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ConnError::Tls(format!("{host:?} is not a host name or address")))?;
        let config = client_config(&trust).map_err(|e| ConnError::Tls(e.to_string()))?;
        Ok(TlsDial {
            config,
            trust,
            name,
        })
    }
}

/// What a TLS session gave the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// The SHA-256 of the hub's end-entity certificate.
    pub fingerprint: Fingerprint,
    /// The session's RFC 9266 `tls-exporter` value, which login signatures cover.
    pub binding: [u8; BINDING_LEN],
}

/// The receiving half of a hub stream.
pub enum ReadHalf {
    /// Plain TCP: the socket's own half.
    Tcp(OwnedReadHalf),
    /// TLS over TCP.
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
}

/// The sending half of a hub stream.
pub enum WriteHalf {
    /// Plain TCP: the socket's own half.
    Tcp(OwnedWriteHalf),
    /// TLS over TCP.
    Tls(tokio::io::WriteHalf<TlsStream<TcpStream>>),
}

/// Open `stream` as `tls` says (or leave it plain: `TCP_NODELAY` either way), and split it;
/// for clients that frame the bytes themselves (the load generator). A pinned fingerprint
/// that does not match is [`ConnError::CertChanged`].
pub async fn open(
    stream: TcpStream,
    tls: Option<&TlsDial>,
) -> Result<(ReadHalf, WriteHalf, Option<TlsInfo>), ConnError> {
    stream.set_nodelay(true)?;
    let Some(tls) = tls else {
        let (rd, wr) = stream.into_split();
        return Ok((ReadHalf::Tcp(rd), WriteHalf::Tcp(wr), None));
    };
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let stream = connector
        .connect(tls.name.clone(), stream)
        .await
        .map_err(|e| ConnError::Tls(handshake_error(e)))?;
    let session = stream.get_ref().1;
    let cert = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| ConnError::Tls("the hub showed no certificate".into()))?;
    let fingerprint = Fingerprint::of(cert);
    if let Trust::Pin(Some(pinned)) = tls.trust {
        if pinned != fingerprint {
            return Err(ConnError::CertChanged {
                pinned,
                presented: fingerprint,
            });
        }
    }
    let mut binding = [0u8; BINDING_LEN];
    session
        .export_keying_material(&mut binding, EXPORTER_LABEL, None)
        .map_err(|e| ConnError::Tls(e.to_string()))?;
    let (rd, wr) = tokio::io::split(stream);
    let info = TlsInfo {
        fingerprint,
        binding,
    };
    Ok((ReadHalf::Tls(rd), WriteHalf::Tls(wr), Some(info)))
}

/// A failed handshake in words: a hub that speaks plain TCP answers the client hello with a
/// frame, which rustls reports as a corrupt message.
fn handshake_error(e: io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidMessage(_)) => {
            format!(
                "the hub did not answer in TLS ({e}): a plain-TCP hub, or one refusing the \
                 connection in plain words (a full hub does)"
            )
        }
        _ if e.kind() == io::ErrorKind::UnexpectedEof => {
            format!("the hub closed the connection during the TLS handshake ({e})")
        }
        _ => format!("the TLS handshake failed: {e}"),
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
            ReadHalf::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            WriteHalf::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Tcp(s) => s.is_write_vectored(),
            WriteHalf::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_flush(cx),
            WriteHalf::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            WriteHalf::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
