//! Bench workers: grab jobs, check them, echo the payload back as the result.
//!
//! A worker pipelines WORK_COMPLETE with its next GRAB_JOB in one write, and sleeps the protocol
//! way (PRE_SLEEP, wait for NOOP) when there is nothing to do, as real workers do.

use crate::proto::*;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub const FUNCTION: &[u8] = b"bench";

/// Shared bookkeeping of a worker pool.
#[derive(Default)]
pub struct Tally {
    /// Jobs completed by all workers.
    pub done: AtomicU64,
    /// Per-job "seen" flags for background runs (index = sequence number in the payload).
    pub seen: Vec<AtomicBool>,
    /// Set on the first duplicate or malformed job.
    pub error: std::sync::Mutex<Option<String>>,
}

impl Tally {
    pub fn with_jobs(n: usize) -> Tally {
        Tally {
            seen: (0..n).map(|_| AtomicBool::new(false)).collect(),
            ..Tally::default()
        }
    }

    fn fail(&self, msg: String) {
        self.error.lock().unwrap().get_or_insert(msg);
    }

    /// Marks job `seq` as run; a second run of the same job is an error.
    fn mark(&self, seq: u64) {
        if let Some(flag) = self.seen.get(seq as usize) {
            if flag.swap(true, Ordering::Relaxed) {
                self.fail(format!("job {seq} was handed out twice"));
            }
        }
    }
}

/// A running pool of workers; `stop` closes their sockets and joins them.
pub struct Pool {
    threads: Vec<JoinHandle<()>>,
    closers: Vec<Closer>,
}

impl Pool {
    pub fn start(addr: &str, n: usize, tally: Arc<Tally>) -> io::Result<Pool> {
        let mut pool = Pool {
            threads: Vec::new(),
            closers: Vec::new(),
        };
        for _ in 0..n {
            let mut conn = Conn::connect(addr)?;
            conn.send(CAN_DO, &[FUNCTION])?;
            conn.send(GRAB_JOB, &[])?;
            conn.flush()?;
            pool.closers.push(conn.closer()?);
            let tally = tally.clone();
            pool.threads.push(std::thread::spawn(move || {
                // Errors after `stop` closed the socket are the normal way out.
                let _ = work(&mut conn, &tally);
            }));
        }
        Ok(pool)
    }

    pub fn stop(self) {
        for c in &self.closers {
            c.close();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The payload's first 8 bytes carry the job's sequence number.
pub fn payload_seq(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(..8)?.try_into().ok()?))
}

fn work(conn: &mut Conn, tally: &Tally) -> io::Result<()> {
    loop {
        let p = conn.recv()?;
        match p.kind {
            JOB_ASSIGN => {
                let parts = p.split(2);
                if parts.len() != 3 || parts[1] != FUNCTION {
                    tally.fail(format!("malformed JOB_ASSIGN: {:?}", p.body));
                    continue;
                }
                match payload_seq(parts[2]) {
                    Some(seq) => tally.mark(seq),
                    None => tally.fail("payload without sequence number".into()),
                }
                conn.send(WORK_COMPLETE, &[parts[0], parts[2]])?;
                conn.send(GRAB_JOB, &[])?;
                conn.flush()?;
                tally.done.fetch_add(1, Ordering::Relaxed);
            }
            NO_JOB => {
                conn.send(PRE_SLEEP, &[])?;
                conn.flush()?;
            }
            NOOP => {
                conn.send(GRAB_JOB, &[])?;
                conn.flush()?;
            }
            other => tally.fail(format!("worker got unexpected packet type {other}")),
        }
    }
}
