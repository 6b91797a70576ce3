//! Wrapping: a path or URL is never broken at a hyphen, and one too long for a row gets rows
//! of its own cut only at the width, so a terminal selection copies it whole.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime};
use shared::UserId;

use super::wrap::split_points;
use super::*;
use crate::incoming::{Body, FilePlace};

fn entry(body: Body) -> Entry {
    Entry {
        at: NaiveTime::MIN,
        day: NaiveDate::MIN,
        from: Sender::Peer(UserId(3)),
        body,
        delivery: None,
        record: None,
    }
}

fn rows(e: &Entry, width: usize) -> Vec<(String, bool)> {
    e.wrap(width, &Names::default())
        .into_iter()
        .map(|r| (r.text, r.indented))
        .collect()
}

const PATH: &str = "/home/me/.local/share/hubbub/downloads/quarterly-report-final-v2.pdf";

#[test]
fn a_received_files_long_path_gets_rows_of_its_own_cut_only_at_the_width() {
    let file = entry(Body::File {
        name: "quarterly-report-final-v2.pdf".into(),
        size: 48_213,
        place: FilePlace::Saved(PathBuf::from(PATH)),
    });
    let width = 40;
    let rows = rows(&file, width);
    // "HH:MM:SS #3 " then the words that fit; the path (69 columns) on rows of its own.
    assert!(rows[0].1, "the first row follows the label");
    assert!(!rows[0].0.contains('/'), "{rows:?}");
    let path_rows: Vec<&(String, bool)> = rows.iter().filter(|(_, indented)| !indented).collect();
    assert!(path_rows[0].0.starts_with("/home"), "{rows:?}");
    let joined: String = path_rows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(joined, PATH, "nothing inserted, nothing lost: {rows:?}");
    assert_eq!(path_rows[0].0.len(), width, "cut at the width: {rows:?}");
    assert_eq!(path_rows.len(), PATH.len().div_ceil(width));
}

#[test]
fn a_long_path_in_a_sentence_has_its_own_rows_and_the_words_go_on_after_it() {
    let text = format!("see {PATH} for the numbers");
    let rows = rows(&entry(Body::Text(text)), 50);
    assert_eq!(rows[0], ("see".to_owned(), true));
    assert_eq!(rows[1], (PATH[..50].to_owned(), false));
    assert_eq!(rows[2], (PATH[50..].to_owned(), false));
    assert_eq!(rows[3], ("for the numbers".to_owned(), true));
    assert_eq!(rows.len(), 4);
}

#[test]
fn a_path_that_fits_is_not_broken_at_its_hyphens() {
    // 24 columns fit on an indented row of a 40-column pane, not after "#3 words words".
    let text = "words words words ~/a-b/c-d-e/f-g-h-ij.txt";
    let rows = rows(&entry(Body::Text(text.into())), 40);
    assert!(
        rows.iter().any(|(t, _)| t == "~/a-b/c-d-e/f-g-h-ij.txt"),
        "{rows:?}"
    );
    // An ordinary hyphenated word may still break at its hyphens.
    assert_eq!(split_points("well-known-fact"), vec![5, 11]);
    assert_eq!(split_points("~/well-known-fact"), Vec::<usize>::new());
}

#[test]
fn text_without_a_long_path_wraps_as_before() {
    let text = "yes; the relay tests pass and the fan-out bench is at the usual figure\n\nnext";
    let rows = rows(&entry(Body::Text(text.into())), 60);
    assert!(rows.iter().all(|(_, indented)| *indented), "{rows:?}");
    assert_eq!(rows.last().map(|(t, _)| t.as_str()), Some("next"));
    assert!(
        rows.iter().any(|(t, _)| t.is_empty()),
        "the blank line stays: {rows:?}"
    );
}

#[test]
fn a_body_that_is_only_a_long_url_starts_below_the_label() {
    let url = format!("https://example.org{}", "/segment".repeat(10));
    let rows = rows(&entry(Body::Text(url.clone())), 30);
    assert_eq!(rows[0], (String::new(), true));
    let joined: String = rows[1..].iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(joined, url);
    assert!(rows[1..].iter().all(|(t, i)| !i && t.len() <= 30));
}

#[test]
fn a_long_delivery_line_wraps_under_the_message_and_counts_in_its_height() {
    let why = "not sent: bob's key has CHANGED: pinned 44e6 72d2 3b35 2f43 60c1 cbe4 86f1 5045, \
               the hub now gives ac49 70bb bea2 4604 b4bf 1d66 e397 00a4; if bob really has a \
               new key, accept it with `tui-client trust bob`";
    let mut e = entry(Body::Text("are you there".into()));
    e.delivery = Some(Delivery::Failed(why.into()));
    let names = Names::default();
    let width = 60;
    let rows = e.delivery_rows(width, &names);
    assert!(rows.len() > 2, "{rows:?}");
    let joined: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    assert!(
        joined.join(" ").contains("`tui-client trust bob`"),
        "{joined:?}"
    );
    for row in &rows {
        assert!(
            INDENT + row.text.width() <= width,
            "{row:?} fits under the indent"
        );
    }
    assert_eq!(
        e.height(width, &names),
        e.wrap(width, &names).len() + rows.len()
    );
}
