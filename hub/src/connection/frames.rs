//! A connection's incoming frames and the policy for its read buffer: small while idle, wide
//! while a client streams, given back after a large frame and after a quiet spell.

use std::time::Duration;

use crate::transport::ReadHalf;
use bytes::BytesMut;
use futures::{FutureExt, StreamExt};
use shared::codec::READ_STEP;
use shared::{DecodeError, FrameCodec};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// Read buffer room given to a client that pipelines (see [`Frames::widen`]).
const READ_CHUNK: usize = 16 * 1024;

/// How long a client may send nothing before the read buffer widened for its stream is let
/// go (see [`Frames::widen`]).
const WIDE_IDLE: Duration = Duration::from_secs(1);

/// One frame's payload, or why the stream cannot go on.
pub(super) type Frame = Result<BytesMut, DecodeError>;

/// The frames arriving on one connection.
pub(super) struct Frames {
    inner: FramedRead<ReadHalf, FrameCodec>,
    /// The read buffer grew for a frame larger than one read step: it is let go once empty.
    oversized: bool,
    /// The read buffer was widened for a stream of frames: it is let go after [`WIDE_IDLE`].
    wide: bool,
}

impl Frames {
    pub(super) fn new(rd: ReadHalf) -> Frames {
        // Capacity 0: an idle connection holds no read buffer; it grows as bytes arrive.
        let inner = FramedRead::with_capacity(rd, FrameCodec::new(), 0);
        Frames {
            inner,
            oversized: false,
            wide: false,
        }
    }

    /// The next frame; `None` at the end of the stream. Cancel-safe.
    pub(super) async fn next(&mut self) -> Option<Frame> {
        let frame = self.inner.next().await;
        self.note(frame.as_ref());
        frame
    }

    /// The next frame if one is complete already: `None` if it is not here yet.
    pub(super) fn ready(&mut self) -> Option<Option<Frame>> {
        let frame = self.inner.next().now_or_never()?;
        self.note(frame.as_ref());
        Some(frame)
    }

    fn note(&mut self, frame: Option<&Frame>) {
        if let Some(Ok(payload)) = frame {
            self.oversized |= payload.len() > READ_STEP;
        }
    }

    /// Whether nothing of a next frame has arrived.
    pub(super) fn is_empty(&self) -> bool {
        self.inner.read_buffer().is_empty()
    }

    /// When the first byte of the frame in progress arrived, if one is.
    pub(super) fn partial_since(&self) -> Option<Instant> {
        self.inner.decoder().partial_since()
    }

    /// The frame in progress waited on us, not on its sender: start its clock again.
    pub(super) fn restart_clock(&mut self) {
        self.inner.decoder_mut().restart_clock();
    }

    /// A client that sent several frames at once gets a read buffer that takes hundreds of
    /// small frames per read, from its next read on. Otherwise the codec grows the buffer only
    /// by what the frame in progress lacks, and a pipelining client costs a read or two per
    /// small frame. The wide buffer outlives pauses in the stream, but not [`WIDE_IDLE`]
    /// without a frame: a busy hub reads every client a few frames at a time, and wide buffers
    /// kept until each client went quiet would be most of the hub's memory.
    pub(super) fn widen(&mut self) {
        if !self.wide {
            self.inner.decoder_mut().set_read_ahead(READ_CHUNK);
            self.wide = true;
        }
    }

    /// After handling frames: let go of a buffer that grew for a large frame once it is
    /// empty. Its tail keeps the frame-sized allocation alive and reuses it, so without this
    /// every connection that ever sent a 1 MiB frame would hold 1-2 MiB for the rest of its life.
    pub(super) fn shed(&mut self) {
        if self.oversized && self.is_empty() {
            *self.inner.read_buffer_mut() = BytesMut::new();
            self.oversized = false;
        }
    }

    /// When a wide buffer is next due to be let go, for a client whose last frame came at `last`.
    pub(super) fn wide_until(&self, last: Instant) -> Option<Instant> {
        self.wide.then_some(last + WIDE_IDLE)
    }

    /// The client has been quiet for a while: an idle connection holds no read buffer.
    pub(super) fn on_quiet(&mut self) {
        if self.is_empty() {
            *self.inner.read_buffer_mut() = BytesMut::new();
        } else if self.wide {
            // A frame is in progress: let the buffer go once it is handled.
            self.oversized = true;
        }
        self.inner.decoder_mut().set_read_ahead(0);
        self.wide = false;
    }
}
