//! Reads the machine-checked parts of `docs/PROTOCOL.md`: hex examples and marked tables.
//!
//! Two shapes are recognised, both plain Markdown so the document renders normally:
//! - a fenced block tagged `hex` whose first line is `# example: <Enum>::<Debug of the value>`;
//!   the rest is hex byte pairs, with `#` starting a comment that runs to the end of the line;
//! - an HTML comment `<!-- check: NAME -->` followed by a Markdown table; its data rows are
//!   returned with backticks stripped from each cell.

/// One hex example of the document.
#[derive(Debug)]
pub struct Example {
    /// 1-based line of the block's opening fence, for error messages.
    pub line: usize,
    /// What follows `# example: `, e.g. `ClientMsg::Ping { req: RequestId(8) }`.
    pub key: String,
    /// The frame's bytes, length prefix included.
    pub bytes: Vec<u8>,
}

/// One marked table: its name and data rows (header and separator dropped).
#[derive(Debug)]
pub struct Table {
    /// What follows `check: ` in the marker.
    pub name: String,
    /// Each data row's cells, trimmed, backticks removed.
    pub rows: Vec<Vec<String>>,
}

/// Everything checked in the document.
#[derive(Debug, Default)]
pub struct Doc {
    /// Hex examples in document order.
    pub examples: Vec<Example>,
    /// Marked tables in document order.
    pub tables: Vec<Table>,
}

impl Doc {
    /// The table marked `name`; panics if the document lacks it.
    pub fn table(&self, name: &str) -> &Table {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("docs/PROTOCOL.md has no `<!-- check: {name} -->` table"))
    }
}

/// Parse the document; panics with the line number on anything malformed, since a test is the
/// only caller and a clear message is the useful outcome.
pub fn parse(text: &str) -> Doc {
    let lines: Vec<&str> = text.lines().collect();
    let mut doc = Doc::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line == "```hex" {
            let (example, next) = parse_example(&lines, i);
            doc.examples.push(example);
            i = next;
        } else if let Some(name) = marker(line) {
            let (table, next) = parse_table(&lines, i, name);
            doc.tables.push(table);
            i = next;
        } else {
            i += 1;
        }
    }
    doc
}

fn marker(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("<!-- check:")?.strip_suffix("-->")?;
    Some(inner.trim())
}

fn parse_example(lines: &[&str], open: usize) -> (Example, usize) {
    let line = open + 1;
    let header = lines.get(open + 1).map(|l| l.trim()).unwrap_or_default();
    let key = header
        .strip_prefix("# example:")
        .unwrap_or_else(|| panic!("line {}: a hex block must start with `# example: `", line))
        .trim()
        .to_string();
    let mut bytes = Vec::new();
    let mut i = open + 2;
    loop {
        let raw = lines
            .get(i)
            .unwrap_or_else(|| panic!("line {line}: unterminated hex block"));
        if raw.trim() == "```" {
            break;
        }
        let data = raw.split('#').next().unwrap_or_default();
        for pair in data.split_whitespace() {
            let byte = u8::from_str_radix(pair, 16)
                .ok()
                .filter(|_| pair.len() == 2);
            bytes.push(
                byte.unwrap_or_else(|| {
                    panic!("line {}: `{pair}` is not a hex byte like `0a`", i + 1)
                }),
            );
        }
        i += 1;
    }
    (Example { line, key, bytes }, i + 1)
}

fn parse_table(lines: &[&str], at: usize, name: &str) -> (Table, usize) {
    let mut i = at + 1;
    while lines.get(i).is_some_and(|l| l.trim().is_empty()) {
        i += 1;
    }
    let mut rows = Vec::new();
    while let Some(row) = lines
        .get(i)
        .map(|l| l.trim())
        .filter(|l| l.starts_with('|'))
    {
        let cells: Vec<String> = row
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().replace('`', ""))
            .collect();
        rows.push(cells);
        i += 1;
    }
    assert!(
        rows.len() >= 2,
        "line {}: `<!-- check: {name} -->` must be followed by a table",
        at + 1
    );
    // Drop the header row and the `|---|` separator.
    let rows = rows.split_off(2);
    let name = name.to_string();
    (Table { name, rows }, i)
}

/// A number as written in the document: `1,048,576` or `1048576`.
pub fn number(cell: &str) -> u64 {
    cell.replace([',', '_'], "")
        .parse()
        .unwrap_or_else(|_| panic!("`{cell}` is not a number"))
}

/// Hex bytes as written in a table cell: `ac 02`, or `(empty)` for none.
pub fn hex(cell: &str) -> Vec<u8> {
    if cell == "(empty)" {
        return Vec::new();
    }
    cell.split_whitespace()
        .map(|p| u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("`{p}` is not hex")))
        .collect()
}
