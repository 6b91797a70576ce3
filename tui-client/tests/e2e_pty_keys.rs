//! End-to-end encryption in the full-screen client, on a real pty against a real hub behind a
//! recording proxy: what alice types to bob is sealed (bob reads it, the wire on the hub's
//! side does not carry it), what bob sends opens on her screen, an anonymous peer's message is
//! marked "not encrypted", and when bob's name gets a new key her screen turns red, his
//! message is not shown, sending to him is refused, and `tui-client trust bob` lets it through.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;
#[path = "support/pty.rs"]
mod pty;
#[path = "support/wire.rs"]
mod wire_support;

use std::path::Path;
use std::process::Output;

use hub_support::TestHub;
use oneshot_support::{run, stderr, stdout, Listener};
use pty::PtyClient;
use wire_support::{contains, Proxy};

const MARKER: &str = "MARKER-typed-in-the-tui-5e1f0b77";

/// A one-shot command as alice, whose configuration the pty client shares.
fn as_alice(hub: &str, root: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tui-client"))
        .args(["--hub", hub])
        .args(args)
        .env("XDG_CONFIG_HOME", root.join("alice-config"))
        .env("HUBBUB_LOG_FILE", root.join("alice-oneshot.log"))
        .env_remove("HUBBUB_IDENTITY")
        .env_remove("HUBBUB_ANONYMOUS")
        .output()
        .expect("run tui-client")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
}

#[test]
fn the_tui_seals_opens_marks_the_clear_and_warns_in_red_of_a_changed_key() {
    let hub = TestHub::start();
    let proxy = Proxy::start(hub.addr);
    let addr = proxy.addr.to_string();
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path();
    let bob_dir = root.join("bob");
    std::fs::create_dir_all(&bob_dir).expect("mkdir");
    ok(&as_alice(&addr, root, &["register", "alice"]));
    ok(&run(&addr, &bob_dir, &["register", "bob"]));
    let bob = Listener::start(&addr, &bob_dir, &bob_dir.join("saved"));

    // Wide enough for the status bar to end with alice's own fingerprint: keys are in use.
    let mut alice = PtyClient::spawn("alice", &addr, root, 140, 30);
    alice.wait_for("│ key ");
    alice.wait_for("bob");
    alice.keys(&format!("/msg bob {MARKER}\r"));
    let msg = bob.next();
    assert_eq!(msg["text"], MARKER, "{msg}");
    assert_eq!(msg["encrypted"], true, "{msg}");
    assert!(
        !contains(&proxy.bytes(), MARKER.as_bytes()),
        "sealed on the wire"
    );

    ok(&run(
        &addr,
        &bob_dir,
        &["send", "--to", "alice", "sealed reply"],
    ));
    alice.wait_for("bob sealed reply");
    let anon = root.join("anon");
    std::fs::create_dir_all(&anon).expect("mkdir");
    ok(&run(
        &addr,
        &anon,
        &["--anonymous", "send", "--to", "alice", "plain hi"],
    ));
    alice.wait_for("plain hi");
    alice.wait_for("⚠ not encrypted");
    let screen = alice.contents();
    let marks = screen.matches("not encrypted").count();
    assert_eq!(marks, 1, "only the anonymous message is marked:\n{screen}");
    let anon_listens = Listener::start(&addr, &anon, &anon.join("saved"));
    alice.keys(&format!("/msg #{} hello stranger\r", anon_listens.id));
    let msg = anon_listens.next();
    assert_eq!(msg["text"], "hello stranger");
    assert_eq!(msg["encrypted"], false);
    alice.wait_for(&format!("not encrypted: #{} is anonymous", anon_listens.id));

    // bob's name, a new key: the account deleted and registered again.
    drop(bob);
    ok(&run(&addr, &bob_dir, &["delete-account", "--yes"]));
    let new_bob = ok(&run(&addr, &bob_dir, &["register", "bob"]));
    let new_bob = new_bob.trim();
    assert_eq!(alice.cells_with_background(1), 0, "no red yet");
    ok(&run(
        &addr,
        &bob_dir,
        &["send", "--to", "alice", "believe me"],
    ));
    alice.wait_for("KEY CHANGED: bob");
    alice.wait_for("an encrypted message that was not opened");
    assert!(alice.cells_with_background(1) > 40, "the status bar is red");
    assert!(!alice.contents().contains("believe me"), "never shown");

    alice.keys(&format!("/msg #{new_bob} are you there\r"));
    alice.wait_for("✗ not sent");
    let whois = ok(&as_alice(&addr, root, &["whois", "bob"]));
    assert!(whois.contains("pin CHANGED"), "{whois}");
    let trusted = ok(&as_alice(&addr, root, &["trust", "bob"]));
    assert!(trusted.contains("trusted bob's key"), "{trusted}");
    let bob = Listener::start(&addr, &bob_dir, &bob_dir.join("saved"));
    alice.keys(&format!("/msg #{new_bob} trusted now\r"));
    let msg = bob.next();
    assert_eq!(msg["text"], "trusted now", "{msg}");
    assert_eq!(msg["encrypted"], true);
    ok(&run(
        &addr,
        &bob_dir,
        &["send", "--to", "alice", "all good"],
    ));
    alice.wait_for("all good");
    alice.wait_gone("KEY CHANGED");
    alice.keys("/whois bob\r");
    alice.wait_for_words("· pinned · encrypted");
    assert!(
        alice.contents().contains("fingerprint "),
        "{}",
        alice.contents()
    );
    alice.keys("\x03");
    assert!(alice.wait_exit());
}
