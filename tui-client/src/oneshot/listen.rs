//! `tui-client listen`: print each message as it arrives (a line of text, or one JSON object per
//! line), save files, report a lost hub as a `closed` event and, unless `--once`, reconnect with
//! the full-screen client's backoff.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chrono::Local;
use color_eyre::eyre::{bail, Result};
use serde_json::json;
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, UserId};

use super::say;
use crate::incoming::{Body, FilePlace};
use crate::net::{self, Backoff};
use crate::sanitize::{display, display_line};

/// How `listen` prints and whether it reconnects.
#[derive(Clone, Copy, Debug)]
pub struct Form {
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Stop at the first close instead of reconnecting.
    pub once: bool,
}

/// Why serving one connection ended.
enum End {
    /// Ctrl-C.
    Interrupted,
    /// The connection is gone, for this reason.
    Closed(String),
}

/// Listen on `conn`, then on each new connection, until Ctrl-C (or the first close with
/// `--once`, which is an error: the script asked for one connection and lost it).
pub async fn run(hub: &str, mut conn: Connection, dir: &Path, form: Form) -> Result<()> {
    let mut backoff = Backoff::default();
    loop {
        ready(hub, conn.user_id(), dir, form)?;
        let mut reason = match serve(&mut conn, dir, form).await? {
            End::Interrupted => return Ok(()),
            End::Closed(reason) => reason,
        };
        backoff.reset();
        if form.once {
            say(closed(&reason, None, form))?;
            bail!("lost the hub: {reason}");
        }
        conn = loop {
            let wait = backoff.pause();
            say(closed(&reason, Some(wait), form))?;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
            match net::connect(hub).await {
                Ok(conn) => break conn,
                Err(why) => reason = why,
            }
        };
    }
}

/// Print messages until the connection ends; keepalives are answered on the way.
async fn serve(conn: &mut Connection, dir: &Path, form: Form) -> Result<End> {
    loop {
        let msg = tokio::select! {
            msg = conn.recv() => msg,
            _ = tokio::signal::ctrl_c() => return Ok(End::Interrupted),
        };
        let msg = match msg {
            Ok(msg) => msg,
            Err(e) => return Ok(End::Closed(e.to_string())),
        };
        match msg {
            HubMsg::KeepAlive => {
                if let Err(e) = conn.send(&ClientMsg::<Bytes>::KeepAliveAck).await {
                    return Ok(End::Closed(e.to_string()));
                }
            }
            HubMsg::Message { from, kind, body } => {
                let (at, body) = net::receive(dir, from, kind, body).await;
                let at = at.format("%H:%M:%S").to_string();
                say(message_line(from, &at, &body, form.json))?;
            }
            HubMsg::Error {
                req: None,
                kind,
                text,
            } => return Ok(End::Closed(net::goodbye(kind, &text))),
            other => tracing::debug!(?other, "ignored"),
        }
    }
}

/// The `ready` event (JSON) or the "listening as" note (text, on standard error).
fn ready(hub: &str, me: UserId, dir: &Path, form: Form) -> Result<()> {
    if form.json {
        say(json!({"event": "ready", "user_id": me.0, "hub": hub}))
    } else {
        eprintln!("listening as #{me} on {hub}; files go to {}", dir.display());
        Ok(())
    }
}

/// The `closed` event: why, and when the next attempt is (none with `--once`).
fn closed(reason: &str, retry_in: Option<Duration>, form: Form) -> String {
    let at = Local::now().format("%H:%M:%S").to_string();
    if form.json {
        let retry_in_ms = retry_in.map(|d| d.as_millis() as u64);
        return json!({"event": "closed", "at": at, "reason": reason, "retry_in_ms": retry_in_ms})
            .to_string();
    }
    let reason = display_line(reason);
    match retry_in {
        Some(d) => format!(
            "{at} closed: {reason}; reconnecting in {:.1}s",
            d.as_secs_f32()
        ),
        None => format!("{at} closed: {reason}"),
    }
}

fn message_line(from: UserId, at: &str, body: &Body, json: bool) -> String {
    match (body, json) {
        (Body::Text(text), true) => serde_json::json!({"event": "message", "from": from.0, "at": at, "kind": "text", "text": text}).to_string(),
        (Body::File { name, size, place }, true) => {
            let (path, error) = match place {
                FilePlace::Saved(p) | FilePlace::Sent(p) => (Some(p.display().to_string()), None),
                FilePlace::Failed(e) => (None, Some(e.clone())),
            };
            serde_json::json!({"event": "message", "from": from.0, "at": at, "kind": "file", "name": name, "size": size, "path": path, "error": error}).to_string()
        }
        // A terminal may be reading: the line passes the sanitiser, as the inbox does.
        (body, false) => format!("{at} #{from}: {}", display(&body.describe())),
    }
}
