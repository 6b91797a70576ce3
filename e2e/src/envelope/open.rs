//! The decoder: [`Envelope::decode`] checks structure, [`Envelope::open`] verifies the sender's
//! signature and only then unwraps the content key and decrypts the body.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use ed25519_dalek::{Signature, VerifyingKey};
use hpke::aead::{AeadTag, ChaCha20Poly1305 as HpkeChaCha};
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR};
use shared::UserId;

use super::{
    associated_data, check_receivers, signed_bytes, u64_at, E2eError, Envelope, Kind, Opened,
    WRAP_INFO,
};
use crate::keys::ReceiverSecret;
use crate::limits::*;

impl<'a> Envelope<'a> {
    /// Check the envelope's structure (no cryptography yet): version, kind, receiver count and
    /// order, and that every part is there.
    pub fn decode(bytes: &'a [u8]) -> Result<Envelope<'a>, E2eError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(E2eError::TooLong {
                len: bytes.len(),
                max: MAX_ENVELOPE_LEN,
            });
        }
        if bytes.len() < FIXED_HEADER_LEN {
            return Err(E2eError::Truncated);
        }
        if bytes[0] != ENVELOPE_VERSION {
            return Err(E2eError::UnknownVersion(bytes[0]));
        }
        let kind = match bytes[1] {
            0 => Kind::Text,
            1 => Kind::File,
            other => return Err(E2eError::UnknownKind(other)),
        };
        let count = usize::from(bytes[10]);
        if count == 0 {
            return Err(E2eError::ReceiverCount(0));
        }
        if bytes.len() < overhead(count) {
            return Err(E2eError::Truncated);
        }
        let envelope = Envelope {
            bytes,
            kind,
            sender: UserId(u64_at(bytes, 2)),
            count,
        };
        check_receivers(envelope.receivers(), count)?;
        Ok(envelope)
    }

    /// The receivers the envelope names, in increasing order.
    pub fn receivers(&self) -> impl Iterator<Item = UserId> + '_ {
        (0..self.count).map(|i| UserId(u64_at(self.bytes, FIXED_HEADER_LEN + i * STANZA_LEN)))
    }

    /// Verify the envelope as one that `from` sent (the hub's word for who sent it), signed by
    /// `sender_key` (the key pinned for `from`), then decrypt it as receiver `me`.
    pub fn open(
        &self,
        from: UserId,
        sender_key: &VerifyingKey,
        me: UserId,
        secret: &ReceiverSecret,
    ) -> Result<Opened, E2eError> {
        if self.sender != from {
            return Err(E2eError::WrongSender {
                claimed: self.sender,
                from,
            });
        }
        let (unsigned, signature) = self.bytes.split_at(self.bytes.len() - SIGNATURE_LEN);
        let signature = Signature::from_slice(signature).map_err(|_| E2eError::BadSignature)?;
        sender_key
            .verify_strict(&signed_bytes(unsigned), &signature)
            .map_err(|_| E2eError::BadSignature)?;
        let index = self
            .receivers()
            .position(|id| id == me)
            .ok_or(E2eError::NotAReceiver)?;
        let aad = associated_data(&self.bytes[..FIXED_HEADER_LEN], self.receivers());
        let content_key = self.unwrap_key(index, secret, &aad)?;
        let body_start = FIXED_HEADER_LEN + self.count * STANZA_LEN;
        let body_end = unsigned.len() - TAG_LEN;
        let mut plaintext = unsigned[body_start..body_end].to_vec();
        ChaCha20Poly1305::new(Key::from_slice(&content_key))
            .decrypt_in_place_detached(
                &Nonce::default(),
                &aad,
                &mut plaintext,
                Tag::from_slice(&unsigned[body_end..]),
            )
            .map_err(|_| E2eError::Decrypt)?;
        Ok(Opened {
            kind: self.kind,
            plaintext,
        })
    }

    fn unwrap_key(
        &self,
        index: usize,
        secret: &ReceiverSecret,
        aad: &[u8],
    ) -> Result<[u8; CONTENT_KEY_LEN], E2eError> {
        let at = FIXED_HEADER_LEN + index * STANZA_LEN + 8;
        let stanza = &self.bytes[at..at + STANZA_LEN - 8];
        let (enc, rest) = stanza.split_at(ENCAPPED_LEN);
        let (wrapped, tag) = rest.split_at(CONTENT_KEY_LEN);
        let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc)
            .map_err(|_| E2eError::Decrypt)?;
        let tag = AeadTag::<HpkeChaCha>::from_bytes(tag).map_err(|_| E2eError::Decrypt)?;
        let mut key = [0u8; CONTENT_KEY_LEN];
        key.copy_from_slice(wrapped);
        hpke::single_shot_open_in_place_detached::<HpkeChaCha, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            secret.hpke_secret(),
            &enc,
            WRAP_INFO,
            &mut key,
            aad,
            &tag,
        )
        .map_err(|_| E2eError::Decrypt)?;
        Ok(key)
    }
}
