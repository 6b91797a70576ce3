//! One-shot commands for scripts: `id`, `list`, `register`, `whoami`, `users`,
//! `delete-account`, `send`, `listen`. With an identity file each logs in first.

use std::fmt;
use std::path::PathBuf;

use color_eyre::eyre::{bail, eyre, Result};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, RequestId};

use crate::cli::{Cli, Command};
use crate::config::Settings;
use crate::exit::{self, ExitWith};
use crate::identity::{self, Identity};
use crate::net;

mod account;
mod keys;
mod listen;
mod send;

pub use send::{parse_receiver, parse_receivers, Receiver};

/// The request id of the one request most commands make.
const REQ: RequestId = RequestId(1);

/// What every command needs to know besides its own arguments.
#[derive(Clone, Debug)]
pub struct Options {
    /// The hub's addresses, and how to reach each.
    pub hubs: net::Hubs,
    /// `--known-hubs`.
    pub known_hubs: Option<PathBuf>,
    /// Where received files go.
    pub download_dir: PathBuf,
    /// `--anonymous`.
    pub anonymous: bool,
    /// `--identity`.
    pub identity: Option<PathBuf>,
}

impl Options {
    /// The global flags of `cli`, over the config file as `settings` merged them; a bad hub
    /// address or CA file is an error.
    pub fn from_cli(cli: &Cli, settings: &Settings, download_dir: PathBuf) -> Result<Options> {
        let hubs = net::Hubs::new(
            &settings.hub,
            cli.tls,
            cli.ca.as_deref(),
            cli.known_hubs.as_deref(),
        )
        .map_err(|e| eyre!(e))?;
        Ok(Options {
            hubs,
            known_hubs: cli.known_hubs.clone(),
            download_dir,
            anonymous: cli.anonymous,
            identity: settings.identity.clone(),
        })
    }

    /// The identity to log in as, if any; see [`identity::choose`].
    pub fn me(&self) -> Result<Option<(PathBuf, Identity)>> {
        Ok(identity::choose(self.anonymous, self.identity.as_deref())?)
    }
}

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

/// Run one command.
pub async fn run(opts: &Options, command: Command) -> Result<()> {
    // These two read (or write) the identity file themselves.
    let me = match command {
        Command::Register { .. } | Command::DeleteAccount { .. } | Command::ForgetHub { .. } => {
            None
        }
        _ => opts.me()?.map(|(_, identity)| identity),
    };
    let me = me.as_ref();
    match command {
        Command::Register { name } => account::register(opts, &name).await,
        Command::DeleteAccount { yes } => account::delete(opts, yes).await,
        Command::Id => say(connect_as(&opts.hubs, me).await?.user_id()),
        Command::List => {
            let mut conn = connect_as(&opts.hubs, me).await?;
            conn.list(REQ).await?.into_iter().try_for_each(say)
        }
        Command::Whoami => account::whoami(&mut connect_as(&opts.hubs, me).await?),
        Command::Users { pattern } => {
            account::users(&mut connect_as(&opts.hubs, me).await?, pattern).await
        }
        Command::ForgetHub { address } => forget_hub(opts, address.as_deref()),
        Command::Send { to, file, text } => send::run(opts, me, &to, file, text).await,
        Command::Whois { name } => keys::whois(opts, me, &name).await,
        Command::Trust { name } => keys::trust(opts, me, &name).await,
        Command::Listen {
            save_dir,
            json,
            once,
        } => {
            let dir = save_dir.unwrap_or_else(|| opts.download_dir.clone());
            let pins = crate::secure::pins_path(opts.identity.as_deref()).ok();
            let form = listen::Form { json, once };
            listen::run(&opts.hubs, me, pins.as_deref(), &dir, form).await
        }
    }
}

/// Connect to the first of `hubs` that answers, trying each in order once; the error names
/// every address and why it failed. A failure before the one that worked is only logged: the
/// command's output is the same as with that address alone.
async fn connect(hubs: &net::Hubs) -> Result<Connection> {
    let (_, conn) = hubs.connect().await.map_err(|e| eyre!(e))?;
    Ok(conn)
}

/// Connect to `hubs` and log in as `me`, if given.
async fn connect_as(hubs: &net::Hubs, me: Option<&Identity>) -> Result<Connection> {
    let mut conn = connect(hubs).await?;
    if let Some(me) = me {
        log_in(&mut conn, me).await?;
    }
    Ok(conn)
}

/// `forget-hub [ADDRESS]`: remove the pin of ADDRESS (default: `--hub`).
fn forget_hub(opts: &Options, address: Option<&str>) -> Result<()> {
    let hub = match address {
        Some(address) => net::HubAddr::new(address, true, None, opts.known_hubs.as_deref())
            .map_err(|e| eyre!(e))?,
        None => opts.hubs.single().cloned().ok_or_else(|| {
            eyre!(
                "--hub names {} addresses: say which one's certificate to forget \
                 (tui-client forget-hub ADDRESS)",
                opts.hubs.len()
            )
        })?,
    };
    if hub
        .forget(opts.known_hubs.as_deref())
        .map_err(|e| eyre!(e))?
    {
        say(format!(
            "forgot the certificate of {}; the next connection pins the one it presents",
            hub.addr()
        ))
    } else {
        bail!("no certificate is pinned for {}", hub.addr())
    }
}

/// Log `conn` in as `me` to act as the account: a one-shot command ends before it could read
/// what is sent to the account, so that goes to its sessions or its mailbox instead. A
/// refusal is the command's error.
async fn log_in(conn: &mut Connection, me: &Identity) -> Result<()> {
    match net::login(conn, me, false).await {
        Ok(_) => Ok(()),
        Err(e) => Err(eyre!(e.text)),
    }
}

/// Send `msg` and wait for its answer; a refusal or a lost hub is the command's error.
async fn request(conn: &mut Connection, msg: ClientMsg) -> Result<HubMsg> {
    Ok(conn.request(&msg).await?)
}
