//! Special submissions (docs/gear-protocol.md §7, §8): map/reduce jobs and GRAB_JOB_ALL, epoch
//! (scheduled) jobs, SUBMIT_JOB_SCHED. Each test runs against C gearmand and ours (`both!`); the
//! epoch timer wake-up of 2.0 (D3) is in `ours_only.rs`.

#[macro_use]
mod common;
use common::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

both!(reduce_jobs_carry_the_reducer_to_grab_job_all, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(
        ptype::SUBMIT_REDUCE_JOB,
        &[b"map", b"u1", b"red", b"agg", b"in"],
        &h(1),
    );
    c.created(
        ptype::SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"map", b"u2", b"red2", b"agg", b"in2"],
        &h(2),
    );
    c.created(ptype::SUBMIT_JOB_BG, &[b"map", b"u3", b"plain"], &h(3));
    let mut w = worker(&s, &["map"]);
    w.call(
        ptype::GRAB_JOB_ALL,
        &[],
        ptype::JOB_ASSIGN_ALL,
        &[&h(1), b"map", b"u1", b"red", b"in"],
    );
    w.call(
        ptype::GRAB_JOB_ALL,
        &[],
        ptype::JOB_ASSIGN_ALL,
        &[&h(2), b"map", b"u2", b"red2", b"in2"],
    );
    // Without a reducer GRAB_JOB_ALL answers JOB_ASSIGN_UNIQ.
    w.call(
        ptype::GRAB_JOB_ALL,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(3), b"map", b"u3", b"plain"],
    );
    w.call(ptype::GRAB_JOB_ALL, &[], ptype::NO_JOB, &[]);
    // The foreground reduce job is attached to its client.
    w.send(ptype::WORK_COMPLETE, &[&h(1), b"out"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"out"]);
});

both!(reduce_job_seen_by_plain_grab_job, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(
        ptype::SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"m", b"u", b"r", b"a", b"x"],
        &h(1),
    );
    let mut w = worker(&s, &["m"]);
    w.assigned(&[&h(1), b"m", b"x"]);
});

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

both!(epoch_job_waits_for_its_time, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let when = (now() + 2).to_string();
    c.created(
        ptype::SUBMIT_JOB_EPOCH,
        &[b"e", b"later", when.as_bytes(), b"d"],
        &h(1),
    );
    // Counted at once, but not handed out before its time.
    assert_eq!(sorted_lines(&c.admin_list("status")), ["e\t1\t0\t0"]);
    let mut w = worker(&s, &["e"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    let got = eventually("the epoch job to fall due", Duration::from_secs(6), || {
        w.send(ptype::GRAB_JOB, &[]);
        let p = w.recv();
        (p.ptype != ptype::NO_JOB).then_some(p)
    });
    assert!(now() >= when.parse::<u64>().unwrap(), "handed out early");
    assert_eq!(
        got.to_bytes(),
        frame_res(ptype::JOB_ASSIGN, &[&h(1), b"e", b"d"])
    );
});

both!(
    epoch_in_the_past_or_garbage_runs_now_in_background,
    |kind| {
        let s = start(kind, &[]);
        let mut c = s.connect();
        c.created(
            ptype::SUBMIT_JOB_EPOCH,
            &[b"e", b"a", b"1000", b"past"],
            &h(1),
        );
        c.created(
            ptype::SUBMIT_JOB_EPOCH,
            &[b"e", b"b", b"junk", b"garbage"],
            &h(2),
        );
        let mut w = worker(&s, &["e"]);
        w.assigned(&[&h(1), b"e", b"past"]);
        w.assigned(&[&h(2), b"e", b"garbage"]);
        // Epoch jobs are background: the submitter gets no result.
        w.send(ptype::WORK_COMPLETE, &[&h(1), b"r"]);
        w.sync();
        c.sync();
        assert_eq!(
            c.admin_list("show jobs"),
            format!("{}\t0\t0\t1\n.\n", "T:2")
        );
    }
);

both!(submit_job_sched_is_not_implemented, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let args: &[&[u8]] = &[b"f", b"u", b"1", b"2", b"3", b"4", b"5", b"d"];
    c.call(
        ptype::SUBMIT_JOB_SCHED,
        args,
        ptype::ERROR,
        &[b"INVALID_COMMAND", b"Command not expected"],
    );
    assert_eq!(c.admin_list("show jobs"), ".\n");
});
