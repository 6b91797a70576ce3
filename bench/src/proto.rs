//! The three targets: how a client connects and subscribes, and how "send this body to these
//! receivers" is spelled in each protocol.
//!
//! The mapping (the fairest one we found): every receiver has its own address — its user id on
//! the hub, a subject `r<i>` on NATS, a channel `r<i>` on Redis — and a relay to K receivers is
//! one hub relay naming K ids, or K publishes on NATS and Redis. Neither has a multi-target
//! publish; a shared subject would measure a broadcast, which the hub does not offer.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::{bail, Context};
use bytes::{BufMut, Bytes, BytesMut};
use shared::conn::{ReadHalf, WriteHalf};
use shared::{BodyKind, ClientMsg, RequestId, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::login::{self, Identity};
use crate::scan::{Event, Scanner};

/// A server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// hubbub's hub.
    Hub,
    /// nats-server.
    Nats,
    /// redis-server.
    Redis,
}

/// A connected client, handshake done.
pub struct Client {
    /// Read half.
    pub rd: ReadHalf,
    /// Write half.
    pub wr: WriteHalf,
    /// Parser with the handshake already consumed.
    pub scan: Scanner,
    /// Where others send to reach this client: hub user id, or the `i` of `r<i>`.
    pub address: u64,
    /// The TLS session's channel binding, which a login signs; empty over plain TCP.
    pub binding: Vec<u8>,
}

/// TLS for every client of this run (`run --tls`: hub or NATS), set once before the workload
/// starts, so that no workload threads it through. Unset: plain TCP.
pub static TLS: std::sync::OnceLock<shared::conn::TlsDial> = std::sync::OnceLock::new();

/// Connect client number `index`, subscribed to its own address; on the hub, logged in as
/// `account` if one is given (then its address is the account's id).
pub async fn connect(
    proto: Proto,
    addr: SocketAddr,
    index: u64,
    account: Option<&Identity>,
) -> anyhow::Result<Client> {
    let addr = crate::spread::addr_for(addr, index);
    let mut stream = TcpStream::connect(addr).await.context("connect")?;
    if proto == Proto::Nats && TLS.get().is_some() {
        skip_nats_info(&mut stream).await?;
    }
    let (rd, mut wr, tls) = shared::conn::open_stream(stream, TLS.get()).await?;
    let hello = match proto {
        Proto::Hub => String::new(),
        Proto::Nats => format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false}}\r\n\
             SUB r{index} 1\r\nPING\r\n"
        ),
        // RESP3, so one connection can both publish and receive pushes.
        Proto::Redis => format!(
            "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\nr{index}\r\n",
            format!("r{index}").len()
        ),
    };
    wr.write_all(hello.as_bytes()).await?;
    wr.flush().await?;
    let mut client = Client {
        rd,
        wr,
        binding: tls.map(|t| t.binding.to_vec()).unwrap_or_default(),
        scan: Scanner::new(proto),
        address: index,
    };
    let nats = proto == Proto::Nats;
    let mut welcome = None;
    read_until(&mut client, |e| match e {
        Event::Welcome(id) => {
            welcome = Some(id);
            true
        }
        Event::Pong => nats,
        Event::Subscribed => true,
        _ => false,
    })
    .await?;
    client.address = match account {
        Some(account) if proto == Proto::Hub => login::log_in(&mut client, account).await?,
        Some(_) => bail!("only the hub has accounts"),
        None => welcome.unwrap_or(index),
    };
    Ok(client)
}

/// The longest `INFO` line taken from a nats-server before TLS (its own are a few hundred bytes).
const MAX_NATS_INFO: usize = 64 * 1024;

/// nats-server 2.9 (Debian's; `handshake_first` came in 2.10) says its `INFO` line in plain
/// text and only then expects the client's TLS handshake: read that line, and check that the
/// server does require TLS (else the handshake would be read as a garbled command).
pub(crate) async fn skip_nats_info(stream: &mut TcpStream) -> anyhow::Result<()> {
    let mut reader = tokio::io::BufReader::new((&mut *stream).take(MAX_NATS_INFO as u64));
    let mut line = Vec::new();
    let n = tokio::io::AsyncBufReadExt::read_until(&mut reader, b'\n', &mut line)
        .await
        .context("reading nats-server's INFO")?;
    anyhow::ensure!(
        n > 0 && line.ends_with(b"\n"),
        "nats-server sent no INFO line before TLS"
    );
    // The server waits for the client's handshake: nothing may have come after its line.
    anyhow::ensure!(
        reader.buffer().is_empty(),
        "nats-server sent more than its INFO line before TLS"
    );
    anyhow::ensure!(
        line.starts_with(b"INFO ")
            && memchr::memmem::find(&line, b"\"tls_required\":true").is_some(),
        "nats-server does not require TLS (start it with a tls block), yet --tls was given"
    );
    Ok(())
}

/// Read and parse until `step` has seen what it waits for (it returns true; every event of that
/// read is still offered to it). Setup only: nothing else is sent to the client meanwhile.
pub async fn read_until(
    client: &mut Client,
    mut step: impl FnMut(Event<'_>) -> bool,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 4096];
    for _ in 0..64 {
        let n = client.rd.read(&mut buf).await?;
        if n == 0 {
            bail!("server closed the connection during the handshake");
        }
        let (mut done, mut refused) = (false, None);
        client.scan.feed(&buf[..n], &mut |e| match e {
            Event::Error(kind) => refused = Some(kind),
            e => done |= step(e),
        });
        if let Some(kind) = refused {
            bail!("server refused the connection (error kind {kind})");
        }
        if done {
            return Ok(());
        }
    }
    bail!("no handshake after 64 reads")
}

/// Outgoing bytes gathered for one vectored write: small pieces are copied together, large
/// bodies are referenced, so a 1 MiB body sent to 255 receivers is never copied here.
#[derive(Default)]
pub struct Batch {
    cur: BytesMut,
    chunks: Vec<Bytes>,
}

/// Bodies up to this size are copied into the batch; larger ones are referenced.
const COPY_LIMIT: usize = 4096;

impl Batch {
    fn small(&mut self, data: &[u8]) {
        self.cur.extend_from_slice(data);
    }

    fn body(&mut self, body: &Bytes) {
        if body.len() <= COPY_LIMIT {
            self.cur.extend_from_slice(body);
        } else {
            self.seal();
            self.chunks.push(body.clone());
        }
    }

    fn seal(&mut self) {
        if !self.cur.is_empty() {
            self.chunks.push(self.cur.split().freeze());
        }
    }

    /// Write everything queued and empty the batch.
    pub async fn write_to(&mut self, wr: &mut WriteHalf) -> std::io::Result<()> {
        self.seal();
        let mut start = 0;
        while start < self.chunks.len() {
            let end = self.chunks.len().min(start + 512);
            let slices: Vec<std::io::IoSlice<'_>> = self.chunks[start..end]
                .iter()
                .map(|c| std::io::IoSlice::new(c))
                .collect();
            let mut n = wr.write_vectored(&slices).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            while n > 0 {
                let front = &mut self.chunks[start];
                let take = n.min(front.len());
                bytes::Buf::advance(front, take);
                n -= take;
                if front.is_empty() {
                    start += 1;
                }
            }
        }
        self.chunks.clear();
        // TLS keeps what it could not write yet; for TCP this does nothing.
        wr.flush().await
    }
}

/// Everything a sender needs to address a fixed set of receivers quickly: the bytes before each
/// body are prepared once, so a run measures the server, not our formatting.
pub struct Sender {
    proto: Proto,
    /// Per publish (NATS, Redis) or per relay (hub, one entry): the bytes before the body.
    heads: Vec<Vec<u8>>,
    /// The bytes after the body (CRLF for the text protocols).
    tail: &'static [u8],
}

impl Sender {
    /// A sender of `body_len`-byte bodies to `to`.
    pub fn new(proto: Proto, to: Vec<u64>, body_len: usize) -> Sender {
        let (heads, tail): (Vec<Vec<u8>>, &[u8]) = match proto {
            Proto::Hub => (vec![relay_header(&to, body_len)], b""),
            Proto::Nats => (
                to.iter()
                    .map(|to| format!("PUB r{to} {body_len}\r\n").into_bytes())
                    .collect(),
                b"\r\n",
            ),
            Proto::Redis => (
                to.iter()
                    .map(|to| {
                        let channel = format!("r{to}");
                        let mut head = String::new();
                        let _ = write!(
                            head,
                            "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{channel}\r\n${body_len}\r\n",
                            channel.len(),
                        );
                        head.into_bytes()
                    })
                    .collect(),
                b"\r\n",
            ),
        };
        Sender { proto, heads, tail }
    }

    /// Queue one send of `body` to every receiver.
    pub fn push(&self, batch: &mut Batch, body: &Bytes) {
        for head in &self.heads {
            batch.small(head);
            batch.body(body);
            batch.small(self.tail);
        }
    }

    /// Answers the server sends per push: one per relay (hub), one per PUBLISH (Redis), none
    /// (NATS, whose publishes are fire-and-forget).
    pub fn acks_per_push(&self) -> u64 {
        match self.proto {
            Proto::Hub => 1,
            Proto::Nats => 0,
            Proto::Redis => self.heads.len() as u64,
        }
    }
}

/// A hub relay frame without its body bytes: length prefix, tag, request id, receivers, kind and
/// the body's length. Every relay of a run reuses it (request id 1; the hub only echoes it).
fn relay_header(to: &[u64], body_len: usize) -> Vec<u8> {
    let msg = ClientMsg::<&[u8]>::Relay {
        req: RequestId(1),
        to: to.iter().map(|&id| UserId(id)).collect(),
        kind: BodyKind::Bytes,
        body: &[],
    };
    let mut frame = msg.to_frame().expect("a relay header is small").to_vec();
    // postcard ends the frame with the empty body's length (a single 0): replace it.
    frame.pop();
    let mut len = body_len as u64;
    while len >= 0x80 {
        frame.put_u8((len as u8) | 0x80);
        len >>= 7;
    }
    frame.put_u8(len as u8);
    let payload = (frame.len() - 4 + body_len) as u32;
    frame[..4].copy_from_slice(&payload.to_be_bytes());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_header_plus_body_is_the_real_frame() {
        let body = vec![3u8; 70_000];
        let to = vec![1, 200, 70_000];
        let mut frame = relay_header(&to, body.len());
        frame.extend_from_slice(&body);
        let real = ClientMsg::<&[u8]>::Relay {
            req: RequestId(1),
            to: to.iter().map(|&id| UserId(id)).collect(),
            kind: BodyKind::Bytes,
            body: &body,
        }
        .to_frame()
        .expect("encodes");
        assert_eq!(frame, real.to_vec());
    }
}
