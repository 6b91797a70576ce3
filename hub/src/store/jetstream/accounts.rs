//! The JetStream store's accounts: ids from a compare-and-set counter, names claimed with
//! `create`, lookups, the directory, key records and deletion.

use std::ops::ControlFlow;

use shared::account::{KeyRecord, FIRST_ACCOUNT_ID};
use shared::{PublicKey, UserId};

use super::records::{
    box_key, decode_account, decode_u64, encode_account, encode_box, encode_u64, id_key, name_key,
    name_of_key, receipts_key, BoxSize, NEXT_ID,
};
use super::scan::{erase, scan, Read};
use super::{contended, Inner, CAS_ATTEMPTS};
use crate::store::{glob_matches, plain_glob, Account, StoreError};

impl Inner {
    /// The account goes in as `id.<id>` and `box.<id>`, then its name is claimed; a hub that
    /// loses the claim to another erases both. A crash before the claim leaves an id nobody
    /// was given and no name (the id is not handed out again).
    pub(super) async fn create_account(
        &self,
        name: &str,
        key: PublicKey,
        now_ms: u64,
    ) -> Result<Account, StoreError> {
        let claim = name_key(name);
        let taken = || Err(StoreError::NameTaken(name.to_owned()));
        if self.entry(&claim).await?.is_some() {
            return taken();
        }
        let id = self.next_id().await?;
        let account = Account {
            id,
            name: name.to_owned(),
            key,
            created_ms: now_ms,
            record: None,
        };
        if !self.create(&id_key(id), encode_account(&account)).await?
            || !self
                .create(&box_key(id), encode_box(BoxSize::default()))
                .await?
        {
            return Err(StoreError::Nats(format!(
                "the account id {} is in use although the counter handed it out",
                id.0
            )));
        }
        if !self.create(&claim, encode_u64(id.0)).await? {
            self.erase_key(&box_key(id)).await?;
            self.erase_key(&id_key(id)).await?;
            return taken();
        }
        Ok(account)
    }

    /// The next account id: the counter raised by compare-and-set, never lowered.
    async fn next_id(&self) -> Result<UserId, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            match self.entry(NEXT_ID).await? {
                None => {
                    if self
                        .create(NEXT_ID, encode_u64(FIRST_ACCOUNT_ID + 1))
                        .await?
                    {
                        return Ok(UserId(FIRST_ACCOUNT_ID));
                    }
                }
                Some((value, revision)) => {
                    let next = decode_u64(&value)?;
                    if self.update(NEXT_ID, encode_u64(next + 1), revision).await? {
                        return Ok(UserId(next));
                    }
                }
            }
        }
        Err(contended(NEXT_ID))
    }

    pub(super) async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let Some((id, _)) = self.entry(&name_key(name)).await? else {
            return Ok(None);
        };
        let id = UserId(decode_u64(&id)?);
        let Some((account, _)) = self.entry(&id_key(id)).await? else {
            return Ok(None);
        };
        let account = decode_account(&account)?;
        Ok((account.name == name).then_some(account))
    }

    /// An account is there only while its name is bound to it: `id.<id>` alone is one being
    /// created or deleted.
    pub(super) async fn account_by_id(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        let Some((account, _)) = self.entry(&id_key(id)).await? else {
            return Ok(None);
        };
        let account = decode_account(&account)?;
        match self.entry(&name_key(&account.name)).await? {
            Some((bound, _)) if decode_u64(&bound)? == id.0 => Ok(Some(account)),
            _ => Ok(None),
        }
    }

    /// Every name is read (one headers-only pass over the `name.` keys), matched and sorted
    /// here: the cost grows with the number of accounts, not with the matches.
    pub(super) async fn accounts_matching(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<(Vec<Account>, bool), StoreError> {
        if !plain_glob(pattern) {
            return Ok((Vec::new(), false));
        }
        let filter = format!("{}name.>", self.kv.prefix);
        let mut names = Vec::new();
        let read = Read {
            filter: &filter,
            // From the first, not `LastPerSubject`: with two values kept per key, 2.9 counts
            // both as pending and a reader waits for the one it never delivers. Names are
            // never rewritten.
            from: 1,
            headers_only: true,
            most: u64::MAX,
        };
        scan(&self.kv.stream, read, |seen| {
            if let Some(name) = name_of_key(seen.subject) {
                if glob_matches(pattern, &name) {
                    names.push(name);
                }
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        names.sort_unstable();
        names.dedup();
        let mut accounts = Vec::new();
        for name in names {
            // A name whose account is mid-delete does not count.
            if let Some(account) = self.account_by_name(&name).await? {
                if accounts.len() == limit {
                    return Ok((accounts, true));
                }
                accounts.push(account);
            }
        }
        Ok((accounts, false))
    }

    pub(super) async fn set_record(
        &self,
        id: UserId,
        record: KeyRecord,
    ) -> Result<bool, StoreError> {
        let key = id_key(id);
        for _ in 0..CAS_ATTEMPTS {
            let Some((value, revision)) = self.entry(&key).await? else {
                return Ok(false);
            };
            let mut account = decode_account(&value)?;
            account.record = Some(record);
            if self
                .update(&key, encode_account(&account), revision)
                .await?
            {
                // The bucket keeps one older value per key (KEPT_VALUES) so that this one,
                // which holds the replaced key record, is erased rather than just unlinked.
                erase(&self.kv.stream, revision).await?;
                return Ok(true);
            }
        }
        Err(contended(&key))
    }

    /// In an order that a crash anywhere leaves no account behind and a second delete
    /// finishes: the mailbox's size (enqueues answer `NoAccount` from then on), the name, the
    /// account, each message, the receipts. Everything is erased, not just unlinked.
    pub(super) async fn delete_account(&self, id: UserId) -> Result<bool, StoreError> {
        let account = match self.entry(&id_key(id)).await? {
            Some((value, _)) => Some(decode_account(&value)?),
            None => None,
        };
        self.erase_key(&box_key(id)).await?;
        if let Some(account) = &account {
            let claim = name_key(&account.name);
            if let Some((bound, revision)) = self.entry(&claim).await? {
                // A name a later account took (after a crashed delete) is not this one's.
                if decode_u64(&bound)? == id.0 {
                    erase(&self.kv.stream, revision).await?;
                }
            }
        }
        self.erase_key(&id_key(id)).await?;
        let subject = self.subject(id);
        let mut seqs = Vec::new();
        let read = Read {
            filter: &subject,
            from: 1,
            headers_only: true,
            most: u64::MAX,
        };
        scan(self.mail_of(id), read, |seen| {
            seqs.push(seen.seq);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        for seq in seqs {
            erase(self.mail_of(id), seq).await?;
        }
        self.erase_key(&receipts_key(id)).await?;
        self.forget_receiver(id).await?;
        Ok(account.is_some())
    }
}
