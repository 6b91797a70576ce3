//! The pause between connection attempts, the same for the full-screen client and
//! `tui-client listen`: it doubles from [`BACKOFF_MIN`] to [`BACKOFF_MAX`] and starts again
//! after a connection that worked. What is slept is [`spread`] over the pause's second half,
//! so that the clients of a hub that went away do not all come back in the same instant.

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

/// The time to sleep for `pause`: drawn uniformly from its second half (from `pause / 2` to
/// `pause`). Ten thousand clients that lost one hub together then reach the next over
/// `pause / 2`, not in one burst; the pause said on screen is the nominal one.
pub fn spread(pause: Duration) -> Duration {
    let half = pause / 2;
    half + half.mul_f64(fastrand::f64())
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

    #[test]
    fn a_pause_is_spread_over_its_second_half() {
        assert_eq!(spread(Duration::ZERO), Duration::ZERO);
        let draws: Vec<Duration> = (0..100).map(|_| spread(BACKOFF_MIN)).collect();
        assert!(draws
            .iter()
            .all(|d| (BACKOFF_MIN / 2..=BACKOFF_MIN).contains(d)));
        let first = draws[0];
        assert!(draws.iter().any(|d| *d != first), "not one instant for all");
    }
}
