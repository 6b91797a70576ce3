//! A connection's reader: the loop over frames, timers and stop signals, backpressure before
//! reading, and finishing accepted frames on shutdown.

use bytes::Bytes;
use shared::{DecodeError, HubMsg};
use tokio::time::{Instant, Sleep};

use super::accounts::{finish, Deferred};
use super::frames::{Frame, Frames};
use super::in_flight::InFlight;
use super::requests::{answer, handle};
use super::Client;
use crate::close::{Close, CloseReason};

/// Most frames handled in one go before the reader looks at its stop signals and timers again.
const BURST_FRAMES: usize = 128;

pub(super) struct Reader {
    frames: Frames,
    client: Client,
    last_frame: Instant,
    keepalive_sent: Option<Instant>,
    /// Relays waiting on other hubs' answers, in a cluster.
    in_flight: InFlight,
}

/// What happened to a reader between two frames.
enum Step {
    Frame(Frame),
    Eof,
    Timer,
    Stop(Close),
    /// The hub shuts down: finish the frames already here.
    Shutdown,
    /// The first relay in flight has its answers.
    Landed,
}

impl Reader {
    pub(super) fn new(rd: crate::transport::ReadHalf, client: Client) -> Reader {
        Reader {
            frames: Frames::new(rd),
            client,
            last_frame: Instant::now(),
            keepalive_sent: None,
            in_flight: InFlight::default(),
        }
    }

    /// Read and handle requests until the connection must close, and say why. It borrows the
    /// reader, which its caller keeps: a future that owned it would hold it twice, once as
    /// its argument and once as the local it moves to (440 bytes of every connection).
    pub(super) async fn run(&mut self) -> Close {
        let timer = tokio::time::sleep_until(self.next_wake());
        tokio::pin!(timer);
        let close = loop {
            let step = self.next_step(timer.as_mut()).await;
            let outcome = match step {
                Step::Stop(close) => Err(close),
                Step::Shutdown => Err(Box::pin(self.finish_on_shutdown()).await),
                Step::Eof => Err(CloseReason::PeerClosed.into()),
                Step::Timer => self.on_timer(),
                Step::Frame(Ok(payload)) => self.on_frame(payload).await,
                Step::Frame(Err(e)) => Err(self.on_decode_error(e)),
                Step::Landed => Box::pin(self.in_flight.settle_first(&mut self.client)).await,
            };
            if let Err(close) = outcome {
                break close;
            }
            self.frames.shed();
            timer.as_mut().reset(self.next_wake());
        };
        if self.in_flight.is_empty() {
            return close;
        }
        // What is in flight is still settled: its mailbox writes are owed. (Out of the loop:
        // a wait inside it would keep room for `close` in every idle connection's future.)
        Box::pin(self.end_in_flight(close)).await
    }

    /// Route `payload` and the frames behind it once the budget has room; finish a request
    /// that needs the store (in a cluster, a relay goes in flight instead).
    async fn on_frame(&mut self, payload: bytes::BytesMut) -> Result<(), Close> {
        self.check_budget().await?;
        match self.on_frames(&payload)? {
            Some(job) => Box::pin(self.in_flight.take(&mut self.client, *job)).await,
            None => Ok(()),
        }
    }

    /// Settle what is in flight before the connection closes for `close`: its mailbox writes
    /// are owed, whatever became of the client.
    async fn end_in_flight(&mut self, close: Close) -> Close {
        self.in_flight.finish(&mut self.client).await;
        close
    }

    /// The client, for its last words (who it was at the end).
    pub(super) fn into_client(self) -> Client {
        self.client
    }

    /// Check the global budget again once a frame has arrived, just before routing it. The
    /// check before reading alone lets every sender that started reading while there was room
    /// route afterwards, and a hundred senders fanning out at once would charge many times the
    /// budget. Routing never waits, so only the few routes that pass this check at the same
    /// instant can overshoot.
    async fn check_budget(&mut self) -> Result<(), Close> {
        if self.client.hub.budget.has_room() {
            return Ok(());
        }
        // Boxed, as every wait that is not the idle one: inline, each connection's future
        // would keep room for it all its life (bench/README.md § W5).
        Box::pin(self.wait_for_budget()).await
    }

    /// Wait for the global budget to have room (see [`Reader::check_budget`]).
    async fn wait_for_budget(&mut self) -> Result<(), Close> {
        let hub = &self.client.hub;
        tokio::select! {
            biased;
            _ = self.client.control.killed() => return Err(CloseReason::Io.into()),
            _ = hub.hard_stop.cancelled() => return Err(CloseReason::Shutdown.into()),
            _ = hub.budget.wait_for_room() => {}
        }
        // A frame in progress behind this one waited on us, not on its sender.
        self.frames.restart_clock();
        Ok(())
    }

    /// Wait for room in the queues, then for the next frame, a timer or a stop signal.
    async fn next_step(&mut self, mut timer: std::pin::Pin<&mut Sleep>) -> Step {
        if !self.has_room() {
            // Boxed: see `check_budget`.
            if let Some(stop) = Box::pin(self.wait_for_room()).await {
                return stop;
            }
            timer.as_mut().reset(self.next_wake());
        }
        let hub = &self.client.hub;
        tokio::select! {
            biased;
            _ = self.client.control.closing() => Step::Stop(self.closed_elsewhere()),
            _ = hub.shutdown.cancelled() => Step::Shutdown,
            frame = self.frames.next() => match frame {
                Some(frame) => Step::Frame(frame),
                None => Step::Eof,
            },
            _ = timer => Step::Timer,
            () = std::future::poll_fn(|cx| self.in_flight.poll_landed(cx)) => Step::Landed,
        }
    }

    /// Wait for room in this client's queue and in the global budget; `Some` if the
    /// connection must stop meanwhile.
    async fn wait_for_room(&mut self) -> Option<Step> {
        let (client, hub) = (&self.client, &self.client.hub);
        let room = async {
            client.outbox.wait_for_room().await;
            hub.budget.wait_for_room().await;
        };
        tokio::select! {
            biased;
            _ = client.control.closing() => return Some(Step::Stop(self.closed_elsewhere())),
            _ = hub.shutdown.cancelled() => return Some(Step::Shutdown),
            _ = room => {}
        }
        // We did not read while paused: the client's frame in progress and its keepalive
        // answer were waiting on us, so neither clock counts the pause against it.
        self.frames.restart_clock();
        self.last_frame = Instant::now();
        self.keepalive_sent = None;
        None
    }

    /// Handle `first`, then every frame that is already here, without going back through the
    /// `select!`s: re-arming them and the timer for each frame costs more than a small frame.
    /// Stops when the queues are full (the caller then waits for room), after
    /// [`BURST_FRAMES`] so that shutdown and timers are still seen promptly, or when no
    /// complete frame is left.
    /// A request that needs the store ends the run: it comes back to be finished (awaited)
    /// before anything else is read, so requests are still handled in order.
    fn on_frames(&mut self, first: &[u8]) -> Result<Option<Box<Deferred>>, Close> {
        self.last_frame = Instant::now();
        self.keepalive_sent = None;
        if let Some(job) = handle(&mut self.client, first, !self.in_flight.is_empty())? {
            return Ok(Some(job));
        }
        let mut handled = 1;
        while handled <= BURST_FRAMES && self.has_room() {
            match self.frames.ready() {
                Some(Some(Ok(payload))) => {
                    // A second frame in one go: the client pipelines, so read the rest of
                    // the burst many frames at a time.
                    self.frames.widen();
                    let behind = !self.in_flight.is_empty();
                    if let Some(job) = handle(&mut self.client, &payload, behind)? {
                        return Ok(Some(job));
                    }
                }
                Some(Some(Err(e))) => return Err(self.on_decode_error(e)),
                Some(None) => return Err(CloseReason::PeerClosed.into()),
                None => break,
            }
            handled += 1;
        }
        Ok(None)
    }

    /// What `next_step` waits for before reading, checked without waiting.
    fn has_room(&self) -> bool {
        let client = &self.client;
        !client.control.is_closed() && client.outbox.has_room() && client.hub.budget.has_room()
    }

    /// Deadline for the next timer check: the keepalive schedule, the frame deadline of a
    /// frame in progress, and the release of a wide read buffer.
    fn next_wake(&self) -> Instant {
        let cfg = &self.client.hub.config;
        let keepalive = self.keepalive_sent.unwrap_or(self.last_frame) + cfg.ping_interval;
        // With no frame in progress, one may start at any moment: look again a frame deadline
        // from now (never from the last frame, which may be long past and would wake at once).
        let partial = self.frames.partial_since().unwrap_or_else(Instant::now);
        let wake = keepalive.min(partial + cfg.frame_deadline);
        match self.frames.wide_until(self.last_frame) {
            Some(wide) => wake.min(wide),
            None => wake,
        }
    }

    /// A timer fired: the client was quiet for a while (a wide buffer's idle time, a frame
    /// deadline or a ping interval). A keepalive goes out after one ping interval of silence;
    /// the connection closes as idle after a second one without an answer.
    fn on_timer(&mut self) -> Result<(), Close> {
        // An idle connection holds no read buffer and no queue slots.
        self.frames.on_quiet();
        self.client.outbox.shrink_if_empty();
        let cfg = &self.client.hub.config;
        let now = Instant::now();
        if let Some(since) = self.frames.partial_since() {
            if now >= since + cfg.frame_deadline {
                return Err(CloseReason::FrameDeadline.into());
            }
        }
        match self.keepalive_sent {
            // The keepalive may still wait behind a backlog the client is reading: silence
            // counts only once everything queued for it has gone out. One that stopped reading
            // is the write timeout's to close.
            Some(sent) if now >= sent + cfg.ping_interval && !self.client.outbox.is_drained() => {
                self.keepalive_sent = Some(now);
                Ok(())
            }
            Some(sent) if now >= sent + cfg.ping_interval => Err(CloseReason::Idle.into()),
            None if now >= self.last_frame + cfg.ping_interval => {
                self.keepalive_sent = Some(now);
                answer(&self.client, &HubMsg::<Bytes>::KeepAlive)
            }
            _ => Ok(()),
        }
    }

    /// Another task closed this connection: stop reading. A close that throws the queue away
    /// (the socket failed, a slow consumer) ends the reader as an i/o close; one that flushes
    /// (its account was deleted) ends it for that reason. One signal for both keeps the loop's
    /// `select!` to as few wake-ups as it had before accounts.
    fn closed_elsewhere(&self) -> Close {
        let control = &self.client.control;
        match control.get() {
            Some(close) if !control.refuses_frames() => close.clone(),
            _ => CloseReason::Io.into(),
        }
    }

    fn on_decode_error(&mut self, e: DecodeError) -> Close {
        match e {
            DecodeError::FrameTooLarge { .. } => {
                Close::with_text(CloseReason::FrameTooLarge, e.to_string())
            }
            // tokio-util reports a stream that ended inside a frame as `Other`, with the partial
            // frame still buffered: the peer closed (FIN) mid-frame, its socket did not fail.
            DecodeError::Io(e)
                if e.kind() == std::io::ErrorKind::Other && !self.frames.is_empty() =>
            {
                CloseReason::PeerClosed.into()
            }
            DecodeError::Io(_) => CloseReason::Io.into(),
            _ => Close::with_text(CloseReason::Malformed, e.to_string()),
        }
    }

    /// On shutdown, handle the frames already received: those in our buffer, those the kernel
    /// holds for us, and a frame in progress, which was most likely written in full by its
    /// sender. It is read to its end within its frame deadline and half the grace period (so
    /// writers keep time to flush), then handled.
    async fn finish_on_shutdown(&mut self) -> Close {
        self.in_flight.finish(&mut self.client).await;
        let cfg = self.client.hub.config.clone();
        let stop_at = Instant::now() + cfg.shutdown_grace / 2;
        let limit = tokio::time::sleep_until(stop_at);
        tokio::pin!(limit);
        // A client streaming faster than we handle must not hold shutdown up.
        while Instant::now() < stop_at {
            let frame = if self.frames.is_empty() {
                // Take what has already arrived, without waiting for anything new.
                match self.frames.ready() {
                    Some(frame) => frame,
                    None if self.frames.is_empty() => break,
                    None => continue,
                }
            } else {
                let partial = self.frames.partial_since();
                let deadline = partial.map_or_else(Instant::now, |p| p + cfg.frame_deadline);
                tokio::select! {
                    biased;
                    _ = self.client.control.killed() => break,
                    frame = self.frames.next() => frame,
                    _ = &mut limit => break,
                    _ = tokio::time::sleep_until(deadline), if partial.is_some() => break,
                }
            };
            let Some(Ok(payload)) = frame else { break };
            let handled = match handle(&mut self.client, &payload, false) {
                Ok(Some(job)) => Box::pin(finish(&mut self.client, *job)).await,
                other => other.map(|_| ()),
            };
            if handled.is_err() {
                break;
            }
        }
        CloseReason::Shutdown.into()
    }
}
