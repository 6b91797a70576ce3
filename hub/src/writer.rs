//! A connection's writer: drains its queue into the socket, many frames per syscall, and ends
//! the stream on a frame boundary with the goodbye of [`crate::close`].
//!
//! A stream ends inside a frame in one case only: the socket takes nothing for a whole stall
//! limit — the write timeout, or [`GOODBYE_TIMEOUT`] once the shutdown grace is over.
//!
//! A session of an account writes no relayed message once it is closing: at the next frame
//! boundary it hands every one it has not written (those in hand and those queued) to
//! `connection::serve`, which keeps them in the mailbox. A relay it is in the middle of is
//! finished only if the socket takes the rest at once; otherwise it is handed over whole and
//! the stream is cut inside it, with no goodbye: the client cannot decode half a frame, so it
//! has each relay once, and in order.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::close::{goodbye, CloseReason, Control, Queued};
use crate::frame::is_relayed;
use crate::presence::is_place;
use crate::queue::{cost, Inbox};
use crate::transport::WriteHalf;

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
    pub socket: WriteHalf,
    /// The queue it drains.
    pub inbox: Inbox,
    /// This connection's kill switch.
    pub control: Arc<Control>,
    /// The end of the shutdown grace period: drop the queue and say goodbye.
    pub hard_stop: CancellationToken,
    /// How long one write may make no progress before the client is dropped.
    pub write_timeout: Duration,
    /// Where a closing session of an account hands the relays it did not write; taken when
    /// it does (or when it knows it has none to hand).
    pub unsent: Option<oneshot::Sender<Vec<Bytes>>>,
}

/// How a batch ended.
enum Wrote {
    /// Every frame went out.
    All,
    /// The connection must stop early; the frame that had begun to go out was finished.
    Cut,
    /// The stream was cut inside a relay that was handed over: nothing more can be written.
    CutInside,
}

impl Writer {
    /// Write until the queue is orphaned and empty, or the connection is killed; then say
    /// goodbye if the close has one.
    pub async fn run(&mut self) {
        loop {
            tokio::select! {
                biased;
                // One wait for both signals of the connection's own: a killing close, or any
                // close of a session that hands over.
                _ = self.control.killed_or_closing(self.hands_over()) => {
                    if self.control.refuses_frames() {
                        break;
                    }
                    self.hand_over(Vec::new());
                    continue;
                }
                _ = self.hard_stop.cancelled() => break,
                () = self.inbox.ready() => {}
            }
            // Made after the wait, not kept across it: an idle connection holds no batch, and
            // its writer's future no room for one.
            let mut batch: Vec<Bytes> = Vec::new();
            let n = self.inbox.take(&mut batch, BATCH_FRAMES).unwrap_or(0);
            if n == 0 {
                break;
            }
            self.fill_presence(&mut batch);
            let mut charged: usize = batch.iter().map(cost).sum();
            let wrote = self.write_batch(&mut batch, &mut charged).await;
            // Written or abandoned, the batch has left the queue: its charge goes back on every
            // path, or the global budget would leak and in time stop the whole hub reading.
            self.inbox.release(charged);
            match wrote {
                Ok(Wrote::All) => {}
                Ok(Wrote::Cut) => break,
                Ok(Wrote::CutInside) | Err(_) => return,
            }
        }
        // Boxed: the goodbye's write and its deadline are needed once, at the end.
        Box::pin(self.finish()).await;
    }

    /// Put the pending presence in place of its place in `batch` (see [`crate::presence`]):
    /// the changes up to now, as `Presence` frames, or nothing if they cancelled out.
    fn fill_presence(&self, batch: &mut Vec<Bytes>) {
        if !batch.iter().any(is_place) {
            return;
        }
        let (mut charged, mut released) = (0, 0);
        let mut filled = Vec::with_capacity(batch.len());
        for frame in batch.drain(..) {
            if !is_place(&frame) {
                filled.push(frame);
                continue;
            }
            released += cost(&frame);
            let presence = self.control.presence().take(&frame);
            charged += presence.iter().map(cost).sum::<usize>();
            filled.extend(presence);
        }
        // Charged before the place's charge goes back, so the queue never looks emptier than
        // it is.
        self.inbox.charge(charged);
        self.inbox.release(released);
        *batch = filled;
    }

    /// Whether this is a session of an account that has not yet handed over its relays.
    fn hands_over(&self) -> bool {
        self.unsent.is_some() && self.control.keeps_mail()
    }

    /// Hand `tail` (frames taken from the queue and not written, oldest first) and the queue's
    /// relays to the mailbox, once; from then on other clients' frames are refused, so nothing
    /// can land behind them. Frames that are not relays are left to the caller, and in the
    /// queue.
    fn hand_over(&mut self, tail: Vec<Bytes>) -> Vec<Bytes> {
        if !self.hands_over() {
            return tail;
        }
        let (mut unsent, rest): (Vec<Bytes>, Vec<Bytes>) = tail.into_iter().partition(is_relayed);
        unsent.extend(self.inbox.take_unsent(is_relayed));
        if let Some(to) = self.unsent.take() {
            let _ = to.send(unsent);
        }
        rest
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
    /// give their charge back at once (`charged` is what is left to release afterwards). A
    /// closing session of an account hands its relays over first (see the module's docs).
    async fn write_batch(
        &mut self,
        frames: &mut Vec<Bytes>,
        charged: &mut usize,
    ) -> Result<Wrote, CloseReason> {
        let (mut start, mut begun) = (0, false);
        // The frame partly on the wire as it was whole, kept by a session that may have to
        // hand it over.
        let mut whole: Option<Bytes> = None;
        let mut stall = self.write_timeout;
        let mut cut = false;
        while start < frames.len() {
            if !cut {
                if let Some(limit) = self.cut_short() {
                    let Some(limit) = limit else {
                        // Not even the frame begun is finished.
                        self.hand_over(unwritten(frames, start, begun, whole));
                        return Ok(Wrote::Cut);
                    };
                    if self.hands_over() {
                        let at = (&mut start, &mut begun, &mut whole);
                        if self.hand_over_batch(frames, charged, at) {
                            return Ok(Wrote::CutInside);
                        }
                    }
                    // Keep the frame that is partly on the wire, if any, and nothing after it.
                    let given_up = frames.split_off(start + usize::from(begun));
                    let given_up_cost: usize = given_up.iter().map(cost).sum();
                    self.inbox.release(given_up_cost);
                    *charged -= given_up_cost;
                    self.inbox.discard();
                    (cut, stall) = (true, limit);
                    continue;
                }
                if self.hands_over() && self.control.is_closed() {
                    // Closing with a flush: what is not a relay is still written.
                    let at = (&mut start, &mut begun, &mut whole);
                    if self.hand_over_batch(frames, charged, at) {
                        return Ok(Wrote::CutInside);
                    }
                    continue;
                }
            }
            let keep_whole = self.control.keeps_mail();
            match write_some(&self.socket, &mut frames[start..], begun, keep_whole) {
                Ok((done, partial, was)) => {
                    (start, begun) = (start + done, partial);
                    if was.is_some() || !partial {
                        whole = was;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Boxed: a full socket is the rare case, and inline its wait would make
                    // every idle connection's writer keep room for a timer.
                    if let Err(reason) = Box::pin(self.wait_writable(stall, cut)).await {
                        return Err(self.give_up(frames, start, begun, whole, reason));
                    }
                }
                Err(_) => return Err(self.give_up(frames, start, begun, whole, CloseReason::Io)),
            }
        }
        frames.clear();
        Ok(if cut { Wrote::Cut } else { Wrote::All })
    }

    /// Wait until the socket takes more, at most `stall`, or until a signal the batch must
    /// look at (a kill, the hard stop, the close of a session that hands over; not once the
    /// batch is `cut`). Err: the socket failed, or stalled too long.
    async fn wait_writable(&self, stall: Duration, cut: bool) -> Result<(), CloseReason> {
        let writable = tokio::time::timeout(stall, self.socket.writable());
        let hands_over = !cut && self.hands_over();
        tokio::select! {
            biased;
            _ = self.control.killed(), if !cut => Ok(()),
            _ = self.hard_stop.cancelled(), if !cut => Ok(()),
            _ = self.control.closing(), if hands_over => Ok(()),
            ready = writable => match ready {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(CloseReason::Io),
                Err(_) => Err(CloseReason::WriteTimeout),
            },
        }
    }

    /// Hand over the relays of `frames` from `start` on and those queued; the rest stays in
    /// `frames`, and the handed ones give their charge back. A relay partly on the wire
    /// (`begun`, and `whole` as it was) is first finished if the socket takes it at once;
    /// if not, it is handed over whole and true says the stream must be cut inside it.
    fn hand_over_batch(
        &mut self,
        frames: &mut Vec<Bytes>,
        charged: &mut usize,
        (start, begun, whole): (&mut usize, &mut bool, &mut Option<Bytes>),
    ) -> bool {
        if *begun && whole.as_ref().is_some_and(is_relayed) {
            if finish_now(&self.socket, &mut frames[*start]) {
                (*start, *begun, *whole) = (*start + 1, false, None);
            } else {
                // Everything left in the batch goes, with the rest of the charge, afterwards.
                self.hand_over(unwritten(frames, *start, true, whole.take()));
                return true;
            }
        }
        let tail = frames.split_off(*start + usize::from(*begun));
        let before: usize = tail.iter().map(cost).sum();
        let rest = self.hand_over(tail);
        let handed = before - rest.iter().map(cost).sum::<usize>();
        self.inbox.release(handed);
        *charged -= handed;
        frames.extend(rest);
        false
    }

    /// The socket failed for `reason`: what was not written is handed over, if it is to be.
    fn give_up(
        &mut self,
        frames: &mut Vec<Bytes>,
        start: usize,
        begun: bool,
        whole: Option<Bytes>,
        reason: CloseReason,
    ) -> CloseReason {
        self.control.close(reason);
        self.hand_over(unwritten(frames, start, begun, whole));
        reason
    }

    /// The end of a stream on a frame boundary: drop what is left, tell the client why the hub
    /// closes (if it is the hub's doing and the socket still works), then send FIN.
    async fn finish(&mut self) {
        self.hand_over(Vec::new());
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
            match write_some(&self.socket, &mut frames[start..], false, false) {
                Ok((done, _, _)) => start += done,
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

/// Write the rest of `frame` if the socket takes it without waiting; whether it did.
fn finish_now(socket: &WriteHalf, frame: &mut Bytes) -> bool {
    while !frame.is_empty() {
        match socket.try_write(frame) {
            Ok(n) if n > 0 => frame.advance(n),
            _ => return false,
        }
    }
    true
}

/// Take the frames of `frames` from `start` on out of it as not written, the one partly on the
/// wire (if `begun`) as it was `whole`.
fn unwritten(
    frames: &mut Vec<Bytes>,
    start: usize,
    begun: bool,
    whole: Option<Bytes>,
) -> Vec<Bytes> {
    let mut tail = frames.split_off(start);
    if begun && !tail.is_empty() {
        match whole {
            Some(whole) => tail[0] = whole,
            None => drop(tail.remove(0)),
        }
    }
    tail
}

/// One `writev` of as many frames as fit in [`MAX_SLICES`]; returns how many frames are now
/// written completely, and whether the next one is partly written (it is advanced past what
/// went out). With `keep_whole`, a frame that this write leaves partly written is also
/// returned as it was before (the first one only if it was not `begun` already).
///
/// Non-blocking writes and an explicit wait for writability keep the slice array out of the
/// future: an idle connection's writer stays small however many slices one write can take.
fn write_some(
    socket: &WriteHalf,
    frames: &mut [Bytes],
    begun: bool,
    keep_whole: bool,
) -> std::io::Result<(usize, bool, Option<Bytes>)> {
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
    let (mut done, mut partial, mut whole) = (0, false, None);
    while n > 0 {
        let front = &mut frames[done];
        let take = n.min(front.len());
        if take < front.len() && keep_whole && !(done == 0 && begun) {
            whole = Some(front.clone());
        }
        front.advance(take);
        n -= take;
        if front.is_empty() {
            done += 1;
        } else {
            partial = true;
        }
    }
    Ok((done, partial, whole))
}
