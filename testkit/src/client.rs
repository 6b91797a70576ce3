//! A well-behaved client's conversation with the hub: receive, request, relay, deliver. Every
//! receive skips presence pushes and answers keepalives, as any live client does.

use bytes::Bytes;
use shared::conn::Connection;
use shared::{BodyKind, ClientMsg, HubMsg, RequestId, UserId};

use crate::wait::WAIT;

/// Receive the next message, whatever it is, or fail the test after [`WAIT`].
pub async fn recv(conn: &mut Connection) -> HubMsg {
    tokio::time::timeout(WAIT, conn.recv())
        .await
        .expect("a message in time")
        .expect("a message")
}

/// The next message that is not a presence push or a keepalive; keepalives are answered, as
/// any live client does.
pub async fn recv_skipping(conn: &mut Connection) -> HubMsg {
    loop {
        match recv(conn).await {
            HubMsg::Joined { .. }
            | HubMsg::Arrived { .. }
            | HubMsg::Left { .. }
            | HubMsg::Presence { .. } => continue,
            HubMsg::KeepAlive => conn
                .send(&ClientMsg::<Bytes>::KeepAliveAck)
                .await
                .expect("ack"),
            other => return other,
        }
    }
}

/// The next answer to a request: like [`recv_skipping`], and relayed and stored messages and
/// receipts (`Delivered`, version 5) are skipped too.
pub async fn next_answer(conn: &mut Connection) -> HubMsg {
    loop {
        match recv_skipping(conn).await {
            HubMsg::Message { .. } | HubMsg::Stored { .. } | HubMsg::Delivered { .. } => continue,
            other => return other,
        }
    }
}

/// A relay of a `size`-byte body.
pub fn relay_sized(req: u32, to: &[UserId], size: usize) -> ClientMsg {
    relay_msg(req, to, vec![7u8; size])
}

/// Send a request and return its answer (see [`recv_skipping`]); a receipt (`Delivered`)
/// that comes first is no answer and is skipped.
pub async fn request(conn: &mut Connection, msg: ClientMsg) -> HubMsg {
    conn.send(&msg).await.expect("send");
    loop {
        match recv_skipping(conn).await {
            HubMsg::Delivered { .. } => continue,
            other => return other,
        }
    }
}

/// Ask who this connection is.
pub async fn identity(conn: &mut Connection) -> UserId {
    match request(conn, ClientMsg::Identity { req: RequestId(1) }).await {
        HubMsg::Identity { req, user_id } => {
            assert_eq!(req, RequestId(1));
            user_id
        }
        other => panic!("expected identity, got {other:?}"),
    }
}

/// Ask who else is here, skipping pushes as [`request`] does; the parts of a long answer are
/// gathered up to its `Peers`.
pub async fn list(conn: &mut Connection) -> Vec<UserId> {
    let req = RequestId(2);
    conn.send(&ClientMsg::List { req }).await.expect("send");
    let mut all = Vec::new();
    loop {
        match recv_skipping(conn).await {
            HubMsg::Delivered { .. } => continue,
            // At version 7 a long list comes in parts, closed by `Peers`.
            HubMsg::PeersPart { peers, .. } => all.extend(peers),
            HubMsg::Peers { peers, .. } => {
                all.extend(peers);
                return all;
            }
            other => panic!("expected peers, got {other:?}"),
        }
    }
}

/// A relay of `body` (as bytes) to `to`, with request id `req`.
pub fn relay_msg(req: u32, to: &[UserId], body: impl Into<Bytes>) -> ClientMsg {
    ClientMsg::Relay {
        req: RequestId(req),
        to: to.to_vec(),
        kind: BodyKind::Bytes,
        body: body.into(),
    }
}

/// Relay and return the hub's answer.
pub async fn relay(conn: &mut Connection, to: &[UserId], body: impl Into<Bytes>) -> HubMsg {
    request(conn, relay_msg(9, to, body)).await
}

/// Expect the next message (see [`recv_skipping`]) to be a delivery and return (sender, body).
pub async fn delivery(conn: &mut Connection) -> (UserId, Bytes) {
    match recv_skipping(conn).await {
        HubMsg::Message { from, body, .. } => (from, body),
        other => panic!("expected a message, got {other:?}"),
    }
}
