//! A client that speaks raw bytes, for sending what a well-behaved client never would.

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use shared::{ErrorKind, FrameCodec, HubMsg, UserId};

use crate::wait::WAIT;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

/// A connection whose welcome has been read and whose writes are raw bytes.
pub struct Raw {
    /// The id its welcome named.
    pub user_id: UserId,
    /// Frames from the hub.
    pub rd: FramedRead<OwnedReadHalf, FrameCodec>,
    /// Raw bytes to the hub.
    pub wr: OwnedWriteHalf,
    /// How long [`Raw::next`] waits; tests on paused time raise it past the hub's deadlines.
    pub wait: Duration,
}

/// What a raw client saw next.
#[derive(Debug)]
pub enum Seen {
    /// A message from the hub.
    Msg(HubMsg),
    /// The hub closed the stream (FIN) or reset it.
    Closed,
}

impl Raw {
    /// Connect and read the welcome.
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Raw::from_stream(stream).await
    }

    /// Read the welcome on an already connected stream.
    pub async fn from_stream(stream: TcpStream) -> Raw {
        let (rd, wr) = stream.into_split();
        let mut raw = Raw {
            user_id: UserId(0),
            rd: FramedRead::new(rd, FrameCodec::new()),
            wr,
            wait: WAIT,
        };
        match raw.next().await {
            Seen::Msg(HubMsg::Welcome { user_id, .. }) => raw.user_id = user_id,
            other => panic!("expected a welcome, got {other:?}"),
        }
        raw
    }

    /// Write bytes; the hub may already have closed, so errors are returned, not fatal.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.wr.write_all(bytes).await
    }

    /// The next message, or `Closed` once the stream has ended.
    pub async fn next(&mut self) -> Seen {
        match tokio::time::timeout(self.wait, self.rd.next()).await {
            Err(_) => panic!("the hub neither answered nor closed in time"),
            Ok(Some(Ok(payload))) => Seen::Msg(HubMsg::decode(&payload).expect("hub speaks")),
            Ok(_) => Seen::Closed,
        }
    }

    /// Reset the connection (RST instead of FIN).
    pub fn reset(self) {
        let stream = self.rd.into_inner().reunite(self.wr).expect("same stream");
        stream.set_zero_linger().expect("linger");
    }

    /// Expect the hub's goodbye error of this `kind` (skipping keepalives), then the close.
    pub async fn expect_goodbye(&mut self, kind: ErrorKind) {
        loop {
            match self.next().await {
                Seen::Msg(HubMsg::KeepAlive) => continue,
                Seen::Msg(HubMsg::Error {
                    req: None, kind: k, ..
                }) => {
                    assert_eq!(k, kind, "goodbye names the cause");
                    break;
                }
                other => panic!("expected a {kind:?} goodbye, got {other:?}"),
            }
        }
        assert!(
            matches!(self.next().await, Seen::Closed),
            "the hub closes after its goodbye"
        );
    }
}

/// A frame: the big-endian length of `payload`, then `payload`.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}
