//! One-shot commands for scripts: `id`, `list`, `send`, `listen`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::Local;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};
use tokio::io::AsyncReadExt;

use crate::cli::Command;
use crate::files;
use crate::incoming::{self, Body, FilePlace};
use crate::sanitize::display;

/// Longest wait for the hub to accept and welcome us: a hub that takes longer is as good as
/// unreachable for a script.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The request id every one-shot uses (one request per connection).
const REQ: RequestId = RequestId(1);

/// An error that asks for a particular exit code.
#[derive(Debug)]
pub struct ExitWith(pub u8, pub String);

impl fmt::Display for ExitWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for ExitWith {}

/// Print one line. A reader that went away (`| head`) ends the command quietly and
/// successfully, as it does for other Unix tools.
fn say(line: impl fmt::Display) -> Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(ExitWith(0, String::new()).into())
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
        Command::Listen { save_dir, json } => {
            listen(hub, conn, &save_dir.unwrap_or(download_dir), json).await?
        }
    }
    Ok(())
}

async fn connect(hub: &str) -> Result<Connection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(hub)).await {
        Ok(conn) => conn.wrap_err_with(|| format!("cannot reach the hub at {hub}")),
        Err(_) => bail!("cannot reach the hub at {hub}: no welcome within {CONNECT_TIMEOUT:?}"),
    }
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
    conn.send(&ClientMsg::Relay {
        req: REQ,
        to: to.clone(),
        kind,
        body,
    })
    .await?;
    let HubMsg::Relayed {
        delivered,
        unknown,
        dropped,
        ..
    } = answer(conn).await?
    else {
        bail!("the hub answered something else than a relay result");
    };
    say(format!("delivered to {delivered} of {}", to.len()))?;
    let list = |ids: &[UserId]| {
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut why = Vec::new();
    if !unknown.is_empty() {
        why.push(format!("unknown receivers: {}", list(&unknown)));
    }
    if !dropped.is_empty() {
        why.push(format!("dropped (too slow): {}", list(&dropped)));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(ExitWith(3, why.join("; ")).into())
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

async fn listen(hub: &str, mut conn: Connection, dir: &Path, json: bool) -> Result<()> {
    let me = conn.user_id();
    if json {
        say(serde_json::json!({"event": "ready", "user_id": me.0, "hub": hub}))?;
    } else {
        eprintln!("listening as #{me} on {hub}; files go to {}", dir.display());
    }
    loop {
        let msg = tokio::select! {
            msg = conn.recv() => msg.wrap_err("lost the hub")?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        match msg {
            HubMsg::KeepAlive => conn.send(&ClientMsg::<Bytes>::KeepAliveAck).await?,
            HubMsg::Message { from, kind, body } => {
                let now = Local::now();
                let stamp = now.format("%Y%m%d-%H%M%S").to_string();
                let d = dir.to_owned();
                let body = tokio::task::spawn_blocking(move || {
                    incoming::receive(&d, from, kind, body, &stamp)
                })
                .await?;
                say(message_line(
                    from,
                    &now.format("%H:%M:%S").to_string(),
                    &body,
                    json,
                ))?;
            }
            HubMsg::Error {
                req: None,
                kind,
                text,
            } => bail!("the hub closed the connection: {text} ({kind:?})"),
            other => tracing::debug!(?other, "ignored"),
        }
    }
}

fn message_line(from: UserId, at: &str, body: &Body, json: bool) -> String {
    match (body, json) {
        (Body::Text(text), true) => serde_json::json!({"event": "message", "from": from.0, "at": at, "kind": "text", "text": text}).to_string(),
        (Body::Text(text), false) => format!("{at} #{from}: {}", display(text)),
        (Body::File { name, size, place }, true) => {
            let (path, error) = match place {
                FilePlace::Saved(p) | FilePlace::Sent(p) => (Some(p.display().to_string()), None),
                FilePlace::Failed(e) => (None, Some(e.clone())),
            };
            serde_json::json!({"event": "message", "from": from.0, "at": at, "kind": "file", "name": name, "size": size, "path": path, "error": error}).to_string()
        }
        (Body::File { name, size, place }, false) => match place {
            // A terminal may be reading: the saved path passes the sanitiser too.
            FilePlace::Saved(p) | FilePlace::Sent(p) => format!("{at} #{from}: file {name} ({size} bytes) saved to {}", display(&p.display().to_string())),
            FilePlace::Failed(e) => format!("{at} #{from}: file {name} ({size} bytes) NOT saved: {}", display(e)),
        },
    }
}
