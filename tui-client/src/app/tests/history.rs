//! Keeping history through `App::update`: what is queued for the store, the answer written
//! again, the recent part loaded into its conversations, older pages asked for at the top,
//! and date lines.

use chrono::{NaiveDate, NaiveTime};

use super::*;
use crate::app::conversation::ConvKey;
use crate::history::{Record, PAGE};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).expect("valid")
}

fn old(id: i64, from: u64, text: &str, d: u32) -> Record {
    Record {
        id,
        entry: Entry {
            at: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            day: day(d),
            from: Sender::Peer(UserId(from)),
            body: Body::Text(text.into()),
            delivery: None,
            record: Some(id),
        },
    }
}

use super::super::inbox::Entry;

#[test]
fn messages_and_answers_are_queued_for_the_store_with_increasing_ids() {
    let mut app = connected();
    app.keep_history(41);
    app.update(Action::Net(NetEvent::Message {
        clear: false,
        from: UserId(2),
        at: NaiveTime::MIN,
        body: Body::Text("hello".into()),
    }));
    app.update(ctrl_space());
    type_text(&mut app, "back");
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Relay(relay)] = effects.as_slice() else {
        panic!("a relay: {effects:?}");
    };
    let kept = app.take_records();
    let ids: Vec<i64> = kept.iter().map(|r| r.id).collect();
    assert_eq!(ids, [42, 43], "system lines are not kept");
    assert_eq!(kept[1].entry.delivery, Some(Delivery::Pending));
    assert!(app.take_records().is_empty(), "taken once");
    let answer = Answer {
        delivered: 1,
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer.clone())));
    let again = app.take_records();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, 43);
    assert_eq!(again[0].entry.delivery, Some(Delivery::Done(answer)));
    // One still waiting when the hub goes: kept as failed, not as waiting.
    type_text(&mut app, "lost one");
    app.update(key(KeyCode::Enter));
    app.take_records();
    app.update(Action::Net(NetEvent::Disconnected {
        reason: "gone".into(),
        retry_in: Duration::from_secs(1),
    }));
    let failed = app.take_records();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, 44);
    assert!(matches!(
        failed[0].entry.delivery,
        Some(Delivery::Failed(_))
    ));
}

#[test]
fn without_a_store_nothing_is_queued() {
    let mut app = connected();
    app.update(Action::Net(NetEvent::Message {
        clear: false,
        from: UserId(2),
        at: NaiveTime::MIN,
        body: Body::Text("hello".into()),
    }));
    assert!(app.take_records().is_empty());
}

#[test]
fn loaded_history_lands_in_its_conversations_with_date_lines_and_pages_in_at_the_top() {
    let mut app = App::new("hub", (100, 24));
    app.today = day(3);
    app.keep_history(2 * PAGE as i64);
    // The recent part: a full page, so there may be more.
    let recent: Vec<Record> = (PAGE as i64 + 1..=2 * PAGE as i64)
        .map(|id| old(id, 2 + (id % 2) as u64, &format!("old {id}"), 2))
        .collect();
    app.update(Action::History(recent));
    let labels: Vec<ConvKey> = app
        .inbox
        .conversations()
        .iter()
        .map(|c| c.key.clone())
        .collect();
    // Paged in newest first: the latest conversation gets the lower number.
    assert_eq!(
        labels,
        [
            ConvKey::All,
            ConvKey::With(vec![UserId(2)]),
            ConvKey::With(vec![UserId(3)])
        ]
    );
    assert_eq!(app.unread(), 0, "history is read");
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    // Today's first entry has the day's line above it.
    let a = app.areas().inbox_text;
    let (w, h) = (usize::from(a.width), usize::from(a.height));
    let shown = app.inbox.visible(w, h);
    let last = shown.last().expect("shown");
    assert_eq!(last.date_line, Some(day(3)));
    assert!(shown.iter().rev().skip(1).all(|s| s.date_line.is_none()));
    // Home in the inbox reaches the oldest shown: the page before it is asked for.
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::F(6)));
    app.update(key(KeyCode::F(6)));
    assert_eq!(app.focus, Focus::Inbox);
    let effects = app.update(key(KeyCode::Home));
    assert_eq!(
        effects,
        [Effect::LoadHistory {
            before: PAGE as i64 + 1
        }]
    );
    assert!(app.update(key(KeyCode::Home)).is_empty(), "asked once");
    // Its answer goes before, and the view stays on what it showed.
    let top = app.inbox.visible(w, h)[0].seq;
    let page: Vec<Record> = (1..=3)
        .map(|id| old(id, 2, &format!("older {id}"), 1))
        .collect();
    app.update(Action::History(page));
    assert_eq!(app.inbox.visible(w, h)[0].seq, top);
    app.update(key(KeyCode::PageUp));
    let first = &app.inbox.visible(w, h)[0];
    assert_eq!(first.entry.text(), "older 1");
    assert_eq!(first.date_line, Some(day(1)), "the view spans days");
    // A short page means the store has no more: nothing is asked.
    assert!(app.update(key(KeyCode::Home)).is_empty());
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('2'),
        KeyModifiers::ALT,
    )));
    app.update(key(KeyCode::Home));
    let texts: Vec<String> = app
        .inbox
        .visible(w, h)
        .iter()
        .map(|s| s.entry.text())
        .take(4)
        .collect();
    assert_eq!(texts, ["older 1", "older 2", "older 3", "old 502"]);
}

#[test]
fn search_goes_on_in_the_store_when_memory_runs_out() {
    let mut app = App::new("hub", (100, 24));
    app.keep_history(2 * PAGE as i64);
    let recent: Vec<Record> = (PAGE as i64 + 1..=2 * PAGE as i64)
        .map(|id| old(id, 2, &format!("recent {id}"), 2))
        .collect();
    app.update(Action::History(recent));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('2'),
        KeyModifiers::ALT,
    )));
    type_text(&mut app, "/search needle");
    app.update(key(KeyCode::Enter));
    assert_eq!(
        app.take_history_search(),
        Some(("needle".to_owned(), PAGE as i64 + 1)),
        "asked from the oldest shown"
    );
    assert!(app.take_history_search().is_none(), "once");
    // The store found it at id 7: the entries from there on come, and the search finds it
    // in "all".
    let found: Vec<Record> = (7..=PAGE as i64)
        .map(|id| old(id, 3, if id == 7 { "the needle" } else { "hay" }, 1))
        .collect();
    app.update(Action::Found(found));
    assert_eq!(app.inbox.active(), 0);
    let seq = app.inbox.marked().expect("marked");
    assert_eq!(
        app.inbox.get(seq).map(|e| e.text()).as_deref(),
        Some("the needle")
    );
    // Older still: the store has none.
    app.update(key(KeyCode::F(3)));
    assert!(app.take_history_search().is_some());
    app.update(Action::Found(Vec::new()));
    let notice = app.notice.clone().expect("notice");
    assert!(notice.text.contains("in the history either"), "{notice:?}");
}
