//! The compose text wrapped as the box draws it: rows cut at the width (as drawn, after the
//! sanitiser), the cursor always on a cell, and a count that stops at its cap.

use super::*;

fn compose(text: &str) -> Compose {
    let mut c = Compose::default();
    c.set_content(text);
    c
}

fn shown(c: &Compose, width: usize) -> Vec<String> {
    let lines = c.text.lines();
    c.wrapped(width)
        .rows
        .iter()
        .map(|(n, r)| lines[*n].chars().skip(r.start).take(r.len()).collect())
        .collect()
}

#[test]
fn lines_are_cut_at_the_width_and_every_character_is_in_one_row() {
    let c = compose("abcdefghij\nxy");
    assert_eq!(shown(&c, 4), ["abcd", "efgh", "ij", "xy"]);
    assert_eq!(c.wrapped(4).cursor, (3, 2), "after the y");
    // Wide characters and a control character drawn as ^G take their columns.
    let c = compose("日本語\u{7}x");
    assert_eq!(shown(&c, 4), ["日本", "語\u{7}", "x"]);
}

#[test]
fn the_cursor_after_a_full_row_gets_a_row_of_its_own() {
    let mut c = compose("abcd");
    assert_eq!(shown(&c, 4), ["abcd", ""]);
    assert_eq!(c.wrapped(4).cursor, (1, 0));
    c.text.move_cursor(tui_textarea::CursorMove::Head);
    assert_eq!(shown(&c, 4), ["abcd"], "not when the cursor is elsewhere");
    assert_eq!(c.wrapped(4).cursor, (0, 0));
    c.text.move_cursor(tui_textarea::CursorMove::Forward);
    c.text.move_cursor(tui_textarea::CursorMove::Forward);
    c.text.move_cursor(tui_textarea::CursorMove::Forward);
    c.text.move_cursor(tui_textarea::CursorMove::Forward);
    assert_eq!(c.wrapped(4).cursor, (1, 0));
}

#[test]
fn an_empty_text_is_one_row_and_the_count_stops_at_its_cap() {
    assert_eq!(compose("").wrapped(10).rows.len(), 1);
    let big = compose(&"x".repeat(100_000));
    assert_eq!(big.wrapped(10).rows.len(), 10_001, "and the cursor's row");
    assert_eq!(big.rows_upto(10, 5), 5);
    assert_eq!(compose("a\nb").rows_upto(10, 5), 2);
}
