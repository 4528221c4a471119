//! Helpers of the operator-facing tests (status page, HTTP server, two servers).
//!
//! Included with `#[path = "common/ops.rs"] mod ops;` beside `mod common;`, so the shared harness
//! stays untouched. It adds what those tests need beyond [`crate::common::Server`]:
//! - [`Gearmand`]: our binary with explicit arguments (fixed ports for a restart on the same port,
//!   `kill -9`), reporting both the gear and the HTTP port from its `listening on` lines;
//! - [`http`] / [`get`]: a raw HTTP/1.1 exchange on a fresh connection, parsed into [`Response`];
//! - [`Worker`]: our own gear worker in a thread (reverse, fail, exception, or record), stoppable;
//! - [`run`] / [`python`]: external programs with a deadline, and whether a Python module exists.

#![allow(dead_code)]

use crate::common::gear::{Conn, ReadEnd};
use crate::common::server::{our_binary, run_with_timeout};
use crate::common::{ptype, wait_for};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to say where it listens (the machine is small and shared).
const START_DEADLINE: Duration = Duration::from_secs(20);
/// How long an HTTP answer that must come may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Our gearmand started with exactly `-L 127.0.0.1 -l stderr --verbose INFO` plus the caller's
/// arguments (which must include `-p`). Killed on drop.
pub struct Gearmand {
    child: Child,
    pub gear_port: u16,
    /// The HTTP port, when started with `-r http`.
    pub http_port: Option<u16>,
    log: Arc<Mutex<String>>,
}

impl Gearmand {
    /// Starts the server and waits for its `listening on` lines (both, with `-r http`).
    pub fn start(args: &[&str]) -> Gearmand {
        let mut cmd = Command::new(our_binary());
        cmd.args(["-L", "127.0.0.1", "-l", "stderr", "--verbose", "INFO"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let (log, lines) = drain(child.stderr.take().expect("piped stderr"));
        let want_http = args.windows(2).any(|w| w == ["-r", "http"]);
        let (mut gear, mut http) = (None, None);
        let deadline = Instant::now() + START_DEADLINE;
        while gear.is_none() || (want_http && http.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "gearmand {args:?} did not report its ports (exit {status:?}); stderr:\n{}",
                    log.lock().unwrap()
                );
            };
            gear = gear.or(listening_port(&line, "(gear)"));
            http = http.or(listening_port(&line, "(http)"));
        }
        Gearmand {
            child,
            gear_port: gear.unwrap(),
            http_port: http,
            log,
        }
    }

    /// The HTTP port (panics if the server was started without `-r http`).
    pub fn http(&self) -> u16 {
        self.http_port.expect("server started without -r http")
    }

    /// A raw gear connection.
    pub fn connect(&self) -> Conn {
        Conn::connect(self.gear_port)
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `kill -9`, then reap: no shutdown code of the server runs.
    pub fn kill9(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("reap gearmand")
    }
}

impl Drop for Gearmand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `... listening on 127.0.0.1:PORT (tag)` → PORT.
fn listening_port(line: &str, tag: &str) -> Option<u16> {
    let rest = line.split("listening on 127.0.0.1:").nth(1)?;
    let (port, tail) = rest.split_once(' ')?;
    tail.starts_with(tag).then(|| port.parse().ok())?
}

/// Reads stderr in a thread (so the server never blocks on a full pipe) into a shared log and a
/// channel of lines.
fn drain(stderr: impl Read + Send + 'static) -> (Arc<Mutex<String>>, mpsc::Receiver<String>) {
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            shared.lock().unwrap().push_str(&line);
            shared.lock().unwrap().push('\n');
            let _ = tx.send(line);
        }
    });
    (log, rx)
}

// ---- HTTP ---------------------------------------------------------------------------------------

/// One parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    pub status_line: String,
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` (complete bytes) on a new connection and reads one response, framed by
/// `Content-Length` (every answer of the plugin carries one).
pub fn http(port: u16, request: &[u8]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the http port");
    s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    s.write_all(request).expect("send request");
    read_response(&mut s, request.starts_with(b"HEAD "))
        .unwrap_or_else(|e| panic!("no complete response to {request:?}: {e}"))
}

/// `GET path` on a new connection.
pub fn get(port: u16, path: &str) -> Response {
    http(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
    )
}

/// Reads one response from `s`; `head_only` for the answer to HEAD (no body follows).
pub fn read_response(s: &mut impl Read, head_only: bool) -> Result<Response, String> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(s, &mut buf)?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("").to_string();
    let code = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let len = if head_only { 0 } else { len };
    while buf.len() < head_end + len {
        read_more(s, &mut buf)?;
    }
    Ok(Response {
        status_line,
        code,
        headers,
        body: buf[head_end..head_end + len].to_vec(),
    })
}

fn read_more(s: &mut impl Read, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 16384];
    match s.read(&mut chunk) {
        Ok(0) => Err(format!("closed after {:?}", String::from_utf8_lossy(buf))),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) => Err(format!("{e} after {:?}", String::from_utf8_lossy(buf))),
    }
}

/// Polls `/-/status` until `cond(body)` holds.
#[track_caller]
pub fn await_status(port: u16, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    crate::common::eventually(what, Duration::from_secs(15), || {
        last = get(port, "/-/status").text();
        cond(&last).then(|| last.clone())
    })
}

/// The `/-/status` JSON object of one function, as text (`{"name":"f",...}` up to its `}}` or
/// `}`), for assertions on its fields.
pub fn function_json(status: &str, name: &str) -> Option<String> {
    let start = status.find(&format!("{{\"name\":\"{name}\","))?;
    let rest = &status[start..];
    let end = rest
        .find("}}")
        .map(|i| i + 2)
        .or_else(|| rest.find('}').map(|i| i + 1))?;
    Some(rest[..end].to_string())
}

// ---- a gear worker of our own --------------------------------------------------------------------

/// What a [`Worker`] does with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// WORK_DATA with the first byte of the reversed workload, WORK_COMPLETE with the rest.
    ReverseInTwoParts,
    /// WORK_FAIL.
    Fail,
    /// WORK_EXCEPTION with `boom: <workload>`.
    Exception,
    /// WORK_COMPLETE with the workload unchanged.
    Echo,
}

/// One job a [`Worker`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub function: String,
    pub unique: String,
    pub data: Vec<u8>,
}

/// A gear worker thread on one server, registered for `functions` and identified by `id`.
/// Every job it ran is recorded in `done`. Stops (and disconnects) on drop.
pub struct Worker {
    stop: Arc<AtomicBool>,
    pub done: Arc<Mutex<Vec<Done>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub fn start(port: u16, id: &str, functions: &[&str], behaviour: Behaviour) -> Worker {
        let mut conn = Conn::connect(port);
        conn.send(ptype::SET_CLIENT_ID, &[id.as_bytes()]);
        for f in functions {
            conn.send(ptype::CAN_DO, &[f.as_bytes()]);
        }
        conn.sync();
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Mutex::new(Vec::new()));
        let (s, d) = (Arc::clone(&stop), Arc::clone(&done));
        let thread = std::thread::spawn(move || work(conn, behaviour, &s, &d));
        Worker {
            stop,
            done,
            thread: Some(thread),
        }
    }

    /// How many jobs ran so far.
    pub fn count(&self) -> usize {
        self.done.lock().unwrap().len()
    }

    /// The workloads of the jobs that ran, as text.
    pub fn payloads(&self) -> Vec<String> {
        let done = self.done.lock().unwrap();
        done.iter()
            .map(|d| String::from_utf8_lossy(&d.data).into_owned())
            .collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The worker loop: GRAB_JOB_UNIQ; on NO_JOB, PRE_SLEEP and wait for NOOP (checking `stop` every
/// 100 ms). Ends when stopped or when the server goes away.
fn work(mut c: Conn, behaviour: Behaviour, stop: &AtomicBool, done: &Mutex<Vec<Done>>) {
    let tick = Duration::from_millis(100);
    while !stop.load(Ordering::SeqCst) {
        if !c.try_send(ptype::GRAB_JOB_UNIQ, &[]) {
            return;
        }
        let p = loop {
            match c.try_recv(tick) {
                Ok(p) => break p,
                Err(ReadEnd::Timeout) if !stop.load(Ordering::SeqCst) => continue,
                Err(_) => return,
            }
        };
        match p.ptype {
            ptype::JOB_ASSIGN_UNIQ => {
                let args: Vec<Vec<u8>> =
                    p.body.splitn(4, |&b| b == 0).map(<[u8]>::to_vec).collect();
                let [handle, function, unique, data] = &args[..] else {
                    return;
                };
                answer(&mut c, behaviour, handle, data);
                done.lock().unwrap().push(Done {
                    function: String::from_utf8_lossy(function).into_owned(),
                    unique: String::from_utf8_lossy(unique).into_owned(),
                    data: data.clone(),
                });
            }
            ptype::NO_JOB => {
                if !c.try_send(ptype::PRE_SLEEP, &[]) {
                    return;
                }
                // Sleep until NOOP (or until stopped): the server wakes us when a job arrives.
                loop {
                    match c.try_recv(tick) {
                        Ok(p) if p.ptype == ptype::NOOP => break,
                        Ok(_) => {}
                        Err(ReadEnd::Timeout) if !stop.load(Ordering::SeqCst) => {}
                        Err(_) => return,
                    }
                }
            }
            _ => {}
        }
    }
}

fn answer(c: &mut Conn, behaviour: Behaviour, handle: &[u8], data: &[u8]) {
    match behaviour {
        Behaviour::ReverseInTwoParts => {
            let rev: Vec<u8> = data.iter().rev().copied().collect();
            let split = rev.len().min(1);
            c.try_send(ptype::WORK_DATA, &[handle, &rev[..split]]);
            c.try_send(ptype::WORK_COMPLETE, &[handle, &rev[split..]]);
        }
        Behaviour::Fail => {
            c.try_send(ptype::WORK_FAIL, &[handle]);
        }
        Behaviour::Exception => {
            let text = [b"boom: ", data].concat();
            c.try_send(ptype::WORK_EXCEPTION, &[handle, &text]);
        }
        Behaviour::Echo => {
            c.try_send(ptype::WORK_COMPLETE, &[handle, data]);
        }
    }
}

/// A connection that registered `functions` (processed by the server), doing nothing else.
pub fn registered(port: u16, functions: &[&str]) -> Conn {
    let mut c = Conn::connect(port);
    for f in functions {
        c.send(ptype::CAN_DO, &[f.as_bytes()]);
    }
    c.sync();
    c
}

/// Waits until `worker` has run `n` jobs.
#[track_caller]
pub fn await_jobs(worker: &Worker, n: usize, what: &str) {
    wait_for(what, Duration::from_secs(20), || worker.count() >= n);
}

// ---- external programs --------------------------------------------------------------------------

/// Runs `program args` with a deadline; returns (status, stdout, stderr).
pub fn run(program: &str, args: &[&str], timeout: Duration) -> (ExitStatus, String, String) {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_with_timeout(cmd, timeout)
}

/// Runs a Python 3 script (given as text) with `args`; returns (status, stdout, stderr).
pub fn python(script: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    run("python3", &all, Duration::from_secs(60))
}

/// Whether `python3` can import `module`.
pub fn python_has(module: &str) -> bool {
    crate::common::have_program("python3")
        && Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Where test artifacts (screenshots) go: `<target>/test-artifacts/<name>`.
pub fn artifact_dir(name: &str) -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts").join(name);
    std::fs::create_dir_all(&dir).expect("create artifact dir");
    dir
}
