//! A connection's writer: drains its queue into the socket, many frames per syscall, and ends
//! the stream on a frame boundary with the goodbye of [`crate::close`].
//!
//! A stream ends inside a frame in one case only: the socket takes nothing for a whole stall
//! limit — the write timeout, or [`GOODBYE_TIMEOUT`] once the shutdown grace is over.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

use crate::close::{goodbye, CloseReason, Control, Queued};
use crate::queue::{cost, Inbox};

/// Most slices in one vectored write: Linux's `IOV_MAX`.
const MAX_SLICES: usize = 1024;

/// Most frames taken from the queue at once: as many as one vectored write can carry.
const BATCH_FRAMES: usize = MAX_SLICES;

/// Once the shutdown grace is over, how long the socket may take nothing before the stream is
/// cut: long enough for a client that reads to get the end of its frame and the goodbye, short
/// enough that shutdown is not held up by one that does not.
pub(crate) const GOODBYE_TIMEOUT: Duration = Duration::from_secs(1);

/// Everything a writer needs.
pub(crate) struct Writer {
    /// The socket's write half.
    pub socket: OwnedWriteHalf,
    /// The queue it drains.
    pub inbox: Inbox,
    /// This connection's kill switch.
    pub control: Arc<Control>,
    /// The end of the shutdown grace period: drop the queue and say goodbye.
    pub hard_stop: CancellationToken,
    /// How long one write may make no progress before the client is dropped.
    pub write_timeout: Duration,
}

/// How a batch ended.
enum Wrote {
    /// Every frame went out.
    All,
    /// The connection must stop early; the frame that had begun to go out was finished.
    Cut,
}

impl Writer {
    /// Write until the queue is orphaned and empty, or the connection is killed; then say
    /// goodbye if the close has one.
    pub async fn run(mut self) {
        // Grown on demand: an idle connection holds no batch.
        let mut batch: Vec<Bytes> = Vec::new();
        loop {
            let n = tokio::select! {
                biased;
                _ = self.control.killed() => break,
                _ = self.hard_stop.cancelled() => break,
                n = self.inbox.recv_many(&mut batch, BATCH_FRAMES) => n,
            };
            if n == 0 {
                break;
            }
            let mut charged: usize = batch.iter().map(cost).sum();
            let wrote = self.write_batch(&mut batch, &mut charged).await;
            // Written or abandoned, the batch has left the queue: its charge goes back on every
            // path, or the global budget would leak and in time stop the whole hub reading.
            self.inbox.release(charged);
            match wrote {
                Ok(Wrote::All) => {}
                Ok(Wrote::Cut) => break,
                Err(reason) => return self.control.close(reason),
            }
            // A batch that took less than a full write emptied the queue: let it go, so that a
            // connection between bursts holds none; a full batch is kept, as the queue is
            // likely still deep.
            if n < BATCH_FRAMES {
                batch = Vec::new();
            }
        }
        self.finish().await;
    }

    /// Whether the writer must stop before the queue is drained, and if so how long the socket
    /// may stall while the frame in progress and the goodbye go out (`None` inside: not at all).
    fn cut_short(&self) -> Option<Option<Duration>> {
        match self.control.reason().map(CloseReason::queued) {
            Some(Queued::Abandon) => Some(None),
            _ if self.hard_stop.is_cancelled() => {
                Some(Some(GOODBYE_TIMEOUT.min(self.write_timeout)))
            }
            Some(Queued::Discard) => Some(Some(self.write_timeout)),
            _ => None,
        }
    }

    /// Write every byte of `frames`, emptying it, unless the connection is cut short meanwhile:
    /// then only the frame already begun is finished, and the rest of the batch and of the queue
    /// give their charge back at once (`charged` is what is left to release afterwards).
    async fn write_batch(
        &mut self,
        frames: &mut Vec<Bytes>,
        charged: &mut usize,
    ) -> Result<Wrote, CloseReason> {
        let (mut start, mut begun) = (0, false);
        let mut stall = self.write_timeout;
        let mut cut = false;
        while start < frames.len() {
            if !cut {
                if let Some(limit) = self.cut_short() {
                    let Some(limit) = limit else {
                        return Ok(Wrote::Cut);
                    };
                    // Keep the frame that is partly on the wire, if any, and nothing after it.
                    let keep = start + usize::from(begun);
                    let given_up: usize = frames[keep..].iter().map(cost).sum();
                    frames.truncate(keep);
                    self.inbox.release(given_up);
                    *charged -= given_up;
                    self.inbox.discard();
                    (cut, stall) = (true, limit);
                    continue;
                }
            }
            match write_some(&self.socket, &mut frames[start..]) {
                Ok((done, partial)) => (start, begun) = (start + done, partial),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let writable = tokio::time::timeout(stall, self.socket.writable());
                    tokio::select! {
                        biased;
                        _ = self.control.killed(), if !cut => {}
                        _ = self.hard_stop.cancelled(), if !cut => {}
                        ready = writable => match ready {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return Err(CloseReason::Io),
                            Err(_) => return Err(CloseReason::WriteTimeout),
                        },
                    }
                }
                Err(_) => return Err(CloseReason::Io),
            }
        }
        frames.clear();
        Ok(if cut { Wrote::Cut } else { Wrote::All })
    }

    /// The end of a stream on a frame boundary: drop what is left, tell the client why the hub
    /// closes (if it is the hub's doing and the socket still works), then send FIN.
    async fn finish(mut self) {
        self.inbox.discard();
        let stall = match self.cut_short() {
            Some(None) => return,
            Some(Some(limit)) => limit,
            None => self.write_timeout,
        };
        let close = self.control.get().cloned().or_else(|| {
            // The grace period ended before the connection had closed by itself.
            self.hard_stop
                .is_cancelled()
                .then(|| CloseReason::Shutdown.into())
        });
        if let Some(bye) = close.as_ref().and_then(goodbye) {
            let mut bye = vec![bye];
            if self.write_tail(&mut bye, stall).await.is_err() {
                return;
            }
        }
        let _ = tokio::time::timeout(stall, self.socket.shutdown()).await;
    }

    /// Write `frames` with no regard for kill signals, each stall bounded by `stall`.
    async fn write_tail(&mut self, frames: &mut [Bytes], stall: Duration) -> std::io::Result<()> {
        let mut start = 0;
        while start < frames.len() {
            match write_some(&self.socket, &mut frames[start..]) {
                Ok((done, _)) => start += done,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    tokio::time::timeout(stall, self.socket.writable())
                        .await
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// One `writev` of as many frames as fit in [`MAX_SLICES`]; returns how many frames are now
/// written completely, and whether the next one is partly written (it is advanced past what
/// went out).
///
/// Non-blocking writes and an explicit wait for writability keep the slice array out of the
/// future: an idle connection's writer stays small however many slices one write can take.
fn write_some(socket: &OwnedWriteHalf, frames: &mut [Bytes]) -> std::io::Result<(usize, bool)> {
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
    let (mut done, mut partial) = (0, false);
    while n > 0 {
        let front = &mut frames[done];
        let take = n.min(front.len());
        front.advance(take);
        n -= take;
        if front.is_empty() {
            done += 1;
        } else {
            partial = true;
        }
    }
    Ok((done, partial))
}
