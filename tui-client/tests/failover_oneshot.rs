//! The one-shot commands and `listen` given several hub addresses, against real hubs: they
//! try the addresses in order (a dead first one costs nothing on the output), an error names
//! every address that failed, and `listen` moves to the next hub when its hub is lost.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;

use std::net::SocketAddr;

use hub_support::TestHub;
use oneshot_support::{client, run, stderr, stdout, Listener};

/// The exit code of "cannot reach the hub" with one address (tui_client::exit::ERROR).
const CANNOT_CONNECT: i32 = 1;

/// A loopback port nothing listens on (it was free a moment ago).
fn dead_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

#[test]
fn send_with_the_first_address_dead_goes_through_the_second_and_says_nothing_of_it() {
    let hub = TestHub::start();
    let (live, dead) = (hub.addr.to_string(), dead_addr().to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = Listener::start(&live, dir.path(), &dir.path().join("saved"));

    // Through HUBBUB_HUB.
    let hubs = format!("{dead},{live}");
    let to = listener.id.to_string();
    let out = run(
        &hubs,
        dir.path(),
        &["send", "--to", &to, "over", "the", "second"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "delivered to 1 of 1\n");
    for misleading in [dead.as_str(), "cannot reach", "refused"] {
        assert!(!stderr(&out).contains(misleading), "{}", stderr(&out));
    }
    assert_eq!(listener.next()["text"], "over the second");

    // Through the config file's `hub`, with the same result.
    let config = dir.path().join("tui.toml");
    std::fs::write(&config, format!("hub = \"{dead}, {live}\"\n")).expect("write config");
    let out = client("unused", dir.path())
        .env_remove("HUBBUB_HUB")
        .args(["--config", config.to_str().expect("utf-8")])
        .args(["send", "--to", &to, "from the config"])
        .output()
        .expect("run tui-client");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "delivered to 1 of 1\n");
    assert_eq!(listener.next()["text"], "from the config");
}

#[test]
fn all_addresses_dead_is_one_error_naming_each_with_the_cannot_connect_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dead_addr(), dead_addr());
    let alone = run(&a.to_string(), dir.path(), &["list"]);
    assert_eq!(alone.status.code(), Some(CANNOT_CONNECT));

    let out = run(&format!("{a},{b}"), dir.path(), &["list"]);
    assert_eq!(out.status.code(), alone.status.code(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach any of the 2 hubs: {a}: ")),
        "{err}"
    );
    assert!(err.contains(&format!("; {b}: ")), "{err}");
    assert_eq!(err.matches("Connection refused").count(), 2, "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_list_that_is_not_one_is_refused_and_forget_hub_wants_a_single_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run("127.0.0.1:1,,127.0.0.1:2", dir.path(), &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("an empty address"),
        "{}",
        stderr(&out)
    );
    let out = run("127.0.0.1:1,127.0.0.1:1", dir.path(), &["list"]);
    assert!(
        stderr(&out).contains("127.0.0.1:1 is named twice"),
        "{}",
        stderr(&out)
    );
    let out = run(
        "tls://127.0.0.1:1,tls://127.0.0.1:2",
        dir.path(),
        &["forget-hub"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--hub names 2 addresses"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn listen_moves_to_the_next_hub_when_its_hub_is_lost() {
    let a = TestHub::start();
    let b = TestHub::start();
    let (a_addr, b_addr) = (a.addr.to_string(), b.addr.to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = Listener::start(
        &format!("{a_addr},{b_addr}"),
        dir.path(),
        &dir.path().join("saved"),
    );
    assert_eq!(listener.ready["hub"], a_addr.as_str(), "{}", listener.ready);

    drop(a);
    let closed = listener.next();
    assert_eq!(closed["event"], "closed", "{closed}");
    let ready = listener.next();
    assert_eq!(ready["event"], "ready", "{ready}");
    assert_eq!(ready["hub"], b_addr.as_str(), "{ready}");
    let id = ready["user_id"].as_u64().expect("an id on b");

    let out = run(
        &b_addr,
        dir.path(),
        &["send", "--to", &id.to_string(), "on b"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(listener.next()["text"], "on b");
}
