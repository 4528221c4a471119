//! The gearmand process as a whole: startup line, thread models, signals, pid file, log reopen,
//! daemon mode, the config file, `-V`/`--help`/`--check-args`, and one-line startup errors.
//! Needs the gear plugin next to the binary (`cargo build` builds it).

mod common;

use common::server::{parse_listening_port, OUR_TEST_ARGS};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gearmand");
const DEADLINE: Duration = Duration::from_secs(20);

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gm-rt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// A server started with `-p 0 -L 127.0.0.1 -l stderr --verbose INFO`; killed on drop.
struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(OUR_TEST_ARGS)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut s = Server {
            child,
            port: 0,
            lines,
        };
        let line = s.wait_line("listening on 127.0.0.1:");
        assert!(line.ends_with(" (gear)"), "{line}");
        s.port = parse_listening_port(&line).unwrap_or_else(|| panic!("not gear's port: {line}"));
        s
    }

    fn wait_line(&mut self, needle: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no log line containing {needle:?}"),
            }
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// Waits for exit and returns the status code.
    fn wait_exit(&mut self) -> i32 {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(Instant::now() < end, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ECHO_REQ / ECHO_RES round trip over the gear protocol.
fn echo(c: &mut TcpStream, data: &[u8]) {
    let mut req = b"\0REQ".to_vec();
    req.extend(16u32.to_be_bytes());
    req.extend((data.len() as u32).to_be_bytes());
    req.extend(data);
    c.write_all(&req).unwrap();
    let mut res = vec![0; 12 + data.len()];
    c.read_exact(&mut res).unwrap();
    assert_eq!(&res[..4], b"\0RES");
    assert_eq!(&res[4..8], &17u32.to_be_bytes());
    assert_eq!(&res[12..], data);
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_thread_model_serves_and_sigterm_exits_zero_removing_the_pid_file() {
    let dir = tmp("threads");
    for t in ["0", "1", "4"] {
        let pid = dir.join(format!("g{t}.pid"));
        let mut s = Server::start(&["-t", t, "-P", pid.to_str().unwrap()]);
        let content = std::fs::read_to_string(&pid).unwrap();
        assert_eq!(content, format!("{}\n", s.child.id()));
        let mut clients: Vec<TcpStream> = (0..3).map(|_| s.connect()).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            echo(c, format!("hello {i} from -t {t}").as_bytes());
        }
        s.signal(libc::SIGTERM);
        assert_eq!(s.wait_exit(), 0, "-t {t}");
        assert!(!pid.exists(), "pid file left behind with -t {t}");
    }
}

#[test]
fn sigusr1_without_jobs_exits_zero() {
    let mut s = Server::start(&["-t", "2", "-P", tmp("usr1").join("p").to_str().unwrap()]);
    let mut c = s.connect();
    echo(&mut c, b"x");
    s.signal(libc::SIGUSR1);
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn sighup_reopens_the_log_file() {
    let dir = tmp("hup");
    let log = dir.join("g.log");
    let rotated = dir.join("g.log.1");
    let mut child = Command::new(BIN)
        .args(["-p", "0", "-L", "127.0.0.1", "--verbose", "INFO", "-t", "0"])
        .args([
            "-l",
            log.to_str().unwrap(),
            "-P",
            dir.join("p").to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_for("the listening line", || {
        read(&log).contains("listening on 127.0.0.1:")
    });
    std::fs::rename(&log, &rotated).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    wait_for("a new log file", || log.exists());
    assert!(read(&rotated).contains("SIGHUP, reopening log file"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn version_help_and_check_args_exit_zero() {
    let v = run(&["-V"]);
    assert_eq!(v.status.code(), Some(0));
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(out.starts_with("\ngearmand "), "{out:?}");
    assert!(
        out.ends_with(" - https://github.com/gearman/gearmand/issues\n"),
        "{out:?}"
    );
    let h = run(&["--help"]);
    assert_eq!(h.status.code(), Some(0));
    let help = String::from_utf8_lossy(&h.stdout);
    for needle in [
        "--backlog",
        "--job-retries",
        "--port",
        "gear (protocol plugin",
    ] {
        assert!(help.contains(needle), "help lacks {needle}");
    }
    assert_eq!(run(&["--check-args", "-t", "2"]).status.code(), Some(0));
}

fn fails_with(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.starts_with("gearmand: ") && err.contains(needle),
        "{args:?}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
}

#[test]
fn startup_errors_are_one_line_and_exit_one() {
    fails_with(&["--bogus"], "unrecognised option '--bogus'");
    fails_with(&["-q", "nosuch"], "unknown queue plugin 'nosuch'");
    fails_with(&["-r", "nosuch"], "looked in");
    fails_with(&["-j", "300"], "--job-retries 300");
    fails_with(
        &["--hashtable-buckets", "0"],
        "hashtable-buckets has to be greater than 0",
    );
    fails_with(
        &["--verbose", "LOUD"],
        "Invalid value for --verbose supplied",
    );
    fails_with(
        &["--config-file", "/nonexistent/g.conf"],
        "Could not open configuration file",
    );
    fails_with(
        &["-P", "/nonexistent/dir/g.pid", "-l", "none"],
        "Could not open pid file",
    );
}

#[test]
fn toml_config_file_is_read_and_command_line_wins() {
    let dir = tmp("conf");
    let conf = dir.join("g.toml");
    std::fs::write(
        &conf,
        "threads = 1\nverbose = \"debug\"\n[gear]\nport = 1\n",
    )
    .unwrap();
    let pid = dir.join("p");
    // The file says port 1 and DEBUG; the command line's -p 0 and INFO win.
    let s = Server::start(&[
        "--config-file",
        conf.to_str().unwrap(),
        "-P",
        pid.to_str().unwrap(),
    ]);
    assert_ne!(s.port, 1);
}

#[test]
fn daemon_mode_detaches_and_writes_the_pid_file() {
    let dir = tmp("daemon");
    let pid = dir.join("g.pid");
    let log = dir.join("g.log");
    let o = Command::new(BIN)
        .args([
            "-d",
            "-p",
            "0",
            "-L",
            "127.0.0.1",
            "--verbose",
            "INFO",
            "-t",
            "1",
        ])
        .args(["-P", pid.to_str().unwrap(), "-l", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    wait_for("the pid file", || {
        std::fs::read_to_string(&pid).is_ok_and(|s| s.ends_with('\n'))
    });
    let child: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for("the listening line", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("listening on 127.0.0.1:"))
    });
    // SAFETY: signalling the daemon we started.
    assert_eq!(unsafe { libc::kill(child, libc::SIGTERM) }, 0);
    wait_for("the pid file to go", || !Path::new(&pid).exists());
}
