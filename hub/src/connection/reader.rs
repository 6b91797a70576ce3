//! A connection's reader: the loop over frames, timers and stop signals, backpressure before
//! reading, the read buffer's size, and finishing accepted frames on shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use shared::codec::READ_STEP;
use shared::{DecodeError, ErrorKind, FrameCodec, HubMsg, UserId};
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::{Instant, Sleep};
use tokio_util::codec::FramedRead;

use super::HubContext;
use crate::queue::Outbox;
use crate::registry::{CloseReason, Control};

/// Most frames handled in one go before the reader looks at its stop signals and timers again.
const BURST_FRAMES: usize = 128;

/// Read buffer room given to a client that pipelines (see [`Reader::widen_read_buffer`]).
const READ_CHUNK: usize = 16 * 1024;

/// How long a client may send nothing before the read buffer widened for its stream is let
/// go (see [`Reader::widen_read_buffer`]).
const WIDE_IDLE: Duration = Duration::from_secs(1);

pub(super) struct Reader {
    pub(super) id: UserId,
    pub(super) frames: FramedRead<OwnedReadHalf, FrameCodec>,
    pub(super) outbox: Outbox,
    pub(super) control: Arc<Control>,
    pub(super) hub: HubContext,
    last_frame: Instant,
    keepalive_sent: Option<Instant>,
    /// The read buffer grew for a frame larger than one read step: it is let go once empty.
    oversized: bool,
    /// The read buffer was widened for a stream of frames: it is let go after [`WIDE_IDLE`].
    wide: bool,
}

/// What happened to a reader between two frames.
enum Step {
    Frame(Result<bytes::BytesMut, DecodeError>),
    Eof,
    Timer,
    Stop(CloseReason),
}

impl Reader {
    pub(super) fn new(
        id: UserId,
        rd: OwnedReadHalf,
        outbox: Outbox,
        control: Arc<Control>,
        hub: &HubContext,
    ) -> Reader {
        // Capacity 0: an idle connection holds no read buffer; it grows as bytes arrive.
        let frames = FramedRead::with_capacity(rd, FrameCodec::new(), 0);
        Reader {
            id,
            frames,
            outbox,
            control,
            hub: hub.clone(),
            last_frame: Instant::now(),
            keepalive_sent: None,
            oversized: false,
            wide: false,
        }
    }

    pub(super) async fn run(&mut self) -> CloseReason {
        let timer = tokio::time::sleep_until(self.next_wake());
        tokio::pin!(timer);
        loop {
            let step = self.next_step(timer.as_mut()).await;
            let outcome = match step {
                Step::Stop(reason) => Err(reason),
                Step::Eof => Err(CloseReason::PeerClosed),
                Step::Timer => self.on_timer(),
                Step::Frame(Ok(payload)) => {
                    self.oversized |= payload.len() > READ_STEP;
                    match self.wait_for_budget().await {
                        Ok(()) => self.on_frames(&payload),
                        Err(reason) => Err(reason),
                    }
                }
                Step::Frame(Err(e)) => Err(self.on_decode_error(e)),
            };
            if let Err(reason) = outcome {
                return reason;
            }
            self.shed_read_buffer();
            timer.as_mut().reset(self.next_wake());
        }
    }

    /// Check the global budget again once a frame has arrived, just before routing it. The
    /// check before reading alone let every sender that started reading while there was room
    /// route afterwards: a burst of 100 senders fanning 1 MiB out to 255 receivers charged 25
    /// GiB against a 1 GiB budget, and receivers reading at full speed overflowed and were
    /// dropped. Routing never waits, so only the few routes that pass this check at the same
    /// instant can overshoot.
    async fn wait_for_budget(&mut self) -> Result<(), CloseReason> {
        if self.hub.budget.has_room() {
            return Ok(());
        }
        tokio::select! {
            biased;
            _ = self.control.closed() => return Err(CloseReason::Io),
            _ = self.hub.budget.wait_for_room() => {}
        }
        // A frame in progress behind this one waited on us, not on its sender.
        self.frames.decoder_mut().restart_clock();
        Ok(())
    }

    /// Let go of a read buffer that grew for a large frame once it is empty. The buffer's tail
    /// keeps the frame-sized allocation alive and reuses it, so without this every connection
    /// that ever sent a 1 MiB frame would hold 1-2 MiB for the rest of its life.
    fn shed_read_buffer(&mut self) {
        let buffer = self.frames.read_buffer_mut();
        if self.oversized && buffer.is_empty() {
            *buffer = bytes::BytesMut::new();
            self.oversized = false;
        }
    }

    /// Wait for room in the queues, then for the next frame, a timer or a stop signal.
    async fn next_step(&mut self, mut timer: std::pin::Pin<&mut Sleep>) -> Step {
        if !self.has_room() {
            let hub = &self.hub;
            let room = async {
                self.outbox.wait_for_room().await;
                hub.budget.wait_for_room().await;
            };
            tokio::select! {
                biased;
                _ = self.control.closed() => return Step::Stop(CloseReason::Io),
                _ = hub.shutdown.cancelled() => return Step::Stop(self.finish_on_shutdown().await),
                _ = room => {}
            }
            // We did not read while paused: the client's frame in progress and its keepalive
            // answer were waiting on us, so neither clock counts the pause against it.
            self.frames.decoder_mut().restart_clock();
            self.last_frame = Instant::now();
            self.keepalive_sent = None;
            timer.as_mut().reset(self.next_wake());
        }
        let hub = &self.hub;
        tokio::select! {
            biased;
            _ = self.control.closed() => Step::Stop(CloseReason::Io),
            _ = hub.shutdown.cancelled() => Step::Stop(self.finish_on_shutdown().await),
            frame = self.frames.next() => match frame {
                Some(frame) => Step::Frame(frame),
                None => Step::Eof,
            },
            _ = timer => Step::Timer,
        }
    }

    /// Handle `first`, then every frame that is already here, without going back through the
    /// `select!`s: re-arming them and the timer for each frame cost more than a small frame.
    /// Stops when the queues are full (the caller then waits for room), after
    /// [`BURST_FRAMES`] so that shutdown and timers are still seen promptly, or when no
    /// complete frame is left.
    fn on_frames(&mut self, first: &[u8]) -> Result<(), CloseReason> {
        self.last_frame = Instant::now();
        self.keepalive_sent = None;
        self.handle_payload(first)?;
        let mut handled = 1;
        while handled <= BURST_FRAMES && self.has_room() {
            match self.frames.next().now_or_never() {
                Some(Some(Ok(payload))) => {
                    self.oversized |= payload.len() > READ_STEP;
                    self.handle_payload(&payload)?
                }
                Some(Some(Err(e))) => return Err(self.on_decode_error(e)),
                Some(None) => return Err(CloseReason::PeerClosed),
                None => break,
            }
            handled += 1;
        }
        if handled > 1 {
            self.widen_read_buffer();
        }
        Ok(())
    }

    /// A client that sends several frames at once gets a read buffer that takes hundreds of
    /// small frames per read. Otherwise the codec grows the buffer only by what the frame in
    /// progress lacks, and a pipelining client costs two reads per small frame.
    ///
    /// The wide buffer outlives pauses in the stream (letting it go whenever it emptied cost W1
    /// 30% of its rate) but not [`WIDE_IDLE`] without a frame: a busy hub reads every client
    /// a few frames at a time, and kept until each went quiet, wide buffers were 60% of the
    /// soak's heap.
    fn widen_read_buffer(&mut self) {
        let buf = self.frames.read_buffer_mut();
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        self.wide = true;
    }

    /// What `next_step` waits for before reading, checked without waiting.
    fn has_room(&self) -> bool {
        !self.control.is_closed() && self.outbox.has_room() && self.hub.budget.has_room()
    }

    /// Deadline for the next timer check: the keepalive schedule, and the frame deadline of a
    /// frame in progress (checked again from the last frame on, since one may start any time).
    fn next_wake(&self) -> Instant {
        let cfg = &self.hub.config;
        let keepalive = match self.keepalive_sent {
            Some(sent) => sent + cfg.ping_interval,
            None => self.last_frame + cfg.ping_interval,
        };
        let partial = self
            .frames
            .decoder()
            .partial_since()
            .unwrap_or(self.last_frame);
        let wake = keepalive.min(partial + cfg.frame_deadline);
        if self.wide {
            wake.min(self.last_frame + WIDE_IDLE)
        } else {
            wake
        }
    }

    fn on_timer(&mut self) -> Result<(), CloseReason> {
        // Quiet for a while (WIDE_IDLE after a stream, else a frame deadline or a ping
        // interval): an idle connection holds no read buffer and no queue slots.
        if self.frames.read_buffer().is_empty() {
            *self.frames.read_buffer_mut() = BytesMut::new();
        } else if self.wide {
            // A frame is in progress: let the buffer go once it is handled.
            self.oversized = true;
        }
        self.wide = false;
        self.outbox.shrink_if_empty();
        let cfg = &self.hub.config;
        let now = Instant::now();
        if let Some(since) = self.frames.decoder().partial_since() {
            if now >= since + cfg.frame_deadline {
                self.say_goodbye(ErrorKind::FrameDeadline, "a frame took too long to arrive");
                return Err(CloseReason::FrameDeadline);
            }
        }
        match self.keepalive_sent {
            Some(sent) if now >= sent + cfg.ping_interval => {
                self.say_goodbye(ErrorKind::Idle, "no answer to keepalive");
                Err(CloseReason::Idle)
            }
            None if now >= self.last_frame + cfg.ping_interval => {
                self.keepalive_sent = Some(now);
                self.reply(HubMsg::<Bytes>::KeepAlive)
            }
            _ => Ok(()),
        }
    }

    fn on_decode_error(&mut self, e: DecodeError) -> CloseReason {
        let reason = match e {
            DecodeError::FrameTooLarge { .. } => CloseReason::FrameTooLarge,
            // tokio-util reports a stream that ended inside a frame as `Other`, with the partial
            // frame still buffered: the peer closed (FIN) mid-frame, its socket did not fail.
            DecodeError::Io(e)
                if e.kind() == std::io::ErrorKind::Other
                    && !self.frames.read_buffer().is_empty() =>
            {
                return CloseReason::PeerClosed
            }
            DecodeError::Io(_) => return CloseReason::Io,
            _ => CloseReason::Malformed,
        };
        let kind = match reason {
            CloseReason::FrameTooLarge => ErrorKind::FrameTooLarge,
            _ => ErrorKind::Malformed,
        };
        self.say_goodbye(kind, &e.to_string());
        reason
    }

    /// On shutdown, handle the frames already received: those in our buffer, those the kernel
    /// holds for us, and a frame in progress, which was most likely written in full by its
    /// sender. It is read to its end within its frame deadline and half the grace period (so
    /// writers keep time to flush), then handled.
    async fn finish_on_shutdown(&mut self) -> CloseReason {
        let cfg = self.hub.config.clone();
        let stop_at = Instant::now() + cfg.shutdown_grace / 2;
        let limit = tokio::time::sleep_until(stop_at);
        tokio::pin!(limit);
        loop {
            // A client streaming faster than we handle must not hold shutdown up.
            if Instant::now() >= stop_at {
                break;
            }
            let frame = if self.frames.read_buffer().is_empty() {
                // Take what has already arrived, without waiting for anything new.
                match self.frames.next().now_or_never() {
                    Some(frame) => frame,
                    None if self.frames.read_buffer().is_empty() => break,
                    None => continue,
                }
            } else {
                let partial = self.frames.decoder().partial_since();
                let deadline = partial.map_or_else(Instant::now, |p| p + cfg.frame_deadline);
                tokio::select! {
                    biased;
                    _ = self.control.closed() => break,
                    frame = self.frames.next() => frame,
                    _ = &mut limit => break,
                    _ = tokio::time::sleep_until(deadline), if partial.is_some() => break,
                }
            };
            match frame {
                Some(Ok(payload)) if self.handle_payload(&payload).is_ok() => {}
                _ => break,
            }
        }
        CloseReason::Shutdown
    }
}
