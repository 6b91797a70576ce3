//! End to end in the client: its receiver key (derived from the identity's seed), the pins of
//! other accounts' identity keys (trusted on first use), and sealing and opening envelopes.
//! The construction is the `e2e` crate's (docs/E2E.md); this module decides when to use it.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use e2e::pins::{Check, Pins};
use e2e::{E2eError, Envelope, Kind, ReceiverPublic, ReceiverSecret};
use ed25519_dalek::{SigningKey, VerifyingKey};
use shared::account::{AccountEntry, KeyRecord};
use shared::{BodyKind, Signature, UserId};

use crate::identity::{self, Identity, IdentityError};

/// The pins file's name, beside the identity file in the configuration directory.
pub const PINS_FILE: &str = "pins";

/// The pins file for the identity at `--identity` (or the default one): `pins` in the same
/// directory, so that one identity's trust goes with it.
pub fn pins_path(explicit_identity: Option<&Path>) -> Result<PathBuf, IdentityError> {
    let identity = identity::path_or_default(explicit_identity)?;
    let dir = match identity.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok(dir.join(PINS_FILE))
}

/// This account's keys for envelopes.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The account's id.
    pub me: UserId,
    identity: SigningKey,
    receiver: ReceiverSecret,
}

impl Keys {
    /// The keys of `identity`, logged in as `me`: the receiver key is derived from the seed
    /// ([`ReceiverSecret::derive_from_identity`]), so the identity file holds nothing more.
    pub fn new(me: UserId, identity: &Identity) -> Keys {
        let seed = identity.key.seed();
        Keys {
            me,
            identity: SigningKey::from_bytes(&seed),
            receiver: ReceiverSecret::derive_from_identity(&seed),
        }
    }

    /// The record this account publishes: its receiver key, signed by its identity key.
    pub fn record(&self) -> KeyRecord {
        let key = self.receiver.public();
        let signature = e2e::keys::sign_key_record(&self.identity, self.me, &key);
        KeyRecord {
            key: key.0,
            signature: Signature(signature),
        }
    }

    /// This account's own fingerprint, to read out to others.
    pub fn fingerprint(&self) -> String {
        e2e::fingerprint(&self.identity.verifying_key())
    }

    /// Seal `body` (of `kind`) to `to` and to this account itself (so its other sessions can
    /// read what it sent): the envelope, to relay as [`BodyKind::Sealed`].
    pub fn seal(
        &self,
        kind: &BodyKind,
        body: &[u8],
        to: &[(UserId, ReceiverPublic)],
    ) -> Result<Bytes, E2eError> {
        let mut receivers = to.to_vec();
        if !receivers.iter().any(|(id, _)| *id == self.me) {
            receivers.push((self.me, self.receiver.public()));
        }
        let (kind, plaintext) = match kind {
            BodyKind::File { name } => (Kind::File, e2e::file_plaintext(name, body)?),
            // Bytes that are not UTF-8 are saved as a file on arrival, as in the clear.
            _ => (Kind::Text, body.to_vec()),
        };
        e2e::seal(self.me, &self.identity, kind, &receivers, &plaintext).map(Bytes::from)
    }

    /// Open an envelope that `from` sent, signed (it must be) by `sender`, the key pinned for
    /// `from`: the body and its kind as if they had come in the clear.
    pub fn open(
        &self,
        from: UserId,
        sender: &VerifyingKey,
        envelope: &[u8],
    ) -> Result<(BodyKind, Bytes), E2eError> {
        let opened = Envelope::decode(envelope)?.open(from, sender, self.me, &self.receiver)?;
        match opened.kind {
            Kind::Text => Ok((BodyKind::Text, Bytes::from(opened.plaintext))),
            Kind::File => {
                let (name, data) = e2e::split_file(&opened.plaintext).ok_or(E2eError::Decrypt)?;
                let kind = BodyKind::File {
                    name: name.to_owned(),
                };
                Ok((kind, Bytes::copy_from_slice(data)))
            }
        }
    }
}

/// Why an account's keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Its identity key is not the one pinned: until the user accepts it, nothing is sealed
    /// to it and nothing from it is believed.
    #[error(
        "{name}'s key has CHANGED: pinned {pinned}, the hub now gives {offered}. If {name} \
         really has a new key (compare fingerprints), accept it with `tui-client trust {name}`"
    )]
    Changed {
        /// The account.
        name: String,
        /// The pinned key's fingerprint.
        pinned: String,
        /// The fingerprint of the key the hub gives now.
        offered: String,
    },
    /// Its published receiver key is not signed by its identity key: a forged record.
    #[error("{name}'s published encryption key is not signed by their key: it is forged")]
    BadRecord {
        /// The account.
        name: String,
    },
    /// Its account key is not a valid ed25519 key.
    #[error("{name}'s account key is not a valid key")]
    BadKey {
        /// The account.
        name: String,
    },
    /// The pins file could not be read or written.
    #[error("the pins file: {0}")]
    Pins(#[from] io::Error),
}

/// Where an account's key stands against the pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinState {
    /// No key pinned yet.
    New,
    /// The pinned key.
    Pinned,
    /// Another key than the pinned one (whose fingerprint is given).
    Changed(String),
}

impl std::fmt::Display for PinState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinState::New => f.write_str("not pinned yet"),
            PinState::Pinned => f.write_str("pinned"),
            PinState::Changed(pinned) => write!(f, "CHANGED (pinned {pinned})"),
        }
    }
}

/// An account's keys, checked against the pins.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Its identity key, the pinned one.
    pub identity: VerifyingKey,
    /// Its receiver key, when it published a record that its identity key signed.
    pub receiver: Option<ReceiverPublic>,
}

/// The pins, by account name, in their file.
#[derive(Debug)]
pub struct Trust {
    path: PathBuf,
    pins: Pins,
}

impl Trust {
    /// Read the pins file at `path` (none yet is no pins).
    pub fn load(path: &Path) -> io::Result<Trust> {
        Ok(Trust {
            path: path.to_owned(),
            pins: Pins::load(path)?,
        })
    }

    /// Check `entry`'s keys: its identity key is pinned on first sight (and the file saved),
    /// must be the pinned one after that, and must have signed its receiver key record.
    pub fn check(&mut self, entry: &AccountEntry) -> Result<Checked, TrustError> {
        let identity = self.check_identity(entry)?;
        let receiver = match &entry.record {
            None => None,
            Some(record) => {
                let key = ReceiverPublic(record.key);
                let signature = &record.signature.0;
                if !e2e::keys::verify_key_record(&identity, entry.user_id, &key, signature) {
                    return Err(TrustError::BadRecord {
                        name: entry.name.clone(),
                    });
                }
                Some(key)
            }
        };
        Ok(Checked { identity, receiver })
    }

    /// Check `entry`'s identity key only (what opening an envelope from it needs): pinned on
    /// first sight, the pinned one after that.
    pub fn check_identity(&mut self, entry: &AccountEntry) -> Result<VerifyingKey, TrustError> {
        let identity = identity_key(entry)?;
        match self.pins.check(&entry.name, &identity) {
            Check::FirstUse => self.pins.save()?,
            Check::Same => {}
            // `tui-client trust NAME` may have run since the file was read (beside a
            // running full-screen client): what it pinned counts at once.
            Check::Changed { .. } if self.reread(&entry.name, &identity) => {}
            Check::Changed { pinned } => {
                return Err(TrustError::Changed {
                    name: entry.name.clone(),
                    pinned: e2e::fingerprint(&pinned),
                    offered: e2e::fingerprint(&identity),
                })
            }
        }
        Ok(identity)
    }

    /// Read the file again; whether it now pins `identity` for `name`.
    fn reread(&mut self, name: &str, identity: &VerifyingKey) -> bool {
        match Pins::load(&self.path) {
            Ok(fresh) => {
                self.pins = fresh;
                self.pins.get(name) == Some(identity)
            }
            Err(_) => false,
        }
    }

    /// Where `entry`'s key stands, changing nothing.
    pub fn state(&self, entry: &AccountEntry) -> Result<PinState, TrustError> {
        let identity = identity_key(entry)?;
        Ok(match self.pins.get(&entry.name) {
            None => PinState::New,
            Some(pinned) if *pinned == identity => PinState::Pinned,
            Some(pinned) => PinState::Changed(e2e::fingerprint(pinned)),
        })
    }

    /// Accept `entry`'s identity key as the one for its name (`tui-client trust NAME`), and
    /// save the file.
    pub fn trust(&mut self, entry: &AccountEntry) -> Result<(), TrustError> {
        let identity = identity_key(entry)?;
        self.pins.trust(&entry.name, identity);
        Ok(self.pins.save()?)
    }
}

/// An entry's identity key, and its fingerprint for people.
pub fn identity_key(entry: &AccountEntry) -> Result<VerifyingKey, TrustError> {
    VerifyingKey::from_bytes(&entry.key.0).map_err(|_| TrustError::BadKey {
        name: entry.name.clone(),
    })
}

/// What opens envelopes for one session: its keys, the pins, and the senders' directory
/// entries seen so far.
#[derive(Debug)]
pub struct Opener {
    keys: Keys,
    trust: Trust,
}

impl Opener {
    /// An opener for `keys`, checking senders against `trust`.
    pub fn new(keys: Keys, trust: Trust) -> Opener {
        Opener { keys, trust }
    }

    /// This session's keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The pins.
    pub fn trust(&mut self) -> &mut Trust {
        &mut self.trust
    }

    /// Open an envelope this account sent from another session (an `Outgoing`).
    pub fn open_own(&self, envelope: &[u8]) -> Result<(BodyKind, Bytes), String> {
        let me = self.keys.identity.verifying_key();
        self.keys
            .open(self.keys.me, &me, envelope)
            .map_err(|e| format!("an encrypted message you sent did not open: {e}"))
    }

    /// Open the envelope `from` sent, `entry` being `from`'s directory entry (none: not an
    /// account). Its identity key is checked against the pins first (pinned on first sight);
    /// the error is one line for the user.
    pub fn open(
        &mut self,
        from: UserId,
        entry: Option<&AccountEntry>,
        envelope: &[u8],
    ) -> Result<(BodyKind, Bytes), String> {
        let Some(entry) = entry else {
            return Err(format!(
                "an encrypted message from {from}, which is not an account: not opened"
            ));
        };
        let identity = self.trust.check_identity(entry).map_err(|e| match e {
            TrustError::Changed { .. } => format!("not opened: {e}"),
            e => format!("cannot check {}'s key: {e}", entry.name),
        })?;
        self.keys
            .open(from, &identity, envelope)
            .map_err(|e| format!("an encrypted message from {} did not open: {e}", entry.name))
    }
}

#[cfg(test)]
mod tests;
