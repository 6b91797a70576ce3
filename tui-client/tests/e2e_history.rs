//! History across restarts, end to end: a real hub, a real `tui-client` logged in as carol in a
//! pseudo-terminal. She reads what dan left in her mailbox, answers in his conversation (he is
//! away: queued), quits, and comes back to find both in his conversation, with what dan sent
//! while she was closed marked unread.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/pty.rs"]
mod pty;

use hub_support::TestHub;
use pty::PtyClient;

const CTRL_C: &str = "\x03";

#[test]
fn a_client_that_quits_and_comes_back_sees_its_history_and_what_came_meanwhile() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let oneshot = |config: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tui-client"))
            .args(["--hub", &addr])
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path().join(config))
            .env("HUBBUB_LOG_FILE", dir.path().join("oneshot.log"))
            .env_remove("HUBBUB_IDENTITY")
            .env_remove("HUBBUB_ANONYMOUS")
            .status()
            .expect("run tui-client")
            .code()
    };
    assert_eq!(oneshot("carol-config", &["register", "carol"]), Some(0));
    assert_eq!(oneshot("dan-config", &["register", "dan"]), Some(0));
    assert_eq!(
        oneshot("dan-config", &["send", "--to", "carol", "left for you"]),
        Some(5)
    );

    let mut carol = PtyClient::spawn("carol", &addr, dir.path(), 100, 24);
    carol.wait_for("dan left for you");
    carol.keys("\x1b2");
    carol.wait_for("2▸dan");
    carol.keys("thanks, dan\r");
    carol.wait_for("queued for dan");
    carol.keys(CTRL_C);
    assert!(carol.wait_exit());
    let file = dir.path().join(format!(
        "carol-data/hubbub/history/carol@{}.sqlite3",
        addr.replace(':', "_")
    ));
    assert!(file.exists(), "{} kept", file.display());

    assert_eq!(
        oneshot(
            "dan-config",
            &["send", "--to", "carol", "while you were out"]
        ),
        Some(5)
    );
    let mut carol = PtyClient::spawn("carol", &addr, dir.path(), 100, 24);
    carol.wait_for("dan while you were out");
    // Loaded at start, before any key: the recent part, in "all" too.
    carol.wait_for("you → dan thanks, dan");
    carol.wait_for("Conversations (1)");
    carol.wait_for("2 dan");
    carol.keys("\x1b2");
    carol.wait_for("2▸dan");
    let screen = carol.contents();
    let order: Vec<usize> = [
        "dan left for you",
        "you → dan thanks, dan",
        "queued for dan",
        "new messages",
        "dan while you were out",
    ]
    .iter()
    .map(|t| {
        screen
            .find(t)
            .unwrap_or_else(|| panic!("{t:?} on\n{screen}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order:\n{screen}");
    carol.keys(CTRL_C);
    assert!(carol.wait_exit());
}
