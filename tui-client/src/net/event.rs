//! The messages between the network task and the UI.

use std::time::Duration;

use chrono::NaiveTime;
use shared::account::{AccountInfo, PeerInfo, Who};
use shared::{Limits, RequestId, UserId};

use super::relay::{Answer, Relay};
use crate::incoming::Body;

/// What the network task tells the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// Trying to connect (attempt 1 is the first) to one of the hub's addresses.
    Connecting {
        /// Which attempt since the last connection that worked.
        attempt: u32,
        /// The address tried, as given; a `Connected` that follows is to it.
        hub: String,
    },
    /// Connected (to the address of the last `Connecting`); the hub gave us this identity.
    Connected {
        /// Our id on this connection.
        user_id: UserId,
        /// The hub's limits.
        limits: Limits,
    },
    /// The connection is gone; the next attempt is in `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// Logged in with the identity file: from now on our id is the account's.
    LoggedIn {
        /// The account's id.
        user_id: UserId,
        /// Its canonical name.
        name: String,
        /// Messages in its mailbox, about to come.
        waiting: u64,
    },
    /// This session's own fingerprint (logged in, with end-to-end keys).
    Fingerprint(String),
    /// The hub refused the identity for good; this connection stays anonymous.
    LoginRefused(String),
    /// Everyone else connected right now (the start of the watch, before version 3).
    Peers(Vec<UserId>),
    /// Everyone else connected right now, with account names (the start of the watch).
    Present(Vec<PeerInfo>),
    /// A user connected (before version 3).
    Joined(UserId),
    /// A user connected: an anonymous one, or an account's first session.
    Arrived(PeerInfo),
    /// Account names learnt from lookups.
    Names(Vec<(UserId, String)>),
    /// A user disconnected.
    Left(UserId),
    /// A message for us, live or from the mailbox.
    Message {
        /// The sender.
        from: UserId,
        /// When it arrived, or when the hub stored it (local time).
        at: NaiveTime,
        /// Text, or the saved file.
        body: Body,
        /// It came in the clear while this session could have read an envelope (logged
        /// in): the inbox marks it "not encrypted".
        clear: bool,
    },
    /// An envelope that did not open: never its bytes, only why.
    Unopened {
        /// The sender.
        from: UserId,
        /// When it came.
        at: NaiveTime,
        /// Why, in one line.
        why: String,
        /// The sender's key is not the one pinned.
        changed: bool,
    },
    /// We sent a message in the clear although logged in: a receiver cannot read an
    /// envelope (why). The UI says so in that conversation.
    SentClear {
        /// The relay's receivers.
        to: Vec<UserId>,
        /// Why, in words.
        why: String,
    },
    /// A person's key is not the one pinned (or their published key is forged): sending to
    /// them is refused until `tui-client trust NAME`.
    KeyAlert {
        /// Who.
        id: UserId,
        /// Why, in one line.
        why: String,
    },
    /// What another session of our account sent.
    Outgoing {
        /// Its receivers.
        to: Vec<UserId>,
        /// When it came (local time).
        at: NaiveTime,
        /// What it was.
        body: Body,
    },
    /// The hub's answer to `/who`: matching accounts by name, and whether there were more.
    Users {
        /// The UI's request.
        req: RequestId,
        /// The accounts.
        users: Vec<AccountInfo>,
        /// More matched than are listed.
        limited: bool,
    },
    /// The hub's answer to `/whois`.
    Account {
        /// The UI's request.
        req: RequestId,
        /// The account, if there is one.
        account: Option<AccountInfo>,
        /// Its fingerprint and pin state, from a hub of version 4 when logged in.
        keys: Option<String>,
    },
    /// The hub's answer to one of our relays.
    Relayed(RequestId, Answer),
    /// A receipt: what we queued for `to` with a mailbox seq up to `through` reached it.
    Delivered {
        /// The receiver.
        to: UserId,
        /// The highest seq it acknowledged of ours.
        through: u64,
    },
    /// One of our requests failed.
    Failed {
        /// Which request.
        req: RequestId,
        /// Why.
        text: String,
    },
}

/// What the UI asks of the network task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetCommand {
    /// Relay a body.
    Relay(Relay),
    /// List the accounts whose names match a glob (needs protocol version 3).
    Users {
        /// The UI's request id.
        req: RequestId,
        /// The glob.
        pattern: String,
    },
    /// Look up one account (needs protocol version 3).
    Lookup {
        /// The UI's request id.
        req: RequestId,
        /// By name or id.
        who: Who,
    },
}

impl NetCommand {
    /// The request id its answer will carry.
    pub fn req(&self) -> RequestId {
        match self {
            NetCommand::Relay(relay) => relay.req,
            NetCommand::Users { req, .. } | NetCommand::Lookup { req, .. } => *req,
        }
    }
}
