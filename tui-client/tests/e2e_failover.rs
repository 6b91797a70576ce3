//! The full-screen client in a real pseudo-terminal given two hub addresses: when its hub goes
//! away it moves to the other, and the screen says so (the status bar's address, the address
//! it failed over from, a line in the inbox) and shows the other hub's peers.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;
#[path = "support/pty.rs"]
mod pty;

use hub_support::TestHub;
use oneshot_support::Listener;
use pty::PtyClient;

const CTRL_C: &str = "\x03";

#[test]
fn the_full_screen_client_fails_over_to_the_second_hub_and_shows_the_switch() {
    let a = TestHub::start();
    let b = TestHub::start();
    let (a_addr, b_addr) = (a.addr.to_string(), b.addr.to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    // Someone on b only: the peer list after the switch is b's.
    let on_b = Listener::start(&b_addr, dir.path(), &dir.path().join("saved"));

    let hubs = format!("{a_addr},{b_addr}");
    let mut client = PtyClient::spawn("c", &hubs, dir.path(), 160, 24);
    client.wait_for("● connected");
    client.wait_for(&format!("hub {a_addr} │"));
    client.wait_for(&format!("connected to {a_addr} as #"));
    client.wait_for("(nobody else here)");

    drop(a);
    client.wait_for(&format!("switched hub: from {a_addr} to {b_addr}"));
    client.wait_for(&format!(
        "hub {b_addr} (failed over from {a_addr}) │ ● connected"
    ));
    client.wait_for(&format!("connected to {b_addr} as #"));
    client.wait_for(&format!("#{} ", on_b.id));

    client.keys(CTRL_C);
    assert!(client.wait_exit(), "exits with success on Ctrl-C");
    client.wait_restored();
}
