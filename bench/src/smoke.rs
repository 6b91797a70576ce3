//! Every workload, scaled down, against a real hub on 127.0.0.1:0: the load generator counts
//! what it should and loses nothing. Figures are not checked; speed is the script's business.

use serde_json::Value;

use crate::proto::Proto;
use crate::Workload;

/// Serve a hub for the duration of `run`.
async fn with_hub<F, Fut>(run: F) -> Value
where
    F: FnOnce(std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let hub = testkit::TestHub::start().await;
    let result = run(hub.addr).await;
    hub.stop().await;
    result
}

fn pid() -> u32 {
    std::process::id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_outs_deliver_everything_to_everyone() {
    for (workload, scale) in [
        (Workload::W1, 0.01),
        (Workload::W2, 0.01),
        (Workload::W3, 0.2),
    ] {
        let r = with_hub(|addr| async move {
            crate::fanout::run(Proto::Hub, addr, pid(), workload, scale, false)
                .await
                .expect("run")
        })
        .await;
        assert_eq!(r["loss"], 0, "{workload:?}: {r}");
        assert_eq!(r["deliveries"], r["expected"], "{workload:?}: {r}");
        assert_eq!(r["timed_out"], false, "{workload:?}: {r}");
        // The hub's answers agree with what the receivers counted.
        assert_eq!(r["acks"]["delivered"], r["deliveries"], "{workload:?}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_receiver_run_keeps_the_others_whole() {
    let r = with_hub(|addr| async move {
        crate::fanout::run(Proto::Hub, addr, pid(), Workload::W6, 0.002, false)
            .await
            .expect("run")
    })
    .await;
    assert_eq!(r["loss"], 0, "{r}");
    assert_eq!(r["receivers"], 49, "{r}");
    // 3,000 small messages fit in the slow one's queue: it is not dropped, and it has them.
    assert_eq!(r["slow"]["dropped"], false, "{r}");
    assert_eq!(r["slow"]["received"], 3000, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_measures_every_delivery() {
    let r = with_hub(|addr| async move {
        crate::chat::run(
            Proto::Hub,
            addr,
            pid(),
            0.1,
            false,
            (Workload::W4, crate::chat::RATE_HZ),
        )
        .await
        .expect("run")
    })
    .await;
    assert_eq!(r["loss"], 0, "{r}");
    assert!(r["sends"].as_u64().expect("sends") > 0, "{r}");
    assert_eq!(r["acked_deliveries"], r["deliveries"], "{r}");
    assert_eq!(r["reported_missed"], 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_run_connects_every_client() {
    let r = with_hub(|addr| async move {
        crate::idle::run(Proto::Hub, addr, pid(), 0.01, false)
            .await
            .expect("run")
    })
    .await;
    assert_eq!(r["connections"], 100, "{r}");
}

/// The minimal relay (`loadgen minrelay`) takes the hub's clients: every fan-out message and
/// every chat message arrives, and its answers count them; W4 light sends a tenth of W4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimal_relay_serves_the_fan_out_and_the_chat() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let relay = tokio::spawn(crate::minrelay::serve(listener));
    let r = crate::fanout::run(Proto::Hub, addr, pid(), Workload::W1, 0.01, false)
        .await
        .expect("fan-out");
    assert_eq!(r["loss"], 0, "{r}");
    assert_eq!(r["deliveries"], r["expected"], "{r}");
    assert_eq!(r["acks"]["delivered"], r["deliveries"], "{r}");
    let mut sends = Vec::new();
    for chat in [
        (Workload::W4, crate::chat::RATE_HZ),
        (Workload::W4l, crate::chat::LIGHT_RATE_HZ),
    ] {
        let r = crate::chat::run(Proto::Hub, addr, pid(), 0.4, false, chat)
            .await
            .expect("chat");
        assert_eq!(r["loss"], 0, "{r}");
        assert_eq!(r["workload"], serde_json::json!(chat.0), "{r}");
        assert_eq!(r["acked_deliveries"], r["deliveries"], "{r}");
        assert_eq!(r["offered_per_s"], chat.1 * 2500.0, "{r}");
        sends.push(r["sends"].as_u64().expect("sends"));
    }
    // 500 clients for 2 s: 20,000 sends at 20/s, 2,000 at 2/s (each client's first send
    // comes at a random phase, so a few more or fewer).
    assert!((19_000..=21_000).contains(&sends[0]), "{sends:?}");
    assert!((1_500..=2_500).contains(&sends[1]), "{sends:?}");
    relay.abort();
}

/// A storm of watchers: every one ends with the complete list, from one snapshot and the
/// pushes of those who came after it, at version 1 (one push per arrival) and at version 6
/// (coalesced `Presence`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_watchers_all_get_the_whole_list() {
    for version in [1, shared::PRESENCE_VERSION] {
        let r = with_hub(|addr| async move {
            crate::storm::run(addr, pid(), 60, version)
                .await
                .expect("storm")
        })
        .await;
        assert_eq!(r["complete"], 60, "{r}");
        assert_eq!(r["failed"], 0, "{r}");
        assert_eq!(r["timed_out"], false, "{r}");
        assert_eq!(r["version"], u64::from(version), "{r}");
        assert!(r["all_complete_s"].as_f64().is_some(), "{r}");
        // One snapshot each, then a push for each of the 59 others not in it: nobody leaves,
        // so no watcher needs more than 60 frames.
        let frames = r["presence_frames"].as_u64().expect("frames");
        assert!((60..=60 * 60).contains(&frames), "{r}");
    }
}

/// Serve a hub for the accounts workloads: its store in memory with room for every message,
/// registrations unlimited.
async fn with_account_hub<F, Fut>(run: F) -> Value
where
    F: FnOnce(std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    use hub::store::{sqlite::SqliteStore, Bounds};
    let bounds = Bounds {
        max_messages: 1 << 40,
        max_bytes: 1 << 50,
        ..Bounds::default()
    };
    let store = SqliteStore::ephemeral(bounds).expect("store");
    let config = hub::Config {
        register_rate: 1_000_000,
        ..testkit::test_config()
    };
    let hub = testkit::TestHub::with_store(config, std::sync::Arc::new(store)).await;
    let result = run(hub.addr).await;
    hub.stop().await;
    result
}

/// `--login`: the same workloads with every client an account's session, relays to account
/// ids answered by `Routed`; nothing is lost or queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_in_runs_deliver_everything_live() {
    for (workload, scale) in [(Workload::W1, 0.01), (Workload::W3, 0.2)] {
        let r = with_account_hub(|addr| async move {
            crate::fanout::run(Proto::Hub, addr, pid(), workload, scale, true)
                .await
                .expect("run")
        })
        .await;
        assert_eq!(r["loss"], 0, "{workload:?}: {r}");
        assert_eq!(r["deliveries"], r["expected"], "{workload:?}: {r}");
        assert_eq!(r["acks"]["delivered"], r["deliveries"], "{workload:?}: {r}");
        assert_eq!(r["acks"]["dropped"], 0, "{workload:?}: {r}");
    }
    let r = with_account_hub(|addr| async move {
        crate::fanout::run(Proto::Hub, addr, pid(), Workload::W6, 0.002, true)
            .await
            .expect("run")
    })
    .await;
    assert_eq!(
        (&r["loss"], &r["slow"]["received"]),
        (&0.into(), &3000.into()),
        "{r}"
    );
    let r = with_account_hub(|addr| async move {
        crate::chat::run(
            Proto::Hub,
            addr,
            pid(),
            0.1,
            true,
            (Workload::W4, crate::chat::RATE_HZ),
        )
        .await
        .expect("run")
    })
    .await;
    assert_eq!(r["loss"], 0, "{r}");
    assert_eq!(r["acked_deliveries"], r["deliveries"], "{r}");
    assert_eq!(r["reported_missed"], 0, "{r}");
    let r = with_account_hub(|addr| async move {
        crate::idle::run(Proto::Hub, addr, pid(), 0.01, true)
            .await
            .expect("run")
    })
    .await;
    assert_eq!(r["connections"], 100, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_relays_are_all_in_the_mailbox() {
    for senders in [1, 4] {
        let r = with_account_hub(|addr| async move {
            let spec = crate::durable::Spec {
                senders,
                seconds: 0.2,
                body: 1024,
            };
            crate::durable::run(crate::durable::Target::Hub, addr, pid(), spec, "always")
                .await
                .expect("run")
        })
        .await;
        assert!(r["acked"].as_u64().expect("acked") > 0, "{r}");
        assert_eq!(r["not_stored"], 0, "{r}");
        // `run` checked that a login finds exactly what was acknowledged.
        assert_eq!(r["kept"], r["acked_total"], "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_drains_every_message_in_order_and_acks_them() {
    let r = with_account_hub(|addr| async move {
        let spec = crate::backlog::Spec {
            messages: 2_500,
            body: 100,
            ack_every: 1_000,
            senders: 8,
        };
        crate::backlog::run(addr, pid(), spec).await.expect("run")
    })
    .await;
    assert_eq!(r["waiting"], 2_500, "{r}");
    assert_eq!(r["received"], 2_500, "{r}");
    // Every 1,000 and the last.
    assert_eq!(r["acks"], 3, "{r}");
    assert_eq!(r["left_after_acks"], 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowd_fills_every_mailbox() {
    let r = with_account_hub(|addr| async move {
        let spec = crate::crowd::Spec {
            accounts: 50,
            messages: 1_000,
            body: 48,
            senders: 16,
            per_relay: 1,
            settle: std::time::Duration::ZERO,
            data_dir: None,
            restarted: false,
        };
        let filled = crate::crowd::run(addr, pid(), spec.clone())
            .await
            .expect("run");
        // The same hub stands in for one restarted on the data: the mailboxes are whole.
        let again = crate::crowd::run(
            addr,
            pid(),
            crate::crowd::Spec {
                restarted: true,
                ..spec
            },
        )
        .await
        .expect("run");
        serde_json::json!({ "filled": filled, "again": again })
    })
    .await;
    assert_eq!(r["filled"]["fill"]["stored"], 1_000, "{r}");
    assert_eq!(r["again"]["waiting"], 20, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_connects_and_logs_in_every_connection() {
    let r = with_hub(|addr| async move {
        let spec = crate::setup::Spec {
            connections: 50,
            concurrency: 4,
            login: true,
        };
        crate::setup::run(addr, spec).await.expect("run")
    })
    .await;
    assert_eq!(r["connections"], 50, "{r}");
    assert_eq!(
        (&r["login"], &r["tls"]),
        (&true.into(), &false.into()),
        "{r}"
    );
    assert!(r["p50_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{r}");
}

/// What a nats-server says first, over a real socket, and what the client made of it once it
/// had read what it reads before TLS (and the bytes it left on the socket).
async fn nats_info(said: &'static [u8]) -> (anyhow::Result<()>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        socket.write_all(said).await.expect("write");
        socket.shutdown().await.expect("shutdown");
        // Held open until the client is done with it.
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // Everything the server said arrives before the client reads: the over-reading case.
    let mut peeked = vec![0u8; said.len()];
    while stream.peek(&mut peeked).await.expect("peek") < said.len() {
        tokio::task::yield_now().await;
    }
    let skipped = crate::proto::skip_nats_info(&mut stream).await;
    let mut left = Vec::new();
    if skipped.is_ok() {
        stream.read_to_end(&mut left).await.expect("read");
    }
    drop(stream);
    server.await.expect("server");
    (skipped, left)
}

#[tokio::test]
async fn a_nats_info_line_requiring_tls_is_read_and_nothing_after_it() {
    let (skipped, left) =
        nats_info(b"INFO {\"server_id\":\"N1\",\"tls_required\":true,\"max_payload\":1048576}\r\n")
            .await;
    skipped.expect("an INFO line requiring TLS is taken");
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_nats_server_without_tls_is_a_clear_error() {
    let (skipped, _) = nats_info(b"INFO {\"server_id\":\"N1\",\"max_payload\":1048576}\r\n").await;
    let error = skipped.expect_err("a plain server").to_string();
    assert!(error.contains("does not require TLS"), "{error}");
}

#[tokio::test]
async fn bytes_after_the_nats_info_line_are_refused() {
    let (skipped, _) = nats_info(b"INFO {\"tls_required\":true}\r\nPING\r\n").await;
    let error = skipped.expect_err("more than the line").to_string();
    assert!(error.contains("more than its INFO line"), "{error}");
}

#[test]
fn the_tls_table_shows_each_servers_cost_and_the_hub_against_nats() {
    let line = |target: &str, tls: bool, rate: f64| {
        serde_json::json!({"target": target, "tls": tls, "login": false, "workload": "w1",
            "rate_per_s": rate, "loss": 0})
    };
    let lines = vec![
        line("hub", false, 10e6),
        line("hub", true, 8e6),
        line("nats", false, 4e6),
        line("nats", true, 2e6),
    ];
    let table = crate::report::table_of(lines);
    let w1 = table
        .lines()
        .find(|l| l.starts_with("| W1") && l.contains("| 0.80 |"))
        .unwrap_or_else(|| panic!("no W1 row in the TLS table:\n{table}"));
    assert_eq!(
        w1,
        "| W1 fan-out 6 B → 49, M deliveries/s | 10.00 | 8.00 | 0.80 | 4.00 | 2.00 | 0.50 | 4.00x |"
    );
}
