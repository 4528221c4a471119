//! The key-value queue plugins' shared test helpers (in `plugins/queue-testkit`), plus a memcached
//! server of this crate's own for each test.

pub use gearmand_queue_testkit::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A memcached of our own on a free loopback port, killed at drop.
pub struct Memcached {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
}

impl Memcached {
    /// `None` (after `skip`) when memcached is not installed.
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
        self.child = Some(child);
        let port = self.port;
        assert!(
            wait_until(Duration::from_secs(10), || port_open(port)),
            "memcached did not start on port {port}"
        );
    }

    /// `host:port` for `--libmemcached-servers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL) and waits until the port is closed.
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
