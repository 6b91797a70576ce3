use shared::account::KeyRecord;
use shared::SecretKey;

use super::*;
use crate::identity::Identity;
use crate::secure::{Keys, Trust, PINS_FILE};

const ALICE: UserId = UserId(1 << 32);
const BOB: UserId = UserId((1 << 32) + 1);

fn identity(name: &str, seed: u8) -> Identity {
    Identity {
        name: name.into(),
        key: SecretKey::from_seed([seed; 32]),
    }
}

fn entry(id: UserId, who: &Identity, record: Option<KeyRecord>) -> AccountEntry {
    AccountEntry {
        user_id: id,
        name: who.name.clone(),
        online: true,
        key: who.key.public(),
        record,
    }
}

fn relay(to: Vec<UserId>, body: Vec<u8>) -> Relay {
    Relay {
        req: RequestId(1),
        to,
        kind: BodyKind::Text,
        body: Bytes::from(body),
    }
}

fn sealing(dir: &std::path::Path) -> Sealing {
    let trust = Trust::load(&dir.join(PINS_FILE)).expect("no pins");
    let mut sealing = Sealing::default();
    let keys = Keys::new(ALICE, &identity("alice", 1));
    sealing.start(Some(Opener::new(keys, trust)));
    sealing
}

#[test]
fn a_relay_is_held_for_lookups_then_sealed_clear_refused_or_unsealable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = sealing(dir.path());
    let b = identity("bob", 2);
    let bob_record = Keys::new(BOB, &b).record();
    match s.outgoing(relay(vec![BOB], b"hi".to_vec())) {
        Outgoing::Lookup(ids) => assert_eq!(ids, vec![BOB]),
        other => panic!("bob's entry is needed first: {other:?}"),
    }
    s.learn(entry(BOB, &b, Some(bob_record)));
    let held = s.release_out();
    assert_eq!(held.len(), 1);
    match s.outgoing(held.into_iter().next().expect("one")) {
        Outgoing::Send(r) => {
            assert_eq!(r.kind, BodyKind::Sealed);
            assert!(!r.body.windows(2).any(|w| w == b"hi"));
        }
        other => panic!("sealed: {other:?}"),
    }
    match s.outgoing(relay(vec![BOB, UserId(7)], b"hi".to_vec())) {
        Outgoing::Clear(r, why) => {
            assert_eq!(r.kind, BodyKind::Text);
            assert!(why.contains("#7 is anonymous"), "{why}");
        }
        other => panic!("an anonymous receiver cannot read an envelope: {other:?}"),
    }
    let too_big = vec![0u8; shared::MAX_BODY_LEN];
    assert!(matches!(
        s.outgoing(relay(vec![BOB], too_big)),
        Outgoing::Unsealable(..)
    ));
    let impostor = identity("bob", 3);
    s.learn(entry(
        BOB,
        &impostor,
        Some(Keys::new(BOB, &impostor).record()),
    ));
    match s.outgoing(relay(vec![BOB], b"hi".to_vec())) {
        Outgoing::Refused(_, id, why) => {
            assert_eq!(id, BOB);
            assert!(why.contains("tui-client trust bob"), "{why}");
        }
        other => panic!("a changed key: {other:?}"),
    }
}

#[test]
fn without_keys_everything_goes_as_it_is() {
    let mut s = Sealing::default();
    assert!(matches!(
        s.outgoing(relay(vec![BOB], b"hi".to_vec())),
        Outgoing::Send(r) if r.kind == BodyKind::Text
    ));
    assert!(s.open(BOB, b"x").is_err());
}

#[test]
fn logged_in_without_keys_every_relay_to_an_account_is_marked_clear_with_the_reason() {
    let mut s = Sealing::default();
    s.start_without_keys("the hub predates end-to-end keys (protocol version 3)".into());
    match s.outgoing(relay(vec![BOB], b"hi".to_vec())) {
        Outgoing::Clear(r, why) => {
            assert_eq!(r.kind, BodyKind::Text);
            assert!(why.contains("predates"), "{why}");
        }
        other => panic!("sent in the clear, and said: {other:?}"),
    }
    // Anonymous ids only: nothing could have been encrypted for them anyway.
    assert!(matches!(
        s.outgoing(relay(vec![UserId(3)], b"hi".to_vec())),
        Outgoing::Send(_)
    ));
    // Not logged in at all: as before.
    let mut anonymous = Sealing::default();
    anonymous.start(None);
    assert!(matches!(
        anonymous.outgoing(relay(vec![BOB], b"hi".to_vec())),
        Outgoing::Send(_)
    ));
}
