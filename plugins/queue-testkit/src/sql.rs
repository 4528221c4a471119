//! Helpers for the SQL queue plugins' tests (sqlite, postgres, mysql): the odd jobs every backend
//! must round-trip, replay into owned jobs, C gearmand driven as a child process over the real gear
//! protocol, and a TCP proxy that takes a database "down".

use gearmand_plugin_api::{Priority, QueueJob, QueuePlugin};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Outside CI a missing service skips the test loudly; in CI (CI=true) it fails it.
pub fn unavailable(service: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{service} not reachable in CI: {why}");
    }
    eprintln!("\n*** SKIP: {service} not reachable ({why}) ***\n");
}

/// A job with owned bytes, for comparing what went in with what came out.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    pub unique: Vec<u8>,
    pub function: Vec<u8>,
    pub data: Vec<u8>,
    pub priority: Priority,
    pub when: i64,
}

/// Bytes escaped and cut short, so a failed comparison stays readable.
fn short(b: &[u8]) -> String {
    let text: String = b
        .iter()
        .take(24)
        .flat_map(|c| std::ascii::escape_default(*c))
        .map(char::from)
        .collect();
    if b.len() > 24 {
        format!("{text}...({} bytes)", b.len())
    } else {
        text
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Job({:?} {:?} {:?} {:?} when={})",
            short(&self.unique),
            short(&self.function),
            short(&self.data),
            self.priority,
            self.when
        )
    }
}

impl Job {
    pub fn new(unique: &[u8], function: &[u8], data: &[u8], priority: Priority, when: i64) -> Job {
        Job {
            unique: unique.to_vec(),
            function: function.to_vec(),
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

/// A unique suffix for table names, so parallel tests and developers never share a table.
pub fn unique_name(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every kind of job and every awkward key and payload the issue names.
pub fn odd_jobs() -> Vec<Job> {
    let later = now_epoch() + 3600;
    vec![
        Job::new(b"plain", b"fn", b"data", Priority::Normal, 0),
        Job::new(b"hi", b"fn", b"high", Priority::High, 0),
        Job::new(b"lo", b"fn", b"low", Priority::Low, 0),
        Job::new(b"epoch", b"fn", b"later", Priority::Normal, later),
        Job::new(b"epoch-lo", b"fn", b"later", Priority::Low, later),
        Job::new(b"bin", b"fn", b"bin\0ary\xff\x00\x01", Priority::Normal, 0),
        Job::new(b"empty-data", b"fn", b"", Priority::Normal, 0),
        Job::new(b"", b"fn-empty-unique", b"x", Priority::Normal, 0),
        Job::new(b"dash-u-1", b"fn-x", b"d", Priority::Normal, 0),
        Job::new(b"it's", b"o'brien", b"q'", Priority::Low, 0),
        Job::new(b"back\\slash", b"fn\\x", b"\\", Priority::Normal, 0),
        Job::new(
            b"utf8 \xc3\xa9 \xe6\x97\xa5",
            b"fn",
            b"u",
            Priority::Normal,
            0,
        ),
        Job::new(b"raw \xff\xfe\x80", b"fn \xe9", b"n", Priority::High, 0),
        Job::new(b"nul\0key", b"fn", b"k", Priority::Normal, 0),
        // C gearmand keeps at most 63 bytes of a unique.
        Job::new(
            &[b'u'; 63],
            &[b'f'; 200],
            &vec![7u8; 100_000],
            Priority::Low,
            0,
        ),
    ]
}

/// Everything `q` replays, as owned jobs in replay order.
pub fn replay_all<Q: QueuePlugin>(q: &mut Q) -> Vec<Job> {
    let mut out = Vec::new();
    q.replay(&mut |j: &QueueJob<'_>| {
        out.push(Job::new(j.unique, j.function, j.data, j.priority, j.when));
        Ok(())
    })
    .expect("replay");
    out
}

/// Sorted copies, to compare sets of jobs.
pub fn sorted(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort();
    jobs
}

/// Polls `cond` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

// ---------------------------------------------------------------------------------------------
// C gearmand
// ---------------------------------------------------------------------------------------------

pub const C_GEARMAND: &str = "/usr/sbin/gearmand";

/// Gear packet types used here.
pub const SUBMIT_JOB_BG: u32 = 18;
pub const SUBMIT_JOB_HIGH_BG: u32 = 32;
pub const SUBMIT_JOB_LOW_BG: u32 = 34;
pub const SUBMIT_JOB_EPOCH: u32 = 36;
const JOB_CREATED: u32 = 8;

/// A running C gearmand on a loopback port.
pub struct CGearmand {
    child: Child,
    pub port: u16,
    pub log: String,
}

impl CGearmand {
    /// Starts `/usr/sbin/gearmand` with `queue_args`; None when it is not installed.
    pub fn start(queue_args: &[&str], dir: &std::path::Path) -> Option<CGearmand> {
        if !std::path::Path::new(C_GEARMAND).exists() {
            unavailable("C gearmand", "/usr/sbin/gearmand missing");
            return None;
        }
        let port = free_port();
        let log = dir
            .join(format!("gearmand-{port}.log"))
            .display()
            .to_string();
        let child = Command::new(C_GEARMAND)
            .args([
                "-p",
                &port.to_string(),
                "-L",
                "127.0.0.1",
                "-l",
                &log,
                "--verbose",
                "INFO",
            ])
            .args(queue_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gearmand");
        let mut g = CGearmand { child, port, log };
        let up = wait_until(Duration::from_secs(20), || {
            if let Ok(Some(status)) = g.child.try_wait() {
                panic!("C gearmand exited at start ({status}): {}", g.log_text());
            }
            g.admin("version\n").is_some()
        });
        assert!(up, "C gearmand did not come up: {}", g.log_text());
        Some(g)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One admin command's reply up to the terminating `.` line (or one line).
    pub fn admin(&self, cmd: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        s.write_all(cmd.as_bytes()).ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if out.ends_with(b".\n") || (cmd.starts_with("version") && out.ends_with(b"\n")) {
                break;
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// `status` as (function, total) pairs.
    pub fn status(&self) -> Vec<(String, u64)> {
        let text = self.admin("status\n").expect("status");
        text.lines()
            .filter(|l| *l != ".")
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?.to_string(), f.next()?.parse().ok()?))
            })
            .collect()
    }

    /// Submits one background job over the gear protocol and waits for JOB_CREATED.
    pub fn submit(&self, kind: u32, job: &Job) {
        let mut body = Vec::new();
        body.extend_from_slice(&job.function);
        body.push(0);
        body.extend_from_slice(&job.unique);
        body.push(0);
        if kind == SUBMIT_JOB_EPOCH {
            body.extend_from_slice(job.when.to_string().as_bytes());
            body.push(0);
        }
        body.extend_from_slice(&job.data);
        let mut pkt = b"\0REQ".to_vec();
        pkt.extend_from_slice(&kind.to_be_bytes());
        pkt.extend_from_slice(&(body.len() as u32).to_be_bytes());
        pkt.extend_from_slice(&body);
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&pkt).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).expect("reply");
        let ty = u32::from_be_bytes(head[4..8].try_into().unwrap());
        let len = u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize;
        let mut reply = vec![0u8; len];
        s.read_exact(&mut reply).unwrap();
        assert_eq!(
            ty,
            JOB_CREATED,
            "{job:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let exited = wait_until(Duration::from_secs(20), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for CGearmand {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The packet type C gearmand's gear protocol uses to submit `job` in the background (an epoch
/// job is always of normal priority there).
pub fn submit_kind(job: &Job) -> u32 {
    match (job.when, job.priority) {
        (w, _) if w != 0 => SUBMIT_JOB_EPOCH,
        (_, Priority::High) => SUBMIT_JOB_HIGH_BG,
        (_, Priority::Low) => SUBMIT_JOB_LOW_BG,
        _ => SUBMIT_JOB_BG,
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// A proxy that can take a database down and bring it back on the same port
// ---------------------------------------------------------------------------------------------

/// Forwards 127.0.0.1:`port` to `upstream` while up.
pub struct Proxy {
    pub port: u16,
    upstream: String,
    running: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    /// Local ports of the connections to the upstream (how the server sees each client).
    upstream_ports: Arc<Mutex<Vec<u16>>>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let mut p = Proxy {
            port: 0,
            upstream: upstream.to_string(),
            running: Arc::new(AtomicBool::new(false)),
            streams: Arc::default(),
            upstream_ports: Arc::default(),
            acceptor: None,
        };
        p.up();
        p
    }

    /// Listens again (on the same port after the first time).
    pub fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("proxy bind");
        self.port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        self.running.store(true, Ordering::SeqCst);
        let (running, streams, upstream) = (
            self.running.clone(),
            self.streams.clone(),
            self.upstream.clone(),
        );
        let ports = self.upstream_ports.clone();
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(&upstream) else {
                            continue;
                        };
                        ports
                            .lock()
                            .unwrap()
                            .push(server.local_addr().unwrap().port());
                        let mut held = streams.lock().unwrap();
                        held.push(client.try_clone().unwrap());
                        held.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// The local ports of every upstream connection made so far.
    pub fn upstream_ports(&self) -> Vec<u16> {
        self.upstream_ports.lock().unwrap().clone()
    }

    /// Stops listening and cuts every forwarded connection: the database is "down".
    pub fn down(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            t.join().unwrap();
        }
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The jobs of `jobs` that C gearmand can take over the gear protocol (no NUL inside a unique or
/// function name), as it stores them (an epoch job has normal priority).
pub fn as_c_submits(jobs: Vec<Job>) -> Vec<Job> {
    jobs.into_iter()
        .filter(|j| !j.unique.contains(&0) && !j.function.contains(&0))
        .map(|mut j| {
            if j.when != 0 {
                j.priority = Priority::Normal;
            }
            j
        })
        .collect()
}
