//! Anonymous ids unique across the hubs of a cluster: each hub leases blocks of
//! [`ClusterConfig::id_block`](super::ClusterConfig) ids from one JetStream key-value counter,
//! updated with compare-and-set on its revision, so two hubs never lease the same block and no
//! block is leased twice while the cluster's JetStream keeps its data.
//!
//! A connection takes its id from the block in hand without waiting on NATS: the next block
//! is leased ahead, once half of the current one is given out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{kv, stream};
use bytes::Bytes;
use shared::account::FIRST_ACCOUNT_ID;
use shared::UserId;
use tokio::sync::Notify;
use tracing::warn;

use super::ClusterError;

/// The key-value bucket of the cluster's counters.
pub(crate) const BUCKET: &str = "hubbub-ids";
/// The key of the next anonymous id no hub has leased.
pub(crate) const NEXT_KEY: &str = "anonymous-next";
/// The first anonymous id, as on a single hub.
const FIRST_ID: u64 = 1;
/// Longest a connection waits for a block of ids when its hub's are used up; then it is
/// refused as if the hub were full.
const LEASE_WAIT: Duration = Duration::from_secs(2);
/// Pause between failed attempts to lease a block (NATS away, or a lost compare-and-set).
const LEASE_RETRY: Duration = Duration::from_millis(200);

/// The blocks of ids one hub holds.
#[derive(Debug)]
pub(crate) struct Leases {
    blocks: Mutex<Blocks>,
    /// Woken when the spare block is wanted.
    want: Notify,
    /// Woken when a spare block has been leased.
    leased: Notify,
    block: u64,
}

#[derive(Debug)]
struct Blocks {
    next: u64,
    end: u64,
    spare: Option<(u64, u64)>,
}

impl Leases {
    /// The next id, or `None` when this hub's blocks are used up and the next is not leased
    /// yet (NATS away), or every anonymous id is leased.
    pub(crate) fn next_id(&self) -> Option<UserId> {
        let mut blocks = self.blocks.lock().expect("id lease lock poisoned");
        if blocks.next >= blocks.end {
            let (next, end) = blocks.spare.take()?;
            (blocks.next, blocks.end) = (next, end);
        }
        let id = blocks.next;
        blocks.next += 1;
        if blocks.spare.is_none() && (blocks.end - blocks.next) * 2 <= self.block {
            self.want.notify_one();
        }
        Some(UserId(id))
    }

    /// Lease the spare block whenever it is wanted, until the task is aborted.
    pub(crate) async fn keep_ahead(self: Arc<Self>, ids: kv::Store) {
        loop {
            self.want.notified().await;
            if self
                .blocks
                .lock()
                .expect("id lease lock poisoned")
                .spare
                .is_some()
            {
                continue;
            }
            let block = loop {
                match lease(&ids, self.block).await {
                    Ok(block) => break block,
                    Err(ClusterError::IdsExhausted) => return,
                    Err(e) => {
                        warn!(error = %e, "could not lease a block of ids; retrying");
                        tokio::time::sleep(LEASE_RETRY).await;
                    }
                }
            };
            self.blocks.lock().expect("id lease lock poisoned").spare = Some(block);
            self.leased.notify_waiters();
        }
    }

    /// The next id, waiting up to [`LEASE_WAIT`] for a block when this hub's are used up: a
    /// burst of connections larger than half a block outran the lease ahead.
    pub(crate) async fn next_id_waiting(&self) -> Option<UserId> {
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        loop {
            let leased = self.leased.notified();
            tokio::pin!(leased);
            leased.as_mut().enable();
            if let Some(id) = self.next_id() {
                return Some(id);
            }
            self.want.notify_one();
            tokio::time::timeout_at(deadline, leased).await.ok()?;
        }
    }
}

/// Open (or create) the counter and lease this hub's first block.
pub(crate) async fn start(
    js: &async_nats::jetstream::Context,
    block: u64,
) -> Result<(Arc<Leases>, kv::Store), ClusterError> {
    // The bucket's stream made by hand, as `create_key_value` would make it: async-nats
    // 0.50's `create_key_value` cannot read nats-server 2.9's answer. Creating a stream that
    // exists with the same settings succeeds, so hubs starting at once all get it.
    js.create_stream(stream::Config {
        name: format!("KV_{BUCKET}"),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| ClusterError::Nats(format!("cannot create the id counter: {e}")))?;
    let ids = js
        .get_key_value(BUCKET)
        .await
        .map_err(|e| ClusterError::Nats(format!("cannot open the id counter: {e}")))?;
    let (next, end) = lease(&ids, block).await?;
    let leases = Leases {
        blocks: Mutex::new(Blocks {
            next,
            end,
            spare: None,
        }),
        want: Notify::new(),
        leased: Notify::new(),
        block,
    };
    leases.want.notify_one();
    Ok((Arc::new(leases), ids))
}

/// Lease the next `block` ids: read the counter and move it past them if nobody moved it
/// since (its revision), else read again.
async fn lease(ids: &kv::Store, block: u64) -> Result<(u64, u64), ClusterError> {
    loop {
        let entry = ids
            .entry(NEXT_KEY)
            .await
            .map_err(|e| ClusterError::Nats(format!("cannot read the id counter: {e}")))?;
        let (start, revision) = match &entry {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let text = std::str::from_utf8(&entry.value).unwrap_or("");
                let start = text.parse::<u64>().map_err(|_| {
                    ClusterError::Nats(format!("the id counter holds {text:?}, not a number"))
                })?;
                (start, Some(entry.revision))
            }
            _ => (FIRST_ID, None),
        };
        if start >= FIRST_ACCOUNT_ID {
            return Err(ClusterError::IdsExhausted);
        }
        let end = start.saturating_add(block).min(FIRST_ACCOUNT_ID);
        let value = Bytes::from(end.to_string());
        let written = match revision {
            Some(revision) => ids.update(NEXT_KEY, value, revision).await.is_ok(),
            None => ids.create(NEXT_KEY, value).await.is_ok(),
        };
        if written {
            return Ok((start, end));
        }
        // Another hub leased in between (or NATS failed): read the counter again.
        tokio::time::sleep(Duration::from_millis(fastrand_ms())).await;
    }
}

/// A few milliseconds, different on each hub, so that hubs that lost a race do not meet again.
fn fastrand_ms() -> u64 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    u64::from(b[0] % 8)
}
