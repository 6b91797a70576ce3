//! An account deleted on one hub is gone from every hub: its sessions everywhere get the
//! `AccountDeleted` goodbye (docs/CLUSTER.md, § Deleting an account across hubs).
//!
//! The hub that deleted it publishes [`PeerMsg::Deleted`] on [`deleted_subject`], one subject
//! for the whole cluster, once the store's delete has committed; every hub subscribes to it in
//! [`super::join`], before it takes its first client, and closes the account's sessions it
//! has. A login that races the delete cannot slip between the two: it is in the registry
//! before it asks the store whether the account still exists, so either that question sees
//! the delete, or the delete's message, which comes after the commit, finds the session.
//!
//! Core NATS keeps nothing for a subscriber that is not connected, so a hub cut off from NATS
//! when the message went out never gets it. Each time its connection to NATS is made again,
//! a hub asks the store about every account it has sessions of, and closes those the store no
//! longer has ([`recheck`]).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use shared::UserId;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::wire::{Envelope, PeerMsg};
use super::{Cluster, SUBJECT_PREFIX};
use crate::close::CloseReason;
use crate::connection::HubContext;

/// The subject every hub of a cluster hears account deletes on.
pub(crate) fn deleted_subject() -> String {
    format!("{SUBJECT_PREFIX}.deleted")
}

/// How often a recheck after a reconnection tries again while the store cannot answer (its
/// own NATS connection may come back after the cluster's).
const RECHECK_RETRY: Duration = Duration::from_secs(1);
/// Most tries of a recheck: past them its accounts' sessions stay until the next reconnection.
const RECHECK_TRIES: u32 = 60;

/// Tell every hub that `account` is deleted (the store's delete has committed).
pub(crate) async fn deleted(cluster: &Cluster, account: UserId) {
    let bytes = Envelope::new(cluster.hub_id, PeerMsg::Deleted { account }).encode();
    if let Err(e) = cluster.client.publish(deleted_subject(), bytes).await {
        warn!(error = %e, account = account.0, "could not tell the other hubs of a delete");
    }
}

/// Close the sessions of the accounts other hubs delete, and recheck this hub's accounts each
/// time `connected` says NATS is reached again, until aborted.
pub(crate) fn serve(
    cluster: Arc<Cluster>,
    hub: Arc<HubContext>,
    mut deletes: async_nats::Subscriber,
    connected: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut rechecking: Option<JoinHandle<()>> = None;
        loop {
            tokio::select! {
                msg = deletes.next() => {
                    let Some(msg) = msg else { break };
                    match Envelope::decode(&msg.payload) {
                        // This hub closed its own sessions when it deleted the account.
                        Ok(Envelope { hub: from, .. }) if from == cluster.hub_id => {}
                        Ok(Envelope { msg: PeerMsg::Deleted { account }, .. }) => {
                            let closed = hub.registry.close_sessions(account, CloseReason::AccountDeleted);
                            if closed > 0 {
                                info!(account = account.0, sessions = closed, "deleted on another hub");
                            }
                        }
                        other => warn!(?other, "a delete from the cluster not understood"),
                    }
                }
                () = connected.notified() => {
                    if let Some(old) = rechecking.take() {
                        old.abort();
                    }
                    rechecking = Some(tokio::spawn(recheck(hub.clone())));
                }
            }
        }
        if let Some(task) = rechecking {
            task.abort();
        }
    })
}

/// Close the sessions here of every account the store no longer has: the deletes this hub
/// may have missed while it was cut off from NATS.
async fn recheck(hub: Arc<HubContext>) {
    for _ in 0..RECHECK_TRIES {
        let accounts = hub.registry.accounts_here();
        if accounts.is_empty() {
            return;
        }
        let store = hub.store.clone();
        let gone = tokio::task::spawn_blocking(move || {
            let mut gone = Vec::new();
            for id in accounts {
                if store.account_by_id(id)?.is_none() {
                    gone.push(id);
                }
            }
            Ok::<_, crate::store::StoreError>(gone)
        })
        .await;
        match gone {
            Ok(Ok(gone)) => {
                for account in gone {
                    let closed = hub
                        .registry
                        .close_sessions(account, CloseReason::AccountDeleted);
                    info!(
                        account = account.0,
                        sessions = closed,
                        "deleted while this hub was cut off"
                    );
                }
                return;
            }
            Ok(Err(e)) => warn!(error = %e, "cannot recheck the accounts here yet"),
            Err(e) => warn!(error = %e, "the recheck of the accounts here failed"),
        }
        tokio::time::sleep(RECHECK_RETRY).await;
    }
}
