//! `tui-client listen`: log in when there is an identity, print the mailbox and then each
//! message as it arrives (a line of text, or one JSON object per line), acknowledge what was
//! printed, save files, report a lost hub as a `closed` event and, unless `--once`, reconnect
//! with the full-screen client's fail-over and backoff.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chrono::Local;
use color_eyre::eyre::{bail, eyre, Result};
use shared::account::Who;
use shared::conn::{ConnError, Connection};
use shared::{BodyKind, ClientMsg, HubMsg, UserId};

use super::say;
use crate::identity::Identity;
use crate::net::{self, Failover};
use crate::secure::{Keys, Opener, Trust};

mod mailbox;
mod print;

use mailbox::Mailbox;
use print::Incoming;

/// Longest wait, after Ctrl-C, for the hub to confirm the last acknowledgement: long enough
/// for a store's fsync, short enough that Ctrl-C still feels like it.
pub const ACK_GRACE: Duration = Duration::from_secs(5);

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

/// Why a connection could not be opened: worth another round after the pause, or not.
enum OpenError {
    Retry(String, Duration),
    Fatal(String),
}

/// Listen on one connection after another until Ctrl-C (or the first close with `--once`,
/// which is an error: the script asked for one connection and lost it), failing over between
/// the hub's addresses as [`Failover`] says. The first round must connect; a login the hub
/// refuses for good ends the run at any time.
pub async fn run(
    hubs: &net::Hubs,
    me: Option<&Identity>,
    pins: Option<&Path>,
    dir: &Path,
    form: Form,
) -> Result<()> {
    let mut failover = Failover::new(hubs.len());
    let mut mailbox = Mailbox::default();
    let (mut at, mut conn) = match open(hubs, &mut failover, me).await {
        Ok(opened) => opened,
        Err(OpenError::Retry(why, _) | OpenError::Fatal(why)) => return Err(eyre!(why)),
    };
    loop {
        mailbox.reconnected();
        let account = conn.account();
        let line = print::ready(
            &hubs.get(at).to_string(),
            conn.user_id(),
            account,
            dir,
            form,
        );
        if form.json {
            say(line)?;
        } else {
            eprintln!("{line}");
        }
        let mut opener = opener(&conn, me, pins)?;
        let mut reason = match serve(&mut conn, &mut mailbox, opener.as_mut(), dir, form).await? {
            End::Interrupted => return Ok(()),
            End::Closed(reason) => reason,
        };
        if form.once {
            say(print::closed(&reason, None, form))?;
            bail!("lost the hub: {reason}");
        }
        let mut wait = failover.lost();
        (at, conn) = loop {
            say(print::closed(&reason, Some(wait), form))?;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
            match open(hubs, &mut failover, me).await {
                Ok(opened) => break opened,
                Err(OpenError::Retry(why, retry_in)) => (reason, wait) = (why, retry_in),
                Err(OpenError::Fatal(why)) => return Err(eyre!(why)),
            }
        };
    }
}

/// What opens envelopes on this connection: with an identity, once logged in.
fn opener(conn: &Connection, me: Option<&Identity>, pins: Option<&Path>) -> Result<Option<Opener>> {
    let (Some(me), Some(account), Some(pins)) = (me, conn.account(), pins) else {
        return Ok(None);
    };
    let trust = Trust::load(pins).map_err(|e| eyre!("{}: {e}", pins.display()))?;
    Ok(Some(Opener::new(Keys::new(account.user_id, me), trust)))
}

/// Connect (one round through the addresses), and log in if there is an identity.
async fn open(
    hubs: &net::Hubs,
    failover: &mut Failover,
    me: Option<&Identity>,
) -> Result<(usize, Connection), OpenError> {
    let (at, mut conn) = net::hubs::connect_round(hubs, failover)
        .await
        .map_err(|e| match e.permanent() {
            true => OpenError::Fatal(e.to_string()),
            false => OpenError::Retry(e.to_string(), e.retry_in),
        })?;
    if let Some(me) = me {
        if let Err(e) = net::login(&mut conn, me, true).await {
            return Err(match e.permanent {
                true => OpenError::Fatal(e.text),
                false => OpenError::Retry(e.text, failover.lost()),
            });
        }
    }
    Ok((at, conn))
}

/// Print messages until the connection ends; keepalives are answered on the way.
async fn serve(
    conn: &mut Connection,
    mailbox: &mut Mailbox,
    mut opener: Option<&mut Opener>,
    dir: &Path,
    form: Form,
) -> Result<End> {
    loop {
        let msg = tokio::select! {
            msg = conn.recv() => msg,
            _ = tokio::signal::ctrl_c() => {
                finish(conn, mailbox, form).await?;
                return Ok(End::Interrupted);
            }
        };
        let handled = match msg {
            Ok(msg) => handle(conn, mailbox, opener.as_deref_mut(), msg, dir, form).await,
            Err(e) => Err(Step::Conn(e)),
        };
        match handled {
            Ok(None) => {}
            Ok(Some(end)) => return Ok(end),
            // A broken pipe to standard output ends the command, not just the connection.
            Err(Step::Output(report)) => return Err(report),
            Err(Step::Conn(e)) => return Ok(End::Closed(e.to_string())),
        }
    }
}

/// Why handling one message stopped.
enum Step {
    Conn(ConnError),
    Output(color_eyre::Report),
}

impl From<ConnError> for Step {
    fn from(e: ConnError) -> Step {
        Step::Conn(e)
    }
}

/// Handle one message: `Some` when the connection has ended.
async fn handle(
    conn: &mut Connection,
    mailbox: &mut Mailbox,
    opener: Option<&mut Opener>,
    msg: HubMsg,
    dir: &Path,
    form: Form,
) -> Result<Option<End>, Step> {
    let place = Place { dir, form };
    match msg {
        HubMsg::KeepAlive => conn.send(&ClientMsg::<Bytes>::KeepAliveAck).await?,
        HubMsg::Message { from, kind, body } => {
            show(conn, mailbox, opener, (from, kind, body), None, place).await?
        }
        HubMsg::Stored {
            seq,
            from,
            sent_at_ms,
            kind,
            body,
        } => {
            if mailbox.first_sight(seq) {
                let stored = Some((seq, sent_at_ms));
                show(conn, mailbox, opener, (from, kind, body), stored, place).await?;
            }
            // Printed (now or before): the hub may forget it.
            mailbox.ack(conn, seq).await?;
        }
        HubMsg::Outgoing { to, kind, body } => {
            let (kind, body) = match (kind, opener) {
                (BodyKind::Sealed, Some(opener)) => opener
                    .open_own(&body)
                    .unwrap_or_else(|why| (BodyKind::Text, Bytes::from(format!("! {why}")))),
                (kind, _) => (kind, body),
            };
            let body = net::session::outgoing_body(&kind, &body);
            let mut named = Vec::with_capacity(to.len());
            for id in &to {
                named.push(mailbox.name_of(conn, *id).await?);
            }
            let at = Local::now().format("%H:%M:%S").to_string();
            let line = print::outgoing(&to, &named, &at, &body, form.json);
            say(line).map_err(Step::Output)?;
        }
        HubMsg::Delivered { to, through } => {
            let name = mailbox.name_of(conn, to).await?;
            let at = Local::now().format("%H:%M:%S").to_string();
            let line = print::delivered(to, name.as_deref(), through, &at, form.json);
            say(line).map_err(Step::Output)?;
        }
        HubMsg::Done { req } => {
            if let (Some(seq), true) = (mailbox.done(req), form.json) {
                say(print::acked(seq)).map_err(Step::Output)?;
            }
        }
        HubMsg::Error {
            req: None,
            kind,
            text,
        } => return Ok(Some(End::Closed(net::goodbye(kind, &text)))),
        HubMsg::Error {
            req: Some(req),
            kind,
            text,
        } => eprintln!("tui-client: the hub refused request {req}: {text} ({kind:?})"),
        other => tracing::debug!(?other, "ignored"),
    }
    Ok(None)
}

/// Where files go and how to print.
#[derive(Clone, Copy)]
struct Place<'a> {
    dir: &'a Path,
    form: Form,
}

/// Open (if it is an envelope), save or decode a message and print it, its sender named if
/// the sender has an account. An envelope that does not open is one line saying why.
async fn show(
    conn: &mut Connection,
    mailbox: &mut Mailbox,
    opener: Option<&mut Opener>,
    (from, kind, body): (UserId, BodyKind, Bytes),
    stored: Option<(u64, u64)>,
    Place { dir, form }: Place<'_>,
) -> Result<(), Step> {
    let name = mailbox.name_of(conn, from).await?;
    let when = |arrived: chrono::DateTime<Local>| match stored {
        Some((_, ms)) => print::stored_at(ms, Local::now()),
        None => arrived.format("%H:%M:%S").to_string(),
    };
    let sealed = kind == BodyKind::Sealed;
    let (kind, body) = match (sealed, opener) {
        (false, _) => (kind, body),
        (true, Some(opener)) => {
            let entry = match conn.lookup_entry(Who::Id(from)).await {
                Ok(entry) => entry,
                // A refused lookup leaves the envelope unopened, not the connection closed.
                Err(ConnError::Denied { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            match opener.open(from, entry.as_ref(), &body) {
                Ok(opened) => opened,
                Err(why) => {
                    return unopened(from, name.as_deref(), &when(Local::now()), &why, form)
                }
            }
        }
        (true, None) => {
            let why = "an encrypted message, and this session is anonymous: not opened";
            return unopened(from, name.as_deref(), &when(Local::now()), why, form);
        }
    };
    let (arrived, body) = net::receive(dir, from, kind, body).await;
    let line = Incoming {
        from,
        name: name.as_deref(),
        stored,
        at: when(arrived),
        body: &body,
        sealed,
    };
    say(print::message(&line, form.json)).map_err(Step::Output)
}

fn unopened(from: UserId, name: Option<&str>, at: &str, why: &str, form: Form) -> Result<(), Step> {
    say(print::unopened(from, name, at, why, form.json)).map_err(Step::Output)
}

/// After Ctrl-C: wait (at most [`ACK_GRACE`]) for the hub to confirm the last ack, so that
/// what was printed is not sent again next time. Messages meanwhile are left unprinted and
/// unacknowledged: the hub keeps them.
async fn finish(conn: &mut Connection, mailbox: &mut Mailbox, form: Form) -> Result<()> {
    let Some(last) = mailbox.waiting_for() else {
        return Ok(());
    };
    let wait = async {
        loop {
            match conn.recv().await {
                Ok(HubMsg::Done { req }) => {
                    let seq = mailbox.done(req);
                    if let (Some(seq), true) = (seq, form.json) {
                        say(print::acked(seq))?;
                    }
                    if req == last {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
    };
    tokio::time::timeout(ACK_GRACE, wait)
        .await
        .unwrap_or(Ok(()))
}
