//! `loadgen setup`: how fast the hub takes new connections, and how long one takes: connect,
//! the welcome and the version hello, and with `--login` a login (challenge, signature,
//! `LoggedIn`); over plain TCP or, with `--tls`, TLS 1.3 (the handshake included). Each
//! connection is closed once set up; `concurrency` are being set up at any time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use shared::conn::Connection;

use crate::account;

/// What to measure.
pub struct Spec {
    /// Connections to set up.
    pub connections: usize,
    /// Set up at once.
    pub concurrency: usize,
    /// Log each in to one account (registered first, not timed).
    pub login: bool,
}

/// Run `spec` against the hub at `addr`; one JSON object.
pub async fn run(addr: SocketAddr, spec: Spec) -> anyhow::Result<serde_json::Value> {
    let key = account::key_for(u64::from(std::process::id()));
    let name = format!("setup-{}", std::process::id());
    if spec.login {
        account::register_away(addr, &key, &name).await?;
    }
    let (key, name) = (&key, name.as_str());
    let started = Instant::now();
    let mut took: Vec<Duration> = futures::stream::iter(0..spec.connections)
        .map(|_| async move {
            let t = Instant::now();
            let mut conn: Connection = account::connect(addr).await?;
            if spec.login {
                conn.login_to_act(key, name).await.context("login")?;
            }
            let took = t.elapsed();
            drop(conn);
            anyhow::Ok(took)
        })
        .buffer_unordered(spec.concurrency)
        .try_collect()
        .await?;
    let elapsed = started.elapsed();
    took.sort();
    let pct = |q: f64| {
        let i = ((took.len() as f64 * q) as usize).min(took.len() - 1);
        took[i].as_secs_f64() * 1e3
    };
    Ok(json!({
        "workload": "setup",
        "tls": crate::proto::TLS.get().is_some(),
        "login": spec.login,
        "connections": spec.connections,
        "concurrency": spec.concurrency,
        "per_s": spec.connections as f64 / elapsed.as_secs_f64(),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }))
}
