//! The clustered hub's [`Store`]: accounts in a NATS JetStream key-value bucket, mailboxes in
//! JetStream streams, on nats-server 2.9 (Debian's; no 2.10 features). Several hubs on one
//! NATS share it: each sees the others' accounts and mailboxes at once.
//!
//! Layout (`P` is the prefix given to [`JetStreamStore::connect`]; docs/CLUSTER.md, § Accounts
//! and mailboxes in JetStream, has the why):
//! - bucket `P_accounts` (file storage, two revisions per key, see `KEPT_VALUES`): `next`
//!   (the next account id, raised by compare-and-set on its revision), `id.<id>` (the
//!   account), `name.<hex name>` (the id it is bound to, written with `create`: of two hubs
//!   registering one name, exactly one wins), `box.<id>` (the mailbox's reserved size; there
//!   exactly while the account is) and `rcpt.<sender>` (the sender's receipts, all in one
//!   value);
//! - streams `P_mail_<k>` (file storage, `k` = id % `MAIL_STREAMS`), subject
//!   `P.mail.<k>.<id>` per account: the stream sequence is the mailbox seq (ascending per
//!   account, never reused, not dense). A mailbox is read with a short-lived consumer filtered
//!   to its subject (`scan.rs`), acknowledged by purging its subject up to a seq.
//!
//! Every method returns once JetStream acknowledged its writes (a publish ack, a key's new
//! revision). JetStream 2.9 has no transaction over several writes, so where [`Store`] says
//! "one transaction" this store does its writes in an order that makes a crash between two of
//! them safe:
//! - `enqueue`/`keep`: per receiver, the size is reserved (compare-and-set on `box.<id>`)
//!   before the mail is published. A crash between the two leaves the mailbox counting one
//!   message (and its bytes) it does not hold: its bounds are met that much early, never
//!   exceeded. With several receivers, a crash stores the mail for some and not others, and
//!   the sender was answered nothing (no `queued` is lost; a retry may duplicate).
//! - `ack`: the receipts are written before the purge, so a crash repeats a receipt (the
//!   messages come again and are acknowledged again) rather than loses one.
//! - `delete_account`: the mailbox's size goes first (enqueues answer `NoAccount` from then
//!   on), then the name, the account, the messages and the receipts; a crash part way leaves
//!   no account, and deleting it again finishes the rest.
//!
//! "Overwriting the stored bytes" on JetStream: `delete_account` deletes each of the
//! account's messages and its keys' latest values one by one with JetStream's erasing delete,
//! which overwrites the record in the block file with random bytes (tested:
//! `a_deleted_account_leaves_no_byte_of_its_messages_in_the_nats_store`). It cannot reach
//! what JetStream removed earlier without erasing: mail acknowledged or expired (a purge
//! unlinks, the bytes stay in the block until the block file is removed), an account value
//! replaced by `set_record` when the hub crashed between the write and the erase, or the
//! older values of the keys that hold no secrets (sizes, counters, receipts). Nor can it reach
//! a NATS cluster's other replicas' disks, or copies NATS keeps elsewhere (backups, mirrors).

use std::future::Future;
use std::sync::Arc;

use async_nats::jetstream::kv::{self, CreateErrorKind, UpdateErrorKind};
use async_nats::jetstream::stream::{self, Stream};
use async_nats::jetstream::{self as js, Context};
use bytes::Bytes;
use shared::account::KeyRecord;
use shared::{PublicKey, UserId};

use super::{Account, Acked, Bounds, Enqueued, Mail, Receipt, Store, StoreError, Stored};

mod accounts;
mod mailbox;
mod receipts;
mod records;
mod scan;

use scan::{erase, step, timed};
pub use scan::{READER_IDLE, REQUEST_TIMEOUT};

/// The prefix a hub uses when none is given: `hubbub_accounts`, `hubbub_mail_0`….
pub const DEFAULT_PREFIX: &str = "hubbub";

/// Longest prefix: it is part of stream, bucket and subject names.
const MAX_PREFIX_LEN: usize = 32;

/// The store's own runtime threads: they drive the NATS connection while callers block.
const RUNTIME_THREADS: usize = 2;

/// How often a compare-and-set is tried before the store gives up with an error: each round
/// one contender wins, so this many concurrent writers of one key still all get through.
const CAS_ATTEMPTS: usize = 1_000;

/// How many streams the mail is split into (by account id). Creating a reader filtered to one
/// mailbox costs nats-server 2.9 time in proportion to the messages of its whole stream
/// (store_bench: 0.4 ms at 4,000, 3.7 ms at 100,000), so each stream holding a sixteenth of the
/// mail makes each read that much cheaper; `expire` reads them all. Part of the layout: a
/// store with another number would not find the mail.
const MAIL_STREAMS: u64 = 16;

/// Values the accounts bucket keeps per key: the latest and the one before, which a writer
/// that must erase what it replaced (`set_record`: an account's old key record) erases
/// itself; for other keys (counters, sizes, receipts) the next write unlinks it.
const KEPT_VALUES: i64 = 2;

/// In-process locks over mailboxes (by id): writers on one hub reserve a mailbox's space one
/// at a time instead of racing each other's compare-and-sets; other hubs are kept out by the
/// compare-and-set itself.
const BOX_LOCKS: usize = 64;

/// The store on JetStream. Its methods block the calling thread (as [`Store`] asks): each runs
/// on the store's own small tokio runtime, so a hub calls them from `spawn_blocking` and tests
/// from plain threads.
pub struct JetStreamStore {
    rt: Option<tokio::runtime::Runtime>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JetStreamStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamStore")
            .field("prefix", &self.inner.prefix)
            .field("bounds", &self.inner.bounds)
            .finish_non_exhaustive()
    }
}

/// What the store's tasks share.
struct Inner {
    js: Context,
    kv: kv::Store,
    /// The mail streams, [`MAIL_STREAMS`] of them: account `id`'s is `id % MAIL_STREAMS`.
    mail: Vec<Stream>,
    prefix: String,
    bounds: Bounds,
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl JetStreamStore {
    /// Connect to the NATS server at `url` and create the bucket and stream named after
    /// `prefix` (letters, digits, `_`, `-`) if they are absent. A server that is down or has no
    /// JetStream is an error within [`REQUEST_TIMEOUT`], never a hang.
    pub fn connect(url: &str, bounds: Bounds, prefix: &str) -> Result<JetStreamStore, StoreError> {
        Self::connect_with(url, async_nats::ConnectOptions::new(), bounds, prefix)
    }

    /// [`Self::connect`] with `options` (the credentials of a NATS that asks for them: a
    /// clustered hub's store connects as the hub does, `hub::cluster::nats_options`); the
    /// store sets its own timeouts on them.
    pub fn connect_with(
        url: &str,
        options: async_nats::ConnectOptions,
        bounds: Bounds,
        prefix: &str,
    ) -> Result<JetStreamStore, StoreError> {
        let fine = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN || !prefix.chars().all(fine) {
            return Err(StoreError::Nats(format!(
                "the prefix {prefix:?} is not 1 to {MAX_PREFIX_LEN} letters, digits, '_' or '-'"
            )));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("hub-jetstream")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Nats(format!("start the store's runtime: {e}")))?;
        // Spawned and waited for, not `block_on`: the hub may connect from inside its own
        // runtime (an async `main`), where entering another runtime panics.
        let (url, prefix) = (url.to_owned(), prefix.to_owned());
        let task = rt.spawn(async move { Inner::connect(&url, options, bounds, &prefix).await });
        let inner = futures::executor::block_on(task)
            .map_err(|e| StoreError::Nats(format!("the store's task failed: {e}")))??;
        Ok(JetStreamStore {
            rt: Some(rt),
            inner: Arc::new(inner),
        })
    }

    /// Run `work` on the store's runtime and wait for it. Spawned, not `block_on`: a caller
    /// inside another runtime (a blocking task of the hub's) must not enter this one.
    fn run<T: Send + 'static, F>(&self, work: impl FnOnce(Arc<Inner>) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let rt = self.rt.as_ref().expect("the runtime lives until drop");
        let task = rt.spawn(work(Arc::clone(&self.inner)));
        futures::executor::block_on(task)
            .map_err(|e| StoreError::Nats(format!("the store's task failed: {e}")))?
    }
}

impl Drop for JetStreamStore {
    fn drop(&mut self) {
        // Without waiting: a store dropped inside the hub's runtime must not block it.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Inner {
    async fn connect(
        url: &str,
        options: async_nats::ConnectOptions,
        bounds: Bounds,
        prefix: &str,
    ) -> Result<Inner, StoreError> {
        let unreachable = |detail: String| StoreError::Unreachable {
            url: url.to_owned(),
            detail,
        };
        let client = timed(
            "connect",
            options
                .connection_timeout(REQUEST_TIMEOUT)
                .request_timeout(Some(REQUEST_TIMEOUT))
                .connect(url),
        )
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let js = js::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .ack_timeout(REQUEST_TIMEOUT)
            .build(client);
        let bucket = format!("{prefix}_accounts");
        // The bucket's stream is made here, as async-nats's `create_key_value` would make it
        // but for one setting: deletes allowed, for the erasing delete of a deleted account's
        // keys (and that call reads an account-info field 2.9 does not send).
        step(
            "create the accounts bucket",
            get_or_create(
                &js,
                stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some("hubbub accounts".into()),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: KEPT_VALUES,
                    storage: stream::StorageType::File,
                    allow_rollup: true,
                    allow_direct: true,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                },
            ),
        )
        .await?;
        let kv = step("open the accounts bucket", js.get_key_value(&bucket)).await?;
        let mut mail = Vec::with_capacity(MAIL_STREAMS as usize);
        for shard in 0..MAIL_STREAMS {
            let stream = step(
                "create a mail stream",
                get_or_create(
                    &js,
                    stream::Config {
                        name: format!("{prefix}_mail_{shard}"),
                        description: Some("hubbub mailboxes: one subject per account".into()),
                        subjects: vec![format!("{prefix}.mail.{shard}.*")],
                        storage: stream::StorageType::File,
                        ..Default::default()
                    },
                ),
            )
            .await?;
            mail.push(stream);
        }
        Ok(Inner {
            js,
            kv,
            mail,
            prefix: prefix.to_owned(),
            bounds,
            locks: (0..BOX_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// The subject of `id`'s mailbox.
    fn subject(&self, id: UserId) -> String {
        format!("{}.mail.{}.{}", self.prefix, id.0 % MAIL_STREAMS, id.0)
    }

    /// The stream `id`'s mailbox is in.
    fn mail_of(&self, id: UserId) -> &Stream {
        &self.mail[(id.0 % MAIL_STREAMS) as usize]
    }

    /// The account a mailbox subject belongs to.
    fn owner(&self, subject: &str) -> Option<UserId> {
        subject.rsplit('.').next()?.parse().ok().map(UserId)
    }

    /// The lock over `id`'s mailbox writers on this hub.
    fn lock(&self, id: UserId) -> &tokio::sync::Mutex<()> {
        &self.locks[(id.0 % BOX_LOCKS as u64) as usize]
    }

    /// A key's value and revision, if it holds one.
    async fn entry(&self, key: &str) -> Result<Option<(Bytes, u64)>, StoreError> {
        let entry = step("read a key", self.kv.entry(key)).await?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .map(|e| (e.value, e.revision)))
    }

    /// Write `key` if it holds nothing; whether it did.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<bool, StoreError> {
        match timed("create a key", self.kv.create(key, value.into())).await? {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(StoreError::Nats(format!("create the key {key}: {e}"))),
        }
    }

    /// Write `key` if it still is at `revision`; whether it was.
    async fn update(&self, key: &str, value: Vec<u8>, revision: u64) -> Result<bool, StoreError> {
        match timed("update a key", self.kv.update(key, value.into(), revision)).await? {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(StoreError::Nats(format!("update the key {key}: {e}"))),
        }
    }

    /// Remove `key`, overwriting its value on disk; whether it held one.
    async fn erase_key(&self, key: &str) -> Result<bool, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some((_, revision)) = self.entry(key).await? else {
                return Ok(false);
            };
            if erase(&self.kv.stream, revision).await? {
                return Ok(true);
            }
            // Rewritten meanwhile: erase the new value.
        }
        Err(contended(key))
    }
}

/// The error of a compare-and-set that lost [`CAS_ATTEMPTS`] times.
fn contended(key: &str) -> StoreError {
    StoreError::Nats(format!(
        "the key {key} changed under each of {CAS_ATTEMPTS} attempts to write it"
    ))
}

impl Store for JetStreamStore {
    fn create_account(
        &self,
        name: &str,
        key: PublicKey,
        now_ms: u64,
    ) -> Result<Account, StoreError> {
        let name = name.to_owned();
        self.run(move |s| async move { s.create_account(&name, key, now_ms).await })
    }

    fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let name = name.to_owned();
        self.run(move |s| async move { s.account_by_name(&name).await })
    }

    fn account_by_id(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        self.run(move |s| async move { s.account_by_id(id).await })
    }

    fn accounts_matching(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<(Vec<Account>, bool), StoreError> {
        let pattern = pattern.to_owned();
        self.run(move |s| async move { s.accounts_matching(&pattern, limit).await })
    }

    fn set_record(&self, id: UserId, record: &KeyRecord) -> Result<bool, StoreError> {
        let record = *record;
        self.run(move |s| async move { s.set_record(id, record).await })
    }

    fn delete_account(&self, id: UserId) -> Result<bool, StoreError> {
        self.run(move |s| async move { s.delete_account(id).await })
    }

    fn enqueue(&self, to: &[UserId], mail: &Mail) -> Result<Vec<Enqueued>, StoreError> {
        let (to, mail) = (to.to_vec(), mail.clone());
        self.run(move |s| async move { s.enqueue(&to, &mail).await })
    }

    fn keep(&self, id: UserId, mails: &[Mail]) -> Result<Vec<Enqueued>, StoreError> {
        let mails = mails.to_vec();
        self.run(move |s| async move { s.keep(id, &mails).await })
    }

    fn mailbox(
        &self,
        id: UserId,
        after: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        self.run(move |s| async move { s.mailbox(id, after, max, max_bytes).await })
    }

    fn ack(&self, id: UserId, upto: u64) -> Result<Acked, StoreError> {
        self.run(move |s| async move { s.ack(id, upto).await })
    }

    fn receipts(&self, sender: UserId) -> Result<Vec<Receipt>, StoreError> {
        self.run(move |s| async move { s.receipts(sender).await })
    }

    fn forget_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let receipts = receipts.to_vec();
        self.run(move |s| async move { s.forget_receipts(&receipts).await })
    }

    fn mailbox_size(&self, id: UserId) -> Result<(u64, u64), StoreError> {
        self.run(move |s| async move { s.mailbox_size(id).await })
    }

    fn expire(&self, now_ms: u64) -> Result<u64, StoreError> {
        self.run(move |s| async move { s.expire(now_ms).await })
    }
}

/// The stream `config` names, made if it is not there. Two hubs starting at once may both find
/// it missing and both create it: the second create fails (nats-server 2.9 says "subjects
/// overlap with an existing stream"), and the stream it wanted is there, so it is read again.
async fn get_or_create(js: &js::Context, config: stream::Config) -> Result<stream::Stream, String> {
    let name = config.name.clone();
    match js.get_or_create_stream(config).await {
        Ok(stream) => Ok(stream),
        Err(first) => js
            .get_stream(&name)
            .await
            .map_err(|again| format!("{first}; then reading it: {again}")),
    }
}
