//! Accounts over real TCP: register, log in, sessions, the directory, delete, and the refusals
//! (wrong key, another connection's challenge, a replayed signature, an unknown name, rate
//! limits, closed registration), each leaving everything else as it was.

use bytes::Bytes;
use hub::{Config, Registration};
use shared::account::{AccountInfo, Purpose, Who, FIRST_ACCOUNT_ID};
use shared::conn::Connection;
use shared::{ClientMsg, ErrorKind, HubMsg, RequestId, SecretKey, UserId};
use testkit::accounts::{challenge, login, new_account, register, try_login, try_register};
use testkit::{
    identity, list, next_answer, on_one_hub_and_a_cluster, recv_skipping, relay, request,
    test_config, TestHub,
};

fn refused(answer: &HubMsg) -> ErrorKind {
    match answer {
        HubMsg::Error {
            req: Some(_), kind, ..
        } => *kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

on_one_hub_and_a_cluster! {
async fn an_account_is_a_stable_id_that_relays_are_stamped_with(hubs: Hubs) {
    let (mut alice, _, me) = hubs.new_account("Alice").await;
    assert_eq!(me.name, "alice", "names fold to lower case");
    assert!(me.user_id.0 >= FIRST_ACCOUNT_ID, "{me:?}");
    assert_eq!(me.waiting, 0);
    assert_eq!(identity(&mut alice).await, me.user_id);

    let mut anon = hubs.connect().await;
    let anon_id = anon.user_id();
    assert!(anon_id.0 < FIRST_ACCOUNT_ID);
    assert_eq!(
        list(&mut anon).await,
        vec![me.user_id],
        "the anonymous id is gone"
    );
    match relay(&mut anon, &[me.user_id], &b"to alice"[..]).await {
        HubMsg::Posted {
            delivered: 1,
            queued,
            ..
        } => assert!(queued.is_empty()),
        other => panic!("{other:?}"),
    }
    match recv_skipping(&mut alice).await {
        HubMsg::Message { from, body, .. } => {
            assert_eq!((from, &body[..]), (anon_id, &b"to alice"[..]))
        }
        other => panic!("{other:?}"),
    }
    relay(&mut alice, &[anon_id], &b"hi"[..]).await;
    match recv_skipping(&mut anon).await {
        HubMsg::Message { from, .. } => assert_eq!(from, me.user_id, "stamped with the account"),
        other => panic!("{other:?}"),
    }
    hubs.stop().await;
}

async fn what_one_session_sends_the_others_see(hubs: Hubs) {
    let (mut first, key, me) = hubs.new_account("alice").await;
    let mut second = hubs.connect().await;
    hubs.login(&mut second, &key, "alice").await;
    let mut bob = hubs.connect().await;
    let to = vec![bob.user_id(), UserId(9_000_077)];
    match relay(&mut first, &to, &b"from the laptop"[..]).await {
        HubMsg::Posted { delivered: 1, .. } => {}
        other => panic!("{other:?}"),
    }
    match recv_skipping(&mut second).await {
        HubMsg::Outgoing { to: got, body, .. } => {
            assert_eq!((got, &body[..]), (to, &b"from the laptop"[..]))
        }
        other => panic!("expected the copy, got {other:?}"),
    }
    match recv_skipping(&mut bob).await {
        HubMsg::Message { from, .. } => assert_eq!(from, me.user_id),
        other => panic!("{other:?}"),
    }
    // The sender gets no copy of its own: its next message is the answer to a ping.
    let pong = request(&mut first, ClientMsg::Ping { req: RequestId(5) }).await;
    assert_eq!(pong, HubMsg::Pong { req: RequestId(5) });
    hubs.stop().await;
}

async fn the_last_session_leaving_is_the_account_leaving(hubs: Hubs) {
    let (first, key, me) = hubs.new_account("alice").await;
    let mut second = hubs.connect().await;
    hubs.login(&mut second, &key, "alice").await;
    let mut watcher = hubs.connect_at(shared::RECEIPTS_VERSION).await;
    request(&mut watcher, ClientMsg::Watch { req: RequestId(1) }).await;
    drop(first);
    // Nothing about alice while her second session stays; a ping proves the stream is idle.
    let pong = request(&mut watcher, ClientMsg::Ping { req: RequestId(2) }).await;
    assert_eq!(pong, HubMsg::Pong { req: RequestId(2) });
    // Every hub has heard the first session go: alice is on the second's hub alone.
    hubs.settled(me.user_id).await;
    let pong = request(&mut watcher, ClientMsg::Ping { req: RequestId(3) }).await;
    assert_eq!(
        pong,
        HubMsg::Pong { req: RequestId(3) },
        "no Left while a session stays"
    );
    drop(second);
    assert_eq!(
        testkit::recv(&mut watcher).await,
        HubMsg::Left {
            user_id: me.user_id
        }
    );
    hubs.stop().await;
}
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    let hub = TestHub::with_config(Config {
        login_fail_rate: 3,
        ..test_config()
    })
    .await;
    let (_alice, key, _) = new_account(hub.addr, "alice").await;
    let mut c = hub.connect().await;
    let wrong = SecretKey::generate();
    for _ in 0..3 {
        assert_eq!(
            refused(&try_login(&mut c, &wrong, "alice").await),
            ErrorKind::LoginFailed
        );
    }
    let answer = try_login(&mut c, &key, "alice").await;
    assert_eq!(
        refused(&answer),
        ErrorKind::RateLimited,
        "even the right key waits"
    );
    let HubMsg::Error { text, .. } = answer else {
        unreachable!()
    };
    assert!(text.contains("try again in"), "{text}");
    // Another connection from the same address is limited too.
    let mut d = hub.connect().await;
    assert_eq!(
        refused(&try_login(&mut d, &key, "alice").await),
        ErrorKind::RateLimited
    );
    hub.stop().await;
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let hub = TestHub::with_config(Config {
        register_rate: 4,
        ..test_config()
    })
    .await;
    // Every attempt counts, refused or not.
    let mut c = hub.connect().await;
    let key = SecretKey::generate();
    assert_eq!(
        refused(&try_register(&mut c, &key, "no spaces").await),
        ErrorKind::InvalidName
    );
    assert_eq!(
        refused(&try_register(&mut c, &key, &"x".repeat(33)).await),
        ErrorKind::InvalidName
    );
    assert_eq!(
        refused(&try_register(&mut c, &key, "bad name").await),
        ErrorKind::InvalidName
    );
    register(&mut c, &key, "carol").await;
    let mut d = hub.connect().await;
    let answer = try_register(&mut d, &SecretKey::generate(), "dave").await;
    assert_eq!(
        refused(&answer),
        ErrorKind::RateLimited,
        "four attempts a minute from one address"
    );
    let HubMsg::Error { text, .. } = answer else {
        unreachable!()
    };
    assert!(text.contains("registrations"), "{text}");
    hub.stop().await;
}

/// Hubs that let one address register a thousand accounts a minute.
fn registering_freely() -> testkit::hubs::Setup {
    testkit::hubs::Setup {
        config: Config {
            register_rate: 1000,
            ..test_config()
        },
        ..Default::default()
    }
}

on_one_hub_and_a_cluster! {
/// On a cluster the fifty are spread over the three hubs: registration is create-if-absent in
/// the one store they share.
async fn fifty_clients_registering_one_name_at_once_make_one_account(
    hubs: Hubs = registering_freely()
) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let addr = hubs.next_hub().addr;
            tokio::spawn(async move {
                let mut c = Connection::connect(addr).await.expect("connect");
                try_register(&mut c, &SecretKey::generate(), "popular").await
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut taken = 0;
    for task in tasks {
        match task.await.expect("task") {
            HubMsg::LoggedIn { user_id, .. } => won.push(user_id),
            HubMsg::Error {
                kind: ErrorKind::NameTaken,
                text,
                ..
            } => {
                assert!(text.contains("popular"), "{text}");
                taken += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((won.len(), taken), (1, 49));
    hubs.stop().await;
}

/// On three hubs the name is taken on another hub than the one that registered it.
async fn registration_refusals_say_why(hubs: Hubs = registering_freely()) {
    let mut c = hubs.connect().await;
    let key = SecretKey::generate();
    assert_eq!(
        refused(&try_register(&mut c, &key, "no spaces").await),
        ErrorKind::InvalidName
    );
    assert_eq!(
        refused(&try_register(&mut c, &key, &"x".repeat(33)).await),
        ErrorKind::InvalidName
    );
    // A registration signed with another key than the one it names.
    let nonce = challenge(&mut c).await;
    let other = SecretKey::generate();
    let forged = request(
        &mut c,
        ClientMsg::Register {
            req: RequestId(5),
            name: "carol".into(),
            key: key.public(),
            signature: other.sign(Purpose::Register, &nonce, "carol"),
        },
    )
    .await;
    assert_eq!(refused(&forged), ErrorKind::LoginFailed);
    register(&mut c, &key, "carol").await;
    let mut d = hubs.connect().await;
    let taken = try_register(&mut d, &SecretKey::generate(), "Carol").await;
    assert_eq!(refused(&taken), ErrorKind::NameTaken);
    let HubMsg::Error { text, .. } = taken else {
        unreachable!()
    };
    assert!(text.contains("carol"), "{text}");
    hubs.stop().await;
}

/// Every hub of a cluster configured closed refuses a registration.
async fn a_closed_hub_refuses_registrations(
    hubs: Hubs = testkit::hubs::Setup {
        config: Config {
            registration: Registration::Closed,
            ..test_config()
        },
        ..Default::default()
    }
) {
    for _ in 0..hubs.hubs.len() {
        let mut c = hubs.connect().await;
        assert_eq!(
            refused(&try_register(&mut c, &SecretKey::generate(), "dave").await),
            ErrorKind::RegistrationClosed
        );
    }
    hubs.stop().await;
}

}

#[tokio::test]
async fn sessions_of_one_account_are_one_user() {
    let hub = TestHub::start().await;
    // Version 5: one push per change (version 6 coalesces them, see tests/presence.rs).
    let mut watcher = hub.connect_at(shared::RECEIPTS_VERSION).await;
    match request(&mut watcher, ClientMsg::Watch { req: RequestId(1) }).await {
        HubMsg::Present { peers, .. } => assert!(peers.is_empty()),
        other => panic!("{other:?}"),
    }
    let mut old = Connection::connect_speaking(hub.addr, 2).await.expect("v2");
    match request(&mut old, ClientMsg::Watch { req: RequestId(1) }).await {
        HubMsg::Peers { peers, .. } => assert_eq!(peers, vec![watcher.user_id()]),
        other => panic!("{other:?}"),
    }
    let (mut first, key, me) = new_account(hub.addr, "alice").await;
    let mut second = hub.connect().await;
    let second_anon = second.user_id();
    assert_eq!(login(&mut second, &key, "alice").await.user_id, me.user_id);

    let mut bob = hub.connect().await;
    assert_eq!(
        list(&mut bob).await,
        vec![watcher.user_id(), old.user_id(), me.user_id],
        "listed once"
    );
    match relay(&mut bob, &[me.user_id], &b"both"[..]).await {
        HubMsg::Posted { delivered: 1, .. } => {}
        other => panic!("{other:?}"),
    }
    for session in [&mut first, &mut second] {
        match recv_skipping(session).await {
            HubMsg::Message { body, .. } => assert_eq!(&body[..], b"both"),
            other => panic!("{other:?}"),
        }
    }

    // Presence: each anonymous id comes and goes, the account arrives once, with its name for
    // a watcher that speaks version 3.
    let first_anon = UserId(3); // the watchers are 1 and 2
    let arrived = |user_id, name: Option<&str>| HubMsg::Arrived {
        user_id,
        name: name.map(str::to_owned),
    };
    let left = |user_id| HubMsg::Left { user_id };
    let expected = vec![
        arrived(first_anon, None),
        left(first_anon),
        arrived(me.user_id, Some("alice")),
        arrived(second_anon, None),
        left(second_anon),
        arrived(bob.user_id(), None),
    ];
    let joined = |msg: &HubMsg| match msg {
        HubMsg::Arrived { user_id, .. } => HubMsg::Joined { user_id: *user_id },
        other => other.clone(),
    };
    let old_expected: Vec<HubMsg> = expected.iter().map(joined).collect();
    let mut with_old = vec![arrived(old.user_id(), None)];
    with_old.extend(expected);
    assert_eq!(presence(&mut watcher, 7).await, with_old);
    assert_eq!(
        presence(&mut old, 6).await,
        old_expected,
        "Joined for version 2"
    );

    // A late watcher's snapshot names the account.
    let mut late = hub.connect().await;
    match request(&mut late, ClientMsg::Watch { req: RequestId(1) }).await {
        HubMsg::Present { peers, .. } => {
            let named: Vec<_> = peers
                .iter()
                .filter(|p| p.name.is_some())
                .map(|p| (p.user_id, p.name.clone()))
                .collect();
            assert_eq!(named, vec![(me.user_id, Some("alice".to_owned()))]);
            assert_eq!(peers.len(), 4, "two watchers, alice once, bob");
        }
        other => panic!("{other:?}"),
    }
    drop((first, second));
    hub.stop().await;
}

/// The next `n` presence pushes.
async fn presence(conn: &mut Connection, n: usize) -> Vec<HubMsg> {
    let mut events = Vec::new();
    while events.len() < n {
        match testkit::recv(conn).await {
            msg @ (HubMsg::Joined { .. } | HubMsg::Arrived { .. } | HubMsg::Left { .. }) => {
                events.push(msg)
            }
            other => panic!("{other:?}"),
        }
    }
    events
}

on_one_hub_and_a_cluster! {
/// On three hubs the account's two sessions and bob are each on another hub: the delete
/// closes the session on the other hub too.
async fn a_deleted_account_is_gone_with_its_sessions_and_its_name_is_free(hubs: Hubs) {
    let (mut first, key, me) = hubs.new_account("alice").await;
    let mut second = hubs.connect().await;
    hubs.login(&mut second, &key, "alice").await;
    let mut bob = hubs.connect().await;

    // A delete needs a signature by the account's key over a fresh challenge.
    let nonce = challenge(&mut first).await;
    let wrong = SecretKey::generate().sign(Purpose::Delete, &nonce, "alice");
    let answer = request(
        &mut first,
        ClientMsg::DeleteAccount {
            req: RequestId(1),
            signature: wrong,
        },
    )
    .await;
    assert_eq!(refused(&answer), ErrorKind::LoginFailed);
    let nonce = challenge(&mut first).await;
    let answer = request(
        &mut first,
        ClientMsg::DeleteAccount {
            req: RequestId(2),
            signature: key.sign(Purpose::Delete, &nonce, "alice"),
        },
    )
    .await;
    assert_eq!(answer, HubMsg::Done { req: RequestId(2) });
    for session in [&mut first, &mut second] {
        testkit::accounts::deleted_goodbye(session).await;
    }
    match request(
        &mut bob,
        ClientMsg::Lookup {
            req: RequestId(3),
            who: Who::Name("alice".into()),
        },
    )
    .await
    {
        HubMsg::Entry { account: None, .. } => {}
        other => panic!("{other:?}"),
    }
    hubs.gone(me.user_id).await;
    match relay(&mut bob, &[me.user_id], &b"anyone?"[..]).await {
        HubMsg::Posted { unknown, .. } => assert_eq!(unknown, vec![me.user_id]),
        other => panic!("{other:?}"),
    }
    let (_again, _, reborn) = hubs.new_account("alice").await;
    assert!(reborn.user_id > me.user_id, "a new id, never the old one");
    hubs.stop().await;
}
}

on_one_hub_and_a_cluster! {
/// On three hubs alice, the refused connection and the one whose challenge it steals are each
/// on another hub.
async fn refused_logins_change_nothing(hubs: Hubs) {
    let (mut alice, key, me) = hubs.new_account("alice").await;

    let mut c = hubs.connect().await;
    let anon = c.user_id();
    // No challenge asked for.
    let sig = key.sign(Purpose::Login, &[0; 32], "alice");
    let no_challenge = request(
        &mut c,
        ClientMsg::Login {
            req: RequestId(1),
            name: "alice".into(),
            signature: sig,
            receive: true,
        },
    )
    .await;
    assert_eq!(refused(&no_challenge), ErrorKind::WrongState);
    // Another key.
    let wrong = SecretKey::generate();
    assert_eq!(
        refused(&try_login(&mut c, &wrong, "alice").await),
        ErrorKind::LoginFailed
    );
    // An unknown name.
    assert_eq!(
        refused(&try_login(&mut c, &key, "nobody").await),
        ErrorKind::LoginFailed
    );
    // The right key over another connection's challenge.
    let mut other = hubs.connect().await;
    let theirs = challenge(&mut other).await;
    let _ours = challenge(&mut c).await;
    let stolen = request(
        &mut c,
        ClientMsg::Login {
            req: RequestId(2),
            name: "alice".into(),
            signature: key.sign(Purpose::Login, &theirs, "alice"),
            receive: true,
        },
    )
    .await;
    assert_eq!(refused(&stolen), ErrorKind::LoginFailed);
    // A good signature, replayed: the challenge was used up by the first use.
    let nonce = challenge(&mut c).await;
    let good = key.sign(Purpose::Login, &nonce, "alice");
    let login_with = |signature| ClientMsg::Login {
        req: RequestId(3),
        name: "alice".into(),
        signature,
        receive: true,
    };
    let register_sig = key.sign(Purpose::Register, &nonce, "alice");
    // A signature for another purpose over the right challenge fails, and uses it up.
    assert_eq!(
        refused(&request(&mut c, login_with(register_sig)).await),
        ErrorKind::LoginFailed
    );
    assert_eq!(
        refused(&request(&mut c, login_with(good)).await),
        ErrorKind::WrongState,
        "a signature is good for one challenge, used once"
    );
    assert_eq!(identity(&mut c).await, anon, "still anonymous");
    assert_eq!(identity(&mut alice).await, me.user_id, "alice unaffected");

    // And the right way works on the same connection.
    let again = login(&mut c, &key, "ALICE").await;
    assert_eq!(again.user_id, me.user_id);
    assert_eq!(
        refused(&try_login(&mut c, &key, "alice").await),
        ErrorKind::WrongState,
        "already logged in"
    );
    hubs.stop().await;
}

/// On three hubs the accounts are registered on every hub, and asked for on another: the
/// directory is the store they share.
async fn the_directory_finds_accounts_by_name_id_and_pattern(hubs: Hubs = registering_freely()) {
    let (alice, _, a) = hubs.new_account("alice").await;
    let (bob, _, b) = hubs.new_account("bob").await;
    drop(bob);
    // A client of version 3 sees the directory without keys (`e2e_wire` has version 4's).
    let mut c = hubs.connect_at(shared::ACCOUNTS_VERSION).await;
    let lookup = |req, who| ClientMsg::Lookup {
        req: RequestId(req),
        who,
    };
    let found = |user_id, name: &str, online| {
        Some(AccountInfo {
            user_id,
            name: name.into(),
            online,
        })
    };
    hubs.gone(b.user_id).await;
    for (req, who, want) in [
        (
            1,
            Who::Name("ALICE".into()),
            found(a.user_id, "alice", true),
        ),
        (2, Who::Id(b.user_id), found(b.user_id, "bob", false)),
        (3, Who::Name("carol".into()), None),
        (4, Who::Name("not a name".into()), None),
        (5, Who::Id(c.user_id()), None),
    ] {
        match request(&mut c, lookup(req, who)).await {
            HubMsg::Account { req: r, account } => {
                assert_eq!(r, RequestId(req));
                assert_eq!(account, want, "lookup {req}");
            }
            other => panic!("{other:?}"),
        }
    }
    for i in 0..101 {
        let (conn, _, _) = hubs.new_account(&format!("user{i:03}")).await;
        drop(conn);
    }
    let users = |pattern: &str| ClientMsg::Users {
        req: RequestId(9),
        pattern: pattern.into(),
    };
    match request(&mut c, users("?LI*")).await {
        HubMsg::Users { users, limited, .. } => {
            assert_eq!(
                users,
                found(a.user_id, "alice", true)
                    .into_iter()
                    .collect::<Vec<_>>()
            );
            assert!(!limited);
        }
        other => panic!("{other:?}"),
    }
    match request(&mut c, users("user*")).await {
        HubMsg::Users { users, limited, .. } => {
            assert_eq!(users.len(), 100);
            assert_eq!(users[0].name, "user000");
            assert!(limited, "101 matched");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refused(&request(&mut c, users(&"*".repeat(65))).await),
        ErrorKind::BadPattern
    );
    drop(alice);
    hubs.stop().await;
}

async fn account_requests_need_version_3(hubs: Hubs) {
    let mut old = hubs.connect_at(2).await;
    old.send(&ClientMsg::<Bytes>::Challenge { req: RequestId(1) })
        .await
        .expect("send");
    match next_answer(&mut old).await {
        HubMsg::Error {
            req: None,
            kind: ErrorKind::Malformed,
            text,
        } => assert!(text.contains("version 3"), "{text}"),
        other => panic!("{other:?}"),
    }
    hubs.stop().await;
}

/// A connection that logs in only to act as the account (a one-shot send) is not one of its
/// sessions: what is sent to the account meanwhile goes to the mailbox, not to a connection
/// about to end.
/// On three hubs the acting connection, bob and alice's later session are each on another
/// hub.
async fn a_login_to_act_takes_nothing_meant_for_the_account(hubs: Hubs) {
    let (alice, key, me) = hubs.new_account("alice").await;
    drop(alice);
    hubs.gone(me.user_id).await;
    let mut acting = hubs.connect().await;
    let anon = acting.user_id();
    let nonce = challenge(&mut acting).await;
    let answer = request(
        &mut acting,
        ClientMsg::Login {
            req: RequestId(1),
            name: "alice".into(),
            signature: key.sign(Purpose::Login, &nonce, "alice"),
            receive: false,
        },
    )
    .await;
    assert_eq!(
        answer,
        HubMsg::LoggedIn {
            req: RequestId(1),
            user_id: me.user_id,
            name: "alice".into(),
            waiting: 0
        }
    );
    assert_eq!(identity(&mut acting).await, me.user_id);
    let mut bob = hubs.connect().await;
    assert_eq!(
        list(&mut bob).await,
        vec![anon],
        "still anonymous in presence"
    );
    match relay(&mut bob, &[me.user_id], &b"for alice"[..]).await {
        HubMsg::Posted { queued, .. } => assert_eq!(
            queued.iter().map(|k| k.to).collect::<Vec<_>>(),
            vec![me.user_id]
        ),
        other => panic!("{other:?}"),
    }
    relay(&mut acting, &[bob.user_id()], &b"from alice"[..]).await;
    match recv_skipping(&mut bob).await {
        HubMsg::Message { from, .. } => assert_eq!(from, me.user_id, "stamped as the account"),
        other => panic!("{other:?}"),
    }
    let ack = request(
        &mut acting,
        ClientMsg::Ack {
            req: RequestId(2),
            seq: 1,
        },
    )
    .await;
    assert_eq!(refused(&ack), ErrorKind::WrongState);
    drop(acting);
    hubs.gone(anon).await;
    let mut alice = hubs.connect().await;
    assert_eq!(
        login(&mut alice, &key, "alice").await.waiting,
        1,
        "kept for her"
    );
    hubs.stop().await;
}
}
