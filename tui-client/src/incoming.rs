//! What a received message becomes: text to show, or a file saved in the download directory.
//! Shared by the full-screen client and `tui-client listen`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use shared::{BodyKind, UserId};

use crate::files;

/// The body of an inbox entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// UTF-8 text exactly as it arrived; drawing and printing pass it through
    /// [`crate::sanitize::display`].
    Text(String),
    /// A file: received (saved or not) or sent.
    File {
        /// The cleaned name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// Where it is.
        place: FilePlace,
    },
}

impl Body {
    /// The body in words, as the inbox and `listen` show it: the text, or what became of the
    /// file. Not yet sanitised: callers pass it through [`crate::sanitize::display`].
    pub fn describe(&self) -> String {
        let (name, size, place) = match self {
            Body::Text(text) => return text.clone(),
            Body::File { name, size, place } => (name, human_size(*size), place),
        };
        match place {
            FilePlace::Saved(path) => format!("file {name} ({size}) saved to {}", path.display()),
            FilePlace::Failed(why) => format!("file {name} ({size}) NOT saved: {why}"),
            FilePlace::Sent(path) => format!("file {name} ({size}) from {}", path.display()),
        }
    }
}

/// Where a file of an inbox entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilePlace {
    /// Received and saved here.
    Saved(PathBuf),
    /// Received but could not be saved, for this reason.
    Failed(String),
    /// Sent by us from here.
    Sent(PathBuf),
}

/// Turn a received body into an entry body, saving files (and bodies that are not UTF-8
/// text) in `dir`. Blocking file I/O: call from `spawn_blocking` in async code.
pub fn receive(dir: &Path, from: UserId, kind: BodyKind, body: Bytes, stamp: &str) -> Body {
    let name = match kind {
        BodyKind::File { name } => name,
        // An envelope reaches here only when it could not be opened: kept as bytes.
        BodyKind::Text | BodyKind::Bytes | BodyKind::Sealed => match std::str::from_utf8(&body) {
            Ok(text) => return Body::Text(text.to_owned()),
            // Not text: keep it whole on disk rather than show mojibake.
            Err(_) => format!("message-from-{from}-{stamp}.bin"),
        },
    };
    let name = files::clean_name(&name);
    let size = body.len() as u64;
    let place = match files::save(dir, &name, &body) {
        Ok(path) => FilePlace::Saved(path),
        Err(e) => FilePlace::Failed(format!("could not save in {}: {e}", dir.display())),
    };
    Body::File { name, size, place }
}

/// A size for people: `512 B`, `1.5 KiB`, `1.0 MiB`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / KIB / KIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_shown_and_binary_is_saved_with_a_generated_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = receive(
            dir.path(),
            UserId(3),
            BodyKind::Text,
            "hi\x1b[2J".into(),
            "t",
        );
        assert_eq!(text, Body::Text("hi\x1b[2J".into()), "kept exactly");
        let bin = Bytes::from_static(&[0xff, 0xfe, 0]);
        let Body::File { name, size, place } =
            receive(dir.path(), UserId(3), BodyKind::Bytes, bin, "120000")
        else {
            panic!("binary body must become a file");
        };
        assert_eq!((name.as_str(), size), ("message-from-3-120000.bin", 3));
        let FilePlace::Saved(path) = place else {
            panic!("saved")
        };
        assert_eq!(std::fs::read(path).expect("read"), [0xff, 0xfe, 0]);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(1_048_576), "1.0 MiB");
    }
}
