//! Reads a Markdown document into what `doc_refs` checks: link targets, code spans and the
//! anchors its headings make.
//!
//! Fenced code blocks (```` ``` ```` or `~~~`) and indented code blocks are skipped: they hold
//! commands and bytes, not citations. A code span may run over a line break inside one block, as
//! in Markdown; a backtick that closes nothing is plain text.

use std::collections::HashMap;

/// Something the document cites, with the 1-based line it starts on.
#[derive(Debug, PartialEq, Eq)]
pub enum Cited {
    /// The target of `[text](target)`, `![alt](target)` or `[label]: target`.
    Link(usize, String),
    /// The text of a code span, line breaks turned into spaces.
    Code(usize, String),
}

/// A document's citations and the anchors of its headings.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Every citation, in document order.
    pub cited: Vec<Cited>,
    /// GitHub's anchor for each heading (`## 10. Limits` → `10-limits`), duplicates numbered.
    pub anchors: Vec<String>,
}

/// Scan `text`.
pub fn scan(text: &str) -> Scanned {
    let mut out = Scanned::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for block in blocks(text) {
        for &(n, line) in &block {
            if let Some(heading) = heading(line) {
                let slug = slug(heading);
                let count = seen.entry(slug.clone()).or_default();
                out.anchors.push(match *count {
                    0 => slug,
                    k => format!("{slug}-{k}"),
                });
                *count += 1;
            }
            if let Some(target) = reference_definition(line) {
                out.cited.push(Cited::Link(n, target));
            }
        }
        scan_block(&block, &mut out.cited);
    }
    out
}

/// The text of an ATX heading (`## Title`), if `line` is one.
fn heading(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start_matches('#');
    (rest.is_empty() || rest.starts_with(' ')).then_some(rest)
}

/// The document cut into blocks (runs of non-blank lines), code blocks left out; each line
/// keeps its 1-based number.
fn blocks(text: &str) -> Vec<Vec<(usize, &str)>> {
    let mut blocks = vec![Vec::new()];
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match fence {
            Some(open) if trimmed.starts_with(open) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                fence = Some(&trimmed[..3]);
                blocks.push(Vec::new());
            }
            None if trimmed.is_empty() => blocks.push(Vec::new()),
            None => blocks
                .last_mut()
                .expect("starts with one")
                .push((i + 1, line)),
        }
    }
    blocks.retain(|b| !b.is_empty() && !b.iter().all(|(_, l)| l.starts_with("    ")));
    blocks
}

/// Code spans and inline link targets of one block.
fn scan_block(block: &[(usize, &str)], cited: &mut Vec<Cited>) {
    let text: Vec<(usize, char)> = block
        .iter()
        .flat_map(|&(n, line)| line.chars().chain(['\n']).map(move |c| (n, c)))
        .collect();
    let mut i = 0;
    while i < text.len() {
        let (line, c) = text[i];
        if c == '`' {
            let run = run_len(&text, i);
            if let Some(close) = closing_run(&text, i + run, run) {
                let code: String = text[i + run..close].iter().map(|&(_, c)| c).collect();
                cited.push(Cited::Code(
                    line,
                    code.replace('\n', " ").trim().to_string(),
                ));
                i = close + run;
            } else {
                i += run;
            }
        } else if c == ']' && text.get(i + 1).map(|&(_, c)| c) == Some('(') {
            let end = text[i + 2..]
                .iter()
                .position(|&(_, c)| c == ')' || c == '\n');
            if let Some(end) = end.filter(|&e| text[i + 2 + e].1 == ')') {
                let target: String = text[i + 2..i + 2 + end].iter().map(|&(_, c)| c).collect();
                // `[text](path "title")`: the path is the first word.
                let path = target.split_whitespace().next().unwrap_or("");
                cited.push(Cited::Link(line, path.to_string()));
                i += 2 + end;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
}

/// Length of the run of backticks starting at `at`.
fn run_len(text: &[(usize, char)], at: usize) -> usize {
    text[at..].iter().take_while(|&&(_, c)| c == '`').count()
}

/// Start of the next run of exactly `len` backticks from `from`.
fn closing_run(text: &[(usize, char)], from: usize, len: usize) -> Option<usize> {
    let mut i = from;
    while i < text.len() {
        if text[i].1 == '`' {
            let run = run_len(text, i);
            if run == len {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// The target of a reference-style link definition, `[label]: target`.
fn reference_definition(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (_, after) = rest.split_once("]:")?;
    after.split_whitespace().next().map(str::to_string)
}

/// GitHub's anchor for a heading's text: lower case; letters, digits, `-` and `_` kept, spaces
/// made `-`, everything else dropped.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
