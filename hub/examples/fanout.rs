//! The widest burst the protocol allows, against the release hub binary: SENDERS clients each
//! relay one 1 MiB body to the same 255 receivers at once. Prints the hub's peak RSS against its
//! global budget and checks the ledger.
//!
//! ```text
//! cargo build --release -p hub && cargo run --release -p hub --example fanout -- [SENDERS]
//! ```
//! Default: 100 senders (25.5 GiB through loopback). Not part of CI.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use shared::conn::Connection;
use shared::{FrameCodec, HubMsg, UserId, MAX_BODY_LEN, MAX_RECEIVERS};
use testkit::child::HubProcess;
use testkit::ledger::Ledger;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

#[tokio::main]
async fn main() -> ExitCode {
    let senders: usize = std::env::args()
        .nth(1)
        .map_or(100, |a| a.parse().expect("senders"));
    let global = 1024 * 1024 * 1024usize;
    let hub = HubProcess::spawn_beside_example(
        // This one process plays all 255 receivers, decoding 25.5 GiB on the same cores as the
        // hub: one of them can go 10 s (the default write timeout) without reading. Give them
        // a minute, so that what is measured is the budget, not this client's scheduling.
        &[
            "--global-bytes",
            &global.to_string(),
            "--write-timeout",
            "60s",
        ],
        None,
    );
    let ledger = Arc::new(Ledger::new());
    let rss_idle = hub.status_kib("VmRSS");
    let mut receivers = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..MAX_RECEIVERS {
        let stream = TcpStream::connect(hub.addr).await.expect("connect");
        let mut frames = FramedRead::new(stream, FrameCodec::new());
        let welcome = frames.next().await.expect("welcome").expect("frame");
        let HubMsg::Welcome { user_id, .. } = HubMsg::decode(&welcome).expect("hub speaks") else {
            panic!("no welcome")
        };
        ids.push(user_id);
        receivers.push(tokio::spawn(receive(
            frames,
            user_id,
            senders,
            ledger.clone(),
        )));
    }
    let mut conns = Vec::new();
    for _ in 0..senders {
        conns.push(Connection::connect(hub.addr).await.expect("connect"));
    }
    let relays: Vec<_> = conns
        .iter()
        .map(|c| ledger.relay(c.user_id(), &ids, MAX_BODY_LEN))
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .zip(relays)
        .map(|(mut conn, relay)| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                conn.send(&relay).await.expect("send");
                let answer = conn.recv().await.expect("answer");
                ledger.answer(conn.user_id(), &answer);
                conn
            })
        })
        .collect();
    let mut conns = Vec::new();
    for t in tasks {
        conns.push(t.await.expect("sender"));
    }
    for (r, id) in receivers.into_iter().zip(&ids) {
        if r.await.expect("receiver") {
            ledger.healthy(*id);
        }
    }
    let elapsed = started.elapsed();
    let (delivered, _, dropped, _) = ledger.totals();
    let hwm = hub.status_kib("VmHWM");
    let violations = ledger.violations();
    println!(
        "{senders} x 1 MiB -> {MAX_RECEIVERS} receivers in {:.1} s: {delivered} delivered, \
         {dropped} dropped; hub RSS idle {rss_idle} KiB, peak {hwm} KiB (global budget {} MiB); \
         ledger violations: {}",
        elapsed.as_secs_f64(),
        global >> 20,
        violations.len()
    );
    drop(conns);
    // Returned, not `process::exit`: that skips destructors, and dropping `hub` kills it.
    if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Read until `want` deliveries arrived (true) or the hub closed this receiver (false).
async fn receive(
    mut frames: FramedRead<TcpStream, FrameCodec>,
    id: UserId,
    want: usize,
    ledger: Arc<Ledger>,
) -> bool {
    let mut got = 0;
    while got < want {
        let Some(Ok(payload)) = frames.next().await else {
            return false;
        };
        let msg = HubMsg::decode(&payload).expect("hub speaks");
        if ledger.receive(id, &msg) {
            got += 1;
        }
    }
    true
}
