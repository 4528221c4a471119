//! Gear traffic of the persistence tests (part of `persist.rs`): background jobs as clients
//! submit them ([`Job`], [`submit_frame`]), as a worker receives them ([`grab`], [`drain`]), and
//! server control ([`stop`], [`kill9`], [`replayed`], [`queued`]).
#![allow(dead_code)]

use super::{PREFIX, STOP_DEADLINE};
use crate::common::gear::{frame_req, ReadEnd};
use crate::common::{ptype, Conn, Server};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
// ---------------------------------------------------------------------------------------------
// Jobs: submitting, receiving, server control
// ---------------------------------------------------------------------------------------------

/// Queue priority as the worker should see its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prio {
    High,
    Normal,
    Low,
}

/// One background job as a client submits it.
#[derive(Debug, Clone)]
pub struct Job {
    /// SUBMIT_JOB_BG, _HIGH_BG, _LOW_BG, _EPOCH or SUBMIT_REDUCE_JOB_BACKGROUND.
    pub kind: u32,
    pub function: Vec<u8>,
    pub unique: Vec<u8>,
    pub data: Vec<u8>,
    /// Epoch seconds (SUBMIT_JOB_EPOCH only).
    pub when: i64,
}

impl Job {
    pub fn new(kind: u32, function: &[u8], unique: &[u8], data: &[u8]) -> Job {
        Job {
            kind,
            function: function.to_vec(),
            unique: unique.to_vec(),
            data: data.to_vec(),
            when: 0,
        }
    }

    pub fn epoch(function: &[u8], unique: &[u8], data: &[u8], when: i64) -> Job {
        Job {
            when,
            ..Job::new(ptype::SUBMIT_JOB_EPOCH, function, unique, data)
        }
    }

    pub fn prio(&self) -> Prio {
        match self.kind {
            ptype::SUBMIT_JOB_HIGH_BG => Prio::High,
            ptype::SUBMIT_JOB_LOW_BG => Prio::Low,
            _ => Prio::Normal,
        }
    }

    /// (function, unique, data): what a worker must receive.
    pub fn key(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (
            self.function.clone(),
            self.unique.clone(),
            self.data.clone(),
        )
    }
}

/// The request frame submitting `job`.
pub fn submit_frame(job: &Job) -> Vec<u8> {
    let (f, u, d) = (&job.function[..], &job.unique[..], &job.data[..]);
    match job.kind {
        ptype::SUBMIT_JOB_EPOCH => {
            let when = job.when.to_string();
            frame_req(job.kind, &[f, u, when.as_bytes(), d])
        }
        ptype::SUBMIT_REDUCE_JOB_BACKGROUND => frame_req(job.kind, &[f, u, b"reducer", b"", d]),
        k => frame_req(k, &[f, u, d]),
    }
}

/// Submits `job` and returns the JOB_CREATED handle; panics on anything else.
#[track_caller]
pub fn submit(c: &mut Conn, job: &Job) -> Vec<u8> {
    c.send_raw(&submit_frame(job));
    let p = c.recv();
    assert_eq!(p.ptype, ptype::JOB_CREATED, "submit of {job:?}: got {p:?}");
    p.body
}

/// The number in a handle `T:<n>`.
pub fn handle_number(handle: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(handle);
    text.strip_prefix(&format!("{PREFIX}:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("handle {text:?} is not {PREFIX}:<n>"))
}

/// A job as a worker got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grabbed {
    pub handle: Vec<u8>,
    pub function: Vec<u8>,
    pub unique: Vec<u8>,
    pub data: Vec<u8>,
}

impl Grabbed {
    pub fn key(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (
            self.function.clone(),
            self.unique.clone(),
            self.data.clone(),
        )
    }
}

/// A worker connection that can do `funcs`.
pub fn worker(s: &Server, funcs: &[&[u8]]) -> Conn {
    let mut w = s.connect();
    for f in funcs {
        w.send(ptype::CAN_DO, &[f]);
    }
    w.sync();
    w
}

/// One GRAB_JOB_UNIQ: the job, or `None` on NO_JOB.
#[track_caller]
pub fn grab(w: &mut Conn) -> Option<Grabbed> {
    w.send(ptype::GRAB_JOB_UNIQ, &[]);
    loop {
        let p = w.recv();
        match p.ptype {
            ptype::NO_JOB => return None,
            ptype::NOOP => continue,
            ptype::JOB_ASSIGN_UNIQ => {
                let mut parts = p.body.splitn(4, |b| *b == 0);
                let mut next = || parts.next().unwrap_or_default().to_vec();
                return Some(Grabbed {
                    handle: next(),
                    function: next(),
                    unique: next(),
                    data: next(),
                });
            }
            _ => panic!("GRAB_JOB_UNIQ: unexpected {p:?}"),
        }
    }
}

/// Grabs until NO_JOB (bounded by `max`), without completing anything.
pub fn drain(w: &mut Conn, max: usize) -> Vec<Grabbed> {
    let mut got = Vec::new();
    while let Some(g) = grab(w) {
        got.push(g);
        assert!(got.len() <= max, "more than {max} jobs to drain");
    }
    got
}

/// WORK_COMPLETE for each handle, then an echo round trip (all of them processed).
pub fn complete_all(w: &mut Conn, jobs: &[Grabbed]) {
    for g in jobs {
        w.send(ptype::WORK_COMPLETE, &[&g.handle, b"done"]);
    }
    w.sync();
}

/// Sends SIGTERM and waits for a clean exit.
#[track_caller]
pub fn stop(mut s: Server) {
    s.signal(libc::SIGTERM);
    let st = s.wait_exit(STOP_DEADLINE);
    assert!(
        st.is_some_and(|st| st.success()),
        "server did not exit cleanly after SIGTERM ({st:?}); stderr:\n{}",
        s.stderr()
    );
}

/// Kills the server with SIGKILL and waits for it to be gone.
pub fn kill9(mut s: Server) {
    s.signal(libc::SIGKILL);
    assert!(
        s.wait_exit(STOP_DEADLINE).is_some(),
        "SIGKILL did not end the server"
    );
}

/// N from the server's `replayed N jobs from the queue` line, which it logs at the end of every
/// replay (zero included). The log reaches the test through a reader thread that may lag behind
/// the server, so the line is awaited with a deadline.
pub fn replayed(s: &Server) -> usize {
    s.connect().sync();
    let parse = |log: String| {
        log.lines().find_map(|l| {
            let rest = l.split("replayed ").nth(1)?;
            rest.strip_suffix(" jobs from the queue")?
                .trim()
                .parse()
                .ok()
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(n) = parse(s.stderr()) {
            return n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `replayed N jobs` line in the log:\n{}",
            s.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The `queued` column of admin `status` for `function` (0 when not listed).
pub fn queued(s: &Server, function: &str) -> u64 {
    let mut c = s.connect();
    let reply = c.admin_list("status");
    reply
        .lines()
        .find_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 2 && cols[0] == function).then(|| cols[1].parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// Seconds since the epoch.
pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Reads one reply within `limit`: the packet, or why none came.
pub fn reply_within(c: &mut Conn, limit: Duration) -> Result<crate::common::Packet, ReadEnd> {
    c.try_recv(limit)
}

/// Rows of the sqlite table `table` in `db`, read with the same SQLite the plugin embeds (no
/// sqlite3 or python3 program needed: the fresh-machine check has neither).
pub fn sqlite_rows(db: &str, table: &str) -> Option<u64> {
    let conn = rusqlite::Connection::open(db).ok()?;
    let sql = format!("SELECT count(*) FROM {table}");
    conn.query_row(&sql, [], |row| row.get(0)).ok()
}
