//! The JetStream store's receipts: one `rcpt.<sender>` value per sender, changed by
//! compare-and-set (kept by an ack, forgotten once given or with an account).

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use shared::UserId;

use super::records::{receipts_key, sender_of_key, Receipts};
use super::scan::{scan, Read};
use super::{contended, Inner, CAS_ATTEMPTS};
use crate::store::{Receipt, StoreError};

impl Inner {
    pub(super) async fn keep_receipt(&self, receipt: &Receipt) -> Result<(), StoreError> {
        let key = receipts_key(receipt.sender);
        for _ in 0..CAS_ATTEMPTS {
            let written = match self.entry(&key).await? {
                None => {
                    let mut kept = Receipts::default();
                    kept.keep(receipt.receiver, receipt.through);
                    self.create(&key, kept.encode()).await?
                }
                Some((value, revision)) => {
                    let mut kept = Receipts::decode(&value)?;
                    kept.keep(receipt.receiver, receipt.through);
                    self.update(&key, kept.encode(), revision).await?
                }
            };
            if written {
                return Ok(());
            }
        }
        Err(contended(&key))
    }

    pub(super) async fn receipts(&self, sender: UserId) -> Result<Vec<Receipt>, StoreError> {
        Ok(match self.entry(&receipts_key(sender)).await? {
            Some((value, _)) => Receipts::decode(&value)?.receipts(sender),
            None => Vec::new(),
        })
    }

    pub(super) async fn forget_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let mut by_sender: BTreeMap<u64, Vec<&Receipt>> = BTreeMap::new();
        for r in receipts {
            by_sender.entry(r.sender.0).or_default().push(r);
        }
        for (sender, given) in by_sender {
            self.edit_receipts(UserId(sender), |kept| {
                given.iter().fold(false, |changed, r| {
                    kept.forget(r.receiver, r.through) | changed
                })
            })
            .await?;
        }
        Ok(())
    }

    /// Remove `receiver` from every sender's receipts (a deleted account): one pass over the
    /// `rcpt.` keys, so its cost grows with the number of senders.
    pub(super) async fn forget_receiver(&self, receiver: UserId) -> Result<(), StoreError> {
        let filter = format!("{}rcpt.*", self.kv.prefix);
        let mut senders = Vec::new();
        let read = Read {
            filter: &filter,
            // Every value kept (see accounts_matching): a sender named by an older one too is
            // looked at again below, where only the latest counts.
            from: 1,
            headers_only: false,
            most: u64::MAX,
        };
        scan(&self.kv.stream, read, |seen| {
            let kept = Receipts::decode(seen.payload)?;
            if kept.0.iter().any(|r| r.0 == receiver.0) {
                senders.extend(sender_of_key(seen.subject));
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        senders.sort_unstable_by_key(|s| s.0);
        senders.dedup();
        for sender in senders {
            self.edit_receipts(sender, |kept| kept.forget_receiver(receiver))
                .await?;
        }
        Ok(())
    }

    /// Change `sender`'s receipts with `edit` (which says whether it changed them).
    async fn edit_receipts(
        &self,
        sender: UserId,
        edit: impl Fn(&mut Receipts) -> bool,
    ) -> Result<(), StoreError> {
        let key = receipts_key(sender);
        for _ in 0..CAS_ATTEMPTS {
            let Some((value, revision)) = self.entry(&key).await? else {
                return Ok(());
            };
            let mut kept = Receipts::decode(&value)?;
            if !edit(&mut kept) || self.update(&key, kept.encode(), revision).await? {
                return Ok(());
            }
        }
        Err(contended(&key))
    }
}
