//! Relays across hubs. The origin groups a relay's remote receivers by the hub they are on and
//! sends each destination hub one NATS request: the `HubMsg::Message` frame it encoded once
//! (the same bytes for every hub, the sender stamped inside), the receivers in the
//! [`RELAY_HEADER`] header. The destination routes that payload as it came to its own live
//! sessions, with the usual slow-consumer rule, and answers with a [`RelayAnswer`]. The origin
//! waits at most [`ClusterConfig::relay_timeout`](super::ClusterConfig) for each; a hub that
//! does not answer in time has its anonymous receivers `dropped` and its accounts sent to the
//! mailbox, where one the destination delivered after all arrives a second time
//! (at-least-once).
//!
//! Only the cluster's own NATS users may publish on the relay subjects (docs/CLUSTER.md, §
//! Permissions): what arrives there is taken as stamped by a hub.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use shared::account::FIRST_ACCOUNT_ID;
use shared::{BodyKind, HubMsg, UserId};
use tokio::task::JoinHandle;
use tracing::warn;

use super::wire::RELAY_HEADER;
use super::wire::{parse_relay_header, relay_header, Envelope, PeerMsg, RelayAnswer, WireError};
use super::{relay_subject, Cluster, ClusterError};
use crate::frame;
use crate::registry::{Registry, RemoteTo, Routed};

/// Take relays from other hubs on this hub's relay subject, until aborted.
pub(crate) async fn serve(
    cluster: Arc<Cluster>,
    registry: Arc<Registry>,
) -> Result<JoinHandle<()>, ClusterError> {
    let mut relays = cluster
        .client
        .subscribe(relay_subject(cluster.hub_id))
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = relays.next().await {
            let answer = match route(&registry, &msg) {
                Ok(answer) => answer,
                Err(e) => {
                    warn!(error = %e, subject = %msg.subject, "a relay from the cluster refused");
                    continue;
                }
            };
            let Some(reply) = msg.reply else { continue };
            let bytes = Envelope::new(cluster.hub_id, PeerMsg::Relayed(answer)).encode();
            if let Err(e) = cluster.client.publish(reply, bytes).await {
                warn!(error = %e, "could not answer a relay");
            }
        }
    }))
}

/// Route a relay that came from another hub to the receivers it names on this one.
fn route(registry: &Registry, msg: &async_nats::Message) -> Result<RelayAnswer, WireError> {
    let to = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(RELAY_HEADER))
        .ok_or(WireError::Header)
        .and_then(|v| parse_relay_header(v.as_str()))?;
    let (from, kind, body) = frame::relayed(&msg.payload).ok_or(WireError::Payload)?;
    // A receiver of a version before `Sealed` gets the same body as `Bytes`: one copy, made
    // only for such a message, as on the origin.
    let legacy = (kind == BodyKind::Sealed).then(|| {
        frame::encode(&HubMsg::Message {
            from,
            kind: BodyKind::Bytes,
            body,
        })
    });
    Ok(registry.route_here(&to, &msg.payload, legacy.as_ref()))
}

/// Send `frame` to each destination hub with its receivers and wait for every answer, each
/// for at most the relay timeout (`None`: no answer in time).
pub(crate) async fn send(
    cluster: &Cluster,
    groups: Vec<(u64, Vec<UserId>)>,
    frame: &Bytes,
) -> Vec<(Vec<UserId>, Option<RelayAnswer>)> {
    let timeout = cluster.config.relay_timeout;
    let asks = groups.into_iter().map(|(hub, to)| async move {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(RELAY_HEADER, relay_header(&to).as_str());
        let asked = cluster
            .client
            .request_with_headers(relay_subject(hub), headers, frame.clone());
        let answer = match tokio::time::timeout(timeout, asked).await {
            Ok(Ok(msg)) => match Envelope::decode(&msg.payload) {
                Ok(Envelope {
                    msg: PeerMsg::Relayed(answer),
                    ..
                }) => Some(answer),
                other => {
                    warn!(?other, "a relay answer not understood");
                    None
                }
            },
            Ok(Err(e)) => {
                warn!(error = %e, hub = %format!("{hub:016x}"), "relay to a hub failed");
                None
            }
            Err(_) => {
                warn!(hub = %format!("{hub:016x}"), ?timeout, "no relay answer in time");
                None
            }
        };
        (to, answer)
    });
    futures::future::join_all(asks).await
}

/// The receivers of `remote` grouped by destination hub, each list in the relay's order.
pub(crate) fn groups(remote: &[RemoteTo]) -> Vec<(u64, Vec<UserId>)> {
    let mut groups: Vec<(u64, Vec<UserId>)> = Vec::new();
    for r in remote {
        match groups.iter_mut().find(|(hub, _)| *hub == r.hub) {
            Some((_, ids)) => ids.push(r.id),
            None => groups.push((r.hub, vec![r.id])),
        }
    }
    groups
}

/// Fold the destination hubs' answers into `routed`: a receiver counts once, as the best that
/// any hub did with it (delivered, then kept for the mailbox, then dropped, then unknown).
/// Accounts no hub delivered to come back, for the mailbox. A hub that did not answer: its
/// anonymous receivers are dropped, its accounts go to the mailbox.
pub(crate) fn merge(
    routed: &mut Routed,
    remote: &[RemoteTo],
    answers: &[(Vec<UserId>, Option<RelayAnswer>)],
) -> Vec<UserId> {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Best {
        Unknown,
        Dropped,
        Offline,
        Delivered,
    }
    let mut best: Vec<(UserId, Best)> = Vec::new();
    for r in remote.iter().filter(|r| !r.counted) {
        if !best.iter().any(|(id, _)| *id == r.id) {
            best.push((r.id, Best::Unknown));
        }
    }
    let mut raise = |id: UserId, to: Best| {
        if let Some((_, b)) = best.iter_mut().find(|(i, _)| *i == id) {
            *b = (*b).max(to);
        }
    };
    for (to, answer) in answers {
        match answer {
            Some(a) => {
                a.delivered
                    .iter()
                    .for_each(|&id| raise(id, Best::Delivered));
                a.offline.iter().for_each(|&id| raise(id, Best::Offline));
                a.dropped.iter().for_each(|&id| raise(id, Best::Dropped));
            }
            None => to.iter().for_each(|&id| raise(id, Best::Offline)),
        }
    }
    let mut mailbox = Vec::new();
    for (id, b) in best {
        let account = id.0 >= FIRST_ACCOUNT_ID;
        match b {
            Best::Delivered => routed.delivered += 1,
            _ if account => mailbox.push(id),
            Best::Offline | Best::Dropped => routed.dropped.push(id),
            Best::Unknown => routed.unknown.push(id),
        }
    }
    mailbox
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB: UserId = UserId(FIRST_ACCOUNT_ID);

    #[test]
    fn a_receiver_counts_once_as_the_best_any_hub_did() {
        let remote = [
            RemoteTo {
                hub: 1,
                id: UserId(5),
                counted: false,
            },
            RemoteTo {
                hub: 2,
                id: UserId(5),
                counted: false,
            },
            RemoteTo {
                hub: 1,
                id: UserId(6),
                counted: false,
            },
            RemoteTo {
                hub: 3,
                id: UserId(7),
                counted: false,
            },
            RemoteTo {
                hub: 3,
                id: BOB,
                counted: false,
            },
            RemoteTo {
                hub: 2,
                id: UserId(8),
                counted: true,
            },
        ];
        assert_eq!(
            groups(&remote),
            vec![
                (1, vec![UserId(5), UserId(6)]),
                (2, vec![UserId(5), UserId(8)]),
                (3, vec![UserId(7), BOB]),
            ]
        );
        let answers = [
            (
                vec![UserId(5), UserId(6)],
                Some(RelayAnswer {
                    unknown: vec![UserId(5)],
                    dropped: vec![UserId(6)],
                    ..RelayAnswer::default()
                }),
            ),
            (
                vec![UserId(5), UserId(8)],
                Some(RelayAnswer {
                    delivered: vec![UserId(5), UserId(8)],
                    ..RelayAnswer::default()
                }),
            ),
            (vec![UserId(7), BOB], None),
        ];
        let mut routed = Routed::default();
        let mailbox = merge(&mut routed, &remote, &answers);
        assert_eq!(routed.delivered, 1, "5 once; 8 was counted on the origin");
        assert_eq!(
            routed.dropped,
            vec![UserId(6), UserId(7)],
            "hub 3 did not answer"
        );
        assert!(routed.unknown.is_empty());
        assert_eq!(
            mailbox,
            vec![BOB],
            "an account on a silent hub goes to the mailbox"
        );
    }
}
