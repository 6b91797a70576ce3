//! TLS 1.3 on a real hub: handshakes with rcgen certificates, pinning and CA trust, a plain
//! client at a TLS port, logins bound to their TLS session, `--require-login`, and the hub
//! binary's own flags (`--tls-self-signed`, the refusal of exposed plain TCP, `openssl
//! s_client`).

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use hub::Config;
use shared::account::Purpose;
use shared::conn::{ConnError, Connection};
use shared::tls::{Fingerprint, Trust};
use shared::{ClientMsg, ErrorKind, HubMsg, RequestId, SecretKey, BASE_VERSION};
use testkit::accounts::{challenge, login, register};
use testkit::child::HubProcess;
use testkit::tls::{dial, fingerprint, serving, tls_config, TestCa};
use testkit::{delivery, identity, list, next_answer, relay, test_config, TestHub};

#[tokio::test]
async fn relays_between_clients_over_tls_with_a_pinned_rcgen_certificate() {
    let config = tls_config();
    let pin = fingerprint(&config);
    let hub = TestHub::with_config(config).await;
    let mut alice = hub.connect_pinned(pin).await;
    let mut bob = hub.connect_pinned(pin).await;
    assert_eq!(alice.tls().map(|t| t.fingerprint), Some(pin));
    let bob_id = identity(&mut bob).await;
    assert!(list(&mut alice).await.contains(&bob_id));
    let answer = relay(&mut alice, &[bob_id], "over TLS").await;
    assert!(
        matches!(answer, HubMsg::Posted { delivered: 1, .. }),
        "{answer:?}"
    );
    let (from, body) = delivery(&mut bob).await;
    assert_eq!((from, &body[..]), (alice.user_id(), &b"over TLS"[..]));
    // A maximal body crosses the pump whole.
    let big = vec![0x5a; shared::MAX_BODY_LEN];
    relay(&mut alice, &[bob_id], big.clone()).await;
    assert_eq!(delivery(&mut bob).await.1, Bytes::from(big));
    hub.stop().await;
}

#[tokio::test]
async fn a_changed_certificate_is_refused_naming_both_fingerprints() {
    let config = tls_config();
    let presented = fingerprint(&config);
    let hub = TestHub::with_config(config).await;
    let pinned = Fingerprint::of(b"the certificate the hub had before");
    let err = Connection::connect_tls(hub.addr, &dial(Trust::Pin(Some(pinned))))
        .await
        .err()
        .expect("refused");
    match err {
        ConnError::CertChanged {
            pinned: p,
            presented: q,
        } => assert_eq!((p, q), (pinned, presented)),
        other => panic!("expected CertChanged, got {other}"),
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_ca_signed_certificate_passes_with_its_ca_and_fails_with_another() {
    let ca = TestCa::new();
    let config = Config {
        tls: Some(serving(&ca.leaf)),
        ..test_config()
    };
    let hub = TestHub::with_config(config).await;
    let mut conn = Connection::connect_tls(hub.addr, &dial(ca.trust()))
        .await
        .expect("the right CA");
    identity(&mut conn).await;
    let err = Connection::connect_tls(hub.addr, &dial(TestCa::new().trust()))
        .await
        .err()
        .expect("another CA is refused");
    assert!(
        matches!(&err, ConnError::Tls(text) if text.contains("certificate")),
        "{err}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_plain_client_at_a_tls_port_is_told_and_others_are_unaffected() {
    let config = Config {
        tls_handshake_timeout: Duration::from_millis(300),
        ..tls_config()
    };
    let pin = fingerprint(&config);
    let hub = TestHub::with_config(config).await;
    let mut tls = hub.connect_pinned(pin).await;
    let err = Connection::connect(hub.addr).await.err().expect("refused");
    match &err {
        ConnError::Refused { kind, text } => {
            assert_eq!(*kind, ErrorKind::Malformed);
            assert!(text.contains("--tls"), "{text}");
        }
        other => panic!("expected a refusal in plain words, got {other}"),
    }
    // A hubbub frame where a TLS hello belongs gets the same answer at once.
    let mut raw = tokio::net::TcpStream::connect(hub.addr).await.expect("tcp");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(&[0, 0, 0, 2, 0, 1]).await.expect("write");
    let mut got = Vec::new();
    raw.read_to_end(&mut got).await.expect("read to the close");
    assert!(String::from_utf8_lossy(&got).contains("this hub speaks TLS"));
    // The TLS client never noticed.
    let me = identity(&mut tls).await;
    assert_eq!(list(&mut tls).await, Vec::new());
    assert_eq!(me, tls.user_id());
    hub.stop().await;
}

#[tokio::test]
async fn a_login_signed_for_one_tls_session_is_refused_on_another() {
    let config = tls_config();
    let pin = fingerprint(&config);
    let hub = TestHub::with_config(config).await;
    let key = SecretKey::generate();
    register(&mut hub.connect_pinned(pin).await, &key, "alice").await;
    // The attacker's own session to the hub asks for the challenge and relays it to alice,
    // who signs it on her session to him: her binding, not his.
    let mut attacker = hub.connect_pinned(pin).await;
    let victim = hub.connect_pinned(pin).await;
    assert_ne!(attacker.binding(), victim.binding());
    let nonce = challenge(&mut attacker).await;
    let relayed = key.sign_bound(Purpose::Login, &nonce, "alice", victim.binding());
    let refused = send_login(&mut attacker, relayed).await;
    assert!(
        matches!(
            refused,
            HubMsg::Error {
                kind: ErrorKind::LoginFailed,
                ..
            }
        ),
        "{refused:?}"
    );
    // Unbound (as over plain TCP) is refused over TLS too.
    let nonce = challenge(&mut attacker).await;
    let unbound = key.sign(Purpose::Login, &nonce, "alice");
    assert!(matches!(
        send_login(&mut attacker, unbound).await,
        HubMsg::Error {
            kind: ErrorKind::LoginFailed,
            ..
        }
    ));
    // Signed for this session, the same key logs in.
    login(&mut attacker, &key, "alice").await;
    hub.stop().await;
}

async fn send_login(conn: &mut Connection, signature: shared::Signature) -> HubMsg {
    let login = ClientMsg::<Bytes>::Login {
        req: RequestId(5),
        name: "alice".into(),
        signature,
        receive: true,
    };
    conn.send(&login).await.expect("send");
    next_answer(conn).await
}

#[tokio::test]
async fn require_login_refuses_anonymous_requests_until_login() {
    let hub = TestHub::with_config(Config {
        require_login: true,
        ..test_config()
    })
    .await;
    let mut conn = hub.connect().await;
    for msg in [
        ClientMsg::<Bytes>::List { req: RequestId(1) },
        ClientMsg::Identity { req: RequestId(2) },
        testkit::relay_msg(3, &[conn.user_id()], "hi"),
    ] {
        conn.send(&msg).await.expect("send");
        match next_answer(&mut conn).await {
            HubMsg::Error {
                kind: ErrorKind::WrongState,
                text,
                ..
            } => assert!(text.contains("requires login"), "{text}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let key = SecretKey::generate();
    let me = register(&mut conn, &key, "carol").await;
    assert_eq!(identity(&mut conn).await, me.user_id);
    // A connection too old to log in is told why and closed.
    let mut old = Connection::connect_speaking(hub.addr, BASE_VERSION)
        .await
        .expect("connect");
    old.send(&ClientMsg::<Bytes>::List { req: RequestId(1) })
        .await
        .expect("send");
    match old.recv().await {
        Ok(HubMsg::Error {
            kind: ErrorKind::Malformed,
            text,
            ..
        }) => assert!(text.contains("requires login"), "{text}"),
        other => panic!("expected a goodbye, got {other:?}"),
    }
    hub.stop().await;
}

#[test]
fn the_binary_refuses_plain_tcp_on_an_exposed_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["--ephemeral", "--listen", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .expect("the hub runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without TLS"), "{stderr}");
    assert!(stderr.contains("--allow-plaintext"), "{stderr}");
}

#[test]
fn tls_self_signed_is_made_once_and_its_fingerprint_stays_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let start = || {
        let hub = HubProcess::spawn_bin(
            env!("CARGO_BIN_EXE_hub"),
            &["--data-dir", data, "--tls-self-signed"],
            None,
        );
        let fp = hub
            .fingerprint
            .clone()
            .expect("the hub logs its fingerprint");
        (hub, fp)
    };
    let (first, fp1) = start();
    drop(first);
    let (second, fp2) = start();
    assert_eq!(fp1, fp2);
    assert!(fp1.parse::<Fingerprint>().is_ok(), "{fp1}");
    // And it is the certificate the hub serves: openssl sees TLS 1.3 and the same one.
    let port = second.addr.port();
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-tls1_3",
            "-brief",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs (CI installs it; see .ci/run)");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("TLSv1.3"), "{said}");
    assert!(said.contains("CONNECTION ESTABLISHED"), "{said}");
}

#[tokio::test]
async fn a_tls_client_at_a_plain_hub_is_told_it_did_not_answer_in_tls() {
    let hub = TestHub::start().await;
    let err = Connection::connect_tls(hub.addr, &dial(Trust::Pin(None)))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&err, ConnError::Tls(text) if text.contains("did not answer in TLS")),
        "{err}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_silent_connection_does_not_hold_up_other_handshakes() {
    let config = Config {
        tls_handshake_timeout: Duration::from_secs(3600),
        ..tls_config()
    };
    let pin = fingerprint(&config);
    let hub = TestHub::with_config(config).await;
    // Accepted, and its handshake waits for a hello that never comes.
    let silent = tokio::net::TcpStream::connect(hub.addr).await.expect("tcp");
    let mut conn = hub.connect_pinned(pin).await;
    identity(&mut conn).await;
    drop(silent);
    hub.stop().await;
}

#[test]
fn the_binary_serves_tls_cert_and_key_files_and_names_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pair = testkit::tls::self_signed();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &pair.cert).expect("write");
    std::fs::write(&key, &pair.key).expect("write");
    let (cert, key) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let hub = HubProcess::spawn_bin(
        env!("CARGO_BIN_EXE_hub"),
        &["--tls-cert", cert, "--tls-key", key],
        None,
    );
    let logged = hub
        .fingerprint
        .clone()
        .expect("the hub logs its fingerprint");
    assert_eq!(logged, serving(&pair).fingerprint.to_string());
    drop(hub);
    std::fs::write(dir.path().join("key.pem"), "not a key").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["--ephemeral", "--tls-cert", cert, "--tls-key", key])
        .stdin(Stdio::null())
        .output()
        .expect("the hub runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("key.pem"), "{stderr}");
}

#[test]
fn ephemeral_tls_self_signed_is_fresh_each_start() {
    let start = || {
        let hub = HubProcess::spawn_bin(env!("CARGO_BIN_EXE_hub"), &["--tls-self-signed"], None);
        hub.fingerprint
            .clone()
            .expect("the hub logs its fingerprint")
    };
    assert_ne!(start(), start());
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_handshake_in_progress() {
    let hub = TestHub::with_config(Config {
        tls_handshake_timeout: Duration::from_secs(3600),
        ..tls_config()
    })
    .await;
    let _silent = tokio::net::TcpStream::connect(hub.addr).await.expect("tcp");
    // Connected and accepted before the stop.
    testkit::eventually("the hub to accept it", || {
        hub.inspector.stats().accepted >= 1
    })
    .await;
    hub.stop().await;
}
