//! Why a connection ends, what each reason does to the frames still queued, and the goodbye the
//! client is told. Every close in the hub goes through [`Control::close`]; every goodbye comes
//! from [`goodbye`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;
use shared::ErrorKind;
use tokio::sync::Notify;

use crate::frame;
use crate::presence::Pending;

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection.
    PeerClosed,
    /// The client's queue stayed too full for too long, or reached its hard limit.
    SlowConsumer,
    /// A length prefix exceeded the frame limit.
    FrameTooLarge,
    /// A frame did not hold a valid message.
    Malformed,
    /// A frame took too long to arrive.
    FrameDeadline,
    /// The hub was at its connection limit.
    ServerFull,
    /// The client did not answer keepalives.
    Idle,
    /// The account this connection was logged in as has been deleted.
    AccountDeleted,
    /// The store failed while serving this connection's mailbox.
    StoreFailed,
    /// The hub shut down.
    Shutdown,
    /// A write made no progress within the write timeout.
    WriteTimeout,
    /// The socket failed (reset, broken pipe).
    Io,
}

/// What becomes of the frames already queued for a connection that is closing.
///
/// A session of an account is the exception for relayed messages: whatever the reason, those
/// it has not written go to the account's mailbox (see [`Control::keep_mail`]), and only the
/// rest of its queue meets this fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// They are written, then the goodbye: the client gets every answer to what it sent.
    Flush,
    /// They are thrown away: the frame being written is finished, then the goodbye. For a
    /// client whose backlog is the problem.
    Discard,
    /// Nothing more is written: the socket is gone.
    Abandon,
}

impl CloseReason {
    /// The fate of the queue, one rule per reason.
    pub(crate) fn queued(self) -> Queued {
        match self {
            CloseReason::SlowConsumer => Queued::Discard,
            CloseReason::WriteTimeout | CloseReason::Io => Queued::Abandon,
            CloseReason::PeerClosed
            | CloseReason::FrameTooLarge
            | CloseReason::Malformed
            | CloseReason::FrameDeadline
            | CloseReason::ServerFull
            | CloseReason::Idle
            | CloseReason::AccountDeleted
            | CloseReason::StoreFailed
            | CloseReason::Shutdown => Queued::Flush,
        }
    }

    /// The error a client is told for this reason, with the text used when none is given. `None`
    /// for the reasons where the client closed or its socket failed: nobody is left to tell.
    fn goodbye(self) -> Option<(ErrorKind, &'static str)> {
        Some(match self {
            CloseReason::SlowConsumer => (
                ErrorKind::SlowConsumer,
                "you did not read fast enough and your queue overflowed; disconnecting",
            ),
            CloseReason::FrameTooLarge => (ErrorKind::FrameTooLarge, "frame too large"),
            CloseReason::Malformed => (ErrorKind::Malformed, "malformed message"),
            CloseReason::FrameDeadline => {
                (ErrorKind::FrameDeadline, "a frame took too long to arrive")
            }
            CloseReason::ServerFull => (
                ErrorKind::ServerFull,
                "the hub is at its connection limit; try again later",
            ),
            CloseReason::Idle => (ErrorKind::Idle, "no answer to keepalive"),
            CloseReason::AccountDeleted => (
                ErrorKind::AccountDeleted,
                "this account has been deleted; disconnecting its sessions",
            ),
            CloseReason::StoreFailed => (
                ErrorKind::StoreFailed,
                "the hub's store failed; your mailbox is kept, log in again later",
            ),
            CloseReason::Shutdown => (ErrorKind::ShuttingDown, "the hub is shutting down"),
            CloseReason::PeerClosed | CloseReason::WriteTimeout | CloseReason::Io => return None,
        })
    }
}

/// A reason and, for some, the words that explain it (a decode error says what was wrong).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// Why.
    pub reason: CloseReason,
    /// What the client is told instead of the reason's standard text.
    pub text: Option<String>,
}

impl From<CloseReason> for Close {
    fn from(reason: CloseReason) -> Close {
        Close { reason, text: None }
    }
}

impl Close {
    /// A close whose goodbye says `text`.
    pub fn with_text(reason: CloseReason, text: impl Into<String>) -> Close {
        Close {
            reason,
            text: Some(text.into()),
        }
    }
}

/// The goodbye frame for `close`, if its reason has one.
pub(crate) fn goodbye(close: &Close) -> Option<Bytes> {
    let (kind, standard) = close.reason.goodbye()?;
    let text = close.text.as_deref().unwrap_or(standard);
    Some(frame::error(None, kind, text))
}

/// Lets any task end a connection and say why; the first reason given wins.
#[derive(Debug, Default)]
pub struct Control {
    close: OnceLock<Close>,
    /// Woken by the first close, for [`Control::killed`] and [`Control::closing`]. One
    /// `Notify` inside the control, where two cancellation tokens were two allocations of
    /// 112 bytes each for every connection.
    closed: Notify,
    /// A session of an account: relays it does not write are kept in the mailbox.
    keeps_mail: AtomicBool,
    /// It speaks `shared::KEYS_VERSION` or later, so relays reach it as `BodyKind::Sealed`;
    /// before, as `Bytes` (docs/PROTOCOL.md § 12). Read by other connections' relays.
    takes_sealed: AtomicBool,
    /// Presence changes not yet written, for a watcher at `shared::PRESENCE_VERSION`.
    presence: Pending,
}

impl Control {
    /// End the connection for `close`; a later call changes nothing.
    pub(crate) fn close(&self, close: impl Into<Close>) {
        if self.close.set(close.into()).is_ok() {
            self.closed.notify_waiters();
        }
    }

    /// The reason given to the first `close`, if any.
    pub fn reason(&self) -> Option<CloseReason> {
        self.close.get().map(|c| c.reason)
    }

    /// The first close, if any.
    pub(crate) fn get(&self) -> Option<&Close> {
        self.close.get()
    }

    /// Resolves once the connection is closed with a reason that does not wait for its queue
    /// ([`Queued::Discard`], [`Queued::Abandon`]); a flushing close ends the writer by
    /// orphaning its queue instead.
    pub(crate) async fn killed(&self) {
        self.killed_or_closing(false).await
    }

    /// [`Control::killed`], or with `any` [`Control::closing`]: one wait, where the two
    /// would keep room for two in a future that spends its life waiting.
    pub(crate) async fn killed_or_closing(&self, any: bool) {
        // As in `closing`, inline: a future of its inside this one would be 24 bytes more.
        let closed = self.closed.notified();
        if !self.is_closed() {
            closed.await
        }
        if !any && !self.refuses_frames() {
            // The first close flushes, and no later one counts.
            std::future::pending::<()>().await
        }
    }

    /// Resolves once the connection is closed for any reason, so that a reader learns of a
    /// close decided elsewhere (the deletion of its account) and stops.
    pub(crate) async fn closing(&self) {
        // A `Notified` hears every `notify_waiters` from its creation on, so a close between
        // the check and the wait is not missed; and it is the whole state of this future, as
        // small as a token's wait.
        let closed = self.closed.notified();
        if !self.is_closed() {
            closed.await
        }
    }

    /// Whether the connection is closing for any reason: its reader reads no more.
    pub(crate) fn is_closed(&self) -> bool {
        self.close.get().is_some()
    }

    /// This connection agreed on protocol version `version`.
    pub(crate) fn set_version(&self, version: u32) {
        self.takes_sealed
            .store(version >= shared::KEYS_VERSION, Ordering::Release);
    }

    /// The presence changes this connection, a watcher at `shared::PRESENCE_VERSION`, has
    /// not been sent yet.
    pub(crate) fn presence(&self) -> &Pending {
        &self.presence
    }

    /// Whether relays with `BodyKind::Sealed` reach it as such (else as `Bytes`).
    pub(crate) fn takes_sealed(&self) -> bool {
        self.takes_sealed.load(Ordering::Acquire)
    }

    /// From now on this connection is a session of an account with a mailbox: when it
    /// closes, its writer hands the relayed messages it has not written to the mailbox
    /// instead of writing or dropping them (`crate::writer`, `connection::serve`).
    pub(crate) fn keep_mail(&self) {
        self.keeps_mail.store(true, Ordering::Release);
    }

    /// Whether relays this connection does not write go to its account's mailbox.
    pub(crate) fn keeps_mail(&self) -> bool {
        self.keeps_mail.load(Ordering::Acquire)
    }

    /// Whether frames for this connection are thrown away: it is closing and its queue is not
    /// flushed. A connection closing with a flush takes frames until it leaves the registry,
    /// and writes them before its goodbye. One atomic load (the token's `is_cancelled` takes a
    /// mutex), as routing asks this for every receiver.
    pub(crate) fn refuses_frames(&self) -> bool {
        self.close
            .get()
            .is_some_and(|c| c.reason.queued() != Queued::Flush)
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn the_first_reason_wins_and_only_urgent_ones_kill() {
        let control = Control::default();
        control.close(CloseReason::Malformed);
        control.close(CloseReason::SlowConsumer);
        assert_eq!(control.reason(), Some(CloseReason::Malformed));
        assert!(control.is_closed());
        assert!(!control.refuses_frames(), "a flushing close drains first");
        assert!(
            control.killed().now_or_never().is_none(),
            "a flushing close drains first"
        );
        assert!(control.closing().now_or_never().is_some());

        let control = Control::default();
        control.close(CloseReason::SlowConsumer);
        assert!(control.killed().now_or_never().is_some());
    }

    #[test]
    fn a_close_wakes_those_already_waiting() {
        let control = Control::default();
        let mut killed = Box::pin(control.killed());
        let mut closing = Box::pin(control.closing());
        assert!((&mut killed).now_or_never().is_none());
        assert!((&mut closing).now_or_never().is_none());
        control.close(CloseReason::Io);
        assert!(closing.now_or_never().is_some());
        assert!(killed.now_or_never().is_some());
    }

    #[test]
    fn a_goodbye_carries_the_given_text_or_the_standard_one() {
        let decode = |bytes: &Bytes| shared::HubMsg::decode(&bytes[4..]).expect("decodes");
        let bye = goodbye(&Close::with_text(CloseReason::Malformed, "unknown tag 9"))
            .expect("the hub says why");
        assert!(matches!(
            decode(&bye),
            shared::HubMsg::Error { req: None, kind: ErrorKind::Malformed, text } if text == "unknown tag 9"
        ));
        let bye = goodbye(&CloseReason::Shutdown.into()).expect("the hub says why");
        assert!(matches!(
            decode(&bye),
            shared::HubMsg::Error {
                kind: ErrorKind::ShuttingDown,
                ..
            }
        ));
        assert!(goodbye(&CloseReason::PeerClosed.into()).is_none());
        assert!(goodbye(&CloseReason::WriteTimeout.into()).is_none());
    }
}
