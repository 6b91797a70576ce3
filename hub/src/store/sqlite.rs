//! The embedded [`Store`]: one SQLite database file (or memory), through rusqlite's bundled
//! SQLite.
//!
//! Why SQLite: every commit is atomic and, with WAL and `synchronous=FULL`, fsynced before
//! it returns, so "stored" survives `kill -9` and a power cut; `secure_delete` overwrites what
//! a deleted account leaves behind instead of leaving it in free pages; `PRAGMA user_version`
//! versions the schema and `quick_check` finds a damaged file. redb (pure Rust) was the other
//! candidate: it has no secure delete, so a deleted account's bodies would stay readable in
//! freed pages.

use std::path::Path;
use std::sync::{mpsc, Mutex, MutexGuard};

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use shared::account::{KeyRecord, FIRST_ACCOUNT_ID};
use shared::{BodyKind, PublicKey, Signature, UserId};

use super::{
    plain_glob, Account, Acked, Bound, Bounds, Enqueued, Mail, Receipt, Store, StoreError, Stored,
    MAX_RECEIPTS,
};

/// The schema this code writes. A file with a higher `user_version` is refused.
pub const SCHEMA_VERSION: i64 = 3;

/// What each schema version adds to the one before, applied in order to an older file when
/// it is opened: version 2 the accounts' end-to-end key records, version 3 the receipts.
const MIGRATIONS: &[(i64, &str)] = &[
    (2, "ALTER TABLE accounts ADD COLUMN record BLOB;"),
    (3, RECEIPTS_TABLE),
];

/// SQLite's `application_id` for hubbub's files ("HUBB"), so another program's database is
/// recognised as not ours.
const APPLICATION_ID: i64 = 0x4855_4242;

const SCHEMA: &str = "
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        key BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        record BLOB
    );
    CREATE TABLE boxes (
        account INTEGER PRIMARY KEY,
        next_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    );
    CREATE TABLE mail (
        account INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        sender INTEGER NOT NULL,
        sent_at_ms INTEGER NOT NULL,
        kind BLOB NOT NULL,
        body BLOB NOT NULL
    );
    CREATE UNIQUE INDEX mail_order ON mail (account, seq);
    CREATE INDEX mail_age ON mail (sent_at_ms);
";

/// What version 3 added: the receipts kept for senders (see [`Store::ack`]); `stamp` orders
/// them by when they were last raised, for the per-sender bound. (A new file gets it with
/// [`SCHEMA`], which has version 2's column already.)
const RECEIPTS_TABLE: &str = "
    CREATE TABLE receipts (
        sender INTEGER NOT NULL,
        receiver INTEGER NOT NULL,
        through INTEGER NOT NULL,
        stamp INTEGER NOT NULL,
        PRIMARY KEY (sender, receiver)
    );
    CREATE INDEX receipts_by_receiver ON receipts (receiver);
";

/// The embedded store. One connection behind a mutex: SQLite writes one transaction at a time
/// anyway, and the hub's callers are blocking tasks. Concurrent [`Store::enqueue`]s are
/// committed in groups: one transaction and one fsync for all the relays waiting at once.
pub struct SqliteStore {
    db: Mutex<Connection>,
    group: Mutex<Group>,
    bounds: Bounds,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("bounds", &self.bounds)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the database file `path`. A damaged file, another program's database
    /// or one of a newer schema is refused with a [`StoreError`] that says which.
    pub fn open(path: &Path, bounds: Bounds) -> Result<SqliteStore, StoreError> {
        let shown = path.display().to_string();
        let damaged = |e: rusqlite::Error| StoreError::Damaged {
            path: shown.clone(),
            detail: e.to_string(),
        };
        let db = Connection::open(path).map_err(damaged)?;
        // The first statement that reads the file is where a non-database shows itself.
        db.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })
        .map_err(damaged)?;
        Self::prepare(db, bounds, &shown)
    }

    /// A store in memory, gone with the hub (`--ephemeral`, tests).
    pub fn ephemeral(bounds: Bounds) -> Result<SqliteStore, StoreError> {
        Self::prepare(Connection::open_in_memory()?, bounds, ":memory:")
    }

    fn prepare(db: Connection, bounds: Bounds, path: &str) -> Result<SqliteStore, StoreError> {
        let damaged = |detail: String| StoreError::Damaged {
            path: path.to_owned(),
            detail,
        };
        // `hub account add` may write while a hub serves the same file: wait for its lock.
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "secure_delete", "ON")?;
        let check: String = db
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| damaged(e.to_string()))?;
        if check != "ok" {
            return Err(damaged(check));
        }
        let version: i64 = db.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let app: i64 = db.query_row("PRAGMA application_id", [], |row| row.get(0))?;
        let tables: i64 =
            db.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
        if version == 0 && app == 0 && tables == 0 {
            let tx = db.unchecked_transaction()?;
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(RECEIPTS_TABLE)?;
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('next_account_id', ?1)",
                params![FIRST_ACCOUNT_ID as i64],
            )?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        } else if app != APPLICATION_ID {
            return Err(damaged(format!(
                "application_id is {app:#x}, not hubbub's {APPLICATION_ID:#x}"
            )));
        } else if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        } else if version < 1 {
            return Err(damaged(format!("schema version {version}")));
        } else if version < SCHEMA_VERSION {
            let tx = db.unchecked_transaction()?;
            for (_, step) in MIGRATIONS.iter().filter(|(v, _)| *v > version) {
                tx.execute_batch(step)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(SqliteStore {
            db: Mutex::new(db),
            group: Mutex::default(),
            bounds,
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic under the lock leaves SQLite consistent (the transaction rolls back).
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Keep `receipt` (raising the one kept for its pair), then drop its sender's oldest beyond
/// [`MAX_RECEIPTS`].
fn keep_receipt(tx: &rusqlite::Transaction<'_>, receipt: &Receipt) -> rusqlite::Result<()> {
    let sender = receipt.sender.0 as i64;
    tx.execute(
        "INSERT INTO receipts (sender, receiver, through, stamp) \
         VALUES (?1, ?2, ?3, (SELECT coalesce(max(stamp), 0) + 1 FROM receipts)) \
         ON CONFLICT (sender, receiver) DO UPDATE SET \
           through = max(through, excluded.through), stamp = excluded.stamp",
        params![sender, receipt.receiver.0 as i64, receipt.through as i64],
    )?;
    tx.execute(
        "DELETE FROM receipts WHERE sender = ?1 AND stamp NOT IN \
         (SELECT stamp FROM receipts WHERE sender = ?1 ORDER BY stamp DESC LIMIT ?2)",
        params![sender, MAX_RECEIPTS as i64],
    )?;
    Ok(())
}

fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let key: Vec<u8> = row.get(2)?;
    let key: [u8; 32] = key.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Blob,
            "a stored key is not 32 bytes".into(),
        )
    })?;
    let record: Option<Vec<u8>> = row.get(4)?;
    Ok(Account {
        id: UserId(row.get::<_, i64>(0)? as u64),
        name: row.get(1)?,
        key: PublicKey(key),
        created_ms: row.get::<_, i64>(3)? as u64,
        record: record.as_deref().map(decode_record).transpose()?,
    })
}

/// A key record as stored: the 32-byte X25519 key, then the 64-byte signature.
fn encode_record(record: &KeyRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(96);
    bytes.extend_from_slice(&record.key);
    bytes.extend_from_slice(&record.signature.0);
    bytes
}

fn decode_record(bytes: &[u8]) -> rusqlite::Result<KeyRecord> {
    let bad = || {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Blob,
            "a stored key record is not 96 bytes".into(),
        )
    };
    let (key, signature) = bytes.split_at_checked(32).ok_or_else(bad)?;
    Ok(KeyRecord {
        key: key.try_into().map_err(|_| bad())?,
        signature: Signature(signature.try_into().map_err(|_| bad())?),
    })
}

fn encode_kind(kind: &BodyKind) -> Vec<u8> {
    postcard::to_stdvec(kind).expect("a BodyKind always encodes")
}

fn decode_kind(bytes: &[u8]) -> rusqlite::Result<BodyKind> {
    postcard::from_bytes(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// Writers waiting for the next group commit of [`Store::enqueue`].
#[derive(Default)]
struct Group {
    waiting: Vec<Waiter>,
    /// A writer is committing groups; newcomers wait for it.
    leading: bool,
}

struct Waiter {
    to: Vec<UserId>,
    mail: Mail,
    answer: mpsc::SyncSender<Turn>,
}

/// What a waiting writer is told: its answer, or that it commits the next group.
enum Turn {
    Answer(Result<Vec<Enqueued>, String>),
    Lead,
}

/// Resets the group if its leader unwinds, so the writers after it are not left waiting: the
/// ones in the group get an error (their answers are dropped), later ones lead anew.
struct Leading<'a>(&'a Mutex<Group>);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut group = self.0.lock().unwrap_or_else(|p| p.into_inner());
            group.leading = false;
            group.waiting.clear();
        }
    }
}

impl SqliteStore {
    fn group(&self) -> MutexGuard<'_, Group> {
        self.group
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One transaction, one fsync, for every relay in `batch`, in order.
    fn commit_group(&self, batch: &[Waiter]) -> Result<Vec<Vec<Enqueued>>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let answers = batch
            .iter()
            .map(|waiter| self.enqueue_in(&tx, &waiter.to, &waiter.mail))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(answers)
    }

    /// Wait for this writer's answer; `None` when it is to lead the next group instead.
    fn answer(mine: &mpsc::Receiver<Turn>) -> Option<Result<Vec<Enqueued>, StoreError>> {
        match mine.recv() {
            Ok(Turn::Answer(answer)) => Some(answer.map_err(StoreError::Commit)),
            Ok(Turn::Lead) => None,
            Err(_) => Some(Err(StoreError::Commit(
                "the committing writer failed".into(),
            ))),
        }
    }

    /// Store one relay in one open transaction.
    fn enqueue_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        to: &[UserId],
        mail: &Mail,
    ) -> Result<Vec<Enqueued>, StoreError> {
        let kind = encode_kind(&mail.kind);
        let len = mail.body.len() as u64;
        let mut answers = Vec::with_capacity(to.len());
        for receiver in to {
            let account = receiver.0 as i64;
            let state: Option<(i64, i64, i64)> = tx
                .query_row(
                    "SELECT next_seq, count, bytes FROM boxes WHERE account = ?1",
                    params![account],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            let Some((seq, count, bytes)) = state else {
                answers.push(Enqueued::NoAccount);
                continue;
            };
            if count as u64 >= self.bounds.max_messages {
                answers.push(Enqueued::Full(Bound::Messages));
                continue;
            }
            if bytes as u64 + len > self.bounds.max_bytes {
                answers.push(Enqueued::Full(Bound::Bytes));
                continue;
            }
            tx.execute(
                "INSERT INTO mail (account, seq, sender, sent_at_ms, kind, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    account,
                    seq,
                    mail.from.0 as i64,
                    mail.sent_at_ms as i64,
                    kind,
                    &mail.body[..]
                ],
            )?;
            tx.execute(
                "UPDATE boxes SET next_seq = ?2, count = count + 1, bytes = bytes + ?3 \
                 WHERE account = ?1",
                params![account, seq + 1, len as i64],
            )?;
            answers.push(Enqueued::Stored(seq as u64));
        }
        Ok(answers)
    }
}

impl Store for SqliteStore {
    fn create_account(
        &self,
        name: &str,
        key: PublicKey,
        now_ms: u64,
    ) -> Result<Account, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE name = ?1)",
            params![name],
            |row| row.get(0),
        )?;
        if taken {
            return Err(StoreError::NameTaken(name.to_owned()));
        }
        let id: i64 = tx.query_row(
            "UPDATE counters SET value = value + 1 WHERE name = 'next_account_id' \
             RETURNING value - 1",
            [],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO accounts (id, name, key, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, &key.0[..], now_ms as i64],
        )?;
        tx.execute(
            "INSERT INTO boxes (account, next_seq, count, bytes) VALUES (?1, 1, 0, 0)",
            params![id],
        )?;
        tx.commit()?;
        Ok(Account {
            id: UserId(id as u64),
            name: name.to_owned(),
            key,
            created_ms: now_ms,
            record: None,
        })
    }

    fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let db = self.db();
        Ok(db
            .query_row(
                "SELECT id, name, key, created_ms, record FROM accounts WHERE name = ?1",
                params![name],
                account_row,
            )
            .optional()?)
    }

    fn account_by_id(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        let db = self.db();
        Ok(db
            .query_row(
                "SELECT id, name, key, created_ms, record FROM accounts WHERE id = ?1",
                params![id.0 as i64],
                account_row,
            )
            .optional()?)
    }

    fn accounts_matching(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<(Vec<Account>, bool), StoreError> {
        if !plain_glob(pattern) {
            return Ok((Vec::new(), false));
        }
        let db = self.db();
        let mut statement = db.prepare_cached(
            "SELECT id, name, key, created_ms, record FROM accounts WHERE name GLOB ?1 \
             ORDER BY name LIMIT ?2",
        )?;
        let mut accounts = statement
            .query_map(params![pattern, limit as i64 + 1], account_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let limited = accounts.len() > limit;
        accounts.truncate(limit);
        Ok((accounts, limited))
    }

    fn set_record(&self, id: UserId, record: &KeyRecord) -> Result<bool, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE accounts SET record = ?2 WHERE id = ?1",
            params![id.0 as i64, encode_record(record)],
        )? > 0;
        tx.commit()?;
        Ok(changed)
    }

    fn delete_account(&self, id: UserId) -> Result<bool, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = id.0 as i64;
        tx.execute("DELETE FROM mail WHERE account = ?1", params![id])?;
        tx.execute("DELETE FROM boxes WHERE account = ?1", params![id])?;
        tx.execute(
            "DELETE FROM receipts WHERE sender = ?1 OR receiver = ?1",
            params![id],
        )?;
        let existed = tx.execute("DELETE FROM accounts WHERE id = ?1", params![id])? > 0;
        tx.commit()?;
        // secure_delete zeroed the pages in the write-ahead log; the checkpoint writes them over
        // the old ones in the main file and empties the log, so no copy of the bytes remains.
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(existed)
    }

    fn enqueue(&self, to: &[UserId], mail: &Mail) -> Result<Vec<Enqueued>, StoreError> {
        let (answer, mine) = mpsc::sync_channel(1);
        {
            let mut group = self.group();
            group.waiting.push(Waiter {
                to: to.to_vec(),
                mail: mail.clone(),
                answer,
            });
            if group.leading {
                drop(group);
                if let Some(answer) = Self::answer(&mine) {
                    return answer;
                }
            } else {
                group.leading = true;
            }
        }
        // This writer leads: it commits everything waiting, itself included, as one
        // transaction, then hands the lead to the first writer that arrived meanwhile. One
        // round each, so no writer's answer waits behind a stream of others.
        let _leading = Leading(&self.group);
        let batch = std::mem::take(&mut self.group().waiting);
        match self.commit_group(&batch) {
            Ok(answers) => {
                for (waiter, answers) in batch.iter().zip(answers) {
                    let _ = waiter.answer.send(Turn::Answer(Ok(answers)));
                }
            }
            Err(e) => {
                let text = e.to_string();
                for waiter in &batch {
                    let _ = waiter.answer.send(Turn::Answer(Err(text.clone())));
                }
            }
        }
        {
            let mut group = self.group();
            loop {
                match group.waiting.first() {
                    // A writer that is gone cannot lead: skip it.
                    Some(next) if next.answer.send(Turn::Lead).is_err() => {
                        group.waiting.remove(0);
                    }
                    Some(_) => break,
                    None => {
                        group.leading = false;
                        break;
                    }
                }
            }
        }
        Self::answer(&mine).unwrap_or_else(|| {
            Err(StoreError::Commit(
                "a writer was asked to lead twice".into(),
            ))
        })
    }

    fn keep(&self, id: UserId, mails: &[Mail]) -> Result<Vec<Enqueued>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut answers = Vec::with_capacity(mails.len());
        for mail in mails {
            answers.extend(self.enqueue_in(&tx, &[id], mail)?);
        }
        tx.commit()?;
        Ok(answers)
    }

    fn mailbox(
        &self,
        id: UserId,
        after: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let db = self.db();
        let mut statement = db.prepare_cached(
            "SELECT seq, sender, sent_at_ms, kind, body FROM mail \
             WHERE account = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = statement.query_map(params![id.0 as i64, after as i64, max as i64], |row| {
            let kind: Vec<u8> = row.get(3)?;
            let body: Vec<u8> = row.get(4)?;
            Ok(Stored {
                seq: row.get::<_, i64>(0)? as u64,
                mail: Mail {
                    from: UserId(row.get::<_, i64>(1)? as u64),
                    sent_at_ms: row.get::<_, i64>(2)? as u64,
                    kind: decode_kind(&kind)?,
                    body: Bytes::from(body),
                },
            })
        })?;
        // Rows are read as they are taken: stop at the byte budget without reading on.
        let mut stored = Vec::new();
        let mut bytes = 0;
        for row in rows {
            if !stored.is_empty() && bytes >= max_bytes {
                break;
            }
            let row = row?;
            bytes += row.mail.body.len();
            stored.push(row);
        }
        Ok(stored)
    }

    fn ack(&self, id: UserId, upto: u64) -> Result<Acked, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let account = id.0 as i64;
        let (count, bytes): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM mail \
             WHERE account = ?1 AND seq <= ?2",
            params![account, upto as i64],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let mut receipts = Vec::new();
        if count > 0 {
            let mut senders = tx.prepare(
                "SELECT sender, max(seq) FROM mail \
                 WHERE account = ?1 AND seq <= ?2 AND sender >= ?3 \
                 GROUP BY sender ORDER BY sender",
            )?;
            let rows = senders.query_map(
                params![account, upto as i64, FIRST_ACCOUNT_ID as i64],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )?;
            for row in rows {
                let (sender, through) = row?;
                receipts.push(Receipt {
                    sender: UserId(sender as u64),
                    receiver: id,
                    through: through as u64,
                });
            }
            drop(senders);
            tx.execute(
                "DELETE FROM mail WHERE account = ?1 AND seq <= ?2",
                params![account, upto as i64],
            )?;
            tx.execute(
                "UPDATE boxes SET count = count - ?2, bytes = bytes - ?3 WHERE account = ?1",
                params![account, count, bytes],
            )?;
            for receipt in &receipts {
                keep_receipt(&tx, receipt)?;
            }
        }
        tx.commit()?;
        Ok(Acked {
            removed: count as u64,
            receipts,
        })
    }

    fn receipts(&self, sender: UserId) -> Result<Vec<Receipt>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT receiver, through FROM receipts WHERE sender = ?1 ORDER BY receiver",
        )?;
        let rows = query.query_map(params![sender.0 as i64], |row| {
            Ok(Receipt {
                sender,
                receiver: UserId(row.get::<_, i64>(0)? as u64),
                through: row.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn forget_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        if receipts.is_empty() {
            return Ok(());
        }
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for r in receipts {
            tx.execute(
                "DELETE FROM receipts WHERE sender = ?1 AND receiver = ?2 AND through <= ?3",
                params![r.sender.0 as i64, r.receiver.0 as i64, r.through as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn mailbox_size(&self, id: UserId) -> Result<(u64, u64), StoreError> {
        let db = self.db();
        let size: Option<(i64, i64)> = db
            .query_row(
                "SELECT count, bytes FROM boxes WHERE account = ?1",
                params![id.0 as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(size.map_or((0, 0), |(c, b)| (c as u64, b as u64)))
    }

    fn expire(&self, now_ms: u64) -> Result<u64, StoreError> {
        let cutoff = now_ms.saturating_sub(self.bounds.max_age.as_millis() as u64) as i64;
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE boxes SET \
               count = count - (SELECT count(*) FROM mail \
                                WHERE mail.account = boxes.account AND sent_at_ms < ?1), \
               bytes = bytes - (SELECT coalesce(sum(length(body)), 0) FROM mail \
                                WHERE mail.account = boxes.account AND sent_at_ms < ?1)",
            params![cutoff],
        )?;
        let gone = tx.execute("DELETE FROM mail WHERE sent_at_ms < ?1", params![cutoff])?;
        tx.commit()?;
        Ok(gone as u64)
    }
}
