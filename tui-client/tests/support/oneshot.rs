//! Support for the one-shot tests: run `tui-client` against a hub with its log and downloads in
//! a temporary directory, and `listen --json` in the background. Include it next to
//! `support/hub.rs` under the module name `hub_support`, whose `WAIT` it uses.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use serde_json::Value;

use crate::hub_support::WAIT;

/// `tui-client` for `hub`, its files under `dir`: the default identity is
/// `dir/config/hubbub/identity`, never the user's own.
pub fn client(hub: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tui-client"));
    cmd.env("HUBBUB_HUB", hub)
        .env("HUBBUB_LOG_FILE", dir.join("oneshot.log"))
        .env("HUBBUB_DOWNLOAD_DIR", dir.join("downloads"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("HUBBUB_IDENTITY")
        .env_remove("HUBBUB_ANONYMOUS")
        .env_remove("HUBBUB_CONFIG");
    cmd
}

pub fn run(hub: &str, dir: &Path, args: &[&str]) -> Output {
    client(hub, dir)
        .args(args)
        .output()
        .expect("run tui-client")
}

/// `tui-client --identity PATH ARGS...`.
pub fn run_as(hub: &str, dir: &Path, identity: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--identity", identity.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    run(hub, dir, &all)
}

/// `listen --json` as the identity at `identity`.
pub fn listen_as(hub: &str, dir: &Path, identity: &Path) -> Listener {
    let id = identity.to_str().expect("utf-8 path");
    Listener::start_with(hub, dir, &dir.join("saved"), &["--identity", id])
}

/// `register NAME` with the identity at `identity`; the id it prints.
pub fn registered(hub: &str, dir: &Path, identity: &Path, name: &str) -> u64 {
    let out = run_as(hub, dir, identity, &["register", name]);
    assert!(out.status.success(), "register {name}: {}", stderr(&out));
    stdout(&out).trim().parse().expect("register prints the id")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `listen --json` in the background; its lines arrive on a channel.
pub struct Listener {
    pub child: Child,
    lines: mpsc::Receiver<Value>,
    pub id: u64,
    /// The `ready` event it started with.
    pub ready: Value,
}

impl Listener {
    pub fn start(hub: &str, dir: &Path, save_dir: &Path) -> Listener {
        Self::start_with(hub, dir, save_dir, &[])
    }

    pub fn start_with(hub: &str, dir: &Path, save_dir: &Path, more: &[&str]) -> Listener {
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
                let value: Value = serde_json::from_str(&line).expect("every line is JSON");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(WAIT).expect("a line from listen");
        assert_eq!(ready["event"], "ready", "{ready}");
        let id = ready["user_id"].as_u64().expect("id");
        Listener {
            child,
            lines,
            id,
            ready,
        }
    }

    pub fn next(&self) -> Value {
        self.lines.recv_timeout(WAIT).expect("a line from listen")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
