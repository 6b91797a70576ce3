//! Receipts in `tui-client listen` (real processes, a real hub): alice listens while a
//! one-shot `send` of hers goes to bob, who is away; when bob's own `listen` drains and
//! acknowledges his mailbox, alice's listener prints a `delivered` event naming bob and the
//! seq that `send` was told.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;

use hub_support::TestHub;
use oneshot_support::{listen_as, registered, run_as, stderr};

#[test]
fn a_listener_prints_the_receipt_when_the_away_receiver_reads_its_mailbox() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let (dir, alice, bob) = (dir.path(), dir.path().join("alice"), dir.path().join("bob"));
    registered(&addr, dir, &alice, "alice");
    let bob_id = registered(&addr, dir, &bob, "bob");

    let alice_listens = listen_as(&addr, dir, &alice);
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", "bob", "when you are back"],
    );
    assert_eq!(out.status.code(), Some(5), "queued: {}", stderr(&out));
    let sent = alice_listens.next();
    assert_eq!(sent["event"], "outgoing", "{sent}");

    let bob_listens = listen_as(&addr, dir, &bob);
    let msg = bob_listens.next();
    let seq = msg["seq"].as_u64().expect("from the mailbox");
    assert_eq!(bob_listens.next()["event"], "acked");

    let receipt = alice_listens.next();
    assert_eq!(receipt["event"], "delivered", "{receipt}");
    assert_eq!(receipt["to"].as_u64(), Some(bob_id), "{receipt}");
    assert_eq!(receipt["to_name"], "bob", "{receipt}");
    assert_eq!(receipt["through"].as_u64(), Some(seq), "{receipt}");
}
