//! The account commands: `register`, `whoami`, `users`, `delete-account`.

use std::io::{BufRead, IsTerminal, Write};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use shared::account::{canonical_name, AccountEntry};
use shared::conn::Connection;
use shared::{ClientMsg, HubMsg, SecretKey};

use super::{connect, log_in, request, say, Options, REQ};
use crate::identity::{self, Identity};

/// `register NAME`: the identity file's key if it is NAME's (the same account on another
/// hub), else a new key; the file is written before asking the hub and put in place only
/// once the hub said `LoggedIn`, so a refused registration leaves no file and an accepted one
/// never loses its key.
pub async fn register(opts: &Options, name: &str) -> Result<()> {
    if opts.anonymous {
        bail!("register creates an account and logs in as it; drop --anonymous");
    }
    let name = canonical_name(name).map_err(|e| eyre!("{name:?} cannot be a name: {e}"))?;
    let path = identity::path_or_default(opts.identity.as_deref())?;
    let (identity, pending) = match identity::load(&path)? {
        Some(existing) if existing.name == name => (existing, None),
        Some(existing) => bail!(
            "{} already holds the identity of {}; give another file with --identity PATH \
             to register {name}",
            path.display(),
            existing.name
        ),
        None => {
            let identity = Identity {
                name: name.clone(),
                key: SecretKey::generate(),
            };
            let pending = identity::prepare(&path, &identity)?;
            (identity, Some(pending))
        }
    };
    let mut conn = connect(&opts.hubs).await?;
    let account = conn
        .register(&identity.key, &name)
        .await
        .wrap_err_with(|| format!("cannot register {name}"))?;
    if let Some(pending) = pending {
        pending.commit()?;
    }
    crate::net::login::publish_key(&mut conn, &identity, &account).await;
    eprintln!(
        "registered {} as {} on {}; the identity is in {}",
        account.name,
        account.user_id,
        opts.hubs,
        path.display()
    );
    say(account.user_id)
}

/// `whoami`: `ID NAME`, or `ID (anonymous)`.
pub fn whoami(conn: &mut Connection) -> Result<()> {
    match conn.account() {
        Some(account) => say(format!("{} {}", account.user_id, account.name)),
        None => say(format!("{} (anonymous)", conn.user_id())),
    }
}

/// `users [PATTERN]`: `ID NAME online|offline` by name; a note on standard error when the
/// hub listed only the first of more matches.
pub async fn users(conn: &mut Connection, pattern: String) -> Result<()> {
    let shown = pattern.clone();
    let (users, limited) = match request(conn, ClientMsg::Users { req: REQ, pattern }).await? {
        HubMsg::Users { users, limited, .. } => (users, limited),
        HubMsg::Entries { users, limited, .. } => {
            (users.iter().map(AccountEntry::info).collect(), limited)
        }
        _ => bail!("the hub answered something else than a list of accounts"),
    };
    for user in &users {
        let online = if user.online { "online" } else { "offline" };
        say(format!("{} {} {online}", user.user_id, user.name))?;
    }
    if limited {
        eprintln!(
            "tui-client: limited: more accounts match {shown:?} than the {} listed; narrow \
             the pattern",
            users.len()
        );
    }
    Ok(())
}

/// `delete-account [--yes]`: ask (unless `--yes`), log in, delete, then remove the file.
pub async fn delete(opts: &Options, yes: bool) -> Result<()> {
    if opts.anonymous {
        bail!("delete-account deletes the identity file's account; drop --anonymous");
    }
    let path = identity::path_or_default(opts.identity.as_deref())?;
    let Some(me) = identity::load(&path)? else {
        bail!(
            "no identity file at {}: no account to delete",
            path.display()
        );
    };
    if !yes {
        confirm(&me.name, &opts.hubs.to_string())?;
    }
    let mut conn = connect(&opts.hubs).await?;
    log_in(&mut conn, &me).await?;
    let id = conn.user_id();
    conn.delete_account(&me.key)
        .await
        .wrap_err_with(|| format!("cannot delete {}", me.name))?;
    identity::remove(&path)?;
    eprintln!(
        "deleted the account {} ({id}) and {}",
        me.name,
        path.display()
    );
    Ok(())
}

/// Ask for the account's name on standard input; anything else (or no terminal and no
/// answer) keeps the account.
fn confirm(name: &str, hub: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!(
            "Delete the account {name} on {hub}, with its mailbox? This cannot be undone.\n\
             Type its name to confirm: "
        );
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .wrap_err("cannot read the confirmation")?;
    if line.trim() != name {
        bail!("not confirmed (expected {name:?}); nothing was deleted; --yes skips the question");
    }
    Ok(())
}
