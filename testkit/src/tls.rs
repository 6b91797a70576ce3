//! TLS for tests: hubs with a fresh self-signed certificate or one signed by a test CA, and
//! clients that pin it or trust the CA.

use std::sync::Arc;

use hub::tls::{PemPair, TlsConfig};
use hub::Config;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use shared::conn::{Connection, TlsDial};
use shared::tls::{Fingerprint, Trust};

use crate::testhub::{test_config, TestHub};

/// The names test certificates are for: what clients dial.
const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A fresh self-signed certificate and key for the test names.
pub fn self_signed() -> PemPair {
    PemPair::self_signed(&NAMES).expect("rcgen makes a certificate")
}

/// The hub settings for serving `pair`.
pub fn serving(pair: &PemPair) -> TlsConfig {
    TlsConfig::from_pem(pair, std::path::Path::new("(test)")).expect("a usable certificate")
}

/// [`test_config`] serving TLS with a fresh self-signed certificate.
pub fn tls_config() -> Config {
    Config {
        tls: Some(serving(&self_signed())),
        ..test_config()
    }
}

/// A test certificate authority, and a hub certificate it signed.
pub struct TestCa {
    /// The CA's own certificate, PEM.
    pub ca_pem: String,
    /// A certificate for the test names signed by the CA, with its key.
    pub leaf: PemPair,
}

impl TestCa {
    /// A fresh CA and a leaf it signed.
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().expect("a CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hubbub test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).expect("a CA");
        let leaf_key = rcgen::KeyPair::generate().expect("a leaf key");
        let names: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
        let leaf = rcgen::CertificateParams::new(names)
            .expect("leaf params")
            .signed_by(&leaf_key, &ca)
            .expect("the CA signs");
        TestCa {
            ca_pem: ca.pem(),
            leaf: PemPair {
                cert: leaf.pem(),
                key: leaf_key.serialize_pem(),
            },
        }
    }

    /// Trust in this CA alone.
    pub fn trust(&self) -> Trust {
        let mut roots = RootCertStore::empty();
        let cert = CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).expect("CA PEM");
        roots.add(cert).expect("a root");
        Trust::Ca(Arc::new(roots))
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// The fingerprint the hub serving `config` shows.
pub fn fingerprint(config: &Config) -> Fingerprint {
    config.tls.as_ref().expect("a TLS config").fingerprint
}

/// TLS to 127.0.0.1 trusting as `trust` says.
pub fn dial(trust: Trust) -> TlsDial {
    TlsDial::new("127.0.0.1", trust).expect("a TLS client config")
}

impl TestHub {
    /// A client over TLS pinning `pin`, welcomed.
    pub async fn connect_pinned(&self, pin: Fingerprint) -> Connection {
        Connection::connect_tls(self.addr, &dial(Trust::Pin(Some(pin))))
            .await
            .expect("connect over TLS")
    }
}
