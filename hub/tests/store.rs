//! The store's conformance suite: every case runs on a real database file, in memory and on
//! the cluster's JetStream store (a real nats-server); the cases about the SQLite file itself
//! (damage, migration, bytes in the data dir, kill -9 of the writer) are SQLite's alone.
//! store_jetstream.rs has the JetStream store's own cases.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use hub::store::sqlite::{SqliteStore, SCHEMA_VERSION};
use hub::store::{Bound, Bounds, Enqueued, Mail, Store, StoreError};
use shared::account::{KeyRecord, FIRST_ACCOUNT_ID};
use shared::{BodyKind, SecretKey, UserId};

const NOW: u64 = 1_800_000_000_000;

fn key(n: u8) -> shared::PublicKey {
    SecretKey::from_seed([n; 32]).public()
}

/// The seq of a one-receiver enqueue that stored.
fn stored(answers: &[Enqueued]) -> u64 {
    match answers {
        [Enqueued::Stored(seq)] => *seq,
        _ => panic!("not stored: {answers:?}"),
    }
}

fn mail(text: &str, at: u64) -> Mail {
    Mail {
        from: UserId(7),
        sent_at_ms: at,
        kind: BodyKind::Text,
        body: Bytes::copy_from_slice(text.as_bytes()),
    }
}

use testkit::stores::every;

#[test]
fn accounts_get_stable_ids_above_the_anonymous_range_never_reused() {
    every(Bounds::default(), |store| {
        let alice = store.create_account("alice", key(1), NOW).expect("creates");
        let bob = store.create_account("bob", key(2), NOW).expect("creates");
        assert_eq!(alice.id, UserId(FIRST_ACCOUNT_ID));
        assert_eq!(bob.id, UserId(FIRST_ACCOUNT_ID + 1));
        assert!(matches!(
            store.create_account("alice", key(3), NOW),
            Err(StoreError::NameTaken(name)) if name == "alice"
        ));
        assert_eq!(
            store.account_by_name("alice").expect("reads"),
            Some(alice.clone())
        );
        assert_eq!(
            store.account_by_id(bob.id).expect("reads"),
            Some(bob.clone())
        );
        assert!(store.delete_account(bob.id).expect("deletes"));
        assert!(!store.delete_account(bob.id).expect("deletes"));
        assert_eq!(store.account_by_name("bob").expect("reads"), None);
        let again = store
            .create_account("bob", key(2), NOW)
            .expect("name is free again");
        assert_eq!(
            again.id,
            UserId(FIRST_ACCOUNT_ID + 2),
            "ids are never reused"
        );
    });
}

#[test]
fn directory_matches_globs_in_name_order_and_says_when_limited() {
    every(Bounds::default(), |store| {
        for name in ["carol", "alice", "alfred", "bob", "al"] {
            store.create_account(name, key(1), NOW).expect("creates");
        }
        let names = |pattern: &str, limit| {
            let (found, limited) = store.accounts_matching(pattern, limit).expect("lists");
            (
                found.into_iter().map(|a| a.name).collect::<Vec<_>>(),
                limited,
            )
        };
        assert_eq!(
            names("al*", 10),
            (vec!["al".into(), "alfred".into(), "alice".into()], false)
        );
        assert_eq!(names("al*", 2), (vec!["al".into(), "alfred".into()], true));
        assert_eq!(names("?o?", 10), (vec!["bob".into()], false));
        assert_eq!(names("*", 10).0.len(), 5);
        assert_eq!(
            names("[a-z]*", 10),
            (vec![], false),
            "classes are not offered"
        );
    });
}

#[test]
fn mailboxes_keep_order_until_acknowledged() {
    every(Bounds::default(), |store| {
        let alice = store.create_account("alice", key(1), NOW).expect("creates");
        let bob = store.create_account("bob", key(2), NOW).expect("creates");
        let nobody = UserId(FIRST_ACCOUNT_ID + 99);
        let answers = store
            .enqueue(&[alice.id, nobody, bob.id], &mail("one", NOW))
            .expect("stores");
        let [Enqueued::Stored(one), Enqueued::NoAccount, Enqueued::Stored(_)] = answers[..] else {
            panic!("one answer per receiver, in order: {answers:?}");
        };
        // Seqs ascend per account and are never reused; they need not be dense (JetStream's
        // are a stream's, shared by many mailboxes).
        let mut seq = vec![one];
        for text in ["two", "three"] {
            seq.push(stored(
                &store
                    .enqueue(&[alice.id], &mail(text, NOW))
                    .expect("stores"),
            ));
        }
        assert!(seq[0] < seq[1] && seq[1] < seq[2], "{seq:?}");
        let got = store.mailbox(alice.id, 0, 10, usize::MAX).expect("reads");
        let bodies: Vec<_> = got.iter().map(|s| (s.seq, s.mail.body.clone())).collect();
        assert_eq!(
            bodies,
            vec![
                (seq[0], Bytes::from("one")),
                (seq[1], Bytes::from("two")),
                (seq[2], Bytes::from("three"))
            ]
        );
        assert_eq!(got[0].mail, mail("one", NOW));
        assert_eq!(
            store
                .mailbox(alice.id, seq[0], 1, usize::MAX)
                .expect("reads")[0]
                .seq,
            seq[1]
        );
        // A byte budget: reading stops once the bodies reach it, and the first always comes.
        let seqs = |max_bytes| -> Vec<u64> {
            let got = store.mailbox(alice.id, 0, 10, max_bytes).expect("reads");
            got.iter().map(|s| s.seq).collect()
        };
        assert_eq!(seqs(1), seq[..1], "one message, however small the budget");
        assert_eq!(
            seqs(3),
            seq[..1],
            "\"one\" is 3 bytes: the budget is reached"
        );
        assert_eq!(seqs(4), seq[..2]);
        assert_eq!(seqs(6), seq[..2], "\"one\" + \"two\" reach 6");
        assert_eq!(seqs(7), seq);
        assert_eq!(store.mailbox_size(alice.id).expect("sizes"), (3, 11));
        assert_eq!(store.ack(alice.id, seq[1]).expect("acks").removed, 2);
        assert_eq!(store.ack(alice.id, seq[1]).expect("acks again").removed, 0);
        assert_eq!(store.mailbox_size(alice.id).expect("sizes"), (1, 5));
        assert_eq!(
            store.mailbox(alice.id, 0, 10, usize::MAX).expect("reads")[0].seq,
            seq[2]
        );
        store.ack(alice.id, seq[2]).expect("acks");
        let next = stored(
            &store
                .enqueue(&[alice.id], &mail("four", NOW))
                .expect("stores"),
        );
        assert!(next > seq[2], "sequence numbers are never reused");
        assert_eq!(
            store
                .mailbox(bob.id, 0, 10, usize::MAX)
                .expect("reads")
                .len(),
            1
        );
    });
}

/// What a closing session did not write goes in as one transaction, in order, each mail with
/// its own answer, and within the bounds like any other.
#[test]
fn kept_relays_go_in_together_in_order_within_the_bounds() {
    let bounds = Bounds {
        max_messages: 3,
        ..Bounds::default()
    };
    every(bounds, |store| {
        let alice = store.create_account("alice", key(1), NOW).expect("creates");
        let before = stored(
            &store
                .enqueue(&[alice.id], &mail("before", NOW))
                .expect("stores"),
        );
        let kept = [mail("one", NOW), mail("two", NOW), mail("three", NOW)];
        let answers = store.keep(alice.id, &kept).expect("keeps");
        let [Enqueued::Stored(one), Enqueued::Stored(two), Enqueued::Full(Bound::Messages)] =
            answers[..]
        else {
            panic!("{answers:?}");
        };
        assert!(before < one && one < two, "in order: {answers:?}");
        let got = store.mailbox(alice.id, 0, 10, usize::MAX).expect("reads");
        let bodies: Vec<_> = got.iter().map(|s| &s.mail.body[..]).collect();
        assert_eq!(bodies, vec![&b"before"[..], b"one", b"two"]);
        let gone = UserId(FIRST_ACCOUNT_ID + 99);
        assert_eq!(
            store.keep(gone, &kept[..1]).expect("answers"),
            vec![Enqueued::NoAccount]
        );
    });
}

#[test]
fn full_mailboxes_refuse_by_count_and_by_bytes_and_age_expires() {
    let bounds = Bounds {
        max_messages: 3,
        max_bytes: 10,
        max_age: Duration::from_secs(60),
    };
    every(bounds, |store| {
        let a = store.create_account("a", key(1), NOW).expect("creates").id;
        let b = store.create_account("b", key(2), NOW).expect("creates").id;
        for _ in 0..3 {
            assert!(matches!(
                store.enqueue(&[a], &mail("x", NOW)).expect("stores")[0],
                Enqueued::Stored(_)
            ));
        }
        let answers = store.enqueue(&[a, b], &mail("x", NOW)).expect("answers");
        assert!(
            matches!(
                answers[..],
                [Enqueued::Full(Bound::Messages), Enqueued::Stored(_)]
            ),
            "{answers:?}"
        );
        assert_eq!(
            store
                .enqueue(&[b], &mail("0123456789", NOW))
                .expect("answers"),
            vec![Enqueued::Full(Bound::Bytes)]
        );
        assert_eq!(store.mailbox_size(b).expect("sizes"), (1, 1));
        store
            .enqueue(&[b], &mail("new", NOW + 50_000))
            .expect("stores");
        assert_eq!(
            store.expire(NOW + 61_000).expect("expires"),
            4,
            "3 of a, 1 of b"
        );
        assert_eq!(store.mailbox_size(a).expect("sizes"), (0, 0));
        assert_eq!(store.mailbox_size(b).expect("sizes"), (1, 3));
        assert_eq!(
            store.mailbox(b, 0, 10, usize::MAX).expect("reads")[0]
                .mail
                .body,
            "new"
        );
    });
}

#[test]
fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.db");
    let alice = {
        let store = SqliteStore::open(&path, Bounds::default()).expect("opens");
        let alice = store.create_account("alice", key(1), NOW).expect("creates");
        store
            .enqueue(&[alice.id], &mail("kept", NOW))
            .expect("stores");
        alice
    };
    let store = SqliteStore::open(&path, Bounds::default()).expect("reopens");
    assert_eq!(
        store.account_by_name("alice").expect("reads"),
        Some(alice.clone())
    );
    assert_eq!(
        store.mailbox(alice.id, 0, 10, usize::MAX).expect("reads")[0]
            .mail
            .body,
        "kept"
    );
    let bob = store.create_account("bob", key(2), NOW).expect("creates");
    assert_eq!(bob.id, UserId(alice.id.0 + 1));
}

fn files_contain(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).expect("lists") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("reads");
        if bytes.windows(needle.len()).any(|w| w == needle) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn a_deleted_account_leaves_no_byte_of_its_messages_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("hub.db"), Bounds::default()).expect("opens");
    let alice = store.create_account("alice", key(1), NOW).expect("creates");
    let bob = store.create_account("bob", key(2), NOW).expect("creates");
    let secret = "the-secret-body-of-a-message-for-alice-0123456789";
    for _ in 0..50 {
        store
            .enqueue(&[alice.id], &mail(secret, NOW))
            .expect("stores");
    }
    store
        .enqueue(&[bob.id], &mail("bob-keeps-this", NOW))
        .expect("stores");
    assert!(
        !files_contain(dir.path(), secret.as_bytes()).is_empty(),
        "the check can see stored bodies"
    );
    assert!(store.delete_account(alice.id).expect("deletes"));
    assert_eq!(
        files_contain(dir.path(), secret.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_contain(dir.path(), b"\x05alice").len(),
        0,
        "nor its name"
    );
    assert_eq!(
        store
            .mailbox(bob.id, 0, 10, usize::MAX)
            .expect("reads")
            .len(),
        1
    );
}

#[test]
fn a_damaged_file_a_foreign_database_and_a_newer_schema_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).expect("writes");
    let err = SqliteStore::open(&garbage, Bounds::default()).expect_err("refused");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("garbage.db"), "{err}");

    let good = dir.path().join("hub.db");
    {
        let store = SqliteStore::open(&good, Bounds::default()).expect("opens");
        let a = store.create_account("a", key(1), NOW).expect("creates");
        for _ in 0..200 {
            store
                .enqueue(&[a.id], &mail(&"m".repeat(900), NOW))
                .expect("stores");
        }
    }
    let torn = dir.path().join("torn.db");
    let mut bytes = std::fs::read(&good).expect("reads");
    assert!(bytes.len() > 8 * 4096, "the file spans many pages");
    // Overwrite interior pages (not the header) with noise.
    for b in &mut bytes[4096 * 2..4096 * 6] {
        *b = 0xa5;
    }
    std::fs::write(&torn, &bytes).expect("writes");
    let err = SqliteStore::open(&torn, Bounds::default()).expect_err("refused");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .and_then(|db| db.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;"))
        .expect("writes");
    let err = SqliteStore::open(&foreign, Bounds::default()).expect_err("refused");
    assert!(err.to_string().contains("not a hubbub database"), "{err}");

    rusqlite::Connection::open(&good)
        .and_then(|db| db.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
        .expect("writes");
    let err = SqliteStore::open(&good, Bounds::default()).expect_err("refused");
    assert!(
        matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    assert!(err.to_string().contains("run a newer hub"), "{err}");
}

#[test]
fn fifty_registrations_of_one_name_at_once_have_exactly_one_winner() {
    every(Bounds::default(), |store| {
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50u8)
                .map(|n| s.spawn(move || store.create_account("same", key(n), NOW)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let taken = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::NameTaken(_))))
            .count();
        assert_eq!((winners.len(), taken), (1, 49), "{results:?}");
        assert_eq!(
            store.account_by_name("same").expect("reads").as_ref(),
            Some(winners[0]),
            "the winner is the account stored"
        );
    });
}

/// The child side of the kill test: store one message after another and say so only once
/// `enqueue` has returned.
fn store_until_killed(path: &str) {
    use std::io::Write;
    let store = SqliteStore::open(Path::new(path), Bounds::default()).expect("opens");
    let id = match store.account_by_name("away").expect("reads") {
        Some(account) => account.id,
        None => {
            store
                .create_account("away", key(1), NOW)
                .expect("creates")
                .id
        }
    };
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let answer = store
            .enqueue(&[id], &mail(&format!("m{n}"), NOW))
            .expect("stores");
        let Enqueued::Stored(seq) = answer[0] else {
            panic!("not stored: {answer:?}");
        };
        writeln!(out, "stored {seq} m{n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn kill_9_mid_write_loses_nothing_that_was_answered_stored() {
    use std::io::BufRead;
    if let Ok(path) = std::env::var("HUBBUB_STORE_CHILD") {
        return store_until_killed(&path);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.db");
    let mut answered: Vec<(u64, String)> = Vec::new();
    for round in 0..5 {
        let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "kill_9_mid_write_loses_nothing_that_was_answered_stored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HUBBUB_STORE_CHILD", &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawns");
        let stdout = child.stdout.take().expect("piped");
        let stop_after = 20 + fastrand::usize(..200);
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < stop_after {
            let line = lines
                .next()
                .expect("child writes until killed")
                .expect("utf-8");
            if let Some(rest) = line.strip_prefix("stored ") {
                let (seq, body) = rest.split_once(' ').expect("seq and body");
                answered.push((seq.parse().expect("number"), body.to_owned()));
                seen += 1;
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let store = SqliteStore::open(&path, Bounds::default()).expect("reopens after kill -9");
        let id = store
            .account_by_name("away")
            .expect("reads")
            .expect("exists")
            .id;
        let kept = store
            .mailbox(id, 0, usize::MAX >> 1, usize::MAX)
            .expect("reads");
        let kept: Vec<(u64, String)> = kept
            .into_iter()
            .map(|s| {
                (
                    s.seq,
                    String::from_utf8(s.mail.body.to_vec()).expect("utf-8"),
                )
            })
            .collect();
        // Everything answered is there, in order; a write in flight at the kill may be there too.
        let mut at = 0;
        for want in &answered {
            while at < kept.len() && kept[at].0 < want.0 {
                at += 1;
            }
            assert_eq!(kept.get(at), Some(want), "round {round}: answered but lost");
        }
        let seqs: Vec<u64> = kept.iter().map(|k| k.0).collect();
        assert_eq!(seqs.first(), Some(&1), "round {round}");
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "round {round}: gaps"
        );
        // The next round continues after what survived, which includes everything answered.
        answered = kept;
    }
}

#[test]
fn concurrent_writers_committed_in_groups_each_get_their_own_answers_in_order() {
    every(Bounds::default(), |store| {
        let a = store.create_account("a", key(1), NOW).expect("creates").id;
        let b = store.create_account("b", key(2), NOW).expect("creates").id;
        let per_thread = 50;
        let answers: Vec<Vec<(u64, u64)>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..16)
                .map(|t| {
                    s.spawn(move || {
                        (0..per_thread)
                            .map(|n| {
                                let to = if t % 2 == 0 { vec![a, b] } else { vec![a] };
                                let got = store
                                    .enqueue(&to, &mail(&format!("t{t}-{n}"), NOW))
                                    .expect("stores");
                                assert_eq!(got.len(), to.len(), "one answer per receiver");
                                let Enqueued::Stored(seq) = got[0] else {
                                    panic!("{got:?}");
                                };
                                (seq, n)
                            })
                            .collect()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("no panic"))
                .collect()
        });
        let kept = store.mailbox(a, 0, 10_000, usize::MAX).expect("reads");
        assert_eq!(kept.len(), 16 * per_thread as usize);
        assert!(kept.windows(2).all(|w| w[0].seq < w[1].seq), "ascending");
        let by_seq: std::collections::HashMap<u64, &Bytes> =
            kept.iter().map(|s| (s.seq, &s.mail.body)).collect();
        for (t, mine) in answers.iter().enumerate() {
            // Each writer's messages are stored in the order it wrote them, under the seqs it
            // was told.
            assert!(mine.windows(2).all(|w| w[0].0 < w[1].0), "writer {t}");
            for &(seq, n) in mine {
                assert_eq!(
                    by_seq.get(&seq).copied(),
                    Some(&Bytes::from(format!("t{t}-{n}")))
                );
            }
        }
        assert_eq!(store.mailbox_size(b).expect("sizes").0, 8 * per_thread);
    });
}

fn record(n: u8) -> KeyRecord {
    KeyRecord {
        key: [n; 32],
        signature: shared::Signature([n; 64]),
    }
}

#[test]
fn a_key_record_is_kept_replaced_and_goes_with_its_account() {
    every(Bounds::default(), |store| {
        let alice = store.create_account("alice", key(1), NOW).expect("creates");
        assert_eq!(alice.record, None, "none until published");
        assert!(store.set_record(alice.id, &record(4)).expect("stores"));
        let found = store
            .account_by_name("alice")
            .expect("reads")
            .expect("is there");
        assert_eq!(found.record, Some(record(4)));
        assert!(store.set_record(alice.id, &record(5)).expect("stores"));
        assert_eq!(
            store
                .account_by_id(alice.id)
                .expect("reads")
                .expect("is there")
                .record,
            Some(record(5)),
            "a new record replaces the old"
        );
        let (listed, _) = store.accounts_matching("a*", 10).expect("reads");
        assert_eq!(
            listed[0].record,
            Some(record(5)),
            "the directory carries it"
        );
        assert!(!store
            .set_record(UserId(FIRST_ACCOUNT_ID + 99), &record(6))
            .expect("no such account"));
        assert!(store.delete_account(alice.id).expect("deletes"));
        let again = store.create_account("alice", key(1), NOW).expect("creates");
        assert_eq!(again.record, None, "the record went with the account");
    });
}

#[test]
fn a_deleted_accounts_key_record_leaves_no_byte_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("hub.db"), Bounds::default()).expect("opens");
    let alice = store.create_account("alice", key(1), NOW).expect("creates");
    let marked = KeyRecord {
        key: *b"a-receiver-key-nobody-else-has!!",
        signature: shared::Signature([0x5c; 64]),
    };
    store.set_record(alice.id, &marked).expect("stores");
    assert!(
        !files_contain(dir.path(), &marked.key).is_empty(),
        "the check sees it"
    );
    assert!(store.delete_account(alice.id).expect("deletes"));
    assert_eq!(files_contain(dir.path(), &marked.key), Vec::<String>::new());
}

#[test]
fn a_schema_1_file_is_migrated_and_keeps_its_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.db");
    // The file a hub of schema 1 wrote: its accounts table has no record column, and there
    // is no receipts table (schema 3).
    {
        let store = SqliteStore::open(&path, Bounds::default()).expect("opens");
        store.create_account("alice", key(1), NOW).expect("creates");
    }
    rusqlite::Connection::open(&path)
        .and_then(|db| {
            db.execute_batch(
                "ALTER TABLE accounts DROP COLUMN record; DROP TABLE receipts;
                 PRAGMA user_version = 1;",
            )
        })
        .expect("rewinds to schema 1");
    let store = SqliteStore::open(&path, Bounds::default()).expect("migrates");
    let alice = store
        .account_by_name("alice")
        .expect("reads")
        .expect("kept");
    assert_eq!(alice.record, None);
    assert!(store.set_record(alice.id, &record(4)).expect("stores"));
    drop(store);
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|db| db.query_row("PRAGMA user_version", [], |row| row.get(0)))
        .expect("reads");
    assert_eq!(version, SCHEMA_VERSION);
    let store = SqliteStore::open(&path, Bounds::default()).expect("reopens");
    let alice = store
        .account_by_name("alice")
        .expect("reads")
        .expect("kept");
    assert_eq!(alice.record, Some(record(4)));
}
