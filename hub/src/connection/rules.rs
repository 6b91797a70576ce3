//! The rules a relay or an echo must pass before anything is delivered.

use shared::{BodyKind, ErrorKind, UserId, MAX_BODY_LEN, MAX_NAME_LEN, MAX_RECEIVERS};

pub(super) type Refusal = (ErrorKind, String);

pub(super) fn check_body(body: &[u8]) -> Result<(), Refusal> {
    if body.len() > MAX_BODY_LEN {
        return Err((
            ErrorKind::BodyTooLarge,
            format!(
                "body of {} bytes exceeds the limit of {MAX_BODY_LEN} bytes",
                body.len()
            ),
        ));
    }
    Ok(())
}

/// The rules a relay must pass before anything is delivered.
pub(super) fn check_relay(to: &[UserId], kind: &BodyKind, body: &[u8]) -> Result<(), Refusal> {
    if to.is_empty() {
        return Err((
            ErrorKind::NoReceivers,
            "a relay needs at least one receiver".into(),
        ));
    }
    if to.len() > MAX_RECEIVERS {
        return Err((
            ErrorKind::TooManyReceivers,
            format!("{} receivers exceed the limit of {MAX_RECEIVERS}", to.len()),
        ));
    }
    let mut sorted = to.to_vec();
    sorted.sort_unstable();
    if let Some(dup) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err((
            ErrorKind::DuplicateReceivers,
            format!("receiver {} is named more than once", dup[0]),
        ));
    }
    if let BodyKind::File { name } = kind {
        if name.len() > MAX_NAME_LEN {
            return Err((
                ErrorKind::NameTooLong,
                format!(
                    "file name of {} bytes exceeds the limit of {MAX_NAME_LEN}",
                    name.len()
                ),
            ));
        }
    }
    check_body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<UserId> {
        range.map(UserId).collect()
    }

    fn kind_of(r: Result<(), Refusal>) -> Option<ErrorKind> {
        r.err().map(|(kind, text)| {
            assert!(!text.is_empty());
            kind
        })
    }

    #[test]
    fn receivers_must_be_one_to_255_and_distinct() {
        let ok = |to: &[UserId]| kind_of(check_relay(to, &BodyKind::Bytes, b""));
        assert_eq!(ok(&[]), Some(ErrorKind::NoReceivers));
        assert_eq!(ok(&ids(1..=255)), None);
        assert_eq!(ok(&ids(1..=256)), Some(ErrorKind::TooManyReceivers));
        assert_eq!(
            ok(&[UserId(3), UserId(9), UserId(3)]),
            Some(ErrorKind::DuplicateReceivers)
        );
    }

    #[test]
    fn body_and_name_limits_are_inclusive() {
        let to = [UserId(1)];
        let body = vec![0u8; MAX_BODY_LEN + 1];
        assert_eq!(
            kind_of(check_relay(&to, &BodyKind::Bytes, &body[..MAX_BODY_LEN])),
            None
        );
        assert_eq!(
            kind_of(check_relay(&to, &BodyKind::Bytes, &body)),
            Some(ErrorKind::BodyTooLarge)
        );
        let name = |n: usize| BodyKind::File {
            name: "x".repeat(n),
        };
        assert_eq!(kind_of(check_relay(&to, &name(MAX_NAME_LEN), b"")), None);
        assert_eq!(
            kind_of(check_relay(&to, &name(MAX_NAME_LEN + 1), b"")),
            Some(ErrorKind::NameTooLong)
        );
    }
}
