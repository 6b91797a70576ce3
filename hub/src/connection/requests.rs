//! What each request does: answer it, refuse it, route a relay, or hand what needs the
//! store to [`super::accounts`].

use bytes::Bytes;
use shared::account::Kept;
use shared::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, UserId, BASE_VERSION, PROTOCOL_VERSION,
    RECEIPTS_VERSION,
};

use super::accounts::{self, Deferred, RelayWork, ACCOUNTS_VERSION};
use super::rules::{check_body, check_relay};
use super::Client;
use crate::close::{Close, CloseReason};
use crate::frame;
use crate::registry::{list_answer, Routed};

/// Handle one frame's payload from `client`. An error is the reason to close the connection;
/// a [`Deferred`] is work for the store, to be finished before the next request.
/// (Boxed: a relay's result stays one word wide on the hot path.)
///
/// `behind`: relays of this connection are in flight (`super::in_flight`), and whatever this
/// request answers must come after theirs. A relay that passes its rules is routed and
/// deferred behind them; anything else (a keepalive's answer aside, which is answered by
/// nothing) comes back whole as [`Deferred::Behind`], to be handled once they are answered.
pub(super) fn handle(
    client: &mut Client,
    payload: &[u8],
    behind: bool,
) -> Result<Option<Box<Deferred>>, Close> {
    let msg = ClientMsg::decode_borrowed(payload)
        .map_err(|e| Close::with_text(CloseReason::Malformed, e.to_string()))?;
    if behind && !goes_behind(&msg) {
        let payload = Bytes::copy_from_slice(payload);
        return Ok(Some(Box::new(Deferred::Behind(payload))));
    }
    let first = !std::mem::replace(&mut client.greeted, !matches!(msg, ClientMsg::KeepAliveAck));
    // Relays go in flight only once the gate lets them through, and it lets a connection's
    // relays through for good (it has logged in): it refuses nothing here while `behind`.
    if let Some(refused) = super::gate::check(client, &msg) {
        return refused.map(|()| None);
    }
    if msg.is_account_request() {
        if client.version < msg.needs_version() {
            let needed = msg.needs_version();
            let what = if needed == ACCOUNTS_VERSION {
                "account requests need"
            } else {
                "this request needs"
            };
            return Err(Close::with_text(
                CloseReason::Malformed,
                format!("{what} protocol version {needed}; say Hello first"),
            ));
        }
        return accounts::handle(client, msg).map(|job| job.map(Box::new));
    }
    match msg {
        ClientMsg::Identity { req } => answer(
            client,
            &HubMsg::<Bytes>::Identity {
                req,
                user_id: client.id,
            },
        ),
        ClientMsg::List { req } => {
            let ids = client.hub.registry.list(client.present_as);
            list_answer(&ids, req, client.version)
                .into_iter()
                .try_for_each(|frame| send(client, frame))
        }
        ClientMsg::Relay {
            req,
            to,
            kind,
            body,
        } => return relay(client, req, &to, kind, body, behind).map(|job| job.map(Box::new)),
        ClientMsg::Echo { req, body } => match check_body(body) {
            Ok(()) => answer(client, &HubMsg::Echo { req, body }),
            Err((kind, text)) => refuse(client, req, kind, &text),
        },
        ClientMsg::Watch { req } => client
            .hub
            .registry
            .watch(client.conn, client.present_as, req, client.version)
            .map_err(|_| CloseReason::Io.into()),
        ClientMsg::Ping { req } => answer(client, &HubMsg::<Bytes>::Pong { req }),
        ClientMsg::KeepAliveAck => Ok(()),
        ClientMsg::Hello { req, version } if first => {
            client.version = version.clamp(BASE_VERSION, PROTOCOL_VERSION);
            let version = client.version;
            client.control.set_version(version);
            answer(client, &HubMsg::<Bytes>::Hello { req, version })
        }
        ClientMsg::Hello { .. } => Err(Close::with_text(
            CloseReason::Malformed,
            "Hello may only be the first request on a connection",
        )),
        ClientMsg::Challenge { .. }
        | ClientMsg::Register { .. }
        | ClientMsg::Login { .. }
        | ClientMsg::Lookup { .. }
        | ClientMsg::Users { .. }
        | ClientMsg::DeleteAccount { .. }
        | ClientMsg::Ack { .. }
        | ClientMsg::PublishKey { .. } => unreachable!("account requests are handled above"),
    }
    .map(|()| None)
}

/// Whether `msg` may be handled while relays are in flight: a relay that passes its rules
/// (its answer is deferred behind theirs) and a keepalive's answer, which gets none.
fn goes_behind(msg: &ClientMsg<&[u8]>) -> bool {
    match msg {
        ClientMsg::Relay { to, kind, body, .. } => check_relay(to, kind, body).is_ok(),
        ClientMsg::KeepAliveAck => true,
        _ => false,
    }
}

/// Route a relay to this hub's live receivers; what else it needs (other hubs, mailboxes,
/// or only to be answered behind the relays in flight, `behind`) comes back deferred.
fn relay(
    client: &mut Client,
    req: RequestId,
    to: &[UserId],
    kind: BodyKind,
    body: &[u8],
    behind: bool,
) -> Result<Option<Deferred>, Close> {
    if let Err((kind, text)) = check_relay(to, &kind, body) {
        return refuse(client, req, kind, &text).map(|()| None);
    }
    // Encoded once; every receiver's queue gets a reference to the same bytes, and a mailbox
    // write takes the body as a slice of them.
    let msg = HubMsg::Message {
        from: client.id,
        kind,
        body,
    };
    let message = frame::encode(&msg);
    let HubMsg::Message { kind, .. } = msg else {
        unreachable!("built above")
    };
    // A receiver of a version before `Sealed` gets the same body as `Bytes`.
    let legacy = (kind == BodyKind::Sealed).then(|| {
        frame::encode(&HubMsg::Message {
            from: client.id,
            kind: BodyKind::Bytes,
            body,
        })
    });
    let routed = client.hub.registry.route_for(to, &message, legacy.as_ref());
    // The account's sessions on other hubs get their `Outgoing` through the cluster.
    let mut outgoing = None;
    if client.account.is_some() && client.hub.cluster.is_some() {
        let hubs = client.hub.registry.remote_hubs(client.id);
        if !hubs.is_empty() {
            let frame = frame::encode(&HubMsg::Outgoing {
                to: to.to_vec(),
                kind: kind.clone(),
                body,
            });
            outgoing = Some((hubs, frame));
        }
    }
    if client.account.is_some() {
        client
            .hub
            .registry
            .to_other_sessions(client.id, client.conn, |sealed| {
                frame::encode(&HubMsg::Outgoing {
                    to: to.to_vec(),
                    // A session before version 4 gets `Sealed` as `Bytes`.
                    kind: if sealed {
                        kind.clone()
                    } else {
                        kind.for_version(ACCOUNTS_VERSION)
                    },
                    body,
                })
            });
    }
    tracing::trace!(
        delivered = routed.delivered,
        unknown = routed.unknown.len(),
        dropped = routed.dropped.len(),
        offline = routed.offline.len(),
        "relay"
    );
    if behind || !routed.offline.is_empty() || !routed.remote.is_empty() || outgoing.is_some() {
        let body = message.slice(message.len() - body.len()..);
        return Ok(Some(Deferred::Relay(RelayWork {
            req,
            to: to.to_vec(),
            kind,
            body,
            routed,
            message,
            outgoing,
            number: 0,
        })));
    }
    answer_relay(client, req, to, routed, Vec::new(), Vec::new()).map(|()| None)
}

/// Answer a relay in the connection's version: `Posted` (with the mailbox seqs), `Routed`,
/// or for a client before accounts `Relayed`, where what was kept for a mailbox counts as
/// delivered and a full mailbox as dropped.
pub(super) fn answer_relay(
    client: &Client,
    req: RequestId,
    to: &[UserId],
    routed: Routed,
    queued: Vec<Kept>,
    full: Vec<UserId>,
) -> Result<(), Close> {
    if client.version >= RECEIPTS_VERSION {
        return answer(
            client,
            &HubMsg::<Bytes>::Posted {
                req,
                delivered: routed.delivered,
                queued,
                unknown: routed.unknown,
                dropped: routed.dropped,
                full,
            },
        );
    }
    if client.version >= ACCOUNTS_VERSION {
        return answer(
            client,
            &HubMsg::<Bytes>::Routed {
                req,
                delivered: routed.delivered,
                queued: queued.iter().map(|k| k.to).collect(),
                unknown: routed.unknown,
                dropped: routed.dropped,
                full,
            },
        );
    }
    let mut dropped = routed.dropped;
    if !full.is_empty() {
        dropped.extend(full);
        dropped.sort_by_key(|id| to.iter().position(|t| t == id));
    }
    answer(
        client,
        &HubMsg::<Bytes>::Relayed {
            req,
            delivered: routed.delivered + queued.len() as u32,
            unknown: routed.unknown,
            dropped,
        },
    )
}

/// Queue an answer for this client. Its own answers never make it a slow consumer: its reader
/// waits for room before reading the next request (see `Outbox::push_own`).
pub(super) fn answer<B: serde::Serialize>(client: &Client, msg: &HubMsg<B>) -> Result<(), Close> {
    send(client, frame::encode(msg))
}

/// Answer a request with an error; the connection stays open.
pub(super) fn refuse(
    client: &Client,
    req: RequestId,
    kind: ErrorKind,
    text: &str,
) -> Result<(), Close> {
    send(client, frame::error(Some(req), kind, text))
}

fn send(client: &Client, frame: Bytes) -> Result<(), Close> {
    client
        .outbox
        .push_own(frame)
        .map_err(|_| CloseReason::Io.into())
}
