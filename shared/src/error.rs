//! Errors of the protocol layer.
//!
//! A decode error's text goes to the peer that sent the bad frame (the hub puts it in its
//! `Malformed` goodbye), so each one says what was wrong and at which byte of the payload, in
//! this protocol's terms rather than the decoding library's.

use thiserror::Error;

/// Why bytes could not be turned into a message. Each of these means the peer does not speak
/// the protocol, so the stream is closed after reporting it. Offsets count from the first byte
/// of the payload (after the 4-byte length prefix).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length prefix announced more than [`crate::MAX_FRAME_LEN`] bytes.
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A frame of length 0: every message has at least a tag.
    #[error("empty payload: a frame of length 0 holds no message")]
    Empty,
    /// An enum tag past the last variant this version knows.
    #[error("unknown {what} tag {tag} at payload offset {offset} (tags 0..={last})")]
    UnknownTag {
        /// The enum: `ClientMsg`, `HubMsg`, `BodyKind` or `ErrorKind`.
        what: &'static str,
        /// The tag read.
        tag: u32,
        /// The highest tag this version knows.
        last: u32,
        /// Where the tag starts.
        offset: usize,
    },
    /// A varint whose bytes all have the continuation bit set, up to the most its type allows.
    #[error("varint longer than {max_len} bytes at payload offset {offset}")]
    VarintTooLong {
        /// The most bytes the field's type allows: 3 (`u16`), 5 (`u32`) or 10 (`u64`).
        max_len: usize,
        /// Where the varint starts.
        offset: usize,
    },
    /// A varint of the full length whose last byte carries bits beyond its type.
    #[error("varint at payload offset {offset} is too large for a {ty}")]
    VarintOverflow {
        /// The field's type.
        ty: &'static str,
        /// Where the varint starts.
        offset: usize,
    },
    /// The payload ended while a field was still being read.
    #[error("payload ends inside the message at offset {offset} (a field is missing)")]
    Truncated {
        /// The payload's length: where the missing byte should have been.
        offset: usize,
    },
    /// A string or body announced more bytes than the payload has left.
    #[error("a string or body at payload offset {offset} announces {announced} bytes, but only {left} remain")]
    ShortField {
        /// Where the field's bytes would start (after its length).
        offset: usize,
        /// The length it announced.
        announced: usize,
        /// The bytes left in the payload.
        left: usize,
    },
    /// A string that is not UTF-8.
    #[error("invalid UTF-8 in a string at payload offset {offset}")]
    BadUtf8 {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// An `Option` marker other than `00` (none) or `01` (some).
    #[error(
        "option marker {byte:#04x} at payload offset {offset} is neither 00 (none) nor 01 (some)"
    )]
    BadOption {
        /// The byte found.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// A valid message was followed by more bytes inside the same frame.
    #[error("{count} trailing bytes after the message at payload offset {offset}")]
    TrailingBytes {
        /// How many bytes follow the message.
        count: usize,
        /// Where the message ends.
        offset: usize,
    },
    /// A value this protocol never encodes (the decoder met a type no message has).
    #[error("invalid value at payload offset {offset}")]
    Invalid {
        /// Where decoding stopped.
        offset: usize,
    },
    /// The underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a message could not be turned into bytes.
#[derive(Debug, Error)]
pub enum EncodeError {
    /// The encoded message would exceed [`crate::MAX_FRAME_LEN`].
    #[error("message of {len} bytes is larger than the frame limit of {max} bytes")]
    TooLarge {
        /// The encoded length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// postcard refused the value.
    #[error("cannot encode message: {0}")]
    Postcard(#[from] postcard::Error),
}
