//! Every implementation of the hub's [`Store`], fresh, for the store's conformance cases: a
//! SQLite file, SQLite in memory, and the cluster's JetStream store on a nats-server of its own.

use hub::store::jetstream::JetStreamStore;
use hub::store::sqlite::SqliteStore;
use hub::store::{Bounds, Store};

use crate::nats::NatsServer;

/// Run `case` on a fresh store of each kind, one after the other; a panic names none, so the
/// kind is printed to the test's output before each.
pub fn every(bounds: Bounds, case: impl Fn(&dyn Store)) {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("store: an SQLite file");
    let file = SqliteStore::open(&dir.path().join("hub.db"), bounds).expect("opens");
    case(&file);
    println!("store: SQLite in memory");
    let memory = SqliteStore::ephemeral(bounds).expect("opens");
    case(&memory);
    println!("store: JetStream");
    let nats = NatsServer::start();
    let jetstream = JetStreamStore::connect(&nats.url(), bounds, "conformance").expect("connects");
    case(&jetstream);
}
