//! hubbub's test kit: a real hub on 127.0.0.1:0 ([`TestHub`]), well-behaved and raw clients,
//! the "nothing lost" [`ledger`], the hub's [`baseline`], the hub binary as a [`child`]
//! process, [`tls`] (certificates, pinned and CA clients), [`accounts`] (register, log in, read a mailbox), a real [`nats`] server, a [`proxy`] to cut one hub off from it, every kind of [`stores`] for the store's conformance cases, one test against one hub and a cluster ([`hubs`]), and one way to wait for a
//! condition ([`eventually`]).
//!
//! A dev-dependency of every crate whose tests, examples or benchmarks start a hub. Every wait
//! is bounded by [`WAIT`], generous enough for a machine whose cores are busy with other work:
//! tests wait on conditions, never on the machine being fast.

pub mod accounts;
pub mod baseline;
pub mod blocking;
pub mod child;
pub mod client;
pub mod hubs;
pub mod ledger;
pub mod nats;
pub mod peaks;
pub mod proxy;
pub mod raw;
pub mod scene;
pub mod stores;
mod testhub;
pub mod tls;
mod wait;

pub use client::{
    delivery, identity, list, next_answer, recv, recv_skipping, relay, relay_msg, relay_sized,
    request,
};
pub use hubs::Hubs;
pub use testhub::{cluster_config, test_config, TestHub};
pub use wait::{eventually, eventually_async, eventually_some, WAIT};
