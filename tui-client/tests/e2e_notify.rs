//! Notifications end to end in real pseudo-terminals: a real hub, two real `tui-client`
//! processes. A message that comes while the terminal has no focus (a focus-out report, as a
//! terminal sends it) rings the bell once and puts the unread count in the title; focus back
//! clears the count; the title is put back on exit.

#[path = "support/hub.rs"]
mod hub_support;
#[path = "support/pty.rs"]
mod pty;

use hub_support::TestHub;
use pty::PtyClient;

const CTRL_C: &str = "\x03";
const CTRL_SPACE: &str = "\x00";
/// What a terminal sends when it loses and gains the focus (with focus reporting on).
const FOCUS_OUT: &str = "\x1b[O";
const FOCUS_IN: &str = "\x1b[I";

#[test]
fn a_message_while_unfocused_rings_and_counts_in_the_title() {
    let hub = TestHub::start();
    let addr = hub.addr.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = PtyClient::spawn("a", &addr, dir.path(), 100, 24);
    a.wait_for("● connected");
    a.wait_title("hubbub");
    let a_id = a.user_id();
    let mut b = PtyClient::spawn("b", &addr, dir.path(), 100, 24);
    b.wait_for("● connected");
    let b_id = b.user_id();
    b.wait_for(&format!("[ ] #{a_id} "));
    b.keys(CTRL_SPACE);
    b.wait_for(&format!("[x] #{a_id} "));

    // A is looking at "all": the message is seen, nothing rings.
    b.keys("first\r");
    a.wait_for(&format!("#{b_id} first"));
    assert_eq!((a.bells(), a.title()), (0, "hubbub".to_owned()));

    // A's terminal loses the focus: the next two ring once and are counted.
    a.keys(FOCUS_OUT);
    b.keys("second\r");
    a.wait_title("(1) hubbub");
    b.keys("third\r");
    a.wait_title("(2) hubbub");
    a.wait_for(&format!("#{b_id} third"));
    assert_eq!(a.bells(), 1, "a burst rings once");
    a.wait_for("Conversations (2)");

    // Back in focus, "all" is read; b's conversation counts until it is opened (Alt-2).
    a.keys(FOCUS_IN);
    a.keys("\x1b2");
    a.wait_title("hubbub");
    a.wait_for(&format!("2▸#{b_id}"));

    a.keys(CTRL_C);
    assert!(a.wait_exit(), "a exits with success");
    a.wait_restored();
    assert_eq!(a.title(), "hubbub", "no stale count is left in the title");
    b.keys(CTRL_C);
    assert!(b.wait_exit());
}
