//! Accounts from a test's side: ask for a challenge, sign it, register or log in, and read a
//! mailbox the way a client must (dropping a `seq` it has seen).

use std::collections::HashSet;

use bytes::Bytes;
use shared::account::{Purpose, CHALLENGE_LEN};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId, SecretKey, UserId};

use crate::client::{next_answer, recv_skipping};

/// The request ids these helpers use; tests keep their own below them.
const CHALLENGE_REQ: RequestId = RequestId(900_001);
const LOGIN_REQ: RequestId = RequestId(900_002);

/// Ask for a fresh challenge.
pub async fn challenge(conn: &mut Connection) -> [u8; CHALLENGE_LEN] {
    conn.send(&ClientMsg::Challenge { req: CHALLENGE_REQ })
        .await
        .expect("send");
    match next_answer(conn).await {
        HubMsg::Challenge { req, nonce } if req == CHALLENGE_REQ => nonce,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Register `name` with `key` over a fresh challenge; the hub's answer.
pub async fn try_register(conn: &mut Connection, key: &SecretKey, name: &str) -> HubMsg {
    let nonce = challenge(conn).await;
    let msg = ClientMsg::<Bytes>::Register {
        req: LOGIN_REQ,
        name: name.to_owned(),
        key: key.public(),
        signature: key.sign_bound(
            Purpose::Register,
            &nonce,
            &name.to_ascii_lowercase(),
            conn.binding(),
        ),
    };
    conn.send(&msg).await.expect("send");
    next_answer(conn).await
}

/// Wait for the goodbye a session of a deleted account gets (`AccountDeleted`).
pub async fn deleted_goodbye(conn: &mut Connection) {
    match crate::recv_skipping(conn).await {
        HubMsg::Error {
            req: None,
            kind: shared::ErrorKind::AccountDeleted,
            ..
        } => {}
        other => panic!("expected the AccountDeleted goodbye, got {other:?}"),
    }
}

/// Log in as `name` with `key` over a fresh challenge; the hub's answer.
pub async fn try_login(conn: &mut Connection, key: &SecretKey, name: &str) -> HubMsg {
    let nonce = challenge(conn).await;
    let msg = ClientMsg::<Bytes>::Login {
        req: LOGIN_REQ,
        name: name.to_owned(),
        signature: key.sign_bound(
            Purpose::Login,
            &nonce,
            &name.to_ascii_lowercase(),
            conn.binding(),
        ),
        receive: true,
    };
    conn.send(&msg).await.expect("send");
    next_answer(conn).await
}

/// What a successful login said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// The account's id, now the connection's.
    pub user_id: UserId,
    /// Its canonical name.
    pub name: String,
    /// Messages in its mailbox, about to come as `Stored` pushes.
    pub waiting: u64,
}

fn logged_in(answer: HubMsg) -> LoggedIn {
    match answer {
        HubMsg::LoggedIn {
            user_id,
            name,
            waiting,
            ..
        } => LoggedIn {
            user_id,
            name,
            waiting,
        },
        other => panic!("expected LoggedIn, got {other:?}"),
    }
}

/// Register, and insist that it worked.
pub async fn register(conn: &mut Connection, key: &SecretKey, name: &str) -> LoggedIn {
    logged_in(try_register(conn, key, name).await)
}

/// Log in, and insist that it worked.
pub async fn login(conn: &mut Connection, key: &SecretKey, name: &str) -> LoggedIn {
    logged_in(try_login(conn, key, name).await)
}

/// A new connection registered as `name` with a new key.
pub async fn new_account(
    addr: std::net::SocketAddr,
    name: &str,
) -> (Connection, SecretKey, LoggedIn) {
    let key = SecretKey::generate();
    let mut conn = Connection::connect(addr).await.expect("connect");
    let me = register(&mut conn, &key, name).await;
    (conn, key, me)
}

/// Acknowledge everything up to `seq`, and wait until the hub says it is durable.
pub async fn ack(conn: &mut Connection, seq: u64) {
    let req = RequestId(900_003);
    conn.send(&ClientMsg::Ack { req, seq }).await.expect("send");
    loop {
        match recv_skipping(conn).await {
            HubMsg::Done { req: r } if r == req => return,
            HubMsg::Stored { .. } | HubMsg::Message { .. } | HubMsg::Delivered { .. } => continue,
            other => panic!("expected Done, got {other:?}"),
        }
    }
}

/// A client's memory of the mailbox seqs it has seen, so a message that comes again (it was
/// not acknowledged before a reconnect) is shown once.
#[derive(Debug, Default)]
pub struct Seen {
    seqs: HashSet<u64>,
}

impl Seen {
    /// Whether `msg` is new: every `Message`, and a `Stored` whose seq was not seen before.
    pub fn is_new(&mut self, msg: &HubMsg) -> bool {
        match msg {
            HubMsg::Stored { seq, .. } => self.seqs.insert(*seq),
            _ => true,
        }
    }
}
