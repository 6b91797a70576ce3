//! The envelope's sizes: fixed parts, per-receiver part, and the usable body they leave in a
//! relay's body of [`shared::MAX_BODY_LEN`].

/// The envelope format's version, its first byte. A new construction takes a new number; a
/// decoder refuses numbers it does not know rather than guess.
pub const ENVELOPE_VERSION: u8 = 1;

/// Most receivers one envelope names: one relay's worth, [`shared::MAX_RECEIVERS`].
pub const MAX_ENVELOPE_RECEIVERS: usize = shared::MAX_RECEIVERS;

/// Largest envelope: it travels as a relay's body, so it is bounded by [`shared::MAX_BODY_LEN`].
pub const MAX_ENVELOPE_LEN: usize = shared::MAX_BODY_LEN;

/// Version (1), body kind (1), sender id (8, little endian), receiver count (1).
pub const FIXED_HEADER_LEN: usize = 1 + 1 + 8 + 1;

/// An HPKE encapsulated key: an X25519 public key.
pub const ENCAPPED_LEN: usize = 32;

/// A content key, for ChaCha20-Poly1305.
pub const CONTENT_KEY_LEN: usize = 32;

/// A ChaCha20-Poly1305 tag.
pub const TAG_LEN: usize = 16;

/// One receiver's stanza: its id (8), the HPKE encapsulated key (32), the wrapped content key
/// (32) and the wrap's tag (16).
pub const STANZA_LEN: usize = 8 + ENCAPPED_LEN + CONTENT_KEY_LEN + TAG_LEN;

/// The ed25519 signature that closes an envelope.
pub const SIGNATURE_LEN: usize = 64;

/// Bytes an envelope adds to a body for `receivers` receivers: 91 + 88 per receiver, so 179
/// for one and 22,531 for 255.
pub const fn overhead(receivers: usize) -> usize {
    FIXED_HEADER_LEN + receivers * STANZA_LEN + TAG_LEN + SIGNATURE_LEN
}

/// Largest plaintext an envelope to `receivers` receivers can carry: 1,048,397 bytes to one,
/// 1,026,045 bytes to 255 (of [`MAX_ENVELOPE_LEN`] = 1,048,576).
pub const fn max_plaintext(receivers: usize) -> usize {
    MAX_ENVELOPE_LEN - overhead(receivers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_body_sizes_are_the_documented_ones() {
        assert_eq!(overhead(1), 179);
        assert_eq!(overhead(255), 22_531);
        assert_eq!(max_plaintext(1), 1_048_397);
        assert_eq!(max_plaintext(255), 1_026_045);
    }
}
