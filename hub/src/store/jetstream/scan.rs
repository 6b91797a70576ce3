//! Reading a stream through a short-lived consumer, and erasing one message: the two
//! primitives the JetStream store reads and deletes with.
//!
//! A reader is an ephemeral pull consumer, created for one read and deleted after it (never
//! one durable consumer per account: nats-server#5609, tens of thousands of consumers fail).
//! It acknowledges nothing (`AckPolicy::None`) and keeps its state in memory; should the hub
//! die before deleting it, the server drops it after [`READER_IDLE`].

use std::future::IntoFuture;
use std::ops::ControlFlow;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{DeleteMessageErrorKind, Stream};
use async_nats::jetstream::ErrorCode;
use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;

use super::records::{header_u64, MSG_SIZE};
use crate::store::StoreError;

/// How long any one request to NATS (an API call, a publish's acknowledgement, a read) may
/// take before the store answers with an error: a NATS that is down or partitioned is a
/// clear error after this, never a hang. Generous for a server on a busy machine.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a reader the store failed to delete (its hub died mid-read, NATS was cut off)
/// lives on the server: a hub's in-flight reads at most, for this long. Longer than the test
/// kit's wait, so that a test sees the store's own delete, not this.
pub const READER_IDLE: Duration = Duration::from_secs(120);

/// Messages asked for per pull: large enough that a long mailbox is few round trips, small
/// enough that a read that stops early (a byte budget) has not pulled much more.
const PULL_BATCH: u64 = 256;

/// `fut`, or an error naming `what` once [`REQUEST_TIMEOUT`] has passed.
pub(super) async fn timed<T>(
    what: &str,
    fut: impl IntoFuture<Output = T>,
) -> Result<T, StoreError> {
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .map_err(|_| {
            StoreError::Nats(format!(
                "{what}: NATS did not answer within {REQUEST_TIMEOUT:?}"
            ))
        })
}

/// `fut`'s error, if any, as a [`StoreError`] naming `what`; bounded by [`REQUEST_TIMEOUT`].
pub(super) async fn step<T, E: std::fmt::Display>(
    what: &str,
    fut: impl IntoFuture<Output = Result<T, E>>,
) -> Result<T, StoreError> {
    timed(what, fut)
        .await?
        .map_err(|e| StoreError::Nats(format!("{what}: {e}")))
}

/// What a scan is to deliver.
pub(super) struct Read<'a> {
    /// The subject filter (one subject, or a wildcard; empty for the whole stream).
    pub(super) filter: &'a str,
    /// The first sequence to look at.
    pub(super) from: u64,
    /// Headers only (the server adds `Nats-Msg-Size`): for reads that need no body.
    pub(super) headers_only: bool,
    /// Most messages the caller will take (it may stop earlier): no pull asks for more.
    pub(super) most: u64,
}

/// One message as a scan gives it.
pub(super) struct Seen<'a> {
    /// Its stream sequence.
    pub(super) seq: u64,
    /// Its subject.
    pub(super) subject: &'a str,
    /// Its headers.
    pub(super) headers: Option<&'a HeaderMap>,
    /// Its payload (empty for a headers-only read).
    pub(super) payload: &'a Bytes,
    /// Its payload's length, also in a headers-only read.
    pub(super) size: u64,
}

/// Give `each` every message of `stream` that `read` selects, in stream order, until it says
/// to stop or none is left, through a short-lived consumer. (Not single gets, `STREAM.MSG.GET`
/// with `next_by_subj`, one round trip each: tried for small mailboxes, store_bench's reads
/// of 100-message mailboxes ran 6x slower on 2.9.10, and small ones gained a quarter.)
pub(super) async fn scan(
    stream: &Stream,
    read: Read<'_>,
    mut each: impl FnMut(Seen<'_>) -> Result<ControlFlow<()>, StoreError>,
) -> Result<(), StoreError> {
    let consumer = step(
        "open a reader",
        stream.create_consumer(pull::Config {
            filter_subject: read.filter.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: read.from.max(1),
            },
            ack_policy: AckPolicy::None,
            headers_only: read.headers_only,
            inactive_threshold: READER_IDLE,
            memory_storage: true,
            ..Default::default()
        }),
    )
    .await?;
    let name = consumer.cached_info().name.clone();
    let mut pending = consumer.cached_info().num_pending;
    let mut left = read.most;
    let result = async {
        while pending > 0 && left > 0 {
            let ask = pending.min(PULL_BATCH).min(left) as usize;
            let mut batch = step("read", consumer.fetch().max_messages(ask).messages()).await?;
            let mut got = 0;
            while let Some(message) = timed("read", batch.next()).await? {
                let message = message.map_err(|e| StoreError::Nats(format!("read: {e}")))?;
                let info = message
                    .info()
                    .map_err(|e| StoreError::Nats(format!("read: {e}")))?;
                let seq = info.stream_sequence;
                pending = info.pending;
                got += 1;
                left = left.saturating_sub(1);
                let headers = message.headers.as_ref();
                let size = if read.headers_only {
                    header_u64(headers, MSG_SIZE)?
                } else {
                    message.payload.len() as u64
                };
                let seen = Seen {
                    seq,
                    subject: message.subject.as_str(),
                    headers,
                    payload: &message.payload,
                    size,
                };
                if each(seen)?.is_break() {
                    return Ok(());
                }
            }
            if got == 0 {
                // What was pending went meanwhile (acknowledged, expired).
                break;
            }
        }
        Ok(())
    }
    .await;
    // Deleted in the background: the answer does not wait for that round trip. Best effort:
    // a reader left behind (NATS unreachable, the store dropped) goes by itself after
    // READER_IDLE.
    let stream = stream.clone();
    tokio::spawn(async move {
        let _ = timed("close a reader", stream.delete_consumer(&name)).await;
    });
    result
}

/// Delete message `seq` of `stream`, overwriting its bytes on disk (JetStream's default
/// delete; a purge only unlinks). Whether it was there.
pub(super) async fn erase(stream: &Stream, seq: u64) -> Result<bool, StoreError> {
    match timed("erase a message", stream.delete_message(seq)).await? {
        Ok(found) => Ok(found),
        Err(e) => match e.kind() {
            DeleteMessageErrorKind::JetStream(js)
                if js.error_code() == ErrorCode::NO_MESSAGE_FOUND =>
            {
                Ok(false)
            }
            _ => Err(StoreError::Nats(format!("erase a message: {e}"))),
        },
    }
}
