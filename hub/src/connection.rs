//! One client connection: register, read requests, answer them, route relays, unregister.
//!
//! The reader half runs in [`reader`] (the loop, timers, backpressure, shutdown) over the
//! frames of [`frames`] (the read buffer and its sizing), and hands each request to
//! [`requests::handle`]; the writer half runs in [`crate::writer`]. They share nothing but the
//! client's queue and its [`Control`]. The relay rules are in [`rules`].

mod frames;
mod reader;
mod requests;
mod rules;

use std::sync::Arc;

use bytes::Bytes;
use shared::{HubMsg, Limits, UserId, BASE_VERSION};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tracing::{debug, info_span, Instrument};

use self::reader::Reader;
use crate::close::{CloseReason, Control};
use crate::config::Config;
use crate::frame;
use crate::peer::Peer;
use crate::queue::{queue, Budget, Outbox};
use crate::registry::Registry;
use crate::writer::Writer;

/// What a connection shares with the rest of the hub.
#[derive(Clone)]
pub(crate) struct HubContext {
    /// Everyone connected.
    pub registry: Arc<Registry>,
    /// The hub-wide queued-bytes budget.
    pub budget: Arc<Budget>,
    /// Settings.
    pub config: Arc<Config>,
    /// Graceful shutdown has begun.
    pub shutdown: CancellationToken,
    /// Every reader has finished the frames it had when shutdown began: users may leave.
    pub readers_done: CancellationToken,
    /// The grace period is over.
    pub hard_stop: CancellationToken,
}

/// One connected client as its request handlers see it.
pub(crate) struct Client {
    /// Who this connection is.
    pub id: UserId,
    /// Its own queue, for answers.
    pub outbox: Outbox,
    /// Its kill switch.
    pub control: Arc<Control>,
    /// The rest of the hub.
    pub hub: HubContext,
    /// The protocol version agreed with this client (see `docs/PROTOCOL.md` § 12).
    pub version: u32,
    /// Whether a request has been handled: a `Hello` may only come first.
    pub greeted: bool,
}

/// Serve one accepted connection until it closes. `reading` is held while this connection may
/// still route relays; shutdown waits for every such token before users leave.
pub(crate) async fn serve(stream: TcpStream, hub: HubContext, reading: TaskTrackerToken) {
    let id = hub.registry.next_id();
    let peer_addr = stream.peer_addr().ok();
    let span = info_span!("conn", user_id = id.0, peer = ?peer_addr);
    serve_as(stream, id, hub, reading).instrument(span).await
}

async fn serve_as(stream: TcpStream, id: UserId, hub: HubContext, reading: TaskTrackerToken) {
    debug!("connected");
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (outbox, inbox) = queue(hub.config.queue_limits(), hub.budget.clone());
    let control = Arc::new(Control::default());
    let welcome = frame::encode(&HubMsg::<Bytes>::Welcome {
        version: BASE_VERSION,
        user_id: id,
        limits: Limits::default(),
    });
    outbox
        .push_own(welcome)
        .expect("a new queue is open for its welcome");
    // Registered before the writer starts: once a client holds its welcome, others can reach
    // it. The welcome is already queued, so it still goes out first.
    let peer = Peer::new(outbox.clone(), control.clone());
    hub.registry.join(id, peer);
    let writer = tokio::spawn(
        Writer {
            socket: wr,
            inbox,
            control: control.clone(),
            hard_stop: hub.hard_stop.clone(),
            write_timeout: hub.config.write_timeout,
        }
        .run()
        .in_current_span(),
    );

    let client = Client {
        id,
        outbox,
        control: control.clone(),
        hub: hub.clone(),
        version: BASE_VERSION,
        greeted: false,
    };
    let close = Reader::new(rd, client).run().await;
    let shutdown = close.reason == CloseReason::Shutdown;
    control.close(close);
    drop(reading);
    if shutdown {
        // Frames other readers already hold may still be for this client.
        hub.readers_done.cancelled().await;
    }
    // The one way out of the registry. With the reader gone it drops the queue's last sender,
    // so the writer drains what is queued and ends with the goodbye.
    hub.registry.leave(id);
    let _ = writer.await;
    let reason = control.reason().unwrap_or(CloseReason::Io);
    debug!(?reason, "closed");
    hub.registry.record_close(Some(id), reason);
}
