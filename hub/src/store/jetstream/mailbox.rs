//! The JetStream store's mailboxes: reserve-then-publish writes, reads through a short-lived
//! consumer, acknowledgement as a purge (receipts first, receipts.rs), and expiry.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use shared::account::FIRST_ACCOUNT_ID;
use shared::UserId;

use super::records::{
    box_key, decode_box, encode_box, header_kind, header_u64, mail_headers, BoxSize, FROM, SENT_AT,
};
use super::scan::{erase, scan, step, Read};
use super::{contended, Inner, CAS_ATTEMPTS};
use crate::store::{Acked, Bound, Enqueued, Mail, Receipt, StoreError, Stored};

impl Inner {
    /// Reserve every receiver's space, then publish to each and wait for every ack. Not one
    /// transaction (see the module doc): a crash stores the mail for some receivers only.
    pub(super) async fn enqueue(
        &self,
        to: &[UserId],
        mail: &Mail,
    ) -> Result<Vec<Enqueued>, StoreError> {
        let len = mail.body.len() as u64;
        let refusals =
            futures::future::try_join_all(to.iter().map(|&id| self.reserve(id, len))).await?;
        let reserved: Vec<(usize, UserId)> = to
            .iter()
            .enumerate()
            .filter(|(at, _)| refusals[*at].is_none())
            .map(|(at, &id)| (at, id))
            .collect();
        let seqs = self
            .publish(reserved.iter().map(|&(_, id)| (id, mail)))
            .await?;
        let mut answers: Vec<Enqueued> = refusals
            .into_iter()
            .map(|r| r.unwrap_or(Enqueued::NoAccount))
            .collect();
        for ((at, _), seq) in reserved.into_iter().zip(seqs) {
            answers[at] = Enqueued::Stored(seq);
        }
        Ok(answers)
    }

    /// As [`Self::enqueue`] for one receiver and several mails, published in order (one
    /// connection: the stream keeps their order).
    pub(super) async fn keep(
        &self,
        id: UserId,
        mails: &[Mail],
    ) -> Result<Vec<Enqueued>, StoreError> {
        let mut answers = Vec::with_capacity(mails.len());
        let mut going = Vec::new();
        for (at, mail) in mails.iter().enumerate() {
            let refused = self.reserve(id, mail.body.len() as u64).await?;
            answers.push(refused.unwrap_or(Enqueued::NoAccount));
            if refused.is_none() {
                going.push(at);
            }
        }
        let seqs = self
            .publish(going.iter().map(|&at| (id, &mails[at])))
            .await?;
        for (at, seq) in going.into_iter().zip(seqs) {
            answers[at] = Enqueued::Stored(seq);
        }
        Ok(answers)
    }

    /// Publish each mail to its receiver's subject, all before waiting for the first ack;
    /// their stream sequences, in order.
    async fn publish<'m>(
        &self,
        mails: impl Iterator<Item = (UserId, &'m Mail)>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut acks = Vec::new();
        for (id, mail) in mails {
            let ack = step(
                "store a mail",
                self.js.publish_with_headers(
                    self.subject(id),
                    mail_headers(mail),
                    mail.body.clone(),
                ),
            )
            .await?;
            acks.push(ack);
        }
        let mut seqs = Vec::with_capacity(acks.len());
        for ack in acks {
            seqs.push(step("store a mail", ack).await?.sequence);
        }
        Ok(seqs)
    }

    /// How to read a mailbox of at most `count` messages (its size, which never counts fewer
    /// than it holds) from seq `from`: no pull asks for more than `count`.
    fn read_mailbox<'s>(
        &self,
        subject: &'s str,
        from: u64,
        count: u64,
        most: u64,
        headers_only: bool,
    ) -> Read<'s> {
        Read {
            filter: subject,
            from,
            headers_only,
            most: most.min(count),
        }
    }

    /// Count one message of `len` bytes into `id`'s mailbox, or the answer that refuses it.
    async fn reserve(&self, id: UserId, len: u64) -> Result<Option<Enqueued>, StoreError> {
        let _writer = self.lock(id).lock().await;
        let key = box_key(id);
        for _ in 0..CAS_ATTEMPTS {
            let Some((value, revision)) = self.entry(&key).await? else {
                return Ok(Some(Enqueued::NoAccount));
            };
            let size = decode_box(&value)?;
            if size.count >= self.bounds.max_messages {
                return Ok(Some(Enqueued::Full(Bound::Messages)));
            }
            if size.bytes + len > self.bounds.max_bytes {
                return Ok(Some(Enqueued::Full(Bound::Bytes)));
            }
            let grown = BoxSize {
                count: size.count + 1,
                bytes: size.bytes + len,
            };
            if self.update(&key, encode_box(grown), revision).await? {
                return Ok(None);
            }
        }
        Err(contended(&key))
    }

    /// Take `gone` out of `id`'s mailbox size (nothing when the account is gone).
    async fn shrink(&self, id: UserId, gone: BoxSize) -> Result<(), StoreError> {
        let key = box_key(id);
        for _ in 0..CAS_ATTEMPTS {
            let Some((value, revision)) = self.entry(&key).await? else {
                return Ok(());
            };
            let size = decode_box(&value)?;
            let left = BoxSize {
                count: size.count.saturating_sub(gone.count),
                bytes: size.bytes.saturating_sub(gone.bytes),
            };
            if self.update(&key, encode_box(left), revision).await? {
                return Ok(());
            }
        }
        Err(contended(&key))
    }

    pub(super) async fn mailbox(
        &self,
        id: UserId,
        after: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let mut stored: Vec<Stored> = Vec::new();
        let (count, _) = self.mailbox_size(id).await?;
        if max == 0 || count == 0 {
            return Ok(stored);
        }
        let subject = self.subject(id);
        let read = self.read_mailbox(&subject, after.saturating_add(1), count, max as u64, false);
        let mut bytes = 0;
        scan(self.mail_of(id), read, |seen| {
            if !stored.is_empty() && bytes >= max_bytes {
                return Ok(ControlFlow::Break(()));
            }
            let mail = Mail {
                from: UserId(header_u64(seen.headers, FROM)?),
                sent_at_ms: header_u64(seen.headers, SENT_AT)?,
                kind: header_kind(seen.headers)?,
                body: seen.payload.clone(),
            };
            bytes += mail.body.len();
            stored.push(Stored {
                seq: seen.seq,
                mail,
            });
            Ok(if stored.len() >= max {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })
        .await?;
        Ok(stored)
    }

    /// Read what goes (headers only), keep the receipts, then purge: a crash between the two
    /// repeats the receipts later, never loses one.
    pub(super) async fn ack(&self, id: UserId, upto: u64) -> Result<Acked, StoreError> {
        let (count, _) = self.mailbox_size(id).await?;
        if count == 0 {
            return Ok(Acked::default());
        }
        let subject = self.subject(id);
        let mut gone = BoxSize::default();
        let mut senders: BTreeMap<u64, u64> = BTreeMap::new();
        let read = self.read_mailbox(&subject, 1, count, u64::MAX, true);
        scan(self.mail_of(id), read, |seen| {
            if seen.seq > upto {
                return Ok(ControlFlow::Break(()));
            }
            gone.count += 1;
            gone.bytes += seen.size;
            let sender = header_u64(seen.headers, FROM)?;
            if sender >= FIRST_ACCOUNT_ID {
                senders.insert(sender, seen.seq);
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        if gone.count == 0 {
            return Ok(Acked::default());
        }
        let receipts: Vec<Receipt> = senders
            .into_iter()
            .map(|(sender, through)| Receipt {
                sender: UserId(sender),
                receiver: id,
                through,
            })
            .collect();
        for receipt in &receipts {
            self.keep_receipt(receipt).await?;
        }
        let purged = step(
            "acknowledge a mailbox",
            self.mail_of(id)
                .purge()
                .filter(subject.as_str())
                .sequence(upto.saturating_add(1)),
        )
        .await?
        .purged;
        // Fewer than read: another hub acknowledged or expired some at the same time and
        // took their size out itself; their bytes are not known here, so keep them counted
        // (the bound errs on the full side).
        let gone = if purged == gone.count {
            gone
        } else {
            BoxSize {
                count: purged,
                bytes: 0,
            }
        };
        self.shrink(id, gone).await?;
        Ok(Acked {
            removed: purged,
            receipts,
        })
    }

    pub(super) async fn mailbox_size(&self, id: UserId) -> Result<(u64, u64), StoreError> {
        Ok(match self.entry(&box_key(id)).await? {
            Some((value, _)) => {
                let size = decode_box(&value)?;
                (size.count, size.bytes)
            }
            None => (0, 0),
        })
    }

    /// One headers-only pass over every mailbox, then each old one deleted. All the mail is
    /// read each time: stopping at the first mail the server received after the cutoff would
    /// trust every hub's clock (and the callers' `now_ms`) to match the server's.
    pub(super) async fn expire(&self, now_ms: u64) -> Result<u64, StoreError> {
        let cutoff = now_ms.saturating_sub(self.bounds.max_age.as_millis() as u64);
        let mut old = Vec::new();
        for stream in &self.mail {
            let read = Read {
                // No filter: the whole stream.
                filter: "",
                from: 1,
                headers_only: true,
                most: u64::MAX,
            };
            scan(stream, read, |seen| {
                if header_u64(seen.headers, SENT_AT)? < cutoff {
                    if let Some(owner) = self.owner(seen.subject) {
                        old.push((seen.seq, owner, seen.size));
                    }
                }
                Ok(ControlFlow::Continue(()))
            })
            .await?;
        }
        let mut gone: BTreeMap<u64, BoxSize> = BTreeMap::new();
        let mut count = 0;
        for (seq, owner, bytes) in old {
            if erase(self.mail_of(owner), seq).await? {
                count += 1;
                let size = gone.entry(owner.0).or_default();
                size.count += 1;
                size.bytes += bytes;
            }
        }
        for (owner, size) in gone {
            self.shrink(UserId(owner), size).await?;
        }
        Ok(count)
    }
}
