//! Errors of the protocol layer.

use thiserror::Error;

/// Why bytes could not be turned into a message. Each of these means the peer does not speak
/// the protocol, so the stream is closed after reporting it.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The length prefix announced more than [`crate::MAX_FRAME_LEN`] bytes.
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The payload is not a valid postcard message (bad varint, unknown tag, short data).
    #[error("malformed message: {0}")]
    Malformed(#[from] postcard::Error),
    /// A valid message was followed by more bytes inside the same frame.
    #[error("malformed message: {0} trailing bytes after the message")]
    TrailingBytes(usize),
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
    /// The underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
