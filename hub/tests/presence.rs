//! Presence: watchers get a snapshot, then joins and leaves; everyone else gets none of it.
//! These watchers speak version 5, one push per change; version 6 coalesces them
//! (tests/presence_batch.rs).

use shared::account::PeerInfo;
use shared::{ClientMsg, HubMsg, RequestId, UserId};
use testkit::*;

#[tokio::test]
async fn a_watcher_sees_the_snapshot_then_joins_and_leaves() {
    let hub = TestHub::start().await;
    let mut watcher = hub.connect_at(shared::RECEIPTS_VERSION).await;
    let mut quiet = hub.connect().await;

    watcher
        .send(&ClientMsg::Watch { req: RequestId(3) })
        .await
        .expect("send");
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Present {
            req: RequestId(3),
            peers: vec![PeerInfo {
                user_id: UserId(2),
                name: None
            }]
        }
    );

    let newcomer = hub.connect().await;
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Arrived {
            user_id: UserId(3),
            name: None
        }
    );
    drop(newcomer);
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Left { user_id: UserId(3) }
    );
    quiet_check(&mut quiet).await;
    hub.stop().await;
}

/// A non-watcher's next frame after the join and leave is the answer to its own ping.
async fn quiet_check(quiet: &mut shared::conn::Connection) {
    quiet
        .send(&ClientMsg::Ping { req: RequestId(8) })
        .await
        .expect("send");
    assert_eq!(recv(quiet).await, HubMsg::Pong { req: RequestId(8) });
}

#[tokio::test]
async fn watchers_do_not_hear_about_themselves_and_see_every_other_leave() {
    let hub = TestHub::start().await;
    let mut w1 = hub.connect_at(shared::RECEIPTS_VERSION).await;
    let mut w2 = hub.connect_at(shared::RECEIPTS_VERSION).await;
    for (w, req) in [(&mut w1, 1), (&mut w2, 2)] {
        w.send(&ClientMsg::Watch {
            req: RequestId(req),
        })
        .await
        .expect("send");
        assert!(matches!(recv(w).await, HubMsg::Present { .. }));
    }
    drop(w2);
    assert_eq!(recv(&mut w1).await, HubMsg::Left { user_id: UserId(2) });
    hub.wait_for_users(1).await;
    assert_eq!(list(&mut w1).await, Vec::<UserId>::new());
    hub.stop().await;
}

/// A client of version 2 watches as before: `Peers`, then `Joined` and `Left`.
#[tokio::test]
async fn a_watcher_of_version_2_gets_ids_only() {
    let hub = TestHub::start().await;
    let mut watcher = shared::conn::Connection::connect_speaking(hub.addr, 2)
        .await
        .expect("v2");
    let other = hub.connect().await;
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
    let newcomer = hub.connect().await;
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Joined {
            user_id: newcomer.user_id()
        }
    );
    drop(newcomer);
    assert!(matches!(recv(&mut watcher).await, HubMsg::Left { .. }));
    hub.stop().await;
}
