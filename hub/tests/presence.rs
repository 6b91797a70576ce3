//! Presence: watchers get a snapshot, then joins and leaves; everyone else gets none of it.
//! These watchers speak version 5, one push per change; version 6 coalesces them
//! (tests/presence_batch.rs). Each test runs on one hub and on a cluster of three
//! (`NAME::one_hub`, `NAME::three_hubs`), its clients spread over the hubs.

use shared::account::PeerInfo;
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use testkit::*;

on_one_hub_and_a_cluster! {
async fn a_watcher_sees_the_snapshot_then_joins_and_leaves(hubs: Hubs) {
    let mut watcher = hubs.connect_at(shared::RECEIPTS_VERSION).await;
    let mut quiet = hubs.connect().await;

    watcher
        .send(&ClientMsg::Watch { req: RequestId(3) })
        .await
        .expect("send");
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Present {
            req: RequestId(3),
            peers: vec![PeerInfo {
                user_id: quiet.user_id(),
                name: None
            }]
        }
    );

    let newcomer = hubs.connect().await;
    let id = newcomer.user_id();
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Arrived {
            user_id: id,
            name: None
        }
    );
    drop(newcomer);
    assert_eq!(recv(&mut watcher).await, HubMsg::Left { user_id: id });
    quiet_check(&mut quiet).await;
    hubs.stop().await;
}

async fn watchers_do_not_hear_about_themselves_and_see_every_other_leave(hubs: Hubs) {
    let mut w1 = hubs.connect_at(shared::RECEIPTS_VERSION).await;
    let mut w2 = hubs.connect_at(shared::RECEIPTS_VERSION).await;
    for (w, req) in [(&mut w1, 1), (&mut w2, 2)] {
        w.send(&ClientMsg::Watch {
            req: RequestId(req),
        })
        .await
        .expect("send");
        assert!(matches!(recv(w).await, HubMsg::Present { .. }));
    }
    let id2 = w2.user_id();
    drop(w2);
    assert_eq!(recv(&mut w1).await, HubMsg::Left { user_id: id2 });
    hubs.gone(id2).await;
    assert_eq!(list(&mut w1).await, Vec::<UserId>::new());
    hubs.stop().await;
}

/// A client of version 2 watches as before: `Peers`, then `Joined` and `Left`.
async fn a_watcher_of_version_2_gets_ids_only(hubs: Hubs) {
    let mut watcher = hubs.connect_at(2).await;
    let other = hubs.connect().await;
    watcher
        .send(&ClientMsg::Watch { req: RequestId(3) })
        .await
        .expect("send");
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Peers {
            req: RequestId(3),
            peers: vec![other.user_id()]
        }
    );
    let newcomer = hubs.connect().await;
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Joined {
            user_id: newcomer.user_id()
        }
    );
    drop(newcomer);
    assert!(matches!(recv(&mut watcher).await, HubMsg::Left { .. }));
    hubs.stop().await;
}
}

/// A non-watcher's next frame after the join and leave is the answer to its own ping.
async fn quiet_check(quiet: &mut shared::conn::Connection) {
    quiet
        .send(&ClientMsg::Ping { req: RequestId(8) })
        .await
        .expect("send");
    assert_eq!(recv(quiet).await, HubMsg::Pong { req: RequestId(8) });
}
