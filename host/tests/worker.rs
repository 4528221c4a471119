//! Workers (docs/gear-protocol.md §5): CAN_DO / CANT_DO / RESET_ABILITIES / CAN_DO_TIMEOUT, PRE_SLEEP and
//! NOOP wake-ups (with and without `-w`), GRAB_JOB / _UNIQ / _ALL, requeue on disconnect and
//! `-j` retries. Run against C gearmand and ours; the ordering that 2.0 changed (D1, D2) is in
//! `ours_only.rs` and `c_reference.rs`.

#[macro_use]
mod common;
use common::*;
use std::time::{Duration, Instant};

both!(
    can_do_registers_without_reply_and_counts_duplicates,
    |kind| {
        let s = start(kind, &[]);
        let mut w = s.connect();
        w.send(ptype::SET_CLIENT_ID, &[b"w1"]);
        for f in ["a", "b", "a"] {
            w.send(ptype::CAN_DO, &[f.as_bytes()]);
        }
        w.sync();
        let mut a = s.connect();
        assert_eq!(
            sorted_lines(&a.admin_list("status")),
            ["a\t0\t0\t2", "b\t0\t0\t1"]
        );
        // Newest registration first, duplicates repeated.
        let workers = normalised_workers(&a.admin_list("workers"));
        assert_eq!(workers, ["FD 127.0.0.1 - :", "FD 127.0.0.1 w1 : a b a"]);
        w.send(ptype::CANT_DO, &[b"a"]); // removes every registration of `a`
        w.sync();
        assert_eq!(
            normalised_workers(&a.admin_list("workers"))[1],
            "FD 127.0.0.1 w1 : b"
        );
        w.send(ptype::RESET_ABILITIES, &[]);
        w.sync();
        assert_eq!(
            normalised_workers(&a.admin_list("workers"))[1],
            "FD 127.0.0.1 w1 :"
        );
        assert_eq!(
            sorted_lines(&a.admin_list("status")),
            ["a\t0\t0\t0", "b\t0\t0\t0"]
        );
    }
);

both!(grab_variants_and_no_job, |kind| {
    let s = start(kind, &[]);
    let mut w = worker(&s, &["f"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    w.call(ptype::GRAB_JOB_UNIQ, &[], ptype::NO_JOB, &[]);
    w.call(ptype::GRAB_JOB_ALL, &[], ptype::NO_JOB, &[]);
    let mut c = s.connect();
    for (n, u) in [(1, "u1"), (2, "u2"), (3, "u3")] {
        c.created(ptype::SUBMIT_JOB_BG, &[b"f", u.as_bytes(), b"d"], &h(n));
    }
    w.assigned(&[&h(1), b"f", b"d"]);
    w.call(
        ptype::GRAB_JOB_UNIQ,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(2), b"f", b"u2", b"d"],
    );
    w.call(
        ptype::GRAB_JOB_ALL,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(3), b"f", b"u3", b"d"],
    );
    // One connection may hold several jobs at once.
    assert_eq!(sorted_lines(&c.admin_list("status")), ["f\t3\t3\t1"]);
    // A connection without abilities gets nothing.
    let mut idle = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(4));
    idle.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
});

both!(pre_sleep_noops_at_once_when_work_is_queued, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    w.call(ptype::PRE_SLEEP, &[], ptype::NOOP, &[]);
    // Again, regardless of the earlier NOOP.
    w.call(ptype::PRE_SLEEP, &[], ptype::NOOP, &[]);
});

both!(sleeping_worker_is_woken_by_a_new_job, |kind| {
    let s = start(kind, &[]);
    let mut w = worker(&s, &["f"]);
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync(); // nothing queued: no reply
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    w.expect(ptype::NOOP, &[]);
    w.assigned(&[&h(1), b"f", b"d"]);
    // After a GRAB the worker can be woken again.
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"e"], &h(2));
    w.expect(ptype::NOOP, &[]);
    // A worker of another function is not woken.
    let mut other = worker(&s, &["g"]);
    other.send(ptype::PRE_SLEEP, &[]);
    other.sync();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"x"], &h(3));
    other.sync();
});

/// Which of `ws` have a NOOP waiting (each is checked with an ECHO round trip).
fn woken(ws: &mut [Conn]) -> Vec<bool> {
    ws.iter_mut()
        .map(|w| {
            w.send(ptype::ECHO_REQ, &[b"probe"]);
            let p = w.recv();
            if p.ptype == ptype::NOOP {
                w.expect(ptype::ECHO_RES, &[b"probe"]);
                true
            } else {
                assert_eq!(p.to_bytes(), frame_res(ptype::ECHO_RES, &[b"probe"]));
                false
            }
        })
        .collect()
}

fn sleepers(s: &Server, n: usize) -> Vec<Conn> {
    (0..n)
        .map(|_| {
            let mut w = worker(s, &["f"]);
            w.send(ptype::PRE_SLEEP, &[]);
            w.sync();
            w
        })
        .collect()
}

both!(every_sleeper_is_woken_by_default, |kind| {
    let s = start(kind, &[]);
    let mut ws = sleepers(&s, 3);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(1));
    assert_eq!(woken(&mut ws), [true, true, true]);
    // NOOPed workers that did not GRAB are not NOOPed again.
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"e"], &h(2));
    assert_eq!(woken(&mut ws), [false, false, false]);
});

both!(worker_wakeup_limits_noops_per_job, |kind| {
    let s = start(kind, &["-w", "1"]);
    let mut ws = sleepers(&s, 3);
    let mut c = s.connect();
    let mut total = vec![false; 3];
    for n in 1..=3 {
        c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(n));
        let now = woken(&mut ws);
        assert_eq!(
            now.iter().filter(|b| **b).count(),
            1,
            "job {n} must wake exactly one: {now:?}"
        );
        for (t, b) in total.iter_mut().zip(now) {
            assert!(!(*t && b), "a worker was NOOPed twice without a GRAB");
            *t |= b;
        }
    }
    assert_eq!(
        total,
        [true, true, true],
        "successive jobs wake successive sleepers"
    );
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(4));
    assert_eq!(woken(&mut ws), [false, false, false]);
});

both!(cant_do_and_reset_requeue_running_jobs, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"one"], &h(1));
    let mut w1 = worker(&s, &["f"]);
    w1.assigned(&[&h(1), b"f", b"one"]);
    w1.send(ptype::CANT_DO, &[b"f"]);
    w1.sync();
    assert_eq!(c.admin_list("show jobs"), "T:1\t1\t0\t0\n.\n");
    let mut w2 = worker(&s, &["f"]);
    w2.assigned(&[&h(1), b"f", b"one"]);
    w2.send(ptype::RESET_ABILITIES, &[]);
    w2.sync();
    assert_eq!(c.admin_list("show jobs"), "T:1\t2\t0\t0\n.\n");
    // The old worker's results are refused now.
    w2.call(
        ptype::WORK_COMPLETE,
        &[&h(1), b"x"],
        ptype::ERROR,
        &[b"JOB_NOT_FOUND", b"Job given in work result not found"],
    );
    let mut w3 = worker(&s, &["f"]);
    w3.assigned(&[&h(1), b"f", b"one"]);
    w3.send(ptype::WORK_COMPLETE, &[&h(1), b"ok"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"ok"]);
});

both!(
    worker_disconnect_requeues_to_the_tail_and_resets_status,
    |kind| {
        let s = start(kind, &[]);
        let mut c = s.connect();
        c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"a"], &h(1));
        c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"b"], &h(2));
        let mut w1 = worker(&s, &["f"]);
        w1.assigned(&[&h(1), b"f", b"a"]);
        w1.send(ptype::WORK_STATUS, &[&h(1), b"1", b"4"]);
        c.expect(ptype::WORK_STATUS, &[&h(1), b"1", b"4"]);
        w1.close();
        wait_for("the job to be requeued", Duration::from_secs(5), || {
            c.admin_list("show jobs").contains("T:1\t1\t")
        });
        c.call(
            ptype::GET_STATUS,
            &[&h(1)],
            ptype::STATUS_RES,
            &[&h(1), b"1", b"0", b"0", b"0"],
        );
        let mut w2 = worker(&s, &["f"]);
        w2.assigned(&[&h(2), b"f", b"b"]);
        w2.assigned(&[&h(1), b"f", b"a"]);
    }
);

both!(requeue_wakes_sleeping_workers, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"a"], &h(1));
    let mut w1 = worker(&s, &["f"]);
    w1.assigned(&[&h(1), b"f", b"a"]);
    let mut w2 = worker(&s, &["f"]);
    w2.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    w2.send(ptype::PRE_SLEEP, &[]);
    w2.sync();
    w1.close();
    w2.expect(ptype::NOOP, &[]);
    w2.assigned(&[&h(1), b"f", b"a"]);
});

both!(job_retries_drop_the_job_with_work_fail, |kind| {
    let s = start(kind, &["-j", "2"]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"a"], &h(1));
    let mut w1 = worker(&s, &["f"]);
    w1.assigned(&[&h(1), b"f", b"a"]);
    w1.close();
    let mut w2 = worker(&s, &["f"]);
    let p = eventually("the requeued job", Duration::from_secs(5), || {
        w2.send(ptype::GRAB_JOB, &[]);
        let p = w2.recv();
        (p.ptype != ptype::NO_JOB).then_some(p)
    });
    assert_eq!(
        p.to_bytes(),
        frame_res(ptype::JOB_ASSIGN, &[&h(1), b"f", b"a"])
    );
    w2.close();
    // Second failed attempt: the client is told, the job is gone.
    c.expect(ptype::WORK_FAIL, &[&h(1)]);
    assert_eq!(c.admin_list("show jobs"), ".\n");
    assert_eq!(sorted_lines(&c.admin_list("status")), ["f\t0\t0\t0"]);
});

both!(can_do_timeout_requeues_and_forgets_the_worker, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"a"], &h(1));
    let mut w1 = s.connect();
    w1.send(ptype::CAN_DO_TIMEOUT, &[b"f", b"1500"]);
    w1.sync();
    let grabbed = Instant::now();
    w1.assigned(&[&h(1), b"f", b"a"]);
    let mut w2 = worker(&s, &["f"]);
    let p = eventually(
        "the timed-out job to be requeued",
        Duration::from_secs(6),
        || {
            w2.send(ptype::GRAB_JOB, &[]);
            let p = w2.recv();
            (p.ptype != ptype::NO_JOB).then_some(p)
        },
    );
    let took = grabbed.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "requeued after {took:?}, before the 1.5 s timeout"
    );
    assert_eq!(
        p.to_bytes(),
        frame_res(ptype::JOB_ASSIGN, &[&h(1), b"f", b"a"])
    );
    // The timed-out worker is not told, and its late result is refused.
    w1.call(
        ptype::WORK_COMPLETE,
        &[&h(1), b"late"],
        ptype::ERROR,
        &[b"JOB_NOT_FOUND", b"Job given in work result not found"],
    );
    w2.send(ptype::WORK_COMPLETE, &[&h(1), b"ok"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"ok"]);
});

both!(can_do_timeout_registers_like_can_do, |kind| {
    let s = start(kind, &[]);
    let mut w = s.connect();
    w.send(ptype::CAN_DO_TIMEOUT, &[b"f", b"2500"]);
    w.send(ptype::CAN_DO_TIMEOUT, &[b"g", b"0"]);
    // An argument longer than 20 bytes makes the packet be ignored. (C 1.1.20 usually closes the
    // connection here instead, under strtol overflow, so only ours is asked.)
    if kind == crate::common::Kind::Ours {
        w.send(
            ptype::CAN_DO_TIMEOUT,
            &[b"ignored", b"100000000000000000000"],
        );
    }
    w.sync();
    let mut a = s.connect();
    assert_eq!(
        normalised_workers(&a.admin_list("workers"))[1],
        "FD 127.0.0.1 - : g f"
    );
    assert_eq!(
        sorted_lines(&a.admin_list("status")),
        ["f\t0\t0\t1", "g\t0\t0\t1"]
    );
});
