//! D19: a GRAB_JOB that finds no job is held for up to `--grab-hold-us` (1 ms by default) and
//! answered with JOB_ASSIGN if a job arrives meanwhile; C gearmand answers NO_JOB at once.
//! (The engine tests in `engine/tests/parking_tests.rs` cover the bookkeeping with a hand-moved
//! clock; these check it over real sockets.)

mod common;
use common::*;
use std::time::{Duration, Instant};

fn ours(extra: &[&str]) -> Server {
    start(Kind::Ours, extra)
}

/// A job submitted while the grab waits goes to the waiting worker: no NO_JOB, NOOP or second
/// GRAB_JOB on the way.
#[test]
fn d19_a_job_arriving_during_the_hold_is_assigned() {
    let s = ours(&["--grab-hold-us", "1000000"]);
    let mut w = worker(&s, &["f"]);
    w.send(ptype::GRAB_JOB, &[]);
    let mut c = s.connect();
    c.send(ptype::SUBMIT_JOB, &[b"f", b"u", b"data"]);
    c.expect(ptype::JOB_CREATED, &[&h(1)]);
    w.expect(ptype::JOB_ASSIGN, &[&h(1), b"f", b"data"]);
    w.send(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
}

/// With nothing arriving, NO_JOB comes when the hold is over, not before.
#[test]
fn d19_no_job_comes_when_the_hold_ends() {
    let s = ours(&["--grab-hold-us", "300000"]);
    let mut w = worker(&s, &["f"]);
    let sent = Instant::now();
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "NO_JOB after {waited:?}, before the 300 ms hold ended"
    );
    // Then the usual: sleep, and a NOOP for the next job.
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync();
    let mut c = s.connect();
    submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"x");
    w.expect(ptype::NOOP, &[]);
}

/// Anything else the worker sends ends the hold first, so replies keep the order of requests.
#[test]
fn d19_another_packet_ends_the_hold_with_no_job_first() {
    let s = ours(&["--grab-hold-us", "1000000"]);
    let mut w = worker(&s, &["f"]);
    w.send(ptype::GRAB_JOB, &[]);
    w.send(ptype::ECHO_REQ, &[b"ping"]);
    w.expect(ptype::NO_JOB, &[]);
    w.expect(ptype::ECHO_RES, &[b"ping"]);
}

/// Values above one second are refused with a message naming the option.
#[test]
fn d19_an_out_of_range_hold_is_refused() {
    let err = check_args_refused(&["--grab-hold-us", "1000001"]);
    assert!(err.contains("grab-hold-us"), "{err}");
}
