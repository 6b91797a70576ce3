//! The PROXY protocol, version 2 (HAProxy's `send-proxy-v2`): a load balancer in front of the
//! hubs (docs/CLUSTER-haproxy.md) opens each connection with a binary header naming the
//! client's address, which the hub would otherwise never see (every connection would come from
//! the balancer). With `hub --proxy-protocol` every connection must start with one; the
//! address it names is the connection's for the per-address rate limits and the logs.
//!
//! The header is read to its last byte and no further, so the client's own bytes after it are
//! left in the socket for the TLS handshake or the frames. Parsing is `ppp`'s.

use std::net::IpAddr;
use std::time::Duration;

use ppp::v2::{Addresses, Header, PROTOCOL_PREFIX};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Longest a connection may take to send its header: a balancer sends it at once.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The fixed part of a v2 header: the 12-byte signature, version and command, family and
/// protocol, and the 2-byte length of the rest.
const FIXED_LEN: usize = 16;

/// Most bytes of a header's addresses and TLVs taken: HAProxy sends the addresses (36 bytes
/// for IPv6) and a few TLVs; the format allows 64 KiB.
pub const MAX_HEADER_REST: usize = 1024;

/// Why a connection's PROXY header was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    #[error("no PROXY protocol header within {HEADER_TIMEOUT:?}")]
    Timeout,
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
    #[error("the connection did not start with a PROXY protocol v2 header")]
    NotProxy,
    #[error("a PROXY protocol header of {0} bytes (at most {MAX_HEADER_REST} taken)")]
    TooLong(usize),
    #[error("a malformed PROXY protocol header: {0}")]
    Malformed(String),
}

/// Read the PROXY header `stream` starts with: the client's address it names, or `None` for
/// one that names none (a `LOCAL` command, as a balancer's own check sends, or a Unix socket).
pub(crate) async fn read_header(stream: &mut TcpStream) -> Result<Option<IpAddr>, ProxyError> {
    tokio::time::timeout(HEADER_TIMEOUT, read(stream))
        .await
        .map_err(|_| ProxyError::Timeout)?
}

async fn read(stream: &mut TcpStream) -> Result<Option<IpAddr>, ProxyError> {
    let mut header = vec![0u8; FIXED_LEN];
    stream.read_exact(&mut header).await?;
    if !header.starts_with(PROTOCOL_PREFIX) {
        return Err(ProxyError::NotProxy);
    }
    let rest = usize::from(u16::from_be_bytes([header[14], header[15]]));
    if rest > MAX_HEADER_REST {
        return Err(ProxyError::TooLong(rest));
    }
    header.resize(FIXED_LEN + rest, 0);
    stream.read_exact(&mut header[FIXED_LEN..]).await?;
    let parsed = Header::try_from(&header[..]).map_err(|e| ProxyError::Malformed(e.to_string()))?;
    Ok(match parsed.addresses {
        Addresses::IPv4(a) => Some(IpAddr::V4(a.source_address)),
        Addresses::IPv6(a) => Some(IpAddr::V6(a.source_address)),
        Addresses::Unspecified | Addresses::Unix(_) => None,
    })
}
