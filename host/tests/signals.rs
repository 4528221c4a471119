//! Signals and shutdown (docs/cli.md §7): SIGTERM/SIGINT exit 0, SIGUSR1 graceful shutdown, SIGHUP keeps
//! running, the pid file; and our admin `shutdown [graceful]` from loopback (D16). Run against C
//! gearmand and ours, except D16.

#[macro_use]
mod common;
use common::*;
use std::net::TcpStream;
use std::time::Duration;

const EXIT_WAIT: Duration = Duration::from_secs(10);

#[track_caller]
fn assert_exits_0(s: &mut Server) {
    let st = s.wait_exit(EXIT_WAIT).expect("server exits");
    assert_eq!(
        st.code(),
        Some(0),
        "exit status {st:?}; stderr:\n{}",
        s.stderr()
    );
}

both!(sigterm_exits_0_and_removes_the_pid_file, |kind| {
    let dir = TempDir::new("pid");
    let pid_file = dir.path().join("g.pid");
    let mut s = start(kind, &["-P", pid_file.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", s.pid())
    );
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    s.signal(libc::SIGTERM);
    assert_exits_0(&mut s);
    assert!(!pid_file.exists(), "pid file removed at exit");
});

both!(sigint_exits_0, |kind| {
    let mut s = start(kind, &[]);
    s.connect().sync();
    s.signal(libc::SIGINT);
    assert_exits_0(&mut s);
});

both!(sigusr1_without_jobs_exits_0, |kind| {
    let mut s = start(kind, &[]);
    s.connect().sync();
    s.signal(libc::SIGUSR1);
    assert_exits_0(&mut s);
});

both!(sigusr1_stops_listening_and_finishes_jobs, |kind| {
    let mut s = start(kind, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    s.signal(libc::SIGUSR1);
    let port = s.port();
    wait_for("the listener to close", EXIT_WAIT, || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(s.is_running(), "jobs are still in memory");
    // Existing connections keep being served.
    w.assigned(&[&h(1), b"f", b"d"]);
    w.send(ptype::WORK_COMPLETE, &[&h(1), b"r"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"r"]);
    // 1.1.20 checks the job count when a connection has activity: poke it (the server may
    // already be gone, so the reply is optional).
    c.try_send(ptype::ECHO_REQ, &[b"poke"]);
    let _ = c.try_recv(Duration::from_secs(1));
    assert_exits_0(&mut s);
});

both!(sighup_keeps_running, |kind| {
    let mut s = start(kind, &[]);
    let mut c = s.connect();
    c.sync();
    s.signal(libc::SIGHUP);
    c.sync();
    let mut c2 = s.connect();
    c2.call(
        ptype::ECHO_REQ,
        &[b"still here"],
        ptype::ECHO_RES,
        &[b"still here"],
    );
    assert!(s.is_running());
});

/// D16: admin `shutdown` from loopback answers OK and exits 0.
#[test]
fn ours_admin_shutdown() {
    let mut s = start(Kind::Ours, &[]);
    let mut a = s.connect();
    // Other arguments are refused as in 1.1.14, and the server keeps running.
    assert_eq!(
        a.admin_line("shutdown now"),
        "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+shutdown\r\n"
    );
    assert!(s.is_running());
    assert_eq!(a.admin_line("shutdown"), "OK\r\n");
    assert_exits_0(&mut s);
}

/// D16: admin `shutdown graceful` stops listening and exits once the jobs are done.
#[test]
fn ours_admin_shutdown_graceful() {
    let mut s = start(Kind::Ours, &[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    assert_eq!(c.admin_line("shutdown graceful"), "OK\r\n");
    let port = s.port();
    wait_for("the listener to close", EXIT_WAIT, || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    w.assigned(&[&h(1), b"f", b"d"]);
    w.send(ptype::WORK_COMPLETE, &[&h(1), b"r"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"r"]);
    assert_exits_0(&mut s);
}

/// 1.1.20 removed `shutdown`; it answers with the unknown-command error there.
#[test]
fn c_has_no_admin_shutdown() {
    if skip_unless(server::c_gearmand_available(), "C gearmand") {
        return;
    }
    let mut s = start(Kind::C, &[]);
    let mut a = s.connect();
    assert_eq!(
        a.admin_line("shutdown"),
        "ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n"
    );
    assert!(s.is_running());
}
