//! What each request does: answer it, refuse it, or route a relay.

use bytes::Bytes;
use shared::{BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId, PROTOCOL_VERSION};

use super::reader::Reader;
use super::rules::{check_body, check_relay};
use crate::queue::PushError;
use crate::registry::{frame, CloseReason};

impl Reader {
    pub(super) fn handle_payload(&mut self, payload: &[u8]) -> Result<(), CloseReason> {
        let msg = match ClientMsg::decode_borrowed(payload) {
            Ok(msg) => msg,
            Err(e) => {
                self.say_goodbye(ErrorKind::Malformed, &e.to_string());
                return Err(CloseReason::Malformed);
            }
        };
        match msg {
            ClientMsg::Identity { req } => self.reply(HubMsg::<Bytes>::Identity {
                req,
                user_id: self.id,
            }),
            ClientMsg::List { req } => {
                let peers = self.hub.registry.list(self.id);
                self.reply(HubMsg::<Bytes>::Peers { req, peers })
            }
            ClientMsg::Relay {
                req,
                to,
                kind,
                body,
            } => self.relay(req, &to, kind, body),
            ClientMsg::Echo { req, body } => match check_body(body) {
                Ok(()) => self.reply(HubMsg::Echo { req, body }),
                Err((kind, text)) => self.refuse(req, kind, text),
            },
            ClientMsg::Watch { req } => match self.hub.registry.watch(self.id, req) {
                Ok(()) => Ok(()),
                Err(_) => Err(self.slow()),
            },
            ClientMsg::Ping { req } => self.reply(HubMsg::<Bytes>::Pong { req }),
            ClientMsg::KeepAliveAck => Ok(()),
            // Not yet held to "first request only" (docs/PROTOCOL.md § 12).
            ClientMsg::Hello { req, version } => self.reply(HubMsg::<Bytes>::Hello {
                req,
                version: version.min(PROTOCOL_VERSION),
            }),
        }
    }

    fn relay(
        &mut self,
        req: RequestId,
        to: &[UserId],
        kind: BodyKind,
        body: &[u8],
    ) -> Result<(), CloseReason> {
        if let Err((kind, text)) = check_relay(to, &kind, body) {
            return self.refuse(req, kind, text);
        }
        // Encoded once; every receiver's queue gets a reference to the same bytes.
        let message = frame(&HubMsg::Message {
            from: self.id,
            kind,
            body,
        });
        let routed = self.hub.registry.route(to, &message);
        tracing::trace!(
            delivered = routed.delivered,
            unknown = routed.unknown.len(),
            dropped = routed.dropped.len(),
            "relay"
        );
        self.reply(HubMsg::<Bytes>::Relayed {
            req,
            delivered: routed.delivered,
            unknown: routed.unknown,
            dropped: routed.dropped,
        })
    }

    /// Queue an answer for this client. Its queue only overflows if it stopped reading while
    /// others kept sending to it; then it is a slow consumer like any other.
    pub(super) fn reply<B: serde::Serialize>(&mut self, msg: HubMsg<B>) -> Result<(), CloseReason> {
        match self.outbox.try_push(frame(&msg)) {
            Ok(()) => Ok(()),
            Err(PushError::Full) => Err(self.slow()),
            Err(PushError::Closed) => Err(CloseReason::Io),
        }
    }

    /// Answer a request with an error; the connection stays open.
    fn refuse(&mut self, req: RequestId, kind: ErrorKind, text: String) -> Result<(), CloseReason> {
        self.reply(HubMsg::<Bytes>::Error {
            req: Some(req),
            kind,
            text,
        })
    }

    /// Queue the error that explains why the hub is about to close this connection. The user
    /// leaves the registry first, so no relay can slip a message in after the goodbye.
    pub(super) fn say_goodbye(&mut self, kind: ErrorKind, text: &str) {
        self.hub.registry.leave(self.id);
        let bye = frame(&HubMsg::<Bytes>::Error {
            req: None,
            kind,
            text: text.to_string(),
        });
        let _ = self.outbox.try_push(bye);
    }

    fn slow(&self) -> CloseReason {
        self.control.close(CloseReason::SlowConsumer);
        CloseReason::SlowConsumer
    }
}
