//! What outlives a connection: accounts (a name bound to a public key and a stable id) and
//! their mailboxes (what was sent to an account while none of its sessions was online).
//!
//! [`Store`] is the small interface the hub needs; [`sqlite::SqliteStore`] is the embedded
//! implementation (one database file in the data directory, or memory for `--ephemeral`).
//! Every method blocks until its change is durable, so the hub is to call them from blocking
//! tasks. Not served yet: the accounts requests that use it are the next step of that issue.
//! Time is passed in (`now_ms`), never read here, so bounds can be tested without waiting.

use std::time::Duration;

use bytes::Bytes;
use shared::account::KeyRecord;
use shared::{BodyKind, PublicKey, UserId};

pub mod jetstream;
pub mod sqlite;

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Stable, at or above [`shared::account::FIRST_ACCOUNT_ID`], never reused.
    pub id: UserId,
    /// Canonical (see [`shared::account::canonical_name`]).
    pub name: String,
    /// The only credential the hub keeps.
    pub key: PublicKey,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Its end-to-end receiver key, signed by `key`, once published (checked before storing).
    pub record: Option<KeyRecord>,
}

/// A message kept for an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The sender, as the hub stamped it.
    pub from: UserId,
    /// When the hub stored it, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
    /// What the body is.
    pub kind: BodyKind,
    /// The body.
    pub body: Bytes,
}

/// A stored message with its place in the mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Ascending per account, never reused for it.
    pub seq: u64,
    /// The message.
    pub mail: Mail,
}

/// Most receipts kept for one sender (one per receiver at most): a sender away for long,
/// whose messages to more accounts than this were all read, learns of the latest only.
pub const MAX_RECEIPTS: u64 = 1_000;

/// What [`Store::ack`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acked {
    /// How many messages went.
    pub removed: u64,
    /// One per account whose messages went, by sender ascending (anonymous senders have none:
    /// their ids do not outlive their connection).
    pub receipts: Vec<Receipt>,
}

/// Every message `sender` relayed into `receiver`'s mailbox with `seq <= through` reached a
/// session of `receiver` (it acknowledged them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Who sent the messages.
    pub sender: UserId,
    /// Whose mailbox they were in.
    pub receiver: UserId,
    /// The highest of their seqs acknowledged.
    pub through: u64,
}

/// What became of one receiver of [`Store::enqueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored, durably, under this sequence number.
    Stored(u64),
    /// Not stored: the mailbox is at a bound.
    Full(Bound),
    /// There is no such account.
    NoAccount,
}

/// Which mailbox bound refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// [`Bounds::max_messages`].
    Messages,
    /// [`Bounds::max_bytes`].
    Bytes,
}

/// Per-account mailbox bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Most messages one mailbox holds.
    pub max_messages: u64,
    /// Most body bytes one mailbox holds.
    pub max_bytes: u64,
    /// Older messages are removed by [`Store::expire`].
    pub max_age: Duration,
}

impl Default for Bounds {
    /// 10,000 messages, 256 MiB, 30 days: a month away from a busy conversation.
    fn default() -> Self {
        Bounds {
            max_messages: 10_000,
            max_bytes: 256 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Why the store failed. The texts are for operators and end up in logs and refusals.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The name is taken.
    #[error("the name {0:?} is taken")]
    NameTaken(String),
    /// The data file was written by a newer hub.
    #[error("the data file {path} has schema version {found}; this hub reads up to {known}: run a newer hub")]
    NewerSchema {
        /// The file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this code knows.
        known: i64,
    },
    /// The data file is not a database, or is damaged.
    #[error("the data file {path} is damaged or not a hubbub database: {detail}")]
    Damaged {
        /// The file.
        path: String,
        /// What the check found.
        detail: String,
    },
    /// The group commit this write was part of failed; nothing of it was stored.
    #[error("store: the commit failed: {0}")]
    Commit(String),
    /// Anything else the database said.
    #[error("store: {0}")]
    Db(#[from] rusqlite::Error),
    /// The NATS server of the JetStream store cannot be reached.
    #[error("store: cannot reach NATS at {url}: {detail}")]
    Unreachable {
        /// Where the store looked for it.
        url: String,
        /// What the client said.
        detail: String,
    },
    /// NATS JetStream failed a request, did not answer in time, or holds a record this hub
    /// cannot read; the text says which.
    #[error("store: NATS JetStream: {0}")]
    Nats(String),
}

/// The hub's durable state. Each method is one transaction: it is on disk (fsynced) when it
/// returns `Ok`, and nothing of it is when it returns `Err`.
pub trait Store: Send + Sync {
    /// Create an account with the next unused id. Fails with [`StoreError::NameTaken`].
    fn create_account(
        &self,
        name: &str,
        key: PublicKey,
        now_ms: u64,
    ) -> Result<Account, StoreError>;

    /// The account with this canonical name.
    fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError>;

    /// The account with this id.
    fn account_by_id(&self, id: UserId) -> Result<Option<Account>, StoreError>;

    /// Accounts whose names match the glob `pattern` (`*` any run, `?` one character), by
    /// name ascending, at most `limit`; the flag says whether more matched.
    fn accounts_matching(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<(Vec<Account>, bool), StoreError>;

    /// Keep `record` as the account's end-to-end key record, replacing any earlier one (the
    /// caller has checked its signature). Whether the account exists.
    fn set_record(&self, id: UserId, record: &KeyRecord) -> Result<bool, StoreError>;

    /// Delete an account, its name, its key, its key record, its mailbox and the receipts it
    /// is in, overwriting the stored bytes.
    /// Whether it existed.
    fn delete_account(&self, id: UserId) -> Result<bool, StoreError>;

    /// Store `mail` in the mailbox of each of `to`, all in one transaction. One answer per
    /// receiver, in order.
    fn enqueue(&self, to: &[UserId], mail: &Mail) -> Result<Vec<Enqueued>, StoreError>;

    /// Store each of `mails` in `id`'s mailbox, in order, all in one transaction: the relays
    /// a closing session did not write. One answer per mail.
    fn keep(&self, id: UserId, mails: &[Mail]) -> Result<Vec<Enqueued>, StoreError>;

    /// Up to `max` messages of `id`'s mailbox with `seq > after`, ascending, stopping once
    /// their bodies reach `max_bytes` (the first one always comes, whatever its size).
    fn mailbox(
        &self,
        id: UserId,
        after: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, StoreError>;

    /// Forget every message of `id`'s mailbox with `seq <= upto`. In the same transaction,
    /// for each account that sent some of them, keep a [`Receipt`] naming the highest seq of
    /// its messages that went (raising the one already kept for it and `id`), so a sender
    /// away now learns it later; at most [`MAX_RECEIPTS`] per sender, the oldest going first.
    fn ack(&self, id: UserId, upto: u64) -> Result<Acked, StoreError>;

    /// The receipts kept for `sender`, by receiver ascending.
    fn receipts(&self, sender: UserId) -> Result<Vec<Receipt>, StoreError>;

    /// Forget each of `receipts` that a session of its sender has been given: a kept one
    /// whose `through` is higher (a later ack) stays.
    fn forget_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError>;

    /// How many messages and body bytes `id`'s mailbox holds.
    fn mailbox_size(&self, id: UserId) -> Result<(u64, u64), StoreError>;

    /// Remove every message stored before `now_ms` minus [`Bounds::max_age`]; how many went.
    fn expire(&self, now_ms: u64) -> Result<u64, StoreError>;
}

/// Whether `pattern` is a glob of name characters, `*` and `?` (SQLite's `GLOB` would also
/// take `[...]` classes, which the directory does not offer).
pub(crate) fn plain_glob(pattern: &str) -> bool {
    pattern
        .chars()
        .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-' | '*' | '?'))
}

/// Whether `name` matches the [`plain_glob`] `pattern` as SQLite's `GLOB` would: `*` any run
/// of characters, `?` exactly one.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The classic two-pointer match, backtracking to the last `*`.
    let (mut i, mut j, mut star, mut from) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            from = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            from += 1;
            j = from;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_as_sqlite_glob_does() {
        for (pattern, name, want) in [
            ("al*", "alice", true),
            ("al*", "al", true),
            ("al*", "bob", false),
            ("?o?", "bob", true),
            ("?o?", "boob", false),
            ("*", "", true),
            ("a*e", "alice", true),
            ("a*e", "alicea", false),
            ("*.x*", "a.b.xy", true),
            ("a?", "a", false),
        ] {
            assert_eq!(glob_matches(pattern, name), want, "{pattern} on {name}");
        }
    }
}
