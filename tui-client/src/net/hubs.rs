//! Several addresses of one hub service (`--hub a:7878,b:7878`) and the one fail-over policy
//! over them, the same for the full-screen client, `listen` and the one-shot commands: try the
//! addresses in turn, one round through the list without a pause, the [`Backoff`] between
//! rounds; after a lost connection start the next round at the address after the lost one.

use std::path::Path;
use std::time::Duration;

use shared::conn::Connection;

use super::backoff::Backoff;
use super::dial::{DialError, FirstUse, HubAddr};

/// What separates the addresses in `--hub`, `HUBBUB_HUB` and the config's `hub`.
pub const HUB_SEPARATOR: char = ',';
/// The pause before the next address of the same round: none, it is another hub, and the one
/// that just failed is not asked again before the round is over.
pub const WITHIN_ROUND: Duration = Duration::ZERO;

/// The hub's addresses, in the order given; never empty.
#[derive(Clone, Debug)]
pub struct Hubs {
    list: Vec<HubAddr>,
}

impl std::fmt::Display for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, hub) in self.list.iter().enumerate() {
            if i > 0 {
                write!(f, "{HUB_SEPARATOR}")?;
            }
            write!(f, "{hub}")?;
        }
        Ok(())
    }
}

impl From<HubAddr> for Hubs {
    fn from(hub: HubAddr) -> Hubs {
        Hubs { list: vec![hub] }
    }
}

impl Hubs {
    /// `text`: addresses separated by [`HUB_SEPARATOR`], each as [`HubAddr::new`] reads it
    /// (`host:port` or `tls://host:port`; its TLS pin is its own in `known_hubs`). An empty
    /// entry or an address named twice is an error.
    pub fn new(
        text: &str,
        tls: bool,
        ca: Option<&Path>,
        known_hubs: Option<&Path>,
    ) -> Result<Hubs, String> {
        let mut list: Vec<HubAddr> = Vec::new();
        for given in text.split(HUB_SEPARATOR).map(str::trim) {
            if given.is_empty() {
                return Err(format!(
                    "--hub {text:?}: an empty address (two commas in a row, or one at an end?)"
                ));
            }
            let hub = HubAddr::new(given, tls, ca, known_hubs)?;
            if list.iter().any(|h| h.addr() == hub.addr()) {
                return Err(format!("--hub {text:?}: {} is named twice", hub.addr()));
            }
            list.push(hub);
        }
        Ok(Hubs { list })
    }

    /// Plain TCP to each of `addrs`, in order; `None` if there is none.
    pub fn plain<T: ToString>(addrs: impl IntoIterator<Item = T>) -> Option<Hubs> {
        let list: Vec<HubAddr> = addrs.into_iter().map(HubAddr::plain).collect();
        (!list.is_empty()).then_some(Hubs { list })
    }

    /// How many addresses.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Never: a list has at least one address.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The address at `i` (taken round the list).
    pub fn get(&self, i: usize) -> &HubAddr {
        &self.list[i % self.list.len()]
    }

    /// The addresses, in order.
    pub fn iter(&self) -> impl Iterator<Item = &HubAddr> {
        self.list.iter()
    }

    /// The only address, if there is one only (`forget-hub` without an address needs it).
    pub fn single(&self) -> Option<&HubAddr> {
        match self.list.as_slice() {
            [hub] => Some(hub),
            _ => None,
        }
    }

    /// Set what a connection to each address does with an unpinned certificate.
    pub fn on_first_use(&mut self, first_use: FirstUse) {
        for hub in &mut self.list {
            hub.on_first_use(first_use);
        }
    }

    /// [`HubAddr::ask_first_use`] for each address, before the full-screen client takes the
    /// screen. With several, one that cannot be reached now is told on stderr and skipped (it
    /// is refused until pinned, and the others serve meanwhile); `Ok(false)` at the first no.
    pub async fn ask_first_use(&self) -> Result<bool, String> {
        if let Some(hub) = self.single() {
            return hub
                .ask_first_use()
                .await
                .map_err(|e| format!("cannot reach the hub at {hub}: {e}"));
        }
        for hub in &self.list {
            match hub.ask_first_use().await {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => eprintln!(
                    "tui-client: cannot reach {hub} to confirm its certificate ({e}); it is \
                     not used until its certificate is pinned"
                ),
            }
        }
        Ok(true)
    }

    /// One round from the first address, for a one-shot command: the first connection, or
    /// why each address failed.
    pub async fn connect(&self) -> Result<(usize, Connection), RoundError> {
        connect_round(self, &mut Failover::new(self.len())).await
    }
}

/// Where the next attempt goes and how long to wait before it: the fail-over policy.
#[derive(Clone, Debug)]
pub struct Failover {
    len: usize,
    /// The address to try next.
    at: usize,
    /// Addresses tried in this round, all failed.
    tried: usize,
    backoff: Backoff,
}

impl Failover {
    /// Over `len` addresses (at least one), starting at the first.
    pub fn new(len: usize) -> Failover {
        Failover {
            len: len.max(1),
            at: 0,
            tried: 0,
            backoff: Backoff::default(),
        }
    }

    /// The index of the address to try now.
    pub fn current(&self) -> usize {
        self.at
    }

    /// The attempt at [`Self::current`] failed: go on to the next address, and the pause
    /// before it: [`WITHIN_ROUND`] while the round lasts, the backoff once every address
    /// failed in it (the next round starts where this one started).
    pub fn failed(&mut self) -> Duration {
        self.at = (self.at + 1) % self.len;
        self.tried += 1;
        if self.tried < self.len {
            return WITHIN_ROUND;
        }
        self.tried = 0;
        self.backoff.pause()
    }

    /// Connected at [`Self::current`]: the next failure waits the shortest pause again.
    pub fn connected(&mut self) {
        self.tried = 0;
        self.backoff.reset();
    }

    /// The connection at [`Self::current`], which worked, is lost: a round from the next
    /// address, after the backoff's shortest pause (a hub that closes everyone at once does
    /// not get them all back within the same instant).
    pub fn lost(&mut self) -> Duration {
        self.at = (self.at + 1) % self.len;
        self.tried = 0;
        self.backoff.pause()
    }
}

/// Every address of a round failed: what each said, and the pause before the next round.
#[derive(Clone, Debug)]
pub struct RoundError {
    /// Each address tried, with why it failed, in the order tried.
    pub failures: Vec<(String, DialError)>,
    /// The backoff's pause before the next round.
    pub retry_in: Duration,
}

impl RoundError {
    /// Trying again cannot help at any address: the user must act.
    pub fn permanent(&self) -> bool {
        self.failures.iter().all(|(_, e)| e.permanent)
    }
}

impl std::fmt::Display for RoundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.failures.as_slice() {
            [(hub, why)] => write!(f, "cannot reach the hub at {hub}: {why}"),
            all => {
                write!(f, "cannot reach any of the {} hubs:", all.len())?;
                for (i, (hub, why)) in all.iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    write!(f, "{sep}{hub}: {why}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RoundError {}

/// Try the addresses from `failover`'s current one until one connects or the round is over.
pub async fn connect_round(
    hubs: &Hubs,
    failover: &mut Failover,
) -> Result<(usize, Connection), RoundError> {
    let mut failures = Vec::new();
    loop {
        let at = failover.current();
        let hub = hubs.get(at);
        match super::connect(hub).await {
            Ok(conn) => {
                failover.connected();
                return Ok((at, conn));
            }
            Err(e) => {
                tracing::warn!(%hub, reason = %e, "cannot connect");
                failures.push((hub.to_string(), e));
                let pause = failover.failed();
                if failures.len() == hubs.len() {
                    return Err(RoundError {
                        failures,
                        retry_in: pause,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::backoff::{BACKOFF_MAX, BACKOFF_MIN};

    #[test]
    fn a_list_reads_each_address_with_its_own_scheme() {
        let pins = Some(Path::new("/nonexistent/known_hubs"));
        let hubs = Hubs::new("a:1, tls://b:2,c:3", false, None, pins).expect("a list");
        assert_eq!(hubs.len(), 3);
        assert_eq!(hubs.to_string(), "a:1,tls://b:2,c:3");
        assert_eq!(hubs.get(1).addr(), "b:2");
        assert_eq!(hubs.get(3).addr(), "a:1", "taken round the list");
        assert!(hubs.single().is_none());
        let one = Hubs::new("a:1", false, None, pins).expect("one");
        assert_eq!(one.single().map(HubAddr::addr), Some("a:1"));
    }

    #[test]
    fn an_empty_or_repeated_address_is_refused_by_name() {
        let pins = Some(Path::new("/nonexistent/known_hubs"));
        let empty = Hubs::new("a:1,,b:2", false, None, pins).expect_err("empty");
        assert!(empty.contains("an empty address"), "{empty}");
        let trailing = Hubs::new("a:1,", false, None, pins).expect_err("trailing comma");
        assert!(trailing.contains("an empty address"), "{trailing}");
        let twice = Hubs::new("a:1,tls://a:1", false, None, pins).expect_err("twice");
        assert!(twice.contains("a:1 is named twice"), "{twice}");
        let bad = Hubs::new("a:1,tls://nowhere", false, None, pins).expect_err("bad");
        assert!(bad.contains("nowhere"), "{bad}");
    }

    #[test]
    fn a_round_goes_through_the_list_without_pausing_then_backs_off() {
        let mut f = Failover::new(3);
        let mut seen = Vec::new();
        for _ in 0..7 {
            let at = f.current();
            seen.push((at, f.failed().as_millis() as u64));
        }
        // Rounds of three: a pause only after the third address of each, doubling.
        assert_eq!(
            seen,
            [(0, 0), (1, 0), (2, 250), (0, 0), (1, 0), (2, 500), (0, 0)]
        );
    }

    #[test]
    fn a_lost_connection_moves_to_the_next_address_after_the_shortest_pause() {
        let mut f = Failover::new(3);
        f.failed();
        f.failed();
        f.failed();
        f.failed();
        assert_eq!(f.current(), 1);
        f.connected();
        assert_eq!(f.lost(), BACKOFF_MIN);
        assert_eq!(f.current(), 2, "the one after the lost one");
        // The round after a loss starts at the next address and ends before it again.
        assert_eq!(f.failed(), WITHIN_ROUND);
        assert_eq!(f.current(), 0);
        assert_eq!(f.failed(), WITHIN_ROUND);
        assert_eq!(f.current(), 1, "the lost one, last");
        assert_eq!(f.failed(), BACKOFF_MIN * 2);
    }

    #[test]
    fn one_address_backs_off_on_every_failure_as_before() {
        let mut f = Failover::new(1);
        let waits: Vec<Duration> = (0..7).map(|_| f.failed()).collect();
        assert_eq!(waits[0], BACKOFF_MIN);
        assert_eq!(waits[6], BACKOFF_MAX);
        assert_eq!(f.current(), 0);
        f.connected();
        assert_eq!(f.lost(), BACKOFF_MIN);
    }

    #[test]
    fn a_failed_round_names_every_address() {
        let e = RoundError {
            failures: vec![
                ("a:1".into(), DialError::from("refused".to_owned())),
                ("b:2".into(), DialError::from("timed out".to_owned())),
            ],
            retry_in: BACKOFF_MIN,
        };
        assert_eq!(
            e.to_string(),
            "cannot reach any of the 2 hubs: a:1: refused; b:2: timed out"
        );
        assert!(!e.permanent());
        let one = RoundError {
            failures: vec![("a:1".into(), DialError::from("refused".to_owned()))],
            retry_in: BACKOFF_MIN,
        };
        assert_eq!(one.to_string(), "cannot reach the hub at a:1: refused");
    }
}
