//! The pause between connection attempts, the same for the full-screen client and
//! `tui-client listen`: it doubles from [`BACKOFF_MIN`] to [`BACKOFF_MAX`] and starts again
//! after a connection that worked.

use std::time::Duration;

/// First pause before reconnecting: long enough not to spin, short enough to feel instant.
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Longest pause between attempts, so a hub that comes back is noticed within seconds.
pub const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// The next pause.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    /// The pause to wait now; the one after it is twice as long, up to the maximum.
    pub fn pause(&mut self) -> Duration {
        let now = self.next;
        self.next = (now * 2).min(BACKOFF_MAX);
        now
    }

    /// A connection worked: the next failure waits the shortest pause again.
    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_maximum_and_starts_again_after_a_reset() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| b.pause().as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        b.reset();
        assert_eq!(b.pause(), BACKOFF_MIN);
    }
}
