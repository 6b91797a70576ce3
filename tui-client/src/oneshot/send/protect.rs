//! Whether `send` seals its body: to accounts that all published a key, from an account,
//! after checking every receiver's key against the pins; otherwise in the clear, said on
//! standard error. A changed or forged key refuses the send (exit code 6).

use std::collections::HashMap;

use bytes::Bytes;
use color_eyre::eyre::{eyre, Result};
use shared::account::AccountEntry;
use shared::{BodyKind, UserId};

use crate::exit::{ExitWith, KEY_CHANGED};
use crate::identity::Identity;
use crate::oneshot::Options;
use crate::secure::{self, Keys, Trust};

/// The body to relay: sealed, or as it is (with a note on standard error saying why).
/// `sender` is the identity and the account id it logged in as, on a hub with keys.
pub(super) fn protect(
    opts: &Options,
    (me, my_id): (&Identity, UserId),
    to: &[(String, UserId)],
    entries: &HashMap<UserId, AccountEntry>,
    kind: BodyKind,
    body: Bytes,
) -> Result<(BodyKind, Bytes)> {
    let path = secure::pins_path(opts.identity.as_deref())?;
    let mut trust = Trust::load(&path).map_err(|e| eyre!("{}: {e}", path.display()))?;
    let mut keys = Vec::with_capacity(to.len());
    let mut clear = Vec::new();
    for (label, id) in to {
        let Some(entry) = entries.get(id) else {
            clear.push(format!("{label} is anonymous"));
            continue;
        };
        match trust.check(entry) {
            Ok(checked) => match checked.receiver {
                Some(key) => keys.push((*id, key)),
                None => clear.push(format!("{label} has published no key")),
            },
            Err(
                e @ (secure::TrustError::Changed { .. } | secure::TrustError::BadRecord { .. }),
            ) => return Err(ExitWith(KEY_CHANGED, format!("{e}; nothing was sent")).into()),
            Err(e) => return Err(eyre!(e)),
        }
    }
    if !clear.is_empty() {
        eprintln!("tui-client: not encrypted: {}", clear.join(", "));
        return Ok((kind, body));
    }
    let envelope = Keys::new(my_id, me)
        .seal(&kind, &body, &keys)
        .map_err(|e| eyre!("cannot encrypt the message: {e}"))?;
    Ok((BodyKind::Sealed, envelope))
}
