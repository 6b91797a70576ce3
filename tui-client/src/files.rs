//! Received files on disk: the download directory, cleaned names, `.part` then rename, and
//! never overwriting (`name (1).ext`). Also path completion for the attach prompt.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use shared::MAX_NAME_LEN;

/// Most `name (n).ext` variants tried before giving up: a directory with a thousand files of one
/// name is a mistake worth reporting, not a reason to loop for ever.
const MAX_SUFFIX: u32 = 1000;
/// Bytes of the final name in the temporary name: enough to tell which download it is.
const PART_STEM: usize = 40;
/// Shortest a name is cut to for a file system with a limit below [`MAX_NAME_LEN`].
const MIN_FIT: usize = 16;

/// Where received files go when no directory is given: `<data dir>/hubbub/downloads`, or
/// `./hubbub-downloads` on a system without a data directory.
pub fn default_download_dir() -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("hubbub").join("downloads"))
        .unwrap_or_else(|| PathBuf::from("hubbub-downloads"))
}

/// Where the log file goes when none is given: `<data dir>/hubbub/tui-client.log`.
pub fn default_log_file() -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("hubbub"))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tui-client.log")
}

/// A name a sender chose, made safe to use as one file name in our directory: only the last
/// path component, no control or format characters (a bidi override would make `gnp.exe` read
/// `exe.png`), no leading dots (no hidden files, no `..`), at most
/// [`MAX_NAME_LEN`] bytes, and never empty.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned = crate::sanitize::strip(last);
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let mut out = String::new();
    for c in cleaned.chars() {
        if out.len() + c.len_utf8() > MAX_NAME_LEN {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "file".to_owned()
    } else {
        out
    }
}

/// `name (n).ext` for the n-th variant of `name` (n = 0 is `name` itself).
pub fn variant(name: &str, n: u32) -> String {
    named(name, n, usize::MAX)
}

/// `name` shortened to at most `max` bytes on a character boundary, its extension kept.
pub fn fit(name: &str, max: usize) -> String {
    named(name, 0, max)
}

/// The n-th variant of `name` in at most `max` bytes: the stem gives way, the ` (n)` and the
/// extension stay (an extension longer than half the room is treated as part of the stem).
fn named(name: &str, n: u32, max: usize) -> String {
    let suffix = if n == 0 {
        String::new()
    } else {
        format!(" ({n})")
    };
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= max / 2 => name.split_at(dot),
        _ => (name, ""),
    };
    let room = max.saturating_sub(suffix.len() + ext.len());
    format!("{}{suffix}{ext}", prefix(stem, room))
}

/// The longest start of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether the file system refused a name as too long (ENAMETOOLONG).
fn name_too_long(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ENAMETOOLONG: i32 = 36;
    #[cfg(not(target_os = "linux"))]
    const ENAMETOOLONG: i32 = 63;
    e.raw_os_error() == Some(ENAMETOOLONG)
}

/// Save `body` as `name` (cleaned) in `dir`: write `name.part`-style temporary file first, then
/// link it to the first free variant of the name, so a reader never sees half a file and an
/// existing file is never replaced. Returns the final path.
pub fn save(dir: &Path, name: &str, body: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = clean_name(name);
    let part = write_part(dir, &name, body)?;
    let result = place(dir, &name, &part);
    // On success the data lives on under the final name; on failure the partial file is junk.
    let _ = fs::remove_file(&part);
    result
}

/// Write the body to a fresh hidden `.part` file in `dir`. Its name starts with at most
/// [`PART_STEM`] bytes of the final name, so a 255-byte name still leaves room for the rest.
fn write_part(dir: &Path, name: &str, body: &[u8]) -> io::Result<PathBuf> {
    let stem = prefix(name, PART_STEM);
    for n in 0..MAX_SUFFIX {
        let part = dir.join(format!(".{stem}.{}.{n}.part", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&part) {
            Ok(mut file) => {
                file.write_all(body)?;
                file.sync_all()?;
                return Ok(part);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free temporary name"))
}

/// Give the finished `.part` file its final name. A hard link fails instead of replacing an
/// existing file, which makes "never overwrite" atomic; file systems without hard links get a
/// reserved empty file that the rename then replaces. Every variant fits in [`MAX_NAME_LEN`]
/// bytes; a file system that allows fewer gets a shorter name, down to [`MIN_FIT`] bytes.
fn place(dir: &Path, name: &str, part: &Path) -> io::Result<PathBuf> {
    let mut max = MAX_NAME_LEN;
    let mut n = 0;
    while n < MAX_SUFFIX {
        let target = dir.join(named(name, n, max));
        match claim(part, &target) {
            Ok(()) => return Ok(target),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => n += 1,
            Err(e) if name_too_long(&e) && max > MIN_FIT => max = (max * 2 / 3).max(MIN_FIT),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{MAX_SUFFIX} files named like {name:?} already exist"
    )))
}

/// Make `target` the finished file, failing with `AlreadyExists` if it is taken.
fn claim(part: &Path, target: &Path) -> io::Result<()> {
    match fs::hard_link(part, target) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target)?;
            fs::rename(part, target)
        }
        other => other,
    }
}

/// Read a file to send: refused with a clear reason when it cannot be read, is a directory,
/// or is larger than `max` bytes. Returns the cleaned name and the content.
pub fn read_attachment(path: &Path, max: u64) -> Result<(String, bytes::Bytes), String> {
    let shown = path.display();
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory, not a file"));
    }
    if meta.len() > max {
        return Err(format!(
            "{shown} is {} bytes; the limit is {max} bytes",
            meta.len()
        ));
    }
    let body = fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // The file may have grown since the metadata was read.
    if body.len() as u64 > max {
        return Err(format!(
            "{shown} is {} bytes; the limit is {max} bytes",
            body.len()
        ));
    }
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| clean_name(&n.to_string_lossy()));
    Ok((name, bytes::Bytes::from(body)))
}

/// Expand a leading `~/` to the home directory.
pub fn expand_home(input: &str) -> PathBuf {
    match (input.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if input == "~" => dirs::home_dir().unwrap_or_else(|| PathBuf::from(input)),
        _ => PathBuf::from(input),
    }
}

/// Completions of a typed path: every entry of its directory whose name starts with the typed
/// file part, as full inputs (directories end in `/`), sorted. Hidden files only when the typed
/// part starts with a dot.
pub fn complete_path(input: &str) -> Vec<String> {
    let (dir_part, file_part) = match input.rfind('/') {
        Some(i) => (&input[..=i], &input[i + 1..]),
        None => ("", input),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        expand_home(dir_part)
    };
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(file_part)
                || (name.starts_with('.') && !file_part.starts_with('.'))
            {
                return None;
            }
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            Some(format!("{dir_part}{name}{}", if is_dir { "/" } else { "" }))
        })
        .collect();
    out.sort();
    out
}

/// The longest common prefix of some strings (on char boundaries).
pub fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut end = first.len();
    for item in &items[1..] {
        end = first
            .char_indices()
            .zip(item.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(end);
    }
    first[..end].to_owned()
}

#[cfg(test)]
mod tests;
