//! Property tests of the envelope: every receiver of any set opens it; any single flipped bit,
//! a stranger, a forged signature and a re-attributed sender are refused.

use std::sync::OnceLock;

use e2e::{seal, E2eError, Envelope, Kind, ReceiverPublic, ReceiverSecret};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use shared::UserId;

const SENDER: UserId = UserId((1 << 32) + 1000);

/// 256 receivers (ids from 2^32 on) made once: HPKE key generation is not what is under test.
fn pool() -> &'static [(UserId, ReceiverSecret)] {
    static POOL: OnceLock<Vec<(UserId, ReceiverSecret)>> = OnceLock::new();
    POOL.get_or_init(|| {
        (0..256u64)
            .map(|i| (UserId((1 << 32) + i), ReceiverSecret::generate()))
            .collect()
    })
}

fn identity() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn publics(indices: &[usize]) -> Vec<(UserId, ReceiverPublic)> {
    indices
        .iter()
        .map(|&i| (pool()[i].0, pool()[i].1.public()))
        .collect()
}

/// Open `bytes` as receiver `index` of the pool, from [`SENDER`] signed by [`identity`].
fn open_as(bytes: &[u8], index: usize) -> Result<Vec<u8>, E2eError> {
    let (me, secret) = &pool()[index];
    let envelope = Envelope::decode(bytes)?;
    let opened = envelope.open(SENDER, &identity().verifying_key(), *me, secret)?;
    Ok(opened.plaintext)
}

/// A receiver set of 1..=max distinct pool indices below 255 (index 255 stays a stranger).
fn receiver_set(max: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..255).collect::<Vec<_>>(), 1..=max).prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_receiver_of_any_set_of_1_to_255_opens_it(
        set in receiver_set(255),
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let bytes = seal(SENDER, &identity(), Kind::Text, &publics(&set), &plaintext).expect("a valid envelope seals");
        prop_assert_eq!(bytes.len(), plaintext.len() + e2e::overhead(set.len()));
        let envelope = Envelope::decode(&bytes).expect("a sealed envelope decodes");
        let mut sorted: Vec<UserId> = set.iter().map(|&i| pool()[i].0).collect();
        sorted.sort();
        prop_assert_eq!(envelope.receivers().collect::<Vec<_>>(), sorted);
        for &i in &set {
            prop_assert_eq!(open_as(&bytes, i).expect("a receiver opens it"), plaintext.clone());
        }
        prop_assert_eq!(open_as(&bytes, 255), Err(E2eError::NotAReceiver));
    }
}

/// Which part of the envelope a flipped bit lands in.
#[derive(Debug, Clone, Copy)]
enum Part {
    Header,
    Stanzas,
    Ciphertext,
    Signature,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_flipped_bit_is_refused(
        set in receiver_set(8),
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        part in prop_oneof![
            Just(Part::Header), Just(Part::Stanzas), Just(Part::Ciphertext), Just(Part::Signature)
        ],
        offset in any::<usize>(),
        bit in 0u8..8,
    ) {
        let mut bytes = seal(SENDER, &identity(), Kind::Text, &publics(&set), &plaintext).expect("a valid envelope seals");
        let stanzas_end = 11 + 88 * set.len();
        let sig_start = bytes.len() - 64;
        let (start, end) = match part {
            Part::Header => (0, 11),
            Part::Stanzas => (11, stanzas_end),
            Part::Ciphertext => (stanzas_end, sig_start),
            Part::Signature => (sig_start, bytes.len()),
        };
        let at = start + offset % (end - start);
        bytes[at] ^= 1 << bit;
        for &i in &set {
            prop_assert!(open_as(&bytes, i).is_err(), "receiver {i} opened a changed envelope");
        }
    }

    #[test]
    fn a_stranger_cannot_open_it_even_under_a_receivers_id(
        set in receiver_set(8),
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let bytes = seal(SENDER, &identity(), Kind::Text, &publics(&set), &plaintext).expect("a valid envelope seals");
        let envelope = Envelope::decode(&bytes).expect("a sealed envelope decodes");
        let stranger = &pool()[255].1;
        let vk = identity().verifying_key();
        prop_assert_eq!(envelope.open(SENDER, &vk, pool()[255].0, stranger), Err(E2eError::NotAReceiver));
        // A stranger who claims a receiver's id still lacks that receiver's secret.
        let claimed = pool()[set[0]].0;
        prop_assert_eq!(envelope.open(SENDER, &vk, claimed, stranger), Err(E2eError::Decrypt));
    }

    #[test]
    fn a_forged_sender_signature_is_refused(
        set in receiver_set(8),
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        forger_seed in any::<[u8; 32]>(),
        junk in proptest::collection::vec(any::<u8>(), 64),
    ) {
        prop_assume!(forger_seed != [42; 32]);
        let forger = SigningKey::from_bytes(&forger_seed);
        // The forger (a hub, or another account) seals a well-formed envelope naming SENDER.
        let mut bytes = seal(SENDER, &forger, Kind::Text, &publics(&set), &plaintext).expect("a valid envelope seals");
        prop_assert_eq!(open_as(&bytes, set[0]), Err(E2eError::BadSignature));
        let sig_start = bytes.len() - 64;
        bytes[sig_start..].copy_from_slice(&junk);
        prop_assert_eq!(open_as(&bytes, set[0]), Err(E2eError::BadSignature));
    }
}

#[test]
fn an_envelope_relayed_as_from_someone_else_is_refused() {
    let bytes = seal(SENDER, &identity(), Kind::Text, &publics(&[0]), b"hi")
        .expect("a valid envelope seals");
    let envelope = Envelope::decode(&bytes).expect("a sealed envelope decodes");
    let other = UserId(SENDER.0 + 1);
    assert_eq!(
        envelope.open(
            other,
            &identity().verifying_key(),
            pool()[0].0,
            &pool()[0].1
        ),
        Err(E2eError::WrongSender {
            claimed: SENDER,
            from: other
        })
    );
}

#[test]
fn repeated_or_too_many_receivers_are_refused_at_seal() {
    let twice = publics(&[3, 3]);
    assert_eq!(
        seal(SENDER, &identity(), Kind::Text, &twice, b"x"),
        Err(E2eError::ReceiverOrder)
    );
    let all: Vec<usize> = (0..256).collect();
    assert_eq!(
        seal(SENDER, &identity(), Kind::Text, &publics(&all), b"x"),
        Err(E2eError::ReceiverCount(256))
    );
    assert_eq!(
        seal(SENDER, &identity(), Kind::Text, &[], b"x"),
        Err(E2eError::ReceiverCount(0))
    );
}

#[test]
fn the_largest_plaintext_fits_the_body_limit_and_one_more_byte_does_not() {
    for n in [1usize, 255] {
        let set: Vec<usize> = (0..n).collect();
        let max = e2e::max_plaintext(n);
        let bytes = seal(
            SENDER,
            &identity(),
            Kind::File,
            &publics(&set),
            &vec![7; max],
        )
        .expect("the largest plaintext seals");
        assert_eq!(bytes.len(), shared::MAX_BODY_LEN);
        assert_eq!(
            open_as(&bytes, n - 1).expect("a receiver opens it").len(),
            max
        );
        assert!(matches!(
            seal(
                SENDER,
                &identity(),
                Kind::File,
                &publics(&set),
                &vec![7; max + 1]
            ),
            Err(E2eError::TooLong { .. })
        ));
    }
}

#[test]
fn a_file_name_travels_inside_the_ciphertext() {
    let plaintext = e2e::file_plaintext("secret-plans.txt", b"data").expect("a short name fits");
    let bytes = seal(SENDER, &identity(), Kind::File, &publics(&[1]), &plaintext)
        .expect("a valid envelope seals");
    assert!(!bytes.windows(12).any(|w| w == b"secret-plans"));
    let opened = open_as(&bytes, 1).expect("a receiver opens it");
    assert_eq!(
        e2e::split_file(&opened),
        Some(("secret-plans.txt", &b"data"[..]))
    );
}
