//! TLS for hub connections: the certificate fingerprint both sides show, the channel binding a
//! login signs, and the two ways a client trusts a hub (a pinned fingerprint or a CA).
//!
//! TLS 1.3 only, with rustls's `ring` provider, chosen explicitly so that a build where
//! another crate turns on a second provider or TLS 1.2 still speaks exactly this.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// The RFC 9266 `tls-exporter` channel binding's label (RFC 5705 exporter, no context).
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// Bytes of the `tls-exporter` channel binding (RFC 9266 asks for 32).
pub const BINDING_LEN: usize = 32;

/// The one crypto provider both sides use: `ring`.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The SHA-256 of a certificate's DER bytes: what the hub logs and a client pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `cert` (DER).
    pub fn of(cert: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(cert).into())
    }
}

impl fmt::Display for Fingerprint {
    /// Upper-case hex bytes joined by `:`, as `openssl x509 -fingerprint -sha256` writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    /// 32 hex bytes, with or without `:` between them, in either case.
    fn from_str(s: &str) -> Result<Self, String> {
        let digits: String = s.trim().chars().filter(|c| *c != ':').collect();
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(format!("a SHA-256 fingerprint is 32 hex bytes, got {s:?}"));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("{s:?} is not a hex fingerprint"))?;
        }
        Ok(Fingerprint(out))
    }
}

/// How a client decides that a hub is the one it means.
#[derive(Clone, Debug)]
pub enum Trust {
    /// Pinning: the hub's end-entity certificate must have this fingerprint; `None` is a first
    /// use, where any certificate is taken and its fingerprint is reported for the caller to
    /// pin ([`crate::conn::Connection::tls`]). The handshake's signature is still
    /// checked against the certificate either way.
    Pin(Option<Fingerprint>),
    /// A chain to one of these roots, valid for the hub's name (webpki).
    Ca(Arc<RootCertStore>),
}

/// Why a TLS setting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or held nothing usable.
    #[error("{path}: {why}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        why: String,
    },
    /// rustls refused the settings.
    #[error("TLS settings: {0}")]
    Rustls(#[from] rustls::Error),
    /// A CA file's verifier could not be built.
    #[error("CA roots: {0}")]
    Verifier(String),
}

/// The roots in a PEM file of CA certificates, for [`Trust::Ca`].
pub fn load_roots(path: &std::path::Path) -> Result<RootCertStore, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let pem_err = |why: String| TlsError::Pem {
        path: path.display().to_string(),
        why,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| pem_err(e.to_string()))? {
        let cert = cert.map_err(|e| pem_err(e.to_string()))?;
        roots.add(cert).map_err(|e| pem_err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(pem_err("no CERTIFICATE in it".into()));
    }
    Ok(roots)
}

/// A client configuration for `trust`: TLS 1.3 only, `ring`.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let config = match trust {
        Trust::Ca(roots) => {
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.clone(),
                provider,
            )
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
            builder.with_webpki_verifier(verifier).with_no_client_auth()
        }
        Trust::Pin(_) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier { provider }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Takes any certificate and checks the handshake's signature against it; the fingerprint is
/// compared with the pin right after the handshake, before a byte of the protocol is sent or
/// read, so the refusal can name both fingerprints.
#[derive(Debug)]
struct PinVerifier {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The config offers TLS 1.3 alone.
        Err(rustls::Error::General("TLS 1.2 is not offered".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trips_through_its_text() {
        let fp = Fingerprint::of(b"certificate");
        let text = fp.to_string();
        assert_eq!(text.len(), 32 * 3 - 1);
        assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
        assert_eq!(text.replace(':', "").to_lowercase().parse(), Ok(fp));
        assert!("AB:CD".parse::<Fingerprint>().is_err());
    }
}
