//! Accounts from the load generator's side, on the client library (`shared::conn`) at protocol
//! version 3: register, log in, look up, and relay to an account that is away.
//!
//! The mailbox workloads make one request and wait for its answer (a relay's answer comes only
//! once its mailbox write is on disk), so the library's per-message cost is far below what is
//! measured; the fan-out workloads keep their lean clients.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use bytes::Bytes;
use shared::account::{Purpose, Who};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, SecretKey, UserId};

/// The request id of every request here; answers come in order, one request at a time.
const REQ: RequestId = RequestId(1);

/// The protocol version of accounts and mailboxes.
const ACCOUNTS_VERSION: u32 = 3;

/// A connection at version 3 (over TLS with `run --tls`).
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Connection> {
    // Version 3: relays answered by `Routed`, as loadgen counts them (5 adds `Posted`).
    let tls = crate::proto::TLS.get();
    let conn = Connection::connect_with(addr, tls, ACCOUNTS_VERSION)
        .await
        .context("connect")?;
    if conn.version() < ACCOUNTS_VERSION {
        bail!(
            "the hub speaks protocol version {}, accounts need {ACCOUNTS_VERSION}",
            conn.version()
        );
    }
    Ok(conn)
}

/// The next answer to a request: presence pushes and keepalives are handled, and relayed or
/// stored messages skipped.
pub async fn answer(conn: &mut Connection) -> anyhow::Result<HubMsg> {
    loop {
        match conn.recv().await.context("waiting for an answer")? {
            HubMsg::Joined { .. }
            | HubMsg::Left { .. }
            | HubMsg::Message { .. }
            | HubMsg::Stored { .. } => {}
            HubMsg::KeepAlive => conn.send(&ClientMsg::KeepAliveAck).await?,
            HubMsg::Error {
                req: None,
                kind,
                text,
            } => bail!("the hub closed the connection: {kind:?}: {text}"),
            other => return Ok(other),
        }
    }
}

/// A key that a later process can derive again from the account's number (the RSS workload
/// logs in to a hub restarted on the same data).
pub fn key_for(index: u64) -> SecretKey {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&index.to_le_bytes());
    SecretKey::from_seed(seed)
}

async fn challenge(conn: &mut Connection) -> anyhow::Result<[u8; 32]> {
    conn.send(&ClientMsg::Challenge { req: REQ }).await?;
    match answer(conn).await? {
        HubMsg::Challenge { nonce, .. } => Ok(nonce),
        other => bail!("expected a challenge, got {other:?}"),
    }
}

/// Register `name` with `key` on `conn`; the new account's id.
pub async fn register(
    conn: &mut Connection,
    key: &SecretKey,
    name: &str,
) -> anyhow::Result<UserId> {
    let nonce = challenge(conn).await?;
    conn.send(&ClientMsg::Register {
        req: REQ,
        name: name.to_owned(),
        key: key.public(),
        signature: key.sign_bound(Purpose::Register, &nonce, name, conn.binding()),
    })
    .await?;
    match answer(conn).await? {
        HubMsg::LoggedIn { user_id, .. } => Ok(user_id),
        other => bail!("registering {name}: expected LoggedIn, got {other:?}"),
    }
}

/// Register `name` on a connection of its own and close it, so the account is away; its id.
pub async fn register_away(
    addr: SocketAddr,
    key: &SecretKey,
    name: &str,
) -> anyhow::Result<UserId> {
    let mut conn = connect(addr).await?;
    register(&mut conn, key, name).await
}

/// Send `Challenge` then `Login` for `name` without waiting for the answer to the login: the
/// caller times what follows. The `LoggedIn` (with `waiting`) and the `Stored` pushes come next.
pub async fn start_login(conn: &mut Connection, key: &SecretKey, name: &str) -> anyhow::Result<()> {
    let nonce = challenge(conn).await?;
    conn.send(&ClientMsg::Login {
        req: REQ,
        name: name.to_owned(),
        signature: key.sign_bound(Purpose::Login, &nonce, name, conn.binding()),
        receive: true,
    })
    .await?;
    Ok(())
}

/// Log in as `name`; how many messages its mailbox holds (they follow as `Stored` pushes).
pub async fn login(conn: &mut Connection, key: &SecretKey, name: &str) -> anyhow::Result<u64> {
    start_login(conn, key, name).await?;
    match answer(conn).await? {
        HubMsg::LoggedIn { waiting, .. } => Ok(waiting),
        other => bail!("logging in as {name}: expected LoggedIn, got {other:?}"),
    }
}

/// Whether a session of `id` is online.
pub async fn online(conn: &mut Connection, id: UserId) -> anyhow::Result<bool> {
    conn.send(&ClientMsg::Lookup {
        req: REQ,
        who: Who::Id(id),
    })
    .await?;
    match answer(conn).await? {
        HubMsg::Account {
            account: Some(info),
            ..
        } => Ok(info.online),
        // A hub of protocol version 4 answers with the account's keys too.
        HubMsg::Entry {
            account: Some(entry),
            ..
        } => Ok(entry.online),
        other => bail!("looking up {id:?}: expected an account, got {other:?}"),
    }
}

/// Wait until no session of any of `ids` is online: their registering connections have been
/// closed, and the hub has seen them go. After that, a relay to them goes to their mailboxes.
pub async fn wait_away(addr: SocketAddr, ids: &[UserId]) -> anyhow::Result<()> {
    let mut conn = connect(addr).await?;
    for &id in ids {
        let mut tries = 0;
        while online(&mut conn, id).await? {
            tries += 1;
            if tries > 500 {
                bail!("{id:?} is still online 5 s after its connection closed");
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    Ok(())
}

/// What the hub said of a relay to accounts that are away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every receiver's mailbox has it, on disk.
    Queued,
    /// Anything else (delivered live, a full mailbox, a store failure, refused): not stored.
    NotQueued,
}

/// Relay `body` to `to` and wait for the answer.
pub async fn relay(conn: &mut Connection, to: &[UserId], body: &Bytes) -> anyhow::Result<Outcome> {
    conn.send(&ClientMsg::Relay {
        req: REQ,
        to: to.to_vec(),
        kind: BodyKind::Bytes,
        body: body.clone(),
    })
    .await?;
    match answer(conn).await? {
        HubMsg::Routed { queued, .. } if queued.len() == to.len() => Ok(Outcome::Queued),
        HubMsg::Routed { .. } | HubMsg::Error { .. } => Ok(Outcome::NotQueued),
        other => bail!("expected Routed, got {other:?}"),
    }
}
