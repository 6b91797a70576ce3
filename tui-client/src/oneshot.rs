//! One-shot commands for scripts: `id`, `list`, `send`, `listen`.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use tokio::io::AsyncReadExt;

use crate::cli::Command;
use crate::exit::{self, ExitWith};
use crate::net::{Answer, Relay};
use crate::{files, net};

mod listen;

/// The request id every one-shot uses (one request per connection).
const REQ: RequestId = RequestId(1);

/// Print one line. A reader that went away (`| head`) ends the command quietly and
/// successfully, as it does for other Unix tools.
pub(crate) fn say(line: impl fmt::Display) -> Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(ExitWith(exit::OK, String::new()).into())
        }
        Err(e) => Err(eyre!("cannot write to standard output: {e}")),
    }
}

/// Run one command against `hub`.
pub async fn run(hub: &str, command: Command, download_dir: PathBuf) -> Result<()> {
    let mut conn = connect(hub).await?;
    match command {
        Command::Id => say(conn.user_id())?,
        Command::List => {
            conn.send(&ClientMsg::<Bytes>::List { req: REQ }).await?;
            let peers = loop {
                match answer(&mut conn).await? {
                    HubMsg::Peers { peers, .. } => break peers,
                    other => tracing::debug!(?other, "ignored"),
                }
            };
            for p in peers {
                say(p)?;
            }
        }
        Command::Send { to, file, text } => send(&mut conn, to, file, text).await?,
        Command::Listen {
            save_dir,
            json,
            once,
        } => {
            let dir = save_dir.unwrap_or(download_dir);
            listen::run(hub, conn, &dir, listen::Form { json, once }).await?
        }
    }
    Ok(())
}

async fn connect(hub: &str) -> Result<Connection> {
    net::connect(hub)
        .await
        .map_err(|why| eyre!("cannot reach the hub at {hub}: {why}"))
}

/// The next message that answers [`REQ`] (keepalives answered on the way); an error answer
/// becomes an error.
async fn answer(conn: &mut Connection) -> Result<HubMsg> {
    loop {
        match conn.recv().await.wrap_err("lost the hub")? {
            HubMsg::KeepAlive => conn.send(&ClientMsg::<Bytes>::KeepAliveAck).await?,
            HubMsg::Error { kind, text, .. } => bail!("the hub refused: {text} ({kind:?})"),
            msg @ (HubMsg::Peers { req: REQ, .. } | HubMsg::Relayed { req: REQ, .. }) => {
                return Ok(msg)
            }
            other => tracing::debug!(?other, "ignored"),
        }
    }
}

async fn send(
    conn: &mut Connection,
    to: Vec<u64>,
    file: Option<PathBuf>,
    text: Vec<String>,
) -> Result<()> {
    let limits = conn.welcome.limits;
    check_receivers(&to, usize::from(limits.max_receivers))?;
    let (kind, body) = read_body(file, text, u64::from(limits.max_body)).await?;
    let to: Vec<UserId> = to.into_iter().map(UserId).collect();
    let receivers = to.len();
    let relay = Relay {
        req: REQ,
        to,
        kind,
        body,
    };
    conn.send(&relay.into_msg()).await?;
    let Ok((_, answer)) = Answer::from_msg(answer(conn).await?) else {
        bail!("the hub answered something else than a relay result");
    };
    say(format!("delivered to {} of {receivers}", answer.delivered))?;
    let list = |ids: &[UserId]| {
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut why = Vec::new();
    if !answer.unknown.is_empty() {
        why.push(format!("unknown receivers: {}", list(&answer.unknown)));
    }
    if !answer.dropped.is_empty() {
        why.push(format!("dropped (too slow): {}", list(&answer.dropped)));
    }
    match (answer.complete(), answer.delivered) {
        (true, _) => Ok(()),
        (false, 0) => Err(ExitWith(exit::NONE_DELIVERED, why.join("; ")).into()),
        (false, _) => Err(ExitWith(exit::PARTIAL, why.join("; ")).into()),
    }
}

/// The hub would refuse these too; saying so before connecting traffic is clearer.
fn check_receivers(to: &[u64], max: usize) -> Result<()> {
    let mut seen = HashSet::new();
    if let Some(dup) = to.iter().find(|id| !seen.insert(**id)) {
        bail!("receiver {dup} is named twice");
    }
    if to.len() > max {
        bail!("{} receivers; the limit is {max}", to.len());
    }
    Ok(())
}

/// The body to send: the file, the text arguments, or standard input.
async fn read_body(
    file: Option<PathBuf>,
    text: Vec<String>,
    max: u64,
) -> Result<(BodyKind, Bytes)> {
    let (kind, body) = match file {
        Some(path) => {
            let (name, body) = files::read_attachment(&path, max).map_err(|e| eyre!(e))?;
            (BodyKind::File { name }, body)
        }
        None if !text.is_empty() => (BodyKind::Text, Bytes::from(text.join(" "))),
        None => read_stdin(max).await?,
    };
    if body.len() as u64 > max {
        bail!(
            "the message is {} bytes; the limit is {max} bytes",
            body.len()
        );
    }
    Ok((kind, body))
}

/// Standard input as the body: text if it is UTF-8, bytes otherwise.
async fn read_stdin(max: u64) -> Result<(BodyKind, Bytes)> {
    let mut buf = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    tokio::io::stdin()
        .take(max + 1)
        .read_to_end(&mut buf)
        .await
        .wrap_err("cannot read standard input")?;
    if buf.len() as u64 > max {
        bail!("standard input is over the limit of {max} bytes");
    }
    let kind = if std::str::from_utf8(&buf).is_ok() {
        BodyKind::Text
    } else {
        BodyKind::Bytes
    };
    Ok((kind, Bytes::from(buf)))
}
