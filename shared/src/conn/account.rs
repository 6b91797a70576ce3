//! Accounts on a connection: ask for a challenge, sign it, register or log in, and wait for
//! the answer by request id, keeping every push that comes first for a later `recv`.

use bytes::Bytes;

use super::{ConnError, Connection};
use crate::account::{
    canonical_name, AccountEntry, KeyRecord, Purpose, SecretKey, Who, CHALLENGE_LEN,
};
use crate::id::{RequestId, UserId};
use crate::message::{ClientMsg, HubMsg, KEYS_VERSION};

/// The first protocol version with accounts and mailboxes. On an older connection the
/// account requests would be malformed (the hub closes on them), so they are refused here.
pub use crate::message::ACCOUNTS_VERSION;

/// The request id of the challenges, logins, registrations and deletions this module sends.
/// Their answers are told apart by id, so a caller's own requests in flight at the same time
/// use other ids (the terminal client numbers its own from 1 and stays below 2^31).
pub const ACCOUNT_REQ: RequestId = RequestId(u32::MAX);

/// Most pushes kept while waiting for an answer. The hub answers requests in order, so only
/// pushes aimed at this connection between the request and its answer come first: a login
/// right after connecting meets none or a few. Past this many the wait fails with
/// [`ConnError::Backlog`] rather than holding an unbounded number of bodies in memory.
pub const ANSWER_BACKLOG_MAX: usize = 1024;

/// The hub's [`HubMsg::LoggedIn`]: the connection is a session of this account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// The account's stable id, from now on this connection's.
    pub user_id: UserId,
    /// The account's canonical name.
    pub name: String,
    /// Messages in the mailbox; they follow as [`HubMsg::Stored`] pushes.
    pub waiting: u64,
}

impl Connection {
    /// The channel binding this connection's signatures cover: the TLS session's
    /// `tls-exporter` value, or nothing over plain TCP.
    pub fn binding(&self) -> &[u8] {
        self.tls().map_or(&[], |tls| &tls.binding[..])
    }

    /// Log in as the account `name` (any case) with `key`: a challenge, then a signed
    /// [`ClientMsg::Login`]. The mailbox follows as [`HubMsg::Stored`] pushes for `recv`.
    pub async fn login(&mut self, key: &SecretKey, name: &str) -> Result<LoggedIn, ConnError> {
        self.login_as(key, name, true).await
    }

    /// Log in as the account `name` to act as it only (`receive: false`): relays this
    /// connection sends are the account's, but relays to the account go to its sessions or
    /// its mailbox, never here, so a short-lived connection loses nothing meant for it.
    pub async fn login_to_act(
        &mut self,
        key: &SecretKey,
        name: &str,
    ) -> Result<LoggedIn, ConnError> {
        self.login_as(key, name, false).await
    }

    async fn login_as(
        &mut self,
        key: &SecretKey,
        name: &str,
        receive: bool,
    ) -> Result<LoggedIn, ConnError> {
        let name = canonical_name(name)?;
        let nonce = self.challenge().await?;
        let signature = key.sign_bound(Purpose::Login, &nonce, &name, self.binding());
        let login = ClientMsg::Login {
            req: ACCOUNT_REQ,
            name,
            signature,
            receive,
        };
        let answer = self.request(&login).await?;
        self.logged_in(answer)
    }

    /// Create the account `name` bound to `key`'s public half, and log in as it.
    pub async fn register(&mut self, key: &SecretKey, name: &str) -> Result<LoggedIn, ConnError> {
        let name = canonical_name(name)?;
        let nonce = self.challenge().await?;
        let signature = key.sign_bound(Purpose::Register, &nonce, &name, self.binding());
        let register = ClientMsg::Register {
            req: ACCOUNT_REQ,
            name,
            key: key.public(),
            signature,
        };
        let answer = self.request(&register).await?;
        self.logged_in(answer)
    }

    /// Delete the account this connection is logged in as, `key` being its key. Returns once
    /// the hub said it is done; the hub then closes every session of the account, this one
    /// included (its goodbye is left for `recv`).
    pub async fn delete_account(&mut self, key: &SecretKey) -> Result<(), ConnError> {
        let name = self
            .account
            .as_ref()
            .ok_or(ConnError::NotLoggedIn)?
            .name
            .clone();
        let nonce = self.challenge().await?;
        let signature = key.sign_bound(Purpose::Delete, &nonce, &name, self.binding());
        let req = ACCOUNT_REQ;
        match self
            .request(&ClientMsg::DeleteAccount { req, signature })
            .await?
        {
            HubMsg::Done { .. } => {
                self.account = None;
                Ok(())
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Publish this account's end-to-end receiver key (protocol version 4). Returns once the
    /// hub has stored it; a record it refuses is [`ConnError::Denied`].
    pub async fn publish_key(&mut self, record: KeyRecord) -> Result<(), ConnError> {
        let req = ACCOUNT_REQ;
        match self.request(&ClientMsg::PublishKey { req, record }).await? {
            HubMsg::Done { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Look an account up with its keys (protocol version 4): `None` when there is none.
    pub async fn lookup_entry(&mut self, who: Who) -> Result<Option<AccountEntry>, ConnError> {
        if self.version() < KEYS_VERSION {
            return Err(ConnError::NeedsVersion {
                needed: KEYS_VERSION,
                agreed: self.version(),
            });
        }
        let req = ACCOUNT_REQ;
        match self.request(&ClientMsg::Lookup { req, who }).await? {
            HubMsg::Entry { account, .. } => Ok(account.map(|a| *a)),
            other => Err(unexpected(&other)),
        }
    }

    /// Every other present user id, ascending (`List` with request id `req`): the
    /// [`HubMsg::PeersPart`] frames of a long answer (version 7) gathered up to its closing
    /// [`HubMsg::Peers`]. Before version 7 the hub sends at most [`crate::LIST_CHUNK`] ids.
    pub async fn list(&mut self, req: RequestId) -> Result<Vec<UserId>, ConnError> {
        let mut all = Vec::new();
        let mut answer = self.request(&ClientMsg::List { req }).await?;
        loop {
            match answer {
                HubMsg::PeersPart { peers, .. } => all.extend(peers),
                HubMsg::Peers { peers, .. } => {
                    all.extend(peers);
                    return Ok(all);
                }
                other => return Err(unexpected(&other)),
            }
            answer = self.answer(req).await?;
        }
    }

    /// A fresh challenge for the next signature of this connection.
    pub async fn challenge(&mut self) -> Result<[u8; CHALLENGE_LEN], ConnError> {
        match self
            .request(&ClientMsg::Challenge { req: ACCOUNT_REQ })
            .await?
        {
            HubMsg::Challenge { nonce, .. } => Ok(nonce),
            other => Err(unexpected(&other)),
        }
    }

    /// The account this connection is logged in as.
    pub fn account(&self) -> Option<&LoggedIn> {
        self.account.as_ref()
    }

    /// Send `msg` and wait for its answer: the next message that carries its request id.
    /// Keepalives are answered on the way; pushes and other answers are kept, in order, for
    /// [`Connection::recv`]. An error answer becomes [`ConnError::Denied`], a goodbye
    /// [`ConnError::Refused`]. Requests that need [`ACCOUNTS_VERSION`] are refused on an
    /// older connection before anything is sent.
    pub async fn request(&mut self, msg: &ClientMsg) -> Result<HubMsg, ConnError> {
        let req = request_id(msg).ok_or(ConnError::NoAnswer)?;
        if self.version() < msg.needs_version() {
            return Err(ConnError::NeedsVersion {
                needed: msg.needs_version(),
                agreed: self.version(),
            });
        }
        self.send(msg).await?;
        self.answer(req).await
    }

    /// Read until the answer to `req` comes.
    async fn answer(&mut self, req: RequestId) -> Result<HubMsg, ConnError> {
        loop {
            match self.reader.next_msg().await? {
                HubMsg::KeepAlive => self.send(&ClientMsg::<Bytes>::KeepAliveAck).await?,
                HubMsg::Error {
                    req: Some(r),
                    kind,
                    text,
                } if r == req => return Err(ConnError::Denied { kind, text }),
                HubMsg::Error {
                    req: None,
                    kind,
                    text,
                } => return Err(ConnError::Refused { kind, text }),
                msg if answer_id(&msg) == Some(req) => return Ok(msg),
                msg if self.reader.pending.len() >= ANSWER_BACKLOG_MAX => {
                    self.reader.pending.push_back(msg);
                    return Err(ConnError::Backlog(ANSWER_BACKLOG_MAX));
                }
                msg => self.reader.pending.push_back(msg),
            }
        }
    }

    fn logged_in(&mut self, answer: HubMsg) -> Result<LoggedIn, ConnError> {
        let HubMsg::LoggedIn {
            user_id,
            name,
            waiting,
            ..
        } = answer
        else {
            return Err(unexpected(&answer));
        };
        let account = LoggedIn {
            user_id,
            name,
            waiting,
        };
        self.account = Some(account.clone());
        Ok(account)
    }
}

fn unexpected(msg: &HubMsg) -> ConnError {
    ConnError::Unexpected(format!("{msg:?}"))
}

/// The request id a request carries; `None` for the one message that is not a request.
fn request_id<B>(msg: &ClientMsg<B>) -> Option<RequestId> {
    Some(match msg {
        ClientMsg::Identity { req }
        | ClientMsg::List { req }
        | ClientMsg::Relay { req, .. }
        | ClientMsg::Echo { req, .. }
        | ClientMsg::Watch { req }
        | ClientMsg::Ping { req }
        | ClientMsg::Hello { req, .. }
        | ClientMsg::Challenge { req }
        | ClientMsg::Register { req, .. }
        | ClientMsg::Login { req, .. }
        | ClientMsg::Lookup { req, .. }
        | ClientMsg::Users { req, .. }
        | ClientMsg::DeleteAccount { req, .. }
        | ClientMsg::Ack { req, .. }
        | ClientMsg::PublishKey { req, .. } => *req,
        ClientMsg::KeepAliveAck => return None,
    })
}

/// The request a hub message answers; `None` for pushes.
fn answer_id<B>(msg: &HubMsg<B>) -> Option<RequestId> {
    match msg {
        HubMsg::Identity { req, .. }
        | HubMsg::Peers { req, .. }
        | HubMsg::Relayed { req, .. }
        | HubMsg::Echo { req, .. }
        | HubMsg::Pong { req }
        | HubMsg::Hello { req, .. }
        | HubMsg::Challenge { req, .. }
        | HubMsg::LoggedIn { req, .. }
        | HubMsg::Account { req, .. }
        | HubMsg::Users { req, .. }
        | HubMsg::Done { req }
        | HubMsg::Routed { req, .. }
        | HubMsg::Present { req, .. }
        | HubMsg::Entry { req, .. }
        | HubMsg::Entries { req, .. }
        | HubMsg::Posted { req, .. }
        | HubMsg::PeersPart { req, .. } => Some(*req),
        HubMsg::Error { req, .. } => *req,
        HubMsg::Welcome { .. }
        | HubMsg::Message { .. }
        | HubMsg::Joined { .. }
        | HubMsg::Left { .. }
        | HubMsg::KeepAlive
        | HubMsg::Stored { .. }
        | HubMsg::Arrived { .. }
        | HubMsg::Outgoing { .. }
        | HubMsg::Delivered { .. }
        | HubMsg::Presence { .. } => None,
    }
}
