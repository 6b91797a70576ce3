//! The escapes on their own: written once per change, a burst rings once, nothing that could
//! end or split a sequence gets into one.

use super::*;

#[test]
fn the_title_is_written_only_when_the_count_changes() {
    let mut n = Notifier::default();
    assert_eq!(
        n.escapes(0),
        "\x1b]2;hubbub\x07",
        "the first time, whatever it is"
    );
    assert_eq!(n.escapes(0), "");
    assert_eq!(n.escapes(12), "\x1b]2;(12) hubbub\x07");
    assert_eq!(n.escapes(12), "");
}

#[test]
fn a_bell_rings_once_per_gap_and_a_missed_one_is_not_saved_up() {
    let mut n = Notifier::default();
    n.escapes(0);
    n.alert("bob", false);
    n.alert("bob", false);
    assert_eq!(n.escapes(0), "\x07");
    n.alert("bob", false);
    assert_eq!(n.escapes(0), "", "in the gap");
    for _ in 0..BELL_GAP_TICKS {
        n.tick();
    }
    assert_eq!(n.escapes(0), "", "the one in the gap does not ring late");
    n.alert("bob", false);
    assert_eq!(n.escapes(0), "\x07");
}

#[test]
fn desktop_text_is_cleaned_names_are_capped_and_off_sends_nothing() {
    let mut n = Notifier {
        desktop: Desktop::Osc777,
        ..Notifier::default()
    };
    n.escapes(0);
    for who in ["a;b", "c\x07d", "e", "f", "g"] {
        n.alert(who, false);
    }
    n.bell_wait = 1;
    assert_eq!(
        n.escapes(0),
        "\x1b]777;notify;hubbub;5 new messages from a b, c d, e, and 2 more\x07"
    );
    let mut off = Notifier::default();
    off.alert("bob", true);
    assert_eq!(off.escapes(1), "\x1b]2;(1) hubbub\x07\x07");
    assert!(off.senders.is_empty(), "nothing saved up for later");
}
