//! `App::update` on version 5's receipts: a copy queued for an away account turns from
//! "queued for bob" to "delivered to bob" when `Delivered` names its seq, for our entries in
//! memory (those loaded from the history too), and the changed entry is kept again.

use super::super::inbox::Entry;
use super::accounts::{alice, draw, BOB};
use super::*;
use crate::history::Record;

const CAROL: UserId = UserId((1 << 32) + 2);

/// alice sends "later" to bob and carol, both away: queued as seqs 7 and 3.
fn queued_for_both() -> App {
    let mut app = alice();
    app.inbox.names.learn(CAROL, "carol".into());
    let Effect::Relay(relay) = app.relay_text(vec![BOB, CAROL], "later".into()) else {
        panic!("a relay");
    };
    let answer = Answer {
        queued: vec![BOB, CAROL],
        seqs: vec![7, 3],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer)));
    app
}

fn receipt(to: UserId, through: u64) -> Action {
    Action::Net(NetEvent::Delivered { to, through })
}

#[test]
fn a_receipt_for_the_seq_turns_queued_into_delivered_by_name() {
    let mut app = queued_for_both();
    let screen = draw(&app);
    assert!(screen.contains("◷ queued for bob carol"), "{screen}");
    app.update(receipt(BOB, 6));
    assert!(
        draw(&app).contains("◷ queued for bob carol"),
        "seq 7 is not acknowledged by a receipt through 6"
    );
    app.update(receipt(BOB, 9));
    let screen = draw(&app);
    assert!(
        screen.contains("✓ delivered to bob · queued for carol"),
        "{screen}"
    );
    app.update(receipt(CAROL, 3));
    let screen = draw(&app);
    assert!(screen.contains("✓ delivered to bob carol"), "{screen}");
    assert!(!screen.contains("queued"), "{screen}");
}

#[test]
fn a_receipt_adds_to_the_live_count_and_names_only_its_receiver() {
    let mut app = alice();
    let Effect::Relay(relay) = app.relay_text(vec![UserId(2), BOB], "hi".into()) else {
        panic!("a relay");
    };
    let answer = Answer {
        delivered: 1,
        queued: vec![BOB],
        seqs: vec![4],
        ..Answer::default()
    };
    app.update(Action::Net(NetEvent::Relayed(relay.req, answer)));
    app.update(receipt(CAROL, 100));
    assert!(draw(&app).contains("✓ delivered to 1 · queued for bob"));
    app.update(receipt(BOB, 4));
    let screen = draw(&app);
    assert!(screen.contains("✓ delivered to 2"), "{screen}");
    assert!(!screen.contains("queued"), "{screen}");
}

#[test]
fn a_changed_entry_is_kept_again_and_one_loaded_from_history_takes_its_receipt() {
    let mut app = queued_for_both();
    app.keep_history(0);
    app.update(receipt(CAROL, 3));
    assert!(app.take_records().is_empty(), "not kept: nothing to write");

    // A restart: the entry comes back from the history with its seqs.
    let mut app = alice();
    app.keep_history(5);
    let entry = Entry {
        at: chrono::NaiveTime::MIN,
        day: app.today,
        from: Sender::Me { to: vec![BOB] },
        body: Body::Text("from yesterday".into()),
        delivery: Some(Delivery::Done(Answer {
            queued: vec![BOB],
            seqs: vec![7],
            ..Answer::default()
        })),
        record: Some(5),
    };
    app.update(Action::History(vec![Record { id: 5, entry }]));
    assert!(draw(&app).contains("◷ queued for bob"));
    app.update(receipt(BOB, 7));
    assert!(draw(&app).contains("✓ delivered to bob"));
    let records = app.take_records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].id, 5, "written again under its id");
    let Some(Delivery::Done(answer)) = &records[0].entry.delivery else {
        panic!("{records:?}");
    };
    assert_eq!(answer.reached, vec![BOB]);
}

/// A receipt is also handed to the history store, for the rows that are not loaded; without
/// a store nothing is kept to hand.
#[test]
fn a_receipt_goes_to_the_store_for_the_rows_not_in_memory() {
    let mut app = alice();
    app.update(receipt(BOB, 7));
    assert!(app.take_receipts().is_empty(), "no store: nothing to apply");
    app.keep_history(0);
    app.update(receipt(BOB, 7));
    assert_eq!(app.take_receipts(), vec![(BOB, 7)]);
    assert!(app.take_receipts().is_empty(), "taken once");
}
