//! A client's end of a hub connection: connect, read the welcome, then send and receive
//! messages. Used by the terminal client, the benchmarks and every test.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::codec::FrameCodec;
use crate::error::{DecodeError, EncodeError};
use crate::id::UserId;
use crate::limits::Limits;
use crate::message::{ClientMsg, ErrorKind, HubMsg, PROTOCOL_VERSION};

/// Why a connection could not be used.
#[derive(Debug, Error)]
pub enum ConnError {
    /// The hub could not be reached, or the socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The hub sent bytes that are not a message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The hub closed the connection.
    #[error("the hub closed the connection")]
    Closed,
    /// The hub speaks another protocol version.
    #[error("the hub speaks protocol version {hub}, this program speaks {ours}")]
    Version {
        /// The hub's version.
        hub: u32,
        /// Ours.
        ours: u32,
    },
    /// The hub refused the connection (for example because it is full).
    #[error("the hub refused the connection ({kind:?}): {text}")]
    Refused {
        /// Why.
        kind: ErrorKind,
        /// The hub's words.
        text: String,
    },
    /// The first frame was not a welcome.
    #[error("the hub did not start with a welcome but with {0}")]
    NoWelcome(String),
}

/// What the hub said in its welcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// This connection's identity.
    pub user_id: UserId,
    /// The limits the hub enforces.
    pub limits: Limits,
}

/// The receiving half of a connection.
pub struct ConnReader {
    frames: FramedRead<OwnedReadHalf, FrameCodec>,
}

/// The sending half of a connection.
pub struct ConnWriter {
    frames: FramedWrite<OwnedWriteHalf, FrameCodec>,
}

/// A connection to a hub, welcome already read.
pub struct Connection {
    /// What the hub said when we connected.
    pub welcome: Welcome,
    reader: ConnReader,
    writer: ConnWriter,
}

impl Connection {
    /// Connect to a hub and read its welcome.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Connection, ConnError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (rd, wr) = stream.into_split();
        let mut reader = ConnReader {
            frames: FramedRead::new(rd, FrameCodec::new()),
        };
        let writer = ConnWriter {
            frames: FramedWrite::new(wr, FrameCodec::new()),
        };
        let welcome = match reader.recv_welcome().await? {
            HubMsg::Welcome {
                version: PROTOCOL_VERSION,
                user_id,
                limits,
            } => Welcome { user_id, limits },
            HubMsg::Welcome { version, .. } => {
                return Err(ConnError::Version {
                    hub: version,
                    ours: PROTOCOL_VERSION,
                })
            }
            HubMsg::Error { kind, text, .. } => return Err(ConnError::Refused { kind, text }),
            other => return Err(ConnError::NoWelcome(format!("{other:?}"))),
        };
        Ok(Connection {
            welcome,
            reader,
            writer,
        })
    }

    /// This connection's identity.
    pub fn user_id(&self) -> UserId {
        self.welcome.user_id
    }

    /// Send one message and flush it.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), ConnError> {
        self.writer.send(msg).await
    }

    /// Receive the next message.
    pub async fn recv(&mut self) -> Result<HubMsg, ConnError> {
        self.reader.recv().await
    }

    /// Split into halves that can live in different tasks.
    pub fn split(self) -> (ConnReader, ConnWriter) {
        (self.reader, self.writer)
    }
}

impl ConnReader {
    /// Receive the first frame. A welcome's tag and version come first and never change, so
    /// they are checked before the rest: a hub of another version gets a clear
    /// [`ConnError::Version`] even if the rest of its welcome has changed shape.
    async fn recv_welcome(&mut self) -> Result<HubMsg, ConnError> {
        let payload = match self.frames.next().await {
            Some(frame) => frame?,
            None => return Err(ConnError::Closed),
        };
        const WELCOME_TAG: u32 = 0;
        if let Ok(((WELCOME_TAG, version), _)) = postcard::take_from_bytes::<(u32, u32)>(&payload) {
            if version != PROTOCOL_VERSION {
                return Err(ConnError::Version {
                    hub: version,
                    ours: PROTOCOL_VERSION,
                });
            }
        }
        Ok(HubMsg::decode(&payload)?)
    }

    /// Receive the next message; [`ConnError::Closed`] once the hub has closed the stream.
    pub async fn recv(&mut self) -> Result<HubMsg, ConnError> {
        match self.frames.next().await {
            Some(Ok(payload)) => Ok(HubMsg::decode(&payload)?),
            Some(Err(e)) => Err(e.into()),
            None => Err(ConnError::Closed),
        }
    }
}

impl ConnWriter {
    /// Send one message and flush it. (A message with a borrowed body can be sent with
    /// `send_frame(msg.to_frame()?)`.)
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), ConnError> {
        self.send_frame(msg.to_frame()?).await
    }

    /// Send a frame made by `to_frame` and flush it.
    pub async fn send_frame(&mut self, frame: Bytes) -> Result<(), ConnError> {
        Ok(self.frames.send(frame).await?)
    }

    /// Queue a message without flushing, to batch many into few writes; see [`Self::flush`].
    pub async fn feed(&mut self, msg: &ClientMsg) -> Result<(), ConnError> {
        Ok(self.frames.feed(msg.to_frame()?).await?)
    }

    /// Write out everything fed so far.
    pub async fn flush(&mut self) -> Result<(), ConnError> {
        Ok(self.frames.flush().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A one-shot server that sends `frame` and keeps the socket open.
    async fn serve_once(frame: Vec<u8>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            socket.write_all(&frame).await.expect("write");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_hub_of_another_version_is_a_clear_error_whatever_follows() {
        // Tag 0 (welcome), version 2, then bytes this version could not decode.
        let addr = serve_once(vec![0, 0, 0, 5, 0, 2, 0xFF, 0xFF, 0xFF]).await;
        match Connection::connect(addr).await {
            Err(ConnError::Version { hub: 2, ours }) => assert_eq!(ours, PROTOCOL_VERSION),
            Err(e) => panic!("expected a version error, got {e}"),
            Ok(_) => panic!("expected a version error, got a connection"),
        }
    }

    #[tokio::test]
    async fn a_first_frame_that_is_not_a_welcome_is_refused() {
        let pong = HubMsg::<Bytes>::Pong {
            req: crate::RequestId(1),
        }
        .to_frame()
        .expect("encodes");
        let addr = serve_once(pong.to_vec()).await;
        assert!(matches!(
            Connection::connect(addr).await,
            Err(ConnError::NoWelcome(_))
        ));
    }
}
