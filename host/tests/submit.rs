//! Submitting jobs (docs/gear-protocol.md §4): every SUBMIT_* type and priority, handles, unique keys
//! and coalescing (including `-`), maxqueue. Reduce and epoch jobs are in `submit_special.rs`.
//! Each test runs against C gearmand and ours (`both!`).

#[macro_use]
mod common;
use common::*;

both!(all_priorities_get_handles_and_run_high_normal_low, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let subs = [
        (ptype::SUBMIT_JOB, "n-fg"),
        (ptype::SUBMIT_JOB_HIGH, "h-fg"),
        (ptype::SUBMIT_JOB_LOW, "l-fg"),
        (ptype::SUBMIT_JOB_BG, "n-bg"),
        (ptype::SUBMIT_JOB_HIGH_BG, "h-bg"),
        (ptype::SUBMIT_JOB_LOW_BG, "l-bg"),
    ];
    for (i, (t, data)) in subs.iter().enumerate() {
        c.call(
            *t,
            &[b"f", b"", data.as_bytes()],
            ptype::JOB_CREATED,
            &[&h(i as u32 + 1)],
        );
    }
    assert_eq!(
        sorted_lines(&c.admin_list("prioritystatus")),
        ["f\t2\t2\t2\t0"]
    );
    assert_eq!(sorted_lines(&c.admin_list("status")), ["f\t6\t0\t0"]);
    let mut w = worker(&s, &["f"]);
    for (n, data) in [
        (2, "h-fg"),
        (5, "h-bg"),
        (1, "n-fg"),
        (4, "n-bg"),
        (3, "l-fg"),
        (6, "l-bg"),
    ] {
        w.assigned(&[&h(n), b"f", data.as_bytes()]);
    }
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    assert_eq!(sorted_lines(&c.admin_list("status")), ["f\t6\t6\t1"]);
});

both!(job_data_is_opaque_and_function_may_be_empty, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let data: &[u8] = b"a\0b\0\0c\xff";
    c.created(ptype::SUBMIT_JOB_BG, &[b"", b"u", data], &h(1));
    let mut w = worker(&s, &[""]);
    w.call(
        ptype::GRAB_JOB_UNIQ,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(1), b"", b"u", data],
    );
});

both!(large_data_is_accepted, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let data = vec![b'x'; 5 * 1024 * 1024];
    c.created(ptype::SUBMIT_JOB_BG, &[b"big", b"", &data], &h(1));
    let mut w = worker(&s, &["big"]);
    w.assigned(&[&h(1), b"big", &data]);
});

both!(unique_coalesces_foreground_clients_per_function, |kind| {
    let s = start(kind, &[]);
    let (mut c1, mut c2, mut c3) = (s.connect(), s.connect(), s.connect());
    c1.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"one"], &h(1));
    // Another priority and other data: still the same job; the new data is discarded.
    c2.created(ptype::SUBMIT_JOB_HIGH, &[b"f", b"u", b"two"], &h(1));
    // Background submit of the same key: existing handle, nothing attached.
    c3.created(ptype::SUBMIT_JOB_BG, &[b"f", b"u", b"three"], &h(1));
    // The same unique under another function is another job (handle 2, not consumed above).
    c3.created(ptype::SUBMIT_JOB_BG, &[b"g", b"u", b"x"], &h(2));
    c3.call(
        ptype::GET_STATUS_UNIQUE,
        &[b"u"],
        ptype::STATUS_RES_UNIQUE,
        &[b"u", b"1", b"0", b"0", b"0", b"0"],
    );
    let mut w = worker(&s, &["f"]);
    w.call(
        ptype::GRAB_JOB_UNIQ,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(1), b"f", b"u", b"one"],
    );
    w.send(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    c1.expect(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    c2.expect(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    c3.sync(); // the background submitter is not attached
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
});

both!(coalescing_matches_running_jobs, |kind| {
    let s = start(kind, &[]);
    let mut c1 = s.connect();
    c1.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
    let mut c2 = s.connect();
    c2.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
    w.send(ptype::WORK_DATA, &[&h(1), b"part"]);
    c1.expect(ptype::WORK_DATA, &[&h(1), b"part"]);
    c2.expect(ptype::WORK_DATA, &[&h(1), b"part"]);
});

both!(dash_unique_coalesces_on_data, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"-", b"same"], &h(1));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"-", b"same"], &h(1));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"-", b"other"], &h(2));
    c.created(ptype::SUBMIT_JOB_BG, &[b"g", b"-", b"same"], &h(3));
    // `-` with empty data never coalesces.
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"-", b""], &h(4));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"-", b""], &h(5));
    let mut w = worker(&s, &["f"]);
    // The job's unique stays `-`.
    w.call(
        ptype::GRAB_JOB_UNIQ,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(1), b"f", b"-", b"same"],
    );
    assert_eq!(
        sorted_lines(&c.admin_list("status")),
        ["f\t4\t1\t1", "g\t1\t0\t0"]
    );
});

both!(empty_unique_never_coalesces, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(1));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(2));
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(3));
});

both!(
    unique_longer_than_64_is_refused_without_using_a_handle,
    |kind| {
        let s = start(kind, &[]);
        let mut c = s.connect();
        let long = vec![b'u'; 65];
        let err: &[&[u8]] = &[b"ARGUMENT_TOO_LARGE", b"Unique value too large"];
        c.call(ptype::SUBMIT_JOB, &[b"f", &long, b"d"], ptype::ERROR, err);
        c.call(
            ptype::SUBMIT_JOB_BG,
            &[b"f", &long, b"d"],
            ptype::ERROR,
            err,
        );
        c.call(
            ptype::SUBMIT_JOB_EPOCH,
            &[b"f", &long, b"0", b"d"],
            ptype::ERROR,
            err,
        );
        c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"ok", b"d"], &h(1));
    }
);

both!(maxqueue_limits_new_jobs_by_total_count, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"first", b"d"], &h(1));
    assert_eq!(c.admin_line("maxqueue f 5 3 2"), "OK\r\n");
    let full: &[&[u8]] = &[b"QUEUE_ERROR", b"Job queue is full"];
    // total 1: low allowed while total < 2.
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"f", b"l1", b"d"], &h(2));
    c.call(
        ptype::SUBMIT_JOB_LOW_BG,
        &[b"f", b"l2", b"d"],
        ptype::ERROR,
        full,
    );
    c.call(
        ptype::SUBMIT_JOB_LOW,
        &[b"f", b"l3", b"d"],
        ptype::ERROR,
        full,
    );
    // A coalesced submit skips the check.
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"f", b"l1", b"d"], &h(2));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"n1", b"d"], &h(3));
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"f", b"n2", b"d"],
        ptype::ERROR,
        full,
    );
    c.created(ptype::SUBMIT_JOB_HIGH_BG, &[b"f", b"h1", b"d"], &h(4));
    c.created(ptype::SUBMIT_JOB_HIGH, &[b"f", b"h2", b"d"], &h(5));
    c.call(
        ptype::SUBMIT_JOB_HIGH_BG,
        &[b"f", b"h3", b"d"],
        ptype::ERROR,
        full,
    );
    // Other functions are not limited; `maxqueue f` alone clears the limits.
    c.created(ptype::SUBMIT_JOB_BG, &[b"g", b"", b"d"], &h(6));
    assert_eq!(c.admin_line("maxqueue f"), "OK\r\n");
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"f", b"l4", b"d"], &h(7));
});

both!(maxqueue_one_value_applies_to_every_priority, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    assert_eq!(c.admin_line("maxqueue f 1"), "OK\r\n"); // unknown function: no effect
    assert_eq!(c.admin_list("status"), ".\n");
    assert_eq!(c.admin_line("create function f\r"), "OK\r\n");
    assert_eq!(c.admin_line("maxqueue f 1"), "OK\r\n");
    let full: &[&[u8]] = &[b"QUEUE_ERROR", b"Job queue is full"];
    c.created(ptype::SUBMIT_JOB_HIGH_BG, &[b"f", b"a", b"d"], &h(1));
    c.call(
        ptype::SUBMIT_JOB_HIGH_BG,
        &[b"f", b"b", b"d"],
        ptype::ERROR,
        full,
    );
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"f", b"c", b"d"],
        ptype::ERROR,
        full,
    );
    c.call(
        ptype::SUBMIT_JOB_LOW_BG,
        &[b"f", b"e", b"d"],
        ptype::ERROR,
        full,
    );
});

both!(handles_are_only_consumed_by_new_jobs, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"x", b"d"], &h(1));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"x", b"d"], &h(1));
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"f", &[b'z'; 65], b"d"],
        ptype::ERROR,
        &[b"ARGUMENT_TOO_LARGE", b"Unique value too large"],
    );
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"y", b"d"], &h(2));
});
