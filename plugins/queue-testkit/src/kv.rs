//! Helpers for the key-value queue plugins' tests (redis, memcached): job values, service checks that
//! skip loudly outside CI and fail in CI, free ports, polling with a deadline, and a C gearmand
//! (Debian's /usr/sbin/gearmand) run as a child process to prove layout compatibility.

use gearmand_plugin_api::{Priority, QueueJob, QueuePlugin};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A job as the tests keep it (owned, ordered for comparisons).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    pub function: Vec<u8>,
    pub unique: Vec<u8>,
    pub data: Vec<u8>,
    pub priority: Priority,
    pub when: i64,
}

/// Short enough for assertion messages: names as escaped text, big data only summarised.
impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |b: &[u8]| b.escape_ascii().to_string();
        let data = match self.data.len() {
            n if n > 40 => format!("{}... ({n} bytes)", text(&self.data[..40])),
            _ => text(&self.data),
        };
        write!(
            f,
            "Job({:?}, {:?}, {data:?}, {:?}, when {})",
            text(&self.function),
            text(&self.unique),
            self.priority,
            self.when
        )
    }
}

impl Job {
    pub fn new(function: &[u8], unique: &[u8], data: &[u8], priority: Priority, when: i64) -> Job {
        Job {
            function: function.to_vec(),
            unique: unique.to_vec(),
            data: data.to_vec(),
            priority,
            when,
        }
    }
    pub fn as_queue_job(&self) -> QueueJob<'_> {
        QueueJob {
            unique: &self.unique,
            function: &self.function,
            data: &self.data,
            priority: self.priority,
            when: self.when,
        }
    }
}

/// Every odd kind of job issue 3 lists.
pub fn odd_jobs() -> Vec<Job> {
    vec![
        Job::new(b"fn", b"u1", b"plain", Priority::Normal, 0),
        Job::new(b"fn", b"u2", b"high", Priority::High, 0),
        Job::new(b"fn", b"u3", b"low", Priority::Low, 0),
        Job::new(b"fn", b"epoch", b"later", Priority::Low, 4_102_444_800),
        Job::new(b"fn", b"empty-data", b"", Priority::Low, 0),
        Job::new(b"fn", b"", b"empty unique", Priority::Normal, 0),
        Job::new(b"fn", b"bin", b"bin\0ary\0\xff\xfe", Priority::High, 0),
        Job::new(b"fn-x", b"uniq-1", b"dash function", Priority::Normal, 0),
        Job::new(
            b"fn",
            b"x-uniq-1",
            b"looks like the dash job",
            Priority::Normal,
            0,
        ),
        Job::new(b"f'n\\", b"u'\\\"", b"quotes", Priority::Normal, 0),
        Job::new(b"f\xc3\x28", b"u\xff\x80", b"non-utf8", Priority::Low, 17),
        Job::new(b"sp ace", b"tab\tnl\n", b"whitespace", Priority::Normal, 0),
        Job::new(b"big", b"b", &[7u8; 100_000], Priority::Normal, 0),
    ]
}

pub fn sorted(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort();
    jobs
}

/// Replays everything into a sorted list.
pub fn replay_all<Q: QueuePlugin>(q: &mut Q) -> Vec<Job> {
    let mut out = Vec::new();
    q.replay(&mut |j: &QueueJob<'_>| {
        out.push(Job::new(j.function, j.unique, j.data, j.priority, j.when));
        Ok(())
    })
    .unwrap();
    sorted(out)
}

/// True in CI, where a missing service is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports a missing prerequisite: panics in CI, prints a loud SKIP otherwise.
pub fn skip(what: &str) {
    if in_ci() {
        panic!("{what} (CI=true: required)");
    }
    eprintln!("\n*** SKIP: {what} ***\n");
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `cond` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// Sends SIGTERM (or another signal) to a child and waits for it.
pub fn signal_and_wait(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
    let done = wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Debian's C gearmand 1.1.20, running on a free loopback port.
pub struct CGearmand {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

pub const C_GEARMAND: &str = "/usr/sbin/gearmand";

impl CGearmand {
    /// Starts it with queue arguments; `None` (after `skip`) when the binary is missing.
    pub fn start(queue_args: &[&str]) -> Option<CGearmand> {
        if !std::path::Path::new(C_GEARMAND).exists() || which("gearman").is_none() {
            skip("C gearmand (/usr/sbin/gearmand, gearman) not installed");
            return None;
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("cgearmand-{}-{port}.log", std::process::id()));
        let child = Command::new(C_GEARMAND)
            .args(queue_args)
            .args([
                "-p",
                &port.to_string(),
                "-L",
                "127.0.0.1",
                "--verbose",
                "INFO",
            ])
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn C gearmand");
        let mut g = CGearmand { child, port, log };
        if !wait_until(Duration::from_secs(15), || port_open(port)) {
            let text = std::fs::read_to_string(&g.log).unwrap_or_default();
            g.stop();
            panic!("C gearmand did not start listening; log:\n{text}");
        }
        Some(g)
    }

    /// Submits one background job with the gearman CLI (`-I` high, `-L` low, none normal).
    pub fn submit(&self, function: &str, unique: &str, data: &str, priority_flag: Option<&str>) {
        let mut cmd = Command::new("gearman");
        cmd.args(["-b", "-h", "127.0.0.1", "-p", &self.port.to_string()]);
        cmd.args(priority_flag);
        cmd.args(["-f", function, "-u", unique, data]);
        let out = cmd.output().expect("run gearman");
        assert!(out.status.success(), "gearman -b failed: {out:?}");
    }

    /// `gearadmin --status` output.
    pub fn status(&self) -> String {
        let out = Command::new("gearadmin")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--status"])
            .output()
            .expect("run gearadmin");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a CLI worker for `count` jobs of `function`; returns the workloads it printed.
    pub fn work(&self, function: &str, count: usize) -> String {
        let out = Command::new("gearman")
            .args(["-w", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-f", function, "-c", &count.to_string(), "-t", "10000"])
            .stdin(Stdio::null())
            .output()
            .expect("run gearman -w");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// SIGTERM and wait: a clean shutdown that leaves stored jobs in place.
    pub fn stop(&mut self) {
        signal_and_wait(&mut self.child, "TERM");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for CGearmand {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.exists())
    })
}
