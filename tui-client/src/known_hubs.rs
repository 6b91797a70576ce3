//! Trust on first use for TLS hubs, like ssh's `known_hosts`: a file of `ADDRESS FINGERPRINT`
//! lines (`$XDG_CONFIG_HOME/hubbub/known_hubs`, else `~/.config/hubbub/known_hubs`), the
//! SHA-256 of each hub's end-entity certificate. `tui-client forget-hub ADDRESS` removes a
//! line, so that the next connection pins the hub's new certificate.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use shared::tls::Fingerprint;

/// Why the pin file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownHubsError {
    /// Reading or writing it failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line is not `ADDRESS FINGERPRINT`.
    #[error("{}:{line}: not `ADDRESS FINGERPRINT`", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
    },
    /// Neither `XDG_CONFIG_HOME` nor a home directory says where it lives.
    #[error("no configuration directory for the known_hubs file: give --known-hubs PATH")]
    NoPlace,
}

/// The default file: beside the identity file.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(std::env::var_os("XDG_CONFIG_HOME"), dirs::home_dir())
}

/// [`default_path`] from the variable and the home directory.
pub fn default_path_from(xdg: Option<OsString>, home: Option<PathBuf>) -> Option<PathBuf> {
    let identity = crate::identity::default_path_from(xdg, home)?;
    Some(identity.with_file_name("known_hubs"))
}

/// The pins in one file.
#[derive(Debug)]
pub struct KnownHubs {
    path: PathBuf,
    pins: Vec<(String, Fingerprint)>,
}

impl KnownHubs {
    /// Read `path`; no file is no pins.
    pub fn load(path: &Path) -> Result<KnownHubs, KnownHubsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(KnownHubsError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let mut pins = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let format = || KnownHubsError::Format {
                path: path.to_owned(),
                line: n + 1,
            };
            let (addr, fp) = line.split_once(char::is_whitespace).ok_or_else(format)?;
            let fp = fp.trim().parse().map_err(|_| format())?;
            pins.push((addr.to_owned(), fp));
        }
        Ok(KnownHubs {
            path: path.to_owned(),
            pins,
        })
    }

    /// The fingerprint pinned for `addr`.
    pub fn get(&self, addr: &str) -> Option<Fingerprint> {
        self.pins.iter().find(|(a, _)| a == addr).map(|(_, fp)| *fp)
    }

    /// Pin `fp` for `addr` (replacing any pin of it) and write the file.
    pub fn pin(&mut self, addr: &str, fp: Fingerprint) -> Result<(), KnownHubsError> {
        self.pins.retain(|(a, _)| a != addr);
        self.pins.push((addr.to_owned(), fp));
        self.save()
    }

    /// Remove the pin of `addr`; whether there was one.
    pub fn forget(&mut self, addr: &str) -> Result<bool, KnownHubsError> {
        let before = self.pins.len();
        self.pins.retain(|(a, _)| a != addr);
        if self.pins.len() == before {
            return Ok(false);
        }
        self.save().map(|()| true)
    }

    /// Write the file whole, through a temporary file and a rename: a crash leaves the old
    /// pins or the new ones, never half a file.
    fn save(&self) -> Result<(), KnownHubsError> {
        let io = |source| KnownHubsError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let temp = self
            .path
            .with_file_name(format!(".known_hubs.{}.tmp", std::process::id()));
        let mut file = std::fs::File::create(&temp).map_err(io)?;
        for (addr, fp) in &self.pins {
            writeln!(file, "{addr} {fp}").map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        std::fs::rename(&temp, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_survive_a_reload_and_forget_removes_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/known_hubs");
        let (a, b) = (Fingerprint::of(b"a"), Fingerprint::of(b"b"));
        let mut hubs = KnownHubs::load(&path).expect("no file is no pins");
        hubs.pin("h1:7878", a).expect("pin");
        hubs.pin("h2:7878", b).expect("pin");
        hubs.pin("h1:7878", b).expect("re-pin");
        let mut again = KnownHubs::load(&path).expect("load");
        assert_eq!(
            (again.get("h1:7878"), again.get("h2:7878")),
            (Some(b), Some(b))
        );
        assert!(again.forget("h1:7878").expect("forget"));
        assert!(!again.forget("h1:7878").expect("forget"));
        assert_eq!(KnownHubs::load(&path).expect("load").get("h1:7878"), None);
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hubs");
        std::fs::write(&path, "# comment\nh1:1 not-a-fingerprint\n").expect("write");
        let err = KnownHubs::load(&path).expect_err("bad");
        assert!(
            err.to_string().ends_with(":2: not `ADDRESS FINGERPRINT`"),
            "{err}"
        );
    }
}
