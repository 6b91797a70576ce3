//! A server's memory (and thread count), read from `/proc/<pid>/status`.

/// Resident set size now and at its peak, in KiB.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM`: the peak since the process started.
    pub peak_kib: u64,
    /// `Threads`: the hub's blocking threads (one per store call in flight, kept 10 s) show here.
    pub threads: u64,
}

/// The memory of process `pid`; zeros if it cannot be read (the process is gone).
pub fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
        threads: field("Threads:"),
    }
}
