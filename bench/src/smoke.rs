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
            crate::fanout::run(Proto::Hub, addr, pid(), workload, scale)
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
        crate::fanout::run(Proto::Hub, addr, pid(), Workload::W6, 0.002)
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
        crate::chat::run(Proto::Hub, addr, pid(), 0.1)
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
        crate::idle::run(Proto::Hub, addr, pid(), 0.01)
            .await
            .expect("run")
    })
    .await;
    assert_eq!(r["connections"], 100, "{r}");
}
