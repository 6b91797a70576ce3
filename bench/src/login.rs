//! `loadgen run --login`: the fan-out, chat and idle workloads with every hub client logged in
//! as an account, to hold the hot path of accounts (protocol version 3) to the anonymous one.
//!
//! Before anything is timed, one account per client is registered on a connection of its own
//! (the client library, `account::register_away`); then each lean client says `Hello` at
//! version 3, asks for a challenge and logs in with `receive: true`, so the hub routes relays
//! to it by its account id. The workload itself is unchanged: it only addresses the account
//! ids, and the lean scanner reads `Routed` where it read `Relayed`.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use shared::account::{Purpose, CHALLENGE_LEN};
use shared::{ClientMsg, RequestId, SecretKey, ACCOUNTS_VERSION};
use tokio::io::AsyncWriteExt;

use crate::account;
use crate::proto::{read_until, Client, Proto};
use crate::scan::Event;
use crate::Workload;

/// Registrations in flight at once (as `crowd`).
const REGISTERING: usize = 64;

/// An account a client of the run logs in as.
pub struct Identity {
    /// Its name, unique to this load generator's process and the client's number.
    pub name: String,
    /// Its key.
    pub key: SecretKey,
}

/// The accounts for a run of `workload` with `n` clients: none for an anonymous run.
pub async fn accounts(
    proto: Proto,
    addr: SocketAddr,
    login: bool,
    workload: Workload,
    n: usize,
) -> anyhow::Result<Option<Vec<Identity>>> {
    if !login {
        return Ok(None);
    }
    if proto != Proto::Hub {
        bail!("--login is for --target hub: only the hub has accounts");
    }
    // Signatures are over the canonical (lower-case) name.
    let prefix = format!("{workload:?}").to_lowercase();
    register_all(addr, &prefix, n).await.map(Some)
}

/// Register `n` fresh accounts named `<prefix>-<pid>-<i>`, their sessions closed again. The
/// hub must allow that many registrations from one address (`--register-rate`).
pub async fn register_all(
    addr: SocketAddr,
    prefix: &str,
    n: usize,
) -> anyhow::Result<Vec<Identity>> {
    let pid = std::process::id();
    futures::stream::iter(0..n as u64)
        .map(|i| async move {
            let id = Identity {
                name: format!("{prefix}-{pid}-{i}"),
                key: account::key_for(i),
            };
            account::register_away(addr, &id.key, &id.name)
                .await
                .with_context(|| format!("registering {}", id.name))?;
            anyhow::Ok(id)
        })
        .buffered(REGISTERING)
        .try_collect()
        .await
}

/// Log the lean hub client `client` in as `id` at protocol version 3; its account id. The
/// hello and the challenge go in one write: the hub answers them in order.
pub async fn log_in(client: &mut Client, id: &Identity) -> anyhow::Result<u64> {
    let hello = ClientMsg::<&[u8]>::Hello {
        req: RequestId(0),
        version: ACCOUNTS_VERSION,
    };
    let challenge = ClientMsg::<&[u8]>::Challenge { req: RequestId(1) };
    let mut first = hello.to_frame()?.to_vec();
    first.extend_from_slice(&challenge.to_frame()?);
    client.wr.write_all(&first).await?;
    client.wr.flush().await?;
    let (mut version, mut nonce) = (None, None);
    read_until(client, |e| {
        match e {
            Event::Hello(v) => version = Some(v),
            Event::Challenge(n) => nonce = <[u8; CHALLENGE_LEN]>::try_from(n).ok(),
            _ => {}
        }
        nonce.is_some()
    })
    .await?;
    if version != Some(u64::from(ACCOUNTS_VERSION)) {
        bail!("the hub agreed on version {version:?}, logging in needs {ACCOUNTS_VERSION}");
    }
    let nonce = nonce.expect("read_until returned once the nonce came");
    let login: Bytes = ClientMsg::<&[u8]>::Login {
        req: RequestId(2),
        name: id.name.clone(),
        signature: id
            .key
            .sign_bound(Purpose::Login, &nonce, &id.name, &client.binding),
        receive: true,
    }
    .to_frame()?;
    client.wr.write_all(&login).await?;
    client.wr.flush().await?;
    let mut account = None;
    read_until(client, |e| {
        if let Event::LoggedIn(user) = e {
            account = Some(user);
        }
        account.is_some()
    })
    .await
    .with_context(|| format!("logging in as {}", id.name))?;
    Ok(account.expect("read_until returned once LoggedIn came"))
}
