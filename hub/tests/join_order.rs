//! A client that has its welcome can already be reached: the hub registers a connection before
//! anything, the welcome included, is written to it.

use shared::HubMsg;
use testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcomed_client_is_already_reachable() {
    let hub = TestHub::start().await;
    let mut sender = hub.connect().await;
    // The window this guards is a few microseconds wide, so try many fresh connections.
    for _ in 0..300 {
        let mut fresh = hub.connect().await;
        let answer = relay(&mut sender, &[fresh.user_id()], &b"hi"[..]).await;
        assert!(
            matches!(answer, HubMsg::Posted { delivered: 1, .. }),
            "a relay to {} right after its welcome got {answer:?}",
            fresh.user_id()
        );
        let (_, body) = delivery(&mut fresh).await;
        assert_eq!(&body[..], b"hi");
    }
    hub.stop().await;
}
