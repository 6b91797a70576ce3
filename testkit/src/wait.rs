//! The one way a test waits for something: poll a condition until it holds, within [`WAIT`].

use std::time::Duration;

/// How long a test waits for something that should happen at once: far above what any step
/// takes, even on a machine whose cores are busy with other work, so that only a hang fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(10);

/// Wait until `condition` holds; panic naming `what` if it does not within [`WAIT`]. Works on
/// tokio's paused clock too (each check is a timer, which lets the clock advance).
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    eventually_some(what, || condition().then_some(())).await
}

/// Wait until `check` gives a value and return it; panic naming `what` if it gives none
/// within [`WAIT`].
pub async fn eventually_some<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    match poll(check).await {
        Some(value) => value,
        None => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// [`eventually_some`] for a check that must await (a request to a hub, a connection
/// attempt): run it until it gives a value; panic naming `what` if it gives none within
/// [`WAIT`].
pub async fn eventually_async<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Check `check` until it gives a value, for at most [`WAIT`]; `None` if it never did.
pub(crate) async fn poll<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}
