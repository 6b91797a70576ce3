//! Logging a connection in with the identity file, the same for the full-screen client and
//! every one-shot command, and what each refusal means in words a user can act on.

use shared::account::Who;
use shared::conn::{ConnError, Connection, LoggedIn};
use shared::{ErrorKind, KEYS_VERSION};

use super::CONNECT_TIMEOUT;
use crate::identity::Identity;
use crate::secure::Keys;

/// Why a login did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginError {
    /// One line for the user.
    pub text: String,
    /// Whether trying again with the same identity cannot help: the hub does not know the
    /// account or key, has no accounts, or the account is gone. Otherwise (too many
    /// attempts, a store failure, a lost connection) a later attempt may work.
    pub permanent: bool,
}

/// Log `conn` in as `me`, waiting at most [`CONNECT_TIMEOUT`] for the hub: as a session that
/// receives (`receive`: the full-screen client, `listen`), or only to act as the account (the
/// other one-shot commands, which end before they could read what is sent to it).
pub async fn login(
    conn: &mut Connection,
    me: &Identity,
    receive: bool,
) -> Result<LoggedIn, LoginError> {
    let login = async {
        let account = if receive {
            conn.login(&me.key, &me.name).await
        } else {
            conn.login_to_act(&me.key, &me.name).await
        }?;
        publish_key(conn, me, &account).await;
        Ok(account)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
        Ok(Ok(account)) => Ok(account),
        Ok(Err(e)) => Err(explain(&e, &me.name)),
        Err(_) => Err(LoginError {
            text: format!(
                "cannot log in as {}: no answer within {CONNECT_TIMEOUT:?}",
                me.name
            ),
            permanent: false,
        }),
    }
}

/// Publish the account's end-to-end receiver key unless the hub's directory has it already
/// (on a hub of protocol version 4). A failure is logged, not fatal: others then send to the
/// account in the clear, marked as such.
pub async fn publish_key(conn: &mut Connection, me: &Identity, account: &LoggedIn) {
    if conn.version() < KEYS_VERSION {
        return;
    }
    let record = Keys::new(account.user_id, me).record();
    match conn.lookup_entry(Who::Id(account.user_id)).await {
        Ok(Some(entry)) if entry.record == Some(record) => return,
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up this account's own key");
            return;
        }
    }
    match conn.publish_key(record).await {
        Ok(()) => tracing::info!("published this account's encryption key"),
        Err(e) => tracing::warn!(error = %e, "cannot publish this account's encryption key"),
    }
}

/// A login's error in words, and whether it is worth trying again.
pub fn explain(e: &ConnError, name: &str) -> LoginError {
    let anonymous = "--anonymous connects without logging in";
    let (text, permanent) = match e {
        ConnError::Denied {
            kind: ErrorKind::LoginFailed,
            text,
        } => (
            format!(
                "the hub has no account {name} with this key ({text}); the identity file may \
                 be for another hub; {anonymous}"
            ),
            true,
        ),
        ConnError::Denied {
            kind: ErrorKind::AccountDeleted,
            ..
        } => (
            format!("the account {name} has been deleted; {anonymous}"),
            true,
        ),
        ConnError::Denied {
            kind: ErrorKind::RateLimited,
            text,
        } => (
            format!(
                "cannot log in as {name}: too many attempts from this address, try again \
                 later ({text})"
            ),
            false,
        ),
        ConnError::Denied {
            kind: ErrorKind::StoreFailed,
            text,
        } => (
            format!("cannot log in as {name}: the hub's store failed ({text})"),
            false,
        ),
        ConnError::Denied { .. } | ConnError::NeedsVersion { .. } | ConnError::BadName(_) => {
            (format!("cannot log in as {name}: {e}; {anonymous}"), true)
        }
        other => (format!("cannot log in as {name}: {other}"), false),
    };
    LoginError { text, permanent }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(kind: ErrorKind) -> LoginError {
        let text = "hub words".to_owned();
        explain(&ConnError::Denied { kind, text }, "alice")
    }

    #[test]
    fn refusals_say_what_to_do_and_whether_to_retry() {
        let failed = denied(ErrorKind::LoginFailed);
        assert!(failed.permanent);
        assert!(failed.text.contains("no account alice"), "{}", failed.text);
        assert!(failed.text.contains("--anonymous"), "{}", failed.text);
        assert!(!denied(ErrorKind::RateLimited).permanent);
        assert!(!denied(ErrorKind::StoreFailed).permanent);
        assert!(denied(ErrorKind::AccountDeleted).permanent);
        let old = explain(
            &ConnError::NeedsVersion {
                needed: 3,
                agreed: 2,
            },
            "alice",
        );
        assert!(
            old.permanent && old.text.contains("version 2"),
            "{}",
            old.text
        );
        assert!(!explain(&ConnError::Closed, "alice").permanent);
    }
}
