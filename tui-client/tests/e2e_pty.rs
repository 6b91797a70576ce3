//! End to end in real pseudo-terminals: a real hub, two real `tui-client` processes, their
//! screens read back through a vt100 parser.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/pty.rs"]
mod pty;

use std::time::Duration;

use hub::Config;
use hub_support::{patterned_bytes, wait_for_file, TestHub};
use pty::PtyClient;

/// How often an async condition is checked again, as testkit's `eventually` does for sync
/// ones (it takes no async closure).
const POLL: Duration = Duration::from_millis(10);
const CTRL_O: &str = "\x0f";
const CTRL_C: &str = "\x03";
/// Ctrl-Space, as a terminal sends it: select the peer under the cursor.
const CTRL_SPACE: &str = "\x00";

#[test]
fn two_clients_chat_and_send_a_maximal_file_then_one_leaves() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = PtyClient::spawn("a", &addr, dir.path(), 100, 24);
    a.wait_for("● connected");
    let a_id = a.user_id();
    assert!(a.alternate_screen(), "the UI draws on the alternate screen");
    let mut b = PtyClient::spawn("b", &addr, dir.path(), 100, 24);
    b.wait_for("● connected");
    let b_id = b.user_id();

    // A sees B appear (a presence push, not a poll) and selects B.
    a.wait_for(&format!("[ ] #{b_id} "));
    a.keys(CTRL_SPACE);
    a.wait_for(&format!("[x] #{b_id} "));
    a.wait_for("Peers 1/255");

    // A sends text (typed where the focus is: the peer list); B shows it with A's id; A
    // shows the hub's answer on its own message.
    a.keys("hello from the pty test");
    a.keys("\r");
    b.wait_for(&format!("#{a_id} hello from the pty test"));
    a.wait_for("✓ delivered to 1");

    // A attaches a file of exactly the body limit; B saves identical bytes.
    let body = patterned_bytes(1_048_576);
    let path = dir.path().join("max.bin");
    std::fs::write(&path, &body).expect("write file");
    a.keys(CTRL_O);
    a.wait_for("path:");
    a.keys(&path.display().to_string());
    a.keys("\r");
    a.wait_for("file max.bin (1.0 MiB) · Ctrl-X drops");
    a.keys("\r");
    let saved = wait_for_file(&dir.path().join("b-downloads"), 1_048_576);
    assert_eq!(std::fs::read(&saved).expect("read saved"), body);
    b.wait_for("max.bin (1.0 MiB) saved to");

    // B quits (no draft: at once); the terminal is restored; A's list drops B and A is told.
    b.keys(CTRL_C);
    assert!(b.wait_exit(), "b exits with success");
    b.wait_restored();
    a.wait_for(&format!("#{b_id} left"));
    a.wait_for("(nobody else here)");
    a.wait_gone(&format!("[x] #{b_id} "));

    a.keys(CTRL_C);
    assert!(a.wait_exit(), "a exits with success on Ctrl-C");
    a.wait_restored();
}

#[test]
fn a_sentence_typed_in_the_peer_list_lands_in_the_input_line_and_quitting_asks() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = PtyClient::spawn("a", &addr, dir.path(), 100, 24);
    let mut b = PtyClient::spawn("b", &addr, dir.path(), 100, 24);
    a.wait_for("● connected");
    b.wait_for("● connected");
    let (a_id, b_id) = (a.user_id(), b.user_id());
    a.wait_for(&format!("[ ] #{b_id} "));

    // The focus starts on the peer list, where a, c, q, j and k used to be commands.
    let sentence = "quick question: hey can you check a/c? jk q";
    a.keys(sentence);
    a.wait_for(&format!("│{sentence}"));
    a.wait_for("Ctrl-Space select");
    assert!(a.contents().contains("Peers 0/255"), "{}", a.contents());

    // Quitting with the draft asks; n keeps it (and is not typed).
    a.keys(CTRL_C);
    a.wait_for("Unsent draft: quit?");
    a.keys("n");
    a.wait_gone("Unsent draft: quit?");
    a.wait_for(&format!("│{sentence} "));

    // Ctrl-Space selects B, Enter sends the sentence.
    a.keys(CTRL_SPACE);
    a.wait_for("Peers 1/255");
    a.keys("\r");
    b.wait_for(&format!("#{a_id} quick question: hey can you check"));

    // A new draft, then Ctrl-C twice quits.
    a.keys("one more thing");
    a.wait_for("│one more thing");
    a.keys(CTRL_C);
    a.wait_for("Unsent draft: quit?");
    a.keys(CTRL_C);
    assert!(a.wait_exit(), "Ctrl-C twice quits");
    a.wait_restored();
    b.keys(CTRL_C);
    assert!(b.wait_exit());
}

#[test]
fn below_the_minimum_size_the_screen_says_too_small_and_a_resize_brings_it_back() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = PtyClient::spawn("c", &hub.addr.to_string(), dir.path(), 40, 10);
    c.wait_for("too small");
    c.resize(100, 24);
    c.wait_for("● connected");
    c.wait_for("Peers 0/255");
    c.resize(45, 11);
    c.wait_for("too small");
    c.keys(CTRL_C);
    assert!(c.wait_exit());
}

#[test]
fn the_hub_going_away_is_shown_and_the_client_reconnects() {
    // Keepalives every 100 ms: a client that did not answer them would be closed as idle.
    let config = Config {
        stats_interval: Duration::ZERO,
        ping_interval: Duration::from_millis(100),
        ..Config::default()
    };
    let hub = TestHub::start_at("127.0.0.1:0", config.clone());
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = PtyClient::spawn("a", &addr, dir.path(), 100, 24);
    a.wait_for("● connected");
    // Ten keepalive intervals pass; the client answered them all and is still here.
    std::thread::sleep(Duration::from_secs(1));
    assert!(a.contents().contains("● connected"), "{}", a.contents());
    assert!(!a.contents().contains("lost the hub"), "{}", a.contents());

    drop(hub);
    a.wait_for("lost the hub");
    a.wait_for("✗ down, retry");
    let _hub = TestHub::start_at(&addr, config);
    a.wait_for("● connected");
    a.wait_for(&format!("connected to {addr} as #1"));
    a.keys(CTRL_C);
    assert!(a.wait_exit());
}

#[test]
fn termination_signals_restore_the_terminal() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().expect("tempdir");
    for signal in ["TERM", "INT", "HUP"] {
        let mut c = PtyClient::spawn("c", &hub.addr.to_string(), dir.path(), 100, 24);
        c.wait_for("● connected");
        c.signal(signal);
        assert!(c.wait_exit(), "SIG{signal} ends the client cleanly");
        c.wait_restored();
    }
}

#[test]
fn ctrl_l_redraws_a_screen_another_program_wrote_on() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = PtyClient::spawn("c", &hub.addr.to_string(), dir.path(), 100, 24);
    c.wait_for("● connected");
    c.scribble(b"\x1b[6;4HSCRIBBLED-OVER-THE-PEERS");
    assert!(c.contents().contains("SCRIBBLED"));
    c.keys("\x0c");
    c.wait_gone("SCRIBBLED");
    c.wait_for("Peers 0/255");
    c.keys(CTRL_C);
    assert!(c.wait_exit());
}

#[test]
fn pasted_escape_sequences_are_shown_and_paint_nothing_on_either_screen() {
    let hub = TestHub::start();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let mut a = PtyClient::spawn("a", &hub.addr.to_string(), dir_a.path(), 100, 24);
    let mut b = PtyClient::spawn("b", &hub.addr.to_string(), dir_b.path(), 100, 24);
    a.wait_for("● connected");
    b.wait_for("● connected");
    a.wait_for(&format!("#{}", b.user_id()));
    a.keys(CTRL_SPACE);
    a.keys("\x1b[200~x \x1b[41mRED\x1b[0m y\x1b[201~");
    a.wait_for("x ^[[41mRED^[[0m y");
    a.keys("\r");
    a.wait_for("delivered to 1");
    b.wait_for("x ^[[41mRED^[[0m y");
    assert_eq!(a.cells_with_background(1), 0, "{}", a.contents());
    assert_eq!(b.cells_with_background(1), 0, "{}", b.contents());
    a.keys(CTRL_C);
    b.keys(CTRL_C);
    assert!(a.wait_exit() && b.wait_exit());
}

#[test]
fn a_client_with_an_identity_logs_in_shows_its_mailbox_and_acknowledges_it() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    // The pty client "carol" reads its default identity from carol-config.
    let oneshot = |config: &str, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tui-client"))
            .args(["--hub", &addr])
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path().join(config))
            .env("HUBBUB_LOG_FILE", dir.path().join("oneshot.log"))
            .env_remove("HUBBUB_IDENTITY")
            .env_remove("HUBBUB_ANONYMOUS")
            .output()
            .expect("run tui-client");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(oneshot("carol-config", &["register", "carol"]).0, Some(0));
    assert_eq!(oneshot("dan-config", &["register", "dan"]).0, Some(0));
    let (code, out) = oneshot("dan-config", &["send", "--to", "carol", "left for you"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(5), "delivered to 0 of 1\nqueued for carol\n")
    );

    let mut carol = PtyClient::spawn("carol", &addr, dir.path(), 100, 24);
    carol.wait_for("you carol");
    carol.wait_for("logged in as carol");
    carol.wait_for("dan left for you");

    // A second session of carol's finds nothing left unacknowledged. It only looks: it
    // acknowledges nothing itself.
    let path = dir.path().join("carol-config/hubbub/identity");
    let me = tui_client::identity::load(&path)
        .expect("loads")
        .expect("saved");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + hub_support::WAIT;
        loop {
            let mut conn = shared::conn::Connection::connect(&addr)
                .await
                .expect("connect");
            if testkit::accounts::login(&mut conn, &me.key, &me.name)
                .await
                .waiting
                == 0
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
            tokio::time::sleep(POLL).await;
        }
    });
    carol.keys(CTRL_C);
    assert!(carol.wait_exit());
}

/// F9 as xterm sends it.
const F9: &str = "\x1b[20~";

#[test]
fn a_narrow_client_shows_its_panes_on_the_key_its_config_gives() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tui.toml");
    std::fs::write(&config, "[keys]\ntoggle-panes = \"f9\"\n").expect("write config");
    let config = config.display().to_string();
    let mut a = PtyClient::spawn_with(
        "a",
        &hub.addr.to_string(),
        dir.path(),
        (80, 24),
        &["--config", &config],
    );
    a.wait_for("● connected");
    a.wait_for("F9 shows panes");
    assert!(!a.contents().contains("Peers 0/255"), "{}", a.contents());
    a.keys(F9);
    a.wait_for("Peers 0/255");
    a.wait_for("Conversations");
    a.keys(F9);
    a.wait_gone("Peers 0/255");
    a.keys(CTRL_C);
    assert!(a.wait_exit());
    a.wait_restored();
}

#[test]
fn with_mouse_a_click_shows_a_conversation_and_without_it_the_mouse_is_left_alone() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = PtyClient::spawn_with("a", &addr, dir.path(), (100, 24), &["--mouse"]);
    a.wait_for("● connected");
    assert!(a.mouse_captured(), "--mouse asks for mouse reports");
    let mut b = PtyClient::spawn("b", &addr, dir.path(), 100, 24);
    b.wait_for("● connected");
    assert!(
        !b.mouse_captured(),
        "without --mouse the terminal keeps its selection"
    );
    let b_id = b.user_id();
    b.wait_for(&format!("[ ] #{} ", a.user_id()));
    b.keys(CTRL_SPACE);
    b.keys("hello a\r");
    a.wait_for(&format!("#{b_id} hello a"));
    a.wait_for(&format!("2 #{b_id}"));
    a.wait_for("╭ all (");
    // The conversation list's second row: below the status bar and the pane's border.
    a.click(3, 3);
    a.wait_for(&format!("╭ #{b_id} ("));
    a.wait_for(&format!("2▸#{b_id}"));
    a.keys(CTRL_C);
    assert!(a.wait_exit());
    a.wait_restored();
    assert!(
        !a.mouse_captured(),
        "mouse reports are off again after exit"
    );
    b.keys(CTRL_C);
    assert!(b.wait_exit());
}
