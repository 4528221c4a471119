//! Connection-level packets, disconnects and retries.

use super::*;

#[test]
fn echo_option_and_client_id() {
    let mut h = H::new();
    let c = h.open(1);
    assert_eq!(
        h.req(c, ECHO_REQ, &[b"hi\0there"]),
        v(&["c1 ECHO_RES [hi\\x00there]"])
    );
    assert_eq!(h.req(c, ECHO_REQ, &[b""]), v(&["c1 ECHO_RES []"]));
    let unknown = "c1 ERROR [UNKNOWN_OPTION] [Server does not recognize given option]";
    assert_eq!(h.req(c, OPTION_REQ, &[b"nope"]), v(&[unknown]));
    assert_eq!(h.req(c, OPTION_REQ, &[b""]), v(&[unknown]));
    assert!(h.req(c, SET_CLIENT_ID, &[b"worker-7"]).is_empty());
    assert_eq!(h.admin_s(c, "workers"), "31 127.0.0.1 worker-7 :\n.\n");
    let long = vec![b'i'; 200];
    h.req(c, SET_CLIENT_ID, &[&long]);
    let expect = format!("31 127.0.0.1 {} :\n.\n", "i".repeat(127));
    assert_eq!(h.admin_s(c, "workers"), expect);
}

#[test]
fn packets_a_server_does_not_take_are_invalid_commands() {
    let mut h = H::new();
    let c = h.open(1);
    let err = "c1 ERROR [INVALID_COMMAND] [Command not expected]";
    for k in [
        NOOP,
        JOB_CREATED,
        NO_JOB,
        JOB_ASSIGN,
        ECHO_RES,
        ERROR,
        STATUS_RES,
        OPTION_RES,
        JOB_ASSIGN_UNIQ,
        JOB_ASSIGN_ALL,
        STATUS_RES_UNIQUE,
        UNUSED,
        ALL_YOURS,
    ] {
        assert_eq!(h.req(c, k, &[]), v(&[err]), "type {k}");
    }
    let sched: [&[u8]; 8] = [b"f", b"u", b"1", b"2", b"3", b"4", b"5", b"data"];
    assert_eq!(h.req(c, SUBMIT_JOB_SCHED, &sched), v(&[err]));
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn a_client_leaving_makes_its_foreground_job_ignored() {
    let mut h = H::new();
    let (c, w, other) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB, "f", "", "mine");
    h.submit(other, SUBMIT_JOB_BG, "f", "", "bg");
    assert!(h.close(c).is_empty());
    assert_eq!(
        h.admin_s(other, "show jobs"),
        "H:t:1\t0\t1\t0\nH:t:2\t0\t0\t1\n.\n"
    );
    // Still counted until a GRAB reaches it.
    assert_eq!(h.admin_s(other, "status"), "f\t2\t0\t0\n.\n");
    h.can_do(w, "f");
    assert_eq!(h.sleep(w), v(&["c2 NOOP"]));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:2] [f] [bg]"]));
    assert_eq!(h.admin_s(other, "status"), "f\t1\t1\t1\n.\n");
}

#[test]
fn an_ignored_job_alone_is_freed_by_a_grab_that_then_gets_no_job() {
    let mut h = H::new();
    let (c, w, a) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    h.close(c);
    h.can_do(w, "f");
    // Nothing runnable: PRE_SLEEP sleeps.
    assert!(h.sleep(w).is_empty());
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
    assert_eq!(h.admin_s(a, "status"), "f\t0\t0\t1\n.\n");
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn ignored_jobs_do_not_coalesce() {
    let mut h = H::new();
    let (c, d) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB, "f", "u", "x");
    h.close(c);
    assert_eq!(
        h.submit(d, SUBMIT_JOB, "f", "u", "x"),
        v(&["c2 JOB_CREATED [H:t:2]"])
    );
}

#[test]
fn a_running_ignored_job_finishes_quietly() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    h.can_do(w, "f");
    h.grab(w);
    h.close(c);
    assert!(h.req(w, WORK_DATA, &[b"H:t:1", b"x"]).is_empty());
    assert!(h.req(w, WORK_COMPLETE, &[b"H:t:1", b"x"]).is_empty());
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn a_joined_background_job_survives_its_foreground_client() {
    let mut h = H::new();
    let (c, fg, w) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "x");
    h.submit(fg, SUBMIT_JOB, "f", "u", "x");
    h.close(fg);
    assert_eq!(h.admin_s(c, "show jobs"), "H:t:1\t0\t0\t1\n.\n");
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c3 JOB_ASSIGN [H:t:1] [f] [x]"]));
}

#[test]
fn a_foreground_job_keeps_running_while_one_of_its_clients_remains() {
    let mut h = H::new();
    let (a, b, w) = (h.open(1), h.open(2), h.open(3));
    h.submit(a, SUBMIT_JOB, "f", "u", "x");
    h.submit(b, SUBMIT_JOB, "f", "u", "x");
    h.close(a);
    h.can_do(w, "f");
    h.grab(w);
    assert_eq!(
        h.req(w, WORK_COMPLETE, &[b"H:t:1", b"r"]),
        v(&["c2 WORK_COMPLETE [H:t:1] [r]"])
    );
}

#[test]
fn a_worker_leaving_requeues_its_jobs_and_wakes_sleepers() {
    let mut h = H::new();
    let (c, w, s) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB, "f", "", "a");
    h.submit(c, SUBMIT_JOB, "f", "", "b");
    h.can_do(w, "f");
    h.grab(w);
    h.req(w, WORK_STATUS, &[b"H:t:1", b"1", b"2"]);
    h.can_do(s, "f");
    assert_eq!(h.grab(s), v(&["c3 JOB_ASSIGN [H:t:2] [f] [b]"]));
    h.sleep(s);
    assert_eq!(h.close(w), v(&["c3 NOOP"]));
    assert_eq!(h.admin_s(c, "status"), "f\t2\t1\t1\n.\n");
    assert_eq!(h.grab(s), v(&["c3 JOB_ASSIGN [H:t:1] [f] [a]"]));
    // The client still gets the result from the new worker.
    assert_eq!(
        h.req(s, WORK_COMPLETE, &[b"H:t:1", b""]),
        v(&["c1 WORK_COMPLETE [H:t:1] []"])
    );
}

#[test]
fn requeued_jobs_lose_their_place() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "first");
    h.submit(c, SUBMIT_JOB_BG, "f", "", "second");
    h.can_do(w, "f");
    h.grab(w);
    h.close(w);
    let w2 = h.open(3);
    h.can_do(w2, "f");
    assert_eq!(h.grab(w2), v(&["c3 JOB_ASSIGN [H:t:2] [f] [second]"]));
    assert_eq!(h.grab(w2), v(&["c3 JOB_ASSIGN [H:t:1] [f] [first]"]));
}

/// Grabs with a fresh worker and disconnects it, `n` times; returns the last close's output.
fn fail_attempts(h: &mut H, n: u32) -> Vec<String> {
    let mut last = Vec::new();
    for i in 0..n {
        let w = h.open(10 + i);
        h.can_do(w, "f");
        assert_eq!(h.grab(w).len(), 1);
        last = h.close(w);
    }
    last
}

#[test]
fn job_retries_limit_attempts() {
    let mut h = H::with(|c| c.job_retries = 2);
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    assert!(fail_attempts(&mut h, 1).is_empty());
    assert_eq!(h.admin_s(c, "show jobs"), "H:t:1\t1\t0\t0\n.\n");
    assert_eq!(fail_attempts(&mut h, 1), v(&["c1 WORK_FAIL [H:t:1]"]));
    assert_eq!(h.eng.job_count(), 0);
    assert_eq!(h.admin_s(c, "status"), "f\t0\t0\t0\n.\n");
}

#[test]
fn job_retries_zero_means_no_retry() {
    let mut h = H::with(|c| c.job_retries = 0);
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    assert_eq!(fail_attempts(&mut h, 1), v(&["c1 WORK_FAIL [H:t:1]"]));
}

#[test]
fn job_retries_unlimited_by_default() {
    let mut h = H::new();
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    assert!(fail_attempts(&mut h, 300).is_empty());
    assert_eq!(h.eng.job_count(), 1);
    // The counter is a u8, as shown by `show jobs`: 300 wraps to 44.
    assert_eq!(h.admin_s(c, "show jobs"), "H:t:1\t44\t0\t0\n.\n");
}

#[test]
fn a_connection_can_be_client_and_worker() {
    let mut h = H::new();
    let c = h.open(1);
    h.can_do(c, "f");
    h.sleep(c);
    let out = h.submit(c, SUBMIT_JOB, "f", "", "self");
    assert_eq!(out, v(&["c1 NOOP", "c1 JOB_CREATED [H:t:1]"]));
    h.grab(c);
    let out = h.req(c, WORK_COMPLETE, &[b"H:t:1", b"done"]);
    assert_eq!(out, v(&["c1 WORK_COMPLETE [H:t:1] [done]"]));
}

#[test]
fn unannounced_connections_and_double_close_are_harmless() {
    let mut h = H::new();
    let ghost = conn(99);
    assert_eq!(
        h.submit(ghost, SUBMIT_JOB_BG, "f", "", "x"),
        v(&["c99 JOB_CREATED [H:t:1]"])
    );
    assert!(h.close(ghost).is_empty());
    assert!(h.close(ghost).is_empty());
}
