//! The hub's baseline: after the clients leave, no user in the registry, no extra task on the
//! runtime, no socket left open on the hub's port and no byte charged to the global budget.
#![allow(dead_code)]

use std::time::Duration;

use crate::helpers::TestHub;

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
    pub port: u16,
    pub sockets: usize,
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

    /// Wait (bounded) until connections, tasks, sockets and queued bytes are back to the
    /// baseline; panic naming what leaked if they are not.
    pub async fn wait_restored(&self, hub: &TestHub) {
        let state = || {
            (
                hub.registry.len(),
                alive_tasks(),
                port_sockets(self.port),
                hub.budget.used(),
            )
        };
        let ok = |s: (usize, usize, usize, usize)| {
            s.0 == 0 && s.1 <= self.tasks && s.2 <= self.sockets && s.3 == 0
        };
        for _ in 0..1000 {
            if ok(state()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (users, tasks, sockets, queued) = state();
        panic!(
            "not back to baseline: users {users} (want 0), tasks {tasks} (want <= {}), \
             sockets {sockets} (want <= {}), queued bytes {queued} (want 0)",
            self.tasks, self.sockets
        );
    }
}
