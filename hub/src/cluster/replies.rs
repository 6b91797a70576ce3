//! The answers to this hub's relays. Each relay to another hub is published (in the order its
//! sender sent them, by the sender's reader itself: [`super::relay::publish`]) with a reply
//! subject of its own under the hub's inbox prefix, `hubbub.inbox.relay.HUB.N`; one
//! subscription takes every answer and hands it to the relay waiting for it. NATS's own
//! request API would publish when its future is first polled, not when it is made, so several
//! relays of one sender could leave in any order.
//!
//! A relay that stops waiting (its answer came, its timeout passed, its connection went)
//! takes its entry out of the map: the map holds only the relays in flight, and an answer
//! that comes later finds nothing and is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{ClusterError, INBOX_PREFIX};

/// The relays of this hub waiting for an answer, by the last token of their reply subject.
#[derive(Debug)]
pub(crate) struct Replies {
    /// `hubbub.inbox.relay.HUB`: every reply subject of this hub's relays is under it.
    prefix: String,
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Bytes>>>,
}

/// One relay's wait for its answer; dropping it forgets the relay.
pub(crate) struct Waiting {
    replies: Arc<Replies>,
    token: u64,
    answer: oneshot::Receiver<Bytes>,
}

impl Replies {
    /// The map of hub `hub_id`, and the subscription that fills it: subscribed before this
    /// returns, so that no relay can be published before its answer has somewhere to go.
    pub(crate) async fn start(
        client: &async_nats::Client,
        hub_id: u64,
    ) -> Result<(Arc<Replies>, JoinHandle<()>), ClusterError> {
        let replies = Arc::new(Replies {
            prefix: format!("{INBOX_PREFIX}.relay.{hub_id:016x}"),
            next: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
        });
        let mut answers = client
            .subscribe(format!("{}.*", replies.prefix))
            .await
            .map_err(|e| ClusterError::Nats(e.to_string()))?;
        let taker = replies.clone();
        let task = tokio::spawn(async move {
            while let Some(msg) = answers.next().await {
                taker.take(&msg.subject, msg.payload);
            }
        });
        Ok((replies, task))
    }

    /// A reply subject for one relay, and its wait for the answer on it.
    pub(crate) fn ask(self: &Arc<Self>) -> (String, Waiting) {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, answer) = oneshot::channel();
        self.lock().insert(token, tx);
        let waiting = Waiting {
            replies: self.clone(),
            token,
            answer,
        };
        (format!("{}.{token}", self.prefix), waiting)
    }

    /// Hand the answer that came on `subject` to its relay, if it still waits.
    fn take(&self, subject: &str, payload: Bytes) {
        let token = subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse::<u64>().ok());
        let Some(tx) = token.and_then(|t| self.lock().remove(&t)) else {
            tracing::debug!(%subject, "a relay answer came late");
            return;
        };
        let _ = tx.send(payload);
    }

    /// How many relays wait for an answer.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Bytes>>> {
        // A panic under this lock leaves a map of senders, still whole.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Waiting {
    /// The answer, if it comes within `timeout` (from now).
    pub(crate) async fn answer(mut self, timeout: Duration) -> Option<Bytes> {
        tokio::time::timeout(timeout, &mut self.answer)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.replies.lock().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies() -> Arc<Replies> {
        Arc::new(Replies {
            prefix: "hubbub.inbox.relay.0000000000000001".into(),
            next: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    #[tokio::test]
    async fn an_answer_reaches_its_relay_and_a_late_one_finds_nothing() {
        let replies = replies();
        let (first, one) = replies.ask();
        let (second, two) = replies.ask();
        assert_ne!(first, second);
        replies.take(&second, Bytes::from_static(b"2"));
        replies.take(&first, Bytes::from_static(b"1"));
        assert_eq!(
            one.answer(Duration::from_secs(5)).await.as_deref(),
            Some(&b"1"[..])
        );
        assert_eq!(
            two.answer(Duration::from_secs(5)).await.as_deref(),
            Some(&b"2"[..])
        );
        assert_eq!(replies.waiting(), 0);
        // Twice, or on a subject that is no relay's: dropped quietly.
        replies.take(&first, Bytes::from_static(b"1"));
        replies.take("hubbub.inbox.relay.0000000000000001.x", Bytes::new());
        assert_eq!(replies.waiting(), 0);
    }

    /// A relay whose answer does not come in time, or that stops waiting, leaves nothing in
    /// the map: it holds only what is in flight.
    #[tokio::test(start_paused = true)]
    async fn a_relay_that_times_out_or_goes_leaves_nothing_behind() {
        let replies = replies();
        let (subject, waiting) = replies.ask();
        let (_, dropped) = replies.ask();
        assert_eq!(replies.waiting(), 2);
        drop(dropped);
        assert_eq!(replies.waiting(), 1);
        assert_eq!(waiting.answer(Duration::from_millis(500)).await, None);
        assert_eq!(replies.waiting(), 0);
        replies.take(&subject, Bytes::new());
        assert_eq!(replies.waiting(), 0);
    }
}
