//! Accounts end to end: real `tui-client` processes against a real hub (accounts in memory).
//! register → whoami → send to a name while its owner is offline (queued, exit code 5) →
//! listen drains the mailbox and acknowledges it → a second listen finds it empty.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use hub_support::{wait_until, TestHub};
use oneshot_support::{client, listen_as, registered, run, run_as, stderr, stdout, Listener};

#[test]
fn a_message_to_an_offline_account_is_queued_drained_once_and_acknowledged() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let (dir, alice, bob) = (dir.path(), dir.path().join("alice"), dir.path().join("bob"));

    let alice_id = registered(&addr, dir, &alice, "Alice");
    assert!(alice_id >= 1 << 32, "an account id: {alice_id}");
    let mode = std::fs::metadata(&alice)
        .expect("identity saved")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let bob_id = registered(&addr, dir, &bob, "bob");
    assert_ne!(alice_id, bob_id);

    let out = run_as(&addr, dir, &alice, &["whoami"]);
    assert_eq!(
        stdout(&out).trim(),
        format!("{alice_id} alice"),
        "{}",
        stderr(&out)
    );
    let out = run_as(&addr, dir, &alice, &["--anonymous", "whoami"]);
    assert!(
        stdout(&out).trim().ends_with(" (anonymous)"),
        "{}",
        stdout(&out)
    );

    // bob has no session: the message waits in his mailbox.
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", "BOB", "while", "you", "were", "out"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(stdout(&out), "delivered to 0 of 1\nqueued for BOB\n");
    assert!(
        stderr(&out).contains("kept in their mailbox"),
        "{}",
        stderr(&out)
    );

    let first = listen_as(&addr, dir, &bob);
    let ready = first.ready.clone();
    assert_eq!(
        (ready["name"].as_str(), ready["waiting"].as_u64()),
        (Some("bob"), Some(1))
    );
    assert_eq!(ready["user_id"].as_u64(), Some(bob_id));
    let msg = first.next();
    assert_eq!(msg["text"], "while you were out", "{msg}");
    assert_eq!(
        (msg["from"].as_u64(), msg["from_name"].as_str()),
        (Some(alice_id), Some("alice"))
    );
    let seq = msg["seq"].as_u64().expect("a stored message has its seq");
    assert!(msg["sent_at_ms"].as_u64().is_some(), "{msg}");
    let acked = first.next();
    assert_eq!(
        (acked["event"].as_str(), acked["seq"].as_u64()),
        (Some("acked"), Some(seq))
    );

    // Now bob is live: the next one is delivered, not queued, and carries no seq.
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", &bob_id.to_string(), "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let live = first.next();
    assert_eq!(live["text"], "live");
    assert!(live.get("seq").is_none(), "{live}");
    // What another session of bob's sends shows in his listener.
    let out = run_as(&addr, dir, &bob, &["send", "--to", "alice", "reply"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "alice is offline: {}",
        stderr(&out)
    );
    let sent = first.next();
    assert_eq!(
        (sent["event"].as_str(), sent["text"].as_str()),
        (Some("outgoing"), Some("reply"))
    );
    assert_eq!(sent["to_names"][0], "alice", "{sent}");
    drop(first);

    let second = listen_as(&addr, dir, &bob);
    assert_eq!(
        second.ready["waiting"].as_u64(),
        Some(0),
        "acknowledged: {}",
        second.ready
    );
    // Prove the second listener is up and hears: nothing stored came before this.
    let out = run_as(&addr, dir, &alice, &["send", "--to", "bob", "after"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let next = second.next();
    assert_eq!(
        next["text"], "after",
        "the old message did not come again: {next}"
    );
}

#[test]
fn send_mixes_names_and_ids_and_reports_each_outcome_with_its_exit_code() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let (dir, alice, carol) = (
        dir.path(),
        dir.path().join("alice"),
        dir.path().join("carol"),
    );
    registered(&addr, dir, &alice, "alice");
    registered(&addr, dir, &carol, "carol");
    let anon = Listener::start(&addr, dir, dir);
    let anon_id = anon.id.to_string();

    // An unknown name: nothing is sent at all.
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", &format!("{anon_id},nobody"), "x"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no such account: nobody"),
        "{}",
        stderr(&out)
    );

    // Delivered to the anonymous listener, queued for carol: 5.
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", &format!("{anon_id},carol"), "hi"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(stdout(&out), "delivered to 1 of 2\nqueued for carol\n");
    let got = anon.next();
    assert_eq!(
        (got["text"].as_str(), got["from_name"].as_str()),
        (Some("hi"), Some("alice"))
    );

    // Queued for carol, unknown 999999: partly failed, 3.
    let out = run_as(&addr, dir, &alice, &["send", "--to", "carol,999999", "hi"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown receivers: 999999"),
        "{}",
        stderr(&out)
    );

    // carol named twice, once by id.
    let carol_id = stdout(&run_as(&addr, dir, &carol, &["id"]))
        .trim()
        .to_owned();
    let out = run_as(
        &addr,
        dir,
        &alice,
        &["send", "--to", &format!("carol,{carol_id}"), "x"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("are the same"), "{}", stderr(&out));

    let alice_id = stdout(&run_as(&addr, dir, &alice, &["id"]))
        .trim()
        .to_owned();
    // Every session of theirs has ended, once the hub has seen the last one close.
    let expected = format!("{alice_id} alice offline\n{carol_id} carol offline\n");
    wait_until("both accounts offline", || {
        (stdout(&run(&addr, dir, &["users", "*"])) == expected).then_some(())
    });
    // A one-shot command logs in only to act as alice, not as one of her sessions: asking
    // does not make her online.
    let out = run_as(&addr, dir, &alice, &["users", "a*"]);
    assert_eq!(
        stdout(&out),
        format!("{alice_id} alice offline\n"),
        "asking as alice"
    );
}

#[test]
fn a_refused_registration_leaves_no_identity_and_an_identity_is_never_replaced() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let (dir, first, second) = (
        dir.path(),
        dir.path().join("first"),
        dir.path().join("second"),
    );
    registered(&addr, dir, &first, "dave");
    let before = std::fs::read(&first).expect("saved");

    let out = run_as(&addr, dir, &second, &["register", "dave"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("NameTaken"), "{}", stderr(&out));
    assert!(!second.exists(), "no file for a refused registration");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let out = run_as(&addr, dir, &first, &["register", "erin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("already holds the identity of dave"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&first).expect("kept"), before);

    // The default identity, under XDG_CONFIG_HOME, is what commands log in with.
    let out = run(&addr, dir, &["register", "frank"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&addr, dir, &["whoami"]);
    assert!(stdout(&out).trim().ends_with(" frank"), "{}", stdout(&out));
    std::fs::set_permissions(
        dir.join("config/hubbub/identity"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let out = run(&addr, dir, &["whoami"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn delete_account_asks_first_then_removes_the_account_and_its_file() {
    let hub = TestHub::start();
    let (addr, dir) = (hub.addr.to_string(), tempfile::tempdir().expect("tempdir"));
    let (dir, gina, alice) = (
        dir.path(),
        dir.path().join("gina"),
        dir.path().join("alice"),
    );
    registered(&addr, dir, &gina, "gina");
    registered(&addr, dir, &alice, "alice");
    let id = gina.to_str().expect("utf-8");

    let mut child = client(&addr, dir)
        .args(["--identity", id, "delete-account"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"not gina\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not confirmed"), "{}", stderr(&out));
    assert!(gina.exists());

    let out = run(&addr, dir, &["--identity", id, "delete-account", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!gina.exists(), "the file goes with the account");
    let out = run_as(&addr, dir, &alice, &["send", "--to", "gina", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no such account: gina"),
        "{}",
        stderr(&out)
    );
    // The name is free again.
    registered(&addr, dir, &gina, "gina");
}
