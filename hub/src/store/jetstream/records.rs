//! How the JetStream store lays its records out: key names, the values under them (postcard)
//! and a mail's headers. One place, so the layout in docs/CLUSTER.md (§ Accounts and mailboxes
//! in JetStream) has one source.

use async_nats::HeaderMap;
use serde::{Deserialize, Serialize};
use shared::account::KeyRecord;
use shared::{BodyKind, PublicKey, Signature, UserId};

use crate::store::{Account, Mail, Receipt, StoreError, MAX_RECEIPTS};

/// The key of the account-id counter: the next id to hand out.
pub(super) const NEXT_ID: &str = "next";

/// The header carrying a mail's sender.
pub(super) const FROM: &str = "Hubbub-From";
/// The header carrying when the hub stored a mail (milliseconds since the Unix epoch).
pub(super) const SENT_AT: &str = "Hubbub-Sent-At";
/// The header carrying a mail's [`BodyKind`] (postcard, in hex).
pub(super) const KIND: &str = "Hubbub-Kind";
/// What the server adds to a headers-only delivery: the body's length.
pub(super) const MSG_SIZE: &str = "Nats-Msg-Size";

/// `name.<hex of the canonical name>`: the id it is bound to. Hex because a name may hold
/// dots, which NATS reads as subject tokens (`a..b` is no valid key).
pub(super) fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(5 + 2 * name.len());
    key.push_str("name.");
    for b in name.bytes() {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// The canonical name a `name.<hex>` key (or its stream subject) ends in.
pub(super) fn name_of_key(key: &str) -> Option<String> {
    let hex = key.rsplit('.').next()?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// `id.<id>`: the account.
pub(super) fn id_key(id: UserId) -> String {
    format!("id.{}", id.0)
}

/// `box.<id>`: the mailbox's size as reserved by writers; present exactly while the account
/// is (a receiver without one is [`crate::store::Enqueued::NoAccount`]).
pub(super) fn box_key(id: UserId) -> String {
    format!("box.{}", id.0)
}

/// `rcpt.<sender>`: the receipts kept for a sender, all in one value so that keeping one
/// and the per-sender bound are one compare-and-set.
pub(super) fn receipts_key(sender: UserId) -> String {
    format!("rcpt.{}", sender.0)
}

/// The sender a `rcpt.<sender>` subject names.
pub(super) fn sender_of_key(key: &str) -> Option<UserId> {
    key.rsplit('.').next()?.parse().ok().map(UserId)
}

fn damaged(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Nats(format!("a stored {what} does not decode: {e}"))
}

/// An account as kept under `id.<id>`.
#[derive(Serialize, Deserialize)]
struct AccountValue {
    id: u64,
    name: String,
    key: [u8; 32],
    created_ms: u64,
    /// The X25519 key, then the signature (serde has no 64-byte arrays).
    record: Option<([u8; 32], Vec<u8>)>,
}

pub(super) fn encode_account(account: &Account) -> Vec<u8> {
    let value = AccountValue {
        id: account.id.0,
        name: account.name.clone(),
        key: account.key.0,
        created_ms: account.created_ms,
        record: account
            .record
            .as_ref()
            .map(|r| (r.key, r.signature.0.to_vec())),
    };
    postcard::to_stdvec(&value).expect("an account always encodes")
}

pub(super) fn decode_account(bytes: &[u8]) -> Result<Account, StoreError> {
    let value: AccountValue = postcard::from_bytes(bytes).map_err(|e| damaged("account", e))?;
    let record = match value.record {
        None => None,
        Some((key, signature)) => Some(KeyRecord {
            key,
            signature: Signature(
                signature
                    .try_into()
                    .map_err(|_| damaged("key record", "the signature is not 64 bytes"))?,
            ),
        }),
    };
    Ok(Account {
        id: UserId(value.id),
        name: value.name,
        key: PublicKey(value.key),
        created_ms: value.created_ms,
        record,
    })
}

pub(super) fn encode_u64(n: u64) -> Vec<u8> {
    postcard::to_stdvec(&n).expect("a number always encodes")
}

pub(super) fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| damaged("number", e))
}

/// A mailbox's size: messages and body bytes.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct BoxSize {
    pub(super) count: u64,
    pub(super) bytes: u64,
}

pub(super) fn encode_box(size: BoxSize) -> Vec<u8> {
    postcard::to_stdvec(&size).expect("a size always encodes")
}

pub(super) fn decode_box(bytes: &[u8]) -> Result<BoxSize, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| damaged("mailbox size", e))
}

/// One sender's receipts: (receiver, through, stamp), by receiver ascending; the stamp says
/// when each was last raised, for the bound.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Receipts(pub(super) Vec<(u64, u64, u64)>);

impl Receipts {
    pub(super) fn decode(bytes: &[u8]) -> Result<Receipts, StoreError> {
        postcard::from_bytes(bytes).map_err(|e| damaged("receipt list", e))
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("receipts always encode")
    }

    /// Keep `through` for `receiver` (raising the one kept), then drop the oldest beyond
    /// [`MAX_RECEIPTS`].
    pub(super) fn keep(&mut self, receiver: UserId, through: u64) {
        let stamp = self.0.iter().map(|r| r.2).max().unwrap_or(0) + 1;
        match self.0.binary_search_by_key(&receiver.0, |r| r.0) {
            Ok(at) => {
                let kept = &mut self.0[at];
                kept.1 = kept.1.max(through);
                kept.2 = stamp;
            }
            Err(at) => self.0.insert(at, (receiver.0, through, stamp)),
        }
        while self.0.len() as u64 > MAX_RECEIPTS {
            let oldest = self
                .0
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| r.2)
                .map(|(at, _)| at)
                .expect("more than MAX_RECEIPTS entries");
            self.0.remove(oldest);
        }
    }

    /// Forget `receiver`'s receipt if it is not higher than `through`; whether it went.
    pub(super) fn forget(&mut self, receiver: UserId, through: u64) -> bool {
        let before = self.0.len();
        self.0.retain(|r| !(r.0 == receiver.0 && r.1 <= through));
        self.0.len() != before
    }

    /// Forget `receiver`'s receipt whatever it says; whether there was one.
    pub(super) fn forget_receiver(&mut self, receiver: UserId) -> bool {
        self.forget(receiver, u64::MAX)
    }

    pub(super) fn receipts(&self, sender: UserId) -> Vec<Receipt> {
        self.0
            .iter()
            .map(|&(receiver, through, _)| Receipt {
                sender,
                receiver: UserId(receiver),
                through,
            })
            .collect()
    }
}

/// A mail's headers (its body is the message's payload, so the server's size is its length).
pub(super) fn mail_headers(mail: &Mail) -> HeaderMap {
    let kind = postcard::to_stdvec(&mail.kind).expect("a BodyKind always encodes");
    let hex: String = kind.iter().map(|b| format!("{b:02x}")).collect();
    let mut headers = HeaderMap::new();
    headers.insert(FROM, mail.from.0.to_string().as_str());
    headers.insert(SENT_AT, mail.sent_at_ms.to_string().as_str());
    headers.insert(KIND, hex.as_str());
    headers
}

/// A header as a number.
pub(super) fn header_u64(headers: Option<&HeaderMap>, name: &str) -> Result<u64, StoreError> {
    headers
        .and_then(|h| h.get(name))
        .and_then(|v| v.as_str().parse().ok())
        .ok_or_else(|| damaged("mail", format!("no number in its {name} header")))
}

/// A mail's [`BodyKind`] from its header.
pub(super) fn header_kind(headers: Option<&HeaderMap>) -> Result<BodyKind, StoreError> {
    let hex = headers
        .and_then(|h| h.get(KIND))
        .map(|v| v.as_str().to_owned())
        .ok_or_else(|| damaged("mail", "no kind header"))?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| damaged("mail", "its kind header is not hex"))?;
    postcard::from_bytes(&bytes).map_err(|e| damaged("mail kind", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_dots_make_valid_keys_and_come_back() {
        for name in ["alice", "a..b", ".x.", "z-9_"] {
            let key = name_key(name);
            assert!(
                key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'),
                "{key}"
            );
            assert_eq!(name_of_key(&key).as_deref(), Some(name));
        }
    }

    #[test]
    fn receipts_raise_in_place_and_the_oldest_go_beyond_the_bound() {
        let mut kept = Receipts::default();
        for receiver in 0..MAX_RECEIPTS + 2 {
            kept.keep(UserId(receiver), 5);
        }
        kept.keep(UserId(2), 3);
        assert_eq!(kept.0.len() as u64, MAX_RECEIPTS);
        assert_eq!(
            kept.0[0].0, 2,
            "0 and 1 were the oldest; 2 was raised since"
        );
        assert_eq!(kept.0[0].1, 5, "a receipt never goes down");
        assert!(!kept.forget(UserId(2), 4), "a later ack stays");
        assert!(kept.forget(UserId(2), 5));
    }
}
