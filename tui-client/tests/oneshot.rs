//! The one-shot commands against a real hub: `id`, `list` and `send` (text, stdin, file), and
//! the exit codes and messages of their errors.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use hub_support::{patterned_bytes, TestHub};
use oneshot_support::{client, run, stderr, stdout, Listener};

#[test]
fn id_and_list_show_the_connected_users() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let listener = Listener::start(&addr, dir.path(), dir.path());
    let out = run(&addr, dir.path(), &["id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let me: u64 = stdout(&out).trim().parse().expect("id is a number");
    assert!(me > listener.id);
    let out = run(&addr, dir.path(), &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| l.parse().expect("number"))
        .collect();
    assert_eq!(ids, [listener.id]);
}

#[test]
fn text_stdin_and_a_maximal_file_reach_the_listener() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let save = dir.path().join("saved");
    let listener = Listener::start(&addr, dir.path(), &save);
    let to = listener.id.to_string();

    let out = run(&addr, dir.path(), &["send", "--to", &to, "hello", "there"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "delivered to 1 of 1");
    let msg = listener.next();
    assert_eq!(
        (msg["kind"].as_str(), msg["text"].as_str()),
        (Some("text"), Some("hello there"))
    );

    let mut child = client(&addr, dir.path())
        .args(["send", "--to", &to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn send");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"from stdin\n")
        .expect("write stdin");
    assert!(child.wait_with_output().expect("send").status.success());
    assert_eq!(listener.next()["text"], "from stdin\n");

    let body = patterned_bytes(1_048_576);
    let file = dir.path().join("blob.bin");
    std::fs::write(&file, &body).expect("write");
    let out = run(
        &addr,
        dir.path(),
        &["send", "--to", &to, "--file", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let msg = listener.next();
    assert_eq!(
        (msg["kind"].as_str(), msg["name"].as_str()),
        (Some("file"), Some("blob.bin"))
    );
    assert_eq!(msg["size"], 1_048_576);
    let path = msg["path"].as_str().expect("saved path");
    assert_eq!(Path::new(path), save.join("blob.bin"));
    assert_eq!(std::fs::read(path).expect("read saved"), body);
}

#[test]
fn unknown_receivers_exit_3_and_are_named() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let listener = Listener::start(&addr, dir.path(), dir.path());
    let to = format!("{},9999", listener.id);
    let out = run(&addr, dir.path(), &["send", "--to", &to, "hi"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "delivered to 1 of 2");
    assert!(
        stderr(&out).contains("unknown receivers: 9999"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        listener.next()["text"],
        "hi",
        "the known receiver still gets it"
    );
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 1_048_577]).expect("write");
    let big = big.to_str().expect("utf-8");
    let out = run(&addr, dir.path(), &["send", "--to", "1", "--file", big]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("1048577 bytes; the limit is 1048576 bytes"),
        "{}",
        stderr(&out)
    );

    let missing = dir.path().join("missing.txt");
    let out = run(
        &addr,
        dir.path(),
        &[
            "send",
            "--to",
            "1",
            "--file",
            missing.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));

    let out = run(&addr, dir.path(), &["send", "--to", "1,1", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("named twice"), "{}", stderr(&out));

    // A port that was just free: nothing listens there.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let out = run(&free.to_string(), dir.path(), &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("cannot reach the hub at {free}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).matches("Connection refused").count(),
        1,
        "the cause is said once: {}",
        stderr(&out)
    );
}

#[test]
fn nothing_delivered_has_its_own_exit_code() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let out = run(&addr, dir.path(), &["send", "--to", "999", "hi"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "delivered to 0 of 1");
    assert!(
        stderr(&out).contains("unknown receivers: 999"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_do_not_show_flags_set_by_the_environment_as_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run("127.0.0.1:1", dir.path(), &["send"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let usage = stderr(&out)
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .map(str::to_owned)
        .expect("a usage line");
    assert!(usage.contains("--to"), "{usage}");
    for flag in ["--log-file", "--hub", "--download-dir"] {
        assert!(!usage.contains(flag), "{usage}");
    }
}
