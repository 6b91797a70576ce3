//! A connection's relays in flight in a cluster: published to the other hubs in the order the
//! reader read them, their answers awaited together while the reader reads on, and settled
//! (the answers merged, the mailboxes written, the sender answered) one at a time in request
//! order. A sender that pipelines keeps up to [`MAX_RELAYS_IN_FLIGHT`] relays waiting on
//! other hubs' answers, not one (docs/CLUSTER.md, § Relays).
//!
//! Every answer still goes out in request order (docs/PROTOCOL.md): while relays are in
//! flight, a relay the reader reads next queues behind them (even one that needs nothing
//! remote), and any other request waits until they are all answered
//! ([`super::requests::handle`]'s `behind`). A connection that ends settles what is in flight
//! first: the mailbox writes of accounts no hub took still happen.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::FuturesOrdered;
use futures::StreamExt;
use tokio::time::Instant;

use super::accounts::{finish, send_relay, settle_relay, Deferred, RelayWork};
use super::Client;
use crate::close::Close;
use crate::cluster::relay;

/// Most relays of one connection in flight at once. A crossing costs about 90 µs against
/// 27 µs on one hub (bench/README.md § Many hubs over NATS): 32 in flight keep a pipelining
/// sender's relays overlapping several times over, while what one connection can hold up
/// (a timeout's worth of relays to a hub that stopped) stays small.
pub(super) const MAX_RELAYS_IN_FLIGHT: usize = 32;
/// Most bytes of `Message` frames one connection keeps in flight: beyond this the reader
/// settles the first relay before it publishes the next. A relay of any size goes in flight
/// when none is, so one maximal body (1 MiB) always may, and two do at once.
pub(super) const MAX_BYTES_IN_FLIGHT: usize = 2 * shared::MAX_FRAME_LEN;

/// The relays of one connection in flight; nothing allocated while there are none, which is
/// what an idle connection has.
#[derive(Default)]
pub(super) struct InFlight(Option<Box<Relays>>);

#[derive(Default)]
struct Relays {
    /// Each relay's wait for its answers, in request order.
    waiting: FuturesOrdered<Pin<Box<dyn Future<Output = Landed> + Send>>>,
    /// The frame bytes of what is in `waiting` and `landed`.
    bytes: usize,
    /// The first relay, its answers all in, once [`InFlight::poll_landed`] has seen it.
    landed: Option<Landed>,
}

/// A relay whose other hubs have all answered (or run out of time).
struct Landed {
    work: RelayWork,
    answers: relay::Answers,
    bytes: usize,
}

impl InFlight {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Do what `job` needs: in a cluster a relay goes in flight behind those already there
    /// (once there is room), anything else is finished at once, after every relay in flight.
    pub(super) async fn take(&mut self, client: &mut Client, job: Deferred) -> Result<(), Close> {
        match job {
            Deferred::Relay(work) if client.hub.cluster.is_some() => self.send(client, work).await,
            job => {
                self.settle_all(client).await?;
                finish(client, job).await
            }
        }
    }

    /// Publish `work` to its hubs and put it in flight, after settling the first relays
    /// while there are [`MAX_RELAYS_IN_FLIGHT`] or their bytes and its would pass
    /// [`MAX_BYTES_IN_FLIGHT`].
    async fn send(&mut self, client: &mut Client, mut work: RelayWork) -> Result<(), Close> {
        let bytes = work.message.len();
        while let Some(relays) = &self.0 {
            let count = relays.waiting.len() + usize::from(relays.landed.is_some());
            if count < MAX_RELAYS_IN_FLIGHT && relays.bytes + bytes <= MAX_BYTES_IN_FLIGHT {
                break;
            }
            self.settle_first(client).await?;
        }
        let asks = send_relay(&client.hub, client.id, &mut work).await;
        let sent = Instant::now();
        let timeout = client
            .hub
            .cluster
            .as_ref()
            .map_or_else(Default::default, |c| c.config.relay_timeout);
        let relays = self.0.get_or_insert_with(Box::default);
        relays.bytes += bytes;
        relays.waiting.push_back(Box::pin(async move {
            let answers = relay::answers(timeout, sent, asks).await;
            Landed {
                work,
                answers,
                bytes,
            }
        }));
        Ok(())
    }

    /// Ready once the first relay in flight has all its answers, for
    /// [`InFlight::settle_first`]; pending for ever while none is in flight.
    pub(super) fn poll_landed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(relays) = &mut self.0 else {
            return Poll::Pending;
        };
        if relays.landed.is_some() {
            return Poll::Ready(());
        }
        match relays.waiting.poll_next_unpin(cx) {
            Poll::Ready(Some(landed)) => {
                relays.landed = Some(landed);
                Poll::Ready(())
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }

    /// Settle the first relay in flight, waiting for its answers if need be: merge them,
    /// write the mailboxes no hub took, answer. The last one frees the in-flight state.
    pub(super) async fn settle_first(&mut self, client: &mut Client) -> Result<(), Close> {
        let Some(relays) = &mut self.0 else {
            return Ok(());
        };
        let landed = match relays.landed.take() {
            Some(landed) => landed,
            None => match relays.waiting.next().await {
                Some(landed) => landed,
                None => {
                    self.0 = None;
                    return Ok(());
                }
            },
        };
        relays.bytes -= landed.bytes;
        if relays.waiting.is_empty() {
            self.0 = None;
        }
        settle_relay(client, landed.work, landed.answers).await
    }

    /// Settle every relay in flight, in order.
    pub(super) async fn settle_all(&mut self, client: &mut Client) -> Result<(), Close> {
        while !self.is_empty() {
            self.settle_first(client).await?;
        }
        Ok(())
    }

    /// Settle every relay in flight of a connection that ends: each waits for its answers
    /// (at most the relay timeout) and writes its mailboxes; an answer its client can no
    /// longer take is dropped.
    pub(super) async fn finish(&mut self, client: &mut Client) {
        while !self.is_empty() {
            let _ = self.settle_first(client).await;
        }
    }
}
