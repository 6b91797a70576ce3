//! Bytes ↔ frames. A frame is a big-endian `u32` payload length, then the payload.
//!
//! [`FrameCodec`] splits frames itself, where it once wrapped tokio-util's
//! `LengthDelimitedCodec` (whose settings were 64 bytes of every connection's state), with
//! what a public server needs and that codec lacks:
//! - it never reserves memory for a frame that has not arrived. `LengthDelimitedCodec`
//!   reserves the whole announced length as soon as it reads a header, so a thousand 4-byte
//!   headers would pin a thousand MiB. Here the buffer grows only by what actually arrives, in
//!   steps of at most [`READ_STEP`];
//! - it remembers when the frame now in progress began, so the owner can enforce a deadline on
//!   slow senders ([`FrameCodec::partial_since`]);
//! - an owner that knows more frames are coming can ask for room to read many at once
//!   ([`FrameCodec::set_read_ahead`]), given only when no complete frame is left to decode, so
//!   nothing already read is moved for it.

use bytes::{Buf, Bytes, BytesMut};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::DecodeError;
use crate::limits::MAX_FRAME_LEN;

/// Most memory reserved ahead of arriving bytes for one frame: big frames grow in steps this
/// size instead of claiming their whole announced length up front.
pub const READ_STEP: usize = 64 * 1024;

const HEADER_LEN: usize = 4;

/// The frame codec used by the hub, the client and the tests. Decodes into payloads (the
/// length prefix stripped); encodes frames already made by `to_frame`, which carry their prefix.
#[derive(Debug)]
pub struct FrameCodec {
    max_frame: usize,
    partial_since: Option<Instant>,
    read_ahead: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameCodec {
    /// A codec accepting payloads up to [`MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self::with_max_frame(MAX_FRAME_LEN)
    }

    /// A codec accepting payloads up to `max_frame` bytes.
    pub fn with_max_frame(max_frame: usize) -> Self {
        FrameCodec {
            max_frame,
            partial_since: None,
            read_ahead: 0,
        }
    }

    /// Room to keep free for the next read whenever the buffer holds no complete frame: 0 (the
    /// default) grows the buffer only by what the frame in progress lacks; a reader expecting a
    /// stream of small frames sets more, so one read takes many of them. Never more than
    /// [`READ_STEP`].
    pub fn set_read_ahead(&mut self, bytes: usize) {
        self.read_ahead = bytes.min(READ_STEP);
    }

    /// Called when `src` holds no complete frame: make room for the `missing` bytes of the
    /// frame in progress, and for [`FrameCodec::set_read_ahead`]'s read. The read-ahead is
    /// topped up only once less than a quarter of it is left: topping up on every read would
    /// move the frame in progress each time.
    fn make_room(&self, src: &mut BytesMut, missing: usize) {
        let spare = src.capacity() - src.len();
        if self.read_ahead > 0 && spare < self.read_ahead / 4 {
            src.reserve(self.read_ahead.max(missing));
        } else {
            src.reserve(missing);
        }
    }

    /// When the first byte of the frame now in progress arrived, or `None` between frames.
    pub fn partial_since(&self) -> Option<Instant> {
        self.partial_since
    }

    /// Start the clock of a frame in progress again. For an owner that stopped reading for a
    /// while (its own backpressure): the time it did not read is not the sender's fault.
    pub fn restart_clock(&mut self) {
        if self.partial_since.is_some() {
            self.partial_since = Some(Instant::now());
        }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, DecodeError> {
        if src.is_empty() {
            self.partial_since = None;
            self.make_room(src, 0);
            return Ok(None);
        }
        if src.len() >= HEADER_LEN {
            let mut header = [0u8; HEADER_LEN];
            header.copy_from_slice(&src[..HEADER_LEN]);
            let len = u32::from_be_bytes(header) as usize;
            if len > self.max_frame {
                return Err(DecodeError::FrameTooLarge {
                    len,
                    max: self.max_frame,
                });
            }
            let missing = (HEADER_LEN + len).saturating_sub(src.len());
            if missing == 0 {
                src.advance(HEADER_LEN);
                let frame = src.split_to(len);
                self.partial_since = (!src.is_empty()).then(Instant::now);
                return Ok(Some(frame));
            }
            self.make_room(src, missing.min(READ_STEP));
        } else {
            self.make_room(src, 0);
        }
        self.partial_since.get_or_insert_with(Instant::now);
        Ok(None)
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = std::io::Error;

    /// `frame` must come from `to_frame`: it already holds its length prefix.
    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_frames_and_strips_prefix() {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 9, 9, 0, 0, 0, 1, 7, 0][..]);
        assert_eq!(
            &codec.decode(&mut buf).expect("ok").expect("frame")[..],
            &[9, 9]
        );
        assert_eq!(
            &codec.decode(&mut buf).expect("ok").expect("frame")[..],
            &[7]
        );
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        assert!(
            codec.partial_since().is_some(),
            "one byte of a header is pending"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn restarting_the_clock_moves_only_a_frame_in_progress() {
        let mut codec = FrameCodec::new();
        codec.restart_clock();
        assert!(codec.partial_since().is_none(), "no frame, no clock");
        let mut buf = BytesMut::from(&[0, 0, 0, 9, 1][..]);
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        let started = codec.partial_since().expect("a frame in progress");
        tokio::time::advance(std::time::Duration::from_secs(40)).await;
        codec.restart_clock();
        let restarted = codec.partial_since().expect("still in progress");
        assert_eq!(restarted - started, std::time::Duration::from_secs(40));
    }

    #[test]
    fn zero_length_frame_is_a_frame() {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::from(&[0, 0, 0, 0][..]);
        let frame = codec.decode(&mut buf).expect("ok").expect("frame");
        assert!(frame.is_empty());
        assert!(codec.partial_since().is_none());
    }

    #[test]
    fn header_of_a_huge_frame_reserves_little() {
        let mut codec = FrameCodec::new();
        let max = (MAX_FRAME_LEN as u32).to_be_bytes();
        let mut buf = BytesMut::from(&max[..]);
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        assert!(
            buf.capacity() <= HEADER_LEN + READ_STEP,
            "{}",
            buf.capacity()
        );
    }

    fn spare(buf: &BytesMut) -> usize {
        buf.capacity() - buf.len()
    }

    #[test]
    fn read_ahead_makes_room_once_no_complete_frame_is_left() {
        let mut codec = FrameCodec::new();
        codec.set_read_ahead(16 * 1024);
        // Two complete frames, then the start of a third.
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0, 9, 3][..]);
        for _ in 0..2 {
            codec.decode(&mut buf).expect("ok").expect("frame");
            assert_eq!(
                spare(&buf),
                0,
                "frames left to take: nothing is moved for room"
            );
        }
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        assert!(
            spare(&buf) >= 16 * 1024,
            "room for many frames: {}",
            spare(&buf)
        );
        assert_eq!(&buf[..], &[0, 0, 0, 9, 3], "the frame in progress is kept");

        // A read that leaves most of the room is not followed by another move.
        let before = buf.as_ptr();
        buf.extend_from_slice(&[3; 8]);
        codec.decode(&mut buf).expect("ok").expect("frame");
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        assert_eq!(buf.as_ptr(), before.wrapping_add(HEADER_LEN + 9));
    }

    #[test]
    fn without_read_ahead_room_is_what_the_frame_in_progress_lacks() {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 1, 1, 0, 0, 0, 9, 3][..]);
        codec.decode(&mut buf).expect("ok").expect("frame");
        assert!(codec.decode(&mut buf).expect("ok").is_none());
        assert!(spare(&buf) >= 8, "room for the rest of the frame");
        assert!(spare(&buf) < 1024, "no more than it lacks: {}", spare(&buf));
        codec.set_read_ahead(4096);
        codec.set_read_ahead(0);
        let mut empty = BytesMut::new();
        assert!(codec.decode(&mut empty).expect("ok").is_none());
        assert_eq!(
            empty.capacity(),
            0,
            "read-ahead off: an empty buffer stays unallocated"
        );
    }

    #[test]
    fn over_limit_header_is_an_error() {
        let mut codec = FrameCodec::new();
        let too_big = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
        let mut buf = BytesMut::from(&too_big[..]);
        let err = codec.decode(&mut buf).expect_err("too large");
        assert!(matches!(err, DecodeError::FrameTooLarge { .. }), "{err}");
    }
}
