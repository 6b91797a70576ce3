//! For tests of the full-screen client's network task against a real hub: its config, the next
//! event, and feeding events to an `App` until a condition holds.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use testkit::WAIT;
use tokio::sync::mpsc;
use tui_client::app::{Action, App};
use tui_client::identity::Identity;
use tui_client::net::{HubAddr, NetConfig, NetEvent};

/// The network task's config for the plain hub at `addr`, files into `dir`, no pins file.
pub fn config(addr: SocketAddr, dir: &Path, identity: Option<Identity>) -> NetConfig {
    NetConfig {
        pins: None,
        hubs: HubAddr::plain(addr).into(),
        download_dir: dir.to_owned(),
        identity,
    }
}

/// The next event that is not about the connection's progress.
pub async fn next(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("an event in time")
            .expect("the network task runs");
        if !matches!(event, NetEvent::Connecting { .. }) {
            return event;
        }
    }
}

/// Feed the network task's events to `app` until `done(app)`.
pub async fn until(
    app: &mut App,
    events: &mut mpsc::Receiver<NetEvent>,
    done: impl Fn(&App) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(app) {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the condition in time")
            .expect("the network task runs");
        app.update(Action::Net(event));
    }
}
