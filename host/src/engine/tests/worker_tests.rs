//! Workers: job choice, priorities, round robin, sleeping and waking, abilities.

use super::*;

fn grab_data(h: &mut H, w: ConnId) -> String {
    let out = h.grab(w);
    assert_eq!(out.len(), 1, "{out:?}");
    // "cN JOB_ASSIGN [handle] [func] [data]" -> data
    let s = &out[0];
    s.rsplit('[')
        .next()
        .unwrap()
        .trim_end_matches(']')
        .to_string()
}

#[test]
fn priority_is_global_across_functions() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "email", "", "e-normal");
    h.submit(c, SUBMIT_JOB_LOW_BG, "email", "", "e-low");
    h.submit(c, SUBMIT_JOB_HIGH_BG, "resize", "", "r-high");
    h.submit(c, SUBMIT_JOB_BG, "resize", "", "r-normal");
    h.can_do(w, "resize");
    h.can_do(w, "email");
    let order: Vec<String> = (0..4).map(|_| grab_data(&mut h, w)).collect();
    assert_eq!(order, ["r-high", "e-normal", "r-normal", "e-low"]);
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
}

#[test]
fn round_robin_rotates_functions_by_default() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    for f in ["a", "b", "c"] {
        for i in 0..3 {
            h.submit(c, SUBMIT_JOB_BG, f, "", &format!("{f}{i}"));
        }
    }
    for f in ["a", "b", "c"] {
        h.can_do(w, f);
    }
    let order: Vec<String> = (0..9).map(|_| grab_data(&mut h, w)).collect();
    assert_eq!(
        order,
        ["c0", "b0", "a0", "c1", "b1", "a1", "c2", "b2", "a2"]
    );
}

#[test]
fn without_round_robin_the_newest_registration_wins() {
    let mut h = H::with(|c| c.round_robin = false);
    let (c, w) = (h.open(1), h.open(2));
    for f in ["a", "b", "c"] {
        for i in 0..3 {
            h.submit(c, SUBMIT_JOB_BG, f, "", &format!("{f}{i}"));
        }
    }
    for f in ["a", "b", "c"] {
        h.can_do(w, f);
    }
    let order: Vec<String> = (0..9).map(|_| grab_data(&mut h, w)).collect();
    assert_eq!(
        order,
        ["c0", "c1", "c2", "b0", "b1", "b2", "a0", "a1", "a2"]
    );
}

#[test]
fn fifo_within_a_priority_and_grab_variants() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "u1", "one");
    h.submit(c, SUBMIT_JOB_BG, "f", "u2", "two");
    h.submit(c, SUBMIT_JOB_BG, "f", "u3", "three");
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [one]"]));
    let out = h.req(w, GRAB_JOB_UNIQ, &[]);
    assert_eq!(out, v(&["c2 JOB_ASSIGN_UNIQ [H:t:2] [f] [u2] [two]"]));
    let out = h.req(w, GRAB_JOB_ALL, &[]);
    assert_eq!(out, v(&["c2 JOB_ASSIGN_UNIQ [H:t:3] [f] [u3] [three]"]));
    assert_eq!(h.req(w, GRAB_JOB_UNIQ, &[]), v(&["c2 NO_JOB"]));
    // A connection may hold any number of jobs; status counts them running.
    assert_eq!(h.admin_s(c, "status"), "f\t3\t3\t1\n.\n");
}

#[test]
fn worker_without_abilities_gets_no_job() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
    assert_eq!(h.sleep(w), v(&[]));
}

#[test]
fn pre_sleep_with_work_gets_an_immediate_noop() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    assert_eq!(h.sleep(w), v(&["c2 NOOP"]));
    assert_eq!(h.sleep(w), v(&["c2 NOOP"]));
}

#[test]
fn sleeping_workers_are_woken_once_until_they_grab() {
    let mut h = H::new();
    let (c, w1, w2, other) = (h.open(1), h.open(2), h.open(3), h.open(4));
    h.can_do(w1, "f");
    h.can_do(w2, "f");
    h.can_do(other, "g");
    assert!(h.sleep(w1).is_empty());
    assert!(h.sleep(w2).is_empty());
    assert!(h.sleep(other).is_empty());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "1");
    assert_eq!(out, v(&["c2 NOOP", "c3 NOOP", "c1 JOB_CREATED [H:t:1]"]));
    // Already NOOPed: not again.
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "2"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
    // After a GRAB and a sleep, w1 is woken again.
    assert_eq!(h.grab(w1), v(&["c2 JOB_ASSIGN [H:t:1] [f] [1]"]));
    assert_eq!(h.grab(w1), v(&["c2 JOB_ASSIGN [H:t:2] [f] [2]"]));
    assert_eq!(h.grab(w1), v(&["c2 NO_JOB"]));
    assert!(h.sleep(w1).is_empty());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "3");
    assert_eq!(out, v(&["c2 NOOP", "c1 JOB_CREATED [H:t:3]"]));
}

#[test]
fn a_worker_that_sleeps_again_after_a_noop_is_still_woken() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    h.sleep(w);
    assert_eq!(h.submit(c, SUBMIT_JOB, "f", "u", "1")[0], "c2 NOOP");
    // Someone else takes the job; the worker sleeps again without grabbing.
    let other = h.open(3);
    h.can_do(other, "f");
    h.grab(other);
    assert!(h.sleep(w).is_empty());
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "", "2")[0], "c2 NOOP");
}

#[test]
fn worker_wakeup_limits_noops_and_rotates() {
    let mut h = H::with(|c| c.worker_wakeup = 1);
    let c = h.open(1);
    let ws = [h.open(2), h.open(3), h.open(4)];
    for &w in &ws {
        h.can_do(w, "f");
        h.sleep(w);
    }
    let noops: Vec<String> = (0..4)
        .map(|i| {
            let out = h.submit(c, SUBMIT_JOB_BG, "f", "", &i.to_string());
            out[..out.len() - 1].join(",")
        })
        .collect();
    assert_eq!(noops, ["c2 NOOP", "c3 NOOP", "c4 NOOP", ""]);
}

#[test]
fn can_do_while_asleep_subscribes_to_the_new_function() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    h.sleep(w);
    h.can_do(w, "g");
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "g", "", "d")[0], "c2 NOOP");
}

#[test]
fn duplicate_registrations_count_and_cant_do_removes_all() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    h.can_do(w, "g");
    h.can_do(w, "f");
    assert_eq!(h.admin_s(c, "status"), "f\t0\t0\t2\ng\t0\t0\t1\n.\n");
    assert_eq!(
        h.admin_s(c, "workers"),
        "31 127.0.0.1 - :\n32 127.0.0.1 - : f g f\n.\n"
    );
    assert!(h.req(w, CANT_DO, &[b"f"]).is_empty());
    assert_eq!(h.admin_s(c, "status"), "f\t0\t0\t0\ng\t0\t0\t1\n.\n");
    // CANT_DO of an unknown function is ignored.
    assert!(h.req(w, CANT_DO, &[b"nosuch"]).is_empty());
    assert!(h.req(w, RESET_ABILITIES, &[]).is_empty());
    assert_eq!(
        h.admin_s(c, "workers"),
        "31 127.0.0.1 - :\n32 127.0.0.1 - :\n.\n"
    );
}

#[test]
fn cant_do_requeues_that_functions_running_jobs_to_the_tail() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "first");
    h.submit(c, SUBMIT_JOB_BG, "g", "", "other");
    h.can_do(w, "f");
    h.can_do(w, "g");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:2] [g] [other]"]));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [first]"]));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "second");
    assert!(h.req(w, WORK_STATUS, &[b"H:t:1", b"5", b"10"]).is_empty());
    let sleeper = h.open(3);
    h.can_do(sleeper, "f");
    assert_eq!(h.grab(sleeper), v(&["c3 JOB_ASSIGN [H:t:3] [f] [second]"]));
    assert!(h.sleep(sleeper).is_empty());
    assert_eq!(h.req(w, CANT_DO, &[b"f"]), v(&["c3 NOOP"]));
    assert_eq!(
        h.admin_s(c, "show jobs"),
        "H:t:1\t1\t0\t1\nH:t:2\t0\t0\t1\nH:t:3\t0\t0\t1\n.\n"
    );
    // Requeued: progress reset, no longer running; the g job stays with w.
    let out = h.req(c, GET_STATUS, &[b"H:t:1"]);
    assert_eq!(out, v(&["c1 STATUS_RES [H:t:1] [1] [0] [0] [0]"]));
    assert_eq!(h.admin_s(c, "status"), "f\t2\t1\t1\ng\t1\t1\t1\n.\n");
    assert_eq!(h.grab(sleeper), v(&["c3 JOB_ASSIGN [H:t:1] [f] [first]"]));
}

#[test]
fn reset_abilities_requeues_every_running_job() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "1");
    h.submit(c, SUBMIT_JOB_BG, "g", "", "2");
    h.can_do(w, "f");
    h.can_do(w, "g");
    h.grab(w);
    h.grab(w);
    assert!(h.req(w, RESET_ABILITIES, &[]).is_empty());
    assert_eq!(h.admin_s(c, "status"), "f\t1\t0\t0\ng\t1\t0\t0\n.\n");
    assert_eq!(
        h.admin_s(c, "prioritystatus"),
        "f\t0\t1\t0\t0\ng\t0\t1\t0\t0\n.\n"
    );
    let out = h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    assert_eq!(
        out,
        v(&["c2 ERROR [JOB_NOT_FOUND] [Job given in work result not found]"])
    );
}
