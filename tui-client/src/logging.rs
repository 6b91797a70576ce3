//! Logs go to a file, never to the terminal the UI draws on.

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Log to `path` (level from `HUBBUB_LOG`, default `info`). Keep the guard alive: dropping it
/// flushes the last lines.
pub fn init(path: &Path) -> Result<WorkerGuard> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| color_eyre::eyre::eyre!("{} is not a file name", path.display()))?;
    let appender = tracing_appender::rolling::never(dir, name);
    // The writer thread's queue is bounded and drops lines rather than block the UI.
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("HUBBUB_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}
