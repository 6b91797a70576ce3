//! End-to-end encryption through real `tui-client` processes and a real hub with its store on
//! disk, reached through a recording proxy: a marker sent between two accounts (live and
//! through the mailbox) is read by the receiver and appears in no byte of the hub's data
//! directory, its logs, or the wire on the hub's side. A changed key is refused by `send`
//! (exit code 6) and by `listen` until `trust` accepts it.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/oneshot.rs"]
mod oneshot_support;
#[path = "support/wire.rs"]
mod wire_support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use hub::store::sqlite::SqliteStore;
use hub::store::Bounds;
use hub_support::{wait_until, TestHub};
use oneshot_support::{run, stderr, stdout, Listener};
use wire_support::{contains, files_under, HubLog, Proxy};

/// One person: a directory of their own (identity, pins, downloads, log).
struct Person {
    dir: PathBuf,
}

impl Person {
    fn new(root: &Path, name: &str) -> Person {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        Person { dir }
    }

    fn identity(&self) -> PathBuf {
        self.dir.join("identity")
    }

    fn run(&self, hub: &str, args: &[&str]) -> Output {
        let id = self.identity();
        let mut all = vec!["--identity", id.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run(hub, &self.dir, &all)
    }

    fn register(&self, hub: &str, name: &str) -> u64 {
        let out = self.run(hub, &["register", name]);
        assert!(out.status.success(), "register {name}: {}", stderr(&out));
        stdout(&out).trim().parse().expect("register prints the id")
    }

    fn listen(&self, hub: &str) -> Listener {
        let id = self.identity();
        let id = id.to_str().expect("utf-8 path");
        Listener::start_with(hub, &self.dir, &self.dir.join("saved"), &["--identity", id])
    }
}

const LIVE_MARKER: &str = "MARKER-live-7f3e2a91-only-bob-may-read-this";
const MAILBOX_MARKER: &str = "MARKER-mailbox-0c55d1e8-kept-for-bob";
const FILE_NAME: &str = "MARKER-file-name-b41c.txt";
const FILE_MARKER: &str = "MARKER-file-content-9a2d6e";

#[test]
fn a_marker_sent_end_to_end_is_read_by_the_receiver_and_nowhere_on_the_hub() {
    let log = HubLog::capture();
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("hub-data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let store = SqliteStore::open(&data.join("hub.db"), Bounds::default()).expect("opens");
    let hub = TestHub::start_with_store(testkit::test_config(), Arc::new(store));
    let proxy = Proxy::start(hub.addr);
    let addr = proxy.addr.to_string();
    let (alice, bob) = (Person::new(root.path(), "a"), Person::new(root.path(), "b"));
    alice.register(&addr, "alice");
    bob.register(&addr, "bob");

    let listener = bob.listen(&addr);
    let out = alice.run(&addr, &["send", "--to", "bob", LIVE_MARKER]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("not encrypted"),
        "both have keys: {}",
        stderr(&out)
    );
    let msg = listener.next();
    assert_eq!(msg["text"], LIVE_MARKER, "{msg}");
    assert_eq!(msg["encrypted"], true, "{msg}");
    assert_eq!(msg["from_name"], "alice");

    // A file: its name and its bytes are sealed too.
    let file = alice.dir.join(FILE_NAME);
    std::fs::write(&file, FILE_MARKER).expect("write");
    let path = file.to_str().expect("utf-8");
    let out = alice.run(&addr, &["send", "--to", "bob", "--file", path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let msg = listener.next();
    assert_eq!(
        (msg["kind"].as_str(), msg["name"].as_str()),
        (Some("file"), Some(FILE_NAME))
    );
    let saved = msg["path"].as_str().expect("saved");
    assert_eq!(std::fs::read_to_string(saved).expect("reads"), FILE_MARKER);
    drop(listener);

    // Bob is away: the envelope waits in his mailbox and opens when he is back.
    let queued = wait_until("bob to be away", || {
        let out = alice.run(&addr, &["send", "--to", "bob", MAILBOX_MARKER]);
        (out.status.code() == Some(5)).then_some(out)
    });
    assert!(
        stdout(&queued).contains("queued for bob"),
        "{}",
        stdout(&queued)
    );
    let listener = bob.listen(&addr);
    let msg = listener.next();
    assert_eq!(msg["text"], MAILBOX_MARKER, "{msg}");
    assert_eq!(msg["encrypted"], true);
    assert!(msg["seq"].is_u64(), "from the mailbox: {msg}");
    drop(listener);

    // Read while the hub runs, so the write-ahead log is there to be read too.
    let markers = [LIVE_MARKER, MAILBOX_MARKER, FILE_NAME, FILE_MARKER];
    let files = files_under(&data);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("hub.db-wal")),
        "the write-ahead log is read too: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(
        files.iter().any(|(_, bytes)| contains(bytes, b"alice")),
        "the data dir holds the accounts, so the scan can see what is there"
    );
    let wire = proxy.bytes();
    assert!(contains(&wire, b"bob"), "the capture saw the lookups");
    let logs = log.text();
    assert!(logs.contains("relay"), "the hub logged at trace level");
    for marker in markers {
        for (path, bytes) in &files {
            assert!(!contains(bytes, marker.as_bytes()), "{marker} in {path}");
        }
        assert!(!contains(&wire, marker.as_bytes()), "{marker} on the wire");
        assert!(!logs.contains(marker), "{marker} in the hub's log");
    }
    drop(hub);
}

#[test]
fn a_changed_key_is_refused_until_trusted() {
    let root = tempfile::tempdir().expect("tempdir");
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let (alice, bob) = (Person::new(root.path(), "a"), Person::new(root.path(), "b"));
    alice.register(&addr, "alice");
    bob.register(&addr, "bob");
    let out = alice.run(&addr, &["send", "--to", "bob", "first"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let out = alice.run(&addr, &["whois", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = stdout(&out);
    assert!(first.contains("pin pinned"), "{first}");
    let fingerprint = |text: &str| {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint "))
            .expect("a fingerprint line")
            .to_owned();
        assert_eq!(line.split(' ').count(), 8, "{line}");
        line
    };
    let old = fingerprint(&first);
    let mine = stdout(&alice.run(&addr, &["whois", "alice"]));
    assert!(mine.contains("pin yourself"), "{mine}");
    assert_ne!(fingerprint(&mine), old, "each account its own");
    let alice_listens = alice.listen(&addr);

    // bob's name gets a new key: the account deleted and registered again.
    let out = bob.run(&addr, &["delete-account", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    bob.register(&addr, "bob");

    let out = alice.run(&addr, &["send", "--to", "bob", "second"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(
        why.contains("CHANGED") && why.contains("tui-client trust bob"),
        "{why}"
    );
    assert!(why.contains(&old), "the pinned fingerprint is shown: {why}");
    let out = alice.run(&addr, &["whois", "bob"]);
    let now = stdout(&out);
    assert!(now.contains("pin CHANGED"), "{now}");
    assert_ne!(fingerprint(&now), old);

    // What the new bob sends alice is not believed either.
    let out = bob.run(&addr, &["send", "--to", "alice", "from the new bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let msg = alice_listens.next();
    assert_eq!(msg["kind"], "error", "{msg}");
    let error = msg["error"].as_str().expect("a reason");
    assert!(error.contains("tui-client trust bob"), "{error}");
    assert!(msg.get("text").is_none(), "never the bytes: {msg}");

    let out = alice.run(&addr, &["trust", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&fingerprint(&now)),
        "{}",
        stdout(&out)
    );
    let bob_listens = bob.listen(&addr);
    let out = alice.run(&addr, &["send", "--to", "bob", "third"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let msg = bob_listens.next();
    assert_eq!(
        (msg["text"].as_str(), msg["encrypted"].as_bool()),
        (Some("third"), Some(true))
    );
    let out = alice.run(&addr, &["whois", "bob"]);
    assert!(stdout(&out).contains("pin pinned"), "{}", stdout(&out));
}

#[test]
fn anonymous_senders_and_receivers_without_keys_get_plaintext_said_on_stderr() {
    let root = tempfile::tempdir().expect("tempdir");
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let alice = Person::new(root.path(), "a");
    alice.register(&addr, "alice");
    let anon = Person::new(root.path(), "anon");
    let listener = Listener::start(&addr, &anon.dir, &anon.dir.join("saved"));
    let to = listener.id.to_string();
    let out = alice.run(&addr, &["send", "--to", &to, "in the clear"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("not encrypted"), "{}", stderr(&out));
    let msg = listener.next();
    assert_eq!(
        (msg["text"].as_str(), msg["encrypted"].as_bool()),
        (Some("in the clear"), Some(false))
    );

    let out = run(
        &addr,
        &anon.dir,
        &["--anonymous", "send", "--to", "alice", "hi"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not encrypted: you are not logged in"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_file_too_big_for_an_envelope_is_refused_not_sent_in_the_clear() {
    let root = tempfile::tempdir().expect("tempdir");
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let (alice, bob) = (Person::new(root.path(), "a"), Person::new(root.path(), "b"));
    alice.register(&addr, "alice");
    bob.register(&addr, "bob");
    let file = alice.dir.join("f");
    // The largest that fits: the body limit less the envelope for bob and alice herself
    // (91 + 2 × 88) less the name's length byte and the name.
    let largest = 1_048_576 - 91 - 2 * 88 - 1 - 1;
    std::fs::write(&file, vec![7u8; largest]).expect("write");
    let path = file.to_str().expect("utf-8");
    let out = alice.run(&addr, &["send", "--to", "bob", "--file", path]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    std::fs::write(&file, vec![7u8; largest + 1]).expect("write");
    let out = alice.run(&addr, &["send", "--to", "bob", "--file", path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot encrypt"), "{}", stderr(&out));
    let listener = bob.listen(&addr);
    let msg = listener.next();
    assert_eq!(
        msg["size"], largest,
        "only the one that fits was kept: {msg}"
    );
}
