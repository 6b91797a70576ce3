//! Receiver keys: the X25519 key pair an account publishes for envelopes, the signature that
//! binds it to the account's ed25519 identity key, and the fingerprint people compare.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, Serializable};
use sha2::{Digest, Sha256};

/// The domain string that starts the bytes an account signs to publish its receiver key.
pub const KEY_RECORD_DOMAIN: &[u8] = b"hubbub e2e receiver key v1\0";

/// The HKDF `info` that derives an account's receiver key from its identity seed.
pub const RECEIVER_DERIVE_INFO: &[u8] = b"hubbub e2e receiver key from identity v1";

/// The domain string hashed before an identity key to make its fingerprint.
pub const FINGERPRINT_DOMAIN: &[u8] = b"hubbub fingerprint v1\0";

/// An X25519 public key that envelopes are wrapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReceiverPublic(pub [u8; 32]);

/// The X25519 private key that opens envelopes; kept by the client alone.
#[derive(Clone)]
pub struct ReceiverSecret {
    secret: <X25519HkdfSha256 as hpke::Kem>::PrivateKey,
    public: ReceiverPublic,
}

impl ReceiverSecret {
    /// A fresh key pair from the operating system's random source.
    pub fn generate() -> ReceiverSecret {
        let mut seed = [0u8; 32];
        rand_core::TryRngCore::try_fill_bytes(&mut rand_core::OsRng, &mut seed)
            .expect("the OS random source works");
        ReceiverSecret::from_bytes(&seed)
    }

    /// The receiver key of the account whose ed25519 identity seed is `seed`: HKDF-SHA256
    /// (RFC 5869) with no salt, the seed as input key material and [`RECEIVER_DERIVE_INFO`]
    /// as info, 32 bytes out. Deterministic, so an identity file holds both keys in its one
    /// seed and old identity files need no change; the two keys are independent to anyone
    /// without the seed.
    pub fn derive_from_identity(seed: &[u8; 32]) -> ReceiverSecret {
        let mut bytes = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, seed)
            .expand(RECEIVER_DERIVE_INFO, &mut bytes)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        ReceiverSecret::from_bytes(&bytes)
    }

    /// The key whose 32 secret bytes are `bytes` (as [`ReceiverSecret::to_bytes`] gives them).
    /// Every 32-byte string is a valid X25519 secret (it is clamped when used).
    pub fn from_bytes(bytes: &[u8; 32]) -> ReceiverSecret {
        let secret = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .expect("any 32 bytes are an X25519 secret");
        let public = X25519HkdfSha256::sk_to_pk(&secret);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&public.to_bytes());
        ReceiverSecret {
            secret,
            public: ReceiverPublic(pk),
        }
    }

    /// The 32 secret bytes, for the client's key file.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&self.secret.to_bytes());
        bytes
    }

    /// The public half.
    pub fn public(&self) -> ReceiverPublic {
        self.public
    }

    pub(crate) fn hpke_secret(&self) -> &<X25519HkdfSha256 as hpke::Kem>::PrivateKey {
        &self.secret
    }
}

impl std::fmt::Debug for ReceiverSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiverSecret(public {:?})", self.public)
    }
}

/// The bytes an account signs to publish `key`: the domain string, the account's id (8 bytes,
/// little endian) and the key. Binding the id means a record cannot be moved to another account.
pub fn key_record_bytes(account: shared::UserId, key: &ReceiverPublic) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(KEY_RECORD_DOMAIN.len() + 8 + 32);
    bytes.extend_from_slice(KEY_RECORD_DOMAIN);
    bytes.extend_from_slice(&account.0.to_le_bytes());
    bytes.extend_from_slice(&key.0);
    bytes
}

/// Sign `key` as `account`'s receiver key with its identity key.
pub fn sign_key_record(
    identity: &SigningKey,
    account: shared::UserId,
    key: &ReceiverPublic,
) -> [u8; 64] {
    identity.sign(&key_record_bytes(account, key)).to_bytes()
}

/// Whether `signature` is `identity`'s signature publishing `key` for `account`.
pub fn verify_key_record(
    identity: &VerifyingKey,
    account: shared::UserId,
    key: &ReceiverPublic,
    signature: &[u8; 64],
) -> bool {
    identity
        .verify_strict(
            &key_record_bytes(account, key),
            &Signature::from_bytes(signature),
        )
        .is_ok()
}

/// An identity key's fingerprint: the first 16 bytes of SHA-256 over the domain string and the
/// key, as 8 groups of 4 hex digits (`3f2a 9c01 …`). Two people reading them aloud compare
/// 128 bits, beyond any search for a look-alike key.
pub fn fingerprint(identity: &VerifyingKey) -> String {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_DOMAIN)
        .chain_update(identity.as_bytes())
        .finalize();
    digest[..16]
        .chunks(2)
        .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_eight_groups_of_four_and_differ_per_key() {
        let a = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let b = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let fa = fingerprint(&a);
        assert_eq!(fa.split(' ').count(), 8);
        assert!(fa.split(' ').all(|g| g.len() == 4));
        assert_ne!(fa, fingerprint(&b));
        assert_eq!(fa, fingerprint(&a));
    }

    #[test]
    fn a_key_record_verifies_for_its_account_and_key_only() {
        let identity = SigningKey::from_bytes(&[7; 32]);
        let key = ReceiverSecret::generate().public();
        let other = ReceiverSecret::generate().public();
        let sig = sign_key_record(&identity, shared::UserId(1 << 32), &key);
        let vk = identity.verifying_key();
        assert!(verify_key_record(&vk, shared::UserId(1 << 32), &key, &sig));
        assert!(!verify_key_record(
            &vk,
            shared::UserId((1 << 32) + 1),
            &key,
            &sig
        ));
        assert!(!verify_key_record(
            &vk,
            shared::UserId(1 << 32),
            &other,
            &sig
        ));
    }

    #[test]
    fn a_derived_receiver_key_is_the_same_for_one_seed_and_differs_per_seed() {
        let a = ReceiverSecret::derive_from_identity(&[1; 32]);
        assert_eq!(
            a.public(),
            ReceiverSecret::derive_from_identity(&[1; 32]).public()
        );
        assert_ne!(
            a.public(),
            ReceiverSecret::derive_from_identity(&[2; 32]).public()
        );
        assert_ne!(a.to_bytes(), [1; 32], "not the seed itself");
    }

    #[test]
    fn a_secret_round_trips_through_its_bytes() {
        let secret = ReceiverSecret::generate();
        let again = ReceiverSecret::from_bytes(&secret.to_bytes());
        assert_eq!(again.public(), secret.public());
    }
}
