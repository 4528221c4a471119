//! A memcached of the test's own (`memcached -u root -l 127.0.0.1 -U 0 -p <free port>`), which a
//! test can kill and restart on the same port (empty again, as after any memcached restart).

use crate::env::{free_port, port_open, skip, wait_until, which};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running memcached, killed at drop.
pub struct Memcached {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
}

impl Memcached {
    /// Starts one with `extra` arguments; `None` (after `skip`) when memcached is not installed.
    pub fn start(extra: &[&str]) -> Option<Memcached> {
        if which("memcached").is_none() {
            skip("memcached not installed");
            return None;
        }
        let mut m = Memcached {
            child: None,
            port: free_port(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        m.spawn();
        Some(m)
    }

    fn spawn(&mut self) {
        // `-u root` only matters when running as root (memcached refuses root otherwise).
        let child = Command::new("memcached")
            .args(["-u", "root", "-l", "127.0.0.1", "-U", "0", "-p"])
            .arg(self.port.to_string())
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn memcached");
        let child = self.child.insert(child);
        let port = self.port;
        let up = wait_until(Duration::from_secs(20), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("memcached on port {port} exited at start: {status}");
            }
            port_open(port)
        });
        assert!(up, "memcached did not start on port {port}");
    }

    /// `host:port` for `--libmemcached-servers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: everything it held is gone) and waits until the port is closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let port = self.port;
        assert!(wait_until(Duration::from_secs(10), || !port_open(port)));
    }

    /// Starts it again on the same port (empty, as after any memcached restart).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
