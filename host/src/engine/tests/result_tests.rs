//! Work results, exceptions, status queries.

use super::*;

/// A client c1 waiting on foreground job H:t:1 of `f`, running on worker c2.
fn running_job() -> (H, ConnId, ConnId) {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB, "f", "u", "in");
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [in]"]));
    (h, c, w)
}

#[test]
fn work_packets_are_forwarded_byte_identical() {
    let (mut h, c, w) = running_job();
    let out = h.req(w, WORK_DATA, &[b"H:t:1", b"chunk\0with nul"]);
    assert_eq!(out, v(&["c1 WORK_DATA [H:t:1] [chunk\\x00with nul]"]));
    let out = h.req(w, WORK_WARNING, &[b"H:t:1", b"careful"]);
    assert_eq!(out, v(&["c1 WORK_WARNING [H:t:1] [careful]"]));
    let out = h.req(w, WORK_STATUS, &[b"H:t:1", b"3", b"10 "]);
    assert_eq!(out, v(&["c1 WORK_STATUS [H:t:1] [3] [10 ]"]));
    let out = h.req(c, GET_STATUS, &[b"H:t:1"]);
    assert_eq!(out, v(&["c1 STATUS_RES [H:t:1] [1] [1] [3] [10]"]));
    let out = h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    assert_eq!(out, v(&["c1 WORK_COMPLETE [H:t:1] []"]));
    assert_eq!(h.eng.job_count(), 0);
    let out = h.req(c, GET_STATUS, &[b"H:t:1"]);
    assert_eq!(out, v(&["c1 STATUS_RES [H:t:1] [0] [0] [0] [0]"]));
}

#[test]
fn work_status_numbers_are_atoi_into_u32() {
    let (mut h, c, w) = running_job();
    h.req(w, WORK_STATUS, &[b"H:t:1", b"-1", b"x"]);
    let out = h.req(c, GET_STATUS, &[b"H:t:1"]);
    assert_eq!(out, v(&["c1 STATUS_RES [H:t:1] [1] [1] [4294967295] [0]"]));
}

#[test]
fn work_fail_is_forwarded_as_sent_and_ends_the_job() {
    let (mut h, _c, w) = running_job();
    assert_eq!(
        h.req(w, WORK_FAIL, &[b"H:t:1"]),
        v(&["c1 WORK_FAIL [H:t:1]"])
    );
    assert_eq!(h.eng.job_count(), 0);
    let again = h.req(w, WORK_FAIL, &[b"H:t:1"]);
    assert_eq!(
        again,
        v(&["c2 ERROR [JOB_NOT_FOUND] [Job given in work result not found]"])
    );
}

#[test]
fn results_for_jobs_not_assigned_here_are_refused() {
    let (mut h, c, w) = running_job();
    let other = h.open(3);
    let e1 = "ERROR [JOB_NOT_FOUND] [Job given in work result not found]";
    let e2 = "ERROR [JOB_NOT_FOUND] [Job does not exist on server]";
    let e3 = "ERROR [JOB_NOT_FOUND] [An exception was received for a job that does not exist]";
    let cases: [(u32, &[&[u8]], &str); 6] = [
        (WORK_STATUS, &[b"H:t:1", b"1", b"2"], e1),
        (WORK_COMPLETE, &[b"H:t:1", b"x"], e1),
        (WORK_FAIL, &[b"H:t:1"], e1),
        (WORK_DATA, &[b"H:t:1", b"x"], e2),
        (WORK_WARNING, &[b"H:t:1", b"x"], e2),
        (WORK_EXCEPTION, &[b"H:t:1", b"x"], e3),
    ];
    for (kind, args, err) in cases {
        assert_eq!(h.req(other, kind, args), v(&[&format!("c3 {err}")]));
    }
    // Unknown handles, odd spellings of a real one, a waiting job.
    for bad in [&b"H:t:9"[..], b"H:t:01", b"h:t:1", b"H:t:1 ", b""] {
        assert_eq!(h.req(w, WORK_DATA, &[bad, b"x"]), v(&[&format!("c2 {e2}")]));
    }
    h.submit(c, SUBMIT_JOB_BG, "f", "", "queued");
    assert_eq!(
        h.req(w, WORK_DATA, &[b"H:t:2", b"x"]),
        v(&[&format!("c2 {e2}")])
    );
    // The job is untouched.
    assert_eq!(
        h.req(w, WORK_COMPLETE, &[b"H:t:1", b"ok"]),
        v(&["c1 WORK_COMPLETE [H:t:1] [ok]"])
    );
}

#[test]
fn long_work_fail_handle_is_argument_too_large() {
    let (mut h, _c, w) = running_job();
    let long = vec![b'H'; 64];
    let out = h.req(w, WORK_FAIL, &[&long]);
    assert_eq!(
        out,
        v(&["c2 ERROR [ARGUMENT_TOO_LARGE] [Error occurred due to GEARMAND_JOB_HANDLE_SIZE being too small from snprintf]"])
    );
    // WORK_FAIL's handle is read up to a NUL.
    assert_eq!(
        h.req(w, WORK_FAIL, &[b"H:t:1\0junk"]),
        v(&["c1 WORK_FAIL [H:t:1\\x00junk]"])
    );
}

#[test]
fn exceptions_are_converted_for_clients_that_did_not_ask() {
    let mut h = H::new();
    let (plain, wants, w) = (h.open(1), h.open(2), h.open(3));
    assert_eq!(
        h.req(wants, OPTION_REQ, &[b"ExCePtIoNs"]),
        v(&["c2 OPTION_RES [ExCePtIoNs]"])
    );
    h.submit(plain, SUBMIT_JOB, "f", "u", "d");
    h.submit(wants, SUBMIT_JOB, "f", "u", "d");
    h.can_do(w, "f");
    h.grab(w);
    let out = h.req(w, WORK_EXCEPTION, &[b"H:t:1", b"boom"]);
    assert_eq!(
        out,
        v(&["c2 WORK_EXCEPTION [H:t:1] [boom]", "c1 WORK_FAIL [H:t:1]"])
    );
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn exceptions_option_from_the_command_line() {
    let mut h = H::with(|c| c.exceptions = true);
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB, "f", "", "d");
    h.can_do(w, "f");
    h.grab(w);
    let out = h.req(w, WORK_EXCEPTION, &[b"H:t:1", b"boom"]);
    assert_eq!(out, v(&["c1 WORK_EXCEPTION [H:t:1] [boom]"]));
}

#[test]
fn background_jobs_have_no_one_to_tell() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    h.can_do(w, "f");
    h.grab(w);
    assert!(h.req(w, WORK_DATA, &[b"H:t:1", b"x"]).is_empty());
    assert!(h.req(w, WORK_COMPLETE, &[b"H:t:1", b"x"]).is_empty());
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn get_status_shapes() {
    let mut h = H::new();
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    let out = h.req(c, GET_STATUS, &[b"H:t:1"]);
    assert_eq!(out, v(&["c1 STATUS_RES [H:t:1] [1] [0] [0] [0]"]));
    let out = h.req(c, GET_STATUS, &[b"nope"]);
    assert_eq!(out, v(&["c1 STATUS_RES [nope] [0] [0] [0] [0]"]));
    // 64 bytes or more: no reply at all.
    assert!(h.req(c, GET_STATUS, &[&[b'x'; 64]]).is_empty());
}

#[test]
fn get_status_unique_ignores_the_function_and_prefers_the_newest() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB, "f", "u", "d");
    h.submit(c, SUBMIT_JOB_BG, "g", "u", "d");
    let out = h.req(c, GET_STATUS_UNIQUE, &[b"u"]);
    assert_eq!(out, v(&["c1 STATUS_RES_UNIQUE [u] [1] [0] [0] [0] [0]"]));
    h.can_do(w, "g");
    h.grab(w);
    h.req(w, WORK_STATUS, &[b"H:t:2", b"7", b"9"]);
    let out = h.req(c, GET_STATUS_UNIQUE, &[b"u"]);
    assert_eq!(out, v(&["c1 STATUS_RES_UNIQUE [u] [1] [1] [7] [9] [0]"]));
    h.req(w, WORK_COMPLETE, &[b"H:t:2", b""]);
    // Now the foreground job of f, with its one client.
    h.submit(c, SUBMIT_JOB, "f", "u", "d");
    let out = h.req(c, GET_STATUS_UNIQUE, &[b"u"]);
    assert_eq!(out, v(&["c1 STATUS_RES_UNIQUE [u] [1] [0] [0] [0] [2]"]));
    let out = h.req(c, GET_STATUS_UNIQUE, &[b"zz"]);
    assert_eq!(out, v(&["c1 STATUS_RES_UNIQUE [zz] [0] [0] [0] [0] [0]"]));
    assert!(h.req(c, GET_STATUS_UNIQUE, &[&[b'u'; 65]]).is_empty());
}
