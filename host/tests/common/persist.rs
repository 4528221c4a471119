//! Helpers of the persistence tests (`host/tests/persistence*.rs`, issue 3): one real backend per
//! test, the real server binary on top of it, and the gear traffic that fills and drains it.
//!
//! - [`Backend`] / [`Store`]: a private place in one of the six backends (a temp file, a unique
//!   table, a unique key prefix, or a memcached of its own), the `-q ...` arguments that point the
//!   server at it, and clean-up on drop. A missing service skips loudly outside CI and fails in CI.
//! - [`Proxy`]: a TCP forwarder between the server and a database that the test can cut and
//!   restore (the backend "goes down" without touching the shared service).
//! - [`Memcached`]: a memcached process of the test's own, which can be killed and restarted.
//! - [`Job`], [`submit_frame`], [`drain`]: background jobs as the tests submit them and as a
//!   worker receives them (`GRAB_JOB_UNIQ`).
//!
//! The gear side lives in `persist_jobs.rs`, the proxy, memcached and redis clean-up in
//! `persist_services.rs`. Included with `#[path = "common/persist.rs"] mod persist;` next to
//! `mod common;` (the shared harness is read-only for this work), so it reaches the harness as
//! `crate::common`.
#![allow(dead_code, unused_macros)]

#[path = "persist_jobs.rs"]
mod jobs;
#[path = "persist_services.rs"]
mod services;

pub use jobs::*;
pub use services::*;

use crate::common::server::our_binary;
use crate::common::{skip_unless, Server, TempDir};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The job handle prefix of every server these tests start (`T:1`, `T:2`, ...).
pub const PREFIX: &str = "T";
/// How long a clean shutdown may take.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// Declares `mod $test { sqlite, postgres, mysql, redis, memcached, tokyocabinet }`, one test per
/// backend, each calling `$test(Backend::X)`.
macro_rules! per_backend {
    ($test:ident) => {
        mod $test {
            use super::persist::Backend;
            #[test]
            fn sqlite() {
                super::$test(Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$test(Backend::Postgres)
            }
            #[test]
            fn mysql() {
                super::$test(Backend::Mysql)
            }
            #[test]
            fn redis() {
                super::$test(Backend::Redis)
            }
            #[test]
            fn memcached() {
                super::$test(Backend::Memcached)
            }
            #[test]
            fn tokyocabinet() {
                super::$test(Backend::TokyoCabinet)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

/// The six persistent queues of issue 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
    Redis,
    Memcached,
    TokyoCabinet,
}

const PG_PORT: u16 = 5432;
const MYSQL_PORT: u16 = 3306;
pub(crate) const REDIS_PORT: u16 = 6379;

impl Backend {
    /// The plugin name given to `-q`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
            Backend::Redis => "redis",
            Backend::Memcached => "memcached",
            Backend::TokyoCabinet => "tokyocabinet",
        }
    }

    /// The shared service this backend needs (port on 127.0.0.1), if any.
    fn service_port(self) -> Option<u16> {
        match self {
            Backend::Postgres => Some(PG_PORT),
            Backend::Mysql => Some(MYSQL_PORT),
            Backend::Redis => Some(REDIS_PORT),
            _ => None,
        }
    }

    /// Skips loudly (fails under CI) when the system library the plugin opens at run time is
    /// not installed: only tokyocabinet has one, `libtokyocabinet.so.9`.
    pub fn skip_without_library(self) -> bool {
        if self != Backend::TokyoCabinet {
            return false;
        }
        // SAFETY: loading runs Tokyo Cabinet's initialisers, which only set up its own globals.
        let found = unsafe { libloading::Library::new("libtokyocabinet.so.9") }.is_ok();
        skip_unless(
            found,
            "libtokyocabinet.so.9 (Debian package libtokyocabinet9)",
        )
    }

    /// The plugin file next to our binary (built by `cargo build --workspace`).
    pub fn plugin_file(self) -> std::path::PathBuf {
        let exe = std::path::Path::new(our_binary());
        exe.with_file_name(format!("libgearmand_queue_{}.so", self.name()))
    }
}

/// How the server reaches a network backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Straight to the service.
    Direct,
    /// Through a [`Proxy`] the test can cut (postgres, mysql, redis).
    Proxy,
}

/// A unique lowercase name for a table or key prefix: parallel tests never share one.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("gmt_{tag}_{}_{n}_{nanos}", std::process::id())
}

pub(crate) fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok()
}

/// One test's private part of a backend, cleaned up on drop.
pub struct Store {
    pub backend: Backend,
    /// Table name or key prefix (unique per test).
    pub name: String,
    dir: TempDir,
    proxy: Option<Proxy>,
    memcached: Option<Memcached>,
}

impl Store {
    /// Prepares a place in `backend`, or `None` after a loud SKIP when its service is missing
    /// (a failure under CI).
    pub fn new(backend: Backend, tag: &str, via: Via) -> Option<Store> {
        let plugin = backend.plugin_file();
        assert!(
            plugin.exists(),
            "{} is missing: run `cargo build --workspace` before these tests",
            plugin.display()
        );
        if backend.skip_without_library() {
            return None;
        }
        if let Some(port) = backend.service_port() {
            let what = format!("{} on 127.0.0.1:{port}", backend.name());
            if skip_unless(port_open(port), &what) {
                return None;
            }
        }
        let memcached = match backend {
            // None (after a loud SKIP, a failure in CI) when memcached is not installed.
            Backend::Memcached => Some(Memcached::start(&[])?),
            _ => None,
        };
        let proxy = match (via, backend.service_port()) {
            (Via::Proxy, Some(port)) => Some(Proxy::start(&format!("127.0.0.1:{port}"))),
            _ => None,
        };
        Some(Store {
            backend,
            name: unique_name(tag),
            dir: TempDir::new(&format!("persist-{tag}")),
            proxy,
            memcached,
        })
    }

    /// The port the server is told to use for a network backend.
    fn port(&self) -> u16 {
        if let Some(p) = &self.proxy {
            return p.port;
        }
        if let Some(m) = &self.memcached {
            return m.port;
        }
        self.backend.service_port().unwrap_or(0)
    }

    /// A file in this store's own directory.
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// `-q <name> <options>` for this store.
    pub fn queue_args(&self) -> Vec<String> {
        let port = self.port().to_string();
        let n = self.name.clone();
        let v: Vec<String> = match self.backend {
            Backend::Sqlite => vec![
                "--libsqlite3-db".into(),
                self.file("queue.db"),
                "--libsqlite3-table".into(),
                n,
            ],
            Backend::Postgres => vec![
                "--libpq-conninfo".into(),
                format!("host=127.0.0.1 port={port} user=postgres dbname=test"),
                "--libpq-table".into(),
                n,
            ],
            Backend::Mysql => [
                "--mysql-host",
                "127.0.0.1",
                "--mysql-port",
                &port,
                "--mysql-user",
                "root",
                "--mysql-db",
                "test",
                "--mysql-table",
                &n,
            ]
            .map(String::from)
            .to_vec(),
            Backend::Redis => [
                "--redis-server",
                "127.0.0.1",
                "--redis-port",
                &port,
                "--redis-prefix",
                &n,
            ]
            .map(String::from)
            .to_vec(),
            Backend::Memcached => vec![
                "--libmemcached-servers".into(),
                format!("127.0.0.1:{port}"),
                "--libmemcached-prefix".into(),
                n,
            ],
            Backend::TokyoCabinet => {
                vec!["--libtokyocabinet-file".into(), self.file("queue.tch")]
            }
        };
        let mut args = vec!["-q".to_string(), self.backend.name().to_string()];
        args.extend(v);
        args
    }

    /// Starts our server on this store with `--job-handle-prefix T` plus `extra`.
    pub fn start(&self, extra: &[&str]) -> Server {
        let mut args = vec!["--job-handle-prefix".to_string(), PREFIX.to_string()];
        args.extend(self.queue_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::start(&refs)
    }

    /// Takes the backend away: cuts the proxy, or kills our memcached.
    pub fn backend_down(&mut self) {
        match (&mut self.proxy, &mut self.memcached) {
            (Some(p), _) => p.down(),
            (None, Some(m)) => m.kill(),
            _ => panic!("{:?} has no outage switch in these tests", self.backend),
        }
    }

    /// Brings the backend back on the same port.
    pub fn backend_up(&mut self) {
        match (&mut self.proxy, &mut self.memcached) {
            (Some(p), _) => p.up(),
            (None, Some(m)) => m.restart(),
            _ => panic!("{:?} has no outage switch in these tests", self.backend),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let drop_table = format!("DROP TABLE IF EXISTS {}", self.name);
        match self.backend {
            Backend::Postgres => run_quietly(
                "psql",
                &["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c"],
                &drop_table,
            ),
            Backend::Mysql => run_quietly(
                "mysql",
                &["-h", "127.0.0.1", "-u", "root", "test", "-e"],
                &drop_table,
            ),
            Backend::Redis => redis_delete_prefix(&self.name),
            _ => {} // files go with the temp dir, our memcached with its process
        }
    }
}

/// Runs a clean-up command; a failure is only reported (the data is in a unique table).
fn run_quietly(program: &str, args: &[&str], last: &str) {
    let out = Command::new(program)
        .args(args)
        .arg(last)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => eprintln!(
            "clean-up `{program} ... {last}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("clean-up `{program} ... {last}` could not run: {e}"),
    }
}
