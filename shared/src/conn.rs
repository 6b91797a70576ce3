//! A client's end of a hub connection: connect (over TCP, or TLS with a [`TlsDial`]), read
//! the welcome, agree on a version, then send and receive messages. Used by the terminal client, the benchmarks and every test.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_util::codec::{FramedRead, FramedWrite};

mod account;
mod error;
mod transport;

pub use account::{LoggedIn, ACCOUNTS_VERSION, ACCOUNT_REQ, ANSWER_BACKLOG_MAX};
pub use error::ConnError;
pub use transport::{open as open_stream, ReadHalf, TlsDial, TlsInfo, WriteHalf};

use crate::codec::FrameCodec;
use crate::id::{RequestId, UserId};
use crate::limits::Limits;
use crate::message::{ClientMsg, ErrorKind, HubMsg, BASE_VERSION, PROTOCOL_VERSION};

/// The request id of the [`ClientMsg::Hello`] this module sends. Its answer is recognised by
/// type and id, and only until it has come, so it can never hide the answer to a request of the
/// caller's, whatever ids the caller uses.
pub const HELLO_REQ: RequestId = RequestId(0);

/// Most pushes kept while [`Connection::connect`] waits for the hub's [`HubMsg::Hello`]. The
/// hub answers the hello before any later request, so only relays other users aimed at this
/// connection in that instant come first; past this many, `connect` stops waiting and
/// [`ConnReader::recv`] takes the answer out of the stream when it passes.
pub const PENDING_MAX: usize = 64;

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
    frames: FramedRead<ReadHalf, FrameCodec>,
    /// Messages read while waiting for the hub's hello, at most [`PENDING_MAX`].
    pending: VecDeque<HubMsg>,
    /// The version this connection speaks.
    version: u32,
    /// The version a hello announced, until its answer has been read.
    awaiting_hello: Option<u32>,
}

/// The sending half of a connection.
pub struct ConnWriter {
    frames: FramedWrite<WriteHalf, FrameCodec>,
}

/// A connection to a hub, welcome already read.
pub struct Connection {
    /// What the hub said when we connected.
    pub welcome: Welcome,
    /// The account this connection is logged in as, once [`Connection::login`] or
    /// [`Connection::register`] succeeded.
    account: Option<LoggedIn>,
    /// What TLS gave this connection; `None` over plain TCP.
    tls: Option<TlsInfo>,
    reader: ConnReader,
    writer: ConnWriter,
}

impl Connection {
    /// Connect to a hub, read its welcome and agree on [`PROTOCOL_VERSION`] or the hub's
    /// highest, whichever is lower (see [`Connection::version`]).
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Connection, ConnError> {
        Self::connect_speaking(addr, PROTOCOL_VERSION).await
    }

    /// Connect as a client whose highest version is `highest`. At [`BASE_VERSION`] no hello is
    /// sent, as a client built before versions were agreed would do. A hub older than the
    /// hello closes the connection on it; then this connects again and stays at the base.
    pub async fn connect_speaking(
        addr: impl ToSocketAddrs,
        highest: u32,
    ) -> Result<Connection, ConnError> {
        Self::connect_with(addr, None, highest).await
    }

    /// Connect over TLS as `tls` says; otherwise as [`Connection::connect`].
    pub async fn connect_tls(
        addr: impl ToSocketAddrs,
        tls: &TlsDial,
    ) -> Result<Connection, ConnError> {
        Self::connect_with(addr, Some(tls), PROTOCOL_VERSION).await
    }

    /// Connect over TLS if `tls` is given, else plain TCP, as a client whose highest version
    /// is `highest` (see [`Connection::connect_speaking`]).
    pub async fn connect_with(
        addr: impl ToSocketAddrs,
        tls: Option<&TlsDial>,
        highest: u32,
    ) -> Result<Connection, ConnError> {
        let stream = TcpStream::connect(addr).await?;
        let hub = stream.peer_addr()?;
        let mut conn = Self::open(stream, tls).await?;
        if highest <= BASE_VERSION {
            return Ok(conn);
        }
        let hello = ClientMsg::<Bytes>::Hello {
            req: HELLO_REQ,
            version: highest,
        };
        conn.writer.send_frame(hello.to_frame()?).await?;
        conn.reader.awaiting_hello = Some(highest);
        match conn.reader.wait_for_hello().await {
            Err(ConnError::Refused {
                kind: ErrorKind::Malformed,
                ..
            }) => Self::open(TcpStream::connect(hub).await?, tls).await,
            Err(e) => Err(e),
            Ok(()) => Ok(conn),
        }
    }

    /// Read the welcome on a fresh socket.
    async fn open(stream: TcpStream, tls: Option<&TlsDial>) -> Result<Connection, ConnError> {
        let (rd, wr, tls) = transport::open(stream, tls).await?;
        let mut reader = ConnReader {
            frames: FramedRead::new(rd, FrameCodec::new()),
            pending: VecDeque::new(),
            version: BASE_VERSION,
            awaiting_hello: None,
        };
        let writer = ConnWriter {
            frames: FramedWrite::new(wr, FrameCodec::new()),
        };
        let welcome = match reader.recv_welcome().await? {
            HubMsg::Welcome {
                version: BASE_VERSION,
                user_id,
                limits,
            } => Welcome { user_id, limits },
            HubMsg::Welcome { version, .. } => {
                return Err(ConnError::Version {
                    hub: version,
                    ours: BASE_VERSION,
                })
            }
            HubMsg::Error { kind, text, .. } => return Err(ConnError::Refused { kind, text }),
            other => return Err(ConnError::NoWelcome(format!("{other:?}"))),
        };
        Ok(Connection {
            welcome,
            account: None,
            tls,
            reader,
            writer,
        })
    }

    /// This connection's identity: the welcome's anonymous id, or the account's once logged in
    /// (from then on the hub stamps our relays with it).
    pub fn user_id(&self) -> UserId {
        self.account
            .as_ref()
            .map_or(self.welcome.user_id, |a| a.user_id)
    }

    /// The protocol version this connection speaks: [`BASE_VERSION`] until the hub's answer to
    /// the hello has been read, then the version agreed.
    pub fn version(&self) -> u32 {
        self.reader.version
    }

    /// What TLS gave this connection (the hub's certificate fingerprint, the channel
    /// binding); `None` over plain TCP.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
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
    /// they are checked before the rest: a hub of another protocol gets a clear
    /// [`ConnError::Version`] even if the rest of its welcome has another shape.
    async fn recv_welcome(&mut self) -> Result<HubMsg, ConnError> {
        let payload = match self.frames.next().await {
            Some(frame) => frame?,
            None => return Err(ConnError::Closed),
        };
        const WELCOME_TAG: u32 = 0;
        if let Ok(((WELCOME_TAG, version), _)) = postcard::take_from_bytes::<(u32, u32)>(&payload) {
            if version != BASE_VERSION {
                return Err(ConnError::Version {
                    hub: version,
                    ours: BASE_VERSION,
                });
            }
        }
        Ok(HubMsg::decode(&payload)?)
    }

    /// Read until the hub's hello is in, keeping what comes before it, at most
    /// [`PENDING_MAX`] messages. A goodbye before it is returned as [`ConnError::Refused`] (the
    /// messages kept were for a connection that is ending); the end of the stream is left for
    /// [`Self::recv`] to report after the kept messages.
    async fn wait_for_hello(&mut self) -> Result<(), ConnError> {
        while self.awaiting_hello.is_some() && self.pending.len() < PENDING_MAX {
            match self.read_one().await {
                Ok(None) => {}
                Ok(Some(HubMsg::Error {
                    req: None,
                    kind,
                    text,
                })) => return Err(ConnError::Refused { kind, text }),
                Ok(Some(msg)) => self.pending.push_back(msg),
                Err(ConnError::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The version this connection speaks; see [`Connection::version`].
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Receive the next message; [`ConnError::Closed`] once the hub has closed the stream.
    pub async fn recv(&mut self) -> Result<HubMsg, ConnError> {
        match self.pending.pop_front() {
            Some(msg) => Ok(msg),
            None => self.next_msg().await,
        }
    }

    /// The next message off the stream, taking the answer to our hello out of it.
    async fn next_msg(&mut self) -> Result<HubMsg, ConnError> {
        loop {
            if let Some(msg) = self.read_one().await? {
                return Ok(msg);
            }
        }
    }

    /// Read one frame: `None` if it was the answer to our hello, now recorded.
    async fn read_one(&mut self) -> Result<Option<HubMsg>, ConnError> {
        let msg = match self.frames.next().await {
            Some(Ok(payload)) => HubMsg::decode(&payload)?,
            Some(Err(e)) => return Err(e.into()),
            None => return Err(ConnError::Closed),
        };
        match (msg, self.awaiting_hello) {
            (
                HubMsg::Hello {
                    req: HELLO_REQ,
                    version,
                },
                Some(announced),
            ) => {
                // A hub cannot agree on more than we said we speak.
                self.version = version.min(announced);
                self.awaiting_hello = None;
                Ok(None)
            }
            (msg, _) => Ok(Some(msg)),
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
mod tests;
