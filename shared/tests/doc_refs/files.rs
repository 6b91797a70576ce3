//! What `doc_refs` asks of the file system: which paths a pattern names, which functions a
//! source file defines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every existing path that `pattern` (relative to `base`) names.
pub fn expand(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let want_dir = pattern.ends_with('/');
    let mut found = vec![base.to_path_buf()];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        found = found
            .iter()
            .flat_map(|dir| match part.contains('*') {
                false => vec![dir.join(part)],
                true => std::fs::read_dir(dir)
                    .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                    .unwrap_or_default(),
            })
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| glob(part, &n.to_string_lossy()))
            })
            .filter(|p| p.exists())
            .collect();
    }
    found.retain(|p| !want_dir || p.is_dir());
    found
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }
    }
}

/// The names of the functions `source` defines: each identifier after the keyword `fn`.
pub fn fn_names(source: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source
        .match_indices("fn ")
        .filter(|&(at, _)| !source[..at].ends_with(ident))
        .map(|(at, _)| source[at + 3..].chars().take_while(|&c| ident(c)).collect())
        .filter(|name: &String| !name.is_empty())
        .collect()
}
