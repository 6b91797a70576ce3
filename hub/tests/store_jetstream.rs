//! The JetStream store's own cases (store.rs runs the shared ones on it): a nats-server
//! SIGKILLed right after a write, two stores (as two hubs) on one server, deletion on the
//! server's disk, a server that is down, and the calls from a blocking task of the hub's
//! runtime.

use std::collections::HashSet;
use std::path::Path;

use bytes::Bytes;
use hub::store::jetstream::JetStreamStore;
use hub::store::{Bounds, Enqueued, Mail, Receipt, Store, StoreError};
use shared::account::{KeyRecord, FIRST_ACCOUNT_ID};
use shared::{BodyKind, SecretKey, UserId};
use testkit::blocking::wait_until;
use testkit::nats::NatsServer;

const NOW: u64 = 1_800_000_000_000;

fn key(n: u8) -> shared::PublicKey {
    SecretKey::from_seed([n; 32]).public()
}

fn mail(from: UserId, text: &str) -> Mail {
    Mail {
        from,
        sent_at_ms: NOW,
        kind: BodyKind::Text,
        body: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn connect(nats: &NatsServer, prefix: &str) -> JetStreamStore {
    JetStreamStore::connect(&nats.url(), Bounds::default(), prefix).expect("connects")
}

fn stored(answers: &[Enqueued]) -> u64 {
    match answers {
        [Enqueued::Stored(seq)] => *seq,
        _ => panic!("not stored: {answers:?}"),
    }
}

fn bodies(store: &dyn Store, id: UserId) -> Vec<(u64, String)> {
    store
        .mailbox(id, 0, usize::MAX >> 1, usize::MAX)
        .expect("reads")
        .into_iter()
        .map(|s| {
            (
                s.seq,
                String::from_utf8(s.mail.body.to_vec()).expect("utf-8"),
            )
        })
        .collect()
}

#[test]
fn a_nats_server_killed_right_after_enqueue_returned_keeps_what_was_stored() {
    let mut nats = NatsServer::start();
    let alice = connect(&nats, "kill")
        .create_account("alice", key(1), NOW)
        .expect("creates");
    let mut answered = Vec::new();
    for round in 0..5 {
        let store = connect(&nats, "kill");
        for n in 0..(1 + fastrand::usize(..50)) {
            let text = format!("r{round}-m{n}");
            let seq = stored(
                &store
                    .enqueue(&[alice.id], &mail(UserId(7), &text))
                    .expect("stores"),
            );
            answered.push((seq, text));
        }
        // SIGKILL the moment the last enqueue was answered.
        nats.kill();
        nats.restart();
        let after = connect(&nats, "kill");
        assert_eq!(
            after.account_by_name("alice").expect("reads"),
            Some(alice.clone()),
            "round {round}"
        );
        assert_eq!(
            bodies(&after, alice.id),
            answered,
            "round {round}: answered but lost"
        );
        assert_eq!(
            after.mailbox_size(alice.id).expect("sizes").0,
            answered.len() as u64
        );
        // The store that saw the server go reconnects by itself.
        wait_until("the old store to reach the restarted server", || {
            store.mailbox_size(alice.id).ok()
        });
    }
}

#[test]
fn two_stores_on_one_server_see_each_others_accounts_and_mailboxes() {
    let nats = NatsServer::start();
    let (one, two) = (connect(&nats, "shared"), connect(&nats, "shared"));
    let alice = one.create_account("alice", key(1), NOW).expect("creates");
    assert_eq!(
        two.account_by_name("alice").expect("reads"),
        Some(alice.clone())
    );
    assert_eq!(
        two.account_by_id(alice.id).expect("reads"),
        Some(alice.clone())
    );
    assert!(matches!(
        two.create_account("alice", key(2), NOW),
        Err(StoreError::NameTaken(_))
    ));
    let bob = two.create_account("bob", key(2), NOW).expect("creates");
    assert_eq!(bob.id, UserId(alice.id.0 + 1), "one counter for both");
    let record = KeyRecord {
        key: [4; 32],
        signature: shared::Signature([4; 64]),
    };
    assert!(two.set_record(alice.id, &record).expect("stores"));
    let (listed, more) = one.accounts_matching("*", 10).expect("lists");
    assert_eq!((listed.len(), more), (2, false));
    assert_eq!(listed[0].record, Some(record), "one sees what two wrote");

    let seq = stored(
        &one.enqueue(&[bob.id], &mail(alice.id, "hi bob"))
            .expect("stores"),
    );
    assert_eq!(bodies(&two, bob.id), vec![(seq, "hi bob".to_owned())]);
    let acked = two.ack(bob.id, seq).expect("acks");
    let receipt = Receipt {
        sender: alice.id,
        receiver: bob.id,
        through: seq,
    };
    assert_eq!(acked.receipts, vec![receipt]);
    assert_eq!(one.receipts(alice.id).expect("reads"), vec![receipt]);
    assert_eq!(one.mailbox_size(bob.id).expect("sizes"), (0, 0));
    assert!(one.delete_account(bob.id).expect("deletes"));
    assert_eq!(two.account_by_id(bob.id).expect("reads"), None);
    assert_eq!(
        two.enqueue(&[bob.id], &mail(alice.id, "late"))
            .expect("answers"),
        vec![Enqueued::NoAccount]
    );
}

#[test]
fn ids_allocated_concurrently_from_two_stores_never_collide() {
    let nats = NatsServer::start();
    let stores = [connect(&nats, "ids"), connect(&nats, "ids")];
    let ids: Vec<UserId> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..20u8)
            .map(|n| {
                let store = &stores[n as usize % 2];
                s.spawn(move || {
                    (0..5)
                        .map(|m| {
                            let name = format!("u{n}-{m}");
                            store
                                .create_account(&name, key(n), NOW)
                                .expect("creates")
                                .id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("no panic"))
            .collect()
    });
    let distinct: HashSet<UserId> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 100, "no id handed out twice");
    assert!(ids.iter().all(|id| id.0 >= FIRST_ACCOUNT_ID));
    for id in ids {
        let account = stores[0].account_by_id(id).expect("reads").expect("kept");
        assert_eq!(
            stores[1].account_by_name(&account.name).expect("reads"),
            Some(account)
        );
    }
}

/// Every file under `dir` (the server's JetStream store) that holds `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("lists") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
            {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn a_deleted_account_leaves_no_byte_of_its_messages_in_the_nats_store() {
    let nats = NatsServer::start();
    let store = connect(&nats, "erase");
    let alice = store
        .create_account("alice-the-erased", key(1), NOW)
        .expect("creates");
    let bob = store.create_account("bob", key(2), NOW).expect("creates");
    let secret = "the-secret-body-of-a-message-for-alice-0123456789";
    for _ in 0..50 {
        store
            .enqueue(&[alice.id], &mail(bob.id, secret))
            .expect("stores");
    }
    store
        .enqueue(&[bob.id], &mail(alice.id, "bob-keeps-this"))
        .expect("stores");
    let marked = KeyRecord {
        key: *b"a-receiver-key-nobody-else-has!!",
        signature: shared::Signature([0x5c; 64]),
    };
    store.set_record(alice.id, &marked).expect("stores");
    let name = b"alice-the-erased";
    for needle in [secret.as_bytes(), &marked.key[..], &name[..]] {
        assert!(
            !files_containing(nats.store_dir(), needle).is_empty(),
            "the check sees it"
        );
    }
    assert!(store.delete_account(alice.id).expect("deletes"));
    assert_eq!(
        files_containing(nats.store_dir(), secret.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(nats.store_dir(), &marked.key),
        Vec::<String>::new(),
        "its record"
    );
    assert_eq!(
        files_containing(nats.store_dir(), name),
        Vec::<String>::new(),
        "its name"
    );
    assert_eq!(bodies(&store, bob.id).len(), 1, "bob's mail stays");
    assert_eq!(store.account_by_name("bob").expect("reads"), Some(bob));
}

#[test]
fn a_nats_server_that_is_down_is_a_clear_error_not_a_hang() {
    let mut nats = NatsServer::start();
    let store = connect(&nats, "down");
    let alice = store.create_account("alice", key(1), NOW).expect("creates");
    nats.kill();
    let err = store
        .enqueue(&[alice.id], &mail(UserId(7), "nobody takes this"))
        .expect_err("no server");
    assert!(matches!(err, StoreError::Nats(_)), "{err}");
    let err = store.account_by_id(alice.id).expect_err("no server");
    assert!(err.to_string().contains("NATS"), "{err}");
    let err = JetStreamStore::connect(&nats.url(), Bounds::default(), "down").expect_err("down");
    assert!(
        matches!(&err, StoreError::Unreachable { url, .. } if *url == nats.url()),
        "{err}"
    );
    assert!(err.to_string().contains("cannot reach NATS"), "{err}");
    let err = JetStreamStore::connect("nats://127.0.0.1:1", Bounds::default(), "a.b")
        .expect_err("a bad prefix");
    assert!(err.to_string().contains("prefix"), "{err}");
}

/// The hub calls the store from `spawn_blocking` and may drop it on a runtime thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_works_from_the_hubs_blocking_tasks_and_drops_inside_a_runtime() {
    let nats = NatsServer::start();
    let url = nats.url();
    let store = tokio::task::spawn_blocking(move || {
        JetStreamStore::connect(&url, Bounds::default(), "blocking").expect("connects")
    })
    .await
    .expect("joins");
    let store = std::sync::Arc::new(store);
    let tasks: Vec<_> = (0..8u8)
        .map(|n| {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let id = store
                    .create_account(&format!("u{n}"), key(n), NOW)
                    .expect("creates")
                    .id;
                stored(
                    &store
                        .enqueue(&[id], &mail(UserId(7), "hi"))
                        .expect("stores"),
                )
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins");
    }
    let (listed, _) = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.accounts_matching("u*", 100).expect("lists")
    })
    .await
    .expect("joins");
    assert_eq!(listed.len(), 8);
    drop(store);
}

/// The number of consumers on the mail streams, asked of the server directly.
fn readers(nats: &NatsServer, prefix: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.expect("connects");
        let js = async_nats::jetstream::new(client);
        let mut readers = 0;
        let mut streams = 0;
        let mut names = js.stream_names();
        while let Some(name) = futures::StreamExt::next(&mut names).await {
            let name = name.expect("a stream name");
            if name.starts_with(&format!("{prefix}_mail_")) {
                let mut stream = js.get_stream(&name).await.expect("the mail stream");
                readers += stream
                    .info()
                    .await
                    .expect("stream info")
                    .state
                    .consumer_count;
                streams += 1;
            }
        }
        assert!(streams > 1, "the mail is in several streams");
        readers
    })
}

/// Mailboxes are read through short-lived consumers, never one per account: however many
/// mailboxes were read, none is left on the server afterwards.
#[test]
fn every_mailbox_read_leaves_no_consumer_behind() {
    let nats = NatsServer::start();
    let store = connect(&nats, "readers");
    let ids: Vec<UserId> = (0..40u8)
        .map(|n| {
            let id = store
                .create_account(&format!("u{n}"), key(n), NOW)
                .expect("creates")
                .id;
            store
                .enqueue(&[id], &mail(UserId(7), "hi"))
                .expect("stores");
            id
        })
        .collect();
    for &id in &ids {
        assert_eq!(bodies(&store, id).len(), 1);
        let seq = store.mailbox(id, 0, 1, usize::MAX).expect("reads")[0].seq;
        assert_eq!(store.ack(id, seq).expect("acks").removed, 1);
    }
    store.expire(NOW).expect("expires");
    assert!(store.delete_account(ids[0]).expect("deletes"));
    let deadline = std::time::Instant::now() + testkit::WAIT;
    let mut left = readers(&nats, "readers");
    while left > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{left} readers still on the server after {:?}",
            testkit::WAIT
        );
        // Polled by hand, not with `testkit::blocking::wait_until`: `readers` runs a
        // runtime of its own, which cannot be entered from inside that one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        left = readers(&nats, "readers");
    }
}

/// Two hubs, each with its own store on one JetStream: an account registered on one logs in on
/// the other and finds there what was sent to it through the first; its name is taken on both.
/// The stores are made inside the test's runtime, as an async `main` would.
#[tokio::test]
async fn two_hubs_on_one_jetstream_share_accounts_and_mailboxes() {
    use shared::HubMsg;
    use testkit::accounts::{login, register, try_register};
    let nats = NatsServer::start();
    let store = |prefix| -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(
            JetStreamStore::connect(&nats.url(), Bounds::default(), prefix).expect("connects"),
        )
    };
    let one = testkit::TestHub::with_store(testkit::test_config(), store("hubs")).await;
    let two = testkit::TestHub::with_store(testkit::test_config(), store("hubs")).await;
    let key = SecretKey::generate();
    let mut bob = one.connect().await;
    let registered = register(&mut bob, &key, "bob").await;
    drop(bob);
    testkit::eventually("bob to leave hub one", || one.inspector.connections() == 0).await;
    let mut alice = two.connect().await;
    match testkit::relay(&mut alice, &[registered.user_id], &b"through two"[..]).await {
        HubMsg::Posted { queued, .. } => {
            assert_eq!(
                queued.iter().map(|k| k.to).collect::<Vec<_>>(),
                vec![registered.user_id]
            );
        }
        other => panic!("{other:?}"),
    }
    let mut bob = two.connect().await;
    let again = login(&mut bob, &key, "bob").await;
    assert_eq!(
        again.user_id, registered.user_id,
        "the same account on the other hub"
    );
    assert_eq!(again.waiting, 1);
    let mut other = one.connect().await;
    match try_register(&mut other, &SecretKey::generate(), "bob").await {
        HubMsg::Error {
            kind: shared::ErrorKind::NameTaken,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    one.stop().await;
    two.stop().await;
}
