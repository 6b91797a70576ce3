//! `loadgen minrelay`: the smallest correct tokio relay of the hub's base protocol (version 1),
//! the yardstick every latency run is measured against. It gives each connection an id and a
//! welcome, and relays: one encode of the message into one shared `Bytes`, a clone of it into
//! each receiver's bounded channel (a full channel drops it and says so), and a `Relayed`
//! answer. Nothing else: no limits, no deadlines, no keepalive, no presence, no accounts; other
//! requests are ignored. What the hub costs beyond this is what its promises cost.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use shared::{ClientMsg, FrameCodec, HubMsg, Limits, UserId, BASE_VERSION};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

/// Frames queued for one receiver before relays to it are dropped.
const QUEUE: usize = 4096;
/// Frames a writer takes from its channel per write.
const BATCH: usize = 256;

type Receivers = Arc<RwLock<HashMap<UserId, mpsc::Sender<Bytes>>>>;

/// Accept and relay until the process ends.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    let receivers = Receivers::default();
    for next in 1.. {
        let (socket, _) = listener.accept().await.context("accept")?;
        tokio::spawn(connection(socket, UserId(next), receivers.clone()));
    }
    Ok(())
}

/// Bind `addr` and [`serve`] it, printing the bound address first.
pub async fn run(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await.context("bind")?;
    println!("minrelay listening on {}", listener.local_addr()?);
    serve(listener).await
}

async fn connection(socket: TcpStream, id: UserId, receivers: Receivers) {
    let _ = socket.set_nodelay(true);
    let (rd, wr) = socket.into_split();
    let (tx, rx) = mpsc::channel(QUEUE);
    let welcome = HubMsg::<Bytes>::Welcome {
        version: BASE_VERSION,
        user_id: id,
        limits: Limits::default(),
    };
    let Ok(welcome) = welcome.to_frame() else {
        return;
    };
    if tx.send(welcome).await.is_err() {
        return;
    }
    let writer = tokio::spawn(write(wr, rx));
    receivers
        .write()
        .expect("receivers lock")
        .insert(id, tx.clone());
    let mut frames = FramedRead::new(rd, FrameCodec::new());
    while let Some(Ok(payload)) = frames.next().await {
        let Ok(ClientMsg::Relay {
            req,
            to,
            kind,
            body,
        }) = ClientMsg::decode_borrowed(&payload)
        else {
            continue;
        };
        let Ok(message) = (HubMsg::Message {
            from: id,
            kind,
            body,
        })
        .to_frame() else {
            continue;
        };
        let (mut delivered, mut unknown, mut dropped) = (0, Vec::new(), Vec::new());
        {
            let receivers = receivers.read().expect("receivers lock");
            for user in to {
                match receivers.get(&user) {
                    Some(queue) if queue.try_send(message.clone()).is_ok() => delivered += 1,
                    Some(_) => dropped.push(user),
                    None => unknown.push(user),
                }
            }
        }
        let answer = HubMsg::<Bytes>::Relayed {
            req,
            delivered,
            unknown,
            dropped,
        };
        let Ok(frame) = answer.to_frame() else { break };
        if tx.send(frame).await.is_err() {
            break;
        }
    }
    receivers.write().expect("receivers lock").remove(&id);
    drop(tx);
    let _ = writer.await;
}

/// Write what comes in batches, flushing when the channel is empty.
async fn write(wr: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        for frame in batch.drain(..) {
            if wr.write_all(&frame).await.is_err() {
                return;
            }
        }
        if rx.is_empty() && wr.flush().await.is_err() {
            return;
        }
    }
}
