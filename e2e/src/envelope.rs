//! The envelope: [`seal`] is its one encoder, [`Envelope::decode`] its one decoder, and
//! [`Envelope::open`] (in `envelope/open.rs`) checks the signature before it decrypts anything.
//!
//! Layout (all integers little endian; sizes in [`crate::limits`]):
//! `version u8 | kind u8 | sender u64 | n u8 | n × (receiver u64 | enc [32] | wrapped key [32]
//! | wrap tag [16]) | body ciphertext | body tag [16] | signature [64]`.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::{Signer, SigningKey};
use hpke::aead::ChaCha20Poly1305 as HpkeChaCha;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeS, Serializable};
use rand_core::{OsRng, TryRngCore, UnwrapErr};
use shared::UserId;

use crate::keys::ReceiverPublic;
use crate::limits::*;

mod open;

/// The domain string that starts the bytes a sender signs (before the envelope's bytes).
pub const SIGNATURE_DOMAIN: &[u8] = b"hubbub e2e envelope v1\0";

/// The domain string that starts the associated data of every AEAD in an envelope.
pub const AAD_DOMAIN: &[u8] = b"hubbub e2e aad v1\0";

/// The HPKE `info` of every key wrap.
pub const WRAP_INFO: &[u8] = b"hubbub e2e wrap v1";

/// What the plaintext is; bound into the signature and every AEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text = 0,
    /// A file: one byte of name length, the name, then its bytes.
    File = 1,
}

/// Why an envelope could not be made or opened. None of them says anything about the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum E2eError {
    /// Shorter than its header says it must be.
    #[error("the envelope is cut short")]
    Truncated,
    /// Longer than [`MAX_ENVELOPE_LEN`], or a plaintext too long for its receivers.
    #[error("{len} bytes is more than the {max} an envelope can carry")]
    TooLong {
        /// The length given.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A version this decoder does not know.
    #[error("envelope version {0} is not one this client knows (it knows {ENVELOPE_VERSION})")]
    UnknownVersion(u8),
    /// A body kind this decoder does not know.
    #[error("body kind {0} is not one this client knows")]
    UnknownKind(u8),
    /// No receivers, or more than [`MAX_ENVELOPE_RECEIVERS`].
    #[error("an envelope names 1 to {MAX_ENVELOPE_RECEIVERS} receivers, not {0}")]
    ReceiverCount(usize),
    /// Receivers not in strictly increasing order (a repeat included).
    #[error("the envelope's receivers are not in increasing order without repeats")]
    ReceiverOrder,
    /// The envelope names another sender than the one it came from.
    #[error("the envelope says it is from {claimed}, but it came from {from}")]
    WrongSender {
        /// Who the envelope names.
        claimed: UserId,
        /// Who the hub says sent it.
        from: UserId,
    },
    /// The signature is not the sender's.
    #[error("the sender's signature does not verify: the envelope was forged or changed")]
    BadSignature,
    /// The opener is not among the receivers.
    #[error("this envelope is not addressed to you")]
    NotAReceiver,
    /// A key wrap or the body did not decrypt.
    #[error("the envelope does not decrypt")]
    Decrypt,
}

/// A decoded envelope, not yet verified: its fields point into the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub(crate) bytes: &'a [u8],
    /// What the plaintext is.
    pub kind: Kind,
    /// Who the envelope says sent it (checked against the signature by [`Envelope::open`]).
    pub sender: UserId,
    pub(crate) count: usize,
}

/// An envelope's plaintext, once verified and decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// What the plaintext is.
    pub kind: Kind,
    /// The sender's bytes.
    pub plaintext: Vec<u8>,
}

/// Seal `plaintext` from `sender` (signing with `identity`) to `receivers`, in any order.
pub fn seal(
    sender: UserId,
    identity: &SigningKey,
    kind: Kind,
    receivers: &[(UserId, ReceiverPublic)],
    plaintext: &[u8],
) -> Result<Vec<u8>, E2eError> {
    let mut receivers = receivers.to_vec();
    receivers.sort_by_key(|(id, _)| *id);
    check_receivers(receivers.iter().map(|(id, _)| *id), receivers.len())?;
    let n = receivers.len();
    if plaintext.len() > max_plaintext(n) {
        return Err(E2eError::TooLong {
            len: plaintext.len(),
            max: max_plaintext(n),
        });
    }
    let mut out = Vec::with_capacity(plaintext.len() + overhead(n));
    out.push(ENVELOPE_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&sender.0.to_le_bytes());
    out.push(n as u8); // check_receivers bounds n by 255.
    let aad = associated_data(&out, receivers.iter().map(|(id, _)| *id));
    let mut rng = UnwrapErr(OsRng);
    let mut content_key = [0u8; CONTENT_KEY_LEN];
    rng.0
        .try_fill_bytes(&mut content_key)
        .expect("the OS random source works");
    for (id, key) in &receivers {
        out.extend_from_slice(&id.0.to_le_bytes());
        let (enc, wrapped, tag) = wrap(key, &content_key, &aad, &mut rng)?;
        out.extend_from_slice(&enc);
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&tag);
    }
    let body_start = out.len();
    out.extend_from_slice(plaintext);
    // The content key seals this one body and is then dropped, so the zero nonce never repeats
    // under one key.
    let tag = ChaCha20Poly1305::new(Key::from_slice(&content_key))
        .encrypt_in_place_detached(&Nonce::default(), &aad, &mut out[body_start..])
        .map_err(|_| E2eError::Decrypt)?;
    out.extend_from_slice(&tag);
    let signature = identity.sign(&signed_bytes(&out));
    out.extend_from_slice(&signature.to_bytes());
    Ok(out)
}

type WrapOut = ([u8; ENCAPPED_LEN], [u8; CONTENT_KEY_LEN], [u8; TAG_LEN]);

fn wrap(
    key: &ReceiverPublic,
    content_key: &[u8; CONTENT_KEY_LEN],
    aad: &[u8],
    rng: &mut UnwrapErr<OsRng>,
) -> Result<WrapOut, E2eError> {
    let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&key.0)
        .map_err(|_| E2eError::Decrypt)?;
    let mut wrapped = *content_key;
    let (enc, tag) = hpke::single_shot_seal_in_place_detached::<
        HpkeChaCha,
        HkdfSha256,
        X25519HkdfSha256,
        _,
    >(&OpModeS::Base, &pk, WRAP_INFO, &mut wrapped, aad, rng)
    .map_err(|_| E2eError::Decrypt)?;
    let mut enc_bytes = [0u8; ENCAPPED_LEN];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(&tag.to_bytes());
    Ok((enc_bytes, wrapped, tag_bytes))
}

/// Reject a receiver list that is empty, too long, or not strictly increasing.
pub(crate) fn check_receivers(
    ids: impl Iterator<Item = UserId>,
    count: usize,
) -> Result<(), E2eError> {
    if count == 0 || count > MAX_ENVELOPE_RECEIVERS {
        return Err(E2eError::ReceiverCount(count));
    }
    let mut last = None;
    for id in ids {
        if last.is_some_and(|last| id <= last) {
            return Err(E2eError::ReceiverOrder);
        }
        last = Some(id);
    }
    Ok(())
}

/// The associated data of every AEAD: the domain string, the fixed header (version, kind,
/// sender, count) and every receiver id in order.
pub(crate) fn associated_data(fixed: &[u8], ids: impl Iterator<Item = UserId>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + FIXED_HEADER_LEN + 8 * 255);
    aad.extend_from_slice(AAD_DOMAIN);
    aad.extend_from_slice(fixed);
    for id in ids {
        aad.extend_from_slice(&id.0.to_le_bytes());
    }
    aad
}

/// What the signature covers: the domain string and every byte before the signature.
pub(crate) fn signed_bytes(unsigned: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SIGNATURE_DOMAIN.len() + unsigned.len());
    bytes.extend_from_slice(SIGNATURE_DOMAIN);
    bytes.extend_from_slice(unsigned);
    bytes
}

pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(le)
}
