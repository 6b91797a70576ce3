//! Relays across hubs. The origin groups a relay's remote receivers by the hub they are on and
//! publishes to each destination hub one NATS message with a reply subject of its own
//! ([`publish`], `super::replies`): the `HubMsg::Message` frame it encoded once
//! (the same bytes for every hub, the sender stamped inside), the receivers in the
//! [`RELAY_HEADER`] header, numbered in [`RELAY_NUMBER_HEADER`]. The destination routes that
//! payload as it came to its own live sessions, with the usual slow-consumer rule, and
//! answers with a [`RelayAnswer`]. An account with a session there that cannot take it live
//! (draining, closing) it answers `held`: it counts a mailbox write pending for it, so that
//! its drains do not go live, until the origin, which writes the mailbox once whatever
//! number of hubs held it, says the write is done ([`PeerMsg::Written`], [`written`]), or
//! [`HELD_WRITE`](super::HELD_WRITE) has passed. One with no session there is `offline`, for the origin too
//! (docs/CLUSTER.md, § The drain race). The origin waits at most
//! [`ClusterConfig::relay_timeout`](super::ClusterConfig) for each; a hub that does not
//! answer in time has its anonymous receivers `dropped` and its accounts sent to the mailbox,
//! where one the destination delivered after all arrives a second time (at-least-once).
//!
//! An account's `Outgoing` copies and receipts for its sessions on other hubs are [`push`]ed,
//! one NATS message per hub, unanswered; the hub where a session took a pushed receipt has
//! the store forget it.
//!
//! Only the cluster's own NATS users may publish on the relay and push subjects
//! (docs/CLUSTER.md, § Permissions): what arrives there is taken as stamped by a hub.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use shared::account::FIRST_ACCOUNT_ID;
use shared::{BodyKind, HubMsg, UserId};
use tokio::task::JoinHandle;
use tracing::warn;

use std::time::{Duration, SystemTime};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::replies::Waiting;
use super::wire::{deadline_header, past_deadline};
use super::wire::{
    parse_relay_header, relay_header, Envelope, PeerMsg, Pushed, RelayAnswer, WireError,
};
use super::wire::{DEADLINE_HEADER, RELAY_HEADER, RELAY_NUMBER_HEADER};
use super::{push_subject, relay_subject, Cluster, ClusterError};
use crate::connection::ACCOUNTS_VERSION;
use crate::connection::{after_rescues, forget_receipts, HubContext, PendingWrites};
use crate::frame;
use crate::registry::{RemoteTo, Routed};
use crate::store::Receipt;

/// Most relays from other hubs a hub holds drains for at once (to accounts with a session
/// here that is draining or closing); the next relay waits for one to be released.
pub const MAX_HELD_RELAYS: usize = 256;

/// The relays of other hubs this hub answered `held`, by (origin hub, relay number): the
/// origin's [`PeerMsg::Written`] releases one.
pub(crate) type Holds = Mutex<HashMap<(u64, u64), oneshot::Sender<()>>>;

/// Take relays from other hubs on this hub's relay subject, until aborted. A relay that
/// holds no drain here is answered at once; one that does is answered by a task of its own
/// (once what closing sessions hand over is in the mailbox), which then holds those drains
/// until the origin's note, at most [`MAX_HELD_RELAYS`] at a time.
pub(crate) async fn serve(
    cluster: Arc<Cluster>,
    hub: Arc<HubContext>,
) -> Result<JoinHandle<()>, ClusterError> {
    let mut relays = cluster
        .client
        .subscribe(relay_subject(cluster.hub_id))
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    let held = Arc::new(Semaphore::new(MAX_HELD_RELAYS));
    Ok(tokio::spawn(async move {
        while let Some(msg) = relays.next().await {
            let (answer, hold) = match route(&hub, &msg) {
                Ok(routed) => routed,
                Err(e) => {
                    warn!(error = %e, subject = %msg.subject, "a relay from the cluster refused");
                    continue;
                }
            };
            let Some(hold) = hold else {
                reply(&cluster, msg.reply, answer).await;
                continue;
            };
            let Ok(permit) = held.clone().acquire_owned().await else {
                return;
            };
            let (cluster, hub) = (cluster.clone(), hub.clone());
            tokio::spawn(hold_drains(cluster, hub, msg.reply, answer, hold, permit));
        }
    }))
}

/// What a destination holds for a relay: its origin and number, and the accounts whose drains
/// wait for the origin's write, counted pending.
struct Hold {
    origin: u64,
    relay: u64,
    pending: PendingWrites,
}

/// Answer a relay that holds drains here once what closing sessions of those accounts hand
/// over is in the mailbox (so that the origin's write lands after it), then hold them until
/// the origin says its write is done, or the config's `held_write` has passed.
async fn hold_drains(
    cluster: Arc<Cluster>,
    hub: Arc<HubContext>,
    to: Option<async_nats::Subject>,
    mut answer: RelayAnswer,
    hold: Hold,
    permit: OwnedSemaphorePermit,
) {
    let Hold {
        origin,
        relay,
        pending,
    } = hold;
    after_rescues(&hub, pending.ids()).await;
    let (released, release) = oneshot::channel();
    let key = (origin, relay);
    cluster
        .holds
        .lock()
        .expect("holds lock")
        .insert(key, released);
    answer.held = pending.ids().to_vec();
    reply(&cluster, to, answer).await;
    if tokio::time::timeout(cluster.config.held_write, release)
        .await
        .is_err()
    {
        cluster.holds.lock().expect("holds lock").remove(&key);
        warn!(
            hub = %format!("{origin:016x}"),
            relay, "no word of a held relay's mailbox write: its drains go on"
        );
    }
    drop(pending);
    drop(permit);
}

async fn reply(cluster: &Cluster, to: Option<async_nats::Subject>, answer: RelayAnswer) {
    let Some(to) = to else { return };
    let bytes = Envelope::new(cluster.hub_id, PeerMsg::Relayed(answer)).encode();
    if let Err(e) = cluster.client.publish(to, bytes).await {
        warn!(error = %e, "could not answer a relay");
    }
}

/// Route a relay that came from another hub to the receivers it names on this one; the
/// drains it holds here (their mailbox writes counted pending), if any. One past its
/// [`DEADLINE_HEADER`] is refused whole, unrouted and unanswered: its origin has answered
/// the sender, or will, as for a hub that did not answer in time.
fn route(
    hub: &HubContext,
    msg: &async_nats::Message,
) -> Result<(RelayAnswer, Option<Hold>), WireError> {
    let header = |name| {
        msg.headers
            .as_ref()
            .and_then(|h| h.get(name))
            .ok_or(WireError::Header)
    };
    let to = parse_relay_header(header(RELAY_HEADER)?.as_str())?;
    let (origin, relay) = parse_relay_number(header(RELAY_NUMBER_HEADER)?.as_str())?;
    if let Some(late) = past_deadline(header(DEADLINE_HEADER)?.as_str(), SystemTime::now())? {
        return Err(WireError::Late(late));
    }
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
    let pending = PendingWrites::new(hub, here);
    Ok((
        answer,
        Some(Hold {
            origin,
            relay,
            pending,
        }),
    ))
}

/// The (origin hub, relay number) a [`RELAY_NUMBER_HEADER`] value names: `HUB.N`, the hub in
/// 16 hex digits.
fn parse_relay_number(value: &str) -> Result<(u64, u64), WireError> {
    let (hub, n) = value.split_once('.').ok_or(WireError::Header)?;
    let hub = u64::from_str_radix(hub, 16).map_err(|_| WireError::Header)?;
    Ok((hub, n.parse().map_err(|_| WireError::Header)?))
}

/// Take pushes for this hub's sessions from other hubs (`Outgoing`, receipts) and the notes
/// that release held relays ([`PeerMsg::Written`]), until aborted.
pub(crate) async fn serve_pushes(
    cluster: Arc<Cluster>,
    hub: Arc<HubContext>,
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
                }) => take_push(&hub, to, what, Bytes::from(frame)),
                Ok(Envelope {
                    hub: origin,
                    msg: PeerMsg::Written { relay },
                    ..
                }) => {
                    let held = cluster
                        .holds
                        .lock()
                        .expect("holds lock")
                        .remove(&(origin, relay));
                    if let Some(release) = held {
                        let _ = release.send(());
                    }
                }
                other => warn!(?other, "a push from the cluster not understood"),
            }
        }
    }))
}

/// Hand a push to the sessions of `to` here that take it. A receipt that one of them took
/// is forgotten by the store here, as the acknowledging hub forgets one its own sessions took;
/// one that none took (or that never got here: this hub died) stays for `to`'s next login.
fn take_push(hub: &Arc<HubContext>, to: UserId, what: Pushed, frame: Bytes) {
    let registry = &hub.registry;
    match what {
        Pushed::Receipt => {
            if !registry.to_receipt_sessions(to, &frame) {
                return;
            }
            match HubMsg::<Bytes>::decode(frame.get(4..).unwrap_or_default()) {
                Ok(HubMsg::Delivered {
                    to: receiver,
                    through,
                }) => {
                    let given = vec![Receipt {
                        sender: to,
                        receiver,
                        through,
                    }];
                    let hub = hub.clone();
                    tokio::spawn(async move { forget_receipts(&hub, given).await });
                }
                other => warn!(?other, "a pushed receipt not understood"),
            }
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
/// for each at most the relay timeout from when this returned. The relay's number comes first.
pub(crate) async fn publish(
    cluster: &Cluster,
    groups: Vec<(u64, Vec<UserId>)>,
    frame: &Bytes,
) -> (u64, Vec<Ask>) {
    let relay = cluster.relays.fetch_add(1, Ordering::Relaxed) + 1;
    let number = format!("{:016x}.{relay}", cluster.hub_id);
    let deadline = deadline_header(SystemTime::now(), cluster.config.relay_timeout);
    let mut asks = Vec::with_capacity(groups.len());
    for (hub, to) in groups {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(RELAY_HEADER, relay_header(&to).as_str());
        headers.insert(RELAY_NUMBER_HEADER, number.as_str());
        headers.insert(DEADLINE_HEADER, deadline.as_str());
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
    (relay, asks)
}

/// Each destination hub of a relay, its receivers there and its answer (`None`: none in time).
pub(crate) type Answers = Vec<(u64, Vec<UserId>, Option<RelayAnswer>)>;

/// The destination hubs' answers to a relay [`publish`]ed at `sent`, each waited for until
/// the relay timeout after it (`None`: no answer in time).
pub(crate) async fn answers(timeout: Duration, sent: Instant, asks: Vec<Ask>) -> Answers {
    let waits = asks.into_iter().map(|Ask { hub, to, waiting }| async move {
        let Some(waiting) = waiting else {
            return (hub, to, None);
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
        (hub, to, answer)
    });
    futures::future::join_all(waits).await
}

/// Tell `hubs` that the mailbox write of this hub's relay numbered `relay` is done (or
/// failed): the drains they hold for it may go on.
pub(crate) async fn written(cluster: &Cluster, relay: u64, hubs: &[u64]) {
    let bytes = Envelope::new(cluster.hub_id, PeerMsg::Written { relay }).encode();
    for &hub in hubs {
        if let Err(e) = cluster
            .client
            .publish(push_subject(hub), bytes.clone())
            .await
        {
            warn!(error = %e, hub = %format!("{hub:016x}"), "could not release a held relay");
        }
    }
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
    /// Accounts for the origin's mailbox write: those no hub delivered to, and those whose
    /// drain a hub holds for it.
    pub mailbox: Vec<UserId>,
    /// Those of `mailbox` that a hub (or the origin) delivered to all the same: counted
    /// delivered, their mailbox seq not told the sender.
    pub delivered: Vec<UserId>,
    /// The hubs to tell once the write is done ([`written`]): those that held drains for it,
    /// and those that did not answer in time (they may hold some).
    pub holders: Vec<u64>,
}

/// Fold the destination hubs' answers into `routed`: a receiver counts once, as the best that
/// any hub did with it (delivered, then left for the origin's mailbox, then dropped, then
/// unknown). Accounts no hub delivered to come back for the mailbox, and so do those a hub
/// holds a drain for, delivered or not: one mailbox copy, however many hubs hold it. A hub
/// that did not answer: its anonymous receivers are dropped, its accounts go to the mailbox.
pub(crate) fn merge(
    routed: &mut Routed,
    remote: &[RemoteTo],
    answers: &[(u64, Vec<UserId>, Option<RelayAnswer>)],
) -> Merged {
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
    let mut merged = Merged::default();
    let mut held: Vec<UserId> = Vec::new();
    for (hub, to, answer) in answers {
        match answer {
            Some(a) => {
                a.delivered
                    .iter()
                    .for_each(|&id| raise(id, Best::Delivered));
                a.offline.iter().for_each(|&id| raise(id, Best::Offline));
                a.held.iter().for_each(|&id| raise(id, Best::Offline));
                a.dropped.iter().for_each(|&id| raise(id, Best::Dropped));
                held.extend(a.held.iter().filter(|&&id| id.0 >= FIRST_ACCOUNT_ID));
                if !a.held.is_empty() {
                    merged.holders.push(*hub);
                }
            }
            None => {
                to.iter().for_each(|&id| raise(id, Best::Offline));
                merged.holders.push(*hub);
            }
        }
    }
    for (id, b) in best {
        let account = id.0 >= FIRST_ACCOUNT_ID;
        match b {
            Best::Delivered => {
                routed.delivered += 1;
                if held.contains(&id) {
                    merged.mailbox.push(id);
                    merged.delivered.push(id);
                }
            }
            _ if account => merged.mailbox.push(id),
            Best::Offline | Best::Dropped => routed.dropped.push(id),
            Best::Unknown => routed.unknown.push(id),
        }
    }
    // Held by a hub, and delivered here (not in `best`): written for the held drain.
    for id in held {
        if !merged.mailbox.contains(&id) {
            merged.mailbox.push(id);
            merged.delivered.push(id);
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
                1,
                vec![UserId(5), UserId(6)],
                Some(RelayAnswer {
                    unknown: vec![UserId(5)],
                    dropped: vec![UserId(6)],
                    ..RelayAnswer::default()
                }),
            ),
            (
                2,
                vec![UserId(5), UserId(8)],
                Some(RelayAnswer {
                    delivered: vec![UserId(5), UserId(8)],
                    ..RelayAnswer::default()
                }),
            ),
            (3, vec![UserId(7), BOB], None),
        ];
        let mut routed = Routed::default();
        let merged = merge(&mut routed, &remote, &answers);
        assert_eq!(merged.holders, vec![3], "the silent hub may hold a drain");
        let mailbox = merged.mailbox;
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

    #[test]
    fn a_relay_number_names_its_origin_and_count() {
        assert_eq!(
            parse_relay_number("00000000000000ff.7").expect("parses"),
            (255, 7)
        );
        for bad in ["", "ff", "ff.", ".7", "zz.7", "ff.x", "ff.-1"] {
            assert!(parse_relay_number(bad).is_err(), "{bad:?}");
        }
    }

    /// An account whose drain a destination hub holds goes to the origin's mailbox write
    /// once, however many hubs hold it, and even when another hub (or the origin) delivered
    /// it: then it counts delivered. The hubs that held are told when the write is done.
    #[test]
    fn what_hubs_hold_is_written_once_by_the_origin() {
        let carol = UserId(FIRST_ACCOUNT_ID + 1);
        let dave = UserId(FIRST_ACCOUNT_ID + 2);
        let erin = UserId(FIRST_ACCOUNT_ID + 3);
        let mut remote: Vec<RemoteTo> = [(1, BOB), (2, BOB), (1, carol), (2, carol), (2, dave)]
            .map(|(hub, id)| RemoteTo {
                hub,
                id,
                counted: false,
            })
            .to_vec();
        remote.push(RemoteTo {
            hub: 3,
            id: erin,
            counted: true,
        });
        let answers = [
            (
                1,
                vec![BOB, carol],
                Some(RelayAnswer {
                    held: vec![BOB],
                    delivered: vec![carol],
                    ..RelayAnswer::default()
                }),
            ),
            (
                2,
                vec![BOB, carol, dave],
                Some(RelayAnswer {
                    held: vec![BOB, carol],
                    offline: vec![dave],
                    ..RelayAnswer::default()
                }),
            ),
            (
                3,
                vec![erin],
                Some(RelayAnswer {
                    held: vec![erin],
                    ..RelayAnswer::default()
                }),
            ),
        ];
        let mut routed = Routed::default();
        let merged = merge(&mut routed, &remote, &answers);
        assert_eq!(
            merged,
            Merged {
                mailbox: vec![BOB, carol, dave, erin],
                delivered: vec![carol, erin],
                holders: vec![1, 2, 3],
            }
        );
        assert_eq!(routed.delivered, 1, "carol; erin was counted on the origin");
        assert!(routed.dropped.is_empty() && routed.unknown.is_empty());
    }
}
