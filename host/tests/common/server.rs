//! Starting a server under test: our binary or Debian's C gearmand, on a free loopback port.
//!
//! Ours is started with `-p 0` and tells us its port in its log (`listening on 127.0.0.1:N (gear)`),
//! so there is no port race. C gearmand cannot do that, so we pick a free port by binding port 0 and
//! closing it, then wait until a TCP connect succeeds. Either way the process is killed on drop and
//! its stderr is drained by a thread (so it can never block on a full pipe) and kept for messages.

use super::gear::Conn;
use super::TempDir;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Path of Debian's C gearmand 1.1.20.
pub const C_GEARMAND: &str = "/usr/sbin/gearmand";

/// How long a server may take to come up (the machine is small and shared).
const START_DEADLINE: Duration = Duration::from_secs(20);

/// Which server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our Rust binary.
    Ours,
    /// Debian's C gearmand 1.1.20.
    C,
}

/// Whether the C reference server is installed.
pub fn c_gearmand_available() -> bool {
    std::path::Path::new(C_GEARMAND).exists()
}

/// What every server of ours under test starts with: a port the kernel picks, on loopback, and
/// a log on stderr at INFO, where [`spawn_listening`] reads the port from the `listening on` line.
pub const OUR_TEST_ARGS: [&str; 8] = [
    "-p",
    "0",
    "-L",
    "127.0.0.1",
    "-l",
    "stderr",
    "--verbose",
    "INFO",
];

/// Path of our binary, built by cargo for the integration tests.
pub fn our_binary() -> &'static str {
    env!("CARGO_BIN_EXE_gearmand")
}

/// A running server; killed on drop.
pub struct Server {
    pub kind: Kind,
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Server {
    /// Start our binary with `-p 0 -L 127.0.0.1 -l stderr --verbose INFO` plus `args`.
    pub fn start(args: &[&str]) -> Server {
        Self::try_start(args).unwrap_or_else(|e| panic!("our gearmand did not start: {e}"))
    }

    /// Like [`Server::start`] but returns the failure (with captured stderr) instead of panicking.
    pub fn try_start(args: &[&str]) -> Result<Server, String> {
        Self::try_start_from(Path::new(our_binary()), args, &[])
    }

    /// Like [`Server::try_start`] with another build of our binary (an unpacked package, say)
    /// and extra environment variables.
    pub fn try_start_from(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &Path)],
    ) -> Result<Server, String> {
        let dir = TempDir::new("ours");
        let mut cmd = Command::new(bin);
        cmd.args(OUR_TEST_ARGS)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v.as_os_str())));
        let (child, log, port) = spawn_listening(cmd)?;
        Ok(Server {
            kind: Kind::Ours,
            child,
            port,
            log,
            _dir: dir,
        })
    }

    /// Start C gearmand with `-p PORT -L 127.0.0.1 -l stderr` plus `args` on a free port.
    pub fn start_c(args: &[&str]) -> Server {
        let dir = TempDir::new("c");
        let port = free_port();
        let pid_file = dir.path().join("gearmand.pid");
        let mut cmd = Command::new(C_GEARMAND);
        cmd.args(["-p", &port.to_string(), "-L", "127.0.0.1", "-l", "stderr"]);
        // C 1.1.20 reopens `-l stderr` on SIGHUP as a *file* named `stderr` in its working
        // directory: keep that file in the test's own directory, not in the checkout.
        cmd.current_dir(dir.path());
        // A private pid file, unless the test brings its own (-P twice is an error).
        if !args
            .iter()
            .any(|a| *a == "-P" || a.starts_with("--pid-file"))
        {
            cmd.arg("-P").arg(&pid_file);
        }
        cmd.args(args);
        let (mut child, log, _lines) =
            spawn_with_stderr(cmd).unwrap_or_else(|e| panic!("C gearmand: {e}"));
        let deadline = Instant::now() + START_DEADLINE;
        while Instant::now() < deadline {
            // The port was free a moment ago; make sure it is this child that listens on it.
            if listens_on(child.id(), port) {
                return Server {
                    kind: Kind::C,
                    child,
                    port,
                    log,
                    _dir: dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "C gearmand exited early ({status}); stderr:\n{}",
                    log.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        panic!(
            "C gearmand did not accept on port {port}; stderr:\n{}",
            log.lock().unwrap()
        );
    }

    /// Start the server of `kind` with `args` (the harness adds port, listen address and log).
    pub fn launch(kind: Kind, args: &[&str]) -> Server {
        match kind {
            Kind::Ours => Server::start(args),
            Kind::C => Server::start_c(args),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new raw gear connection to this server.
    pub fn connect(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Send a signal (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety implications.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.child.id());
    }

    /// Wait up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bind port 0, read it, close). Only for C gearmand.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().unwrap().port()
}

/// Whether process `pid` is listening on 127.0.0.1:`port`, judged from /proc without
/// connecting (a probe connection would show up in the server's `workers` list for a moment).
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 9 && f[1] == local && f[3] == "0A")
        .map(|f| format!("socket:[{}]", f[9]))
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|t| inodes.iter().any(|i| t.as_os_str() == i.as_str()))
            .unwrap_or(false)
    })
}

/// Parse `... listening on 127.0.0.1:PORT (gear)` from one of our log lines.
pub fn parse_listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on 127.0.0.1:").nth(1)?;
    let (port, tail) = rest.split_once(' ')?;
    if !tail.starts_with("(gear)") {
        return None;
    }
    port.parse().ok()
}

/// Spawns `cmd` (our binary, with [`OUR_TEST_ARGS`] among its arguments) and waits for its
/// `listening on 127.0.0.1:<port> (gear)` line: the child, its stderr so far and later, the port.
pub fn spawn_listening(cmd: Command) -> Result<(Child, Arc<Mutex<String>>, u16), String> {
    let (mut child, log, lines) = spawn_with_stderr(cmd)?;
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(port) = parse_listening_port(&line) {
                    return Ok((child, log, port));
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                return Err(format!(
                    "no `listening on 127.0.0.1:<port> (gear)` line (exit: {status:?}); stderr:\n{}",
                    log.lock().unwrap()
                ));
            }
        }
    }
}

type Spawned = (Child, Arc<Mutex<String>>, mpsc::Receiver<String>);

/// Spawn `cmd` with stdin closed, stdout discarded and stderr drained line by line by a thread
/// into a shared buffer and a channel (the channel closes when stderr does).
fn spawn_with_stderr(mut cmd: Command) -> Result<Spawned, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let log2 = Arc::clone(&log);
    std::thread::spawn(move || drain(stderr, log2, tx));
    Ok((child, log, rx))
}

fn drain(stderr: impl Read, log: Arc<Mutex<String>>, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).into_owned();
                log.lock().unwrap().push_str(&line);
                // The receiver goes away once startup is over; keep draining regardless.
                let _ = tx.send(line);
            }
        }
    }
}

/// Run a command to completion with a deadline; returns (exit status, stdout, stderr).
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (ExitStatus, String, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let err = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    (status, out, err)
}
