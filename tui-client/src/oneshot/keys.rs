//! `tui-client whois NAME` and `tui-client trust NAME`: an account's fingerprint and pin
//! state, and accepting its new key.

use color_eyre::eyre::{bail, Result};
use shared::account::{canonical_name, AccountEntry, Who};
use shared::conn::Connection;

use super::{connect_as, say, Options};
use crate::identity::Identity;
use crate::secure::{self, Trust};

/// Look `name` up with its keys; no such account is an error.
async fn entry(conn: &mut Connection, name: &str) -> Result<AccountEntry> {
    let name = canonical_name(name)?;
    match conn.lookup_entry(Who::Name(name.clone())).await? {
        Some(entry) => Ok(entry),
        None => bail!("no such account: {name}"),
    }
}

fn trust_file(opts: &Options) -> Result<Trust> {
    let path = secure::pins_path(opts.identity.as_deref())?;
    Trust::load(&path).map_err(|e| color_eyre::eyre::eyre!("{}: {e}", path.display()))
}

/// `whois NAME`: `id`, `name`, `online`, `fingerprint`, `pin` and `encryption`, one
/// `KEY VALUE` line each.
pub async fn whois(opts: &Options, me: Option<&Identity>, name: &str) -> Result<()> {
    let mut conn = connect_as(&opts.hubs, me).await?;
    let entry = entry(&mut conn, name).await?;
    let trust = trust_file(opts)?;
    let identity = secure::identity_key(&entry)?;
    let yourself = me.is_some_and(|me| me.name == entry.name);
    let pin = match trust.state(&entry)? {
        _ if yourself => "yourself".to_owned(),
        state => state.to_string(),
    };
    let encryption = match &entry.record {
        Some(_) => "yes (published a key)",
        None => "no (published no key: messages to them are not encrypted)",
    };
    say(format!("id {}", entry.user_id))?;
    say(format!("name {}", entry.name))?;
    say(format!(
        "online {}",
        if entry.online { "yes" } else { "no" }
    ))?;
    say(format!("fingerprint {}", e2e::fingerprint(&identity)))?;
    say(format!("pin {pin}"))?;
    say(format!("encryption {encryption}"))
}

/// `trust NAME`: pin NAME's current key, replacing the one pinned.
pub async fn trust(opts: &Options, me: Option<&Identity>, name: &str) -> Result<()> {
    let mut conn = connect_as(&opts.hubs, me).await?;
    let entry = entry(&mut conn, name).await?;
    let mut trust = trust_file(opts)?;
    let identity = secure::identity_key(&entry)?;
    trust.trust(&entry)?;
    say(format!(
        "trusted {}'s key {}",
        entry.name,
        e2e::fingerprint(&identity)
    ))
}
