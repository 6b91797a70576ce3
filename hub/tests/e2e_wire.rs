//! Protocol version 4 over real TCP: an account publishes its end-to-end receiver key, the
//! directory hands it out with the account key, a record the account key did not sign is
//! refused, and clients of version 3 never meet what they cannot decode.

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use shared::account::{KeyRecord, Who};
use shared::conn::{ConnError, Connection};
use shared::{BodyKind, ClientMsg, ErrorKind, HubMsg, RequestId, SecretKey, Signature, UserId};
use testkit::accounts::{login, new_account, register};
use testkit::{recv_skipping, request, TestHub};

/// The record `key` signs for `account` and receiver key `receiver`.
fn signed_record(key: &SecretKey, account: UserId, receiver: [u8; 32]) -> KeyRecord {
    let identity = SigningKey::from_bytes(&key.seed());
    let signature = e2e::keys::sign_key_record(&identity, account, &e2e::ReceiverPublic(receiver));
    KeyRecord {
        key: receiver,
        signature: Signature(signature),
    }
}

fn publish(req: u32, record: KeyRecord) -> ClientMsg {
    ClientMsg::PublishKey {
        req: RequestId(req),
        record,
    }
}

fn refused(answer: &HubMsg) -> ErrorKind {
    match answer {
        HubMsg::Error {
            req: Some(_), kind, ..
        } => *kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A connection that speaks version 3 at most, as a client from before keys does.
async fn old_client(hub: &TestHub) -> Connection {
    Connection::connect_speaking(hub.addr, shared::ACCOUNTS_VERSION)
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_published_record_is_in_the_directory_with_the_account_key() {
    let hub = TestHub::start().await;
    let (mut alice, key, me) = new_account(hub.addr, "alice").await;
    let mut bob = hub.connect().await;
    let before = bob.lookup_entry(Who::Name("alice".into())).await;
    let entry = before.expect("looks up").expect("alice is there");
    assert_eq!(entry.key, key.public(), "the key alice logs in with");
    assert_eq!(entry.record, None, "nothing published yet");

    let record = signed_record(&key, me.user_id, [0x44; 32]);
    alice.publish_key(record).await.expect("published");
    let entry = bob
        .lookup_entry(Who::Id(me.user_id))
        .await
        .expect("looks up")
        .expect("alice is there");
    assert_eq!(entry.record, Some(record));
    assert!(entry.online);
    match request(
        &mut bob,
        ClientMsg::Users {
            req: RequestId(5),
            pattern: "al*".into(),
        },
    )
    .await
    {
        HubMsg::Entries { users, limited, .. } => {
            assert!(!limited);
            assert_eq!(users.len(), 1);
            assert_eq!(users[0].record, Some(record));
        }
        other => panic!("expected Entries at version 4, got {other:?}"),
    }
    // A later record replaces the first.
    let second = signed_record(&key, me.user_id, [0x55; 32]);
    alice.publish_key(second).await.expect("published");
    let entry = bob
        .lookup_entry(Who::Name("alice".into()))
        .await
        .expect("looks up")
        .expect("alice is there");
    assert_eq!(entry.record, Some(second));
    hub.stop().await;
}

#[tokio::test]
async fn a_record_with_a_bad_signature_is_refused() {
    let hub = TestHub::start().await;
    let (mut alice, key, me) = new_account(hub.addr, "alice").await;
    let (_bob, _, bob) = new_account(hub.addr, "bob").await;

    let stranger = SecretKey::generate();
    let forged = signed_record(&stranger, me.user_id, [0x44; 32]);
    assert_eq!(
        refused(&request(&mut alice, publish(1, forged)).await),
        ErrorKind::BadKeyRecord,
        "signed by another key"
    );
    let moved = signed_record(&key, bob.user_id, [0x44; 32]);
    assert_eq!(
        refused(&request(&mut alice, publish(2, moved)).await),
        ErrorKind::BadKeyRecord,
        "signed for another account"
    );
    let mut changed = signed_record(&key, me.user_id, [0x44; 32]);
    changed.key[0] ^= 1;
    assert_eq!(
        refused(&request(&mut alice, publish(3, changed)).await),
        ErrorKind::BadKeyRecord,
        "a key other than the signed one"
    );
    let mut anon = hub.connect().await;
    let good = signed_record(&key, me.user_id, [0x44; 32]);
    match request(&mut anon, publish(4, good)).await {
        HubMsg::Error {
            req: Some(_),
            kind: ErrorKind::WrongState,
            text,
        } => assert!(text.contains("log in"), "{text}"),
        other => panic!("an anonymous connection has no key to publish: {other:?}"),
    }
    let entry = anon
        .lookup_entry(Who::Name("alice".into()))
        .await
        .expect("looks up")
        .expect("alice is there");
    assert_eq!(entry.record, None, "nothing refused was stored");
    hub.stop().await;
}

#[tokio::test]
async fn publish_key_on_a_version_3_connection_is_a_protocol_error() {
    let hub = TestHub::start().await;
    let key = SecretKey::generate();
    let mut old = old_client(&hub).await;
    let me = register(&mut old, &key, "alice").await;
    let record = signed_record(&key, me.user_id, [0x44; 32]);
    assert!(matches!(
        old.publish_key(record).await,
        Err(ConnError::NeedsVersion { needed: 4, .. })
    ));
    old.send(&publish(1, record)).await.expect("send");
    match recv_skipping(&mut old).await {
        HubMsg::Error {
            req: None,
            kind: ErrorKind::Malformed,
            text,
        } => assert!(text.contains("protocol version 4"), "{text}"),
        other => panic!("{other:?}"),
    }
    hub.stop().await;
}

#[tokio::test]
async fn an_old_client_gets_a_sealed_body_as_bytes() {
    let hub = TestHub::start().await;
    let (mut alice, _, _) = new_account(hub.addr, "alice").await;
    let bob_key = SecretKey::generate();
    let mut bob = old_client(&hub).await;
    let bob_id = register(&mut bob, &bob_key, "bob").await.user_id;
    let (mut carol, _, carol_id) = new_account(hub.addr, "carol").await;
    let sealed = |req| ClientMsg::Relay {
        req: RequestId(req),
        to: vec![bob_id, carol_id.user_id],
        kind: BodyKind::Sealed,
        body: Bytes::from_static(b"\x01envelope"),
    };
    match request(&mut alice, sealed(1)).await {
        HubMsg::Posted { delivered: 2, .. } => {}
        other => panic!("{other:?}"),
    }
    match recv_skipping(&mut bob).await {
        HubMsg::Message { kind, body, .. } => {
            assert_eq!(kind, BodyKind::Bytes, "version 3 knows no Sealed");
            assert_eq!(&body[..], b"\x01envelope");
        }
        other => panic!("{other:?}"),
    }
    match recv_skipping(&mut carol).await {
        HubMsg::Message { kind, .. } => assert_eq!(kind, BodyKind::Sealed),
        other => panic!("{other:?}"),
    }
    // Through the mailbox too: stored as sent, pushed in the words of the session's version.
    drop(bob);
    testkit::eventually("bob to leave", || hub.inspector.connections() == 2).await;
    match request(&mut alice, sealed(2)).await {
        HubMsg::Posted { queued, .. } => {
            assert_eq!(
                queued.iter().map(|k| k.to).collect::<Vec<_>>(),
                vec![bob_id]
            )
        }
        other => panic!("{other:?}"),
    }
    let mut bob = old_client(&hub).await;
    login(&mut bob, &bob_key, "bob").await;
    match recv_skipping(&mut bob).await {
        HubMsg::Stored { kind, .. } => assert_eq!(kind, BodyKind::Bytes),
        other => panic!("{other:?}"),
    }
    let mut new_bob = hub.connect().await;
    login(&mut new_bob, &bob_key, "bob").await;
    match recv_skipping(&mut new_bob).await {
        HubMsg::Stored { kind, .. } => assert_eq!(kind, BodyKind::Sealed),
        other => panic!("{other:?}"),
    }
    hub.stop().await;
}

#[tokio::test]
async fn an_old_client_relays_plaintext_to_a_new_one() {
    let hub = TestHub::start().await;
    let (mut alice, _, me) = new_account(hub.addr, "alice").await;
    let mut old = old_client(&hub).await;
    let old_id = old.user_id();
    match request(
        &mut old,
        ClientMsg::Relay {
            req: RequestId(1),
            to: vec![me.user_id],
            kind: BodyKind::Text,
            body: Bytes::from_static(b"plain hello"),
        },
    )
    .await
    {
        HubMsg::Routed { delivered: 1, .. } => {}
        other => panic!("{other:?}"),
    }
    match recv_skipping(&mut alice).await {
        HubMsg::Message { from, kind, body } => {
            assert_eq!(from, old_id);
            assert_eq!(kind, BodyKind::Text);
            assert_eq!(&body[..], b"plain hello");
        }
        other => panic!("{other:?}"),
    }
    // Its directory answers are the version-3 ones, without keys.
    match request(
        &mut old,
        ClientMsg::Lookup {
            req: RequestId(2),
            who: Who::Name("alice".into()),
        },
    )
    .await
    {
        HubMsg::Account {
            account: Some(info),
            ..
        } => assert_eq!(info.user_id, me.user_id),
        other => panic!("{other:?}"),
    }
    hub.stop().await;
}

#[tokio::test]
async fn another_session_of_version_3_gets_what_a_session_sealed_as_bytes() {
    let hub = TestHub::start().await;
    let (mut alice, key, _) = new_account(hub.addr, "alice").await;
    let (_bob, _, bob) = new_account(hub.addr, "bob").await;
    let mut old_alice = old_client(&hub).await;
    login(&mut old_alice, &key, "alice").await;
    let mut new_alice = hub.connect().await;
    login(&mut new_alice, &key, "alice").await;
    let relay = ClientMsg::Relay {
        req: RequestId(1),
        to: vec![bob.user_id],
        kind: BodyKind::Sealed,
        body: Bytes::from_static(b"\x01envelope"),
    };
    match request(&mut alice, relay).await {
        HubMsg::Posted { delivered: 1, .. } => {}
        other => panic!("{other:?}"),
    }
    for (session, want) in [
        (&mut old_alice, BodyKind::Bytes),
        (&mut new_alice, BodyKind::Sealed),
    ] {
        match recv_skipping(session).await {
            HubMsg::Outgoing { kind, body, .. } => {
                assert_eq!(kind, want);
                assert_eq!(&body[..], b"\x01envelope");
            }
            other => panic!("{other:?}"),
        }
    }
    hub.stop().await;
}
