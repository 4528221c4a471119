//! Admin commands with the byte-exact replies of docs/admin-protocol.md.

use super::*;

/// The capture scenario of docs/admin-protocol.md: client c7, worker c8 (`worker-7`), admin c9.
fn capture_state() -> (H, ConnId) {
    let mut h = H::new();
    let (c, w, a) = (h.open(7), h.open(8), h.open(9));
    h.submit(c, SUBMIT_JOB_HIGH_BG, "resize", "img1", "1");
    h.submit(c, SUBMIT_JOB_BG, "resize", "img2", "2");
    h.submit(c, SUBMIT_JOB_LOW, "resize", "img3", "3");
    h.submit(c, SUBMIT_JOB_BG, "email", "m1", "4");
    h.req(w, SET_CLIENT_ID, &[b"worker-7"]);
    h.can_do(w, "resize");
    h.can_do(w, "email");
    // 2.0 rule: the high resize job goes first (1.1.20 handed out the email job).
    assert_eq!(h.grab(w), v(&["c8 JOB_ASSIGN [H:t:1] [resize] [1]"]));
    (h, a)
}

#[test]
fn listings_in_the_capture_state() {
    let (mut h, a) = capture_state();
    let cases: [(&str, &[u8]); 9] = [
        ("status", b"resize\t3\t1\t1\nemail\t1\t0\t1\n.\n"),
        (
            "workers",
            b"37 127.0.0.1 - :\n38 127.0.0.1 worker-7 : email resize\n39 127.0.0.1 - :\n.\n",
        ),
        (
            "prioritystatus",
            b"resize\t0\t1\t1\t1\nemail\t0\t1\t0\t1\n.\n",
        ),
        (
            "show jobs",
            b"H:t:1\t0\t0\t1\nH:t:2\t0\t0\t1\nH:t:3\t0\t0\t0\nH:t:4\t0\t0\t1\n.\n",
        ),
        ("show unique jobs", b"img1\nimg2\nimg3\nm1\n.\n"),
        ("maxqueue resize 10", b"OK\r\n"),
        ("version", b"OK 1.1.20+ds\n"),
        ("verbose", b"OK WARNING\n"),
        ("getpid", b"OK 4242\n"),
    ];
    for (line, reply) in cases {
        assert_eq!(h.admin(a, line), reply, "{line}");
    }
}

#[test]
fn replies_on_an_empty_server() {
    let mut h = H::new();
    let a = h.open(9);
    let unknown = |x: &str| format!("ERR UNKNOWN_COMMAND Unknown+server+command{x}\r\n");
    let args = |x: &str| {
        format!(
            "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+{x}\r\n"
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("status", ".\n".into()),
        ("workers", "39 127.0.0.1 - :\n.\n".into()),
        ("foo bar", unknown("foo")),
        ("", unknown("")),
        (" status", unknown("")),
        ("show", unknown("show")),
        ("show foo", "ERR UNKNOWN_SHOW_ARGUMENTS\r\n".into()),
        ("show jobs extra", "ERR UNKNOWN_SHOW_ARGUMENTS\r\n".into()),
        ("show jobs", ".\n".into()),
        ("SHOW UNIQUE JOBS", ".\n".into()),
        ("cancel job", unknown("cancel")),
        ("cancel job H:x:1", "ERR UNKNOWN_JOB\r\n".into()),
        ("cancel foo bar", "ERR UNKNOWN_ERROR\r\n".into()),
        ("cancel job H:t:1 extra", "ERR UNKNOWN_ERROR\r\n".into()),
        ("create function", args("create")),
        ("CREATE function a b", args("CREATE")),
        ("create function abc", "OK\r\n".into()),
        ("create function xyz", "OK\r\n".into()),
        ("drop function nope", "ERR function not found\r\n".into()),
        ("drop", args("drop")),
        ("maxqueue", args("maxqueue")),
        ("maxqueue abc", "OK\r\n".into()),
        ("STATUS", "abc\t0\t0\t0\nxyz\t0\t0\t0\n.\n".into()),
        (
            "status extra tokens",
            "abc\t0\t0\t0\nxyz\t0\t0\t0\n.\n".into(),
        ),
        ("Version", "OK 1.1.20+ds\n".into()),
        (
            "prioritystatus",
            "abc\t0\t0\t0\t0\nxyz\t0\t0\t0\t0\n.\n".into(),
        ),
    ];
    for (line, reply) in cases {
        assert_eq!(h.admin_s(a, line), reply, "{line:?}");
    }
}

#[test]
fn admin_lines_and_binary_packets_mix_in_order() {
    let mut h = H::new();
    let a = h.open(1);
    let f = Frame::with_args(kind::ADMIN_LINE, &[b"version"]);
    let mut out = Outbox::default();
    h.eng.handle(ToEngine::Request(a, f), h.now, &mut out);
    h.eng.handle(
        ToEngine::Request(a, Frame::with_args(ECHO_REQ, &[b"hello"])),
        h.now,
        &mut out,
    );
    let rendered: Vec<String> = out.msgs.iter().map(super::render).collect();
    assert_eq!(
        rendered,
        v(&["c1 RAW [OK 1.1.20+ds\\n]", "c1 ECHO_RES [hello]"])
    );
}

#[test]
fn drop_function_rules() {
    let mut h = H::new();
    let (c, w, a) = (h.open(1), h.open(2), h.open(3));
    let busy = "ERR there are still connected workers or executing clients\r\n";
    h.can_do(w, "f");
    assert_eq!(h.admin_s(a, "drop function F"), busy);
    h.req(w, RESET_ABILITIES, &[]);
    // Waiting jobs also block the drop (the recommended fix).
    h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    assert_eq!(h.admin_s(a, "drop function f"), busy);
    h.can_do(w, "f");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    h.req(w, CANT_DO, &[b"f"]);
    h.admin(a, "create function g");
    assert_eq!(h.admin_s(a, "drop function F"), "OK\r\n");
    assert_eq!(h.admin_s(a, "status"), "g\t0\t0\t0\n.\n");
    // A dropped function comes back on next mention.
    h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    assert_eq!(h.admin_s(a, "status"), "f\t1\t0\t0\ng\t0\t0\t0\n.\n");
}

#[test]
fn cancel_job_fails_clients_and_ignores_the_job() {
    let mut h = H::new();
    let (c, w, a) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB, "f", "", "queued");
    h.submit(c, SUBMIT_JOB, "f", "", "running");
    h.can_do(w, "f");
    h.grab(w);
    // Cancel the running job H:t:1: clients told, job keeps running, results still forwarded.
    let mut out = Outbox::default();
    let f = Frame::with_args(kind::ADMIN_LINE, &[b"cancel JOB H:t:1"]);
    h.eng.handle(ToEngine::Request(a, f), h.now, &mut out);
    let rendered: Vec<String> = out.msgs.iter().map(super::render).collect();
    assert_eq!(rendered, v(&["c1 WORK_FAIL [H:t:1]", "c3 RAW [OK\\r\\n]"]));
    assert_eq!(
        h.admin_s(a, "show jobs"),
        "H:t:1\t0\t1\t0\nH:t:2\t0\t0\t0\n.\n"
    );
    let out = h.req(w, WORK_DATA, &[b"H:t:1", b"x"]);
    assert_eq!(out, v(&["c1 WORK_DATA [H:t:1] [x]"]));
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b"x"]);
    // Cancel the waiting job twice: WORK_FAIL each time; a GRAB then frees it.
    assert_eq!(h.admin(a, "cancel job H:t:2"), b"OK\r\n");
    assert_eq!(h.admin(a, "cancel job H:t:2"), b"OK\r\n");
    assert_eq!(h.admin_s(a, "status"), "f\t1\t0\t1\n.\n");
    assert!(h.sleep(w).is_empty());
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
    assert_eq!(h.admin_s(a, "status"), "f\t0\t0\t1\n.\n");
    assert_eq!(h.admin(a, "cancel job H:t:2"), b"ERR UNKNOWN_JOB\r\n");
}

#[test]
fn shutdown_from_loopback_only() {
    let mut h = H::new();
    let remote = h.open_from(1, "10.1.2.3:5000");
    let reply = h.admin_s(remote, "shutdown");
    assert_eq!(
        reply,
        "ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n"
    );
    assert_eq!(h.control, None);
    let local = h.open(2);
    let args = "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+shutdown\r\n";
    assert_eq!(h.admin_s(local, "shutdown now"), args);
    assert_eq!(h.control, None);
    assert_eq!(h.admin_s(local, "shutdown graceful"), "OK\r\n");
    assert_eq!(h.control, Some(Control::GracefulShutdown));
    let v6 = h.open_from(3, "[::1]:5000");
    assert_eq!(h.admin_s(v6, "SHUTDOWN"), "OK\r\n");
    assert_eq!(h.control, Some(Control::Shutdown));
}

#[test]
fn remote_shutdown_can_be_allowed() {
    let mut h = H::with(|c| c.remote_shutdown = true);
    let remote = h.open_from(1, "10.1.2.3:5000");
    assert_eq!(h.admin_s(remote, "shutdown"), "OK\r\n");
    assert_eq!(h.control, Some(Control::Shutdown));
}

#[test]
fn workers_lists_ipv6_peers_and_all_connections() {
    let mut h = H::new();
    let c = h.open_from(1, "[::1]:7000");
    h.can_do(c, "x");
    assert_eq!(h.admin_s(c, "workers"), "31 ::1 - : x\n.\n");
}
