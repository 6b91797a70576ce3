//! Why a client connection could not be used.

use thiserror::Error;

use crate::error::{DecodeError, EncodeError};
use crate::message::ErrorKind;

/// Why a connection could not be used.
#[derive(Debug, Error)]
pub enum ConnError {
    /// The hub could not be reached, or the socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The hub sent bytes that are not a message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The hub closed the connection.
    #[error("the hub closed the connection")]
    Closed,
    /// The hub's welcome carries another version than [`BASE_VERSION`](crate::BASE_VERSION): it speaks another
    /// protocol altogether.
    #[error("the hub starts at protocol version {hub}, this program expects {ours}")]
    Version {
        /// The version in the hub's welcome.
        hub: u32,
        /// [`BASE_VERSION`](crate::BASE_VERSION).
        ours: u32,
    },
    /// The hub refused the connection (for example because it is full).
    #[error("the hub refused the connection ({kind:?}): {text}")]
    Refused {
        /// Why.
        kind: ErrorKind,
        /// The hub's words.
        text: String,
    },
    /// The first frame was not a welcome.
    #[error("the hub did not start with a welcome but with {0}")]
    NoWelcome(String),
}
