//! A registered client as other clients see it: the one place where the slow-consumer rule
//! is applied to a frame on its way to someone.

use std::sync::Arc;

use bytes::Bytes;

use crate::close::{CloseReason, Control};
use crate::presence::Pending;
use crate::queue::{Outbox, PushError};

/// What the registry holds for each connected user: its queue and its kill switch.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    outbox: Outbox,
    control: Arc<Control>,
}

/// A frame that did not reach a peer's queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dropped;

impl Peer {
    pub(crate) fn new(outbox: Outbox, control: Arc<Control>) -> Peer {
        Peer { outbox, control }
    }

    /// Queue another client's frame for this peer, never waiting. A peer whose backlog is being
    /// thrown away gets nothing more; one whose queue is past its limits (see
    /// [`crate::queue::Limits`]) is a slow consumer and is closed. Either way the sender is told
    /// it was dropped.
    pub(crate) fn deliver(&self, frame: Bytes) -> Result<(), Dropped> {
        if self.control.refuses_frames() {
            return Err(Dropped);
        }
        match self.outbox.try_push(frame) {
            Ok(()) => Ok(()),
            Err(PushError::Full) => {
                self.control.close(CloseReason::SlowConsumer);
                Err(Dropped)
            }
            Err(PushError::Closed) => Err(Dropped),
        }
    }

    /// Note a presence change for this peer, a watcher at `shared::PRESENCE_VERSION`: the
    /// first since its last `Presence` queues the place the changes go out in, under the same
    /// slow-consumer rule as any frame (see [`crate::presence`]).
    pub(crate) fn note_presence(&self, change: impl FnOnce(&Pending) -> Option<Bytes>) {
        if let Some(place) = change(self.control.presence()) {
            let _ = self.deliver(place);
        }
    }

    /// Of `frame` and `legacy` (the same relay with a body kind older versions know, when the
    /// two differ), the one this peer's version reads.
    pub(crate) fn pick<'a>(&self, frame: &'a Bytes, legacy: Option<&'a Bytes>) -> &'a Bytes {
        match legacy {
            Some(legacy) if !self.control.takes_sealed() => legacy,
            _ => frame,
        }
    }

    /// Whether relays with `BodyKind::Sealed` reach this peer as such.
    pub(crate) fn takes_sealed(&self) -> bool {
        self.control.takes_sealed()
    }

    /// Whether this peer's connection is closing, for any reason.
    pub(crate) fn is_closing(&self) -> bool {
        self.control.is_closed()
    }

    /// Whether this peer is a session of an account that takes no more relays and has yet to
    /// hand those it did not write to the mailbox.
    pub(crate) fn hands_over(&self) -> bool {
        self.control.keeps_mail() && self.control.is_closed()
    }

    /// Whether relays this peer does not write go to its account's mailbox.
    pub(crate) fn keeps_mail(&self) -> bool {
        self.control.keeps_mail()
    }

    /// End this peer's connection for `reason` (see [`Control::close`]).
    pub(crate) fn close(&self, reason: CloseReason) {
        self.control.close(reason);
    }

    /// Its kill switch, for tests that close it.
    #[cfg(test)]
    pub(crate) fn control_for_tests(&self) -> Arc<Control> {
        self.control.clone()
    }

    /// A snapshot of presence is being queued for this peer: what is pending is in it.
    pub(crate) fn restart_presence(&self) {
        self.control.presence().restart();
    }

    /// Queue an answer to this peer's own request (see [`Outbox::push_own`]).
    pub(crate) fn answer(&self, frame: Bytes) -> Result<(), PushError> {
        self.outbox.push_own(frame)
    }
}
