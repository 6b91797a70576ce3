//! The store on real files: what is written comes back, pages, replacing, and the bounds.

use chrono::{NaiveDate, NaiveTime};
use shared::UserId;

use super::*;

fn entry(from: Sender, body: Body, delivery: Option<Delivery>) -> Entry {
    Entry {
        at: NaiveTime::from_hms_opt(9, 30, 5).expect("valid"),
        day: NaiveDate::from_ymd_opt(2026, 12, 2).expect("valid"),
        from,
        body,
        delivery,
        record: None,
    }
}

fn rec(id: i64, mut entry: Entry) -> Record {
    entry.record = Some(id);
    Record { id, entry }
}

fn text(id: i64, t: &str) -> Record {
    rec(
        id,
        entry(Sender::Peer(UserId(2)), Body::Text(t.into()), None),
    )
}

#[test]
fn what_is_written_comes_back_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h/alice@hub.sqlite3");
    let answer = Answer {
        delivered: 1,
        queued: vec![UserId(1 << 32)],
        unknown: vec![UserId(9), UserId(10)],
        ..Answer::default()
    };
    let records = vec![
        text(1, "hi; with a \u{202e} and\nlines"),
        rec(
            2,
            entry(
                Sender::Me {
                    to: vec![UserId(2), UserId(1 << 32)],
                },
                Body::Text("to both".into()),
                Some(Delivery::Done(answer)),
            ),
        ),
        rec(
            3,
            entry(
                Sender::Peer(UserId(2)),
                Body::File {
                    name: "a.pdf".into(),
                    size: 48_213,
                    place: FilePlace::Saved("/tmp/d/a.pdf".into()),
                },
                None,
            ),
        ),
        rec(
            4,
            entry(
                Sender::Peer(UserId(2)),
                Body::File {
                    name: "b.bin".into(),
                    size: 3,
                    place: FilePlace::Failed("disk full".into()),
                },
                None,
            ),
        ),
        rec(
            5,
            entry(
                Sender::Me {
                    to: vec![UserId(2)],
                },
                Body::File {
                    name: "c.txt".into(),
                    size: 1,
                    place: FilePlace::Sent("/home/me/c.txt".into()),
                },
                Some(Delivery::Elsewhere),
            ),
        ),
        rec(
            6,
            entry(
                Sender::Me {
                    to: vec![UserId(2)],
                },
                Body::Text("lost".into()),
                Some(Delivery::Failed("connection lost".into())),
            ),
        ),
    ];
    History::open(&path)
        .expect("open")
        .write(&records)
        .expect("write");
    let h = History::open(&path).expect("reopen");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "private, as the identity file");
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
    assert_eq!(h.last_id().expect("id"), 6);
    assert_eq!(h.before(None, 100).expect("read"), records);
}

#[test]
fn pages_go_back_from_an_id_and_a_record_written_again_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = History::open(&dir.path().join("h.sqlite3")).expect("open");
    let all: Vec<Record> = (1..=10).map(|i| text(i, &format!("m{i}"))).collect();
    h.write(&all).expect("write");
    let ids = |rs: Vec<Record>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(h.before(None, 3).expect("page")), [8, 9, 10]);
    assert_eq!(ids(h.before(Some(8), 3).expect("page")), [5, 6, 7]);
    assert_eq!(ids(h.before(Some(2), 3).expect("page")), [1]);
    // Our message, waiting, then answered: one row, the answer kept.
    let mut mine = rec(
        11,
        entry(
            Sender::Me {
                to: vec![UserId(2)],
            },
            Body::Text("q".into()),
            Some(Delivery::Pending),
        ),
    );
    h.write(std::slice::from_ref(&mine)).expect("write");
    mine.entry.delivery = Some(Delivery::Done(Answer {
        delivered: 1,
        ..Answer::default()
    }));
    h.write(std::slice::from_ref(&mine)).expect("write again");
    assert_eq!(h.before(None, 1).expect("read"), [mine]);
    assert_eq!(h.before(None, 100).expect("read").len(), 11);
    assert_eq!(h.find_before("M7", None).expect("find"), Some(7));
    assert_eq!(h.find_before("m1", Some(10)).expect("find"), Some(1));
    assert_eq!(h.find_before("nothing", None).expect("find"), None);
}

#[test]
fn a_waiting_message_reads_back_as_never_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite3");
    let waiting = rec(
        1,
        entry(
            Sender::Me {
                to: vec![UserId(2)],
            },
            Body::Text("q".into()),
            Some(Delivery::Pending),
        ),
    );
    History::open(&path)
        .expect("open")
        .write(&[waiting])
        .expect("write");
    let back = History::open(&path)
        .expect("open")
        .before(None, 1)
        .expect("read");
    assert!(matches!(
        &back[0].entry.delivery,
        Some(Delivery::Failed(why)) if why.contains("closed before")
    ));
}

#[test]
fn the_oldest_text_goes_past_the_byte_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite3");
    let big = "x".repeat(1 << 20);
    let n = (MAX_TEXT_BYTES >> 20) as i64 + 6;
    let records: Vec<Record> = (1..=n).map(|i| text(i, &big)).collect();
    History::open(&path)
        .expect("open")
        .write(&records)
        .expect("write");
    // Trimmed when opened (and every TRIM_EVERY writes).
    let h = History::open(&path).expect("reopen");
    let kept = h.before(None, 1_000).expect("read");
    assert_eq!(kept.len() as u64, MAX_TEXT_BYTES >> 20, "64 of 70 MiB");
    assert_eq!(kept.last().map(|r| r.id), Some(n), "the newest stay");
    assert_eq!(kept.first().map(|r| r.id), Some(7));
}

#[test]
fn queued_seqs_and_receipts_come_back_and_older_rows_read_without_seqs() {
    let (bob, carol) = (UserId(1 << 32), UserId((1 << 32) + 1));
    let answer = Answer {
        delivered: 1,
        queued: vec![bob, carol],
        seqs: vec![7, 2],
        reached: vec![carol],
        ..Answer::default()
    };
    let text = delivery_text(&Delivery::Done(answer.clone()));
    assert_eq!(text, format!("D1;{}:7,{}:2;;;;{}", bob.0, carol.0, carol.0));
    assert_eq!(parse_delivery(&text), Delivery::Done(answer));
    let before_receipts = format!("D0;{};;;", bob.0);
    assert_eq!(
        parse_delivery(&before_receipts),
        Delivery::Done(Answer {
            queued: vec![bob],
            ..Answer::default()
        }),
        "a row written before receipts: queued, with no seq to match one"
    );
}

/// A receipt reaches rows that are not loaded as well: an entry paged in after it reads
/// delivered. It reaches only copies queued for its account with a seq up to its own.
#[test]
fn a_receipt_marks_the_kept_rows_it_reaches_loaded_or_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.sqlite3");
    let (bob, carol) = (UserId(1 << 32), UserId((1 << 32) + 1));
    let queued = |queued: Vec<UserId>, seqs: Vec<u64>| {
        Some(Delivery::Done(Answer {
            queued,
            seqs,
            ..Answer::default()
        }))
    };
    let mine = |to: Vec<UserId>, d| entry(Sender::Me { to }, Body::Text("hi".into()), d);
    let mut h = History::open(&path).expect("opens");
    h.write(&[
        rec(1, mine(vec![bob], queued(vec![bob], vec![5]))),
        rec(
            2,
            mine(vec![bob, carol], queued(vec![bob, carol], vec![6, 1])),
        ),
        rec(3, mine(vec![carol], queued(vec![carol], vec![2]))),
        rec(4, mine(vec![bob], queued(vec![bob], vec![9]))),
        // A hub before receipts: no seq, nothing to match.
        rec(5, mine(vec![bob], queued(vec![bob], Vec::new()))),
    ])
    .expect("writes");
    assert_eq!(h.receipt(bob, 6).expect("applies"), 2, "rows 1 and 2");
    assert_eq!(h.receipt(bob, 6).expect("applies"), 0, "once is enough");
    drop(h);
    let h = History::open(&path).expect("opens again");
    let reached: Vec<Vec<UserId>> = h
        .before(None, 10)
        .expect("reads")
        .into_iter()
        .map(|r| match r.entry.delivery {
            Some(Delivery::Done(a)) => a.reached,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reached,
        vec![vec![bob], vec![bob], vec![], vec![], vec![]],
        "carol's copies and bob's later ones wait"
    );
}
