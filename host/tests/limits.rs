//! Limits that keep one bad client from hurting the others, against the real binary:
//! packet size, name lengths, jobs and job bytes in memory, per-connection output, running out of
//! file descriptors (`-f`), TCP keepalive on accepted sockets, and admin access control.

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::{ptype, start, submit, wait_for, worker, Kind, Server};
use hardening::{count_in, cpu_ticks, open_fds, rss_kib};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn ours(extra: &[&str]) -> Server {
    start(Kind::Ours, extra)
}

// ----- packet size and names (gear plugin) ---------------------------------------------------

#[test]
fn a_huge_length_header_gets_error_and_close_without_buffering() {
    let s = ours(&["--max-packet-size", "64K"]);
    let before = rss_kib(s.pid());
    let mut c = s.connect();
    // Only the header of a 4 GiB SUBMIT_JOB: refused before any body is waited for.
    let mut header = b"\0REQ".to_vec();
    header.extend_from_slice(&ptype::SUBMIT_JOB.to_be_bytes());
    header.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    c.send_raw(&header);
    c.expect(
        ptype::ERROR,
        &[
            b"ARGUMENT_TOO_LARGE",
            b"Packet larger than --max-packet-size",
        ],
    );
    c.expect_closed();
    // A packet at the limit still passes.
    let mut ok = s.connect();
    let body = vec![b'x'; 64 * 1024 - 12];
    ok.call(ptype::ECHO_REQ, &[&body], ptype::ECHO_RES, &[&body]);
    assert!(rss_kib(s.pid()) < before + 16 * 1024, "RSS grew");
}

#[test]
fn long_function_names_and_uniques_get_error_and_the_connection_stays() {
    let s = ours(&["--max-function-name", "16", "--max-unique", "8"]);
    let mut c = s.connect();
    let long = "f".repeat(17);
    c.call(
        ptype::CAN_DO,
        &[long.as_bytes()],
        ptype::ERROR,
        &[b"ARGUMENT_TOO_LARGE", b"Function name too large"],
    );
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"f", b"123456789", b""],
        ptype::ERROR,
        &[b"ARGUMENT_TOO_LARGE", b"Unique value too large"],
    );
    c.sync();
    let h = submit(
        &mut c,
        ptype::SUBMIT_JOB_BG,
        &"f".repeat(16),
        "12345678",
        b"",
    );
    assert!(!h.is_empty());
}

#[test]
fn the_default_function_name_limit_is_512() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.send(ptype::CAN_DO, &["n".repeat(512).as_bytes()]);
    c.sync();
    c.call(
        ptype::CAN_DO,
        &["n".repeat(513).as_bytes()],
        ptype::ERROR,
        &[b"ARGUMENT_TOO_LARGE", b"Function name too large"],
    );
}

// ----- jobs and job bytes (engine) ------------------------------------------------------------

#[test]
fn job_count_and_job_memory_limits_answer_queue_error() {
    let s = ours(&[
        "--max-queued-jobs",
        "3",
        "--max-queued-jobs-per-function",
        "2",
        "--max-job-bytes",
        "2K",
    ]);
    let mut c = s.connect();
    submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"1");
    submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"2");
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"f", b"", b"3"],
        ptype::ERROR,
        &[b"QUEUE_ERROR", b"Job queue is full"],
    );
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"g", b"", &[b'x'; 2100]],
        ptype::ERROR,
        &[b"QUEUE_ERROR", b"Server job memory limit reached"],
    );
    submit(&mut c, ptype::SUBMIT_JOB_BG, "g", "", b"4");
    c.call(
        ptype::SUBMIT_JOB_BG,
        &[b"h", b"", b"5"],
        ptype::ERROR,
        &[b"QUEUE_ERROR", b"Server job limit reached"],
    );
    // Finishing a job makes room.
    let mut w = worker(&s, &["f"]);
    w.send(ptype::GRAB_JOB, &[]);
    let assign = w.recv();
    assert_eq!(assign.ptype, ptype::JOB_ASSIGN);
    w.send(ptype::WORK_COMPLETE, &[assign.args()[0], b""]);
    w.sync();
    submit(&mut c, ptype::SUBMIT_JOB_BG, "h", "", b"5");
}

// ----- output limit (backpressure) ----------------------------------------------------------

/// A client that never reads while its worker streams 64 MiB of WORK_DATA is disconnected past
/// `--max-output-buffer`; the server's memory stays bounded and everyone else is served.
#[test]
fn a_client_that_stops_reading_is_disconnected_past_the_output_limit() {
    let s = ours(&["--max-output-buffer", "1M"]);
    let before = rss_kib(s.pid());
    let mut w = worker(&s, &["stream"]);
    let mut lazy = s.connect();
    let handle = submit(&mut lazy, ptype::SUBMIT_JOB, "stream", "", b"go");
    w.send(ptype::GRAB_JOB, &[]);
    assert_eq!(w.recv().ptype, ptype::JOB_ASSIGN);
    let chunk = vec![b'd'; 1 << 20];
    let mut sent = 0;
    while sent < 64 && !s.stderr().contains("over --max-output-buffer") {
        w.send(ptype::WORK_DATA, &[&handle, &chunk]);
        sent += 1;
    }
    wait_for("the disconnect log line", WAIT, || {
        s.stderr().contains("over --max-output-buffer")
    });
    assert!(
        sent < 64,
        "all 64 MiB were accepted for a client that never reads"
    );
    w.send(ptype::WORK_COMPLETE, &[&handle, b""]);
    w.sync();
    let rss = rss_kib(s.pid());
    assert!(rss < before + 32 * 1024, "RSS {before} -> {rss} KiB");
    // Others are served, by the same worker too.
    let mut c = s.connect();
    c.send(ptype::SUBMIT_JOB, &[b"stream", b"", b"again"]);
    assert_eq!(c.recv().ptype, ptype::JOB_CREATED);
    w.send(ptype::GRAB_JOB, &[]);
    let assign = w.recv();
    w.send(ptype::WORK_COMPLETE, &[assign.args()[0], b"ok"]);
    assert_eq!(c.recv().ptype, ptype::WORK_COMPLETE);
}

// ----- file descriptors ------------------------------------------------------------------------

#[test]
fn running_out_of_descriptors_is_logged_once_and_the_server_recovers() {
    let s = ours(&["-f", "64", "-t", "1"]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(
        line.split_whitespace().nth(3) == Some("64"),
        "-f not applied: {line}"
    );
    let free = 64usize.saturating_sub(open_fds(s.pid()));
    // Enough to use every descriptor, and 20 more waiting in the backlog (32).
    let held: Vec<TcpStream> = (0..free + 20)
        .map(|_| TcpStream::connect(("127.0.0.1", s.port())).unwrap())
        .collect();
    wait_for("an accept failure", WAIT, || {
        s.stderr().contains("accept failed")
    });
    // Backing off, not spinning: little CPU over a second of starvation.
    let t0 = cpu_ticks(s.pid());
    let started = Instant::now();
    wait_for("a second to pass", WAIT, || {
        started.elapsed() >= Duration::from_secs(1)
    });
    let used = cpu_ticks(s.pid()) - t0;
    assert!(used < 30, "the listener spun: {used} ticks in 1 s");
    assert_eq!(count_in(&s.stderr(), "accept failed"), 1, "{}", s.stderr());
    drop(held);
    wait_for("service after descriptors free up", WAIT, || {
        echo_works(s.port())
    });
    // The log reaches us through a reader thread that may lag behind the echo: await the line.
    wait_for("the recovery to be logged", WAIT, || {
        s.stderr().contains("accepting again")
    });
}

/// One ECHO round trip on a new connection, within 2 s; false on any failure.
fn echo_works(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let frame = common::gear::frame_req(ptype::ECHO_REQ, &[b"back"]);
    if stream.write_all(&frame).is_err() {
        return false;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = std::io::Read::read(&mut stream, &mut buf) {
        if n == 0 {
            return false;
        }
        got.extend_from_slice(&buf[..n]);
        if let Some((p, _)) = hardening::parse_packet(&got) {
            return p.ptype == ptype::ECHO_RES;
        }
    }
    false
}

// ----- keepalive -------------------------------------------------------------------------------

/// Duplicates descriptor `fd` of process `pid` into this process (pidfd_getfd; needs ptrace
/// rights over it, which the parent of the server has as root).
fn steal_fd(pid: u32, fd: i32) -> Option<i32> {
    // SAFETY: plain syscalls on integers; the returned descriptor is ours to close.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as i32;
        if pidfd < 0 {
            return None;
        }
        let got = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        libc::close(pidfd);
        (got >= 0).then_some(got)
    }
}

fn sockopt(fd: i32, level: i32, name: i32) -> i32 {
    let mut v: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a local int of the right size.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    assert_eq!(rc, 0, "getsockopt");
    v
}

#[test]
fn keepalive_settings_apply_to_accepted_connections() {
    let s = ours(&[
        "--keepalive",
        "--keepalive-idle",
        "77",
        "--keepalive-interval",
        "11",
        "--keepalive-count",
        "5",
    ]);
    let mut c = s.connect();
    c.send(ptype::SET_CLIENT_ID, &[b"ka-probe"]);
    let workers = c.admin_list("workers");
    let fd: i32 = workers
        .lines()
        .find(|l| l.contains("ka-probe"))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ka-probe in {workers:?}"));
    let Some(dup) = steal_fd(s.pid(), fd) else {
        common::skip_unless(false, "pidfd_getfd on the server (ptrace rights)");
        return;
    };
    let got = (
        sockopt(dup, libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        sockopt(dup, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        sockopt(dup, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
        sockopt(dup, libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
    );
    // SAFETY: closing our duplicate.
    unsafe { libc::close(dup) };
    assert_eq!(got, (1, 77, 11, 5));
}

// ----- admin access control ----------------------------------------------------------------

#[test]
fn admin_changes_can_be_restricted_to_listed_networks() {
    let s = ours(&["--admin-restrict", "changes", "--admin-allow", "10.0.0.0/8"]);
    let mut c = s.connect();
    let denied = "ERR PERMISSION_DENIED Admin+command+not+allowed+for+this+connection\r\n";
    assert_eq!(c.admin_line("maxqueue f 1"), denied);
    assert_eq!(c.admin_line("create function f"), denied);
    // `verbose` only reports the level: a read, allowed.
    assert!(c.admin_line("verbose").starts_with("OK "));
    assert!(c.admin_line("version").starts_with("OK "));
    assert_eq!(c.admin_list("status"), ".\n");
    // shutdown stays an unknown command where it is not allowed, as for remote peers before.
    assert!(c.admin_line("shutdown").starts_with("ERR UNKNOWN_COMMAND"));
    let mut again = s.connect();
    again.sync();
}

#[test]
fn admin_can_be_closed_entirely_and_reopened_for_loopback() {
    let s = ours(&["--admin-restrict", "all", "--admin-allow", "192.0.2.0/24"]);
    let mut c = s.connect();
    assert!(c.admin_line("version").starts_with("ERR PERMISSION_DENIED"));
    let s2 = ours(&["--admin-restrict", "all", "--admin-allow", "loopback"]);
    let mut c2 = s2.connect();
    assert!(c2.admin_line("maxqueue f 1").starts_with("OK"));
    assert_eq!(c2.admin_line("shutdown"), "OK\r\n");
}
