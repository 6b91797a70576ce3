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

/// `hub account add` creates an account in a data directory, even beside a hub that serves
/// it with registration closed; that account can log in.
#[tokio::test]
async fn the_operator_adds_accounts_to_a_hub_with_registration_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8").to_owned();
    let mut hub = testkit::child::HubProcess::spawn_bin(
        env!("CARGO_BIN_EXE_hub"),
        &["--data-dir", &data, "--registration", "closed"],
        None,
    );
    let mut stranger = Connection::connect(hub.addr).await.expect("connect");
    let answer =
        testkit::accounts::try_register(&mut stranger, &shared::SecretKey::generate(), "eve").await;
    assert!(
        matches!(
            answer,
            HubMsg::Error {
                kind: ErrorKind::RegistrationClosed,
                ..
            }
        ),
        "{answer:?}"
    );

    let key = shared::SecretKey::generate();
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["account", "add", "Carol", &key.public().to_string()])
        .args(["--data-dir", &data])
        .output()
        .expect("hub account add runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    let (id, name) = printed.trim().split_once(' ').expect("id and name");
    assert_eq!(name, "carol");

    let mut carol = Connection::connect(hub.addr).await.expect("connect");
    let me = testkit::accounts::login(&mut carol, &key, "carol").await;
    assert_eq!(me.user_id.to_string(), id);

    let again = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["account", "add", "carol", &key.public().to_string()])
        .args(["--data-dir", &data])
        .output()
        .expect("runs");
    assert!(!again.status.success(), "a taken name is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("taken"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    hub.signal("TERM");
    assert!(hub.wait(testkit::WAIT).success());
}

/// A data file that is not a hubbub database stops the hub at once with a clear error, and is
/// left as it was.
#[test]
fn a_damaged_data_file_stops_the_hub_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hub.db");
    let garbage = vec![0x5au8; 8192];
    std::fs::write(&file, &garbage).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("hub runs");
    assert_eq!(out.status.code(), Some(1), "exit 1: cannot start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("damaged or not a hubbub database") && stderr.contains("hub.db"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).expect("read"),
        garbage,
        "left untouched"
    );
}
