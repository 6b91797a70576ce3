//! hubbub's hub: a headless TCP server that relays bodies between connected users.
//!
//! Every connection gets a [`shared::UserId`]; clients ask who they are, who else is here, and
//! relay bodies to 1..=255 of them. The hub stamps the sender and never looks inside a body.
//! Start with [`run`]; see `docs/PROTOCOL.md` for the wire format.
//!
//! Where each policy lives: limits and intervals in [`config`]; close reasons, what each does
//! to the queue and the goodbye it sends in `close.rs`; the slow-consumer rule in `peer.rs`;
//! queue limits in `queue.rs`; unregistering in `connection.rs`; the store for what is to
//! outlive a connection (accounts, mailboxes) in [`store`], and the requests that use it in
//! `connection/accounts.rs`; the per-address limits on registrations and failed logins in
//! `rate.rs`; a version-6 watcher's coalesced presence (its pending changes and their bound) in
//! `presence.rs`; the TLS certificate and key in [`tls`], the stream under a connection (TCP, or
//! TLS through a pump) and its handshake in `transport.rs`, `--require-login` in
//! `connection/gate.rs`, and many hubs as one over NATS (`--cluster`: ids, presence, relays
//! across hubs, their timings) in [`cluster`].

mod close;
pub mod cluster;
pub mod config;
mod connection;
mod frame;
pub mod health;
mod inspect;
mod peer;
mod presence;
pub mod proxy_protocol;
mod queue;
mod rate;
mod registry;
mod server;
pub mod stats;
pub mod store;
pub mod tls;
mod transport;
mod writer;

pub use close::CloseReason;
pub use cluster::{ClusterAuth, ClusterConfig, ClusterError};
pub use config::{Config, Registration};
pub use inspect::Inspector;
pub use queue::SLOT_COST;
pub use server::{listen, run, Hub, LISTEN_BACKLOG, MAX_CONNECTIONS_CAP};
