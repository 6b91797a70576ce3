//! The hub's baseline: after the clients leave, no user in the registry, no extra task on the
//! runtime, no socket left open on the hub's port and no byte charged to the global budget.

use crate::testhub::TestHub;

/// Open sockets on either end of a connection to `port` (and its listener), from
/// /proc/net/tcp. Sockets that only the kernel still holds (TIME_WAIT, orphans finishing their
/// FIN) have no inode and are not counted. Per port, so tests running in parallel in one
/// process do not see each other's descriptors.
pub fn port_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp is readable");
    let port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() > 9 && (f[1].ends_with(&port) || f[2].ends_with(&port)) && f[9] != "0"
        })
        .count()
}

/// Tasks alive on the current runtime (each `#[tokio::test]` has its own).
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// What the hub held before the clients came: after they leave, it must hold no more.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    /// The hub's port.
    pub port: u16,
    /// Sockets open on that port.
    pub sockets: usize,
    /// Tasks alive on the runtime.
    pub tasks: usize,
}

impl Baseline {
    /// Call with the hub serving and no client connected.
    pub fn capture(hub: &TestHub) -> Baseline {
        let port = hub.addr.port();
        Baseline {
            port,
            sockets: port_sockets(port),
            tasks: alive_tasks(),
        }
    }

    /// Wait (bounded by [`crate::WAIT`]) until connections, tasks, sockets and queued bytes are back
    /// to the baseline; panic naming what leaked if they are not.
    pub async fn wait_restored(&self, hub: &TestHub) {
        let state = || {
            (
                hub.inspector.connections(),
                alive_tasks(),
                port_sockets(self.port),
                hub.inspector.queued_bytes(),
            )
        };
        let ok = |s: (usize, usize, usize, usize)| {
            s.0 == 0 && s.1 <= self.tasks && s.2 <= self.sockets && s.3 == 0
        };
        if crate::wait::poll(|| ok(state()).then_some(()))
            .await
            .is_some()
        {
            return;
        }
        let (users, tasks, sockets, queued) = state();
        panic!(
            "not back to baseline: users {users} (want 0), tasks {tasks} (want <= {}), \
             sockets {sockets} (want <= {}), queued bytes {queued} (want 0)",
            self.tasks, self.sockets
        );
    }
}
