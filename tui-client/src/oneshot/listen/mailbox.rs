//! What `listen` remembers for the whole run, across reconnections: the stored messages it has
//! printed (a seq seen again is not printed twice), its acknowledgements waiting for the hub's
//! `Done`, and the names of senders.

use std::collections::{HashMap, VecDeque};

use shared::account::{Who, FIRST_ACCOUNT_ID};
use shared::conn::{ConnError, Connection, ACCOUNTS_VERSION};
use shared::{ClientMsg, HubMsg, RequestId, UserId};

/// The run's memory.
#[derive(Debug, Default)]
pub struct Mailbox {
    /// The highest seq printed. The hub sends a mailbox in ascending seq and acks are
    /// cumulative, so anything at or below it has been printed already.
    printed_through: Option<u64>,
    /// Acks sent and not yet answered, oldest first (the hub answers in order).
    unconfirmed: VecDeque<(RequestId, u64)>,
    /// Senders' names (`None`: looked up, no account).
    names: HashMap<UserId, Option<String>>,
    /// The last request id used; ours start at 2 (1 is the one-shot's own).
    last_req: u32,
}

impl Mailbox {
    /// Whether the stored message `seq` is new in this run; it is then counted as printed.
    pub fn first_sight(&mut self, seq: u64) -> bool {
        if self.printed_through.is_some_and(|through| seq <= through) {
            return false;
        }
        self.printed_through = Some(seq);
        true
    }

    /// Acknowledge every stored message up to `seq`; the hub's `Done` comes later.
    pub async fn ack(&mut self, conn: &mut Connection, seq: u64) -> Result<(), ConnError> {
        let req = self.next_req();
        conn.send(&ClientMsg::Ack { req, seq }).await?;
        self.unconfirmed.push_back((req, seq));
        Ok(())
    }

    /// The hub answered `req` with `Done`: the seq it confirms, if it was one of our acks.
    pub fn done(&mut self, req: RequestId) -> Option<u64> {
        let at = self.unconfirmed.iter().position(|(r, _)| *r == req)?;
        // Answers come in order: earlier acks are confirmed (or failed) by now.
        let (_, seq) = self.unconfirmed[at];
        self.unconfirmed.drain(..=at);
        Some(seq)
    }

    /// The seq of the last ack still waiting for its `Done`.
    pub fn waiting_for(&self) -> Option<RequestId> {
        self.unconfirmed.back().map(|(req, _)| *req)
    }

    /// A new connection: acks sent on the old one will not be answered. (Their messages, if
    /// the hub did not keep the ack, come again and are acknowledged again.)
    pub fn reconnected(&mut self) {
        self.unconfirmed.clear();
    }

    /// The account name of `id`, looked up once per run; anonymous ids have none, and an
    /// older hub has no names.
    pub async fn name_of(
        &mut self,
        conn: &mut Connection,
        id: UserId,
    ) -> Result<Option<String>, ConnError> {
        if id.0 < FIRST_ACCOUNT_ID || conn.version() < ACCOUNTS_VERSION {
            return Ok(None);
        }
        if let Some(name) = self.names.get(&id) {
            return Ok(name.clone());
        }
        let req = self.next_req();
        let name = match conn
            .request(&ClientMsg::Lookup {
                req,
                who: Who::Id(id),
            })
            .await?
        {
            HubMsg::Account { account, .. } => account.map(|a| a.name),
            HubMsg::Entry { account, .. } => account.map(|a| a.name),
            _ => None,
        };
        self.names.insert(id, name.clone());
        Ok(name)
    }

    fn next_req(&mut self) -> RequestId {
        // Skip 0 (the hello's), 1 (the one-shot's) and the account helpers' u32::MAX.
        self.last_req = match self.last_req {
            n if !(2..u32::MAX - 1).contains(&n) => 2,
            n => n + 1,
        };
        RequestId(self.last_req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seq_is_printed_once_per_run() {
        let mut m = Mailbox::default();
        assert!(m.first_sight(3));
        assert!(m.first_sight(5));
        assert!(!m.first_sight(5), "the same seq again");
        assert!(!m.first_sight(4), "an older one, after a reconnection");
        assert!(m.first_sight(6));
    }

    #[test]
    fn a_done_confirms_its_ack_and_every_earlier_one() {
        let mut m = Mailbox::default();
        let reqs: Vec<RequestId> = (0..3).map(|_| m.next_req()).collect();
        for (req, seq) in reqs.iter().zip([10, 11, 12]) {
            m.unconfirmed.push_back((*req, seq));
        }
        assert_eq!(m.waiting_for(), Some(reqs[2]));
        assert_eq!(m.done(reqs[1]), Some(11));
        assert_eq!(m.done(reqs[0]), None, "already confirmed");
        assert_eq!(m.done(RequestId(99)), None, "not an ack");
        assert_eq!(m.done(reqs[2]), Some(12));
        assert_eq!(m.waiting_for(), None);
        assert!(reqs.iter().all(|r| r.0 >= 2 && r.0 < u32::MAX));
    }
}
