//! Cancelling background jobs while the queue thread is still storing them, through the real
//! server with `-q sqlite`: one connection pipelines 3,000 SUBMIT_JOB_BG while an admin
//! connection cancels every handle `show jobs` lists.
//!
//! Every submit must still be acknowledged, no cancelled job may reach a worker, every other job
//! must, the counts must come back to zero, the table must end empty, and the log must not say
//! that a count went out of step (the engine's counts once drifted exactly here).

mod common;
#[macro_use]
#[path = "common/persist.rs"]
mod persist;

use common::{ptype, wait_for, Conn};
use persist::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const JOBS: usize = 3000;
const WAIT: Duration = Duration::from_secs(10);

/// How far the two sides are: the canceller's rounds and cancels, and the end of the submits.
#[derive(Default)]
struct Progress {
    listed: AtomicBool,
    cancels: AtomicUsize,
    done: AtomicBool,
}

/// Cancels every job `show jobs` lists, round after round, until one round after `done`;
/// returns the handles cancelled with `OK`.
fn cancel_listed(mut admin: Conn, progress: &Progress) -> HashSet<Vec<u8>> {
    let mut cancelled = HashSet::new();
    let mut tried = HashSet::new();
    loop {
        let last = progress.done.load(Ordering::Acquire);
        let listing = admin.admin_list("show jobs");
        progress.listed.store(true, Ordering::Release);
        for line in listing.lines().filter(|l| *l != ".") {
            let handle = line.split('\t').next().unwrap_or_default().to_string();
            if tried.insert(handle.clone())
                && admin.admin_line(&format!("cancel job {handle}")) == "OK\r\n"
            {
                cancelled.insert(handle.into_bytes());
                progress.cancels.fetch_add(1, Ordering::AcqRel);
            }
        }
        if last {
            return cancelled;
        }
    }
}

#[test]
fn cancelling_jobs_being_stored_keeps_every_count_true() {
    let Some(store) = Store::new(Backend::Sqlite, "cancelstoring", Via::Direct) else {
        return;
    };
    let s = store.start(&[]);
    let mut client = s.connect();
    let bytes: Vec<u8> = (0..JOBS)
        .flat_map(|i| {
            let unique = format!("c{i}");
            submit_frame(&Job::new(
                ptype::SUBMIT_JOB_BG,
                b"drift",
                unique.as_bytes(),
                b"x",
            ))
        })
        .collect();
    let progress = Progress::default();
    let admin = s.connect();
    let cancelled = std::thread::scope(|scope| {
        let canceller = scope.spawn(|| cancel_listed(admin, &progress));
        let cancels = || progress.cancels.load(Ordering::Acquire);
        wait_for("the first listing", WAIT, || {
            progress.listed.load(Ordering::Acquire)
        });
        // In bursts, each sent once the canceller has reached the one before, so that cancels
        // land while the queue thread is storing.
        for burst in bytes.chunks(bytes.len() / 30) {
            let before = cancels();
            client.send_raw(burst);
            wait_for("a cancel in the burst", WAIT, || cancels() > before);
        }
        for i in 0..JOBS {
            let p = client.recv();
            assert_eq!(p.ptype, ptype::JOB_CREATED, "reply {i}: {p:?}");
        }
        progress.done.store(true, Ordering::Release);
        canceller.join().expect("canceller")
    });
    assert!(
        !cancelled.is_empty(),
        "the admin connection cancelled nothing"
    );
    eprintln!("cancelled {} of {JOBS} jobs", cancelled.len());

    let mut w = worker(&s, &[b"drift"]);
    let got = drain(&mut w, JOBS);
    complete_all(&mut w, &got);
    let ran: HashSet<Vec<u8>> = got.iter().map(|g| g.handle.clone()).collect();
    let both: Vec<_> = ran.intersection(&cancelled).collect();
    assert!(both.is_empty(), "cancelled jobs reached a worker: {both:?}");
    assert_eq!(ran.len() + cancelled.len(), JOBS, "jobs lost or run twice");

    let status = s.connect().admin_list("status");
    assert!(
        status.contains("drift\t0\t0\t1"),
        "status after the drain:\n{status}"
    );
    let log = s.stderr();
    assert!(
        !log.contains("out of step"),
        "the log says a count drifted:\n{log}"
    );
    stop(s);
    let rows = sqlite_rows(&store.file("queue.db"), &store.name);
    assert_eq!(rows, Some(0), "rows left in the table");
}
