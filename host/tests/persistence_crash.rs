//! kill -9 and SIGTERM under load (issues 3 and 5), for each of the six backends: several clients
//! submit background jobs as fast as the server acknowledges them, the server is killed with
//! SIGKILL (or stopped with SIGTERM, which must end in exit status 0) in the middle, and after a
//! restart every job that got JOB_CREATED is replayed: none is lost. The counts are printed
//! (`KILL9 <backend>: ...`, `SIGTERM <backend>: ...`; run with `--nocapture` to see them).

mod common;
#[macro_use]
#[path = "common/persist.rs"]
mod persist;

use common::{ptype, Conn};
use persist::*;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent submitting clients.
const CLIENTS: usize = 6;
/// Submits each client keeps in flight (so group commit has groups to make).
const WINDOW: usize = 16;
/// Upper bound of submits per client.
const PER_CLIENT: usize = 20_000;
/// Upper bound of a client's run.
const CLIENT_TIME: Duration = Duration::from_secs(90);
/// The server is killed once this many jobs were acknowledged ...
const KILL_AFTER: usize = 3000;
/// ... or after this long, whichever comes first.
const KILL_DEADLINE: Duration = Duration::from_secs(45);
/// The function every crash job belongs to.
const FUNCTION: &[u8] = b"crash";

/// What one client saw.
#[derive(Default)]
struct Seen {
    sent: usize,
    acked: Vec<Vec<u8>>,
    errors: usize,
}

/// Submits with a window of [`WINDOW`] until stopped, bounded, or the server is gone. Replies
/// come in request order, so each JOB_CREATED acknowledges the oldest outstanding submit.
fn client(port: u16, id: usize, stop: Arc<AtomicBool>, total: Arc<AtomicUsize>) -> Seen {
    let mut c = Conn::connect(port);
    let mut seen = Seen::default();
    let mut outstanding: VecDeque<Vec<u8>> = VecDeque::new();
    let deadline = Instant::now() + CLIENT_TIME;
    loop {
        while outstanding.len() < WINDOW
            && seen.sent < PER_CLIENT
            && !stop.load(Ordering::SeqCst)
            && Instant::now() < deadline
        {
            let unique = format!("c{id}-{}", seen.sent).into_bytes();
            if !c.try_send(ptype::SUBMIT_JOB_BG, &[FUNCTION, &unique, b"payload"]) {
                return seen;
            }
            outstanding.push_back(unique);
            seen.sent += 1;
        }
        let Some(unique) = outstanding.pop_front() else {
            return seen;
        };
        match c.try_recv(Duration::from_secs(30)) {
            Ok(p) if p.ptype == ptype::JOB_CREATED => {
                seen.acked.push(unique);
                total.fetch_add(1, Ordering::SeqCst);
            }
            Ok(p) if p.ptype == ptype::ERROR => seen.errors += 1,
            Ok(p) => panic!("client {id}: unexpected {p:?}"),
            Err(_) => return seen, // killed: whatever was not acknowledged does not count
        }
    }
}

/// How the server is stopped in the middle of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGKILL: no chance to flush anything.
    Kill9,
    /// SIGTERM: stop accepting, finish what is in flight, flush, exit 0.
    Term,
}

fn kill9_under_load(backend: Backend) {
    stopped_under_load(backend, Stop::Kill9)
}
per_backend!(kill9_under_load);

fn sigterm_under_load(backend: Backend) {
    stopped_under_load(backend, Stop::Term)
}
per_backend!(sigterm_under_load);

fn stopped_under_load(backend: Backend, how: Stop) {
    let Some(store) = Store::new(backend, "crash", Via::Direct) else {
        return;
    };
    let s = store.start(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (port, stop, total) = (s.port(), stop.clone(), total.clone());
            std::thread::spawn(move || client(port, id, stop, total))
        })
        .collect();
    let started = Instant::now();
    while total.load(Ordering::SeqCst) < KILL_AFTER && started.elapsed() < KILL_DEADLINE {
        std::thread::sleep(Duration::from_millis(10)); // polling the clients' progress
    }
    match how {
        Stop::Kill9 => kill9(s),
        Stop::Term => stop_server(s), // asserts a clean exit (status 0)
    }
    let killed_after = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let seen: Vec<Seen> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let sent: usize = seen.iter().map(|s| s.sent).sum();
    let errors: usize = seen.iter().map(|s| s.errors).sum();
    let acked: Vec<&Vec<u8>> = seen.iter().flat_map(|s| &s.acked).collect();
    assert!(
        !acked.is_empty(),
        "{backend:?}: no job was acknowledged before the kill"
    );
    assert_eq!(errors, 0, "{backend:?}: submits refused before the kill");

    let s = store.start(&[]);
    let replayed_n = replayed(&s);
    let queued_n = queued(&s, "crash");
    let mut w = worker(&s, &[FUNCTION]);
    let got = drain(&mut w, 10 * CLIENTS * PER_CLIENT);
    let uniques: HashSet<&[u8]> = got.iter().map(|g| g.unique.as_slice()).collect();
    assert_eq!(
        uniques.len(),
        got.len(),
        "{backend:?}: a job was replayed twice"
    );
    assert!(got
        .iter()
        .all(|g| g.function == FUNCTION && g.data == b"payload"));
    let lost: Vec<String> = acked
        .iter()
        .filter(|u| !uniques.contains(u.as_slice()))
        .map(|u| String::from_utf8_lossy(u).into_owned())
        .collect();
    eprintln!(
        "{} {}: stopped after {:.2}s; {sent} submitted, {} acknowledged, {replayed_n} \
         replayed (status {queued_n}, drained {}), {} lost, {} stored but not acknowledged",
        if how == Stop::Kill9 {
            "KILL9"
        } else {
            "SIGTERM"
        },
        backend.name(),
        killed_after.as_secs_f64(),
        acked.len(),
        got.len(),
        lost.len(),
        got.len() + lost.len() - acked.len()
    );
    assert!(
        lost.is_empty(),
        "{backend:?}: {} acknowledged jobs lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert_eq!(queued_n as usize, got.len(), "status and drain disagree");
    complete_all(&mut w, &got);
    stop_server(s);
}

fn stop_server(s: common::Server) {
    persist::stop(s)
}
