//! The `hub` binary itself: it says where it listens, serves, and exits 0 on SIGTERM after
//! saying goodbye.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use shared::conn::Connection;
use shared::{ClientMsg, ErrorKind, HubMsg, RequestId, UserId};

/// With no flags about storage, the hub keeps its accounts in the user's data directory.
#[tokio::test]
async fn binary_listens_serves_and_exits_zero_on_sigterm() {
    let data_home = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["--listen", "127.0.0.1:0", "--stats-interval", "0s"])
        .env("RUST_LOG", "info")
        .env("XDG_DATA_HOME", data_home.path())
        .env_remove("HUB_DATA_DIR")
        .env_remove("HUB_EPHEMERAL")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hub");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines.next().expect("a log line").expect("utf-8");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining the log so the hub never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let mut conn = Connection::connect(addr.as_str()).await.expect("connect");
    assert_eq!(conn.user_id(), UserId(1));
    conn.send(&ClientMsg::Identity { req: RequestId(1) })
        .await
        .expect("send");
    assert_eq!(
        conn.recv().await.expect("answer"),
        HubMsg::Identity {
            req: RequestId(1),
            user_id: UserId(1)
        }
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    match tokio::time::timeout(Duration::from_secs(10), conn.recv()).await {
        Ok(Ok(HubMsg::Error { kind, .. })) => assert_eq!(kind, ErrorKind::ShuttingDown),
        other => panic!("expected a goodbye, got {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "hub exited with {status}");
    let db = data_home.path().join("hubbub/hub/hub.db");
    assert!(db.is_file(), "{} was not created", db.display());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db.parent().expect("dir"))
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "the data directory is its owner's alone"
    );
}
