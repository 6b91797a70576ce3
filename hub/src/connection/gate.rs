//! `--require-login`: what a connection that has not logged in may still ask.

use shared::{ClientMsg, ErrorKind, RequestId};

use super::accounts::ACCOUNTS_VERSION;
use super::requests::refuse;
use super::Client;
use crate::close::{Close, CloseReason};

/// What a refused request is told.
pub(super) const LOGIN_REQUIRED_TEXT: &str =
    "this hub requires login: log in or register first (only Hello, Challenge, Register, Login and Ping are answered before)";

/// `Some` if `msg` must be refused because the hub requires login and `client` has not
/// logged in: the refusal (the request's `WrongState` error), or the reason to close a
/// connection too old to log in at all.
pub(super) fn check(client: &Client, msg: &ClientMsg<&[u8]>) -> Option<Result<(), Close>> {
    if !client.hub.config.require_login || client.account.is_some() {
        return None;
    }
    let req = match msg {
        ClientMsg::Hello { .. }
        | ClientMsg::Challenge { .. }
        | ClientMsg::Register { .. }
        | ClientMsg::Login { .. }
        | ClientMsg::Ping { .. }
        | ClientMsg::KeepAliveAck => return None,
        ClientMsg::Identity { req }
        | ClientMsg::List { req }
        | ClientMsg::Relay { req, .. }
        | ClientMsg::Echo { req, .. }
        | ClientMsg::Watch { req }
        | ClientMsg::Lookup { req, .. }
        | ClientMsg::Users { req, .. }
        | ClientMsg::DeleteAccount { req, .. }
        | ClientMsg::Ack { req, .. }
        | ClientMsg::PublishKey { req, .. } => *req,
    };
    Some(refusal(client, req))
}

fn refusal(client: &Client, req: RequestId) -> Result<(), Close> {
    if client.version < ACCOUNTS_VERSION {
        // It can never log in: `WrongState` is not in its version either.
        return Err(Close::with_text(
            CloseReason::Malformed,
            format!("{LOGIN_REQUIRED_TEXT}; logging in needs protocol version {ACCOUNTS_VERSION}"),
        ));
    }
    refuse(client, req, ErrorKind::WrongState, LOGIN_REQUIRED_TEXT)
}
