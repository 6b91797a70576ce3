//! A server's memory (and thread count), read from `/proc/<pid>/status`, and its CPU time,
//! from `/proc/<pid>/stat`.

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

/// User plus system CPU seconds process `pid` has used so far; 0 if it cannot be read. Linux
/// counts them in clock ticks of 1/100 s (`USER_HZ`, fixed at 100 for user space).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15, the 12th and 13th after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Kill process `pid` with SIGKILL (`kill -KILL`), as a crash would end it; returns once the
/// signal is sent.
pub fn sigkill(pid: u32) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .map_err(|e| anyhow::anyhow!("running kill: {e}"))?;
    anyhow::ensure!(status.success(), "kill -KILL {pid}: {status}");
    Ok(())
}
