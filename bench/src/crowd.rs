//! M3: the hub's memory with many accounts and a million queued messages. The hub's RSS idle
//! with no account, after registering N accounts (10,000), and after filling their mailboxes
//! with M small messages (1,000,000 of 48 B, many senders at once so that commits are grouped);
//! with `--restarted`, the RSS of a hub started again on that data, and a login that finds its
//! mailbox whole. The mailboxes are on disk: the data files' sizes are recorded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::account;
use crate::backlog::fill;
use crate::proc_stat::memory;

/// The shape of one run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Accounts registered.
    pub accounts: u64,
    /// Messages queued, spread evenly over the accounts.
    pub messages: u64,
    /// Body size.
    pub body: usize,
    /// Concurrent senders.
    pub senders: usize,
    /// Accounts each relay names (1: one message per relay).
    pub per_relay: usize,
    /// Idle time before each memory reading (the allocator gives memory back after a while).
    pub settle: Duration,
    /// The hub's data directory, for the size of its files.
    pub data_dir: Option<PathBuf>,
    /// Only measure a hub restarted on the data of an earlier run.
    pub restarted: bool,
}

/// Concurrent registrations.
const REGISTERING: usize = 64;

fn name(index: u64) -> String {
    format!("a{index:06}")
}

/// Sizes of the files in `dir`, in bytes, by name.
fn files(dir: &Path) -> Value {
    let mut out = serde_json::Map::new();
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let len = entry.metadata().map_or(0, |m| m.len());
            total += len;
            out.insert(entry.file_name().to_string_lossy().into_owned(), json!(len));
        }
    }
    out.insert("total".into(), json!(total));
    Value::Object(out)
}

/// Run `spec`; the figures as one JSON line.
pub async fn run(addr: SocketAddr, pid: u32, spec: Spec) -> anyhow::Result<Value> {
    if spec.restarted {
        return restarted(addr, pid, spec).await;
    }
    tokio::time::sleep(spec.settle).await;
    let empty = memory(pid);

    let start = Instant::now();
    let permits = Arc::new(Semaphore::new(REGISTERING));
    let tasks: Vec<_> = (0..spec.accounts)
        .map(|i| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await?;
                account::register_away(addr, &account::key_for(i), &name(i)).await
            })
        })
        .collect();
    let mut ids = Vec::with_capacity(tasks.len());
    for task in tasks {
        ids.push(task.await.context("a registration panicked")??);
    }
    let registered_s = start.elapsed().as_secs_f64();
    account::wait_away(addr, &ids).await?;
    tokio::time::sleep(spec.settle).await;
    let with_accounts = memory(pid);

    let filled = fill(
        addr,
        &ids,
        spec.messages,
        spec.body,
        spec.senders,
        spec.per_relay,
    )
    .await?;
    let right_after = memory(pid);
    tokio::time::sleep(spec.settle).await;
    let full = memory(pid);

    let mut check = account::connect(addr).await?;
    let waiting = account::login(&mut check, &account::key_for(0), &name(0)).await?;
    let expected = spec.messages.div_ceil(spec.accounts);
    if waiting != expected {
        bail!("a000000 has {waiting} messages waiting, {expected} were sent to it");
    }
    let kib = |a: u64, b: u64| a as f64 - b as f64;
    Ok(json!({
        "target": "hub",
        "workload": "crowd",
        "accounts": spec.accounts,
        "messages": spec.messages,
        "body": spec.body,
        "senders": spec.senders,
        "per_relay": spec.per_relay,
        "settle_s": spec.settle.as_secs_f64(),
        "registered_s": registered_s,
        "fill": filled,
        "memory_empty": empty,
        "memory_accounts": with_accounts,
        "memory_right_after_fill": right_after,
        "memory_full": full,
        "bytes_per_account": kib(with_accounts.rss_kib, empty.rss_kib) * 1024.0 / spec.accounts as f64,
        "bytes_per_message": kib(full.rss_kib, with_accounts.rss_kib) * 1024.0 / spec.messages as f64,
        "files": spec.data_dir.as_deref().map(files),
    }))
}

/// A hub started again on an earlier run's data: its idle memory, then one login.
async fn restarted(addr: SocketAddr, pid: u32, spec: Spec) -> anyhow::Result<Value> {
    tokio::time::sleep(spec.settle).await;
    let idle = memory(pid);
    let mut check = account::connect(addr).await?;
    let start = Instant::now();
    let waiting = account::login(&mut check, &account::key_for(0), &name(0)).await?;
    let login_ms = start.elapsed().as_secs_f64() * 1000.0;
    let expected = spec.messages.div_ceil(spec.accounts);
    if waiting != expected {
        bail!("after the restart a000000 has {waiting} messages waiting, {expected} were sent");
    }
    Ok(json!({
        "target": "hub",
        "workload": "crowd_restarted",
        "accounts": spec.accounts,
        "messages": spec.messages,
        "waiting": waiting,
        "login_ms": login_ms,
        "memory_idle": idle,
        "memory": memory(pid),
        "files": spec.data_dir.as_deref().map(files),
    }))
}
