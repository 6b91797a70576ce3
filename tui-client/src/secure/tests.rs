use shared::SecretKey;

use super::*;

fn identity(name: &str, seed: u8) -> Identity {
    Identity {
        name: name.into(),
        key: SecretKey::from_seed([seed; 32]),
    }
}

fn entry(keys: &Keys, who: &Identity, record: Option<KeyRecord>) -> AccountEntry {
    AccountEntry {
        user_id: keys.me,
        name: who.name.clone(),
        online: true,
        key: who.key.public(),
        record,
    }
}

const ALICE: UserId = UserId(1 << 32);
const BOB: UserId = UserId((1 << 32) + 1);

#[test]
fn a_sealed_body_opens_for_its_receiver_and_for_the_sender_itself() {
    let (a, b) = (identity("alice", 1), identity("bob", 2));
    let (alice, bob) = (Keys::new(ALICE, &a), Keys::new(BOB, &b));
    let bob_key = ReceiverPublic(bob.record().key);
    let envelope = alice
        .seal(&BodyKind::Text, b"the marker", &[(BOB, bob_key)])
        .expect("seals");
    assert!(!envelope.windows(10).any(|w| w == b"the marker"));
    let alice_vk = identity_key(&entry(&alice, &a, None)).expect("a key");
    let opened = bob.open(ALICE, &alice_vk, &envelope).expect("opens");
    assert_eq!(opened, (BodyKind::Text, Bytes::from_static(b"the marker")));
    assert_eq!(
        alice.open(ALICE, &alice_vk, &envelope).expect("opens").1,
        Bytes::from_static(b"the marker"),
        "the sender is a receiver too"
    );
    let bob_vk = identity_key(&entry(&bob, &b, None)).expect("a key");
    assert_eq!(
        bob.open(ALICE, &bob_vk, &envelope),
        Err(E2eError::BadSignature),
        "only under the sender's key"
    );
}

#[test]
fn a_file_travels_with_its_name() {
    let (a, b) = (identity("alice", 1), identity("bob", 2));
    let (alice, bob) = (Keys::new(ALICE, &a), Keys::new(BOB, &b));
    let kind = BodyKind::File {
        name: "secret-plans.txt".into(),
    };
    let envelope = alice
        .seal(
            &kind,
            b"\x00\xffdata",
            &[(BOB, ReceiverPublic(bob.record().key))],
        )
        .expect("seals");
    assert!(!envelope.windows(6).any(|w| w == b"secret"));
    let alice_vk = identity_key(&entry(&alice, &a, None)).expect("a key");
    let opened = bob.open(ALICE, &alice_vk, &envelope).expect("opens");
    assert_eq!(opened, (kind, Bytes::from_static(b"\x00\xffdata")));
}

#[test]
fn first_sight_pins_and_a_changed_key_is_refused_until_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(PINS_FILE);
    let b = identity("bob", 2);
    let bob = Keys::new(BOB, &b);
    let mut trust = Trust::load(&path).expect("no file is no pins");
    let first = entry(&bob, &b, Some(bob.record()));
    assert_eq!(trust.state(&first).expect("a key"), PinState::New);
    let checked = trust.check(&first).expect("first sight is trusted");
    assert_eq!(checked.receiver, Some(ReceiverPublic(bob.record().key)));
    assert!(path.exists(), "the pin is saved at once");
    let mut again = Trust::load(&path).expect("reads");
    assert_eq!(again.state(&first).expect("a key"), PinState::Pinned);

    let b2 = identity("bob", 3);
    let bob2 = Keys::new(BOB, &b2);
    let changed = entry(&bob2, &b2, Some(bob2.record()));
    match again.check(&changed) {
        Err(TrustError::Changed { name, pinned, .. }) => {
            assert_eq!(name, "bob");
            assert_eq!(pinned, bob.fingerprint());
        }
        other => panic!("a changed key must be refused: {other:?}"),
    }
    assert!(matches!(again.state(&changed), Ok(PinState::Changed(_))));
    let text = again.check(&changed).expect_err("still").to_string();
    assert!(text.contains("tui-client trust bob"), "{text}");
    again.trust(&changed).expect("trusts");
    let after = Trust::load(&path).expect("reads");
    assert_eq!(after.state(&changed).expect("a key"), PinState::Pinned);
}

#[test]
fn a_record_not_signed_by_the_account_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut trust = Trust::load(&dir.path().join(PINS_FILE)).expect("no pins");
    let b = identity("bob", 2);
    let bob = Keys::new(BOB, &b);
    let mallory = Keys::new(BOB, &identity("mallory", 9));
    let forged = entry(&bob, &b, Some(mallory.record()));
    assert!(matches!(
        trust.check(&forged),
        Err(TrustError::BadRecord { .. })
    ));
}
