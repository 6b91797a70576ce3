//! The compose box: multi-line text (tui-textarea), input history, the attached file and the
//! attach prompt with its completions.

use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use ratatui::style::{Modifier, Style};
use tui_textarea::TextArea;
use unicode_width::UnicodeWidthStr;

use crate::sanitize::display;

/// Sent texts remembered for Up/Down; enough for a session, small enough to ignore.
pub const HISTORY_CAP: usize = 200;

/// A file read and ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Where it was read from.
    pub path: PathBuf,
    /// The name it travels under (the cleaned last component).
    pub name: String,
    /// Its content, at most the hub's body limit.
    pub body: Bytes,
}

/// The "attach a file" prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathPrompt {
    /// What was typed.
    pub input: String,
    /// The last completions offered, shown under the prompt.
    pub candidates: Vec<String>,
}

/// Compose state.
#[derive(Debug)]
pub struct Compose {
    /// The text being written.
    pub text: TextArea<'static>,
    /// Texts sent, oldest first.
    history: Vec<String>,
    /// Position in `history` while browsing; `None` when editing a fresh draft.
    browsing: Option<usize>,
    /// The fresh draft, kept while browsing history.
    draft: String,
    /// The attached file.
    pub attachment: Option<Attachment>,
    /// The open attach prompt.
    pub prompt: Option<PathPrompt>,
}

impl Default for Compose {
    fn default() -> Self {
        Compose {
            text: new_textarea(Vec::new()),
            history: Vec::new(),
            browsing: None,
            draft: String::new(),
            attachment: None,
            prompt: None,
        }
    }
}

fn new_textarea(lines: Vec<String>) -> TextArea<'static> {
    let mut text = if lines.is_empty() {
        TextArea::default()
    } else {
        TextArea::new(lines)
    };
    text.set_cursor_line_style(Style::default());
    text.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
    text.move_cursor(tui_textarea::CursorMove::Bottom);
    text.move_cursor(tui_textarea::CursorMove::End);
    text
}

impl Compose {
    /// The whole text.
    pub fn content(&self) -> String {
        self.text.lines().join("\n")
    }

    /// Whether there is no text (whitespace counts as none).
    pub fn is_blank(&self) -> bool {
        self.text.lines().iter().all(|l| l.trim().is_empty())
    }

    /// Whether quitting now would lose something: a text being written (not one recalled
    /// from the history, which is kept there) or an attached file.
    pub fn has_draft(&self) -> bool {
        let fresh = match self.browsing {
            Some(_) => !self.draft.trim().is_empty(),
            None => !self.is_blank(),
        };
        fresh || self.attachment.is_some()
    }

    /// Replace the text, cursor at the end.
    pub fn set_content(&mut self, text: &str) {
        let lines = text.split('\n').map(str::to_owned).collect();
        self.text = new_textarea(lines);
    }

    /// The text was sent: remember it and start afresh.
    pub fn sent(&mut self) {
        let text = self.content();
        if self.history.last() != Some(&text) {
            self.history.push(text);
            if self.history.len() > HISTORY_CAP {
                self.history.remove(0);
            }
        }
        self.browsing = None;
        self.draft.clear();
        self.set_content("");
    }

    /// Step to an older (`back`) or newer history entry; the fresh draft is past the newest.
    pub fn history_step(&mut self, back: bool) {
        let next = match (self.browsing, back) {
            (None, true) if !self.history.is_empty() => {
                self.draft = self.content();
                Some(self.history.len() - 1)
            }
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
            (None, _) => return,
        };
        self.browsing = next;
        let text = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.set_content(&text);
    }

    /// Whether the cursor is on the first (`top`) or last row, where Up/Down leave the text
    /// for the history.
    pub fn cursor_on_edge(&self, top: bool) -> bool {
        let row = self.text.cursor().0;
        if top {
            row == 0
        } else {
            row + 1 >= self.text.lines().len()
        }
    }
}

/// The compose text as the box shows it at some width: each line cut into rows of at most
/// that many columns (as drawn, after the sanitiser), and where the cursor is among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// Each row: its line and the range of that line's characters it shows.
    pub rows: Vec<(usize, Range<usize>)>,
    /// The cursor's row (in `rows`) and column on screen.
    pub cursor: (usize, usize),
}

/// Columns a character takes once drawn (the sanitiser may show it as several).
fn columns(c: char) -> usize {
    display(c.encode_utf8(&mut [0; 4])).width()
}

impl Compose {
    /// The text wrapped at `width` columns. The cursor always has a cell: at the end of a
    /// full row it is on a row of its own.
    pub fn wrapped(&self, width: usize) -> Wrapped {
        self.wrapped_upto(width, usize::MAX)
    }

    /// How many rows the text takes at `width` columns, counted up to `cap` (a 1 MiB draft
    /// need not be laid out whole to know that it fills the box).
    pub fn rows_upto(&self, width: usize, cap: usize) -> usize {
        self.wrapped_upto(width, cap).rows.len().min(cap)
    }

    /// [`Self::wrapped`], stopping once there are more than `cap` rows (the cursor is then
    /// not placed).
    fn wrapped_upto(&self, width: usize, cap: usize) -> Wrapped {
        let width = width.max(1);
        let (cursor_line, cursor_col) = self.text.cursor();
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        for (n, line) in self.text.lines().iter().enumerate() {
            let first = rows.len();
            let (mut start, mut used, mut len) = (0, 0, 0);
            for (i, c) in line.chars().enumerate() {
                let w = columns(c);
                if used + w > width && used > 0 {
                    rows.push((n, start..i));
                    (start, used) = (i, 0);
                    if rows.len() > cap {
                        return Wrapped { rows, cursor };
                    }
                }
                if n == cursor_line && i == cursor_col {
                    cursor = (rows.len(), used);
                }
                used += w;
                len = i + 1;
            }
            rows.push((n, start..len));
            if n == cursor_line && cursor_col >= len {
                cursor = if used >= width && len > 0 {
                    rows.push((n, len..len));
                    (rows.len() - 1, 0)
                } else {
                    (rows.len() - 1, used)
                };
            }
            debug_assert!(rows.len() > first);
            if rows.len() > cap {
                break;
            }
        }
        Wrapped { rows, cursor }
    }
}

#[cfg(test)]
mod tests;
