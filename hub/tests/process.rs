//! The hub binary under signals and a tiny descriptor limit: SIGTERM in the middle of a wide
//! 1 MiB fan-out delivers every accepted frame and exits 0; out of descriptors, the accept loop
//! backs off cheaply and recovers when descriptors free up.

use std::sync::Arc;
use std::time::Duration;

use shared::conn::{ConnError, Connection};
use shared::{ErrorKind, HubMsg, UserId, MAX_BODY_LEN};
use testkit::child::HubProcess;
use testkit::ledger::Ledger;
use tokio::net::TcpStream;

/// What a receiver saw before the hub closed its connection.
struct Seen {
    id: UserId,
    messages: usize,
    told_shutdown: bool,
}

async fn receive_until_closed(mut conn: Connection, ledger: Arc<Ledger>) -> Seen {
    let id = conn.user_id();
    let mut seen = Seen {
        id,
        messages: 0,
        told_shutdown: false,
    };
    loop {
        match tokio::time::timeout(Duration::from_secs(30), conn.recv()).await {
            Ok(Ok(msg @ HubMsg::Message { .. })) => {
                ledger.receive(id, &msg);
                seen.messages += 1;
            }
            Ok(Ok(HubMsg::Error {
                req: None,
                kind: ErrorKind::ShuttingDown,
                ..
            })) => seen.told_shutdown = true,
            Ok(Ok(_)) => {}
            Ok(Err(ConnError::Closed)) => return seen,
            Ok(Err(e)) => panic!("{id}: {e}"),
            Err(_) => panic!("{id} waited 30 s for the hub to close"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_wide_fan_out_delivers_every_accepted_frame_and_exits_zero() {
    const RECEIVERS: usize = 255;
    let mut hub = HubProcess::spawn_bin(
        env!("CARGO_BIN_EXE_hub"),
        &["--shutdown-grace", "10s"],
        None,
    );
    let ledger = Arc::new(Ledger::new());
    let mut ids = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..RECEIVERS {
        let conn = Connection::connect(hub.addr).await.expect("connect");
        ids.push(conn.user_id());
        readers.push(tokio::spawn(receive_until_closed(conn, ledger.clone())));
    }
    let mut sender = Connection::connect(hub.addr).await.expect("connect");
    let me = sender.user_id();
    // One relay answered before the signal, one in flight when it comes.
    for send_and_signal in [false, true] {
        let relay = ledger.relay(me, &ids, MAX_BODY_LEN);
        sender.send(&relay).await.expect("send");
        if send_and_signal {
            hub.signal("TERM");
        } else {
            let answer = sender.recv().await.expect("answer");
            assert!(ledger.answer(me, &answer), "{answer:?}");
        }
    }
    // The sender hears about its second relay or is told the hub is going away.
    let mut answered = 1;
    loop {
        match sender.recv().await {
            Ok(msg) if ledger.answer(me, &msg) => answered += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    ledger.gone(me);
    let mut counts = Vec::new();
    for reader in readers {
        let seen = reader.await.expect("receiver");
        assert!(
            seen.told_shutdown,
            "{} was not told of the shutdown",
            seen.id
        );
        ledger.healthy(seen.id);
        counts.push(seen.messages);
    }
    let status = hub.wait(Duration::from_secs(30));
    assert!(status.success(), "hub exited with {status}");
    ledger.check();
    // The relay in flight had been written in full before the signal: the hub finishes reading
    // it, delivers it to everyone and answers it.
    assert_eq!(answered, 2, "the relay in flight was not answered");
    assert!(counts.iter().all(|&c| c == 2), "{counts:?}");
    eprintln!(
        "SIGTERM mid-fan-out: {answered} relays answered, each receiver got {}",
        counts[0]
    );
}

/// Connect and wait (bounded) for the welcome; `None` if it does not come in `wait`.
async fn welcomed(addr: std::net::SocketAddr, wait: Duration) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("the kernel accepts into the backlog");
    let mut header = [0u8; 4];
    use tokio::io::AsyncReadExt;
    match tokio::time::timeout(wait, stream.read_exact(&mut header)).await {
        Ok(Ok(_)) => Some(stream),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_hub_backs_off_cheaply_and_recovers() {
    const TRIES: usize = 80;
    let hub = HubProcess::spawn_bin(env!("CARGO_BIN_EXE_hub"), &[], Some(64));
    let mut tries = Vec::new();
    for _ in 0..TRIES {
        let addr = hub.addr;
        tries.push(tokio::spawn(async move {
            welcomed(addr, Duration::from_secs(20)).await
        }));
    }
    // Let the hub fill its table (an inherited descriptor or two may sit above the limit), then
    // measure its CPU while it is stuck at the limit.
    testkit::eventually("the hub to run out of descriptors", || hub.fds() >= 60).await;
    let before = hub.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = hub.cpu_ticks() - before;
    eprintln!(
        "at the descriptor limit: {spent} ticks of CPU in 1 s, {} fds",
        hub.fds()
    );
    // A busy accept loop would burn a whole core (about 100 ticks a second).
    assert!(
        spent < 30,
        "the accept loop spun: {spent} ticks in one second"
    );

    let mut open = Vec::new();
    let mut waiting = Vec::new();
    for t in tries {
        if t.is_finished() {
            open.push(t.await.expect("task").expect("welcomed"));
        } else {
            waiting.push(t);
        }
    }
    assert!(
        !waiting.is_empty(),
        "64 descriptors were enough for {TRIES} connections"
    );
    assert!(
        open.len() > waiting.len(),
        "too few welcomed to make room for the rest"
    );
    // Free descriptors: the waiting connections must now be served.
    open.truncate(open.len() - waiting.len() - 2);
    for t in waiting {
        let stream = t.await.expect("task");
        assert!(stream.is_some(), "a waiting connection was never served");
    }
    drop(open);
    let mut fresh = Connection::connect(hub.addr).await.expect("served again");
    assert!(fresh.user_id().0 > TRIES as u64 / 2);
    let ping = shared::ClientMsg::<bytes::Bytes>::Ping {
        req: shared::RequestId(1),
    };
    fresh.send(&ping).await.expect("send");
    assert!(matches!(fresh.recv().await, Ok(HubMsg::Pong { .. })));
}

/// A hub whose log reader went away (a supervisor's pipe broken, the terminal closed) must still
/// stop on SIGTERM. tracing-subscriber reports a failed log write with `eprintln!`, which panics
/// when stderr is that same broken pipe: the panic killed the task that turns the signal into
/// a shutdown, and the hub ran on, deaf to SIGTERM.
#[test]
fn sigterm_stops_a_hub_whose_log_pipe_is_closed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--stats-interval",
            "0s",
            "--ephemeral",
        ])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hub starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("a first log line");
    let addr = line
        .split("listening on ")
        .nth(1)
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    drop(stderr);
    let mut hub = HubProcess::adopt(child, addr);
    hub.signal("TERM");
    let status = hub.wait(Duration::from_secs(10));
    assert!(status.success(), "the hub exits 0 on SIGTERM: {status:?}");
}

/// The signal handlers are installed before the hub says where it listens: a SIGTERM sent the
/// moment that line appears is a graceful stop (exit 0), never death by the signal. Started
/// twenty times, so that a handler installed a little later would lose the race at least once.
#[test]
fn sigterm_as_soon_as_the_hub_listens_is_a_graceful_stop() {
    for _ in 0..20 {
        let mut hub = HubProcess::spawn_bin(env!("CARGO_BIN_EXE_hub"), &[], None);
        hub.signal("TERM");
        let status = hub.wait(Duration::from_secs(30));
        assert!(status.success(), "the hub exits 0 on SIGTERM: {status:?}");
    }
}
