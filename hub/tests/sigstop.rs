//! A real process that answers keepalives, then is stopped with SIGSTOP: the kernel keeps its
//! socket open and acknowledges bytes, but nobody answers, so the hub must close it as idle.

use std::process::{Command, Stdio};
use std::time::Duration;

use hub::{CloseReason, Config};
use shared::UserId;
use testkit::*;

/// A client in Python that reads frames and answers each keepalive (hub tag 9) with a
/// KeepAliveAck (client tag 6), as docs/PROTOCOL.md describes.
const CLIENT: &str = r#"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: sys.exit(0)
        b += c
    return b
while True:
    (n,) = struct.unpack(">I", read(4))
    payload = read(n)
    if payload[:1] == b"\x09":
        s.sendall(b"\x00\x00\x00\x01\x06")
"#;

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[tokio::test]
async fn a_stopped_process_is_closed_as_idle_while_a_live_one_stays() {
    // Long enough that a loaded CI machine still lets the live client answer in time.
    let interval = Duration::from_secs(1);
    let hub = TestHub::with_config(Config {
        ping_interval: interval,
        ..test_config()
    })
    .await;
    let mut child = Command::new("python3")
        .args(["-c", CLIENT, &hub.addr.port().to_string()])
        .stdin(Stdio::null())
        .spawn()
        .expect("python3 runs (CI installs it; see .ci/run)");
    hub.wait_for_users(1).await;

    // Alive and answering: still connected after many keepalive rounds.
    tokio::time::sleep(interval * 4).await;
    assert_eq!(
        hub.inspector.connections(),
        1,
        "{:?}",
        hub.inspector.recent_closes()
    );

    signal(child.id(), "-STOP");
    hub.wait_for_users(0).await;
    assert_eq!(
        hub.inspector.recent_closes(),
        vec![(Some(UserId(1)), CloseReason::Idle)]
    );

    signal(child.id(), "-CONT");
    let _ = child.kill();
    let _ = child.wait();
    hub.stop().await;
}
