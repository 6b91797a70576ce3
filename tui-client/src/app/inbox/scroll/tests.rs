//! Scrolling tests on one-row entries and on tall ones.

use chrono::NaiveTime;
use shared::UserId;

use crate::app::inbox::{Entry, Inbox, Sender};
use crate::incoming::Body;

fn entry(text: &str) -> Entry {
    Entry {
        at: NaiveTime::from_hms_opt(12, 0, 0).expect("valid time"),
        from: Sender::Peer(UserId(2)),
        body: Body::Text(text.to_owned()),
        delivery: None,
        day: chrono::NaiveDate::MIN,
        record: None,
    }
}

fn texts(inbox: &Inbox, height: usize) -> Vec<String> {
    inbox
        .visible(40, height)
        .iter()
        .map(|s| format!("{}:{}+{}", s.entry.text(), s.skip_top, s.take))
        .collect()
}

#[test]
fn follows_the_bottom_and_counts_new_messages_when_scrolled_up() {
    let mut inbox = Inbox::default();
    for i in 0..10 {
        inbox.push(entry(&format!("m{i}")));
    }
    assert_eq!(texts(&inbox, 3), ["m7:0+1", "m8:0+1", "m9:0+1"]);
    inbox.scroll_up(2, 40, 3);
    assert_eq!(texts(&inbox, 3), ["m5:0+1", "m6:0+1", "m7:0+1"]);
    inbox.push(entry("m10"));
    assert_eq!(inbox.new_below(), 1);
    assert_eq!(
        texts(&inbox, 3),
        ["m5:0+1", "m6:0+1", "m7:0+1"],
        "view stays put"
    );
    inbox.scroll_down(100, 40);
    assert!(!inbox.scrolled());
    assert_eq!(inbox.new_below(), 0);
    assert_eq!(texts(&inbox, 3), ["m8:0+1", "m9:0+1", "m10:0+1"]);
}

#[test]
fn scrolling_up_stops_at_the_first_entry() {
    let mut inbox = Inbox::default();
    for i in 0..5 {
        inbox.push(entry(&format!("m{i}")));
    }
    inbox.scroll_up(1000, 40, 3);
    assert_eq!(texts(&inbox, 3), ["m0:0+1", "m1:0+1", "m2:0+1"]);
    inbox.to_bottom();
    inbox.to_top(40, 3);
    assert_eq!(texts(&inbox, 3), ["m0:0+1", "m1:0+1", "m2:0+1"]);
}

#[test]
fn a_tall_entry_scrolls_row_by_row() {
    let mut inbox = Inbox::default();
    inbox.push(entry("short"));
    // 40 columns minus the indent leaves 29 per row: 100 words of 4 chars need many rows.
    inbox.push(entry(&"word ".repeat(100)));
    let tall = inbox.last().expect("entry").height(40, &inbox.names);
    assert!(tall > 10, "{tall}");
    inbox.scroll_up(1, 40, 4);
    let shown = inbox.visible(40, 4);
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].skip_top, shown[0].take), (tall - 5, 4));
    inbox.scroll_up(tall, 40, 4);
    let shown = inbox.visible(40, 4);
    assert_eq!(shown[0].entry.text(), "short");
    assert_eq!((shown[1].skip_top, shown[1].take), (0, 3));
}
