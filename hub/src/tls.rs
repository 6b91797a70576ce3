//! The hub's TLS settings: its certificate chain and key from PEM files, or a self-signed pair
//! it makes with rcgen and keeps in the data directory. TLS 1.3 only, with `ring`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use shared::tls::Fingerprint;

/// The self-signed certificate's file in the data directory.
pub const CERT_FILE: &str = "tls-cert.pem";
/// The self-signed certificate's key in the data directory (mode 0600).
pub const KEY_FILE: &str = "tls-key.pem";
/// The names a self-signed certificate is for: a client that pins it does not check them,
/// and one that checks names (`--ca`) needs a real certificate anyway.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why the hub's TLS settings could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file held nothing usable.
    #[error("{path}: {why}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// rcgen could not make a certificate.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What the hub serves TLS with.
#[derive(Clone)]
pub struct TlsConfig {
    /// The rustls settings every handshake uses.
    pub(crate) server: Arc<ServerConfig>,
    /// The SHA-256 of the end-entity certificate, as clients pin it.
    pub fingerprint: Fingerprint,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsConfig({})", self.fingerprint)
    }
}

/// A certificate and its key, as PEM text.
#[derive(Clone, Debug)]
pub struct PemPair {
    /// The certificate chain, end-entity first.
    pub cert: String,
    /// The private key (PKCS#8).
    pub key: String,
}

impl PemPair {
    /// A fresh self-signed certificate for `names` (DNS names or IP addresses), ECDSA P-256.
    pub fn self_signed(names: &[&str]) -> Result<PemPair, TlsSetupError> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let made = rcgen::generate_simple_self_signed(names)?;
        Ok(PemPair {
            cert: made.cert.pem(),
            key: made.signing_key.serialize_pem(),
        })
    }
}

impl TlsConfig {
    /// Serve `pair` (PEM text); `origin` names where it came from in errors.
    pub fn from_pem(pair: &PemPair, origin: &Path) -> Result<TlsConfig, TlsSetupError> {
        Self::from_der(
            parse_chain(&pair.cert, origin)?,
            parse_key(&pair.key, origin)?,
        )
    }

    /// Serve the chain in `cert` with the key in `key` (PEM files, `--tls-cert`/`--tls-key`).
    pub fn from_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsSetupError> {
        let chain = parse_chain(&read(cert)?, cert)?;
        Self::from_der(chain, parse_key(&read(key)?, key)?)
    }

    /// A fresh self-signed certificate held in memory only (`--ephemeral --tls-self-signed`).
    pub fn self_signed_ephemeral() -> Result<TlsConfig, TlsSetupError> {
        let pair = PemPair::self_signed(&SELF_SIGNED_NAMES)?;
        Self::from_pem(&pair, Path::new("(in memory)"))
    }

    /// The self-signed certificate kept in `dir` ([`CERT_FILE`], [`KEY_FILE`]), made on the
    /// first run and reused after, so clients that pinned it keep trusting the hub. Whether
    /// it was made now.
    pub fn self_signed_in(dir: &Path) -> Result<(TlsConfig, bool), TlsSetupError> {
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert.exists() || key.exists() {
            return Ok((Self::from_files(&cert, &key)?, false));
        }
        let pair = PemPair::self_signed(&SELF_SIGNED_NAMES)?;
        // The key first, created 0600 and never readable by others, then the certificate: a
        // crash between them leaves a key alone, which the next start reports.
        write_new(&key, &pair.key, 0o600)?;
        write_new(&cert, &pair.cert, 0o644)?;
        Ok((Self::from_pem(&pair, &cert)?, true))
    }

    fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsSetupError> {
        let fingerprint = Fingerprint::of(chain.first().expect("parse_chain refuses none"));
        let server = ServerConfig::builder_with_provider(shared::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(TlsConfig {
            server: Arc::new(server),
            fingerprint,
        })
    }
}

/// The certificates in `text`, end-entity first; at least one.
fn parse_chain(text: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = |why: String| TlsSetupError::Pem {
        path: path.to_owned(),
        why,
    };
    let chain = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem(format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(pem("no CERTIFICATE in it".into()));
    }
    Ok(chain)
}

/// The private key in `text` (PKCS#8, PKCS#1 or SEC1).
fn parse_key(text: &str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| TlsSetupError::Pem {
        path: path.to_owned(),
        why: format!("no PEM private key in it: {e}"),
    })
}

fn read(path: &Path) -> Result<String, TlsSetupError> {
    std::fs::read_to_string(path).map_err(|source| TlsSetupError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Write `text` to a file that must not exist yet, with `mode`, and sync it.
fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), TlsSetupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| TlsSetupError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_then_reused_with_a_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, made) = TlsConfig::self_signed_in(dir.path()).expect("made");
        assert!(made);
        let (again, made) = TlsConfig::self_signed_in(dir.path()).expect("reused");
        assert!(!made);
        assert_eq!(first.fingerprint, again.fingerprint);
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_bad_key_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        TlsConfig::self_signed_in(dir.path()).expect("made");
        std::fs::write(dir.path().join(KEY_FILE), "not a key").expect("write");
        let err = TlsConfig::self_signed_in(dir.path()).expect_err("a bad key");
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }
}
