//! `tui-client send`: receivers by name or id (names looked up before anything is sent), the
//! body from the arguments, a file or standard input, and an exit code from the hub's answer.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use shared::account::{canonical_name, AccountEntry, Who, FIRST_ACCOUNT_ID};
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId, KEYS_VERSION};
use tokio::io::AsyncReadExt;

use super::{connect, log_in, request, say, Options, REQ};
use crate::exit::ExitWith;
use crate::files;
use crate::identity::Identity;
use crate::net::{Answer, Relay};

mod protect;

/// One receiver as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// An id: digits, or `#` and digits (as the inbox writes them).
    Id(UserId),
    /// An account name (canonical): anything else, or `@` and a name that is all digits.
    Name(String),
}

/// Read one receiver.
pub fn parse_receiver(given: &str) -> Result<Receiver, String> {
    let s = given.trim();
    if s.is_empty() {
        return Err("an empty receiver (two commas in a row?)".into());
    }
    if let Some(name) = s.strip_prefix('@') {
        return canonical_name(name)
            .map(Receiver::Name)
            .map_err(|e| format!("{given:?} is not an account name: {e}"));
    }
    let digits = s.strip_prefix('#').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits
            .parse()
            .map(|id| Receiver::Id(UserId(id)))
            .map_err(|_| format!("{given:?} is too large for an id"));
    }
    canonical_name(s)
        .map(Receiver::Name)
        .map_err(|e| format!("{given:?} is neither an id nor an account name: {e}"))
}

/// Read every receiver, each with the words it was given in (for messages).
pub fn parse_receivers(given: &[String]) -> Result<Vec<(String, Receiver)>, String> {
    given
        .iter()
        .map(|g| Ok((g.trim().to_owned(), parse_receiver(g)?)))
        .collect()
}

/// Run `send`: parse, connect, look the names up, read the body, log in, relay, report.
/// The login comes last so that this short session is a live one of the account for as
/// little time as possible (messages to the account then reach it rather than the mailbox).
pub async fn run(
    opts: &Options,
    me: Option<&Identity>,
    to: &[String],
    file: Option<PathBuf>,
    text: Vec<String>,
) -> Result<()> {
    let wanted = parse_receivers(to).map_err(|e| eyre!(e))?;
    let mut conn = connect(&opts.hubs).await?;
    let limits = conn.welcome.limits;
    let (to, entries) = resolve(&mut conn, wanted).await?;
    check_receivers(&to, usize::from(limits.max_receivers))?;
    let (kind, body) = read_body(file, text, u64::from(limits.max_body)).await?;
    if let Some(me) = me {
        log_in(&mut conn, me).await?;
    }
    let sender = me.zip(conn.account().map(|a| a.user_id));
    let version = conn.version();
    let (kind, body) = match sender {
        _ if version < KEYS_VERSION => {
            eprintln!(
                "tui-client: not encrypted: the hub speaks protocol version {version}, before \
                 end-to-end keys"
            );
            (kind, body)
        }
        Some(sender) => protect::protect(opts, sender, &to, &entries, kind, body)?,
        None => {
            eprintln!("tui-client: not encrypted: you are not logged in (anonymous)");
            (kind, body)
        }
    };
    let labels: HashMap<UserId, String> = to.iter().map(|(l, id)| (*id, l.clone())).collect();
    let relay = Relay {
        req: REQ,
        to: to.iter().map(|(_, id)| *id).collect(),
        kind,
        body,
    };
    let Ok((_, answer)) = Answer::from_msg(request(&mut conn, relay.into_msg()).await?) else {
        bail!("the hub answered something else than a relay result");
    };
    report(&answer, to.len(), &labels)
}

/// Ids for every receiver, and the directory entries (with keys) of those that are accounts;
/// names are looked up one by one, and account ids too on a hub of version 4. Every unknown
/// name is an error before anything is sent.
async fn resolve(
    conn: &mut Connection,
    wanted: Vec<(String, Receiver)>,
) -> Result<(Vec<(String, UserId)>, HashMap<UserId, AccountEntry>)> {
    let mut unknown = Vec::new();
    let mut to = Vec::with_capacity(wanted.len());
    let mut entries = HashMap::new();
    for (n, (label, receiver)) in wanted.into_iter().enumerate() {
        let who = match receiver {
            Receiver::Id(id) if id.0 >= FIRST_ACCOUNT_ID && conn.version() >= KEYS_VERSION => {
                Who::Id(id)
            }
            Receiver::Id(id) => {
                to.push((label, id));
                continue;
            }
            Receiver::Name(name) => Who::Name(name),
        };
        let by_id = matches!(who, Who::Id(_));
        let req = RequestId(REQ.0 + 1 + n as u32);
        let lookup = ClientMsg::Lookup { req, who };
        let answer = request(conn, lookup)
            .await
            .wrap_err_with(|| format!("cannot look up {label}"))?;
        match answer {
            HubMsg::Account {
                account: Some(info),
                ..
            } => to.push((label, info.user_id)),
            HubMsg::Entry {
                account: Some(entry),
                ..
            } => {
                to.push((label, entry.user_id));
                entries.insert(entry.user_id, *entry);
            }
            // An id that is no account (any more) is the hub's to report as unknown.
            HubMsg::Entry { account: None, .. } if by_id => match parse_receiver(&label) {
                Ok(Receiver::Id(id)) => to.push((label, id)),
                _ => unknown.push(label),
            },
            HubMsg::Account { account: None, .. } | HubMsg::Entry { account: None, .. } => {
                unknown.push(label)
            }
            other => bail!("the hub answered a lookup with {other:?}"),
        }
    }
    if !unknown.is_empty() {
        bail!("no such account: {}; nothing was sent", unknown.join(", "));
    }
    Ok((to, entries))
}

/// The hub would refuse these too; saying so before sending is clearer.
fn check_receivers(to: &[(String, UserId)], max: usize) -> Result<()> {
    let mut seen: HashMap<UserId, &str> = HashMap::new();
    for (label, id) in to {
        match seen.insert(*id, label) {
            Some(first) if first == label => bail!("receiver {label} is named twice"),
            Some(first) => bail!("receivers {first} and {label} are the same ({id})"),
            None => {}
        }
    }
    if to.len() > max {
        bail!("{} receivers; the limit is {max}", to.len());
    }
    Ok(())
}

/// Print what became of the message and end with its exit code (see [`Answer::exit_code`]).
fn report(answer: &Answer, receivers: usize, labels: &HashMap<UserId, String>) -> Result<()> {
    let list = |ids: &[UserId]| {
        let named: Vec<&str> = ids
            .iter()
            .map(|id| labels.get(id).map_or("?", String::as_str))
            .collect();
        named.join(",")
    };
    say(format!("delivered to {} of {receivers}", answer.delivered))?;
    if !answer.queued.is_empty() {
        say(format!("queued for {}", list(&answer.queued)))?;
    }
    let mut why = Vec::new();
    let reasons = [
        (&answer.unknown, "unknown receivers"),
        (&answer.dropped, "dropped (too slow)"),
        (&answer.full, "mailbox full"),
    ];
    for (ids, what) in reasons {
        if !ids.is_empty() {
            why.push(format!("{what}: {}", list(ids)));
        }
    }
    if answer.complete() && !answer.queued.is_empty() {
        why.push(format!(
            "offline, kept in their mailbox until they log in: {}",
            list(&answer.queued)
        ));
    }
    match answer.exit_code() {
        crate::exit::OK => Ok(()),
        code => Err(ExitWith(code, why.join("; ")).into()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Receiver {
        Receiver::Name(s.into())
    }

    #[test]
    fn digits_are_ids_and_the_rest_are_names() {
        let cases = [
            ("12", Receiver::Id(UserId(12))),
            ("#12", Receiver::Id(UserId(12))),
            (" 4294967296 ", Receiver::Id(UserId(1 << 32))),
            ("bob", name("bob")),
            ("Carol", name("carol")),
            ("@12", name("12")),
            ("12a", name("12a")),
            ("b.o_b-1", name("b.o_b-1")),
        ];
        for (given, expected) in cases {
            assert_eq!(parse_receiver(given), Ok(expected), "{given:?}");
        }
    }

    #[test]
    fn what_is_neither_an_id_nor_a_name_is_refused_with_the_words_given() {
        for (given, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("bob!", "neither"),
            ("#", "neither"),
            ("@", "not an account name"),
            ("@a b", "not an account name"),
            ("99999999999999999999", "too large"),
            (&"x".repeat(33), "at most 32"),
        ] {
            let err = parse_receiver(given).expect_err(given);
            assert!(err.contains(why), "{given:?}: {err}");
        }
        let given = ["bob".to_owned(), "12".to_owned(), "x y".to_owned()];
        let err = parse_receivers(&given).expect_err("one is bad");
        assert!(err.contains("\"x y\""), "{err}");
        let ok = parse_receivers(&given[..2]).expect("both good");
        assert_eq!(ok[0], ("bob".to_owned(), name("bob")));
        assert_eq!(ok[1], ("12".to_owned(), Receiver::Id(UserId(12))));
    }

    #[test]
    fn one_receiver_under_two_names_is_refused() {
        let bob = UserId(1 << 32);
        let twice = [("bob".to_owned(), bob), ("bob".to_owned(), bob)];
        let err = check_receivers(&twice, 255).expect_err("twice");
        assert!(err.to_string().contains("bob is named twice"), "{err}");
        let aliased = [("bob".to_owned(), bob), ("4294967296".to_owned(), bob)];
        let err = check_receivers(&aliased, 255).expect_err("the same");
        assert!(err.to_string().contains("bob and 4294967296"), "{err}");
        let many: Vec<_> = (0..3).map(|i| (i.to_string(), UserId(i))).collect();
        assert!(check_receivers(&many, 2).is_err());
        assert!(check_receivers(&many, 3).is_ok());
    }
}
