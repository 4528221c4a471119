//! Persistent queues end to end (issue 3), through the real server binary, for each of the six
//! backends: every kind of background job and every odd key and payload survives a restart and
//! reaches a worker exactly, in priority order; pipelined replies keep request order while
//! background jobs wait for their group commit; `--store-queue-on-shutdown` (sqlite).
//!
//! Crash tests are in `persistence_crash.rs`, backend outages, startup failures and the
//! out-of-tree plugin in `persistence_backends.rs`. Build first: `cargo build --workspace`.

mod common;
#[macro_use]
#[path = "common/persist.rs"]
mod persist;

use common::{ptype, wait_for};
use persist::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// Seconds ahead of submit time for the epoch job that must wait after the restart.
const FUTURE: i64 = 6;

/// Every kind of background job, with the odd names and payloads issue 3 lists.
fn every_kind(future: i64) -> Vec<Job> {
    use ptype::*;
    vec![
        Job::new(SUBMIT_JOB_BG, b"fn", b"n1", b"normal"),
        Job::new(SUBMIT_JOB_LOW_BG, b"fn", b"l1", b"low 1"),
        Job::new(SUBMIT_JOB_HIGH_BG, b"fn", b"h1", b"high 1"),
        Job::new(SUBMIT_JOB_LOW_BG, b"fn", b"l2", b"low 2"),
        Job::new(SUBMIT_JOB_HIGH_BG, b"fn", b"h2", b"high 2"),
        Job::epoch(b"fn", b"e-future", b"later", future),
        Job::epoch(b"fn", b"e-past", b"past", 1_000_000),
        Job::new(SUBMIT_REDUCE_JOB_BACKGROUND, b"fn", b"r1", b"reduce data"),
        Job::new(SUBMIT_JOB_BG, b"fn", b"bin", b"bin\0ary\0\xff\x00"),
        Job::new(SUBMIT_JOB_BG, b"fn", b"empty-data", b""),
        Job::new(SUBMIT_JOB_BG, b"fn", b"", b"empty unique"),
        Job::new(SUBMIT_JOB_BG, b"fn-x", b"u-1-2", b"-"),
        Job::new(SUBMIT_JOB_BG, b"fn-x-u", b"1-2", b"same C key"),
        Job::new(SUBMIT_JOB_LOW_BG, b"f'n", b"it's", b"'"),
        Job::new(SUBMIT_JOB_HIGH_BG, b"f\\n", b"back\\slash", b"\\"),
        Job::new(SUBMIT_JOB_BG, b"f\xff\xfe", b"u\xc3\x28\x80", b"\xff"),
        // Big enough that the engine keeps the request's buffer instead of copying the data.
        Job::new(SUBMIT_JOB_BG, b"fn-big", b"big", &big_payload()),
    ]
}

/// 5,000 bytes of every value, NULs included.
fn big_payload() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn functions(jobs: &[Job]) -> Vec<Vec<u8>> {
    let mut f: Vec<Vec<u8>> = jobs.iter().map(|j| j.function.clone()).collect();
    f.sort();
    f.dedup();
    f
}

/// Submit everything, restart, and a worker must receive exactly those jobs (function, unique,
/// data), by priority; the future epoch job not before its time. Completing them removes them:
/// a third start replays nothing.
fn round_trip(backend: Backend) {
    let Some(store) = Store::new(backend, "rt", Via::Direct) else {
        return;
    };
    let future = now_epoch() + FUTURE;
    let jobs = every_kind(future);
    let s = store.start(&[]);
    let mut c = s.connect();
    for j in &jobs {
        submit(&mut c, j);
    }
    assert_eq!(
        queued(&s, "fn"),
        11,
        "jobs of `fn` in memory before the restart"
    );
    stop(s);

    let s = store.start(&[]);
    assert_eq!(
        replayed(&s),
        jobs.len(),
        "replay count; log:\n{}",
        s.stderr()
    );
    let funcs = functions(&jobs);
    let refs: Vec<&[u8]> = funcs.iter().map(Vec::as_slice).collect();
    let mut w = worker(&s, &refs);
    let mut got = drain(&mut w, 100);
    // The future job arrives once its time has come, never before (1 s of clock rounding).
    let late = common::eventually("the future epoch job", Duration::from_secs(60), || {
        grab(&mut w)
    });
    assert!(
        now_epoch() >= future - 1,
        "epoch job ran at {} before its time {future}",
        now_epoch()
    );
    assert_eq!(
        late.unique, b"e-future",
        "the only job left should be the epoch one"
    );
    got.push(late.clone());

    let want: BTreeMap<_, _> = jobs.iter().map(|j| (j.key(), j.prio())).collect();
    let mut seen: Vec<_> = got.iter().map(Grabbed::key).collect();
    seen.sort();
    let expected: Vec<_> = want.keys().cloned().collect();
    assert_eq!(
        seen, expected,
        "{backend:?}: the worker got other jobs than were submitted"
    );
    let order: Vec<Prio> = got
        .iter()
        .filter(|g| g.function == b"fn" && g.unique != b"e-future")
        .map(|g| want[&g.key()])
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        order, sorted,
        "{backend:?}: jobs of `fn` not handed out by priority"
    );

    complete_all(&mut w, &got);
    stop(s);
    let s = store.start(&[]);
    assert_eq!(replayed(&s), 0, "completed jobs came back:\n{}", s.stderr());
    assert_eq!(queued(&s, "fn"), 0);
    stop(s);
}
per_backend!(round_trip);

/// What a pipelined request must get back.
#[derive(Debug)]
enum Expect {
    Created,
    Echo(Vec<u8>),
}

/// One write of many background submits with echoes and a foreground submit in between: the
/// replies come back in request order (JOB_CREATED handles increase, echoes in their places).
fn pipelining(backend: Backend) {
    let Some(store) = Store::new(backend, "pipe", Via::Direct) else {
        return;
    };
    let s = store.start(&[]);
    let mut c = s.connect();
    let (mut bytes, mut expect) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let unique = format!("p{i}");
        let job = Job::new(ptype::SUBMIT_JOB_BG, b"pipe", unique.as_bytes(), b"d");
        bytes.extend(submit_frame(&job));
        expect.push(Expect::Created);
        if i % 5 == 2 {
            let tag = format!("echo-{i}").into_bytes();
            bytes.extend(common::gear::frame_req(ptype::ECHO_REQ, &[&tag]));
            expect.push(Expect::Echo(tag));
        }
        if i == 30 {
            let fg = Job::new(ptype::SUBMIT_JOB, b"fg", b"fg-1", b"x");
            bytes.extend(submit_frame(&fg));
            expect.push(Expect::Created);
        }
    }
    c.send_raw(&bytes);
    let mut last = 0;
    for (i, e) in expect.iter().enumerate() {
        let p = c.recv();
        match e {
            Expect::Created => {
                assert_eq!(
                    p.ptype,
                    ptype::JOB_CREATED,
                    "reply {i}: want JOB_CREATED, got {p:?}"
                );
                let n = handle_number(&p.body);
                assert!(
                    n > last,
                    "reply {i}: handle {n} after {last}: out of request order"
                );
                last = n;
            }
            Expect::Echo(tag) => {
                assert_eq!(
                    p.ptype,
                    ptype::ECHO_RES,
                    "reply {i}: want ECHO_RES, got {p:?}"
                );
                assert_eq!(&p.body, tag, "reply {i}: echoes out of order");
            }
        }
    }
    assert_eq!(queued(&s, "pipe"), 60);
    assert_eq!(queued(&s, "fg"), 1);
    stop(s);
}
per_backend!(pipelining);

/// `--store-queue-on-shutdown` (sqlite): nothing is written while running, every job at SIGTERM,
/// and the next start replays them.
#[test]
fn sqlite_store_queue_on_shutdown() {
    let store = Store::new(Backend::Sqlite, "sqos", Via::Direct).unwrap();
    let db = store.file("queue.db");
    let count = || sqlite_rows(&db, &store.name).expect("count rows");
    let jobs: Vec<Job> = every_kind(now_epoch() + 3600)
        .into_iter()
        .filter(|j| j.unique != b"e-future")
        .collect();
    let s = store.start(&["--store-queue-on-shutdown"]);
    let mut c = s.connect();
    for j in &jobs {
        submit(&mut c, j);
    }
    c.sync();
    assert_eq!(
        count(),
        0,
        "the table must stay empty while the server runs"
    );
    stop(s);
    assert_eq!(count(), jobs.len() as u64, "jobs stored at SIGTERM");

    let s = store.start(&["--store-queue-on-shutdown"]);
    assert_eq!(replayed(&s), jobs.len());
    let funcs = functions(&jobs);
    let refs: Vec<&[u8]> = funcs.iter().map(Vec::as_slice).collect();
    let mut w = worker(&s, &refs);
    let got = drain(&mut w, 100);
    let mut seen: Vec<_> = got.iter().map(Grabbed::key).collect();
    let mut want: Vec<_> = jobs.iter().map(Job::key).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    complete_all(&mut w, &got);
    // `done` still deletes the rows of finished jobs.
    wait_for(
        "rows of completed jobs deleted",
        Duration::from_secs(20),
        || count() == 0,
    );
    stop(s);
    assert_eq!(count(), 0, "nothing left to store at the second shutdown");
}
