//! Where the hub is and how to reach it: plain TCP, or TLS trusting the certificate pinned in
//! [`crate::known_hubs`] or a CA (`--ca`). The one place every command and the UI connect.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shared::conn::{ConnError, Connection, TlsDial};
use shared::tls::{load_roots, Fingerprint, Trust};
use shared::PROTOCOL_VERSION;

use crate::known_hubs::{self, KnownHubs, KnownHubsError};

/// The scheme that asks for TLS in a hub address.
pub const TLS_SCHEME: &str = "tls://";

/// Why a connection could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialError {
    /// In words.
    pub text: String,
    /// Trying again cannot help (a changed certificate, a broken pin file): the user must act.
    pub permanent: bool,
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for DialError {
    /// A failure that may pass (the hub is down, the network is).
    fn from(text: String) -> DialError {
        DialError {
            text,
            permanent: false,
        }
    }
}

fn permanent(text: impl ToString) -> DialError {
    DialError {
        text: text.to_string(),
        permanent: true,
    }
}

/// A hub's address and how to speak to it.
#[derive(Clone, Debug)]
pub struct HubAddr {
    /// As the user gave it, for messages and the status bar.
    shown: String,
    /// `host:port`, the key of its pin.
    addr: String,
    tls: Option<Tls>,
}

#[derive(Clone, Debug)]
enum Tls {
    /// Verified against `--ca`'s roots.
    Ca(TlsDial),
    /// Pinned in this file.
    Pin {
        host: String,
        known_hubs: PathBuf,
        first_use: FirstUse,
    },
}

/// What a connection does with a hub whose certificate is not pinned yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstUse {
    /// Pin it and print its fingerprint on stderr (one-shot commands).
    PinAndTell,
    /// Refuse: the full-screen client asked before it started ([`HubAddr::ask_first_use`]).
    Refuse,
}

impl std::fmt::Display for HubAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl HubAddr {
    /// `hub` (`host:port`, or `tls://host:port`), with TLS if it says `tls://`, `tls` is set
    /// or a CA is given; pins in `known_hubs` (default: [`known_hubs::default_path`]).
    pub fn new(
        hub: &str,
        tls: bool,
        ca: Option<&Path>,
        known_hubs: Option<&Path>,
    ) -> Result<HubAddr, String> {
        let (addr, scheme) = match hub.strip_prefix(TLS_SCHEME) {
            Some(rest) => (rest, true),
            None => (hub, false),
        };
        let mut hub_addr = HubAddr {
            shown: hub.to_owned(),
            addr: addr.to_owned(),
            tls: None,
        };
        if !(scheme || tls || ca.is_some()) {
            return Ok(hub_addr);
        }
        let host = host_of(addr)?;
        hub_addr.tls = Some(match ca {
            Some(ca) => {
                let roots = load_roots(ca).map_err(|e| format!("--ca: {e}"))?;
                Tls::Ca(TlsDial::new(&host, Trust::Ca(Arc::new(roots))).map_err(|e| e.to_string())?)
            }
            None => Tls::Pin {
                host,
                known_hubs: match known_hubs {
                    Some(path) => path.to_owned(),
                    None => known_hubs::default_path()
                        .ok_or_else(|| KnownHubsError::NoPlace.to_string())?,
                },
                first_use: FirstUse::PinAndTell,
            },
        });
        Ok(hub_addr)
    }

    /// Plain TCP to `addr` (`host:port`).
    pub fn plain(addr: impl ToString) -> HubAddr {
        let addr = addr.to_string();
        HubAddr {
            shown: addr.clone(),
            addr,
            tls: None,
        }
    }

    /// `host:port`, as pinned.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Set what a connection does with an unpinned certificate.
    pub fn on_first_use(&mut self, first_use: FirstUse) {
        if let Some(Tls::Pin { first_use: f, .. }) = &mut self.tls {
            *f = first_use;
        }
    }

    /// Connect, over TLS if asked; the error says why in words, with what to do about a
    /// changed certificate.
    pub async fn connect(&self) -> Result<Connection, DialError> {
        let (known_hubs, host, first_use) = match &self.tls {
            None => {
                return Connection::connect(&self.addr)
                    .await
                    .map_err(|e| e.to_string().into())
            }
            Some(Tls::Ca(dial)) => return self.dial(dial).await,
            Some(Tls::Pin {
                host,
                known_hubs,
                first_use,
            }) => (known_hubs, host, *first_use),
        };
        let mut pins = KnownHubs::load(known_hubs).map_err(permanent)?;
        let pinned = pins.get(&self.addr);
        let dial = TlsDial::new(host, Trust::Pin(pinned)).map_err(permanent)?;
        let conn = self.dial(&dial).await?;
        if pinned.is_none() {
            let fp = presented(&conn);
            if first_use == FirstUse::Refuse {
                return Err(permanent(format!(
                    "the certificate of {} is not pinned",
                    self.addr
                )));
            }
            pins.pin(&self.addr, fp).map_err(permanent)?;
            eprintln!(
                "tui-client: pinned the certificate of the hub at {} (first use), SHA-256 {fp}",
                self.addr
            );
        }
        Ok(conn)
    }

    async fn dial(&self, dial: &TlsDial) -> Result<Connection, DialError> {
        match Connection::connect_with(&self.addr, Some(dial), PROTOCOL_VERSION).await {
            Ok(conn) => Ok(conn),
            Err(ConnError::CertChanged { pinned, presented }) => {
                Err(permanent(changed_text(&self.addr, pinned, presented)))
            }
            Err(e) => Err(e.to_string().into()),
        }
    }

    /// The full-screen client's first use of a TLS hub: show its fingerprint and ask on the
    /// terminal, before the screen is taken, whether to trust it. `Ok(false)`: the user said
    /// no. Nothing is asked if the hub is pinned already or verified by a CA.
    pub async fn ask_first_use(&self) -> Result<bool, String> {
        let Some(Tls::Pin {
            host, known_hubs, ..
        }) = &self.tls
        else {
            return Ok(true);
        };
        let mut pins = KnownHubs::load(known_hubs).map_err(|e| e.to_string())?;
        if pins.get(&self.addr).is_some() {
            return Ok(true);
        }
        let dial = TlsDial::new(host, Trust::Pin(None)).map_err(|e| e.to_string())?;
        let fp = presented(&self.dial(&dial).await.map_err(|e| e.text)?);
        eprintln!(
            "The hub at {} is not known yet. Its certificate's SHA-256 fingerprint is\n  {fp}\n\
             Compare it with the one the hub logged. Trust it and connect? [y/N] ",
            self.addr
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(false);
        }
        pins.pin(&self.addr, fp).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// `forget-hub`: remove this hub's pin; whether there was one.
    pub fn forget(&self, known_hubs: Option<&Path>) -> Result<bool, String> {
        let path = match known_hubs {
            Some(path) => path.to_owned(),
            None => {
                known_hubs::default_path().ok_or_else(|| KnownHubsError::NoPlace.to_string())?
            }
        };
        let mut pins = KnownHubs::load(&path).map_err(|e| e.to_string())?;
        pins.forget(&self.addr).map_err(|e| e.to_string())
    }
}

fn presented(conn: &Connection) -> Fingerprint {
    conn.tls()
        .expect("a connection made with TLS has its session")
        .fingerprint
}

/// What a changed certificate is told: both fingerprints and the command that accepts the
/// new one.
pub fn changed_text(addr: &str, pinned: Fingerprint, presented: Fingerprint) -> String {
    format!(
        "the hub's certificate has CHANGED, refusing to connect.\n  \
         pinned for {addr}: {pinned}\n  presented now: {presented}\n\
         Someone may be in the middle, or the hub has a new certificate. If its operator \
         confirms the new fingerprint, forget the old one and connect again:\n  \
         tui-client forget-hub {addr}"
    )
}

/// The host part of `host:port` or `[v6]:port`.
fn host_of(addr: &str) -> Result<String, String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr:?} is not host:port"))?;
    if port.parse::<u16>().is_err() {
        return Err(format!("{addr:?} is not host:port"));
    }
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_scheme_a_flag_or_a_ca_ask_for_tls() {
        let pins = Some(Path::new("/nonexistent/known_hubs"));
        let plain = HubAddr::new("h:1", false, None, pins).expect("plain");
        assert!(plain.tls.is_none());
        let scheme = HubAddr::new("tls://h:1", false, None, pins).expect("tls://");
        assert!(matches!(scheme.tls, Some(Tls::Pin { ref host, .. }) if host == "h"));
        assert_eq!(
            (scheme.addr(), scheme.to_string().as_str()),
            ("h:1", "tls://h:1")
        );
        let flag = HubAddr::new("[::1]:1", true, None, pins).expect("--tls");
        assert!(matches!(flag.tls, Some(Tls::Pin { ref host, .. }) if host == "::1"));
        assert!(HubAddr::new("tls://nowhere", false, None, pins).is_err());
    }
}
