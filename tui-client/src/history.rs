//! The client's own log of one account's conversations, kept across restarts in SQLite (the
//! hub's store too: ACID commits, decades of crash testing, nothing to install) at
//! `<data dir>/hubbub/history/ACCOUNT@HUB.sqlite3`. It keeps messages, file entries and what
//! became of our relays; the newest [`MAX_ENTRIES`] entries and at most [`MAX_TEXT_BYTES`] of
//! text, older ones are deleted. `synchronous = NORMAL` in WAL mode: a power cut may lose the
//! last entries written, never the file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime};
use rusqlite::{params, Connection, OptionalExtension, Row};
use shared::UserId;

use crate::app::inbox::{Delivery, Entry, Sender};
use crate::incoming::{Body, FilePlace};
use crate::net::Answer;

/// Entries kept: a year of a busy day's hundreds. Loading and paging read only a page.
pub const MAX_ENTRIES: u64 = 100_000;
/// Text kept, in bytes (texts and file names): bounds the file at about this plus 100 bytes
/// an entry, whatever the texts' sizes (one may be 1 MiB).
pub const MAX_TEXT_BYTES: u64 = 64 << 20;
/// Entries loaded at start and per page when scrolling up past the oldest one shown.
pub const PAGE: usize = 500;
/// Writes between two trims to the bounds.
const TRIM_EVERY: usize = 1_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,   -- chosen by the client, increasing
    at_ms INTEGER NOT NULL,   -- local wall-clock time, ms (naive, as shown)
    sender INTEGER,           -- the sender's id; NULL: us
    receivers TEXT NOT NULL,  -- ours: the receivers' ids, comma-separated
    kind INTEGER NOT NULL,    -- 0 text, 1 file saved, 2 file not saved, 3 file sent
    text TEXT NOT NULL,       -- the text, or the file's name
    size INTEGER,             -- a file's size
    place TEXT,               -- a file's path, or why it was not saved
    delivery TEXT             -- ours: what became of it (see `delivery_text`)
);";

/// One entry as kept: its id, when, and the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its id (increasing).
    pub id: i64,
    /// The entry (its `record` is `Some(id)`).
    pub entry: Entry,
}

/// An open history.
#[derive(Debug)]
pub struct History {
    db: Connection,
    written: usize,
}

/// Where `account`'s history of `hub` is kept: one file per account and hub, since ids and
/// names belong to a hub.
pub fn default_path(hub: &str, account: &str) -> Option<PathBuf> {
    let hub: String = hub
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(
        dirs::data_dir()?
            .join("hubbub")
            .join("history")
            .join(format!("{account}@{hub}.sqlite3")),
    )
}

impl History {
    /// Open (or create) the history at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<History> {
        if let Some(dir) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let db = Connection::open(path)?;
        // Private messages: for the user alone, as the identity file is. SQLite gives its
        // -wal and -shm files the same mode.
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(SCHEMA)?;
        let mut history = History { db, written: 0 };
        history.trim()?;
        Ok(history)
    }

    /// The newest id kept (0 when empty).
    pub fn last_id(&self) -> rusqlite::Result<i64> {
        self.db
            .query_row("SELECT COALESCE(MAX(id), 0) FROM entries", [], |r| r.get(0))
    }

    /// Write these records in one transaction; a record already kept (its delivery changed)
    /// is replaced.
    pub fn write(&mut self, records: &[Record]) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO entries
                 (id, at_ms, sender, receivers, kind, text, size, place, delivery)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in records {
                let e = &r.entry;
                let at = e.day.and_time(e.at).and_utc().timestamp_millis();
                let (sender, receivers) = match &e.from {
                    Sender::Peer(id) => (Some(id.0 as i64), String::new()),
                    Sender::Me { to } => (None, ids_text(to)),
                    Sender::System => continue,
                };
                let (kind, text, size, place) = match &e.body {
                    Body::Text(t) => (0, t.as_str(), None, None),
                    Body::File { name, size, place } => {
                        let (kind, place) = match place {
                            FilePlace::Saved(p) => (1, p.display().to_string()),
                            FilePlace::Failed(why) => (2, why.clone()),
                            FilePlace::Sent(p) => (3, p.display().to_string()),
                        };
                        (kind, name.as_str(), Some(*size as i64), Some(place))
                    }
                };
                let delivery = e.delivery.as_ref().map(delivery_text);
                put.execute(params![
                    r.id, at, sender, receivers, kind, text, size, place, delivery
                ])?;
            }
        }
        tx.commit()?;
        self.written += records.len();
        if self.written >= TRIM_EVERY {
            self.written = 0;
            self.trim()?;
        }
        Ok(())
    }

    /// Up to `n` records older than `before` (than none: the newest), oldest first.
    pub fn before(&self, before: Option<i64>, n: usize) -> rusqlite::Result<Vec<Record>> {
        let mut q = self.db.prepare_cached(
            "SELECT id, at_ms, sender, receivers, kind, text, size, place, delivery
             FROM entries WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = q.query_map(params![before.unwrap_or(i64::MAX), n as i64], record)?;
        let mut out: Vec<Record> = rows.collect::<rusqlite::Result<_>>()?;
        out.reverse();
        Ok(out)
    }

    /// The records from `from` up to (not including) `before`, oldest first; at most `max`
    /// of the newest of them.
    pub fn between(&self, from: i64, before: i64, max: usize) -> rusqlite::Result<Vec<Record>> {
        let mut q = self.db.prepare_cached(
            "SELECT id, at_ms, sender, receivers, kind, text, size, place, delivery
             FROM entries WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = q.query_map(params![from, before, max as i64], record)?;
        let mut out: Vec<Record> = rows.collect::<rusqlite::Result<_>>()?;
        out.reverse();
        Ok(out)
    }

    /// The id of the newest record older than `before` whose text contains `text` (any case
    /// for ASCII letters, as SQLite's `lower` folds them).
    pub fn find_before(&self, text: &str, before: Option<i64>) -> rusqlite::Result<Option<i64>> {
        self.db
            .query_row(
                "SELECT id FROM entries WHERE id < ?1 AND instr(lower(text), lower(?2)) > 0
                 ORDER BY id DESC LIMIT 1",
                params![before.unwrap_or(i64::MAX), text],
                |r| r.get(0),
            )
            .optional()
    }

    /// A receipt for what we queued for `to` up to mailbox seq `through`: mark every kept
    /// relay of ours it reaches, loaded or not (so that an entry paged in later reads
    /// delivered), in one transaction; how many rows changed. Applying one twice changes
    /// nothing the second time.
    pub fn receipt(&mut self, to: UserId, through: u64) -> rusqlite::Result<usize> {
        let tx = self.db.transaction()?;
        let mut changed = Vec::new();
        {
            // Only rows that queued a copy for `to` with its seq can match; the exact check
            // is `Answer::receipt` on each.
            let mut q = tx.prepare_cached(
                "SELECT id, delivery FROM entries WHERE sender IS NULL
                 AND delivery LIKE 'D%' AND instr(delivery, ?1) > 0",
            )?;
            let needle = format!("{}:", to.0);
            let rows = q.query_map(params![needle], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (id, text) = row?;
                if let Delivery::Done(mut answer) = parse_delivery(&text) {
                    if answer.receipt(to, through) {
                        changed.push((id, delivery_text(&Delivery::Done(answer))));
                    }
                }
            }
        }
        {
            let mut put = tx.prepare_cached("UPDATE entries SET delivery = ?2 WHERE id = ?1")?;
            for (id, text) in &changed {
                put.execute(params![id, text])?;
            }
        }
        tx.commit()?;
        Ok(changed.len())
    }

    /// Delete the oldest entries beyond [`MAX_ENTRIES`] and [`MAX_TEXT_BYTES`].
    fn trim(&mut self) -> rusqlite::Result<()> {
        self.db.execute(
            "DELETE FROM entries WHERE id < (SELECT MIN(id) FROM
                (SELECT id FROM entries ORDER BY id DESC LIMIT ?1))",
            params![MAX_ENTRIES as i64],
        )?;
        self.db.execute(
            "DELETE FROM entries WHERE id <= (SELECT id FROM
                (SELECT id, SUM(length(CAST(text AS BLOB))) OVER (ORDER BY id DESC) AS total
                 FROM entries) WHERE total > ?1 ORDER BY id DESC LIMIT 1)",
            params![MAX_TEXT_BYTES as i64],
        )?;
        Ok(())
    }
}

fn record(row: &Row<'_>) -> rusqlite::Result<Record> {
    let id: i64 = row.get(0)?;
    let at: NaiveDateTime = DateTime::from_timestamp_millis(row.get(1)?)
        .unwrap_or_default()
        .naive_utc();
    let sender: Option<i64> = row.get(2)?;
    let receivers: String = row.get(3)?;
    let kind: i64 = row.get(4)?;
    let text: String = row.get(5)?;
    let size: Option<i64> = row.get(6)?;
    let place: Option<String> = row.get(7)?;
    let delivery: Option<String> = row.get(8)?;
    let from = match sender {
        Some(id) => Sender::Peer(UserId(id as u64)),
        None => Sender::Me {
            to: parse_ids(&receivers),
        },
    };
    let place = place.unwrap_or_default();
    let body = match kind {
        0 => Body::Text(text),
        k => Body::File {
            name: text,
            size: size.unwrap_or(0) as u64,
            place: match k {
                1 => FilePlace::Saved(place.into()),
                2 => FilePlace::Failed(place),
                _ => FilePlace::Sent(place.into()),
            },
        },
    };
    Ok(Record {
        id,
        entry: Entry {
            at: at.time(),
            day: at.date(),
            from,
            body,
            delivery: delivery.as_deref().map(parse_delivery),
            record: Some(id),
        },
    })
}

fn ids_text(ids: &[UserId]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    ids.join(",")
}

fn parse_ids(text: &str) -> Vec<UserId> {
    text.split(',')
        .filter_map(|s| s.parse().ok())
        .map(UserId)
        .collect()
}

/// `id:seq,…` when every queued copy has its seq (a hub of version 5), else `id,…`.
fn queued_text(a: &Answer) -> String {
    if a.seqs.len() != a.queued.len() {
        return ids_text(&a.queued);
    }
    let pairs: Vec<String> = a
        .queued
        .iter()
        .zip(&a.seqs)
        .map(|(id, seq)| format!("{}:{seq}", id.0))
        .collect();
    pairs.join(",")
}

/// The queued ids and, if each has one, their seqs (`queued_text` read back; rows written
/// before receipts have none).
fn parse_queued(text: &str) -> (Vec<UserId>, Vec<u64>) {
    let (mut ids, mut seqs) = (Vec::new(), Vec::new());
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (id, seq) = match item.split_once(':') {
            Some((id, seq)) => (id, seq.parse::<u64>().ok()),
            None => (item, None),
        };
        let Ok(id) = id.parse() else { continue };
        ids.push(UserId(id));
        seqs.extend(seq);
    }
    if seqs.len() != ids.len() {
        seqs.clear();
    }
    (ids, seqs)
}

/// `P` waiting, `E` sent elsewhere, `C` came in the clear, `A` + why an alert, `F` + why, or
/// `D` + delivered, then `;` + each list
/// (queued, unknown, dropped, full, reached) as ids; a queued id is `id:seq` when the hub
/// gave its mailbox seq, so that a receipt after a restart finds the entry.
fn delivery_text(d: &Delivery) -> String {
    match d {
        Delivery::Pending => "P".into(),
        Delivery::Elsewhere => "E".into(),
        Delivery::Clear => "C".into(),
        Delivery::Alert(why) => format!("A{why}"),
        Delivery::Failed(why) => format!("F{why}"),
        Delivery::Done(a) => format!(
            "D{};{};{};{};{};{}",
            a.delivered,
            queued_text(a),
            ids_text(&a.unknown),
            ids_text(&a.dropped),
            ids_text(&a.full),
            ids_text(&a.reached)
        ),
    }
}

fn parse_delivery(text: &str) -> Delivery {
    let (tag, rest) = text.split_at(text.len().min(1));
    match tag {
        "E" => Delivery::Elsewhere,
        "C" => Delivery::Clear,
        "A" => Delivery::Alert(rest.to_owned()),
        "F" => Delivery::Failed(rest.to_owned()),
        "D" => {
            let mut parts = rest.split(';');
            let delivered = parts.next().and_then(|d| d.parse().ok()).unwrap_or(0);
            let (queued, seqs) = parse_queued(parts.next().unwrap_or(""));
            let mut list = || parse_ids(parts.next().unwrap_or(""));
            Delivery::Done(Answer {
                delivered,
                queued,
                seqs,
                unknown: list(),
                dropped: list(),
                full: list(),
                reached: list(),
            })
        }
        // Closed before the hub answered: the answer will never come to this client.
        _ => Delivery::Failed("the client closed before the hub answered".into()),
    }
}

#[cfg(test)]
mod tests;
