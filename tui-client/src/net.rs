//! The network task: owns the hub connection, logs in with the identity file, keeps presence
//! live with `Watch`, answers keepalives, saves received files, acknowledges the mailbox, and
//! reconnects, failing over between the hub's addresses ([`hubs`]) with backoff. It talks to
//! the UI only through two bounded channels.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Local};
use shared::conn::{ConnWriter, Connection, ACCOUNTS_VERSION};
use shared::{BodyKind, ClientMsg, ErrorKind, RequestId, UserId};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::identity::Identity;
use crate::incoming::{self, Body};
use crate::secure::{Keys, Opener, Trust};
use session::{Memory, Session};

pub mod backoff;
pub mod dial;
mod event;
pub mod hubs;
pub mod login;
pub mod relay;
pub mod sealing;
pub mod session;
pub use backoff::Backoff;
pub use dial::{DialError, FirstUse, HubAddr};
pub use event::{NetCommand, NetEvent};
pub use hubs::{Failover, Hubs, RoundError};
pub use login::{login, LoginError};
pub use relay::{Answer, Relay};

/// Events to the UI. Bounded so a burst from the hub waits here rather than growing memory.
pub const EVENT_CAPACITY: usize = 1024;
/// Commands from the UI. A person cannot queue more than a few sends at once.
pub const COMMAND_CAPACITY: usize = 64;
/// Longest wait for a connection and its welcome: an address that drops packets would
/// otherwise hold the UI (or a script) at "connecting" for the kernel's two minutes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Request id of the `Watch`; the UI numbers its own requests from 1.
pub const WATCH_REQ: RequestId = RequestId(0);

/// Settings of the network task.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// The hub's addresses, and how to reach each.
    pub hubs: Hubs,
    /// Where received files go.
    pub download_dir: PathBuf,
    /// Whom to log in as on every connection.
    pub identity: Option<Identity>,
    /// The pins file (trust on first use of others' keys), beside the identity file.
    pub pins: Option<PathBuf>,
}

/// Run until the UI drops its command sender: connect, serve, and reconnect, failing over
/// between the addresses as [`Failover`] says.
pub async fn run(
    config: NetConfig,
    mut commands: mpsc::Receiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
) {
    let mut failover = Failover::new(config.hubs.len());
    let mut memory = Memory::default();
    let mut attempt = 1;
    loop {
        let hub = config.hubs.get(failover.current());
        let connecting = NetEvent::Connecting {
            attempt,
            hub: hub.to_string(),
        };
        if events.send(connecting).await.is_err() {
            return;
        }
        let (reason, retry_in) = match connect(hub).await {
            Err(e) => (e.text, failover.failed()),
            Ok(conn) => {
                failover.connected();
                attempt = 0;
                match serve(&config, hub, conn, &mut memory, &mut commands, &events).await {
                    Ok(()) => return,
                    Err(reason) => (reason, failover.lost()),
                }
            }
        };
        warn!(%hub, %reason, ?retry_in, "not connected; retrying");
        let gone = NetEvent::Disconnected { reason, retry_in };
        if events.send(gone).await.is_err() {
            return;
        }
        if !pause(retry_in, &mut commands, &events).await {
            return;
        }
        attempt += 1;
    }
}

/// Connect to `hub` and wait for its welcome, at most [`CONNECT_TIMEOUT`]; the error says why
/// in one line.
pub async fn connect(hub: &HubAddr) -> Result<Connection, DialError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, hub.connect()).await {
        Err(_) => Err(format!("no welcome within {CONNECT_TIMEOUT:?}").into()),
        Ok(result) => result,
    }
}

/// Wait out the backoff; commands that arrive meanwhile fail at once rather than wait unseen.
/// `false` when the UI is gone.
async fn pause(
    backoff: Duration,
    commands: &mut mpsc::Receiver<NetCommand>,
    events: &mpsc::Sender<NetEvent>,
) -> bool {
    let sleep = tokio::time::sleep(backoff);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { return false };
                let failed = NetEvent::Failed { req: cmd.req(), text: "not connected".into() };
                if events.send(failed).await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// Serve one connection. `Ok` means the UI is gone; `Err` carries why the connection ended.
async fn serve(
    config: &NetConfig,
    hub: &HubAddr,
    mut conn: Connection,
    memory: &mut Memory,
    commands: &mut mpsc::Receiver<NetCommand>,
    events: &mpsc::Sender<NetEvent>,
) -> Result<(), String> {
    let welcome = conn.welcome;
    info!(user_id = %welcome.user_id, %hub, "connected");
    let connected = NetEvent::Connected {
        user_id: welcome.user_id,
        limits: welcome.limits,
    };
    if events.send(connected).await.is_err() {
        return Ok(());
    }
    if let Some(event) = log_in(config, &mut conn).await? {
        if events.send(event).await.is_err() {
            return Ok(());
        }
    }
    match opener(config, &conn) {
        Ok(opener) => memory.sealing.start(opener),
        Err(why) => memory.sealing.start_without_keys(why),
    }
    if let Some(fingerprint) = memory.sealing.fingerprint() {
        if events
            .send(NetEvent::Fingerprint(fingerprint))
            .await
            .is_err()
        {
            return Ok(());
        }
    }
    let version = conn.version();
    let (mut reader, mut writer) = conn.split();
    writer
        .send(&ClientMsg::<Bytes>::Watch { req: WATCH_REQ })
        .await
        .map_err(|e| e.to_string())?;
    loop {
        // `recv` is cancel-safe (a framed stream's `next`); sends happen in branch bodies.
        tokio::select! {
            msg = reader.recv() => {
                let msg = msg.map_err(|e| e.to_string())?;
                let mut session = Session { config, memory: &mut *memory, writer: &mut writer, events, version };
                if !session.handle(msg).await? {
                    return Ok(());
                }
            }
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { return Ok(()) };
                if let NetCommand::Relay(relay) = cmd {
                    let mut session = Session { config, memory: &mut *memory, writer: &mut writer, events, version };
                    if !session.relay(relay).await? {
                        return Ok(());
                    }
                    continue;
                }
                if let Some(refused) = handle_command(cmd, &mut writer, version).await? {
                    if events.send(refused).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// What opens and seals envelopes on this connection: with an identity, logged in, on a hub
/// of version 4, and a pins file that reads. `None` when not logged in; why not, when logged
/// in without them (what is sent to accounts then goes in the clear, and says so).
fn opener(config: &NetConfig, conn: &Connection) -> Result<Option<Opener>, String> {
    let (Some(me), Some(account)) = (&config.identity, conn.account()) else {
        return Ok(None);
    };
    let Some(pins) = &config.pins else {
        return Err("this client keeps no pins file".into());
    };
    if conn.version() < shared::KEYS_VERSION {
        return Err(format!(
            "the hub predates end-to-end keys (protocol version {})",
            conn.version()
        ));
    }
    match Trust::load(pins) {
        Ok(trust) => Ok(Some(Opener::new(Keys::new(account.user_id, me), trust))),
        Err(e) => {
            warn!(error = %e, pins = %pins.display(), "cannot read the pins file: no end-to-end encryption");
            Err(format!(
                "the pins file {} does not read: {e}",
                pins.display()
            ))
        }
    }
}

/// Log in with the identity, if there is one: the event for the UI, or why the connection
/// must be tried again. A refusal for good keeps the connection, anonymous (the UI says so);
/// trying again could only count against the hub's limit of failed logins.
async fn log_in(config: &NetConfig, conn: &mut Connection) -> Result<Option<NetEvent>, String> {
    let Some(me) = &config.identity else {
        return Ok(None);
    };
    match login(conn, me, true).await {
        Ok(account) => {
            info!(user_id = %account.user_id, name = %account.name, waiting = account.waiting, "logged in");
            Ok(Some(NetEvent::LoggedIn {
                user_id: account.user_id,
                name: account.name,
                waiting: account.waiting,
            }))
        }
        Err(e) if e.permanent => {
            warn!(reason = %e.text, "login refused; staying anonymous");
            Ok(Some(NetEvent::LoginRefused(e.text)))
        }
        Err(e) => Err(e.text),
    }
}

/// Send one command to the hub, or refuse it here: an account request on a connection
/// below [`ACCOUNTS_VERSION`] would make the hub close the connection (the answer for the UI).
async fn handle_command(
    cmd: NetCommand,
    writer: &mut ConnWriter,
    version: u32,
) -> Result<Option<NetEvent>, String> {
    let msg = match cmd {
        NetCommand::Relay(relay) => {
            debug!(req = %relay.req, receivers = relay.to.len(), bytes = relay.body.len(), "relay");
            relay.into_msg()
        }
        NetCommand::Users { req, .. } | NetCommand::Lookup { req, .. }
            if version < ACCOUNTS_VERSION =>
        {
            let text = format!("the hub speaks protocol version {version}: no accounts");
            return Ok(Some(NetEvent::Failed { req, text }));
        }
        NetCommand::Users { req, pattern } => ClientMsg::Users { req, pattern },
        NetCommand::Lookup { req, who } => ClientMsg::Lookup { req, who },
    };
    writer.send(&msg).await.map_err(|e| e.to_string())?;
    Ok(None)
}

/// What a delivered message becomes, and when it arrived; files are saved in `dir` off the
/// async threads. The full-screen client and `listen` both receive through here.
pub async fn receive(
    dir: &Path,
    from: UserId,
    kind: BodyKind,
    body: Bytes,
) -> (DateTime<Local>, Body) {
    let now = Local::now();
    let stamp = now.format("%Y%m%d-%H%M%S").to_string();
    let dir = dir.to_owned();
    let body =
        tokio::task::spawn_blocking(move || incoming::receive(&dir, from, kind, body, &stamp))
            .await
            .unwrap_or_else(|e| Body::Text(format!("(could not handle a message: {e})")));
    (now, body)
}

/// Why the hub closed the connection, from its goodbye.
pub fn goodbye(kind: ErrorKind, text: &str) -> String {
    format!("hub: {text} ({kind:?})")
}
