//! What hubs say to one another over NATS: a small postcard enum with a version, never the
//! client protocol. A relay's body crosses as the very `HubMsg::Message` frame the origin
//! encoded, its receivers in a NATS header ([`RELAY_HEADER`]), so that every destination hub
//! gets the same bytes and routes them as they came.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use shared::account::MAX_ACCOUNT_NAME_LEN;
use shared::UserId;

/// The version of [`Envelope`] this hub speaks; a message of another is ignored (and logged).
/// Version 3 sends a snapshot in parts ([`PeerMsg::Snapshot`]); version 4 gives a relay a
/// deadline ([`DEADLINE_HEADER`]) and tells account deletes ([`PeerMsg::Deleted`]).
pub(crate) const WIRE_VERSION: u16 = 4;

/// Most bytes one user takes in a [`PeerMsg::Snapshot`]: its id (a varint of at most 10
/// bytes), its name's option tag and length (one byte each) and a name of at most
/// [`MAX_ACCOUNT_NAME_LEN`] bytes.
pub(crate) const SNAPSHOT_USER_LEN: usize = 10 + 1 + 1 + MAX_ACCOUNT_NAME_LEN;

/// Room in a snapshot part for everything but its users: the envelope's version (3 bytes),
/// hub (10), tag (1), then `seq` (10), `part` and `parts` (5 each) and the users' count (5),
/// 39 bytes; 64 leaves margin.
pub(crate) const SNAPSHOT_ROOM: usize = 64;

/// Most users in one snapshot part that NATS's `max_payload` carries, whatever their ids and
/// names: 23,829 at 1 MiB.
pub(crate) fn snapshot_part_users(max_payload: usize) -> usize {
    (max_payload.saturating_sub(SNAPSHOT_ROOM) / SNAPSHOT_USER_LEN).max(1)
}

/// The NATS header of a relay between hubs: `1:ID,ID,…`, the wire version and the receivers
/// on the destination hub, in the order the relay named them.
pub(crate) const RELAY_HEADER: &str = "Hubbub-To";

/// The NATS header of a relay between hubs that numbers it (decimal, per origin hub): a
/// destination holding drains for it is told by [`PeerMsg::Written`] with this number.
pub(crate) const RELAY_NUMBER_HEADER: &str = "Hubbub-Relay";

/// The NATS header of a relay between hubs that says until when the destination may deliver
/// it: milliseconds since the Unix epoch on the origin's clock. Past it, the origin may
/// have answered the sender `dropped` (or written the mailbox) already, so a relay that
/// arrives later (held in a partition, or by a stopped process) is not delivered.
pub(crate) const DEADLINE_HEADER: &str = "Hubbub-Deadline";

/// The [`DEADLINE_HEADER`] value for a relay published at `now` that its origin waits
/// `relay_timeout` for: half of it. The other half is for the answer's way back and for
/// the difference between the two hubs' clocks (docs/CLUSTER.md, § A relay's deadline).
pub(crate) fn deadline_header(now: SystemTime, relay_timeout: Duration) -> String {
    unix_millis(now + relay_timeout / 2).to_string()
}

/// How late a relay is at `now` by its [`DEADLINE_HEADER`] value (`None`: in time).
pub(crate) fn past_deadline(value: &str, now: SystemTime) -> Result<Option<Duration>, WireError> {
    let deadline: u64 = value.parse().map_err(|_| WireError::Header)?;
    let now = unix_millis(now);
    Ok((now > deadline).then(|| Duration::from_millis(now - deadline)))
}

/// Milliseconds since the Unix epoch (0 for a clock set before it).
fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One message between hubs.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// [`WIRE_VERSION`] of the sender.
    pub version: u16,
    /// The sending hub's id (random, per process start).
    pub hub: u64,
    pub msg: PeerMsg,
}

/// What a hub says.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum PeerMsg {
    /// It is alive; `seq` is the number of its latest presence change (published, or
    /// dropped on a full queue: then the gap shows).
    Heartbeat { seq: u64 },
    /// Presence changes numbered `first`, `first + 1`, … on this hub.
    Changes { first: u64, changes: Vec<Change> },
    /// It is stopping: its users are gone.
    Bye,
    /// Asked for on its snapshot subject: who is present on it as of change `seq`, in `parts`
    /// messages (each within NATS's `max_payload`, see [`snapshot_part_users`]) numbered
    /// `part` from 0, taken from one snapshot and published in order to the asker's inbox;
    /// the asker applies them once it has them all.
    Snapshot {
        seq: u64,
        part: u32,
        parts: u32,
        users: Vec<(UserId, Option<String>)>,
    },
    /// The answer to a relay: what became of each receiver on the destination hub.
    Relayed(RelayAnswer),
    /// For the live sessions of account `to` on the destination hub: `frame`, a client frame
    /// encoded by the origin (an `Outgoing` or a `Delivered`).
    Push {
        to: UserId,
        what: Pushed,
        frame: Vec<u8>,
    },
    /// On the push subject of a hub that answered `held` to the sender's relay numbered
    /// `relay` (or did not answer it): the sender's mailbox write for it is done, the drains
    /// held for it may go on.
    Written { relay: u64 },
    /// On the cluster's delete subject (`super::accounts`): `account` is deleted (the store's
    /// delete has committed), its sessions on every hub are to be closed.
    Deleted { account: UserId },
}

/// What a [`PeerMsg::Push`] carries, which says which sessions take it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// What one session of the account relayed, for its sessions on other hubs: every live
    /// one (one of a version before `Sealed` gets it re-encoded).
    Outgoing,
    /// A receipt for the account, as a sender: its live sessions that speak receipts.
    Receipt,
}

/// A user's presence on one hub changed (per user, not per session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Change {
    /// Its first session there.
    Arrived { user: UserId, name: Option<String> },
    /// Its last session there left.
    Left { user: UserId },
    /// Its last session there left, and what that session did not write is being handed to
    /// its mailbox: it stays present there, and its drains on other hubs do not go live, until
    /// the `Left` that follows once the hand-off is written (or an `Arrived`: a session came
    /// back).
    Handing { user: UserId },
}

/// What a destination hub did with a relay's receivers.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RelayAnswer {
    /// Queued for at least one live session.
    pub delivered: Vec<UserId>,
    /// Not connected there.
    pub unknown: Vec<UserId>,
    /// Anonymous users too slow (or closing) to take it.
    pub dropped: Vec<UserId>,
    /// Accounts with no session there at all: for the origin to keep in the mailbox.
    pub offline: Vec<UserId>,
    /// Accounts with a session there that could not take it live (draining its mailbox, or
    /// closing): for the origin to keep in the mailbox, once for every hub. The destination
    /// counts the write pending, so that those drains do not go live before it, until the
    /// origin says it is done ([`PeerMsg::Written`]).
    pub held: Vec<UserId>,
}

/// Why a message from another hub was not understood.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("undecodable: {0}")]
    Decode(#[from] postcard::Error),
    #[error("wire version {0}, this hub speaks {WIRE_VERSION}")]
    Version(u16),
    #[error(
        "a relay without valid {RELAY_HEADER}, {RELAY_NUMBER_HEADER} and {DEADLINE_HEADER} headers"
    )]
    Header,
    #[error("a relay {0:?} past its deadline: its origin has answered it without this hub")]
    Late(Duration),
    #[error("a relay whose payload is not a message frame")]
    Payload,
}

impl Envelope {
    pub(crate) fn new(hub: u64, msg: PeerMsg) -> Envelope {
        Envelope {
            version: WIRE_VERSION,
            hub,
            msg,
        }
    }

    pub(crate) fn encode(&self) -> bytes::Bytes {
        postcard::to_allocvec(self)
            .expect("an envelope serializes")
            .into()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        let envelope: Envelope = postcard::from_bytes(bytes)?;
        if envelope.version != WIRE_VERSION {
            return Err(WireError::Version(envelope.version));
        }
        Ok(envelope)
    }
}

/// The [`RELAY_HEADER`] value naming `to`.
pub(crate) fn relay_header(to: &[UserId]) -> String {
    use std::fmt::Write;
    let mut out = format!("{WIRE_VERSION}:");
    for (i, id) in to.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", id.0);
    }
    out
}

/// The receivers a [`RELAY_HEADER`] value names (at most [`shared::MAX_RECEIVERS`]).
pub(crate) fn parse_relay_header(value: &str) -> Result<Vec<UserId>, WireError> {
    let (version, ids) = value.split_once(':').ok_or(WireError::Header)?;
    let version: u16 = version.parse().map_err(|_| WireError::Header)?;
    if version != WIRE_VERSION {
        return Err(WireError::Version(version));
    }
    let to = ids
        .split(',')
        .map(|id| id.parse().map(UserId).map_err(|_| WireError::Header))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() || to.len() > shared::MAX_RECEIVERS {
        return Err(WireError::Header);
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_round_trips_and_another_version_is_refused() {
        let sent = Envelope::new(
            7,
            PeerMsg::Changes {
                first: 3,
                changes: vec![
                    Change::Arrived {
                        user: UserId(1),
                        name: Some("bob".into()),
                    },
                    Change::Left { user: UserId(2) },
                ],
            },
        );
        assert_eq!(Envelope::decode(&sent.encode()).expect("decodes"), sent);
        let mut other = Envelope::new(7, PeerMsg::Bye);
        other.version = WIRE_VERSION + 1;
        assert!(matches!(
            Envelope::decode(&other.encode()),
            Err(WireError::Version(_))
        ));
    }

    /// A snapshot part of the most users `max_payload` allows, each with the longest id and
    /// name, fits in `max_payload`; one more user would not always.
    #[test]
    fn a_full_snapshot_part_fits_the_max_payload_it_was_cut_for() {
        for max_payload in [1 << 20, 64 * 1024, 1000] {
            let count = snapshot_part_users(max_payload);
            let user = (UserId(u64::MAX), Some("n".repeat(MAX_ACCOUNT_NAME_LEN)));
            let part = |count| {
                Envelope::new(
                    u64::MAX,
                    PeerMsg::Snapshot {
                        seq: u64::MAX,
                        part: u32::MAX,
                        parts: u32::MAX,
                        users: vec![user.clone(); count],
                    },
                )
                .encode()
                .len()
            };
            assert!(part(count) <= max_payload, "{max_payload}: {}", part(count));
            assert!(
                part(count + 2) > max_payload - SNAPSHOT_ROOM,
                "{max_payload}: a tight bound"
            );
        }
        assert_eq!(snapshot_part_users(1 << 20), 23_829);
    }

    /// A relay is in time until half its origin's relay timeout has passed, by the clock
    /// both read, and late after; a deadline that is not a number is refused.
    #[test]
    fn a_relay_is_late_once_half_its_timeout_has_passed() {
        let sent = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let deadline = deadline_header(sent, Duration::from_secs(2));
        assert_eq!(deadline, "1800000001000");
        for (after, late) in [
            (0, None),
            (1000, None),
            (1001, Some(1)),
            (60_000, Some(59_000)),
        ] {
            let now = sent + Duration::from_millis(after);
            assert_eq!(
                past_deadline(&deadline, now).expect("parses"),
                late.map(Duration::from_millis),
                "{after} ms after"
            );
        }
        for bad in ["", "x", "-1", "1.5"] {
            assert!(past_deadline(bad, sent).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_relay_header_names_its_receivers_in_order() {
        let to = [UserId(5), UserId(1), UserId(1 << 40)];
        assert_eq!(parse_relay_header(&relay_header(&to)).expect("parses"), to);
        let v = WIRE_VERSION;
        let other = format!("{}:1", v + 1);
        for bad in [
            "",
            &format!("{v}:"),
            &format!("{v}:x"),
            &other,
            &format!("{v}:1,,2"),
        ] {
            assert!(parse_relay_header(bad).is_err(), "{bad:?}");
        }
    }
}
