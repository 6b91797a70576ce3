//! Trust on first use: the identity key first seen for each account, kept in a file, so that a
//! changed key is noticed (like ssh's `known_hosts`).
//!
//! The file holds one line per account, `NAME HEX`: the canonical account name and its 32-byte
//! ed25519 identity key as 64 hex digits. It is rewritten whole through a temporary file and a
//! rename, so a crash leaves the old file or the new one, never half of one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

/// What [`Pins::check`] found for an account's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// No key was pinned for the account; this one now is (call [`Pins::save`]).
    FirstUse,
    /// The key is the pinned one.
    Same,
    /// The account's key is not the one pinned: the pinned one is given. Nothing is changed
    /// until [`Pins::trust`].
    Changed {
        /// The key pinned before.
        pinned: VerifyingKey,
    },
}

/// The pinned identity keys, by canonical account name.
#[derive(Debug)]
pub struct Pins {
    path: PathBuf,
    keys: BTreeMap<String, VerifyingKey>,
}

impl Pins {
    /// Read the pins at `path`; a missing file is no pins. A malformed line is an error naming
    /// the line, and the file is left as it is.
    pub fn load(path: &Path) -> io::Result<Pins> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut keys = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (name, key) = parse_line(line).map_err(|why| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: {why}", path.display(), i + 1),
                )
            })?;
            keys.insert(name, key);
        }
        Ok(Pins {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// Compare `key` with the one pinned for `name` (pinning it if there is none).
    pub fn check(&mut self, name: &str, key: &VerifyingKey) -> Check {
        match self.keys.get(name) {
            None => {
                self.keys.insert(name.to_owned(), *key);
                Check::FirstUse
            }
            Some(pinned) if pinned == key => Check::Same,
            Some(pinned) => Check::Changed { pinned: *pinned },
        }
    }

    /// The key pinned for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&VerifyingKey> {
        self.keys.get(name)
    }

    /// Pin `key` for `name`, replacing what was pinned: the user's "I have checked this one".
    pub fn trust(&mut self, name: &str, key: VerifyingKey) {
        self.keys.insert(name.to_owned(), key);
    }

    /// Write the pins back, atomically.
    pub fn save(&self) -> io::Result<()> {
        let mut text = String::new();
        for (name, key) in &self.keys {
            text.push_str(name);
            text.push(' ');
            for b in key.as_bytes() {
                text.push_str(&format!("{b:02x}"));
            }
            text.push('\n');
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn parse_line(line: &str) -> Result<(String, VerifyingKey), String> {
    let (name, hex) = line.trim().split_once(' ').ok_or("expected `NAME KEY`")?;
    let name = shared::account::canonical_name(name).map_err(|e| e.to_string())?;
    let key: shared::PublicKey = hex.trim().parse()?;
    let key = VerifyingKey::from_bytes(&key.0).map_err(|_| "not an ed25519 public key")?;
    Ok((name, key))
}
