//! The account requests (challenge, register, login, lookup, users, delete, ack), relays that
//! write to mailboxes, and the drain that pushes a mailbox to a session that logged in.
//!
//! The checks that need nothing but the request run in [`handle`], on the reader; whatever
//! needs the store becomes a [`Deferred`] that the reader awaits in [`finish`] before it reads
//! the next request, so one connection's requests are still answered in order while the store
//! works on a blocking thread (where concurrent writes share one commit, see `store/sqlite.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use bytes::Bytes;
use shared::account::Kept;
use shared::account::{
    canonical_name, verify, AccountEntry, KeyRecord, Purpose, Who, CHALLENGE_LEN, FIRST_ACCOUNT_ID,
    MAX_DIRECTORY_RESULTS, MAX_PATTERN_LEN,
};
use shared::{
    BodyKind, ClientMsg, ErrorKind, HubMsg, PublicKey, RequestId, Signature, UserId, KEYS_VERSION,
    RECEIPTS_VERSION,
};
use tracing::{debug, info, warn};

use super::requests::{answer, answer_relay, refuse};
use super::{Client, HubContext};
use crate::close::{Close, CloseReason, Control};
use crate::cluster::wire::Pushed;
use crate::config::Registration;
use crate::frame;
use crate::queue::Outbox;
use crate::registry::{ConnId, Joined, Routed};
use crate::store::{Account, Enqueued, Mail, Receipt, Store, StoreError};

pub(crate) use shared::ACCOUNTS_VERSION;

/// Most stored messages read from the store at a time while draining a mailbox...
const DRAIN_BATCH: usize = 64;
/// ...and most body bytes (one message always comes, however big): a drain holds at most this
/// plus one maximal body beyond what its session's queue is charged for, and reads only when
/// the queue has room.
const DRAIN_BATCH_BYTES: usize = 1024 * 1024;

/// A request that needs the store, taken off the reader to be awaited.
pub(crate) enum Deferred {
    /// A relay with receivers whose mailbox is to keep it, or on other hubs of the cluster.
    Relay(RelayWork),
    /// A request read while relays are in flight, other than a relay that goes in flight
    /// behind them: handled once they are all answered (`super::in_flight`). Its frame's
    /// payload, copied.
    Behind(Bytes),
    Register {
        req: RequestId,
        name: String,
        key: PublicKey,
    },
    Login {
        req: RequestId,
        name: String,
        signature: Signature,
        challenge: [u8; CHALLENGE_LEN],
        receive: bool,
    },
    Lookup {
        req: RequestId,
        who: Who,
    },
    Users {
        req: RequestId,
        pattern: String,
    },
    Delete {
        req: RequestId,
    },
    Ack {
        req: RequestId,
        seq: u64,
    },
    Publish {
        req: RequestId,
        record: KeyRecord,
    },
}

/// What is left to do for a relay once it is routed to this hub's live receivers.
pub(crate) struct RelayWork {
    pub req: RequestId,
    pub to: Vec<UserId>,
    pub kind: BodyKind,
    pub body: Bytes,
    pub routed: Routed,
    /// The `Message` frame, for the other hubs (`body` is a slice of it).
    pub message: Bytes,
    /// The `Outgoing` frame for the sender's sessions on these other hubs of the cluster.
    pub outgoing: Option<(smallvec::SmallVec<[u64; 1]>, Bytes)>,
    /// The relay's number for the other hubs, once published to them (0 before).
    pub number: u64,
}

/// The checks of an account request that need no store; what does comes back deferred.
pub(super) fn handle(
    client: &mut Client,
    msg: ClientMsg<&[u8]>,
) -> Result<Option<Deferred>, Close> {
    let refused =
        |client: &Client, req, kind, text: &str| refuse(client, req, kind, text).map(|()| None);
    match msg {
        ClientMsg::Challenge { req } => {
            let mut nonce = [0u8; CHALLENGE_LEN];
            getrandom::fill(&mut nonce).map_err(|e| {
                Close::with_text(CloseReason::StoreFailed, format!("no randomness: {e}"))
            })?;
            client.challenge = Some(Box::new(nonce));
            answer(client, &HubMsg::<Bytes>::Challenge { req, nonce }).map(|()| None)
        }
        ClientMsg::Register {
            req,
            name,
            key,
            signature,
        } => {
            let Some(challenge) = take_challenge(client) else {
                return refused(client, req, ErrorKind::WrongState, &state_text(client));
            };
            let addr = client.addr;
            if let Some(addr) = addr {
                if let Err(wait) = client.hub.rates.register.take(addr) {
                    return refused(
                        client,
                        req,
                        ErrorKind::RateLimited,
                        &rate_text("registrations", wait),
                    );
                }
            }
            if client.hub.config.registration == Registration::Closed {
                return refused(
                    client,
                    req,
                    ErrorKind::RegistrationClosed,
                    "this hub creates accounts only on its operator's command (hub account add)",
                );
            }
            let name = match canonical_name(&name) {
                Ok(name) => name,
                Err(e) => return refused(client, req, ErrorKind::InvalidName, &e.to_string()),
            };
            if !verify(
                &key,
                &signature,
                Purpose::Register,
                &challenge,
                &name,
                client.binding(),
            ) {
                return refused(
                    client,
                    req,
                    ErrorKind::LoginFailed,
                    "the signature is not this key's over this connection's challenge and name",
                );
            }
            Ok(Some(Deferred::Register { req, name, key }))
        }
        ClientMsg::Login {
            req,
            name,
            signature,
            receive,
        } => {
            let Some(challenge) = take_challenge(client) else {
                return refused(client, req, ErrorKind::WrongState, &state_text(client));
            };
            if let Some(wait) = login_blocked(client) {
                return refused(
                    client,
                    req,
                    ErrorKind::RateLimited,
                    &rate_text("failed logins", wait),
                );
            }
            Ok(Some(Deferred::Login {
                req,
                name,
                signature,
                challenge,
                receive,
            }))
        }
        ClientMsg::Lookup { req, who } => match who {
            Who::Id(id) if id.0 < FIRST_ACCOUNT_ID => {
                answer_lookup(client, req, None).map(|()| None)
            }
            who => Ok(Some(Deferred::Lookup { req, who })),
        },
        ClientMsg::Users { req, pattern } if pattern.len() > MAX_PATTERN_LEN => refused(
            client,
            req,
            ErrorKind::BadPattern,
            &format!(
                "a pattern of {} bytes exceeds the limit of {MAX_PATTERN_LEN}",
                pattern.len()
            ),
        ),
        ClientMsg::Users { req, pattern } => Ok(Some(Deferred::Users {
            req,
            pattern: pattern.to_owned(),
        })),
        ClientMsg::DeleteAccount { req, signature } => {
            let challenge = client.challenge.take().map(|c| *c);
            let (Some(account), Some(challenge)) = (&client.account, challenge) else {
                let text = if client.account.is_none() {
                    "log in as the account to delete it"
                } else {
                    "ask for a Challenge first: each one is good for one signature"
                };
                return refused(client, req, ErrorKind::WrongState, text);
            };
            if let Some(wait) = login_blocked(client) {
                return refused(
                    client,
                    req,
                    ErrorKind::RateLimited,
                    &rate_text("failed logins", wait),
                );
            }
            if !verify(
                &account.key,
                &signature,
                Purpose::Delete,
                &challenge,
                &account.name,
                client.binding(),
            ) {
                login_failed(client);
                return refused(
                    client,
                    req,
                    ErrorKind::LoginFailed,
                    "the signature is not this account's key over this connection's challenge",
                );
            }
            Ok(Some(Deferred::Delete { req }))
        }
        ClientMsg::Ack { req, .. }
            if client.account.is_none() || client.present_as != client.id =>
        {
            refused(
                client,
                req,
                ErrorKind::WrongState,
                "only a session of the account (logged in to receive) reads its mailbox",
            )
        }
        ClientMsg::Ack { req, seq } => Ok(Some(Deferred::Ack { req, seq })),
        ClientMsg::PublishKey { req, record } => {
            let Some(account) = &client.account else {
                return refused(
                    client,
                    req,
                    ErrorKind::WrongState,
                    "log in as the account to publish its key",
                );
            };
            if !record_verifies(account, &record) {
                return refused(
                    client,
                    req,
                    ErrorKind::BadKeyRecord,
                    "the record's signature is not this account's key over its id and this key",
                );
            }
            Ok(Some(Deferred::Publish { req, record }))
        }
        _ => unreachable!("is_account_request lists these"),
    }
}

/// Do what `job` needs of the store, then answer. An error closes the connection.
pub(super) async fn finish(client: &mut Client, job: Deferred) -> Result<(), Close> {
    let hub = client.hub.clone();
    match job {
        Deferred::Relay(mut work) => {
            let asks = send_relay(&hub, client.id, &mut work).await;
            let sent = Instant::now();
            let answers = match &hub.cluster {
                Some(c) => crate::cluster::relay::answers(c.config.relay_timeout, sent, asks).await,
                None => Vec::new(),
            };
            settle_relay(client, work, answers).await
        }
        Deferred::Behind(payload) => match super::requests::handle(client, &payload, false)? {
            Some(job) => Box::pin(finish(client, *job)).await,
            None => Ok(()),
        },
        Deferred::Register { req, name, key } => {
            let created = blocking(&hub, move |store| {
                store.create_account(&name, key, now_ms())
            })
            .await;
            match created {
                Ok(account) => {
                    info!(account = account.id.0, name = %account.name, "registered");
                    enter(client, req, account).await
                }
                Err(StoreError::NameTaken(name)) => refuse(
                    client,
                    req,
                    ErrorKind::NameTaken,
                    &format!("the name {name:?} is taken"),
                ),
                Err(e) => store_failed(client, req, &e),
            }
        }
        Deferred::Login {
            req,
            name,
            signature,
            challenge,
            receive,
        } => {
            let found = match canonical_name(&name) {
                Ok(name) => blocking(&hub, move |store| store.account_by_name(&name)).await,
                Err(_) => Ok(None),
            };
            let account = match found {
                Ok(account) => account,
                Err(e) => return store_failed(client, req, &e),
            };
            match account {
                Some(account)
                    if verify(
                        &account.key,
                        &signature,
                        Purpose::Login,
                        &challenge,
                        &account.name,
                        client.binding(),
                    ) =>
                {
                    if receive {
                        enter(client, req, account).await
                    } else {
                        act_as(client, req, account)
                    }
                }
                _ => {
                    login_failed(client);
                    refuse(
                        client,
                        req,
                        ErrorKind::LoginFailed,
                        "no account with this name and key",
                    )
                }
            }
        }
        Deferred::Lookup { req, who } => {
            let found = blocking(&hub, move |store| match who {
                Who::Id(id) => store.account_by_id(id),
                Who::Name(name) => match canonical_name(&name) {
                    Ok(name) => store.account_by_name(&name),
                    Err(_) => Ok(None),
                },
            })
            .await;
            match found {
                Ok(account) => {
                    let account = account.map(|a| entry_of(&hub, a));
                    answer_lookup(client, req, account)
                }
                Err(e) => store_failed(client, req, &e),
            }
        }
        Deferred::Users { req, pattern } => {
            let pattern = pattern.to_ascii_lowercase();
            let found = blocking(&hub, move |store| {
                store.accounts_matching(&pattern, MAX_DIRECTORY_RESULTS)
            })
            .await;
            match found {
                Ok((accounts, limited)) => {
                    let users: Vec<_> = accounts.into_iter().map(|a| entry_of(&hub, a)).collect();
                    if client.version >= KEYS_VERSION {
                        return answer(
                            client,
                            &HubMsg::<Bytes>::Entries {
                                req,
                                users,
                                limited,
                            },
                        );
                    }
                    let users = users.iter().map(AccountEntry::info).collect();
                    answer(
                        client,
                        &HubMsg::<Bytes>::Users {
                            req,
                            users,
                            limited,
                        },
                    )
                }
                Err(e) => store_failed(client, req, &e),
            }
        }
        Deferred::Delete { req } => {
            let account = client.account.clone().expect("checked in handle");
            let id = account.id;
            match blocking(&hub, move |store| store.delete_account(id)).await {
                Ok(_) => {
                    info!(account = id.0, name = %account.name, "deleted");
                    if let Some(cluster) = &hub.cluster {
                        crate::cluster::accounts::deleted(cluster, id).await;
                    }
                    answer(client, &HubMsg::<Bytes>::Done { req })?;
                    hub.registry.close_sessions(id, CloseReason::AccountDeleted);
                    client.control.close(CloseReason::AccountDeleted);
                    Ok(())
                }
                Err(e) => store_failed(client, req, &e),
            }
        }
        Deferred::Publish { req, record } => {
            let account = client.account.as_mut().expect("checked in handle");
            let id = account.id;
            match blocking(&hub, move |store| store.set_record(id, &record)).await {
                Ok(_) => {
                    account.record = Some(record);
                    debug!(account = id.0, "published a key record");
                    answer(client, &HubMsg::<Bytes>::Done { req })
                }
                Err(e) => store_failed(client, req, &e),
            }
        }
        Deferred::Ack { req, seq } => {
            let id = client.account.as_ref().expect("checked in handle").id;
            // The store counts in i64: a seq above its range acknowledges everything.
            let seq = seq.min(i64::MAX as u64);
            match blocking(&hub, move |store| store.ack(id, seq)).await {
                Ok(acked) => {
                    answer(client, &HubMsg::<Bytes>::Done { req })?;
                    tell_senders(&hub, acked.receipts).await;
                    Ok(())
                }
                Err(e) => store_failed(client, req, &e),
            }
        }
    }
}

/// A relay's first stage, for other hubs: push its `Outgoing` to the hubs of the sender's
/// other sessions, and publish it to the hubs of its remote receivers, once per hub, in the
/// order the reader calls this (see `crate::cluster::relay::publish`); the answers to wait for.
pub(super) async fn send_relay(
    hub: &HubContext,
    from: UserId,
    work: &mut RelayWork,
) -> Vec<crate::cluster::relay::Ask> {
    use crate::cluster::relay;
    let Some(cluster) = &hub.cluster else {
        // Only a clustered registry knows remote users; without a cluster nobody answers.
        return Vec::new();
    };
    if let Some((hubs, frame)) = work.outgoing.take() {
        relay::push(cluster, &hubs, from, Pushed::Outgoing, &frame).await;
    }
    if work.routed.remote.is_empty() {
        return Vec::new();
    }
    let (number, asks) =
        relay::publish(cluster, relay::groups(&work.routed.remote), &work.message).await;
    work.number = number;
    asks
}

/// A relay's second stage, once the other hubs' answers are in (or timed out): fold them
/// into what this hub did, write the mailboxes of the accounts none of them took, and answer.
pub(super) async fn settle_relay(
    client: &mut Client,
    work: RelayWork,
    answers: crate::cluster::relay::Answers,
) -> Result<(), Close> {
    let RelayWork {
        req,
        to,
        kind,
        body,
        mut routed,
        number,
        ..
    } = work;
    let mut held = Held::default();
    if !routed.remote.is_empty() {
        held = merge_answers(&client.hub, &mut routed, number, &answers);
    }
    if routed.offline.is_empty() {
        let position = |id: &UserId| to.iter().position(|t| t == id);
        routed.unknown.sort_by_key(position);
        routed.dropped.sort_by_key(position);
        return answer_relay(client, req, &to, routed, Vec::new(), Vec::new());
    }
    relay_to_mailboxes(client, req, &to, kind, body, routed, held).await
}

/// Fold the other hubs' `answers` to relay number `relay` into `routed`: the accounts none of
/// them delivered to, and those whose drain one of them holds for this write, join
/// `routed.offline`, each with a mailbox write counted pending; who is to hear of the write
/// comes back.
fn merge_answers(
    hub: &HubContext,
    routed: &mut Routed,
    relay: u64,
    answers: &[(u64, Vec<UserId>, Option<crate::cluster::wire::RelayAnswer>)],
) -> Held {
    let remote = std::mem::take(&mut routed.remote);
    let merged = crate::cluster::relay::merge(routed, &remote, answers);
    hub.registry.count_mailbox_writes(&merged.mailbox);
    routed.offline.extend(merged.mailbox);
    Held {
        relay,
        holders: merged.holders,
        delivered: merged.delivered,
    }
}

/// The other hubs' side of a relay's mailbox write: who holds drains for it.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// The relay's number, as the other hubs know it.
    relay: u64,
    /// The hubs to tell when the write is done (`crate::cluster::relay::written`).
    holders: Vec<u64>,
    /// Accounts written only for a drain held on another hub: delivered, and answered so.
    delivered: Vec<UserId>,
}

/// What a relay's mailbox writes came to: the seqs kept and the mailboxes full.
#[derive(Debug, Default)]
pub(crate) struct Mailboxed {
    pub queued: Vec<Kept>,
    pub full: Vec<UserId>,
}

async fn relay_to_mailboxes(
    client: &mut Client,
    req: RequestId,
    to: &[UserId],
    kind: BodyKind,
    body: Bytes,
    mut routed: Routed,
    held: Held,
) -> Result<(), Close> {
    let hub = client.hub.clone();
    let offline = std::mem::take(&mut routed.offline);
    // The registry counts each of these writes as pending until this guard goes, however this
    // future ends: a drain waits for it before its session goes live.
    let pending = PendingWrites::new(&hub, offline);
    let mail = Mail {
        from: client.id,
        sent_at_ms: now_ms(),
        kind,
        body,
    };
    let written = write_mailboxes(&hub, pending, mail).await;
    if let Some(cluster) = &hub.cluster {
        crate::cluster::relay::written(cluster, held.relay, &held.holders).await;
    }
    // Whatever became of the write, those already delivered are answered delivered.
    let answered = |id: &UserId| !held.delivered.contains(id);
    routed
        .unknown
        .extend(written.unknown.into_iter().filter(answered));
    routed
        .dropped
        .extend(written.dropped.into_iter().filter(answered));
    let (mut queued, mut full) = (written.kept.queued, written.kept.full);
    queued.retain(|k| answered(&k.to));
    full.retain(answered);
    // Each list in the order the relay named its receivers.
    let position = |id: &UserId| to.iter().position(|t| t == id);
    routed.unknown.sort_by_key(position);
    routed.dropped.sort_by_key(position);
    queued.sort_by_key(|k| position(&k.to));
    full.sort_by_key(position);
    answer_relay(client, req, to, routed, queued, full)
}

/// Wait until what closing sessions of `accounts` on this hub hand over is in the mailbox:
/// a write for them after this lands behind it.
pub(crate) async fn after_rescues(hub: &HubContext, accounts: &[UserId]) {
    while hub.registry.rescuing(accounts) {
        let settled = hub.registry.settled();
        tokio::pin!(settled);
        settled.as_mut().enable();
        if !hub.registry.rescuing(accounts) {
            break;
        }
        settled.await;
    }
}

/// What [`write_mailboxes`] did with each account.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub kept: Mailboxed,
    /// Accounts that no longer exist.
    pub unknown: Vec<UserId>,
    /// Accounts whose mailbox write failed: nothing was kept for them.
    pub dropped: Vec<UserId>,
}

/// Keep `mail` in the mailboxes of the accounts `pending` counts (behind what a closing
/// session of one of them hands over, if one is), then report the writes done.
pub(crate) async fn write_mailboxes(
    hub: &HubContext,
    pending: PendingWrites,
    mail: Mail,
) -> Written {
    let offline = pending.ids.clone();
    after_rescues(hub, &offline).await;
    let ids = offline.clone();
    let outcome = blocking(hub, move |store| store.enqueue(&ids, &mail)).await;
    drop(pending);
    let mut written = Written::default();
    match outcome {
        Ok(outcomes) => {
            for (&id, outcome) in offline.iter().zip(outcomes) {
                match outcome {
                    Enqueued::Stored(seq) => written.kept.queued.push(Kept { to: id, seq }),
                    Enqueued::Full(_) => written.kept.full.push(id),
                    Enqueued::NoAccount => written.unknown.push(id),
                }
            }
        }
        Err(e) => {
            // Nothing was kept for them: they did not get it, and the answer says so.
            warn!(error = %e, receivers = offline.len(), "mailbox write failed");
            written.dropped = offline;
        }
    }
    written
}

/// Push each receipt of an ack to the live sessions of its sender that speak
/// [`RECEIPTS_VERSION`], here and on the other hubs of the cluster it is present on (one
/// NATS message per hub); the store forgets those that a session here took, each other hub
/// those that a session there took (`crate::cluster::relay`), and keeps the rest for the
/// sender's next login ([`give_receipts`]).
async fn tell_senders(hub: &HubContext, receipts: Vec<Receipt>) {
    let mut given = Vec::new();
    for r in receipts {
        let frame = frame::encode(&HubMsg::<Bytes>::Delivered {
            to: r.receiver,
            through: r.through,
        });
        if let Some(cluster) = &hub.cluster {
            let hubs = hub.registry.remote_hubs(r.sender);
            crate::cluster::relay::push(cluster, &hubs, r.sender, Pushed::Receipt, &frame).await;
        }
        if hub.registry.to_receipt_sessions(r.sender, &frame) {
            given.push(r);
        }
    }
    forget_receipts(hub, given).await;
}

/// Have the store forget `given`, receipts that a session of their sender took.
pub(crate) async fn forget_receipts(hub: &HubContext, given: Vec<Receipt>) {
    if given.is_empty() {
        return;
    }
    if let Err(e) = blocking(hub, move |store| store.forget_receipts(&given)).await {
        // They stay kept and come again at the next login: a receipt twice says nothing new.
        warn!(error = %e, "forgetting receipts failed");
    }
}

/// Give a session of `account` that has just gone live the receipts kept for it, then forget
/// them. A receipt pushed live meanwhile may come twice; it names the same seq.
async fn give_receipts(hub: &HubContext, account: UserId, outbox: &Outbox) {
    let kept = match blocking(hub, move |store| store.receipts(account)).await {
        Ok(kept) => kept,
        Err(e) => {
            warn!(error = %e, account = account.0, "reading receipts failed");
            return;
        }
    };
    if kept.is_empty() {
        return;
    }
    for r in &kept {
        let push = HubMsg::<Bytes>::Delivered {
            to: r.receiver,
            through: r.through,
        };
        if outbox.push_own(frame::encode(&push)).is_err() {
            return;
        }
    }
    if let Err(e) = blocking(hub, move |store| store.forget_receipts(&kept)).await {
        warn!(error = %e, account = account.0, "forgetting receipts failed");
    }
}

/// Keep in `account`'s mailbox the relays that a session of it, which has left the registry,
/// did not write (its writer hands them over on `unsent`), then let the relays held behind
/// them go on. Each is kept as sent now: a relayed frame does not say when it was sent.
pub(crate) async fn keep_unsent(
    hub: &HubContext,
    account: UserId,
    unsent: tokio::sync::oneshot::Receiver<Vec<Bytes>>,
) {
    let _rescued = Rescued { hub, account };
    keep(hub, account, unsent.await.unwrap_or_default()).await;
}

/// Keep the relayed `frames` in `account`'s mailbox, unless a live session took them.
async fn keep(hub: &HubContext, account: UserId, frames: Vec<Bytes>) {
    if frames.is_empty() {
        return;
    }
    if hub.registry.has_live(account) {
        // Another session was live all along (none goes live while this one hands over)
        // and took these relays too: kept, they would come twice.
        debug!(
            account = account.0,
            relays = frames.len(),
            "unwritten relays reached another session"
        );
        return;
    }
    let sent_at_ms = now_ms();
    let mails: Vec<Mail> = frames
        .iter()
        .filter_map(frame::relayed)
        .map(|(from, kind, body)| Mail {
            from,
            sent_at_ms,
            kind,
            body,
        })
        .collect();
    let count = mails.len();
    match blocking(hub, move |store| store.keep(account, &mails)).await {
        Ok(outcomes) => {
            let stored = |o: &&Enqueued| matches!(o, Enqueued::Stored(_));
            let full = |o: &&Enqueued| matches!(o, Enqueued::Full(_));
            let lost = outcomes.iter().filter(full).count();
            if lost > 0 {
                warn!(
                    account = account.0,
                    lost, "unwritten relays did not fit the mailbox"
                );
            }
            // Any other outcome found no account: it was deleted meanwhile.
            let kept = outcomes.iter().filter(stored).count();
            info!(
                account = account.0,
                kept, "unwritten relays kept in the mailbox"
            );
        }
        Err(e) => warn!(error = %e, account = account.0, lost = count, "unwritten relays lost"),
    }
}

/// Reports a session's hand-over done to the registry when dropped, however it ended.
struct Rescued<'a> {
    hub: &'a HubContext,
    account: UserId,
}

impl Drop for Rescued<'_> {
    fn drop(&mut self) {
        self.hub.registry.rescued(self.account);
    }
}

/// Mailbox writes counted pending in the registry (by `Registry::route_for` or
/// `Registry::route_here`), reported done when dropped, however the write ended.
pub(crate) struct PendingWrites {
    registry: std::sync::Arc<crate::registry::Registry>,
    ids: Vec<UserId>,
}

impl PendingWrites {
    /// Take over the pending writes of `ids`, counted already.
    pub(crate) fn new(hub: &HubContext, ids: Vec<UserId>) -> PendingWrites {
        PendingWrites {
            registry: hub.registry.clone(),
            ids,
        }
    }

    /// The accounts whose writes these are.
    pub(crate) fn ids(&self) -> &[UserId] {
        &self.ids
    }
}

impl Drop for PendingWrites {
    fn drop(&mut self) {
        self.registry.write_done(&self.ids);
    }
}

/// Log `client` in as `account`: it takes the account's id, says so, and gets its mailbox.
///
/// `LoggedIn` is queued before anything for the account can be: under the registry's lock
/// when the session is live at once or goes live on a first read that finds the mailbox
/// empty, else before the session can take relays at all. So a client whose `LoggedIn` says
/// `waiting: 0` and who gets no `Stored` is live, and what comes after it is in order.
async fn enter(client: &mut Client, req: RequestId, account: Account) -> Result<(), Close> {
    let hub = client.hub.clone();
    let id = account.id;
    let waiting = match blocking(&hub, move |store| store.mailbox_size(id)).await {
        Ok((messages, _bytes)) => messages,
        Err(e) => return store_failed(client, req, &e),
    };
    let logged_in = frame::encode(&HubMsg::<Bytes>::LoggedIn {
        req,
        user_id: id,
        name: account.name.clone(),
        waiting,
    });
    let announce = || {
        // Only fails for a connection that is closing, which the reader sees next.
        let _ = client.outbox.push_own(logged_in.clone());
    };
    // From here on, what this session does not write of the account's relays is kept.
    client.control.keep_mail();
    let Some(joined) = hub.registry.log_in(
        client.conn,
        client.present_as,
        id,
        &account.name,
        client.version,
        announce,
    ) else {
        return Err(CloseReason::Io.into());
    };
    client.id = id;
    client.present_as = id;
    client.account = Some(Box::new(account));
    // A delete that committed while this login was on its way closed the sessions it saw,
    // not this one: look again now that this one is in the registry.
    let exists = blocking(&hub, move |store| store.account_by_id(id)).await;
    let first = match exists {
        Ok(Some(_)) if joined == Joined::Draining => {
            let mark = hub.registry.write_mark(id);
            let read = blocking(&hub, move |s| {
                s.mailbox(id, 0, DRAIN_BATCH, DRAIN_BATCH_BYTES)
            })
            .await;
            Some((mark, read))
        }
        Ok(Some(_)) => None,
        Ok(None) => return Err(CloseReason::AccountDeleted.into()),
        Err(e) => {
            store_failed(client, req, &e)?;
            return Err(CloseReason::StoreFailed.into());
        }
    };
    let live_after = hub
        .cluster
        .as_ref()
        .map(|c| Instant::now() + c.config.late_writes);
    let drain = Drain {
        hub,
        conn: client.conn,
        account: id,
        joined,
        live_after,
        receipts: client.version >= RECEIPTS_VERSION,
        outbox: client.outbox.clone(),
        control: client.control.clone(),
    };
    let first = match first {
        None => Vec::new(),
        Some((_, Err(e))) => {
            store_failed(client, req, &e)?;
            return Err(CloseReason::StoreFailed.into());
        }
        Some((mark, Ok(batch))) => {
            let announce = || {
                let _ = client.outbox.push_own(logged_in.clone());
            };
            let registry = &drain.hub.registry;
            if batch.is_empty()
                && drain.live_after.is_none_or(|t| Instant::now() >= t)
                && registry.try_go_live(client.conn, id, mark, announce)
            {
                if drain.receipts {
                    give_receipts(&drain.hub, id, &drain.outbox).await;
                }
                return Ok(());
            }
            send(client, logged_in)?;
            batch
        }
    };
    // The rest is the drain's, beside the reader: a session that joined live replays what is
    // still unacknowledged, one that drains reads on until it may go live.
    client.drain = Some(tokio::spawn(drain.run(first)));
    Ok(())
}

/// Log `client` in to act as `account` without being one of its sessions: relays it sends are
/// the account's, but it stays in the registry (and in presence) as the anonymous connection
/// it was, and takes no relays to the account and no mailbox.
fn act_as(client: &mut Client, req: RequestId, account: Account) -> Result<(), Close> {
    client.id = account.id;
    let logged_in = HubMsg::<Bytes>::LoggedIn {
        req,
        user_id: account.id,
        name: account.name.clone(),
        waiting: 0,
    };
    client.account = Some(Box::new(account));
    answer(client, &logged_in)
}

/// Pushes a mailbox to one session, then makes the session live.
struct Drain {
    hub: std::sync::Arc<HubContext>,
    conn: ConnId,
    account: UserId,
    joined: Joined,
    /// In a cluster: the session goes live only on a read that began after this
    /// (`crate::cluster::LATE_WRITES`).
    live_after: Option<tokio::time::Instant>,
    /// Whether the session speaks [`RECEIPTS_VERSION`]: it gets the kept receipts once live.
    receipts: bool,
    outbox: Outbox,
    control: std::sync::Arc<Control>,
}

impl Drain {
    /// Push `first` (what the login read already), then the rest.
    async fn run(self, first: Vec<crate::store::Stored>) {
        let control = self.control.clone();
        let work = async {
            let after = self.push(first).await;
            if !control.is_closed() {
                self.push_all(after).await;
            }
            if self.receipts && !control.is_closed() {
                give_receipts(&self.hub, self.account, &self.outbox).await;
            }
        };
        tokio::select! {
            biased;
            _ = control.closing() => {}
            () = work => {}
        }
    }

    /// Push what the mailbox holds past `after`, in order, as the session's queue has room;
    /// when a read finds nothing new and no write to the mailbox is in flight, go live (a
    /// session that joined live only replays what is there).
    async fn push_all(&self, mut after: Option<u64>) {
        let registry = &self.hub.registry;
        loop {
            let settled = registry.settled();
            tokio::pin!(settled);
            settled.as_mut().enable();
            self.outbox.wait_for_room().await;
            let mark = registry.write_mark(self.account);
            let (account, from) = (self.account, after.unwrap_or(0));
            let batch = match blocking(&self.hub, move |store| {
                store.mailbox(account, from, DRAIN_BATCH, DRAIN_BATCH_BYTES)
            })
            .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    warn!(error = %e, "mailbox read failed");
                    self.control.close(CloseReason::StoreFailed);
                    return;
                }
            };
            if !batch.is_empty() {
                match self.push(batch).await {
                    Some(last) => after = Some(last),
                    None => return,
                }
                continue;
            }
            if self.joined == Joined::Live {
                return;
            }
            if let Some(after) = self.live_after.filter(|&t| Instant::now() < t) {
                // Read again once the writes of hubs that had not heard of this session
                // have landed.
                tokio::time::sleep_until(after).await;
                continue;
            }
            if registry.try_go_live(self.conn, self.account, mark, || {}) {
                return;
            }
            if !mark.settled() {
                settled.await;
            }
        }
    }

    /// Push `batch` as `Stored` messages as the queue has room; the last seq pushed, `None`
    /// if the connection closed first (or the batch was empty).
    async fn push(&self, batch: Vec<crate::store::Stored>) -> Option<u64> {
        let mut last = None;
        for stored in batch {
            self.outbox.wait_for_room().await;
            let Mail {
                from,
                sent_at_ms,
                kind,
                body,
            } = stored.mail;
            let kind = match kind {
                BodyKind::Sealed if !self.control.takes_sealed() => BodyKind::Bytes,
                kind => kind,
            };
            let push = HubMsg::Stored {
                seq: stored.seq,
                from,
                sent_at_ms,
                kind,
                body,
            };
            self.outbox.push_own(frame::encode(&push)).ok()?;
            last = Some(stored.seq);
        }
        last
    }
}

fn send(client: &Client, frame: Bytes) -> Result<(), Close> {
    client
        .outbox
        .push_own(frame)
        .map_err(|_| CloseReason::Io.into())
}

/// Run `f` on the store in a blocking thread.
async fn blocking<T: Send + 'static>(
    hub: &HubContext,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = hub.store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .unwrap_or_else(|e| Err(StoreError::Commit(format!("the store task failed: {e}"))))
}

/// The directory entry of `account`, keys included (a client before version 4 gets its
/// [`AccountEntry::info`]).
fn entry_of(hub: &HubContext, account: Account) -> AccountEntry {
    AccountEntry {
        online: hub.registry.is_present(account.id),
        user_id: account.id,
        name: account.name,
        key: account.key,
        record: account.record,
    }
}

/// Answer a `Lookup` in the connection's version: `Entry` from version 4, `Account` before.
fn answer_lookup(
    client: &Client,
    req: RequestId,
    found: Option<AccountEntry>,
) -> Result<(), Close> {
    if client.version >= KEYS_VERSION {
        return answer(
            client,
            &HubMsg::<Bytes>::Entry {
                req,
                account: found.map(Box::new),
            },
        );
    }
    let account = found.as_ref().map(AccountEntry::info);
    answer(client, &HubMsg::<Bytes>::Account { req, account })
}

/// Whether `record` is `account`'s key's signature over its id and receiver key.
fn record_verifies(account: &Account, record: &KeyRecord) -> bool {
    let Ok(identity) = ed25519_dalek::VerifyingKey::from_bytes(&account.key.0) else {
        return false;
    };
    e2e::keys::verify_key_record(
        &identity,
        account.id,
        &e2e::ReceiverPublic(record.key),
        &record.signature.0,
    )
}

/// Answer `req` with `StoreFailed`: nothing was changed.
fn store_failed(client: &Client, req: RequestId, e: &StoreError) -> Result<(), Close> {
    warn!(error = %e, "store request failed");
    refuse(
        client,
        req,
        ErrorKind::StoreFailed,
        &format!("the hub's store failed; nothing was changed: {e}"),
    )
}

/// The challenge for a register or login, used up; `None` if there is none to use, or the
/// connection is already logged in (the challenge is used up all the same).
fn take_challenge(client: &mut Client) -> Option<[u8; CHALLENGE_LEN]> {
    let challenge = client.challenge.take().map(|c| *c);
    match &client.account {
        Some(_) => None,
        None => challenge,
    }
}

fn state_text(client: &Client) -> String {
    match &client.account {
        Some(account) => format!("this connection is already logged in as {}", account.name),
        None => "ask for a Challenge first: each one is good for one signature".to_owned(),
    }
}

fn login_blocked(client: &Client) -> Option<Duration> {
    client.hub.rates.login_fail.check(client.addr?).err()
}

fn login_failed(client: &Client) {
    if let Some(addr) = client.addr {
        let _ = client.hub.rates.login_fail.take(addr);
    }
}

fn rate_text(what: &str, wait: Duration) -> String {
    format!(
        "too many {what} from your address; try again in {} s",
        wait.as_secs().max(1)
    )
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
