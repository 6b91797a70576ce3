//! Accounts: names, keys, signatures and the directory entries both sides agree on.
//!
//! An account is a name bound to an ed25519 public key and a stable `UserId` at or above
//! [`FIRST_ACCOUNT_ID`]. The hub stores public keys only. Every signature a client makes is
//! over [`signed_bytes`], which names its [`Purpose`] and the connection's challenge, so a
//! signature made for one connection or one purpose is worthless anywhere else.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::id::UserId;

/// Longest account name, in bytes (names are ASCII).
pub const MAX_ACCOUNT_NAME_LEN: usize = 32;

/// The lowest account id. Anonymous connections are numbered from 1 and stay below it, so an id
/// says which kind of user it is, and an account's id never meets an anonymous one.
pub const FIRST_ACCOUNT_ID: u64 = 1 << 32;

/// Bytes in a connection's login challenge.
pub const CHALLENGE_LEN: usize = 32;

/// Most accounts one [`crate::ClientMsg::Users`] answer lists; more set its `limited` flag.
pub const MAX_DIRECTORY_RESULTS: usize = 100;

/// Longest pattern a [`crate::ClientMsg::Users`] may give, in bytes.
pub const MAX_PATTERN_LEN: usize = 64;

/// An account as the directory shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    /// Its stable id.
    pub user_id: UserId,
    /// Its canonical name.
    pub name: String,
    /// Whether a session of it is connected to the hub right now.
    pub online: bool,
}

/// Since version 4. An account's end-to-end receiver key and the account key's signature over
/// it, as the account publishes it ([`crate::ClientMsg::PublishKey`]) and the directory shows
/// it. What is signed is `e2e::keys::key_record_bytes` (docs/E2E.md): the hub checks it
/// against the account's key before keeping it, and every client checks it again.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub struct KeyRecord {
    /// The X25519 public key envelopes to the account are wrapped to: a byte string of 32.
    #[serde(with = "wire")]
    pub key: [u8; 32],
    /// The account key's ed25519 signature over the record bytes.
    pub signature: Signature,
}

/// Since version 4. An account as the directory shows it to a client of version 4: its entry
/// of version 3, its identity key (which a client pins) and its receiver key record, if it
/// published one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccountEntry {
    /// Its stable id.
    pub user_id: UserId,
    /// Its canonical name.
    pub name: String,
    /// Whether a session of it is connected to the hub right now.
    pub online: bool,
    /// The account's ed25519 key, the one it logs in with.
    pub key: PublicKey,
    /// Its end-to-end receiver key, if it published one.
    pub record: Option<KeyRecord>,
}

impl AccountEntry {
    /// The version-3 view of this entry.
    pub fn info(&self) -> AccountInfo {
        AccountInfo {
            user_id: self.user_id,
            name: self.name.clone(),
            online: self.online,
        }
    }
}

/// Someone present, as the presence of version 3 shows them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Their id.
    pub user_id: UserId,
    /// The account's name; `None` for an anonymous connection.
    pub name: Option<String>,
}

/// A copy of a relay kept in an account's mailbox, as [`crate::HubMsg::Posted`] names it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The account whose mailbox keeps it.
    pub to: UserId,
    /// Its seq in that mailbox, as [`crate::HubMsg::Stored`] and [`crate::HubMsg::Delivered`]
    /// will name it.
    pub seq: u64,
}

/// Whom a [`crate::ClientMsg::Lookup`] asks about.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// An account's name, in any case.
    Name(String),
    /// An account's id.
    Id(UserId),
}

/// Why a name is not an account name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty name.
    #[error("a name needs at least one character")]
    Empty,
    /// Longer than [`MAX_ACCOUNT_NAME_LEN`].
    #[error("a name has at most {MAX_ACCOUNT_NAME_LEN} characters, this one has {0}")]
    TooLong(usize),
    /// A character outside `[a-z0-9_.-]` (after case folding).
    #[error("a name is made of a-z, 0-9, '_', '.' and '-'; {0:?} is not one of them")]
    BadChar(char),
}

/// Fold `name` to its canonical form (ASCII lower case) and check it: 1 to
/// [`MAX_ACCOUNT_NAME_LEN`] characters of `[a-z0-9_.-]`. `Alice` and `alice` are one name.
pub fn canonical_name(name: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let count = name.chars().count();
    if count > MAX_ACCOUNT_NAME_LEN {
        return Err(NameError::TooLong(count));
    }
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            match c {
                'a'..='z' | '0'..='9' | '_' | '.' | '-' => Ok(c),
                _ => Err(NameError::BadChar(c)),
            }
        })
        .collect()
}

/// An ed25519 public key: on the wire a byte string of exactly 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// An ed25519 signature: on the wire a byte string of exactly 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex(&self.0))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = String;

    /// 64 hex digits, as [`PublicKey`]'s `Display` writes them.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() != 64 || !s.is_ascii() {
            return Err(format!(
                "a public key is 64 hex digits, got {} characters",
                s.chars().count()
            ));
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("{:?} is not a hex byte", &s[2 * i..2 * i + 2]))?;
        }
        Ok(PublicKey(key))
    }
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyRecord {{ key: {}, signature: {:?} }}",
            hex(&self.key),
            self.signature
        )
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex(&self.0))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a signature is for. Each has its own domain string in [`signed_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Create an account (proves the registrant holds the key).
    Register,
    /// Log this connection in.
    Login,
    /// Delete the account.
    Delete,
}

impl Purpose {
    /// The domain string that starts the signed bytes.
    pub fn domain(self) -> &'static [u8] {
        match self {
            Purpose::Register => b"hubbub register v1\0",
            Purpose::Login => b"hubbub login v1\0",
            Purpose::Delete => b"hubbub delete v1\0",
        }
    }
}

/// The bytes a client signs: the purpose's domain string, the connection's challenge, one byte
/// of name length, the canonical name, the account's public key, then the connection's
/// channel binding. Binding the key makes a registration's signature prove possession;
/// binding the challenge makes every signature good for one connection only; over TLS the
/// `binding` (the session's RFC 9266 `tls-exporter` value, [`crate::tls::BINDING_LEN`]
/// bytes) makes it good for one TLS session only, so a man in the middle who relays the
/// challenge cannot use the signature on his own session to the hub. Over plain TCP the
/// binding is empty and the bytes are those of every version before TLS. Everything before
/// the binding has a fixed or prefixed length, so no two inputs give the same bytes.
pub fn signed_bytes(
    purpose: Purpose,
    challenge: &[u8; CHALLENGE_LEN],
    name: &str,
    key: &PublicKey,
    binding: &[u8],
) -> Vec<u8> {
    let domain = purpose.domain();
    let mut bytes =
        Vec::with_capacity(domain.len() + CHALLENGE_LEN + 1 + name.len() + 32 + binding.len());
    bytes.extend_from_slice(domain);
    bytes.extend_from_slice(challenge);
    // Canonical names are at most 32 bytes.
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(&key.0);
    bytes.extend_from_slice(binding);
    bytes
}

/// A private key, held by the client alone.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> SecretKey {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the OS random source works");
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The key whose 32-byte seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, for the key file.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Sign [`signed_bytes`] for `purpose` on the connection whose challenge is `challenge`.
    pub fn sign(&self, purpose: Purpose, challenge: &[u8; CHALLENGE_LEN], name: &str) -> Signature {
        self.sign_bound(purpose, challenge, name, &[])
    }

    /// Sign as [`SecretKey::sign`] on a connection whose channel binding is `binding` (empty
    /// over plain TCP); see [`signed_bytes`].
    pub fn sign_bound(
        &self,
        purpose: Purpose,
        challenge: &[u8; CHALLENGE_LEN],
        name: &str,
        binding: &[u8],
    ) -> Signature {
        let bytes = signed_bytes(purpose, challenge, name, &self.public(), binding);
        Signature(self.0.sign(&bytes).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public())
    }
}

/// Check that `signature` is `key`'s over [`signed_bytes`] with the connection's `binding`
/// (empty over plain TCP). Strict: non-canonical signatures and weak keys are refused.
pub fn verify(
    key: &PublicKey,
    signature: &Signature,
    purpose: Purpose,
    challenge: &[u8; CHALLENGE_LEN],
    name: &str,
    binding: &[u8],
) -> bool {
    let Ok(verifying) = VerifyingKey::from_bytes(&key.0) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
    let bytes = signed_bytes(purpose, challenge, name, key, binding);
    verifying.verify_strict(&bytes, &signature).is_ok()
}

pub(crate) mod wire {
    //! Fixed-size byte strings: a postcard byte string whose length must be exact.
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        struct Exact<const N: usize>;
        impl<const N: usize> Visitor<'_> for Exact<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a byte string of exactly {N} bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<[u8; N], E> {
                v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        d.deserialize_bytes(Exact::<N>)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        wire::deserialize::<D, 32>(d).map(PublicKey)
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        wire::deserialize::<D, 64>(d).map(Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_and_refuse() {
        assert_eq!(canonical_name("Alice_1.x-y").as_deref(), Ok("alice_1.x-y"));
        assert_eq!(canonical_name(""), Err(NameError::Empty));
        assert_eq!(canonical_name(&"a".repeat(33)), Err(NameError::TooLong(33)));
        assert_eq!(canonical_name("a b"), Err(NameError::BadChar(' ')));
        assert_eq!(canonical_name("é"), Err(NameError::BadChar('é')));
    }

    #[test]
    fn a_signature_is_good_for_one_purpose_one_challenge_one_name() {
        let key = SecretKey::from_seed([7; 32]);
        let challenge = [1; CHALLENGE_LEN];
        let sig = key.sign(Purpose::Login, &challenge, "alice");
        let public = key.public();
        assert!(verify(
            &public,
            &sig,
            Purpose::Login,
            &challenge,
            "alice",
            &[]
        ));
        assert!(!verify(
            &public,
            &sig,
            Purpose::Delete,
            &challenge,
            "alice",
            &[]
        ));
        assert!(!verify(
            &public,
            &sig,
            Purpose::Login,
            &[2; 32],
            "alice",
            &[]
        ));
        assert!(!verify(
            &public,
            &sig,
            Purpose::Login,
            &challenge,
            "bob",
            &[]
        ));
        let other = SecretKey::from_seed([8; 32]).public();
        assert!(!verify(
            &other,
            &sig,
            Purpose::Login,
            &challenge,
            "alice",
            &[]
        ));
    }

    #[test]
    fn keys_round_trip_through_hex_and_postcard() {
        let key = SecretKey::from_seed([9; 32]).public();
        assert_eq!(key.to_string().parse::<PublicKey>(), Ok(key));
        let bytes = postcard::to_stdvec(&key).expect("encodes");
        assert_eq!(bytes[0], 32);
        assert_eq!(bytes.len(), 33);
        assert_eq!(
            postcard::from_bytes::<PublicKey>(&bytes).expect("decodes"),
            key
        );
        let short = [31u8; 32];
        assert!(postcard::from_bytes::<PublicKey>(&short).is_err());
    }
}
