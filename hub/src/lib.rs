//! hubbub's hub: a headless TCP server that relays bodies between connected users.
//!
//! Every connection gets a [`shared::UserId`]; clients ask who they are, who else is here, and
//! relay bodies to 1..=255 of them. The hub stamps the sender and never looks inside a body.
//! Start with [`run`]; see `docs/PROTOCOL.md` for the wire format.

pub mod config;
pub mod connection;
mod inspect;
pub mod queue;
pub mod registry;
pub mod server;
pub mod stats;
pub mod writer;

pub use config::Config;
pub use inspect::Inspector;
pub use queue::SLOT_COST;
pub use registry::CloseReason;
pub use server::{run, Hub};
