//! Per-address rate limits for registrations and failed logins: a token bucket per IP address
//! (per /64 for IPv6, where one host holds a whole /64), in a map of bounded size that forgets
//! addresses whose bucket has refilled first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Most addresses tracked. At the bound, refilled buckets are forgotten; if none has refilled,
/// the fullest goes (a flood of addresses can only make the limit forget, never grow memory).
const MAX_ADDRESSES: usize = 4096;

/// The hub's two limits.
#[derive(Debug)]
pub(crate) struct Rates {
    /// Registration attempts.
    pub register: RateLimit,
    /// Failed logins and deletes.
    pub login_fail: RateLimit,
}

/// `per_minute` events per address: a burst of that many, then one every `60 s / per_minute`.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    pub(crate) fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Whether `addr` may do one more now; `Err` says how long until it may.
    pub(crate) fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let addr = key(addr);
        let buckets = self.buckets.lock().expect("rate lock poisoned");
        let bucket = buckets.get(&addr).map(|b| self.refill(*b, Instant::now()));
        match bucket {
            Some(b) if b.tokens < 1.0 => Err(self.wait_for(b)),
            _ => Ok(()),
        }
    }

    /// Count one event of `addr`'s: `Err` (how long to wait) if it had none left.
    pub(crate) fn take(&self, addr: IpAddr) -> Result<(), Duration> {
        let addr = key(addr);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate lock poisoned");
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&addr) {
            let full = f64::from(self.per_minute);
            buckets.retain(|_, b| self.refill(*b, now).tokens < full);
            if buckets.len() >= MAX_ADDRESSES {
                let fullest = buckets
                    .iter()
                    .max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens))
                    .map(|(k, _)| *k);
                if let Some(fullest) = fullest {
                    buckets.remove(&fullest);
                }
            }
        }
        let full = Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        };
        let bucket = buckets.entry(addr).or_insert(full);
        *bucket = self.refill(*bucket, now);
        if bucket.tokens < 1.0 {
            return Err(self.wait_for(*bucket));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    fn refill(&self, b: Bucket, now: Instant) -> Bucket {
        let per_sec = f64::from(self.per_minute) / 60.0;
        let tokens = b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec;
        Bucket {
            tokens: tokens.min(f64::from(self.per_minute)),
            at: now,
        }
    }

    fn wait_for(&self, b: Bucket) -> Duration {
        let per_sec = f64::from(self.per_minute.max(1)) / 60.0;
        Duration::from_secs_f64(((1.0 - b.tokens) / per_sec).max(0.0)).max(Duration::from_secs(1))
    }
}

/// The address a bucket is kept for: IPv4 whole, IPv6 by its /64.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_one_per_interval_per_address() {
        let limit = RateLimit::new(3);
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        for _ in 0..3 {
            assert!(limit.take(a).is_ok());
        }
        let wait = limit.take(a).expect_err("burst used up");
        assert!(limit.check(a).is_err());
        assert!(limit.take(b).is_ok(), "another address has its own bucket");
        assert!(wait <= Duration::from_secs(20), "{wait:?}");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(limit.check(a).is_ok());
        assert!(limit.take(a).is_ok(), "one token back after 60 s / 3");
        assert!(limit.take(a).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn one_ipv6_host_is_one_address_and_the_map_stays_bounded() {
        let limit = RateLimit::new(1);
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        assert!(limit.take(host(1)).is_ok());
        assert!(limit.take(host(2)).is_err(), "the same /64");
        for n in 0..(2 * MAX_ADDRESSES as u32) {
            let _ = limit.take(IpAddr::from(n.to_be_bytes()));
        }
        let tracked = limit.buckets.lock().expect("lock").len();
        assert!(tracked <= MAX_ADDRESSES, "{tracked}");
    }
}
