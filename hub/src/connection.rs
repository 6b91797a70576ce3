//! One client connection: register, read requests, answer them, route relays, unregister.
//!
//! The reader half runs here; the writer half runs in [`crate::writer`]. They share nothing but
//! the client's queue and its [`Control`].

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use shared::codec::READ_STEP;
use shared::{
    BodyKind, ClientMsg, DecodeError, ErrorKind, FrameCodec, HubMsg, Limits, RequestId, UserId,
    MAX_BODY_LEN, MAX_NAME_LEN, MAX_RECEIVERS, PROTOCOL_VERSION,
};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tracing::{debug, info_span, Instrument};

use crate::config::Config;
use crate::queue::{queue, Budget, Outbox, PushError};
use crate::registry::{frame, CloseReason, Control, Peer, Registry};
use crate::writer::Writer;

/// What a connection shares with the rest of the hub.
#[derive(Clone)]
pub struct HubContext {
    /// Everyone connected.
    pub registry: Arc<Registry>,
    /// The hub-wide queued-bytes budget.
    pub budget: Arc<Budget>,
    /// Settings.
    pub config: Arc<Config>,
    /// Graceful shutdown has begun.
    pub shutdown: CancellationToken,
    /// The grace period is over.
    pub hard_stop: CancellationToken,
}

/// Serve one accepted connection until it closes. `reading` is held while this connection may
/// still route relays; shutdown waits for every such token before tearing queues down.
pub async fn serve(stream: TcpStream, hub: HubContext, reading: TaskTrackerToken) {
    let id = hub.registry.next_id();
    let peer_addr = stream.peer_addr().ok();
    let span = info_span!("conn", user_id = id.0, peer = ?peer_addr);
    serve_as(stream, id, hub, reading).instrument(span).await
}

async fn serve_as(stream: TcpStream, id: UserId, hub: HubContext, reading: TaskTrackerToken) {
    debug!("connected");
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (outbox, inbox) = queue(hub.config.queue_bytes, hub.budget.clone());
    let control = Arc::new(Control::default());
    let welcome = frame(&HubMsg::<Bytes>::Welcome {
        version: PROTOCOL_VERSION,
        user_id: id,
        limits: Limits::default(),
    });
    outbox
        .try_push(welcome)
        .expect("a new queue has room for its welcome");
    // Registered before the writer starts: once a client holds its welcome, others can reach
    // it. The welcome is already queued, so it still goes out first.
    hub.registry.join(
        id,
        Peer {
            outbox: outbox.clone(),
            control: control.clone(),
        },
    );
    let writer = tokio::spawn(
        Writer {
            socket: wr,
            inbox,
            control: control.clone(),
            shutdown: hub.shutdown.clone(),
            hard_stop: hub.hard_stop.clone(),
            write_timeout: hub.config.write_timeout,
        }
        .run()
        .in_current_span(),
    );

    let mut reader = Reader::new(id, rd, outbox, control.clone(), &hub);
    let reason = reader.run().await;
    if reason != CloseReason::Shutdown {
        // On shutdown the registry is cleared only once every reader is done, so that frames
        // already received can still reach everyone.
        hub.registry.leave(id);
    }
    drop(reader);
    drop(reading);
    let _ = writer.await;
    let reason = control.reason().unwrap_or(reason);
    debug!(?reason, "closed");
    hub.registry.record_close(Some(id), reason);
}

/// Most frames handled in one go before the reader looks at its stop signals and timers again.
const BURST_FRAMES: usize = 128;

/// Read buffer room given to a client that pipelines (see [`Reader::widen_read_buffer`]).
const READ_CHUNK: usize = 16 * 1024;

struct Reader {
    id: UserId,
    frames: FramedRead<OwnedReadHalf, FrameCodec>,
    outbox: Outbox,
    control: Arc<Control>,
    hub: HubContext,
    last_frame: Instant,
    keepalive_sent: Option<Instant>,
    /// A frame larger than one read step arrived since the read buffer was last let go.
    grown: bool,
}

/// What happened to a reader between two frames.
enum Step {
    Frame(Result<bytes::BytesMut, DecodeError>),
    Eof,
    Timer,
    Stop(CloseReason),
}

impl Reader {
    fn new(
        id: UserId,
        rd: OwnedReadHalf,
        outbox: Outbox,
        control: Arc<Control>,
        hub: &HubContext,
    ) -> Reader {
        // Capacity 0: an idle connection holds no read buffer; it grows as bytes arrive.
        let frames = FramedRead::with_capacity(rd, FrameCodec::new(), 0);
        Reader {
            id,
            frames,
            outbox,
            control,
            hub: hub.clone(),
            last_frame: Instant::now(),
            keepalive_sent: None,
            grown: false,
        }
    }

    async fn run(&mut self) -> CloseReason {
        let timer = tokio::time::sleep_until(self.next_wake());
        tokio::pin!(timer);
        loop {
            let step = self.next_step(timer.as_mut()).await;
            let outcome = match step {
                Step::Stop(reason) => Err(reason),
                Step::Eof => Err(CloseReason::PeerClosed),
                Step::Timer => self.on_timer(),
                Step::Frame(Ok(payload)) => {
                    self.grown |= payload.len() > READ_STEP;
                    match self.wait_for_budget().await {
                        Ok(()) => self.on_frames(&payload),
                        Err(reason) => Err(reason),
                    }
                }
                Step::Frame(Err(e)) => Err(self.on_decode_error(e)),
            };
            if let Err(reason) = outcome {
                return reason;
            }
            self.shed_read_buffer();
            timer.as_mut().reset(self.next_wake());
        }
    }

    /// Check the global budget again once a frame has arrived, just before routing it. The
    /// check before reading alone let every sender that started reading while there was room
    /// route afterwards: a burst of 100 senders fanning 1 MiB out to 255 receivers charged 25
    /// GiB against a 1 GiB budget, and receivers reading at full speed overflowed and were
    /// dropped. Routing never waits, so only the few routes that pass this check at the same
    /// instant can overshoot.
    async fn wait_for_budget(&mut self) -> Result<(), CloseReason> {
        if self.hub.budget.has_room() {
            return Ok(());
        }
        tokio::select! {
            biased;
            _ = self.control.closed() => return Err(CloseReason::Io),
            _ = self.hub.budget.wait_for_room() => {}
        }
        // A frame in progress behind this one waited on us, not on its sender.
        self.frames.decoder_mut().restart_clock();
        Ok(())
    }

    /// Let go of a read buffer that grew for a large frame once it is empty. The buffer's tail
    /// keeps the frame-sized allocation alive and reuses it, so without this every connection
    /// that ever sent a 1 MiB frame would hold 1-2 MiB for the rest of its life.
    fn shed_read_buffer(&mut self) {
        let buffer = self.frames.read_buffer_mut();
        if self.grown && buffer.is_empty() {
            *buffer = bytes::BytesMut::new();
            self.grown = false;
        }
    }

    /// Wait for room in the queues, then for the next frame, a timer or a stop signal.
    async fn next_step(&mut self, mut timer: std::pin::Pin<&mut Sleep>) -> Step {
        if !self.has_room() {
            let hub = &self.hub;
            let room = async {
                self.outbox.wait_for_room().await;
                hub.budget.wait_for_room().await;
            };
            tokio::select! {
                biased;
                _ = self.control.closed() => return Step::Stop(CloseReason::Io),
                _ = hub.shutdown.cancelled() => return Step::Stop(self.finish_on_shutdown().await),
                _ = room => {}
            }
            // We did not read while paused: the client's frame in progress and its keepalive
            // answer were waiting on us, so neither clock counts the pause against it.
            self.frames.decoder_mut().restart_clock();
            self.last_frame = Instant::now();
            self.keepalive_sent = None;
            timer.as_mut().reset(self.next_wake());
        }
        let hub = &self.hub;
        tokio::select! {
            biased;
            _ = self.control.closed() => Step::Stop(CloseReason::Io),
            _ = hub.shutdown.cancelled() => Step::Stop(self.finish_on_shutdown().await),
            frame = self.frames.next() => match frame {
                Some(frame) => Step::Frame(frame),
                None => Step::Eof,
            },
            _ = timer => Step::Timer,
        }
    }

    /// Handle `first`, then every frame that is already here, without going back through the
    /// `select!`s: re-arming them and the timer for each frame cost more than a small frame.
    /// Stops when the queues are full (the caller then waits for room), after
    /// [`BURST_FRAMES`] so that shutdown and timers are still seen promptly, or when no
    /// complete frame is left.
    fn on_frames(&mut self, first: &[u8]) -> Result<(), CloseReason> {
        self.last_frame = Instant::now();
        self.keepalive_sent = None;
        self.handle_payload(first)?;
        let mut handled = 1;
        while handled <= BURST_FRAMES && self.has_room() {
            match self.frames.next().now_or_never() {
                Some(Some(Ok(payload))) => {
                    self.grown |= payload.len() > READ_STEP;
                    self.handle_payload(&payload)?
                }
                Some(Some(Err(e))) => return Err(self.on_decode_error(e)),
                Some(None) => return Err(CloseReason::PeerClosed),
                None => break,
            }
            handled += 1;
        }
        if handled > 1 {
            self.widen_read_buffer();
        }
        Ok(())
    }

    /// A client that sends several frames at once gets a read buffer that takes hundreds of
    /// small frames per read. Otherwise the codec grows the buffer only by what the frame in
    /// progress lacks, and a pipelining client costs two reads per small frame. A client that
    /// sends a frame now and then keeps the small buffer; [`Reader::on_timer`] frees it again
    /// after a quiet ping interval.
    fn widen_read_buffer(&mut self) {
        let buf = self.frames.read_buffer_mut();
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
    }

    /// What `next_step` waits for before reading, checked without waiting.
    fn has_room(&self) -> bool {
        !self.control.is_closed() && self.outbox.has_room() && self.hub.budget.has_room()
    }

    /// Deadline for the next timer check: the keepalive schedule, and the frame deadline of a
    /// frame in progress (checked again from the last frame on, since one may start any time).
    fn next_wake(&self) -> Instant {
        let cfg = &self.hub.config;
        let keepalive = match self.keepalive_sent {
            Some(sent) => sent + cfg.ping_interval,
            None => self.last_frame + cfg.ping_interval,
        };
        let partial = self
            .frames
            .decoder()
            .partial_since()
            .unwrap_or(self.last_frame);
        keepalive.min(partial + cfg.frame_deadline)
    }

    fn on_timer(&mut self) -> Result<(), CloseReason> {
        if self.frames.read_buffer().is_empty() {
            // Quiet for a ping interval: an idle connection holds no read buffer.
            *self.frames.read_buffer_mut() = BytesMut::new();
        }
        let cfg = &self.hub.config;
        let now = Instant::now();
        if let Some(since) = self.frames.decoder().partial_since() {
            if now >= since + cfg.frame_deadline {
                self.say_goodbye(ErrorKind::FrameDeadline, "a frame took too long to arrive");
                return Err(CloseReason::FrameDeadline);
            }
        }
        match self.keepalive_sent {
            Some(sent) if now >= sent + cfg.ping_interval => {
                self.say_goodbye(ErrorKind::Idle, "no answer to keepalive");
                Err(CloseReason::Idle)
            }
            None if now >= self.last_frame + cfg.ping_interval => {
                self.keepalive_sent = Some(now);
                self.reply(HubMsg::<Bytes>::KeepAlive)
            }
            _ => Ok(()),
        }
    }

    fn on_decode_error(&mut self, e: DecodeError) -> CloseReason {
        let reason = match e {
            DecodeError::FrameTooLarge { .. } => CloseReason::FrameTooLarge,
            // tokio-util reports a stream that ended inside a frame as `Other`, with the partial
            // frame still buffered: the peer closed (FIN) mid-frame, its socket did not fail.
            DecodeError::Io(e)
                if e.kind() == std::io::ErrorKind::Other
                    && !self.frames.read_buffer().is_empty() =>
            {
                return CloseReason::PeerClosed
            }
            DecodeError::Io(_) => return CloseReason::Io,
            _ => CloseReason::Malformed,
        };
        let kind = match reason {
            CloseReason::FrameTooLarge => ErrorKind::FrameTooLarge,
            _ => ErrorKind::Malformed,
        };
        self.say_goodbye(kind, &e.to_string());
        reason
    }

    /// On shutdown, handle the frames already received: those in our buffer, those the kernel
    /// holds for us, and a frame in progress, which was most likely written in full by its
    /// sender. It is read to its end within its frame deadline and half the grace period (so
    /// writers keep time to flush), then handled.
    async fn finish_on_shutdown(&mut self) -> CloseReason {
        let cfg = self.hub.config.clone();
        let stop_at = Instant::now() + cfg.shutdown_grace / 2;
        let limit = tokio::time::sleep_until(stop_at);
        tokio::pin!(limit);
        loop {
            // A client streaming faster than we handle must not hold shutdown up.
            if Instant::now() >= stop_at {
                break;
            }
            let frame = if self.frames.read_buffer().is_empty() {
                // Take what has already arrived, without waiting for anything new.
                match self.frames.next().now_or_never() {
                    Some(frame) => frame,
                    None if self.frames.read_buffer().is_empty() => break,
                    None => continue,
                }
            } else {
                let partial = self.frames.decoder().partial_since();
                let deadline = partial.map_or_else(Instant::now, |p| p + cfg.frame_deadline);
                tokio::select! {
                    biased;
                    _ = self.control.closed() => break,
                    frame = self.frames.next() => frame,
                    _ = &mut limit => break,
                    _ = tokio::time::sleep_until(deadline), if partial.is_some() => break,
                }
            };
            match frame {
                Some(Ok(payload)) if self.handle_payload(&payload).is_ok() => {}
                _ => break,
            }
        }
        CloseReason::Shutdown
    }

    fn handle_payload(&mut self, payload: &[u8]) -> Result<(), CloseReason> {
        let msg = match ClientMsg::decode_borrowed(payload) {
            Ok(msg) => msg,
            Err(e) => {
                self.say_goodbye(ErrorKind::Malformed, &e.to_string());
                return Err(CloseReason::Malformed);
            }
        };
        match msg {
            ClientMsg::Identity { req } => self.reply(HubMsg::<Bytes>::Identity {
                req,
                user_id: self.id,
            }),
            ClientMsg::List { req } => {
                let peers = self.hub.registry.list(self.id);
                self.reply(HubMsg::<Bytes>::Peers { req, peers })
            }
            ClientMsg::Relay {
                req,
                to,
                kind,
                body,
            } => self.relay(req, &to, kind, body),
            ClientMsg::Echo { req, body } => match check_body(body) {
                Ok(()) => self.reply(HubMsg::Echo { req, body }),
                Err((kind, text)) => self.refuse(req, kind, text),
            },
            ClientMsg::Watch { req } => match self.hub.registry.watch(self.id, req) {
                Ok(()) => Ok(()),
                Err(_) => Err(self.slow()),
            },
            ClientMsg::Ping { req } => self.reply(HubMsg::<Bytes>::Pong { req }),
            ClientMsg::KeepAliveAck => Ok(()),
        }
    }

    fn relay(
        &mut self,
        req: RequestId,
        to: &[UserId],
        kind: BodyKind,
        body: &[u8],
    ) -> Result<(), CloseReason> {
        if let Err((kind, text)) = check_relay(to, &kind, body) {
            return self.refuse(req, kind, text);
        }
        // Encoded once; every receiver's queue gets a reference to the same bytes.
        let message = frame(&HubMsg::Message {
            from: self.id,
            kind,
            body,
        });
        let routed = self.hub.registry.route(to, &message);
        tracing::trace!(
            delivered = routed.delivered,
            unknown = routed.unknown.len(),
            dropped = routed.dropped.len(),
            "relay"
        );
        self.reply(HubMsg::<Bytes>::Relayed {
            req,
            delivered: routed.delivered,
            unknown: routed.unknown,
            dropped: routed.dropped,
        })
    }

    /// Queue an answer for this client. Its queue only overflows if it stopped reading while
    /// others kept sending to it; then it is a slow consumer like any other.
    fn reply<B: serde::Serialize>(&mut self, msg: HubMsg<B>) -> Result<(), CloseReason> {
        match self.outbox.try_push(frame(&msg)) {
            Ok(()) => Ok(()),
            Err(PushError::Full) => Err(self.slow()),
            Err(PushError::Closed) => Err(CloseReason::Io),
        }
    }

    /// Answer a request with an error; the connection stays open.
    fn refuse(&mut self, req: RequestId, kind: ErrorKind, text: String) -> Result<(), CloseReason> {
        self.reply(HubMsg::<Bytes>::Error {
            req: Some(req),
            kind,
            text,
        })
    }

    /// Queue the error that explains why the hub is about to close this connection. The user
    /// leaves the registry first, so no relay can slip a message in after the goodbye.
    fn say_goodbye(&mut self, kind: ErrorKind, text: &str) {
        self.hub.registry.leave(self.id);
        let bye = frame(&HubMsg::<Bytes>::Error {
            req: None,
            kind,
            text: text.to_string(),
        });
        let _ = self.outbox.try_push(bye);
    }

    fn slow(&self) -> CloseReason {
        self.control.close(CloseReason::SlowConsumer);
        CloseReason::SlowConsumer
    }
}

type Refusal = (ErrorKind, String);

fn check_body(body: &[u8]) -> Result<(), Refusal> {
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
fn check_relay(to: &[UserId], kind: &BodyKind, body: &[u8]) -> Result<(), Refusal> {
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
