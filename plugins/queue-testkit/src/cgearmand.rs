//! Debian's C gearmand (/usr/sbin/gearmand 1.1.20) run as a child process on a free loopback
//! port, to prove layout compatibility in both directions: jobs are submitted and the status read
//! over its own protocols, and a `gearman -w` worker runs stored jobs. The check that jobs C
//! stores replay in a plugin is here too, since every backend runs it.

use crate::env::{free_port, skip, wait_until, which};
use crate::job::{assert_replayed, replay_all, Job, Order};
use gearmand_plugin_api::{Priority, QueuePlugin};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const C_GEARMAND: &str = "/usr/sbin/gearmand";

/// Gear packet types used here.
const SUBMIT_JOB_BG: u32 = 18;
const SUBMIT_JOB_HIGH_BG: u32 = 32;
const SUBMIT_JOB_LOW_BG: u32 = 34;
const SUBMIT_JOB_EPOCH: u32 = 36;
const JOB_CREATED: u32 = 8;

/// One line of the admin `status` reply: function, queued, running, available workers.
pub type FunctionStatus = (String, u64, u64, u64);

/// A running C gearmand; killed (if still running) and its log removed at drop.
pub struct CGearmand {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl CGearmand {
    /// Starts it with `queue_args`; `None` (after [`skip`]) when it is not installed.
    pub fn start(queue_args: &[impl AsRef<OsStr>]) -> Option<CGearmand> {
        if !Path::new(C_GEARMAND).exists() {
            skip("C gearmand (/usr/sbin/gearmand) not installed");
            return None;
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("cgearmand-{}-{port}.log", std::process::id()));
        let child = Command::new(C_GEARMAND)
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
            .args(queue_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn C gearmand");
        let mut g = CGearmand { child, port, log };
        // Up means answering the admin protocol, which comes after the queue's replay.
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

    /// One admin command's reply up to the terminating `.` line (or one line for `version`).
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

    /// The admin `status`, sorted by function.
    pub fn status(&self) -> Vec<FunctionStatus> {
        let text = self.admin("status\n").expect("status");
        let mut rows: Vec<FunctionStatus> = text
            .lines()
            .filter(|l| *l != ".")
            .filter_map(|l| {
                let mut f = l.split('\t');
                let function = f.next()?.to_string();
                let mut num = || f.next()?.parse().ok();
                Some((function, num()?, num()?, num()?))
            })
            .collect();
        rows.sort();
        rows
    }

    /// Submits `job` in the background over the gear protocol ([`submit_kind`]) and waits for
    /// JOB_CREATED.
    pub fn submit(&self, job: &Job) {
        let kind = submit_kind(job);
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

    /// Runs a `gearman -w` worker for `count` jobs of `function` and returns the workloads it
    /// printed; `None` (after [`skip`]) when the gearman CLI is not installed.
    pub fn work(&self, function: &str, count: usize) -> Option<String> {
        if which("gearman").is_none() {
            skip("the gearman CLI (gearman-tools) not installed");
            return None;
        }
        let out = Command::new("gearman")
            .args(["-w", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-f", function, "-c", &count.to_string(), "-t", "10000"])
            .stdin(Stdio::null())
            .output()
            .expect("run gearman -w");
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// SIGTERM and wait: a clean shutdown that leaves stored jobs in place.
    pub fn stop(&mut self) {
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
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The packet type that submits `job` in the background (C gearmand's epoch jobs are always of
/// normal priority).
pub fn submit_kind(job: &Job) -> u32 {
    match (job.when, job.priority) {
        (w, _) if w != 0 => SUBMIT_JOB_EPOCH,
        (_, Priority::High) => SUBMIT_JOB_HIGH_BG,
        (_, Priority::Low) => SUBMIT_JOB_LOW_BG,
        _ => SUBMIT_JOB_BG,
    }
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

/// What C gearmand's mysql and postgres modules can store: [`as_c_submits`] whose names are valid
/// UTF-8 (the modules' key columns are text).
pub fn as_c_sql_submits(jobs: Vec<Job>) -> Vec<Job> {
    as_c_submits(jobs)
        .into_iter()
        .filter(|j| {
            std::str::from_utf8(&j.unique).is_ok() && std::str::from_utf8(&j.function).is_ok()
        })
        .collect()
}

/// The check every queue plugin runs against C gearmand: started with `c_args`, C stores `jobs`
/// (as [`as_c_submits`] makes them) and is stopped; the queue `open` makes replays them with
/// priority and time intact. Returns that queue for the backend's own checks; `None` (after a
/// skip) when C gearmand is not installed.
pub fn jobs_stored_by_c_gearmand_replay_here<Q: QueuePlugin>(
    c_args: &[impl AsRef<OsStr>],
    jobs: Vec<Job>,
    open: impl FnOnce() -> Q,
    order: Order,
) -> Option<Q> {
    let mut c = CGearmand::start(c_args)?;
    for j in &jobs {
        c.submit(j);
    }
    c.stop();
    let mut q = open();
    assert_replayed(replay_all(&mut q), jobs, order);
    Some(q)
}
