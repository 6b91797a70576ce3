//! Relays across hubs. The origin groups a relay's remote receivers by the hub they are on and
//! publishes to each destination hub one NATS message with a reply subject of its own
//! ([`publish`], `super::replies`): the `HubMsg::Message` frame it encoded once
//! (the same bytes for every hub, the sender stamped inside), the receivers in the
//! [`RELAY_HEADER`] header. The destination routes that payload as it came to its own live
//! sessions, with the usual slow-consumer rule, and answers with a [`RelayAnswer`]. An
//! account with a session there that cannot take it live (draining, closing) the destination
//! keeps in the mailbox itself, under its own drain bookkeeping, and answers `queued` (or
//! `full`); one with no session there is left to the origin (docs/CLUSTER.md, § The drain
//! race). The origin waits at most [`ClusterConfig::relay_timeout`](super::ClusterConfig) for
//! each; a hub that does not answer in time has its anonymous receivers `dropped` and its
//! accounts sent to the mailbox, where one the destination delivered (or kept) after all
//! arrives a second time (at-least-once).
//!
//! An account's `Outgoing` copies and receipts for its sessions on other hubs are [`push`]ed,
//! one NATS message per hub, unanswered.
//!
//! Only the cluster's own NATS users may publish on the relay and push subjects
//! (docs/CLUSTER.md, § Permissions): what arrives there is taken as stamped by a hub.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use shared::account::FIRST_ACCOUNT_ID;
use shared::{BodyKind, HubMsg, UserId};
use tokio::task::JoinHandle;
use tracing::warn;

use shared::account::Kept;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::replies::Waiting;
use super::wire::RELAY_HEADER;
use super::wire::{
    parse_relay_header, relay_header, Envelope, PeerMsg, Pushed, RelayAnswer, WireError,
};
use super::{push_subject, relay_subject, Cluster, ClusterError};
use crate::connection::{now_ms, write_mailboxes, HubContext, PendingWrites, ACCOUNTS_VERSION};
use crate::frame;
use crate::registry::{Registry, RemoteTo, Routed};
use crate::store::Mail;

/// Most mailbox writes a hub makes at once for relays from other hubs (to accounts with a
/// session here that is draining or closing); the next relay waits for one to finish.
pub const MAX_MAILBOX_WRITES: usize = 256;

/// Take relays from other hubs on this hub's relay subject, until aborted. A relay that
/// needs no mailbox write here is answered at once; one that does is written and answered
/// by a task of its own, at most [`MAX_MAILBOX_WRITES`] at a time.
pub(crate) async fn serve(
    cluster: Arc<Cluster>,
    hub: Arc<HubContext>,
) -> Result<JoinHandle<()>, ClusterError> {
    let mut relays = cluster
        .client
        .subscribe(relay_subject(cluster.hub_id))
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    let writes = Arc::new(Semaphore::new(MAX_MAILBOX_WRITES));
    Ok(tokio::spawn(async move {
        while let Some(msg) = relays.next().await {
            let (answer, mail) = match route(&hub, &msg) {
                Ok(routed) => routed,
                Err(e) => {
                    warn!(error = %e, subject = %msg.subject, "a relay from the cluster refused");
                    continue;
                }
            };
            let Some((pending, mail)) = mail else {
                reply(&cluster, msg.reply, answer).await;
                continue;
            };
            let Ok(permit) = writes.clone().acquire_owned().await else {
                return;
            };
            let (cluster, hub) = (cluster.clone(), hub.clone());
            tokio::spawn(async move {
                let mut answer = answer;
                let written = write_mailboxes(&hub, pending, mail).await;
                drop(permit);
                answer.queued.extend(written.kept.queued);
                answer.full.extend(written.kept.full);
                answer.unknown.extend(written.unknown);
                answer.dropped.extend(written.dropped);
                reply(&cluster, msg.reply, answer).await;
            });
        }
    }))
}

async fn reply(cluster: &Cluster, to: Option<async_nats::Subject>, answer: RelayAnswer) {
    let Some(to) = to else { return };
    let bytes = Envelope::new(cluster.hub_id, PeerMsg::Relayed(answer)).encode();
    if let Err(e) = cluster.client.publish(to, bytes).await {
        warn!(error = %e, "could not answer a relay");
    }
}

/// Route a relay that came from another hub to the receivers it names on this one; the
/// mailbox writes it needs here (counted pending) and the mail to write, if any.
fn route(
    hub: &HubContext,
    msg: &async_nats::Message,
) -> Result<(RelayAnswer, Option<(PendingWrites, Mail)>), WireError> {
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
            body: body.clone(),
        })
    });
    let (answer, here) = hub.registry.route_here(&to, &msg.payload, legacy.as_ref());
    if here.is_empty() {
        return Ok((answer, None));
    }
    let mail = Mail {
        from,
        sent_at_ms: now_ms(),
        kind,
        body,
    };
    Ok((answer, Some((PendingWrites::new(hub, here), mail))))
}

/// Take pushes for this hub's sessions from other hubs (`Outgoing`, receipts), until aborted.
pub(crate) async fn serve_pushes(
    cluster: Arc<Cluster>,
    registry: Arc<Registry>,
) -> Result<JoinHandle<()>, ClusterError> {
    let mut pushes = cluster
        .client
        .subscribe(push_subject(cluster.hub_id))
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = pushes.next().await {
            match Envelope::decode(&msg.payload) {
                Ok(Envelope {
                    msg: PeerMsg::Push { to, what, frame },
                    ..
                }) => take_push(&registry, to, what, Bytes::from(frame)),
                other => warn!(?other, "a push from the cluster not understood"),
            }
        }
    }))
}

/// Hand a push to the sessions of `to` here that take it.
fn take_push(registry: &Registry, to: UserId, what: Pushed, frame: Bytes) {
    match what {
        Pushed::Receipt => {
            registry.to_receipt_sessions(to, &frame);
        }
        Pushed::Outgoing => {
            // A session of a version before `Sealed` gets the same body as `Bytes`.
            let legacy = || match HubMsg::<Bytes>::decode(frame.get(4..).unwrap_or_default()) {
                Ok(HubMsg::Outgoing { to, kind, body }) => frame::encode(&HubMsg::Outgoing {
                    to,
                    kind: kind.for_version(ACCOUNTS_VERSION),
                    body,
                }),
                _ => frame.clone(),
            };
            registry.to_other_sessions(to, UserId(0), |sealed| {
                if sealed {
                    frame.clone()
                } else {
                    legacy()
                }
            });
        }
    }
}

/// Send `frame` to the sessions of `to` on each of `hubs`, one NATS message per hub, without
/// waiting for any answer: what a hub that is gone does not take is not for anyone else.
pub(crate) async fn push(cluster: &Cluster, hubs: &[u64], to: UserId, what: Pushed, frame: &[u8]) {
    if hubs.is_empty() {
        return;
    }
    let bytes = Envelope::new(
        cluster.hub_id,
        PeerMsg::Push {
            to,
            what,
            frame: frame.to_vec(),
        },
    )
    .encode();
    for &hub in hubs {
        if let Err(e) = cluster
            .client
            .publish(push_subject(hub), bytes.clone())
            .await
        {
            warn!(error = %e, hub = %format!("{hub:016x}"), "could not push to a hub");
        }
    }
}

/// One destination hub of a relay in flight: its receivers, and the wait for its answer
/// (`None`: the relay could not be published).
pub(crate) struct Ask {
    hub: u64,
    to: Vec<UserId>,
    waiting: Option<Waiting>,
}

/// Publish `frame` to each destination hub with its receivers, now and in this order, each
/// with a reply subject of its own (`super::replies`): the relays one reader publishes
/// reach each hub in the order it read them. The answers are for [`answers`], which waits
/// for each at most the relay timeout from when this returned.
pub(crate) async fn publish(
    cluster: &Cluster,
    groups: Vec<(u64, Vec<UserId>)>,
    frame: &Bytes,
) -> Vec<Ask> {
    let mut asks = Vec::with_capacity(groups.len());
    for (hub, to) in groups {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(RELAY_HEADER, relay_header(&to).as_str());
        let (reply, waiting) = cluster.replies.ask();
        let published = cluster
            .client
            .publish_with_reply_and_headers(relay_subject(hub), reply, headers, frame.clone())
            .await;
        let waiting = match published {
            Ok(()) => Some(waiting),
            Err(e) => {
                warn!(error = %e, hub = %format!("{hub:016x}"), "relay to a hub failed");
                None
            }
        };
        asks.push(Ask { hub, to, waiting });
    }
    asks
}

/// The destination hubs' answers to a relay [`publish`]ed at `sent`, each waited for until
/// the relay timeout after it (`None`: no answer in time).
pub(crate) async fn answers(
    timeout: Duration,
    sent: Instant,
    asks: Vec<Ask>,
) -> Vec<(Vec<UserId>, Option<RelayAnswer>)> {
    let waits = asks.into_iter().map(|Ask { hub, to, waiting }| async move {
        let Some(waiting) = waiting else {
            return (to, None);
        };
        let left = (sent + timeout).saturating_duration_since(Instant::now());
        let answer = match waiting.answer(left).await {
            Some(payload) => match Envelope::decode(&payload) {
                Ok(Envelope {
                    msg: PeerMsg::Relayed(answer),
                    ..
                }) => Some(answer),
                other => {
                    warn!(?other, "a relay answer not understood");
                    None
                }
            },
            None => {
                warn!(hub = %format!("{hub:016x}"), ?timeout, "no relay answer in time");
                None
            }
        };
        (to, answer)
    });
    futures::future::join_all(waits).await
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

/// What the destination hubs' answers come to, beside the counts folded into [`Routed`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Merged {
    /// Accounts no hub delivered to or kept: for the origin's mailbox write.
    pub mailbox: Vec<UserId>,
    /// Accounts a destination hub kept in the mailbox itself.
    pub queued: Vec<Kept>,
    /// Accounts whose mailbox a destination hub found full.
    pub full: Vec<UserId>,
}

/// Fold the destination hubs' answers into `routed`: a receiver counts once, as the best that
/// any hub did with it (delivered, then kept in the mailbox by a hub, then a full mailbox,
/// then left for the origin's mailbox, then dropped, then unknown). Accounts no hub delivered
/// to or kept come back, for the mailbox. A hub that did not answer: its anonymous receivers
/// are dropped, its accounts go to the mailbox.
pub(crate) fn merge(
    routed: &mut Routed,
    remote: &[RemoteTo],
    answers: &[(Vec<UserId>, Option<RelayAnswer>)],
) -> Merged {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Best {
        Unknown,
        Dropped,
        Offline,
        Full,
        Queued(u64),
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
                a.queued
                    .iter()
                    .for_each(|k| raise(k.to, Best::Queued(k.seq)));
                a.full.iter().for_each(|&id| raise(id, Best::Full));
                a.offline.iter().for_each(|&id| raise(id, Best::Offline));
                a.dropped.iter().for_each(|&id| raise(id, Best::Dropped));
            }
            None => to.iter().for_each(|&id| raise(id, Best::Offline)),
        }
    }
    let mut merged = Merged::default();
    for (id, b) in best {
        let account = id.0 >= FIRST_ACCOUNT_ID;
        match b {
            Best::Delivered => routed.delivered += 1,
            Best::Queued(seq) => merged.queued.push(Kept { to: id, seq }),
            Best::Full => merged.full.push(id),
            _ if account => merged.mailbox.push(id),
            Best::Offline | Best::Dropped => routed.dropped.push(id),
            Best::Unknown => routed.unknown.push(id),
        }
    }
    merged
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
        let mailbox = merge(&mut routed, &remote, &answers).mailbox;
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

    /// An account that a destination hub kept in the mailbox itself is `queued` with that
    /// hub's seq (unless another hub delivered it), one whose mailbox it found full is `full`,
    /// and neither is written again by the origin.
    #[test]
    fn what_a_destination_kept_is_queued_and_not_written_again() {
        let carol = UserId(FIRST_ACCOUNT_ID + 1);
        let dave = UserId(FIRST_ACCOUNT_ID + 2);
        let remote =
            [(1, BOB), (2, BOB), (1, carol), (2, dave), (1, dave)].map(|(hub, id)| RemoteTo {
                hub,
                id,
                counted: false,
            });
        let answers = [
            (
                vec![BOB, carol, dave],
                Some(RelayAnswer {
                    queued: vec![Kept { to: BOB, seq: 7 }],
                    full: vec![carol],
                    offline: vec![dave],
                    ..RelayAnswer::default()
                }),
            ),
            (
                vec![BOB, dave],
                Some(RelayAnswer {
                    offline: vec![BOB],
                    queued: vec![Kept { to: dave, seq: 9 }],
                    ..RelayAnswer::default()
                }),
            ),
        ];
        let mut routed = Routed::default();
        let merged = merge(&mut routed, &remote, &answers);
        assert_eq!(
            merged,
            Merged {
                mailbox: vec![],
                queued: vec![Kept { to: BOB, seq: 7 }, Kept { to: dave, seq: 9 }],
                full: vec![carol],
            }
        );
        assert_eq!(
            routed,
            Routed::default(),
            "nothing delivered, dropped or unknown"
        );
    }
}
