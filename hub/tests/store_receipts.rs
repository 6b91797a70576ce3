//! The store's receipts (part of the conformance suite of `store.rs`): an ack keeps one per
//! sender account and receiver, raised by later acks, bounded per sender, forgotten when
//! given or with either account; on a real database file, in memory and on JetStream.

use bytes::Bytes;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Enqueued, Mail, Receipt, Store, MAX_RECEIPTS};
use shared::{BodyKind, SecretKey, UserId};
use testkit::stores::every;

const NOW: u64 = 1_800_000_000_000;

fn mail(from: UserId, text: &str) -> Mail {
    Mail {
        from,
        sent_at_ms: NOW,
        kind: BodyKind::Text,
        body: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn both(case: impl Fn(&dyn Store)) {
    every(Bounds::default(), case);
}

fn account(store: &dyn Store, name: &str, n: u8) -> UserId {
    let key = SecretKey::from_seed([n; 32]).public();
    store.create_account(name, key, NOW).expect("creates").id
}

fn put(store: &dyn Store, from: UserId, to: UserId, text: &str) -> u64 {
    match store.enqueue(&[to], &mail(from, text)).expect("stores")[..] {
        [Enqueued::Stored(seq)] => seq,
        ref other => panic!("not stored: {other:?}"),
    }
}

#[test]
fn an_ack_names_each_account_sender_with_its_highest_seq_and_keeps_it() {
    both(|store| {
        let (alice, bob, carol) = (
            account(store, "alice", 1),
            account(store, "bob", 2),
            account(store, "carol", 3),
        );
        let a1 = put(store, alice, bob, "one");
        let c1 = put(store, carol, bob, "two");
        let a2 = put(store, alice, bob, "three");
        let _anonymous = put(store, UserId(7), bob, "four");
        let a3 = put(store, alice, bob, "five");
        assert_eq!((a1, c1, a2, a3), (1, 2, 3, 5));
        let acked = store.ack(bob, 4).expect("acks");
        assert_eq!(acked.removed, 4);
        let receipt = |sender, through| Receipt {
            sender,
            receiver: bob,
            through,
        };
        assert_eq!(
            acked.receipts,
            vec![receipt(alice, 3), receipt(carol, 2)],
            "one per account sender, its highest seq acked; the anonymous one has none"
        );
        assert_eq!(
            store.receipts(alice).expect("reads"),
            vec![receipt(alice, 3)]
        );
        assert_eq!(
            store.receipts(carol).expect("reads"),
            vec![receipt(carol, 2)]
        );
        assert_eq!(
            store.ack(bob, 4).expect("acks").receipts,
            vec![],
            "nothing new"
        );
        let later = store.ack(bob, 5).expect("acks");
        assert_eq!(later.receipts, vec![receipt(alice, 5)]);
        assert_eq!(
            store.receipts(alice).expect("reads"),
            vec![receipt(alice, 5)],
            "a later ack raises the kept receipt"
        );
    });
}

#[test]
fn forgetting_a_given_receipt_keeps_a_higher_one_and_deletion_takes_them_all() {
    both(|store| {
        let (alice, bob, carol) = (
            account(store, "alice", 1),
            account(store, "bob", 2),
            account(store, "carol", 3),
        );
        let one = put(store, alice, bob, "one");
        let given = store.ack(bob, one).expect("acks").receipts;
        let two = put(store, alice, bob, "two");
        store.ack(bob, two).expect("acks");
        store.forget_receipts(&given).expect("forgets");
        assert_eq!(
            store.receipts(alice).expect("reads"),
            vec![Receipt {
                sender: alice,
                receiver: bob,
                through: two
            }],
            "the receipt given was for the first seq; the one for the second stays"
        );
        let now = store.receipts(alice).expect("reads");
        store.forget_receipts(&now).expect("forgets");
        assert_eq!(store.receipts(alice).expect("reads"), vec![]);

        let three = put(store, alice, bob, "three");
        let four = put(store, alice, carol, "four");
        store.ack(bob, three).expect("acks");
        store.ack(carol, four).expect("acks");
        assert_eq!(store.receipts(alice).expect("reads").len(), 2);
        assert!(store.delete_account(bob).expect("deletes"));
        assert_eq!(
            store.receipts(alice).expect("reads"),
            vec![Receipt {
                sender: alice,
                receiver: carol,
                through: four
            }],
            "a deleted receiver's receipts go"
        );
        assert!(store.delete_account(alice).expect("deletes"));
        assert_eq!(
            store.receipts(alice).expect("reads"),
            vec![],
            "and a sender's"
        );
    });
}

#[test]
fn a_sender_keeps_at_most_max_receipts_the_oldest_going_first() {
    both(|store| {
        let alice = account(store, "alice", 1);
        let receivers: Vec<UserId> = (0..=MAX_RECEIPTS)
            .map(|n| account(store, &format!("r{n}"), 2))
            .collect();
        for &to in &receivers {
            let seq = put(store, alice, to, "hi");
            store.ack(to, seq).expect("acks");
        }
        let kept = store.receipts(alice).expect("reads");
        assert_eq!(kept.len() as u64, MAX_RECEIPTS);
        assert!(
            !kept.iter().any(|r| r.receiver == receivers[0]),
            "the first receipt kept is the one that went"
        );
        assert!(kept
            .iter()
            .any(|r| r.receiver == receivers[MAX_RECEIPTS as usize]));
    });
}

#[test]
fn a_file_of_schema_2_gets_the_receipts_table_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.db");
    {
        let store = SqliteStore::open(&path, Bounds::default()).expect("opens");
        account(&store, "alice", 1);
    }
    let db = rusqlite::Connection::open(&path).expect("opens");
    // Schema 2: the accounts' key records, no receipts yet.
    db.execute_batch("DROP TABLE receipts; PRAGMA user_version = 2;")
        .expect("makes it a schema 2 file");
    drop(db);
    let store = SqliteStore::open(&path, Bounds::default()).expect("opens a schema 2 file");
    let alice = store
        .account_by_name("alice")
        .expect("reads")
        .expect("kept")
        .id;
    let bob = account(&store, "bob", 2);
    put(&store, alice, bob, "hi");
    store.ack(bob, 1).expect("acks");
    assert_eq!(store.receipts(alice).expect("reads").len(), 1);
}
