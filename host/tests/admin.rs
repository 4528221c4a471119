//! The admin text protocol (docs/admin-protocol.md): every command and error reply byte for byte,
//! the capture scenario of docs/admin-protocol.md (list order and `workers` fd values normalised,
//! which clients must not rely on), line parsing quirks, mixing text and binary on one connection.
//! Run against C gearmand and ours; `version`/`create function xyz\n`/`drop function` with jobs
//! differ on purpose (D6, D14, D15) and are in `ours_only.rs` / `c_reference.rs`.

#[macro_use]
mod common;
use common::*;

/// The capture scenario of docs/admin-protocol.md: background high resize/img1, background normal
/// resize/img2, foreground low resize/img3, background email/m1; a worker `worker-7` that can do
/// resize and email and is running the email job. Returns (client of img3, worker).
fn capture_state(s: &Server) -> (Conn, Conn) {
    let mut c = s.connect();
    c.created(
        ptype::SUBMIT_JOB_HIGH_BG,
        &[b"resize", b"img1", b"d"],
        &h(1),
    );
    c.created(ptype::SUBMIT_JOB_BG, &[b"resize", b"img2", b"d"], &h(2));
    c.created(ptype::SUBMIT_JOB_LOW, &[b"resize", b"img3", b"d"], &h(3));
    c.created(ptype::SUBMIT_JOB_BG, &[b"email", b"m1", b"d"], &h(4));
    let mut w = s.connect();
    w.send(ptype::SET_CLIENT_ID, &[b"worker-7"]);
    // Register email first and grab it, so both servers (whatever their function order) pick it.
    w.send(ptype::CAN_DO, &[b"email"]);
    w.assigned(&[&h(4), b"email", b"d"]);
    w.send(ptype::CAN_DO, &[b"resize"]);
    w.sync();
    (c, w)
}

both!(capture_lists, |kind| {
    let s = start(kind, &[]);
    let (_c, _w) = capture_state(&s);
    let mut a = s.connect();
    assert_eq!(
        sorted_lines(&a.admin_list("status\r")),
        ["email\t1\t1\t1", "resize\t3\t0\t1"]
    );
    assert_eq!(
        normalised_workers(&a.admin_list("workers\r")),
        [
            "FD 127.0.0.1 - :",
            "FD 127.0.0.1 - :",
            "FD 127.0.0.1 worker-7 : resize email"
        ]
    );
    assert_eq!(
        sorted_lines(&a.admin_list("prioritystatus\r")),
        ["email\t0\t0\t0\t1", "resize\t1\t1\t1\t1"]
    );
    assert_eq!(
        sorted_lines(&a.admin_list("show jobs\r")),
        [
            "T:1\t0\t0\t1",
            "T:2\t0\t0\t1",
            "T:3\t0\t0\t0",
            "T:4\t0\t0\t1"
        ]
    );
    assert_eq!(
        sorted_lines(&a.admin_list("show unique jobs\r")),
        ["img1", "img2", "img3", "m1"]
    );
    assert_eq!(a.admin_line("maxqueue resize 10\r"), "OK\r\n");
    assert_eq!(a.admin_line("getpid\r"), format!("OK {}\n", s.pid()));
});

both!(verbose_reports_the_level, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    // Ours is started with --verbose INFO by the harness; C with its default, ERROR.
    let want = match kind {
        Kind::Ours => "OK INFO\n",
        Kind::C => "OK ERROR\n",
    };
    assert_eq!(a.admin_line("verbose"), want);
    assert_eq!(a.admin_line("VERBOSE extra tokens"), want);
});

both!(version_is_one_ok_line, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    let v = a.admin_line("version");
    assert!(
        v.starts_with("OK ") && v.len() > 4 && !v.contains('\r'),
        "{v:?}"
    );
    if kind == Kind::C {
        assert_eq!(v, "OK 1.1.20+ds\n");
    }
});

both!(empty_server_lists, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    assert_eq!(a.admin_list("status"), ".\n");
    assert_eq!(a.admin_list("prioritystatus"), ".\n");
    assert_eq!(a.admin_list("show jobs"), ".\n");
    assert_eq!(a.admin_list("show unique jobs"), ".\n");
    // The asking connection is listed too.
    assert_eq!(
        normalised_workers(&a.admin_list("workers")),
        ["FD 127.0.0.1 - :"]
    );
});

both!(error_replies, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    let cases: &[(&str, &str)] = &[
        ("foo bar", "ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n"),
        ("\r", "ERR UNKNOWN_COMMAND Unknown+server+command\r\n"),
        ("", "ERR UNKNOWN_COMMAND Unknown+server+command\r\n"),
        (" status", "ERR UNKNOWN_COMMAND Unknown+server+command\r\n"),
        ("show", "ERR UNKNOWN_COMMAND Unknown+server+commandshow\r\n"),
        ("show foo", "ERR UNKNOWN_SHOW_ARGUMENTS\r\n"),
        ("show jobs please", "ERR UNKNOWN_SHOW_ARGUMENTS\r\n"),
        ("cancel job", "ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r\n"),
        ("cancel", "ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r\n"),
        ("cancel job T:1", "ERR UNKNOWN_JOB\r\n"),
        ("cancel foo bar", "ERR UNKNOWN_ERROR\r\n"),
        ("cancel job T:1 extra", "ERR UNKNOWN_ERROR\r\n"),
        ("create function", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n"),
        ("create", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n"),
        ("create foo bar", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n"),
        ("drop function", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+drop\r\n"),
        ("drop", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+drop\r\n"),
        ("drop function nope", "ERR function not found\r\n"),
        ("maxqueue", "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n"),
        ("maxqueue abc", "OK\r\n"),
        ("maxqueue abc 1 2 3", "OK\r\n"),
        ("Status\tx", "ERR UNKNOWN_COMMAND Unknown+server+commandStatus\tx\r\n"),
    ];
    for (line, want) in cases {
        assert_eq!(&a.admin_line(line), want, "reply to {line:?}");
    }
    // None of these created anything.
    assert_eq!(a.admin_list("status"), ".\n");
});

both!(create_and_drop_function, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    assert_eq!(a.admin_line("create function abc\r"), "OK\r\n");
    assert_eq!(a.admin_line("CREATE FUNCTION def\r"), "OK\r\n");
    assert_eq!(a.admin_line("create function abc\r"), "OK\r\n"); // already there
    assert_eq!(
        sorted_lines(&a.admin_list("STATUS")),
        ["abc\t0\t0\t0", "def\t0\t0\t0"]
    );
    // Case-insensitive name match.
    assert_eq!(a.admin_line("drop function ABC\r"), "OK\r\n");
    assert_eq!(sorted_lines(&a.admin_list("status")), ["def\t0\t0\t0"]);
    assert_eq!(
        a.admin_line("drop function abc\r"),
        "ERR function not found\r\n"
    );
    // Refused while a worker is registered.
    let w = worker(&s, &["def"]);
    assert_eq!(
        a.admin_line("Drop Function def\r"),
        "ERR there are still connected workers or executing clients\r\n"
    );
    w.close();
    wait_for(
        "the worker registration to go",
        std::time::Duration::from_secs(5),
        || a.admin_list("status") == "def\t0\t0\t0\n.\n",
    );
    assert_eq!(a.admin_line("drop function def\r"), "OK\r\n");
    assert_eq!(a.admin_list("status"), ".\n");
});

both!(pipelined_lines_and_mixed_binary, |kind| {
    let s = start(kind, &[]);
    let mut a = s.connect();
    assert_eq!(a.admin_line("create function xy\r"), "OK\r\n");
    a.send_raw(b"status\nstatus\r\n");
    assert_eq!(a.admin_list_reply(), "xy\t0\t0\t0\n.\n");
    assert_eq!(a.admin_list_reply(), "xy\t0\t0\t0\n.\n");
    a.send_raw(b"getpid\n");
    a.send(ptype::ECHO_REQ, &[b"hello"]);
    a.send_raw(b"getpid extra\n");
    let pid = format!("OK {}\n", s.pid());
    assert_eq!(a.read_until(|b| b.ends_with(b"\n")), pid);
    a.expect(ptype::ECHO_RES, &[b"hello"]);
    assert_eq!(a.read_until(|b| b.ends_with(b"\n")), pid);
});

both!(lists_count_jobs_by_state, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_HIGH, &[b"f", b"a", b"d"], &h(1));
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"f", b"", b"d"], &h(2));
    c.created(
        ptype::SUBMIT_JOB_EPOCH,
        &[b"f", b"e", b"4000000000", b"d"],
        &h(3),
    );
    let mut w = worker(&s, &["f", "f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
    let mut a = s.connect();
    // Running jobs are not in prioritystatus; the future epoch job is (normal).
    assert_eq!(
        sorted_lines(&a.admin_list("prioritystatus")),
        ["f\t0\t1\t1\t2"]
    );
    assert_eq!(sorted_lines(&a.admin_list("status")), ["f\t3\t1\t2"]);
    assert_eq!(
        sorted_lines(&a.admin_list("show unique jobs")),
        ["", "a", "e"]
    );
    w.send(ptype::WORK_COMPLETE, &[&h(1), b""]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b""]);
    // Functions stay listed after their jobs are gone.
    assert_eq!(sorted_lines(&a.admin_list("status")), ["f\t2\t0\t2"]);
});
