//! A connection's writer: drains its queue into the socket, many frames per syscall.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use shared::HubMsg;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

use crate::queue::{cost, Inbox};
use crate::registry::{frame, CloseReason, Control};

/// Most slices in one vectored write: Linux's `IOV_MAX`.
const MAX_SLICES: usize = 1024;

/// Most frames taken from the queue at once: as many as one vectored write can carry.
const BATCH_FRAMES: usize = MAX_SLICES;

/// How long the goodbye frame of a connection being closed may take to write.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(1);

/// Everything a writer needs.
pub struct Writer {
    /// The socket's write half.
    pub socket: OwnedWriteHalf,
    /// The queue it drains.
    pub inbox: Inbox,
    /// This connection's kill switch.
    pub control: Arc<Control>,
    /// Hub shutdown: once set, the queue is drained and a goodbye is sent.
    pub shutdown: CancellationToken,
    /// The end of the shutdown grace period: stop at once.
    pub hard_stop: CancellationToken,
    /// How long one write may make no progress before the client is dropped.
    pub write_timeout: Duration,
}

impl Writer {
    /// Write until the queue is closed and empty or the connection is killed.
    pub async fn run(mut self) {
        // Grown on demand: an idle connection holds no batch.
        let mut batch: Vec<Bytes> = Vec::new();
        loop {
            let n = tokio::select! {
                biased;
                _ = self.control.closed() => break,
                _ = self.hard_stop.cancelled() => return,
                n = self.inbox.recv_many(&mut batch, BATCH_FRAMES) => n,
            };
            if n == 0 {
                if self.shutdown.is_cancelled() {
                    self.goodbye(CloseReason::Shutdown).await;
                }
                break;
            }
            let charged: usize = batch.iter().map(cost).sum();
            let written = tokio::select! {
                biased;
                _ = self.control.closed() => None,
                _ = self.hard_stop.cancelled() => None,
                r = write_all(&mut self.socket, &mut batch, self.write_timeout) => Some(r),
            };
            // Written or abandoned, the batch has left the queue: its charge goes back on every
            // path, or the global budget would leak and in time stop the whole hub reading.
            self.inbox.release(charged);
            let Some(written) = written else { return };
            match written {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return self.control.close(CloseReason::WriteTimeout)
                }
                Err(_) => return self.control.close(CloseReason::Io),
            }
            // A batch that took less than a full write emptied the queue: let it go, so that a
            // connection between bursts holds none. A new one is one allocation per write, next
            // to a syscall (W1 and W2 were no slower in an A/B run); a full batch is kept, as the
            // queue is likely still deep.
            if n < BATCH_FRAMES {
                batch = Vec::new();
            }
        }
        if let Some(reason) = self.control.reason() {
            self.goodbye(reason).await;
        }
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, self.socket.shutdown()).await;
    }

    /// Tell the client why it is being closed, if the reason is the hub's.
    async fn goodbye(&mut self, reason: CloseReason) {
        let Some((kind, text)) = goodbye_text(reason) else {
            return;
        };
        let bye = frame(&HubMsg::<Bytes>::Error {
            req: None,
            kind,
            text: text.to_string(),
        });
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, self.socket.write_all(&bye)).await;
    }
}

/// The error a closing client is sent, for reasons that are the hub's doing. Readers send their
/// own (malformed frames and the like) through the queue; these are the ones only the writer
/// can send because the queue is full or being torn down.
fn goodbye_text(reason: CloseReason) -> Option<(shared::ErrorKind, &'static str)> {
    use shared::ErrorKind;
    match reason {
        CloseReason::SlowConsumer => Some((
            ErrorKind::SlowConsumer,
            "you did not read fast enough and your queue overflowed; disconnecting",
        )),
        CloseReason::Shutdown => Some((ErrorKind::ShuttingDown, "the hub is shutting down")),
        _ => None,
    }
}

/// Write every byte of `frames` with vectored writes, emptying it. Each wait for the socket to
/// take more must end within `stall` (else `TimedOut`); a whole batch may take longer, so a slow
/// reader that keeps reading is never cut off for the size of its backlog.
///
/// Non-blocking writes and an explicit wait for writability keep the slice array out of the
/// future: an idle connection's writer stays small however many slices one write can take.
async fn write_all(
    socket: &mut OwnedWriteHalf,
    frames: &mut Vec<Bytes>,
    stall: Duration,
) -> std::io::Result<()> {
    let mut start = 0;
    while start < frames.len() {
        match write_some(socket, &mut frames[start..]) {
            Ok(done) => start += done,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                tokio::time::timeout(stall, socket.writable())
                    .await
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??
            }
            Err(e) => return Err(e),
        }
    }
    frames.clear();
    Ok(())
}

/// One `writev` of as many frames as fit in [`MAX_SLICES`]; returns how many frames are now
/// written completely (a partly written one is advanced past what went out).
fn write_some(socket: &OwnedWriteHalf, frames: &mut [Bytes]) -> std::io::Result<usize> {
    let mut n = {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let count = frames.len().min(MAX_SLICES);
        for (slice, frame) in slices.iter_mut().zip(frames.iter()) {
            *slice = IoSlice::new(frame);
        }
        socket.try_write_vectored(&slices[..count])?
    };
    if n == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    let mut done = 0;
    while n > 0 {
        let front = &mut frames[done];
        let take = n.min(front.len());
        front.advance(take);
        n -= take;
        if front.is_empty() {
            done += 1;
        }
    }
    Ok(done)
}
