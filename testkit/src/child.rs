//! The hub binary as a child process, for what only a real process shows: signals, its own
//! descriptor limit, its own memory and CPU time (read from /proc/PID).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// A running hub process; killed on drop if still running. Integration tests start the binary
/// cargo built for them: `HubProcess::spawn_bin(env!("CARGO_BIN_EXE_hub"), ..)`.
pub struct HubProcess {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The TLS certificate's fingerprint it logged before it listened, if it serves TLS.
    pub fingerprint: Option<String>,
    /// The last [`LOG_LINES`] lines it logged.
    log: Arc<Mutex<VecDeque<String>>>,
}

/// Lines of a hub process's log kept for [`HubProcess::logged`].
pub const LOG_LINES: usize = 1000;

impl HubProcess {
    /// Start the `hub` binary built beside the running example (`target/<profile>/hub`; the
    /// example lives in `target/<profile>/examples/`), or the one `HUB_BIN` names (a binary
    /// kept aside, so that a build meanwhile cannot swap the hub under a measurement).
    pub fn spawn_beside_example(args: &[&str], fd_limit: Option<u32>) -> HubProcess {
        if let Ok(bin) = std::env::var("HUB_BIN") {
            return HubProcess::spawn_bin(&bin, args, fd_limit);
        }
        let exe = std::env::current_exe().expect("exe");
        let bin = exe
            .parent()
            .and_then(|p| p.parent())
            .expect("target dir")
            .join("hub");
        HubProcess::spawn_bin(bin.to_str().expect("utf-8 path"), args, fd_limit)
    }

    /// Start `bin` with `args` on 127.0.0.1:0, optionally under `ulimit -n fd_limit`, and wait
    /// for it to say where it listens. Its accounts are in memory unless `args` name a
    /// `--data-dir`.
    pub fn spawn_bin(bin: &str, args: &[&str], fd_limit: Option<u32>) -> HubProcess {
        let mut hub_args = vec!["--listen", "127.0.0.1:0", "--stats-interval", "0s"];
        if !args.contains(&"--data-dir") {
            hub_args.push("--ephemeral");
        }
        hub_args.extend_from_slice(args);
        let mut cmd = match fd_limit {
            // `exec` keeps the hub's pid the shell's, so signals and /proc reach the hub.
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin)
                    .args(&hub_args);
                c
            }
            None => {
                let mut c = Command::new(bin);
                c.args(&hub_args);
                c
            }
        };
        let mut child = cmd
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hub binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::sync_channel(1);
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let kept = log.clone();
        // Drain stderr for the whole life of the process so that logging never blocks it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut fingerprint = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut kept = kept.lock().expect("log lock");
                    if kept.len() == LOG_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line.clone());
                }
                if let Some(rest) = line.split("fingerprint=").nth(1) {
                    fingerprint = rest.split_whitespace().next().map(str::to_owned);
                }
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.trim().trim_end_matches('"').to_string();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send((addr, fingerprint.take()));
                    }
                }
            }
        });
        let (addr, fingerprint) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the hub says where it listens");
        let addr = addr.parse().expect("a socket address");
        HubProcess {
            child,
            addr,
            fingerprint,
            log,
        }
    }

    /// A hub process the caller started and read the address of itself (its log is the
    /// caller's: [`Self::logged`] sees none of it).
    pub fn adopt(child: Child, addr: SocketAddr) -> HubProcess {
        HubProcess {
            child,
            addr,
            fingerprint: None,
            log: Arc::default(),
        }
    }

    /// How many of the lines it logged (the last [`LOG_LINES`]) contain `needle`.
    pub fn logged(&self, needle: &str) -> usize {
        let log = self.log.lock().expect("log lock");
        log.iter().filter(|l| l.contains(needle)).count()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Descriptors the hub has open.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// A `kB` field of /proc/PID/status, e.g. `VmRSS` or `VmHWM`.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the hub is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    /// CPU time used so far (user + system), in clock ticks (normally 1/100 s).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("the hub is running");
        // Fields after the parenthesised name; utime and stime are the 12th and 13th of those.
        let after = stat.rsplit_once(')').expect("stat has a name").1;
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
    }

    /// Send a signal by name (TERM, STOP, CONT, ...).
    pub fn signal(&self, name: &str) {
        // The shell's built-in kill: no dependency on a kill binary being installed.
        let ok = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{name} {}", self.pid()))
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Stop the process with SIGSTOP and wait until the kernel has stopped every thread of it
    /// (it does so at their next scheduling point, not when kill returns).
    pub async fn pause(&self) {
        self.signal("STOP");
        let pid = self.pid();
        crate::eventually("the hub process to be stopped", || stopped(pid)).await;
    }

    /// Wait for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the hub did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether process `pid` is stopped (state `T` in /proc/PID/stat), each of its threads.
fn stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).all(|task| {
        std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('T'))
            })
            .unwrap_or(false)
    })
}
