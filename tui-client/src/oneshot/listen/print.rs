//! What `listen` prints: the `ready`, `message`, `acked` and `closed` events, as a line of
//! text or one JSON object.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone};
use serde_json::{json, Value};
use shared::conn::LoggedIn;
use shared::UserId;

use super::Form;
use crate::incoming::{Body, FilePlace};
use crate::sanitize::{display, display_line};

/// One received message, live or from the mailbox.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The sender.
    pub from: UserId,
    /// The sender's account name, if it has one.
    pub name: Option<&'a str>,
    /// For a stored message: its sequence number and when the hub stored it (ms since the
    /// Unix epoch).
    pub stored: Option<(u64, u64)>,
    /// When it arrived (live) or was stored, as printed.
    pub at: String,
    /// What it is.
    pub body: &'a Body,
    /// Whether it came end-to-end encrypted (and opened).
    pub sealed: bool,
}

/// The time to print for a message stored at `ms`: the time of day if it is today, else the
/// date too.
pub fn stored_at(ms: u64, now: DateTime<Local>) -> String {
    let Some(at) = i64::try_from(ms)
        .ok()
        .and_then(|ms| Local.timestamp_millis_opt(ms).single())
    else {
        return now.format("%H:%M:%S").to_string();
    };
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// The `ready` event (JSON) or the "listening as" note (text, on standard error).
pub fn ready(hub: &str, me: UserId, account: Option<&LoggedIn>, dir: &Path, form: Form) -> String {
    if form.json {
        let name = account.map(|a| a.name.as_str());
        let waiting = account.map(|a| a.waiting);
        return json!({"event": "ready", "user_id": me.0, "hub": hub, "name": name, "waiting": waiting})
            .to_string();
    }
    let who = match account {
        Some(a) => format!(
            "{} (#{me}); {} in the mailbox",
            a.name,
            match a.waiting {
                1 => "1 message".to_owned(),
                n => format!("{n} messages"),
            }
        ),
        None => format!("#{me}"),
    };
    format!(
        "listening as {who} on {}; files go to {}",
        display_line(hub),
        dir.display()
    )
}

/// The `closed` event: why, and when the next attempt is (none with `--once`).
pub fn closed(reason: &str, retry_in: Option<Duration>, form: Form) -> String {
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

/// The `acked` event: the hub has durably forgotten every stored message up to `seq`.
pub fn acked(seq: u64) -> String {
    json!({"event": "acked", "seq": seq}).to_string()
}

/// A receipt: what this account queued for `to` up to mailbox seq `through` reached it.
pub fn delivered(to: UserId, name: Option<&str>, through: u64, at: &str, json: bool) -> String {
    if json {
        return json!({"event": "delivered", "to": to.0, "to_name": name, "through": through, "at": at})
            .to_string();
    }
    let who = name.map_or_else(|| format!("#{to}"), str::to_owned);
    format!(
        "{at} delivered to {} (mailbox seq up to {through})",
        display_line(&who)
    )
}

/// A message as a line of text (sanitised: a terminal may be reading) or a JSON object
/// (exact: JSON escapes every control character).
pub fn message(m: &Incoming, json: bool) -> String {
    if !json {
        let who = m.name.map_or_else(|| format!("#{}", m.from), str::to_owned);
        return format!(
            "{} {}: {}",
            m.at,
            display_line(&who),
            display(&m.body.describe())
        );
    }
    let mut v = json!({"event": "message", "from": m.from.0, "from_name": m.name, "at": m.at});
    let fields = match m.body {
        Body::Text(text) => json!({"kind": "text", "text": text}),
        Body::File { name, size, place } => {
            let (path, error) = match place {
                FilePlace::Saved(p) | FilePlace::Sent(p) => (Some(p.display().to_string()), None),
                FilePlace::Failed(e) => (None, Some(e.clone())),
            };
            json!({"kind": "file", "name": name, "size": size, "path": path, "error": error})
        }
    };
    merge(&mut v, fields);
    merge(&mut v, json!({"encrypted": m.sealed}));
    if let Some((seq, sent_at_ms)) = m.stored {
        merge(&mut v, json!({"seq": seq, "sent_at_ms": sent_at_ms}));
    }
    v.to_string()
}

/// An encrypted message that did not open: one line saying so (in red on a terminal), never
/// its bytes.
pub fn unopened(from: UserId, name: Option<&str>, at: &str, why: &str, json: bool) -> String {
    if json {
        return json!({"event": "message", "from": from.0, "from_name": name, "at": at,
            "kind": "error", "encrypted": true, "error": why})
        .to_string();
    }
    let who = name.map_or_else(|| format!("#{from}"), str::to_owned);
    let line = format!("{at} {}: ! {}", display_line(&who), display_line(why));
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        format!("\x1b[1;31m{line}\x1b[0m")
    } else {
        line
    }
}

/// What another session of our account sent (`to` and the names of those that have one).
pub fn outgoing(
    to: &[UserId],
    names: &[Option<String>],
    at: &str,
    body: &Body,
    json: bool,
) -> String {
    let text = body.describe();
    if json {
        let ids: Vec<u64> = to.iter().map(|id| id.0).collect();
        return json!({"event": "outgoing", "to": ids, "to_names": names, "at": at, "text": text})
            .to_string();
    }
    let who: Vec<String> = to
        .iter()
        .zip(names)
        .map(|(id, name)| name.clone().unwrap_or_else(|| format!("#{id}")))
        .collect();
    format!(
        "{at} you → {}: {}",
        display_line(&who.join(", ")),
        display(&text)
    )
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_prints_its_receiver_by_name_or_id_and_its_seq() {
        let bob = UserId(1 << 32);
        assert_eq!(
            delivered(bob, Some("bob"), 7, "10:00:00", false),
            "10:00:00 delivered to bob (mailbox seq up to 7)"
        );
        assert_eq!(
            delivered(bob, None, 7, "10:00:00", false),
            "10:00:00 delivered to #4294967296 (mailbox seq up to 7)"
        );
        let v: Value = serde_json::from_str(&delivered(bob, None, 7, "10:00:00", true))
            .expect("one JSON object");
        assert_eq!(
            v,
            json!({"event": "delivered", "to": 1u64 << 32, "to_name": null, "through": 7, "at": "10:00:00"})
        );
    }

    #[test]
    fn stored_messages_carry_their_seq_and_live_ones_none() {
        let body = Body::Text("hi\x1b[2J".into());
        let mut m = Incoming {
            from: UserId(1 << 32),
            name: Some("bob"),
            stored: Some((7, 1_000)),
            at: "10:00:00".into(),
            body: &body,
            sealed: true,
        };
        let v: Value = serde_json::from_str(&message(&m, true)).expect("json");
        assert_eq!(
            (v["seq"].as_u64(), v["sent_at_ms"].as_u64()),
            (Some(7), Some(1000))
        );
        assert_eq!(
            (v["from_name"].as_str(), v["text"].as_str()),
            (Some("bob"), Some("hi\x1b[2J"))
        );
        assert_eq!(message(&m, false), "10:00:00 bob: hi^[[2J");
        assert_eq!(v["encrypted"], json!(true));
        m.stored = None;
        m.name = None;
        let v: Value = serde_json::from_str(&message(&m, true)).expect("json");
        assert!(v.get("seq").is_none() && v["from_name"].is_null(), "{v}");
        assert_eq!(message(&m, false), "10:00:00 #4294967296: hi^[[2J");
    }

    #[test]
    fn what_another_session_sent_names_its_receivers() {
        let body = Body::Text("hi".into());
        let to = [UserId(1 << 32), UserId(5)];
        let names = [Some("bob".to_owned()), None];
        assert_eq!(
            outgoing(&to, &names, "10:00:00", &body, false),
            "10:00:00 you → bob, #5: hi"
        );
        let v: Value =
            serde_json::from_str(&outgoing(&to, &names, "t", &body, true)).expect("json");
        assert_eq!(v["event"], "outgoing");
        assert_eq!(v["to"], json!([1u64 << 32, 5]));
        assert_eq!(v["to_names"], json!(["bob", null]));
    }

    #[test]
    fn an_old_stored_message_shows_its_date() {
        let now = Local::now();
        let today = now.timestamp_millis() as u64;
        assert_eq!(stored_at(today, now).len(), "10:00:00".len());
        let old = stored_at(today - 3 * 86_400_000, now);
        assert_eq!(old.len(), "2026-12-01 10:00:00".len(), "{old}");
    }
}
