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

/// Most frames gathered for one vectored write; Linux takes at most 1024 slices per call.
const BATCH_FRAMES: usize = 512;

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
        let mut batch: Vec<Bytes> = Vec::with_capacity(16);
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
            // Don't keep a huge slice vector after a burst.
            if batch.capacity() > 64 {
                batch = Vec::with_capacity(16);
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

/// Write every byte of `frames` with vectored writes, emptying it. Each write must make progress
/// within `stall` (else `TimedOut`); a whole batch may take longer, so a slow reader that keeps
/// reading is never cut off for the size of its backlog.
async fn write_all(
    socket: &mut OwnedWriteHalf,
    frames: &mut Vec<Bytes>,
    stall: Duration,
) -> std::io::Result<()> {
    let mut start = 0;
    while start < frames.len() {
        let slices: Vec<IoSlice<'_>> = frames[start..].iter().map(|f| IoSlice::new(f)).collect();
        let written = tokio::time::timeout(stall, socket.write_vectored(&slices)).await;
        let mut n = written.map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let front = &mut frames[start];
            let take = n.min(front.len());
            front.advance(take);
            n -= take;
            if front.is_empty() {
                start += 1;
            }
        }
    }
    frames.clear();
    Ok(())
}
