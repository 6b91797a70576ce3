//! An entry's body wrapped to the inbox's width: textwrap for words, except that a word with
//! a `/` in it (a path, a URL) is never broken at a hyphen, and one too long for a
//! continuation row gets unindented rows of its own, cut only at the width, so that a terminal
//! selection of them is the path with nothing inserted.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::INDENT;

/// One row of a wrapped entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Its text, without the indent.
    pub text: String,
    /// Whether it is drawn after the indent (a continuation row); the rows of a long path
    /// start at the pane's edge.
    pub indented: bool,
}

/// Where textwrap may break a word: at its hyphens as usual, but never inside a path or URL.
pub(super) fn split_points(word: &str) -> Vec<usize> {
    if word.contains('/') {
        Vec::new()
    } else {
        textwrap::WordSplitter::HyphenSplitter.split_points(word)
    }
}

/// `word` cut into pieces of at most `width` columns (at least one character each).
fn hard_split(word: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in word.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push(c);
        used += w;
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// The rows being made.
struct Rows {
    /// Where the first row starts (after the time and label), and the continuation rows.
    first: String,
    rest: String,
    /// The pane's width, and the width words are wrapped to (never below a usable minimum).
    width: usize,
    wrap_width: usize,
    out: Vec<Row>,
}

/// `text` as rows `width` columns wide, the first `label_width` columns of the first row
/// taken by the time and label.
pub(super) fn rows(text: &str, width: usize, label_width: usize) -> Vec<Row> {
    let mut rows = Rows {
        first: " ".repeat(label_width),
        rest: " ".repeat(INDENT),
        width,
        wrap_width: width.max(INDENT + 8),
        out: Vec::new(),
    };
    text.split('\n').for_each(|para| rows.paragraph(para));
    rows.out
}

impl Rows {
    /// Whether `word` is a path too long for a continuation row.
    fn long_path(&self, word: &str) -> bool {
        word.contains('/') && word.width() > self.wrap_width - INDENT
    }

    /// One line of the body: its words wrapped, its long paths on rows of their own.
    fn paragraph(&mut self, para: &str) {
        let rows_before = self.out.len();
        let (mut from, mut at) = (0, 0);
        for word in para.split(' ') {
            let start = at;
            at += word.len() + 1;
            if !self.long_path(word) {
                continue;
            }
            let before = para[from..start].trim_end();
            if !before.is_empty() {
                self.words(before);
            } else if self.out.is_empty() {
                // The path starts the body: the first row holds only the label.
                self.out.push(Row {
                    text: String::new(),
                    indented: true,
                });
            }
            let pieces = hard_split(word, self.width);
            self.out.extend(pieces.into_iter().map(|text| Row {
                text,
                indented: false,
            }));
            from = at.min(para.len());
        }
        let after = &para[from..];
        if !after.is_empty() || self.out.len() == rows_before {
            self.words(after);
        }
    }

    /// A run of ordinary words, wrapped onto rows after those so far: the body's first row
    /// follows the label, the others are continuation rows.
    fn words(&mut self, text: &str) {
        let opening = self.out.is_empty();
        let initial = if opening { &self.first } else { &self.rest };
        let options = textwrap::Options::new(self.wrap_width)
            .initial_indent(initial)
            .subsequent_indent(&self.rest)
            .word_splitter(textwrap::WordSplitter::Custom(split_points))
            .break_words(true);
        for (i, line) in textwrap::wrap(text, options).into_iter().enumerate() {
            let indent = if i == 0 { initial } else { &self.rest };
            let text = line
                .strip_prefix(indent.as_str())
                .unwrap_or(&line)
                .to_owned();
            self.out.push(Row {
                text,
                indented: true,
            });
        }
    }
}
