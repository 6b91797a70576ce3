//! Slow senders on tokio's paused clock: one byte a minute is cut off at the frame deadline, a
//! 1 MiB frame at 64 KiB/s gets through. The hub runs with its default deadlines.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/helpers.rs"]
mod helpers;
#[path = "support/ledger.rs"]
mod ledger;
#[path = "support/raw.rs"]
mod raw;
#[path = "support/scene.rs"]
mod scene;

use std::time::Duration;

use hub::{CloseReason, Config};
use raw::Raw;
use scene::{close_reason, recv_skipping};
use shared::ErrorKind;
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
    let (hub, base, ledger, mut pair) = scene::start(config()).await;
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
        close_reason(&hub, raw.user_id).await,
        CloseReason::FrameDeadline
    );
    drop(raw);
    pair.exchange(&ledger).await;
    scene::finish(hub, base, &ledger, pair).await;
}

#[tokio::test(start_paused = true)]
async fn one_mebibyte_at_64_kib_per_second_gets_through() {
    let (hub, base, ledger, mut pair) = scene::start(config()).await;
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
        raw::Seen::Msg(answer) => assert!(ledger.answer(slow.user_id, &answer), "{answer:?}"),
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
