//! Presence: watchers get a snapshot, then joins and leaves; everyone else gets none of it.

use shared::{ClientMsg, HubMsg, RequestId, UserId};
use testkit::*;

#[tokio::test]
async fn a_watcher_sees_the_snapshot_then_joins_and_leaves() {
    let hub = TestHub::start().await;
    let mut watcher = hub.connect().await;
    let mut quiet = hub.connect().await;

    watcher
        .send(&ClientMsg::Watch { req: RequestId(3) })
        .await
        .expect("send");
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Peers {
            req: RequestId(3),
            peers: vec![UserId(2)]
        }
    );

    let newcomer = hub.connect().await;
    assert_eq!(
        recv(&mut watcher).await,
        HubMsg::Joined { user_id: UserId(3) }
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
    let mut w1 = hub.connect().await;
    let mut w2 = hub.connect().await;
    for (w, req) in [(&mut w1, 1), (&mut w2, 2)] {
        w.send(&ClientMsg::Watch {
            req: RequestId(req),
        })
        .await
        .expect("send");
        assert!(matches!(recv(w).await, HubMsg::Peers { .. }));
    }
    drop(w2);
    assert_eq!(recv(&mut w1).await, HubMsg::Left { user_id: UserId(2) });
    hub.wait_for_users(1).await;
    assert_eq!(list(&mut w1).await, Vec::<UserId>::new());
    hub.stop().await;
}
