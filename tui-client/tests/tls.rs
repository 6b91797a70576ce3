//! The client over TLS against a real hub: pinning on first use (one-shot commands print the
//! fingerprint; the full-screen client asks), a changed certificate refused with both
//! fingerprints and the command that accepts it, `forget-hub`, `tls://` addresses and `--ca`.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;
#[path = "support/pty.rs"]
mod pty;

use std::path::Path;

use hub::Config;
use hub_support::TestHub;
use oneshot_support::{client, stderr, stdout};
use shared::tls::Fingerprint;
use testkit::tls::{fingerprint, serving, tls_config, TestCa};

/// A TLS hub and the fingerprint it presents.
fn tls_hub() -> (TestHub, Fingerprint) {
    let config = tls_config();
    let fp = fingerprint(&config);
    (TestHub::start_at("127.0.0.1:0", config), fp)
}

fn run(hub: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    client(hub, dir)
        .args(args)
        .output()
        .expect("run tui-client")
}

fn pins(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("config/hubbub/known_hubs")).ok()
}

#[test]
fn a_one_shot_command_pins_on_first_use_and_prints_the_fingerprint() {
    let (hub, fp) = tls_hub();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = hub.addr.to_string();
    let out = run(&addr, dir.path(), &["--tls", "id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).trim().parse::<u64>().is_ok());
    assert!(stderr(&out).contains(&fp.to_string()), "{}", stderr(&out));
    assert_eq!(pins(dir.path()), Some(format!("{addr} {fp}\n")));
    // Pinned now: a tls:// address is the same hub, and nothing more is said.
    let out = run(&format!("tls://{addr}"), dir.path(), &["id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_changed_certificate_is_refused_until_forget_hub() {
    let (hub, fp) = tls_hub();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = hub.addr.to_string();
    let old = Fingerprint::of(b"the hub's certificate before");
    let file = dir.path().join("config/hubbub/known_hubs");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    let before = format!("{addr} {old}\n");
    std::fs::write(&file, &before).expect("write pins");

    let out = run(&addr, dir.path(), &["--tls", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(said.contains("CHANGED"), "{said}");
    assert!(said.contains(&old.to_string()), "{said}");
    assert!(said.contains(&fp.to_string()), "{said}");
    assert!(
        said.contains(&format!("tui-client forget-hub {addr}")),
        "{said}"
    );
    assert_eq!(
        pins(dir.path()).as_deref(),
        Some(before.as_str()),
        "the pin file is unchanged"
    );

    let out = run(&addr, dir.path(), &["forget-hub", &addr]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(pins(dir.path()).as_deref(), Some(""));
    let out = run(&addr, dir.path(), &["--tls", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(pins(dir.path()), Some(format!("{addr} {fp}\n")));
}

#[test]
fn ca_verification_accepts_its_hub_and_refuses_another_ca_without_pinning() {
    let ca = TestCa::new();
    let hub = TestHub::start_at(
        "127.0.0.1:0",
        Config {
            tls: Some(serving(&ca.leaf)),
            ..testkit::test_config()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (good, bad) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&good, &ca.ca_pem).expect("write");
    std::fs::write(&bad, TestCa::new().ca_pem).expect("write");
    let addr = hub.addr.to_string();
    let out = run(
        &addr,
        dir.path(),
        &["--ca", good.to_str().expect("utf-8"), "id"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &addr,
        dir.path(),
        &["--ca", bad.to_str().expect("utf-8"), "id"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    assert_eq!(pins(dir.path()), None, "a CA is trusted instead of pins");
}

#[test]
fn plain_tcp_to_a_tls_hub_says_to_use_tls() {
    // A plain client waits for a welcome and says nothing: the hub tells it once the
    // handshake timeout is over.
    let config = Config {
        tls_handshake_timeout: std::time::Duration::from_millis(300),
        ..tls_config()
    };
    let hub = TestHub::start_at("127.0.0.1:0", config);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&hub.addr.to_string(), dir.path(), &["id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("this hub speaks TLS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_full_screen_client_shows_the_fingerprint_and_asks_before_connecting() {
    let (hub, fp) = tls_hub();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = hub.addr.to_string();
    let mut ui = pty::PtyClient::spawn("a", &format!("tls://{addr}"), dir.path(), 120, 30);
    ui.wait_for("Trust it and connect? [y/N]");
    // The screen wraps at 120 columns; the fingerprint is 95 characters on its own line.
    ui.wait_for(&fp.to_string());
    ui.keys("y\r");
    ui.wait_for("● connected");
    let pinned =
        std::fs::read_to_string(dir.path().join("a-config/hubbub/known_hubs")).expect("pinned");
    assert_eq!(pinned, format!("{addr} {fp}\n"));
}

#[test]
fn listen_stops_at_a_changed_certificate_instead_of_retrying() {
    let (hub, _) = tls_hub();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = hub.addr.to_string();
    let file = dir.path().join("config/hubbub/known_hubs");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    let old = Fingerprint::of(b"before");
    std::fs::write(&file, format!("{addr} {old}\n")).expect("write pins");
    let mut listen = client(&format!("tls://{addr}"), dir.path())
        .arg("listen")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn listen");
    let status = hub_support::wait_until("listen to give up", || listen.try_wait().expect("wait"));
    assert_eq!(status.code(), Some(1));
    let mut said = String::new();
    std::io::Read::read_to_string(&mut listen.stderr.take().expect("stderr"), &mut said)
        .expect("read stderr");
    assert!(said.contains("CHANGED"), "{said}");
}

#[test]
fn a_list_of_tls_hubs_asks_for_each_unpinned_address_and_pins_each_on_its_own() {
    let (a, fp_a) = tls_hub();
    let (b, fp_b) = tls_hub();
    let (a, b) = (a.addr.to_string(), b.addr.to_string());
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let hubs = format!("tls://{dead},tls://{a},tls://{b}");
    let mut ui = pty::PtyClient::spawn("a", &hubs, dir.path(), 160, 40);
    // The dead one is said and passed over; each live one is asked about in turn.
    ui.wait_for(&format!(
        "cannot reach tls://{dead} to confirm its certificate"
    ));
    ui.wait_for(&format!("The hub at {a} is not known yet"));
    ui.wait_for(&fp_a.to_string());
    ui.keys("y\r");
    ui.wait_for(&format!("The hub at {b} is not known yet"));
    ui.wait_for(&fp_b.to_string());
    ui.keys("y\r");
    ui.wait_for("● connected");
    ui.wait_for(&format!("hub tls://{a} │"));
    let pinned =
        std::fs::read_to_string(dir.path().join("a-config/hubbub/known_hubs")).expect("pinned");
    assert_eq!(pinned, format!("{a} {fp_a}\n{b} {fp_b}\n"));
}
