//! One client connection: register, read requests, answer them, route relays, unregister.
//!
//! The reader half runs in [`reader`] (the loop, timers, backpressure, shutdown) over the
//! frames of [`frames`] (the read buffer and its sizing), and hands each request to
//! [`requests::handle`]; the writer half runs in [`crate::writer`]. They share nothing but the
//! client's queue and its [`Control`]. The relay rules are in [`rules`].

mod accounts;
mod frames;
mod gate;
mod in_flight;
mod reader;
mod requests;
mod rules;

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use shared::account::CHALLENGE_LEN;
use shared::tls::BINDING_LEN;
use shared::{HubMsg, Limits, UserId, BASE_VERSION};
use std::future::Future;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tracing::{debug, info, info_span, Instrument};

pub(crate) use self::accounts::{
    after_rescues, forget_receipts, now_ms, PendingWrites, ACCOUNTS_VERSION,
};
use self::reader::Reader;
use crate::close::{CloseReason, Control};
use crate::config::Config;
use crate::frame;
use crate::peer::Peer;
use crate::queue::{queue, Budget, Outbox};
use crate::rate::Rates;
use crate::registry::{ConnId, Registry};
use crate::store::{Account, Store};
use crate::transport::{self, Opened};
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
    /// Accounts and mailboxes.
    pub store: Arc<dyn Store>,
    /// Per-address limits on registrations and failed logins.
    pub rates: Arc<Rates>,
    /// The hub's cluster, when it is in one (`--cluster`).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Graceful shutdown has begun.
    pub shutdown: CancellationToken,
    /// Every reader has finished the frames it had when shutdown began: users may leave.
    pub readers_done: CancellationToken,
    /// The grace period is over.
    pub hard_stop: CancellationToken,
}

/// One connected client as its request handlers see it.
pub(crate) struct Client {
    /// Who this connection is: its anonymous id, then its account's once logged in. Relays
    /// are stamped with it.
    pub id: UserId,
    /// Who the registry knows it as: its anonymous id, then its account's once it is a
    /// session of it (a login to act as the account alone leaves it anonymous there).
    pub present_as: UserId,
    /// The anonymous id it was given, which names the connection whoever it logs in as.
    pub conn: ConnId,
    /// Where it comes from, for the rate limits.
    pub addr: Option<IpAddr>,
    /// Its TLS session's `tls-exporter` value, which its signatures must cover; `None` over
    /// plain TCP. (Boxed: an idle plain connection pays one word for it.)
    pub binding: Option<Box<[u8; BINDING_LEN]>>,
    /// The challenge its next signature must cover, once asked for (boxed: a word, not 33
    /// bytes, for a connection that never asks).
    pub challenge: Option<Box<[u8; CHALLENGE_LEN]>>,
    /// The account it is logged in as (boxed: an anonymous connection pays one word for it,
    /// not 176 bytes).
    pub account: Option<Box<Account>>,
    /// The task pushing its mailbox, while one runs.
    pub drain: Option<tokio::task::JoinHandle<()>>,
    /// Its own queue, for answers.
    pub outbox: Outbox,
    /// Its kill switch.
    pub control: Arc<Control>,
    /// The rest of the hub (shared: a copy of its handles is 72 bytes a connection).
    pub hub: Arc<HubContext>,
    /// The protocol version agreed with this client (see `docs/PROTOCOL.md` § 12).
    pub version: u32,
    /// Whether a request has been handled: a `Hello` may only come first.
    pub greeted: bool,
}

impl Client {
    /// The channel binding its signatures cover: its TLS session's `tls-exporter` value, or
    /// nothing over plain TCP.
    pub fn binding(&self) -> &[u8] {
        self.binding.as_deref().map_or(&[], |b| &b[..])
    }
}

/// Serve one accepted connection until it closes. `reading` is held while this connection may
/// still route relays; shutdown waits for every such token before users leave; `permit`, a
/// place under the connection limit, is held until the end. `client` is the client's address
/// when the socket's peer is not the client (a PROXY protocol header named it).
///
/// Not an `async fn`: the future of one keeps each argument twice (the argument and the local
/// it is moved to), and this future is most of an idle connection's memory. Here the block
/// captures each once.
pub(crate) fn serve(
    stream: TcpStream,
    hub: Arc<HubContext>,
    reading: TaskTrackerToken,
    permit: OwnedSemaphorePermit,
    client: Option<IpAddr>,
) -> impl Future<Output = ()> + Send {
    let id = hub.registry.next_id();
    let peer_addr = stream.peer_addr().ok();
    let span = info_span!("conn", user_id = id.map(|id| id.0), peer = ?peer_addr, client = ?client);
    let addr = client.or(peer_addr.map(|a| a.ip()));
    // Boxed, and made before the block so that the block captures the box, not the socket:
    // the handshake's state is large and lives only until it ends; inline, every
    // connection's future would keep room for it all its life, TLS or not (W5 plain 4.3
    // → 8.3 KiB per idle connection before this, bench/README.md § TLS).
    let opening = Box::pin(open(stream, hub.clone(), id));
    async move {
        let Some((id, opened)) = opening.await else {
            return;
        };
        let Opened {
            rd,
            wr,
            binding,
            pump,
        } = match opened {
            Ok(opened) => opened,
            Err(e) => {
                // Before the welcome: nothing to say to a client that speaks no TLS.
                info!(error = %e, "closed before the welcome");
                return;
            }
        };
        debug!("connected");
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
        let (unsent_tx, unsent) = tokio::sync::oneshot::channel();
        let mut writer = Writer {
            socket: wr,
            inbox,
            control: control.clone(),
            hard_stop: hub.hard_stop.clone(),
            write_timeout: hub.config.write_timeout,
            unsent: Some(unsent_tx),
        };
        // The task owns the writer and lends it to `run`, so it holds it once.
        // Not in the connection's span: the writer logs nothing, and the span's 40 bytes
        // would push its task into the next size of allocation (bench/README.md § W5).
        let writer = tokio::spawn(async move { writer.run().await });

        let client = Client {
            id,
            present_as: id,
            conn: id,
            addr,
            challenge: None,
            binding,
            account: None,
            drain: None,
            outbox,
            control: control.clone(),
            hub: hub.clone(),
            version: BASE_VERSION,
            greeted: false,
        };
        let mut reader = Reader::new(rd, client);
        let close = reader.run().await;
        // Boxed: what follows runs once, at the end, and inline its waits (a pump's deadline
        // among them) would be room every idle connection's future keeps.
        let end = Ending {
            client: reader.into_client(),
            close,
            control,
            reading,
            unsent,
            writer,
            pump,
            permit,
        };
        Box::pin(end.run()).await
    }
    .instrument(span)
}

/// Open `stream` (see [`transport::open`]) for the connection `id`, unless the hub shuts down
/// first: then `None`. Without an id (a hub of a cluster waits a little for its next block of
/// ids, `crate::cluster::ids`), the connection is refused as if the hub were full: `None`.
async fn open(
    stream: TcpStream,
    hub: Arc<HubContext>,
    id: Option<UserId>,
) -> Option<(UserId, Result<Opened, transport::OpenError>)> {
    let id = match id {
        Some(id) => id,
        None => match hub.registry.next_id_waiting().await {
            Some(id) => id,
            None => {
                crate::server::refuse_full(&stream);
                hub.registry.record_close(None, CloseReason::ServerFull);
                tracing::error!("no anonymous id to give: all given out, or none leased");
                return None;
            }
        },
    };
    let tls = hub.config.tls.as_ref().map(|tls| &tls.server);
    tokio::select! {
        opened = transport::open(stream, tls, hub.config.tls_handshake_timeout) => Some((id, opened)),
        // Not registered yet: nothing of it to flush or to tell.
        () = hub.shutdown.cancelled() => None,
    }
}

/// What is left of a connection whose reader has stopped.
struct Ending {
    client: Client,
    close: crate::close::Close,
    control: Arc<Control>,
    reading: TaskTrackerToken,
    unsent: tokio::sync::oneshot::Receiver<Vec<Bytes>>,
    writer: tokio::task::JoinHandle<()>,
    pump: Option<transport::Pump>,
    permit: OwnedSemaphorePermit,
}

impl Ending {
    /// Close, leave the registry, let the writer finish, and record why.
    async fn run(self) {
        let Ending {
            mut client,
            close,
            control,
            reading,
            unsent,
            writer,
            pump,
            permit,
        } = self;
        let hub = client.hub.clone();
        let shutdown = close.reason == CloseReason::Shutdown;
        control.close(close);
        if let Some(drain) = client.drain.take() {
            // It stops on the close; it holds a sender of the queue the writer waits to see go.
            let _ = drain.await;
        }
        let (conn, id) = (client.conn, client.present_as);
        drop(client);
        drop(reading);
        if shutdown {
            // Frames other readers already hold may still be for this client.
            hub.readers_done.cancelled().await;
        }
        // The one way out of the registry. With the reader gone it drops the queue's last sender,
        // so the writer drains what is queued and ends with the goodbye.
        let rescue = hub.registry.leave(conn, id);
        if rescue {
            // A session of an account: the relays its writer did not write go to the mailbox,
            // before any relay to the account that came after them (the registry holds those).
            Box::pin(accounts::keep_unsent(&hub, id, unsent)).await;
        }
        let _ = writer.await;
        if let Some(pump) = pump {
            pump.finish(hub.config.write_timeout, &hub.hard_stop).await;
        }
        let reason = control.reason().unwrap_or(CloseReason::Io);
        debug!(?reason, "closed");
        hub.registry.record_close(Some(id), reason);
        drop(permit);
    }
}
