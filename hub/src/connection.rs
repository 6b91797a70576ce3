//! One client connection: register, read requests, answer them, route relays, unregister.
//!
//! The reader half runs in [`reader`] (the loop, timers, backpressure, shutdown) and
//! [`requests`] (what each request does); the writer half runs in [`crate::writer`]. They share
//! nothing but the client's queue and its [`Control`]. The relay rules are in [`rules`].

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
use crate::config::Config;
use crate::queue::{queue, Budget};
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
        version: BASE_VERSION,
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
