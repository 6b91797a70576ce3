//! End-to-end envelopes: a body that only its receivers can read and that only its sender
//! could have written.
//!
//! The construction (written out byte by byte in docs/E2E.md): the body is sealed once with
//! ChaCha20-Poly1305 under a fresh 32-byte content key; that key is wrapped for each receiver
//! with HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305;
//! the whole envelope is signed with the sender's ed25519 account key. The version, body kind,
//! sender and receiver set are the associated data of every AEAD and are under the signature,
//! so a hub can neither re-target, re-attribute nor splice an envelope.
//!
//! [`keys`] holds the receiver key pair, its signed directory record and fingerprints;
//! [`envelope`] the one encoder ([`seal`]) and the one decoder ([`Envelope::decode`], then
//! [`Envelope::open`]); [`file`] the plaintext of a file; [`limits`] the sizes; [`pins`] the
//! keys trusted on first use.

pub mod envelope;
pub mod file;
pub mod keys;
pub mod limits;
pub mod pins;

pub use envelope::{seal, E2eError, Envelope, Kind, Opened};
pub use file::{file_plaintext, split_file};
pub use keys::{fingerprint, ReceiverPublic, ReceiverSecret};
pub use limits::{max_plaintext, overhead};
