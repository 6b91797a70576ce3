//! The identity file: one account's name and ed25519 seed, readable by its owner only, written
//! whole or not at all and never over another identity. Its format is in tui-client/README.md
//! ("Identity file").

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use shared::account::canonical_name;
use shared::SecretKey;

mod pending;

pub use pending::Pending;

/// The identity file's mode: the seed is the account, so nobody but its owner may read it.
pub const FILE_MODE: u32 = 0o600;
/// The mode of a configuration directory this program creates.
pub const DIR_MODE: u32 = 0o700;

/// One account: its name and its key.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The canonical name.
    pub name: String,
    /// The key; its seed is what the file keeps.
    pub key: SecretKey,
}

/// Why an identity file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// It could not be read or written.
    #[error("identity file {}: {source}", path.display())]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Others may read or write it.
    #[error(
        "identity file {} has mode {mode:04o}; it holds a secret key and must be readable by its owner only (chmod 600 {})",
        path.display(), path.display()
    )]
    Loose {
        /// Which file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a regular file.
    #[error("identity file {} is not a regular file", path.display())]
    NotAFile {
        /// Which path.
        path: PathBuf,
    },
    /// Not in the format.
    #[error("identity file {} line {line}: {why}", path.display())]
    Malformed {
        /// Which file.
        path: PathBuf,
        /// The line (1-based; 0 for the file as a whole).
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// `--identity` names a file that does not exist.
    #[error("no identity file at {} (register NAME creates one; --anonymous connects without)", path.display())]
    Missing {
        /// Which path.
        path: PathBuf,
    },
    /// Neither `XDG_CONFIG_HOME` nor a home directory says where the identity lives.
    #[error("no configuration directory for the identity file: give --identity PATH")]
    NoPlace,
    /// There is one already; it is never replaced.
    #[error("identity file {} already holds an identity", path.display())]
    Exists {
        /// Which file.
        path: PathBuf,
    },
}

/// Where the identity lives without `--identity`: `$XDG_CONFIG_HOME/hubbub/identity`, else
/// `~/.config/hubbub/identity`; `None` without either.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(std::env::var_os("XDG_CONFIG_HOME"), dirs::home_dir())
}

/// [`default_path`] from the variable and the home directory. The XDG rules ignore a
/// relative (or empty) `XDG_CONFIG_HOME`.
pub fn default_path_from(xdg: Option<OsString>, home: Option<PathBuf>) -> Option<PathBuf> {
    let config = match xdg.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => home?.join(".config"),
    };
    Some(config.join("hubbub").join("identity"))
}

/// The identity file's path: `--identity`, else [`default_path`].
pub fn path_or_default(explicit: Option<&Path>) -> Result<PathBuf, IdentityError> {
    explicit
        .map(Path::to_owned)
        .or_else(default_path)
        .ok_or(IdentityError::NoPlace)
}

/// Whom to log in as: nobody with `--anonymous`; else the file `--identity` names, which must
/// exist; else the default file, if there is one.
pub fn choose(
    anonymous: bool,
    explicit: Option<&Path>,
) -> Result<Option<(PathBuf, Identity)>, IdentityError> {
    if anonymous {
        return Ok(None);
    }
    let path = path_or_default(explicit)?;
    match load(&path)? {
        Some(identity) => Ok(Some((path, identity))),
        None if explicit.is_some() => Err(IdentityError::Missing { path }),
        None => Ok(None),
    }
}

/// Read the identity at `path`; `None` if there is no file. A file others may read, or one
/// not in the format, is an error rather than ignored.
pub fn load(path: &Path) -> Result<Option<Identity>, IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    // The open file's own metadata: what is checked is what is read.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(IdentityError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Loose {
            path: path.to_owned(),
            mode,
        });
    }
    let text = io::read_to_string(file).map_err(io)?;
    parse(&text)
        .map(Some)
        .map_err(|(line, why)| IdentityError::Malformed {
            path: path.to_owned(),
            line,
            why,
        })
}

/// The file's text: a comment, then `name = NAME` and `seed = 64 hex digits`.
pub fn render(identity: &Identity) -> String {
    let seed: String = identity
        .key
        .seed()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "# hubbub identity: whoever holds this file can log in as {name}. Keep it private.\n\
         name = {name}\nseed = {seed}\n",
        name = identity.name
    )
}

/// Parse the file's text; the error names the line (0 for something missing) and the fault.
pub fn parse(text: &str) -> Result<Identity, (usize, String)> {
    let (mut name, mut seed) = (None, None);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = i + 1;
        let Some((key, value)) = line.split_once('=') else {
            return Err((at, "expected `name = ...` or `seed = ...`".into()));
        };
        let (key, value) = (key.trim(), value.trim());
        let slot = match key {
            "name" => &mut name,
            "seed" => &mut seed,
            other => return Err((at, format!("unknown key {other:?}"))),
        };
        if slot.replace((at, value)).is_some() {
            return Err((at, format!("{key} is given twice")));
        }
    }
    let (name_line, name) = name.ok_or((0, "no `name = ...` line".to_owned()))?;
    let (seed_line, seed) = seed.ok_or((0, "no `seed = ...` line".to_owned()))?;
    let name = canonical_name(name).map_err(|e| (name_line, e.to_string()))?;
    let seed = parse_seed(seed).map_err(|why| (seed_line, why))?;
    Ok(Identity {
        name,
        key: SecretKey::from_seed(seed),
    })
}

fn parse_seed(hex: &str) -> Result<[u8; 32], String> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "the seed is 64 hex digits, this one is {} characters",
            hex.chars().count()
        ));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex digits");
    }
    Ok(seed)
}

/// Write `identity` to `path`, which must not exist yet; see [`Pending`] for how.
pub fn save_new(path: &Path, identity: &Identity) -> Result<(), IdentityError> {
    prepare(path, identity)?.commit()
}

/// Write `identity` to a temporary file beside `path`, to be put in place by
/// [`Pending::commit`] (or removed when dropped). The directory is created (mode 0700) if
/// missing. The temporary file is created with mode 0600 and set to it again before the
/// secret is written, whatever the umask.
pub fn prepare(path: &Path, identity: &Identity) -> Result<Pending, IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(&dir)
        .map_err(io)?;
    if path.symlink_metadata().is_ok() {
        return Err(IdentityError::Exists {
            path: path.to_owned(),
        });
    }
    let (temp, mut file) = create_temp(&dir, path).map_err(io)?;
    let pending = Pending::new(temp, path.to_owned(), dir);
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
        .map_err(io)?;
    file.write_all(render(identity).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(pending)
}

/// A fresh hidden file beside `path`, created with [`FILE_MODE`].
fn create_temp(dir: &Path, path: &Path) -> io::Result<(PathBuf, File)> {
    let base = path
        .file_name()
        .map_or_else(|| "identity".into(), |n| n.to_string_lossy().into_owned());
    for n in 0..1000 {
        let temp = dir.join(format!(".{base}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free temporary name"))
}

/// Remove the identity at `path` (its account is gone).
pub fn remove(path: &Path) -> Result<(), IdentityError> {
    fs::remove_file(path).map_err(|source| IdentityError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
