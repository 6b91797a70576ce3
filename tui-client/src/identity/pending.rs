//! An identity written to a temporary file and not yet in place: `register` writes the key
//! before asking the hub, and puts it in place only once the hub has said `LoggedIn`.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::IdentityError;

/// A synced temporary file holding an identity. [`Pending::commit`] gives it its final name;
/// dropping it uncommitted removes it, so a failed registration leaves no file behind.
#[derive(Debug)]
pub struct Pending {
    temp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    /// Whether the temporary file is no longer ours to remove.
    settled: bool,
}

impl Pending {
    pub(super) fn new(temp: PathBuf, path: PathBuf, dir: PathBuf) -> Pending {
        Pending {
            temp,
            path,
            dir,
            settled: false,
        }
    }

    /// The temporary file.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Put the file in place. A hard link rather than a rename: a rename would silently
    /// replace an identity that appeared at the final name meanwhile (and its key with it),
    /// a link fails instead. The temporary name is then removed and the directory synced,
    /// so the new name survives a crash.
    ///
    /// If the link fails the temporary file is kept, and the error says where it is: after
    /// a registration it holds the only copy of the account's key.
    pub fn commit(mut self) -> Result<(), IdentityError> {
        if let Err(source) = fs::hard_link(&self.temp, &self.path) {
            self.settled = true;
            let kept = self.temp.display();
            return Err(IdentityError::Io {
                path: self.path.clone(),
                source: io::Error::new(source.kind(), format!("{source}; the key is in {kept}")),
            });
        }
        self.settled = true;
        let _ = fs::remove_file(&self.temp);
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| IdentityError::Io {
                path: self.dir.clone(),
                source,
            })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.settled {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
