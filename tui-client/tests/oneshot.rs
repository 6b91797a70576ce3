//! The one-shot commands against a real hub: `id`, `list`, `send` (text, stdin, file) and
//! `listen --json`, and the exit codes and messages of their errors.

#[path = "support/hub.rs"]
mod hub_support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use hub_support::{patterned_bytes, wait_until, TestHub, WAIT};
use serde_json::Value;

fn client(hub: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tui-client"));
    cmd.env("HUBBUB_HUB", hub)
        .env("HUBBUB_LOG_FILE", dir.join("oneshot.log"))
        .env("HUBBUB_DOWNLOAD_DIR", dir.join("downloads"));
    cmd
}

fn run(hub: &str, dir: &Path, args: &[&str]) -> Output {
    client(hub, dir)
        .args(args)
        .output()
        .expect("run tui-client")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `listen --json` in the background; its lines arrive on a channel.
struct Listener {
    child: Child,
    lines: mpsc::Receiver<Value>,
    id: u64,
}

impl Listener {
    fn start(hub: &str, dir: &Path, save_dir: &Path) -> Listener {
        Self::start_with(hub, dir, save_dir, &[])
    }

    fn start_with(hub: &str, dir: &Path, save_dir: &Path, more: &[&str]) -> Listener {
        let save = save_dir.to_str().expect("utf-8 path");
        let mut child = client(hub, dir)
            .args(["listen", "--json", "--save-dir", save])
            .args(more)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn listen");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::sync_channel(16);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).expect("every line is JSON");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let mut listener = Listener {
            child,
            lines,
            id: 0,
        };
        let ready = listener.next();
        assert_eq!(ready["event"], "ready");
        listener.id = ready["user_id"].as_u64().expect("id");
        listener
    }

    fn next(&self) -> Value {
        self.lines.recv_timeout(WAIT).expect("a line from listen")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
