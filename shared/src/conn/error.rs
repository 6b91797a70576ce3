//! Why a client connection could not be used.

use thiserror::Error;

use crate::account::NameError;
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
    /// The hub refused a request; the connection stays open. `kind` says why in a form a
    /// program can act on (for a login: `LoginFailed`, `RateLimited`, `StoreFailed`, ...).
    #[error("the hub refused: {text} ({kind:?})")]
    Denied {
        /// Why.
        kind: ErrorKind,
        /// The hub's words.
        text: String,
    },
    /// The request exists from protocol version `needed` on; this connection agreed on an
    /// older one (an older hub), so it was not sent.
    #[error("this hub speaks protocol version {agreed}; accounts need version {needed}")]
    NeedsVersion {
        /// The version the request needs.
        needed: u32,
        /// The version of this connection.
        agreed: u32,
    },
    /// A name that cannot be an account name, refused before asking the hub.
    #[error("not an account name: {0}")]
    BadName(#[from] NameError),
    /// A request that needs a logged-in connection, on one that is not.
    #[error("this connection is not logged in")]
    NotLoggedIn,
    /// [`crate::conn::Connection::request`] was given a message that has no answer.
    #[error("this message has no answer to wait for")]
    NoAnswer,
    /// The hub answered a request with a message of another type.
    #[error("the hub answered with {0}")]
    Unexpected(String),
    /// The TLS handshake failed, or TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
    /// The hub's certificate is not the one pinned for its address: refused before a byte of
    /// the protocol was exchanged.
    #[error("the hub's certificate has changed: pinned {pinned}, presented {presented}")]
    CertChanged {
        /// The fingerprint pinned for this address.
        pinned: crate::tls::Fingerprint,
        /// The fingerprint of the certificate the hub showed.
        presented: crate::tls::Fingerprint,
    },
    /// More pushes than this came while waiting for an answer.
    #[error("more than {0} messages came before the hub's answer")]
    Backlog(usize),
}
