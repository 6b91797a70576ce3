//! `tui-client listen` against a real hub: text carried exactly by `--json`, a lost hub
//! reported as `closed` and reconnected to, and `--once`.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;

use std::io::Write;
use std::process::Stdio;

use hub_support::{wait_until, TestHub};
use oneshot_support::{client, run, stderr, stdout, Listener};

#[test]
fn listen_json_carries_text_exactly() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let listener = Listener::start(&addr, dir.path(), dir.path());
    let text = "tab\there esc\x1b[41m bidi\u{202e} nul\x00 del\x7f é";
    let to = listener.id.to_string();
    // Through standard input: an argument cannot hold NUL.
    let mut child = client(&addr, dir.path())
        .args(["send", "--to", &to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn send");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).expect("write stdin");
    drop(stdin);
    assert!(child.wait_with_output().expect("send").status.success());
    assert_eq!(listener.next()["text"], text);
}

fn quiet_config() -> hub::Config {
    hub::Config {
        stats_interval: std::time::Duration::ZERO,
        ..hub::Config::default()
    }
}

#[test]
fn listen_reports_a_lost_hub_and_reconnects_to_one_that_comes_back() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let listener = Listener::start(&addr, dir.path(), dir.path());
    drop(hub);
    let closed = listener.next();
    assert_eq!(closed["event"], "closed", "{closed}");
    assert!(!closed["reason"].as_str().expect("a reason").is_empty());
    assert!(closed["retry_in_ms"].as_u64().is_some(), "{closed}");
    let _hub = TestHub::start_at(&addr, quiet_config());
    let ready = wait_until("listen to reconnect", || {
        let v = listener.next();
        (v["event"] == "ready").then_some(v)
    });
    let to = ready["user_id"].as_u64().expect("new id").to_string();
    let out = run(&addr, dir.path(), &["send", "--to", &to, "back"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(listener.next()["text"], "back");
}

#[test]
fn listen_once_reports_the_close_and_exits() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let mut listener = Listener::start_with(&addr, dir.path(), dir.path(), &["--once"]);
    drop(hub);
    let closed = listener.next();
    assert_eq!(closed["event"], "closed", "{closed}");
    assert!(closed["retry_in_ms"].is_null(), "{closed}");
    let status = wait_until("listen --once to exit", || {
        listener.child.try_wait().expect("wait")
    });
    assert_eq!(status.code(), Some(1));

    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let mut child = client(&addr, dir.path())
        .args(["listen", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn listen");
    wait_until("the text listener to connect", || {
        let out = run(&addr, dir.path(), &["list"]);
        (!stdout(&out).trim().is_empty()).then_some(())
    });
    drop(hub);
    let status = wait_until("listen --once to exit", || child.try_wait().expect("wait"));
    assert_eq!(status.code(), Some(1));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut text)
        .expect("read");
    assert!(text.contains(" closed: "), "{text}");
}
