//! The hub's clocks on tokio's paused clock, so that its timers fire in a blink however busy
//! the machine is and a client's answer is never late: a frame that trickles in too slowly is
//! cut at the frame deadline while a slow but steady one gets through; a silent client gets a
//! keepalive, then is closed as idle; one that answers stays.

use std::time::Duration;

use hub::{CloseReason, Config};
use shared::{ClientMsg, ErrorKind, HubMsg, UserId};
use testkit::raw::{Raw, Seen};
use testkit::*;
use tokio::time::Instant;

/// Default deadlines, keepalives out of the way (they have their own test).
fn config() -> Config {
    Config {
        ping_interval: Duration::from_secs(24 * 3600),
        stats_interval: Duration::ZERO,
        ..Config::default()
    }
}

#[tokio::test(start_paused = true)]
async fn one_byte_a_minute_is_cut_off_at_the_frame_deadline() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(config()).await;
    let mut raw = Raw::connect(hub.addr).await;
    raw.wait = Duration::from_secs(3600);
    // The first byte of a ping frame; the next would come a minute later.
    let started = Instant::now();
    raw.write(&[0]).await.expect("first byte");
    raw.expect_goodbye(ErrorKind::FrameDeadline).await;
    let waited = started.elapsed();
    assert!(
        waited >= Config::default().frame_deadline && waited < Duration::from_secs(60),
        "cut off after {waited:?}: at the deadline, before the second byte was due"
    );
    assert_eq!(
        hub.close_reason(raw.user_id).await,
        CloseReason::FrameDeadline
    );
    drop(raw);
    pair.exchange(&ledger).await;
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test(start_paused = true)]
async fn one_mebibyte_at_64_kib_per_second_gets_through() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(config()).await;
    let mut slow = Raw::connect(hub.addr).await;
    let receiver = pair.b.user_id();
    let frame = ledger
        .relay(slow.user_id, &[receiver], shared::MAX_BODY_LEN)
        .to_frame()
        .expect("encodes");
    // 4 KiB every 62.5 ms: 64 KiB/s, about 16 s for the whole frame.
    let started = Instant::now();
    for chunk in frame.chunks(4096) {
        raw_write(&mut slow, chunk).await;
        tokio::time::sleep(Duration::from_micros(62_500)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(15),
        "the trickle was real"
    );
    match slow.next().await {
        Seen::Msg(answer) => {
            assert!(ledger.answer(slow.user_id, &answer), "{answer:?}")
        }
        other => panic!("expected the relay's answer, got {other:?}"),
    }
    let msg = recv_skipping(&mut pair.b).await;
    assert!(ledger.receive(receiver, &msg));
    pair.exchange(&ledger).await;
    pair.finish(&ledger);
    ledger.check();
    assert_eq!(
        ledger.totals().0,
        3,
        "the slow relay and both exchanges were delivered"
    );
    drop(slow);
    base.wait_restored(&hub).await;
    hub.stop().await;
}

async fn raw_write(raw: &mut Raw, bytes: &[u8]) {
    raw.write(bytes)
        .await
        .expect("the hub keeps reading a slow but steady sender");
}

/// On tokio's paused clock: the bystanders answer their keepalives between exchanges, which a
/// loaded machine could delay past a 100 ms interval in real time.
#[tokio::test(start_paused = true)]
async fn a_silent_client_gets_a_keepalive_then_is_closed_as_idle() {
    let (hub, base, ledger, mut pair) = testkit::scene::start(Config {
        ping_interval: Duration::from_millis(100),
        ..test_config()
    })
    .await;
    // A stopped process looks like this on the wire: the kernel ACKs, nobody answers.
    let mut silent = Raw::connect(hub.addr).await;
    let id = silent.user_id;
    let goodbye = tokio::spawn(async move {
        match silent.next().await {
            Seen::Msg(HubMsg::KeepAlive) => {}
            other => panic!("expected a keepalive first, got {other:?}"),
        }
        silent.expect_goodbye(ErrorKind::Idle).await
    });
    // The bystanders keep talking (which keeps them alive) until the silent one is gone.
    for _ in 0..500 {
        if goodbye.is_finished() {
            break;
        }
        pair.exchange(&ledger).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    goodbye.await.expect("idle goodbye");
    assert_eq!(hub.close_reason(id).await, CloseReason::Idle);
    pair.exchange(&ledger).await;
    testkit::scene::finish(hub, base, &ledger, pair).await;
}

/// A hub with quick keepalives, and a frame deadline shorter than a ping interval.
async fn quick_hub() -> TestHub {
    TestHub::with_config(Config {
        frame_deadline: Duration::from_millis(150),
        ping_interval: Duration::from_millis(200),
        ..test_config()
    })
    .await
}

/// Ends the test process if a paused-clock test stops making progress: a task that spins
/// keeps tokio's paused clock from ever moving, which would hang the suite instead of failing.
fn watchdog(what: &'static str) -> std::sync::mpsc::Sender<()> {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(WAIT * 4).is_err() {
            eprintln!("{what}: no progress in {:?} of real time", WAIT * 4);
            std::process::exit(101);
        }
    });
    done
}

#[tokio::test(start_paused = true)]
async fn a_quiet_reader_waits_for_its_next_deadline_instead_of_spinning() {
    let done = watchdog("a_quiet_reader_waits_for_its_next_deadline_instead_of_spinning");
    // No frame is in progress, so the 150 ms frame deadline is no reason to wake: a reader that
    // woke on it anyway, once it had passed, would spin and freeze the paused clock.
    let hub = quick_hub().await;
    let mut silent = Raw::connect(hub.addr).await;
    let id = silent.user_id;
    assert!(matches!(silent.next().await, Seen::Msg(HubMsg::KeepAlive)));
    silent.expect_goodbye(ErrorKind::Idle).await;
    assert_eq!(hub.close_reason(id).await, CloseReason::Idle);
    hub.stop().await;
    let _ = done.send(());
}

#[tokio::test(start_paused = true)]
async fn a_keepalive_queued_behind_a_backlog_does_not_make_its_reader_idle() {
    let hub = TestHub::with_config(Config {
        ping_interval: Duration::from_millis(200),
        write_timeout: Duration::from_secs(3600),
        ..test_config()
    })
    .await;
    let mut receiver = Raw::connect_small(hub.addr).await;
    let mut sender = hub.connect().await;
    // Fill the receiver's socket until frames wait in its queue.
    for req in 1.. {
        let body = bytes::Bytes::from(vec![1u8; 64 * 1024]);
        let answer = request(&mut sender, relay_msg(req, &[receiver.user_id], body)).await;
        assert!(
            matches!(answer, HubMsg::Posted { delivered: 1, .. }),
            "{answer:?}"
        );
        if hub.inspector.queued_bytes() > 0 {
            break;
        }
    }
    // Many ping intervals pass while the receiver reads nothing; its keepalive waits in line.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sender
            .send(&ClientMsg::KeepAliveAck)
            .await
            .expect("sender stays");
    }
    // Then it reads all of it, answering the keepalives as they come, and is still served.
    loop {
        match receiver.next().await {
            Seen::Msg(HubMsg::Message { .. }) => {}
            Seen::Msg(HubMsg::KeepAlive) => {
                receiver.send(&ClientMsg::KeepAliveAck).await;
                break;
            }
            other => panic!("the reader was not kept: {other:?}"),
        }
    }
    receiver
        .send(&ClientMsg::Ping {
            req: shared::RequestId(7),
        })
        .await;
    loop {
        match receiver.next().await {
            Seen::Msg(HubMsg::Pong { .. }) => break,
            Seen::Msg(HubMsg::Message { .. } | HubMsg::KeepAlive) => {}
            other => panic!("the reader was not kept: {other:?}"),
        }
    }
    hub.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_keepalives_stays() {
    let hub = quick_hub().await;
    let mut conn = hub.connect().await;
    let mut keepalives = 0;
    while keepalives < 5 {
        match recv(&mut conn).await {
            HubMsg::KeepAlive => {
                keepalives += 1;
                conn.send(&ClientMsg::KeepAliveAck).await.expect("ack");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        identity(&mut conn).await,
        UserId(1),
        "still connected after 5 intervals"
    );
    hub.stop().await;
}
