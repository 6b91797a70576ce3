//! The enums nested in messages: what a body is, and why something failed.

use serde::{Deserialize, Serialize};

/// What a body is. The hub passes it through untouched; the body itself is always raw bytes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// Opaque bytes.
    Bytes,
    /// UTF-8 text, as the sender claims.
    Text,
    /// The content of a file with this name (at most [`crate::MAX_NAME_LEN`] bytes).
    File {
        /// The name the sender gave; receivers must clean it before using it as a path.
        name: String,
    },
    /// Since version 4. An end-to-end envelope (docs/E2E.md): the receiver opens it with its
    /// own key; what it holds (text or a file, and the file's name) is inside. A receiver at
    /// an older version gets [`BodyKind::Bytes`] in its place.
    Sealed,
}

/// Machine-readable error causes. Append-only, like the messages.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A relay named no receiver.
    NoReceivers,
    /// A relay named more than [`crate::MAX_RECEIVERS`] receivers.
    TooManyReceivers,
    /// A relay named a receiver twice.
    DuplicateReceivers,
    /// A body was larger than [`crate::MAX_BODY_LEN`].
    BodyTooLarge,
    /// A file name was longer than [`crate::MAX_NAME_LEN`].
    NameTooLong,
    /// A frame's length prefix exceeded [`crate::MAX_FRAME_LEN`]; the connection closes.
    FrameTooLarge,
    /// A frame did not hold a valid message; the connection closes.
    Malformed,
    /// A frame took longer than the hub's frame deadline to arrive; the connection closes.
    FrameDeadline,
    /// The hub has no room for another connection; the connection closes.
    ServerFull,
    /// This client did not read fast enough and its queue overflowed; the connection closes.
    SlowConsumer,
    /// This client did not answer keepalives; the connection closes.
    Idle,
    /// The hub is shutting down; the connection closes.
    ShuttingDown,
    /// Since version 3. A registration's name is not an account name.
    InvalidName,
    /// Since version 3. A registration's name is taken.
    NameTaken,
    /// Since version 3. A login or a delete was refused: no such name, another key, or a
    /// signature over something else (deliberately not told apart).
    LoginFailed,
    /// Since version 3. Too many registrations or failed logins from this address: try later.
    RateLimited,
    /// Since version 3. This hub creates accounts only on its operator's command.
    RegistrationClosed,
    /// Since version 3. Not in this state: a register or login on a connection that is logged
    /// in, a delete on one that is not, or a signature with no challenge asked for.
    WrongState,
    /// Since version 3. This account has been deleted; its sessions close.
    AccountDeleted,
    /// Since version 3. The hub's store failed; nothing was changed.
    StoreFailed,
    /// Since version 3. A directory pattern longer than [`crate::account::MAX_PATTERN_LEN`].
    BadPattern,
    /// Since version 4. A published key record whose signature is not the account key's
    /// over this account and key.
    BadKeyRecord,
}

impl BodyKind {
    /// This kind as a receiver speaking `version` may see it: a later kind becomes the older
    /// one its version knows (docs/PROTOCOL.md § 12).
    pub fn for_version(&self, version: u32) -> BodyKind {
        match self {
            BodyKind::Sealed if version < crate::message::KEYS_VERSION => BodyKind::Bytes,
            kind => kind.clone(),
        }
    }

    /// The highest tag, for error texts.
    pub(crate) const LAST_TAG: u32 = 3;
}

impl ErrorKind {
    /// The highest tag, for error texts.
    pub(crate) const LAST_TAG: u32 = 21;
}
