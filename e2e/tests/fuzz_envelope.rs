//! Fuzzing of the envelope decoder (run by scripts/fuzz.sh): arbitrary bytes and mutations of
//! real envelopes never panic the decoder or opener, and a changed envelope never opens.

use std::sync::OnceLock;

use e2e::{seal, Envelope, Kind, ReceiverSecret};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use shared::UserId;

const SENDER: UserId = UserId((1 << 32) + 7);

fn receivers() -> &'static [(UserId, ReceiverSecret)] {
    static KEYS: OnceLock<Vec<(UserId, ReceiverSecret)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..4u64)
            .map(|i| (UserId((1 << 32) + 100 + i), ReceiverSecret::generate()))
            .collect()
    })
}

fn identity() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn envelope(plaintext: &[u8], count: usize) -> Vec<u8> {
    let to: Vec<_> = receivers()[..count]
        .iter()
        .map(|(id, secret)| (*id, secret.public()))
        .collect();
    seal(SENDER, &identity(), Kind::Text, &to, plaintext).expect("a small envelope seals")
}

/// Decode and try to open as every receiver; true if any open succeeded.
fn opens(bytes: &[u8]) -> bool {
    let Ok(envelope) = Envelope::decode(bytes) else {
        return false;
    };
    let _ = envelope.receivers().count();
    receivers().iter().any(|(id, secret)| {
        envelope
            .open(SENDER, &identity().verifying_key(), *id, secret)
            .is_ok()
    })
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Set(i, b) => bytes[i % len] = b,
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Remove(i) => {
            bytes.remove(i % len);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_never_open(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        prop_assert!(!opens(&bytes));
    }

    #[test]
    fn a_mutated_envelope_never_opens(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        count in 1usize..=4,
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let original = envelope(&plaintext, count);
        let mut bytes = original.clone();
        for m in &mutations {
            if !bytes.is_empty() {
                apply(&mut bytes, m);
            }
        }
        prop_assume!(bytes != original);
        prop_assert!(!opens(&bytes));
    }

    #[test]
    fn a_valid_header_over_random_rest_never_opens(
        count in 1u8..=255,
        rest in proptest::collection::vec(any::<u8>(), 0..30_000),
    ) {
        let mut bytes = vec![1u8, 0];
        bytes.extend_from_slice(&SENDER.0.to_le_bytes());
        bytes.push(count);
        bytes.extend_from_slice(&rest);
        prop_assert!(!opens(&bytes));
    }
}
