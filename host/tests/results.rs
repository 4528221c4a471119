//! Work results and queries (docs/gear-protocol.md §6, §9, §10, §11): WORK_* forwarding to every attached
//! client, exceptions (OPTION_REQ and `--exceptions`), JOB_NOT_FOUND errors, GET_STATUS /
//! GET_STATUS_UNIQUE, ECHO, SET_CLIENT_ID, client disconnects and `cancel job`.
//! Run against C gearmand and ours.

#[macro_use]
mod common;
use common::*;
use std::time::Duration;

/// Two foreground clients attached to job T:1 of `f` (unique `u`) and a worker running it.
fn running_job(s: &Server) -> (Conn, Conn, Conn) {
    let (mut c1, mut c2) = (s.connect(), s.connect());
    c1.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
    c2.created(ptype::SUBMIT_JOB_LOW, &[b"f", b"u", b"d"], &h(1));
    let mut w = worker(s, &["f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
    (c1, c2, w)
}

both!(
    work_packets_are_forwarded_to_every_attached_client,
    |kind| {
        let s = start(kind, &[]);
        let (mut c1, mut c2, mut w) = running_job(&s);
        let steps: [(u32, &[&[u8]]); 4] = [
            (ptype::WORK_STATUS, &[b"T:1", b"3", b"10"]),
            (ptype::WORK_DATA, &[b"T:1", b"da\0ta"]),
            (ptype::WORK_WARNING, &[b"T:1", b"warn"]),
            (ptype::WORK_DATA, &[b"T:1", b""]),
        ];
        for (t, args) in steps {
            w.send(t, args);
            c1.expect(t, args);
            c2.expect(t, args);
        }
        c1.call(
            ptype::GET_STATUS,
            &[b"T:1"],
            ptype::STATUS_RES,
            &[b"T:1", b"1", b"1", b"3", b"10"],
        );
        c1.call(
            ptype::GET_STATUS_UNIQUE,
            &[b"u"],
            ptype::STATUS_RES_UNIQUE,
            &[b"u", b"1", b"1", b"3", b"10", b"2"],
        );
        w.send(ptype::WORK_COMPLETE, &[b"T:1", b"result\0bytes"]);
        c1.expect(ptype::WORK_COMPLETE, &[b"T:1", b"result\0bytes"]);
        c2.expect(ptype::WORK_COMPLETE, &[b"T:1", b"result\0bytes"]);
        // Finished: unknown now.
        c1.call(
            ptype::GET_STATUS,
            &[b"T:1"],
            ptype::STATUS_RES,
            &[b"T:1", b"0", b"0", b"0", b"0"],
        );
        c1.call(
            ptype::GET_STATUS_UNIQUE,
            &[b"u"],
            ptype::STATUS_RES_UNIQUE,
            &[b"u", b"0", b"0", b"0", b"0", b"0"],
        );
        w.call(
            ptype::WORK_DATA,
            &[b"T:1", b"x"],
            ptype::ERROR,
            &[b"JOB_NOT_FOUND", b"Job does not exist on server"],
        );
    }
);

// Big payloads may be written straight from the frame while small packets wait in the buffer
// (runtime/direct.rs): a burst of big and small packets, sent before the clients read anything
// (so the sockets fill up and writes are partial), must still arrive whole and in order.
both!(
    big_and_small_work_packets_arrive_whole_and_in_order,
    |kind| {
        let s = start(kind, &[]);
        let (mut c1, mut c2, mut w) = running_job(&s);
        let big = |n: usize, seed: u8| -> Vec<u8> {
            (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
        };
        let (d1, d2, result) = (big(300_000, 1), big(40_000, 2), big(1_000_000, 3));
        let steps: [(u32, &[&[u8]]); 5] = [
            (ptype::WORK_DATA, &[b"T:1", &d1]),
            (ptype::WORK_STATUS, &[b"T:1", b"1", b"3"]),
            (ptype::WORK_DATA, &[b"T:1", &d2]),
            (ptype::WORK_STATUS, &[b"T:1", b"2", b"3"]),
            (ptype::WORK_COMPLETE, &[b"T:1", &result]),
        ];
        for (t, args) in steps {
            w.send(t, args);
        }
        for (t, args) in steps {
            c1.expect(t, args);
            c2.expect(t, args);
        }
    }
);

both!(work_fail_is_forwarded_as_sent, |kind| {
    let s = start(kind, &[]);
    let (mut c1, mut c2, mut w) = running_job(&s);
    w.send(ptype::WORK_FAIL, &[b"T:1"]);
    c1.expect(ptype::WORK_FAIL, &[b"T:1"]);
    c2.expect(ptype::WORK_FAIL, &[b"T:1"]);
    assert_eq!(sorted_lines(&c1.admin_list("status")), ["f\t0\t0\t1"]);
});

both!(
    work_exception_goes_to_clients_that_asked_others_get_fail,
    |kind| {
        let s = start(kind, &[]);
        let mut c1 = s.connect();
        c1.call(
            ptype::OPTION_REQ,
            &[b"exceptions"],
            ptype::OPTION_RES,
            &[b"exceptions"],
        );
        let mut c2 = s.connect();
        c1.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
        c2.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
        let mut w = worker(&s, &["f"]);
        w.assigned(&[&h(1), b"f", b"d"]);
        w.send(ptype::WORK_EXCEPTION, &[b"T:1", b"boom"]);
        c1.expect(ptype::WORK_EXCEPTION, &[b"T:1", b"boom"]);
        // Converted to WORK_FAIL: the bare handle from ours, a trailing NUL from 1.1.20 (D20).
        c2.expect(
            ptype::WORK_FAIL,
            &differences::d20_converted_fail(kind, b"T:1"),
        );
        w.call(
            ptype::WORK_EXCEPTION,
            &[b"T:1", b"again"],
            ptype::ERROR,
            &[
                b"JOB_NOT_FOUND",
                b"An exception was received for a job that does not exist",
            ],
        );
    }
);

both!(exceptions_flag_for_every_connection, |kind| {
    let s = start(kind, &["--exceptions"]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
    w.send(ptype::WORK_EXCEPTION, &[b"T:1", b"boom"]);
    c.expect(ptype::WORK_EXCEPTION, &[b"T:1", b"boom"]);
});

both!(option_req_accepts_only_exceptions, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.call(
        ptype::OPTION_REQ,
        &[b"EXCEPTIONS"],
        ptype::OPTION_RES,
        &[b"EXCEPTIONS"],
    );
    c.call(
        ptype::OPTION_REQ,
        &[b"ExCePtIoNs"],
        ptype::OPTION_RES,
        &[b"ExCePtIoNs"],
    );
    let unknown: &[&[u8]] = &[b"UNKNOWN_OPTION", b"Server does not recognize given option"];
    c.call(ptype::OPTION_REQ, &[b"foo"], ptype::ERROR, unknown);
    c.call(ptype::OPTION_REQ, &[b""], ptype::ERROR, unknown);
    c.call(ptype::OPTION_REQ, &[&[b'x'; 64]], ptype::ERROR, unknown);
});

both!(
    work_results_for_jobs_not_assigned_here_are_refused,
    |kind| {
        let s = start(kind, &[]);
        let (_c1, _c2, _w) = running_job(&s);
        let mut other = worker(&s, &["f"]);
        let not_found: &[&[u8]] = &[b"JOB_NOT_FOUND", b"Job given in work result not found"];
        let no_such: &[&[u8]] = &[b"JOB_NOT_FOUND", b"Job does not exist on server"];
        let exc: &[&[u8]] = &[
            b"JOB_NOT_FOUND",
            b"An exception was received for a job that does not exist",
        ];
        for handle in [&b"T:1"[..], b"T:99", b"nope"] {
            other.call(
                ptype::WORK_STATUS,
                &[handle, b"1", b"2"],
                ptype::ERROR,
                not_found,
            );
            other.call(
                ptype::WORK_COMPLETE,
                &[handle, b"r"],
                ptype::ERROR,
                not_found,
            );
            other.call(ptype::WORK_FAIL, &[handle], ptype::ERROR, not_found);
            other.call(ptype::WORK_DATA, &[handle, b"r"], ptype::ERROR, no_such);
            other.call(ptype::WORK_WARNING, &[handle, b"r"], ptype::ERROR, no_such);
            other.call(ptype::WORK_EXCEPTION, &[handle, b"r"], ptype::ERROR, exc);
        }
        let long = vec![b'h'; 64];
        other.call(
            ptype::WORK_FAIL,
            &[&long],
            ptype::ERROR,
            &[
                b"ARGUMENT_TOO_LARGE",
                b"Error occurred due to GEARMAND_JOB_HANDLE_SIZE being too small from snprintf",
            ],
        );
    }
);

both!(status_queries_of_unknown_and_queued_jobs, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.call(
        ptype::GET_STATUS,
        &[b"T:7"],
        ptype::STATUS_RES,
        &[b"T:7", b"0", b"0", b"0", b"0"],
    );
    c.call(
        ptype::GET_STATUS_UNIQUE,
        &[b"nope"],
        ptype::STATUS_RES_UNIQUE,
        &[b"nope", b"0", b"0", b"0", b"0", b"0"],
    );
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"bg", b"d"], &h(1));
    c.call(
        ptype::GET_STATUS,
        &[b"T:1"],
        ptype::STATUS_RES,
        &[b"T:1", b"1", b"0", b"0", b"0"],
    );
    c.call(
        ptype::GET_STATUS_UNIQUE,
        &[b"bg"],
        ptype::STATUS_RES_UNIQUE,
        &[b"bg", b"1", b"0", b"0", b"0", b"0"],
    );
    // Handle lookups are case-sensitive.
    c.call(
        ptype::GET_STATUS,
        &[b"t:1"],
        ptype::STATUS_RES,
        &[b"t:1", b"0", b"0", b"0", b"0"],
    );
    // Too-long handles / uniques get no reply at all (1.1.20: >= 64 bytes for both; ours stores
    // 64-byte uniques (D8), so use 65 for the unique). 1.1.20 sometimes closes the connection
    // after such a request, so each gets its own connection and a close counts as "no reply".
    for (t, arg) in [
        (ptype::GET_STATUS, vec![b'h'; 64]),
        (ptype::GET_STATUS_UNIQUE, vec![b'u'; 65]),
    ] {
        let mut q = s.connect();
        q.send(t, &[&arg]);
        q.expect_no_reply(Duration::from_millis(300));
    }
    c.sync();
});

both!(get_status_unique_ignores_the_function, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"u", b"d"], &h(1));
    c.created(ptype::SUBMIT_JOB, &[b"g", b"u", b"d"], &h(2));
    // The most recently created job with that unique wins: g's, with one client.
    c.call(
        ptype::GET_STATUS_UNIQUE,
        &[b"u"],
        ptype::STATUS_RES_UNIQUE,
        &[b"u", b"1", b"0", b"0", b"0", b"1"],
    );
});

both!(echo_returns_the_data_unchanged, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.call(ptype::ECHO_REQ, &[b""], ptype::ECHO_RES, &[b""]);
    c.call(ptype::ECHO_REQ, &[b"a\0b\0"], ptype::ECHO_RES, &[b"a\0b\0"]);
    let big = vec![7u8; 100_000];
    c.call(ptype::ECHO_REQ, &[&big], ptype::ECHO_RES, &[&big]);
});

both!(set_client_id_shows_in_workers, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.send(ptype::SET_CLIENT_ID, &[b"first"]);
    c.send(ptype::SET_CLIENT_ID, &[b"my-id"]);
    c.sync();
    let mut a = s.connect();
    assert_eq!(
        normalised_workers(&a.admin_list("workers")),
        ["FD 127.0.0.1 - :", "FD 127.0.0.1 my-id :"]
    );
});

both!(client_disconnect_ignores_its_queued_job, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
    c.close();
    let mut a = s.connect();
    wait_for(
        "the job to be marked ignored",
        Duration::from_secs(5),
        || a.admin_list("show jobs") == "T:1\t0\t1\t0\n.\n",
    );
    assert_eq!(sorted_lines(&a.admin_list("status")), ["f\t1\t0\t0"]);
    // A GRAB reaching it frees it silently.
    let mut w = worker(&s, &["f"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
    assert_eq!(a.admin_list("show jobs"), ".\n");
    assert_eq!(sorted_lines(&a.admin_list("status")), ["f\t0\t0\t1"]);
});

both!(
    client_disconnect_lets_a_running_job_finish_silently,
    |kind| {
        let s = start(kind, &[]);
        let (c1, mut c2, mut w) = running_job(&s);
        c1.close();
        // c2 is still attached: results keep flowing to it.
        w.send(ptype::WORK_DATA, &[b"T:1", b"x"]);
        c2.expect(ptype::WORK_DATA, &[b"T:1", b"x"]);
        c2.close();
        let mut a = s.connect();
        wait_for(
            "the running job to be ignored",
            Duration::from_secs(5),
            || a.admin_list("show jobs") == "T:1\t0\t1\t0\n.\n",
        );
        w.send(ptype::WORK_COMPLETE, &[b"T:1", b"r"]);
        w.sync();
        assert_eq!(a.admin_list("show jobs"), ".\n");
    }
);

both!(cancel_job_fails_the_clients_and_ignores_the_job, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    let mut a = s.connect();
    assert_eq!(a.admin_line("cancel job T:1"), "OK\r\n");
    c.expect(ptype::WORK_FAIL, &[b"T:1"]);
    assert_eq!(a.admin_list("show jobs"), "T:1\t0\t1\t0\n.\n");
    // Cancelling again re-sends WORK_FAIL.
    assert_eq!(a.admin_line("cancel job T:1"), "OK\r\n");
    c.expect(ptype::WORK_FAIL, &[b"T:1"]);
    assert_eq!(a.admin_line("cancel job T:2"), "ERR UNKNOWN_JOB\r\n");
    let mut w = worker(&s, &["f"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
});

both!(cancelled_running_job_keeps_forwarding, |kind| {
    let s = start(kind, &[]);
    let (mut c1, _c2, mut w) = running_job(&s);
    let mut a = s.connect();
    assert_eq!(a.admin_line("cancel job T:1"), "OK\r\n");
    c1.expect(ptype::WORK_FAIL, &[b"T:1"]);
    w.send(ptype::WORK_DATA, &[b"T:1", b"still"]);
    c1.expect(ptype::WORK_DATA, &[b"T:1", b"still"]);
});
