//! `--spin-us` (runtime/spin.rs): before a thread sleeps it looks for more work for up to that
//! many microseconds. Looking must never change what clients see, must give way to timers, and
//! must end: a server with nothing to do sleeps.

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::*;
use hardening::cpu_ticks;
use std::time::{Duration, Instant};

fn ours(extra: &[&str]) -> Server {
    start(Kind::Ours, extra)
}

/// One foreground job, start to finish.
fn one_job(s: &Server, data: &[u8]) {
    let mut w = worker(s, &["f"]);
    let mut c = s.connect();
    let handle = submit(&mut c, ptype::SUBMIT_JOB, "f", "", data);
    w.send(ptype::GRAB_JOB, &[]);
    w.expect(ptype::JOB_ASSIGN, &[&handle, b"f", data]);
    w.send(ptype::WORK_COMPLETE, &[&handle, data]);
    c.expect(ptype::WORK_COMPLETE, &[&handle, data]);
}

#[test]
fn jobs_run_with_looking_off_and_at_its_longest_with_every_thread_model() {
    for t in ["0", "1", "4"] {
        for spin in ["0", "100000"] {
            let s = ours(&["-t", t, "--spin-us", spin]);
            one_job(&s, format!("-t {t} --spin-us {spin}").as_bytes());
        }
    }
}

/// A timer due before the looks would end is not kept waiting for them: with 100 ms of looking
/// and a 1 ms grab hold, NO_JOB comes after the hold, not after the looks.
#[test]
fn a_timer_due_sooner_cuts_the_looks_short() {
    for t in ["1", "4"] {
        let s = ours(&["-t", t, "--spin-us", "100000", "--grab-hold-us", "1000"]);
        let mut w = worker(&s, &["f"]);
        w.sync();
        let sent = Instant::now();
        w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
        let waited = sent.elapsed();
        assert!(
            waited < Duration::from_millis(60),
            "-t {t}: NO_JOB after {waited:?}; the 1 ms hold waited for the 100 ms of looking"
        );
    }
}

/// After the work is done every thread goes to sleep: a server with a sleeping worker and an
/// idle client uses (almost) no CPU, where threads that kept looking would use a core each.
#[test]
fn an_idle_server_sleeps_after_looking() {
    let s = ours(&["-t", "4", "--spin-us", "100000"]);
    one_job(&s, b"wake every thread once");
    let mut w = worker(&s, &["f"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync();
    let _client = s.connect();
    // The last looks run out within 100 ms; then a whole second must pass nearly without CPU.
    // Looking forever would use 100 ticks a second per thread.
    wait_for(
        "a second in which the idle server used at most 5 CPU ticks",
        Duration::from_secs(10),
        || {
            let before = cpu_ticks(s.pid());
            std::thread::sleep(Duration::from_secs(1));
            let used = cpu_ticks(s.pid()) - before;
            used <= 5
        },
    );
}

/// Values above 100 ms are refused with a message naming the option.
#[test]
fn an_out_of_range_spin_is_refused() {
    let err = check_args_refused(&["--spin-us", "100001"]);
    assert!(err.contains("spin-us"), "{err}");
}
