//! What each request does: answer it, refuse it, or route a relay.

use bytes::Bytes;
use shared::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId, BASE_VERSION, PROTOCOL_VERSION,
};

use super::rules::{check_body, check_relay};
use super::Client;
use crate::close::{Close, CloseReason};
use crate::frame;

/// Handle one frame's payload from `client`. An error is the reason to close the connection.
pub(super) fn handle(client: &mut Client, payload: &[u8]) -> Result<(), Close> {
    let msg = ClientMsg::decode_borrowed(payload)
        .map_err(|e| Close::with_text(CloseReason::Malformed, e.to_string()))?;
    let first = !std::mem::replace(&mut client.greeted, !matches!(msg, ClientMsg::KeepAliveAck));
    match msg {
        ClientMsg::Identity { req } => answer(
            client,
            &HubMsg::<Bytes>::Identity {
                req,
                user_id: client.id,
            },
        ),
        ClientMsg::List { req } => {
            let peers = client.hub.registry.list(client.id);
            answer(client, &HubMsg::<Bytes>::Peers { req, peers })
        }
        ClientMsg::Relay {
            req,
            to,
            kind,
            body,
        } => relay(client, req, &to, kind, body),
        ClientMsg::Echo { req, body } => match check_body(body) {
            Ok(()) => answer(client, &HubMsg::Echo { req, body }),
            Err((kind, text)) => refuse(client, req, kind, &text),
        },
        ClientMsg::Watch { req } => client
            .hub
            .registry
            .watch(client.id, req)
            .map_err(|_| CloseReason::Io.into()),
        ClientMsg::Ping { req } => answer(client, &HubMsg::<Bytes>::Pong { req }),
        ClientMsg::KeepAliveAck => Ok(()),
        ClientMsg::Hello { req, version } if first => {
            client.version = version.clamp(BASE_VERSION, PROTOCOL_VERSION);
            let version = client.version;
            answer(client, &HubMsg::<Bytes>::Hello { req, version })
        }
        ClientMsg::Hello { .. } => Err(Close::with_text(
            CloseReason::Malformed,
            "Hello may only be the first request on a connection",
        )),
    }
}

fn relay(
    client: &mut Client,
    req: RequestId,
    to: &[UserId],
    kind: BodyKind,
    body: &[u8],
) -> Result<(), Close> {
    if let Err((kind, text)) = check_relay(to, &kind, body) {
        return refuse(client, req, kind, &text);
    }
    // Encoded once; every receiver's queue gets a reference to the same bytes.
    let message = frame::encode(&HubMsg::Message {
        from: client.id,
        kind,
        body,
    });
    let routed = client.hub.registry.route(to, &message);
    tracing::trace!(
        delivered = routed.delivered,
        unknown = routed.unknown.len(),
        dropped = routed.dropped.len(),
        "relay"
    );
    let relayed = HubMsg::<Bytes>::Relayed {
        req,
        delivered: routed.delivered,
        unknown: routed.unknown,
        dropped: routed.dropped,
    };
    answer(client, &relayed)
}

/// Queue an answer for this client. Its own answers never make it a slow consumer: its reader
/// waits for room before reading the next request (see `Outbox::push_own`).
pub(super) fn answer<B: serde::Serialize>(client: &Client, msg: &HubMsg<B>) -> Result<(), Close> {
    send(client, frame::encode(msg))
}

/// Answer a request with an error; the connection stays open.
fn refuse(client: &Client, req: RequestId, kind: ErrorKind, text: &str) -> Result<(), Close> {
    send(client, frame::error(Some(req), kind, text))
}

fn send(client: &Client, frame: Bytes) -> Result<(), Close> {
    client
        .outbox
        .push_own(frame)
        .map_err(|_| CloseReason::Io.into())
}
