//! Submitting: handles, coalescing, unique limits, maxqueue, reduce jobs.

use super::*;

#[test]
fn every_submit_type_gets_job_created_with_consecutive_handles() {
    let mut h = H::new();
    let c = h.open(1);
    let kinds = [
        SUBMIT_JOB,
        SUBMIT_JOB_BG,
        SUBMIT_JOB_HIGH,
        SUBMIT_JOB_HIGH_BG,
        SUBMIT_JOB_LOW,
        SUBMIT_JOB_LOW_BG,
    ];
    for (i, k) in kinds.into_iter().enumerate() {
        let out = h.submit(c, k, "f", "", "d");
        assert_eq!(out, v(&[&format!("c1 JOB_CREATED [H:t:{}]", i + 1)]));
    }
    let out = h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"", b"0", b"d"]);
    assert_eq!(out, v(&["c1 JOB_CREATED [H:t:7]"]));
    let out = h.req(c, SUBMIT_REDUCE_JOB, &[b"f", b"", b"r", b"agg", b"d"]);
    assert_eq!(out, v(&["c1 JOB_CREATED [H:t:8]"]));
    let out = h.req(
        c,
        SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"f", b"", b"r", b"agg", b"d"],
    );
    assert_eq!(out, v(&["c1 JOB_CREATED [H:t:9]"]));
    assert_eq!(h.eng.job_count(), 9);
    // Priorities as prioritystatus sees them: high 2, normal 5, low 2.
    assert_eq!(h.admin_s(c, "prioritystatus"), "f\t2\t5\t2\t0\n.\n");
}

#[test]
fn same_unique_coalesces_and_attaches_foreground_clients() {
    let mut h = H::new();
    let (a, b, w) = (h.open(1), h.open(2), h.open(3));
    assert_eq!(
        h.submit(a, SUBMIT_JOB, "f", "u1", "x"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    // Other data and priority are discarded; the handle is shared.
    assert_eq!(
        h.submit(b, SUBMIT_JOB_HIGH, "f", "u1", "y"),
        v(&["c2 JOB_CREATED [H:t:1]"])
    );
    // Background submit: same handle, nothing attached.
    assert_eq!(
        h.submit(w, SUBMIT_JOB_BG, "f", "u1", "z"),
        v(&["c3 JOB_CREATED [H:t:1]"])
    );
    // Same unique under another function is another job.
    assert_eq!(
        h.submit(a, SUBMIT_JOB_BG, "g", "u1", "x"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
    assert_eq!(h.eng.job_count(), 2);
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c3 JOB_ASSIGN [H:t:1] [f] [x]"]));
    // Both clients get the result, newest attachment first.
    let out = h.req(w, WORK_COMPLETE, &[b"H:t:1", b"res"]);
    assert_eq!(
        out,
        v(&[
            "c2 WORK_COMPLETE [H:t:1] [res]",
            "c1 WORK_COMPLETE [H:t:1] [res]"
        ])
    );
    // The job is gone: a new submit makes a new job (the counter moved on).
    assert_eq!(
        h.submit(a, SUBMIT_JOB, "f", "u1", "x"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
}

#[test]
fn running_jobs_coalesce_too() {
    let mut h = H::new();
    let (a, w) = (h.open(1), h.open(2));
    h.submit(a, SUBMIT_JOB_BG, "f", "u", "x");
    h.can_do(w, "f");
    h.grab(w);
    assert_eq!(
        h.submit(a, SUBMIT_JOB, "f", "u", "x"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    let out = h.req(w, WORK_STATUS, &[b"H:t:1", b"1", b"2"]);
    assert_eq!(out, v(&["c1 WORK_STATUS [H:t:1] [1] [2]"]));
}

#[test]
fn empty_unique_never_coalesces_and_dash_coalesces_on_data() {
    let mut h = H::new();
    let c = h.open(1);
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "d"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "-", "same"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "-", "same"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "-", "other"),
        v(&["c1 JOB_CREATED [H:t:4]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "g", "-", "same"),
        v(&["c1 JOB_CREATED [H:t:5]"])
    );
    // `-` with empty data never coalesces.
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "-", ""),
        v(&["c1 JOB_CREATED [H:t:6]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "-", ""),
        v(&["c1 JOB_CREATED [H:t:7]"])
    );
    // A real unique equal to the data is a different key.
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "same", "same"),
        v(&["c1 JOB_CREATED [H:t:8]"])
    );
    // The stored unique of a `-` job stays `-`.
    assert_eq!(
        h.admin_s(c, "show unique jobs"),
        "\n\n-\n-\n-\n-\n-\nsame\n.\n"
    );
}

#[test]
fn unique_of_64_bytes_is_kept_whole_and_65_is_refused() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    let u64b = "u".repeat(63) + "Z";
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", &u64b, "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", &u64b, "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    let u65 = "u".repeat(65);
    assert_eq!(
        h.submit(c, SUBMIT_JOB, "f", &u65, "d"),
        v(&["c1 ERROR [ARGUMENT_TOO_LARGE] [Unique value too large]"])
    );
    h.can_do(w, "f");
    let out = h.req(w, GRAB_JOB_UNIQ, &[]);
    assert_eq!(
        out,
        v(&[&format!("c2 JOB_ASSIGN_UNIQ [H:t:1] [f] [{u64b}] [d]")])
    );
    // A refused submit consumes no handle number.
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "x", "d"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
}

#[test]
fn reduce_jobs_check_unique_and_reducer_sizes() {
    let mut h = H::new();
    let c = h.open(1);
    let big_unique = "u".repeat(65);
    let out = h.req(
        c,
        SUBMIT_REDUCE_JOB,
        &[b"f", big_unique.as_bytes(), b"r", b"a", b"d"],
    );
    assert_eq!(
        out,
        v(&["c1 ERROR [ARGUMENT_TOO_LARGE] [Unique value too large]"])
    );
    // A reducer over 64 bytes is fine now; 512 is not.
    let ok_reducer = "r".repeat(511);
    let out = h.req(
        c,
        SUBMIT_REDUCE_JOB,
        &[b"f", b"u", ok_reducer.as_bytes(), b"a", b"d"],
    );
    assert_eq!(out, v(&["c1 JOB_CREATED [H:t:1]"]));
    let big_reducer = "r".repeat(512);
    let out = h.req(
        c,
        SUBMIT_REDUCE_JOB,
        &[b"f", b"v", big_reducer.as_bytes(), b"a", b"d"],
    );
    assert_eq!(
        out,
        v(&["c1 ERROR [ARGUMENT_TOO_LARGE] [Unique value too large]"])
    );
}

#[test]
fn reducer_surfaces_only_through_grab_job_all() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.req(
        c,
        SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"f", b"u1", b"red", b"agg", b"d1"],
    );
    h.submit(c, SUBMIT_JOB_BG, "f", "u2", "d2");
    h.can_do(w, "f");
    let out = h.req(w, GRAB_JOB_ALL, &[]);
    assert_eq!(out, v(&["c2 JOB_ASSIGN_ALL [H:t:1] [f] [u1] [red] [d1]"]));
    let out = h.req(w, GRAB_JOB_ALL, &[]);
    assert_eq!(out, v(&["c2 JOB_ASSIGN_UNIQ [H:t:2] [f] [u2] [d2]"]));
    assert_eq!(h.req(w, GRAB_JOB_ALL, &[]), v(&["c2 NO_JOB"]));
}

#[test]
fn maxqueue_limits_count_all_jobs_of_the_function() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "0");
    assert_eq!(h.admin_s(c, "maxqueue f 3 2 1"), "OK\r\n");
    // total is 1: low refused (limit 1), normal accepted (limit 2).
    let full = v(&["c1 ERROR [QUEUE_ERROR] [Job queue is full]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB_LOW_BG, "f", "", "x"), full);
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "1"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "", "x"), full);
    // Running jobs count as well.
    h.can_do(w, "f");
    h.grab(w);
    assert_eq!(
        h.submit(c, SUBMIT_JOB_HIGH, "f", "", "2"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
    assert_eq!(h.submit(c, SUBMIT_JOB_HIGH, "f", "", "x"), full);
    // A coalescing submit is not a new job and skips the check.
    h.submit(c, SUBMIT_JOB_BG, "g", "same", "x");
    h.admin(c, "maxqueue g 1");
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "g", "same", "x"),
        v(&["c1 JOB_CREATED [H:t:4]"])
    );
    assert_eq!(h.submit(c, SUBMIT_JOB_LOW_BG, "g", "new", "x"), full);
    // Zero lifts the limit again.
    h.admin(c, "maxqueue g 0");
    assert_eq!(
        h.submit(c, SUBMIT_JOB_LOW_BG, "g", "new", "x"),
        v(&["c1 JOB_CREATED [H:t:5]"])
    );
}

#[test]
fn maxqueue_argument_forms() {
    let mut h = H::new();
    let c = h.open(1);
    h.admin(c, "create function f");
    let full = v(&["c1 ERROR [QUEUE_ERROR] [Job queue is full]"]);
    // `maxqueue f A B`: high A, normal B, low unlimited.
    h.admin(c, "maxqueue f 1 1");
    h.submit(c, SUBMIT_JOB_BG, "f", "", "0");
    assert_eq!(h.submit(c, SUBMIT_JOB_HIGH_BG, "f", "", "x"), full);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "", "x"), full);
    assert_eq!(
        h.submit(c, SUBMIT_JOB_LOW_BG, "f", "", "x"),
        v(&["c1 JOB_CREATED [H:t:2]"])
    );
    // Negative values mean unlimited; unknown functions are neither created nor touched.
    h.admin(c, "maxqueue f -4");
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "x"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
    assert_eq!(h.admin(c, "maxqueue nosuch 1"), b"OK\r\n");
    assert_eq!(h.admin_s(c, "status"), "f\t3\t0\t0\n.\n");
}

#[test]
fn epoch_garbage_runs_now_and_overflow_closes() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    assert_eq!(
        h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"", b"garbage", b"d"]),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [d]"]));
    let out = h.req(
        c,
        SUBMIT_JOB_EPOCH,
        &[b"f", b"", b"99999999999999999999", b"d"],
    );
    assert_eq!(out, v(&["c1 CLOSE"]));
}

#[test]
fn empty_function_name_is_a_function() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "", "", "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    h.can_do(w, "");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [] [d]"]));
}

#[test]
fn a_big_payload_kept_in_its_request_reads_back_exactly() {
    // Over ADOPT_MIN the job keeps the request's buffer, function name in front (Job::adopt):
    // unique, data, coalescing and both assignment forms must see the same bytes as a copy.
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    let data = format!("{}<end", "d".repeat(4096));
    let created = v(&["c1 JOB_CREATED [H:t:1]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB, "fn-name", "u1", &data), created);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "fn-name", "u1", "x"), created);
    let created = v(&["c1 JOB_CREATED [H:t:2]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "fn-name", "-", &data), created);
    assert_eq!(h.submit(c, SUBMIT_JOB, "fn-name", "-", &data), created);
    h.can_do(w, "fn-name");
    let one = format!("c2 JOB_ASSIGN_UNIQ [H:t:1] [fn-name] [u1] [{data}]");
    assert_eq!(h.req(w, GRAB_JOB_UNIQ, &[]), v(&[&one]));
    let two = format!("c2 JOB_ASSIGN [H:t:2] [fn-name] [{data}]");
    assert_eq!(h.grab(w), v(&[&two]));
    let status = h.req(c, GET_STATUS_UNIQUE, &[b"u1"]);
    assert_eq!(
        status,
        v(&["c1 STATUS_RES_UNIQUE [u1] [1] [1] [0] [0] [1]"])
    );
}
