//! How a one-shot command ends: its exit code and the one line that says why. The codes are
//! documented in tui-client/README.md ("Exit codes") and in `--help`.

use std::fmt;

use color_eyre::eyre::Report;

/// Success.
pub const OK: u8 = 0;
/// An error: hub unreachable or lost, a file that cannot be read, a limit, a bad request.
pub const ERROR: u8 = 1;
/// A usage error (clap's own code, listed here so that every code is in one place).
pub const USAGE: u8 = 2;
/// `send` reached some receivers but not all: some are unknown, too slow or have a full
/// mailbox (the others got it or have it in their mailbox).
pub const PARTIAL: u8 = 3;
/// `send` reached none of its receivers, not even a mailbox.
pub const NONE_DELIVERED: u8 = 4;
/// `send` failed for nobody, but some receivers are offline accounts: the message waits in
/// their mailbox, on the hub's disk, until they log in.
pub const QUEUED: u8 = 5;
/// `send` refused before sending: a receiver's key is not the one pinned (accept a new one
/// with `tui-client trust NAME`), or its published encryption key is forged.
pub const KEY_CHANGED: u8 = 6;

/// The exit code of a `send` from the hub's answer: `delivered` receivers got it now,
/// `queued` have it in their mailbox, `failed` did not get it (unknown, dropped, full).
pub fn for_delivery(delivered: u32, queued: usize, failed: usize) -> u8 {
    match (failed, delivered, queued) {
        (0, _, 0) => OK,
        (0, _, _) => QUEUED,
        (_, 0, 0) => NONE_DELIVERED,
        _ => PARTIAL,
    }
}

/// An error that asks for a particular exit code.
#[derive(Debug)]
pub struct ExitWith(pub u8, pub String);

impl fmt::Display for ExitWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for ExitWith {}

/// The exit code a failed command asks for.
pub fn code(report: &Report) -> u8 {
    report.downcast_ref::<ExitWith>().map_or(ERROR, |e| e.0)
}

/// The error and its causes on one line, each said once: an error that already quotes its
/// cause in its text (`i/o error: Connection refused`) does not get it repeated after it.
pub fn explain(report: &Report) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in report.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use color_eyre::eyre::WrapErr;

    #[test]
    fn a_send_exits_by_what_became_of_its_receivers() {
        let cases = [
            // (delivered, queued, failed) -> code
            ((3, 0, 0), OK),
            ((1, 2, 0), QUEUED),
            ((0, 2, 0), QUEUED),
            ((1, 0, 1), PARTIAL),
            ((0, 1, 1), PARTIAL),
            ((2, 1, 1), PARTIAL),
            ((0, 0, 2), NONE_DELIVERED),
        ];
        for ((delivered, queued, failed), code) in cases {
            assert_eq!(
                for_delivery(delivered, queued, failed),
                code,
                "delivered {delivered}, queued {queued}, failed {failed}"
            );
        }
        let all = [OK, ERROR, USAGE, PARTIAL, NONE_DELIVERED, QUEUED];
        let distinct: std::collections::HashSet<u8> = all.into_iter().collect();
        assert_eq!(distinct.len(), all.len(), "every code means one thing");
    }

    #[test]
    fn a_cause_quoted_by_its_error_is_said_once() {
        #[derive(Debug)]
        struct Quoting(std::io::Error);
        impl fmt::Display for Quoting {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "i/o error: {}", self.0)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::other("refused");
        let report = Err::<(), _>(Quoting(io))
            .wrap_err("cannot reach the hub")
            .expect_err("an error");
        assert_eq!(explain(&report), "cannot reach the hub: i/o error: refused");
        assert_eq!(code(&report), ERROR);
    }
}
