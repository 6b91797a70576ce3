//! Every file path and test name the docs cite exists: a file that moves or a test that is
//! renamed fails here, naming the document, the line and the citation.
//!
//! Documents checked: `README.md`, each `*/README.md` one level down (`bench/`, `tui-client/`,
//! …) and each `docs/*.md`. Citations, outside fenced and indented code blocks:
//!
//! 1. **Links.** The target of `[text](target)`, `![alt](target)` or `[label]: target`, unless it
//!    is a URL (`scheme://…`, `mailto:`): a path relative to the document's directory, which must
//!    exist. A `#anchor` on a Markdown file (or alone, for the document itself) must be one of
//!    that file's heading anchors as GitHub makes them (`## 10. Limits` → `#10-limits`).
//! 2. **Paths in code spans.** A span that is one word of `A-Za-z0-9_.-/*`, holds a `/` and
//!    starts with a top-level directory of the workspace ([`ROOTS`]), such as
//!    `hub/src/writer.rs`, is relative to the workspace root. One that starts with one of
//!    [`LOCAL_ROOTS`], such as `src/app.rs` in `tui-client/README.md`, is relative to the
//!    document's directory. A trailing `/` asks for a directory; `*` matches any run of
//!    characters within one path component, and the pattern needs at least one match.
//! 3. **Tests in code spans.** A span `FILE::NAME`, both in lower snake case (NAME may hold
//!    `*`), such as `slow_receivers::receiver_that_never_reads_is_dropped_and_the_sender_told`:
//!    some crate's `tests/FILE.rs` (`hub/tests/`, `shared/tests/`, `tui-client/tests/`, …) holds
//!    `fn NAME`. FILE may not be one of [`CRATES`]: `hub::run` is a Rust path, not a test.
//!    Write a std path in full (`std::process::exit`): `process::exit` reads as a test of
//!    `hub/tests/process.rs`.
//!
//! Anything else is prose: `target/release/hub`, `~/.local/share`, `Registry::recent_closes()`.

#[path = "doc_refs/files.rs"]
mod files;
#[path = "doc_refs/scan.rs"]
mod scan;

use std::path::{Path, PathBuf};

use files::{expand, fn_names, glob};
use scan::{scan, Cited};

/// Top-level directories of the workspace; a code span starting with one is a path citation.
const ROOTS: &[&str] = &[
    "hub",
    "shared",
    "tui-client",
    "bench",
    "docs",
    "e2e",
    "scripts",
    "assets",
    ".ci",
];

/// Directories a crate's own README cites relative to itself.
const LOCAL_ROOTS: &[&str] = &["src", "tests", "examples", "results"];

/// Crate names: `NAME::item` with one of these is a Rust path, not a test citation.
const CRATES: &[&str] = &[
    "hub",
    "shared",
    "tui_client",
    "bench",
    "loadgen",
    "e2e",
    "std",
    "core",
    "alloc",
    "tokio",
    "tokio_util",
    "bytes",
    "futures",
    "postcard",
    "serde",
    "tracing",
    "ratatui",
    "crossterm",
    "clap",
    "anyhow",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ sits inside the workspace")
        .to_path_buf()
}

/// The checked documents, relative to the workspace root, sorted.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    for dir in subdirs(root) {
        if root.join(&dir).join("README.md").is_file() {
            docs.push(dir.join("README.md"));
        }
    }
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/ is readable") {
        let name = entry.expect("a docs/ entry").file_name();
        if Path::new(&name).extension().is_some_and(|e| e == "md") {
            docs.push(Path::new("docs").join(name));
        }
    }
    docs.sort();
    docs
}

/// The workspace's top-level directories but `target` and `.git`, as relative paths.
fn subdirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("the workspace root is readable")
        .map(|e| e.expect("a root entry").path())
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().map(PathBuf::from))
        .filter(|n| n != Path::new("target") && n != Path::new(".git"))
        .collect();
    dirs.sort();
    dirs
}

/// Check one document (`doc` relative to `root`, its text given): how many citations it makes,
/// and a line `DOC:LINE: `CITATION`: what is wrong` for each that does not hold.
fn check(root: &Path, doc: &Path, text: &str) -> (usize, Vec<String>) {
    let scanned = scan(text);
    let doc_dir = root.join(doc.parent().unwrap_or(Path::new("")));
    let mut count = 0;
    let mut problems = Vec::new();
    for cited in &scanned.cited {
        let (line, text, outcome) = match cited {
            Cited::Link(line, target) => (line, target, check_link(&doc_dir, target, &scanned)),
            Cited::Code(line, code) => match check_code(root, &doc_dir, code) {
                Some(outcome) => (line, code, outcome),
                None => continue,
            },
        };
        count += 1;
        if let Err(why) = outcome {
            problems.push(format!("{}:{line}: `{text}`: {why}", doc.display()));
        }
    }
    (count, problems)
}

fn check_link(doc_dir: &Path, target: &str, this: &scan::Scanned) -> Result<(), String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return Ok(());
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let anchors = if path.is_empty() {
        this.anchors.clone()
    } else {
        let file = doc_dir.join(path);
        if !file.exists() {
            return Err(format!("no such file {}", file.display()));
        }
        if anchor.is_empty() || !path.ends_with(".md") {
            return Ok(());
        }
        let text = std::fs::read_to_string(&file).map_err(|e| format!("unreadable: {e}"))?;
        scan(&text).anchors
    };
    if anchors.iter().any(|a| a == anchor) {
        Ok(())
    } else {
        Err(format!("no heading with the anchor #{anchor}"))
    }
}

/// `None` when the span is not a citation (rules 2 and 3 of the file's doc).
fn check_code(root: &Path, doc_dir: &Path, code: &str) -> Option<Result<(), String>> {
    let path_chars = |c: char| c.is_ascii_alphanumeric() || "_.-/*".contains(c);
    if code.contains('/') && code.chars().all(path_chars) {
        let first = code.split('/').next().unwrap_or("");
        let base = if ROOTS.contains(&first) {
            root
        } else if LOCAL_ROOTS.contains(&first) {
            doc_dir
        } else {
            return None;
        };
        if expand(base, code).is_empty() {
            return Some(Err(format!("no such path under {}", base.display())));
        }
        return Some(Ok(()));
    }
    let (file, name) = code.split_once("::")?;
    let snake = |s: &str, extra: &str| {
        s.starts_with(|c: char| c.is_ascii_lowercase() || c == '*')
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || extra.contains(c)
            })
    };
    if !snake(file, "") || !snake(name, "*") || CRATES.contains(&file) {
        return None;
    }
    Some(check_test(root, file, name))
}

fn check_test(root: &Path, file: &str, name: &str) -> Result<(), String> {
    let sources: Vec<PathBuf> = subdirs(root)
        .iter()
        .map(|dir| root.join(dir).join("tests").join(format!("{file}.rs")))
        .filter(|p| p.is_file())
        .collect();
    if sources.is_empty() {
        return Err(format!("no test file {file}.rs in any crate's tests/"));
    }
    for source in &sources {
        let text = std::fs::read_to_string(source).map_err(|e| format!("unreadable: {e}"))?;
        if fn_names(&text).iter().any(|f| glob(name, f)) {
            return Ok(());
        }
    }
    let shown: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    Err(format!("no `fn {name}` in {}", shown.join(", ")))
}

#[test]
fn every_cited_path_test_and_anchor_exists() {
    let root = workspace();
    let docs = documents(&root);
    for expected in [
        "README.md",
        "bench/README.md",
        "docs/PROTOCOL.md",
        "tui-client/README.md",
    ] {
        assert!(
            docs.contains(&PathBuf::from(expected)),
            "{expected} is checked"
        );
    }
    let mut problems = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(root.join(doc)).expect("a document is readable");
        let (count, found) = check(&root, doc, &text);
        // These two cite dozens of files and tests; none at all means the scanner broke.
        let known = ["README.md", "docs/PROTOCOL.md"].map(PathBuf::from);
        assert!(
            count > 0 || !known.contains(doc),
            "{} cites nothing: is the scanner broken?",
            doc.display()
        );
        problems.extend(found);
    }
    assert!(
        problems.is_empty(),
        "{} citation(s) in the docs point at nothing:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_missing_path_test_or_anchor_is_reported_with_its_line() {
    let root = workspace();
    let text = "# Title\n\
        Real: `hub/src/writer.rs`, [codec](shared/src/codec.rs), `hostile_frames::*_is_malformed`,\n\
        `hub/tests/*.proptest-regressions`, [top](#title), `hub::run`, `target/release/hub`.\n\
        Gone: `hub/src/nowhere.rs` and [a link](docs/NOWHERE.md),\n\
        `slow_receivers::no_such_test`, `no_such_file::a_test`, `scripts/*.nope`,\n\
        [anchor](docs/PROTOCOL.md#no-such-heading) and `hub/src/writer.rs/`.\n\
        [titled](hub/src/lib.rs \"the hub\") and [titled](hub/src/gone.rs \"gone\").\n\
        \n\
        ```sh\n\
        `hub/src/in_a_fence.rs`\n\
        ```\n";
    let (count, problems) = check(&root, Path::new("README.md"), text);
    let root = root.display();
    assert_eq!(
        problems,
        [
            format!("README.md:4: `hub/src/nowhere.rs`: no such path under {root}"),
            format!("README.md:4: `docs/NOWHERE.md`: no such file {root}/docs/NOWHERE.md"),
            format!(
                "README.md:5: `slow_receivers::no_such_test`: no `fn no_such_test` in \
                 {root}/hub/tests/slow_receivers.rs"
            ),
            "README.md:5: `no_such_file::a_test`: no test file no_such_file.rs in any crate's \
             tests/"
                .to_string(),
            format!("README.md:5: `scripts/*.nope`: no such path under {root}"),
            "README.md:6: `docs/PROTOCOL.md#no-such-heading`: no heading with the anchor \
             #no-such-heading"
                .to_string(),
            format!("README.md:6: `hub/src/writer.rs/`: no such path under {root}"),
            format!("README.md:7: `hub/src/gone.rs`: no such file {root}/hub/src/gone.rs"),
        ]
    );
    assert_eq!(count, 6 + 8, "citations found");
}

#[test]
fn code_spans_may_cross_a_line_break_and_headings_make_github_anchors() {
    let scanned = scan(
        "## 6. Client → hub: `ClientMsg`\na `x\ny` b ``c`d``\n## 6. Client → hub: `ClientMsg`\n",
    );
    assert_eq!(
        scanned.anchors,
        ["6-client--hub-clientmsg", "6-client--hub-clientmsg-1"]
    );
    let code: Vec<&Cited> = scanned.cited.iter().collect();
    assert_eq!(
        code,
        [
            &Cited::Code(1, "ClientMsg".into()),
            &Cited::Code(2, "x y".into()),
            &Cited::Code(3, "c`d".into()),
            &Cited::Code(4, "ClientMsg".into()),
        ]
    );
}
