//! Slow and stalled HTTP clients against the real server (`gearmand -r http` with
//! `--http-header-timeout 1 --http-idle-timeout 2`): the host's per-connection timers (ABI 1.1
//! `conn_deadline` / `conn_timeout`) drop them while everyone else is served.
//!
//! - a partial head that stalls gets `408` and is closed after the header timeout;
//! - a head that trickles in byte by byte gets the same (progress does not extend a head);
//! - a connection that sends nothing is closed silently;
//! - hundreds of stalled clients are all dropped and their descriptors given back;
//! - an idle kept-alive connection is closed after the idle timeout, but a client waiting for its
//!   foreground job is not, and gear connections never time out.

mod common;
#[path = "common/ops.rs"]
mod ops;

use common::{wait_for, Server};
use ops::{get, read_response, Behaviour, Worker};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Far more than any timeout here: a read that takes this long means nobody closed.
const NEVER: Duration = Duration::from_secs(15);

/// Our server with short HTTP timeouts, and its HTTP port.
fn start() -> (Server, u16) {
    let s = Server::start(&[
        "-r",
        "http",
        "--http-port",
        "0",
        "--http-header-timeout",
        "1",
        "--http-idle-timeout",
        "2",
    ]);
    let port = common::eventually("the http port in the log", NEVER, || {
        let log = s.stderr();
        let rest = log
            .split("listening on 127.0.0.1:")
            .find(|r| r.contains(" (http)"))?;
        rest.split_once(' ')?.0.parse::<u16>().ok()
    });
    (s, port)
}

fn connect(port: u16) -> TcpStream {
    let c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the http port");
    c.set_read_timeout(Some(NEVER)).unwrap();
    c
}

/// Reads until the server closes; returns what it sent and how long that took from `since`.
fn read_to_close(c: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no close within {NEVER:?} ({e}); got {got:?}"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// Open descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_stalled_partial_head_gets_408_while_others_are_served() {
    let (_s, port) = start();
    let mut slow = connect(port);
    let since = Instant::now();
    slow.write_all(b"GET /-/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Another client is served at once, meanwhile.
    let ok = get(port, "/-/health");
    assert_eq!((ok.code, ok.text().as_str()), (200, "ok\n"));
    assert!(
        since.elapsed() < HEADER_TIMEOUT,
        "served while the other stalls"
    );
    let (got, took) = read_to_close(&mut slow, since);
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(got.contains("\r\nConnection: close\r\n"), "{got}");
    assert!(
        took >= HEADER_TIMEOUT - Duration::from_millis(50),
        "{took:?}"
    );
    assert!(took < HEADER_TIMEOUT * 4, "{took:?}");
}

#[test]
fn a_trickling_head_is_dropped_at_its_deadline_and_a_silent_one_without_a_word() {
    let (_s, port) = start();
    let mut silent = connect(port);
    let silent_since = Instant::now();
    let mut trickle = connect(port);
    trickle
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let since = Instant::now();
    let head = b"GET /-/health HTTP/1.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    'outer: for b in head.iter().cycle() {
        assert!(since.elapsed() < NEVER, "never dropped");
        if trickle.write_all(std::slice::from_ref(b)).is_err() {
            break;
        }
        loop {
            match trickle.read(&mut buf) {
                Ok(0) => break 'outer,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break 'outer,
                Err(_) => break, // nothing yet: send the next byte
            }
        }
    }
    let took = since.elapsed();
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408 "), "{got:?}");
    assert!(took < HEADER_TIMEOUT * 4, "{took:?}");

    let (said, took) = read_to_close(&mut silent, silent_since);
    assert_eq!(said, "", "nothing asked, nothing answered");
    assert!(
        took >= HEADER_TIMEOUT - Duration::from_millis(50),
        "{took:?}"
    );
}

#[test]
fn many_stalled_clients_are_dropped_and_their_descriptors_released() {
    const N: usize = 200;
    let (s, port) = start();
    // One request first, so every I/O thread has opened its poll and waker descriptors before
    // the baseline is taken (on a busy machine they may still be starting after the log line).
    assert_eq!(get(port, "/-/health").code, 200);
    let before = open_fds(s.pid());
    let since = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..N)
        .map(|_| {
            let mut c = connect(port);
            c.write_all(b"POST /f HTTP/1.1\r\nContent-Le").unwrap();
            c
        })
        .collect();
    // (`before` may still count the health check's connection, which the server closes on EOF.)
    wait_for("the server holds every stalled connection", NEVER, || {
        open_fds(s.pid()) + 1 >= before + N
    });
    // They hold no thread and no engine state: a normal client is answered right away.
    let ok = get(port, "/-/health");
    assert_eq!(ok.code, 200);
    for c in &mut stalled {
        let (got, _) = read_to_close(c, since);
        assert!(got.starts_with("HTTP/1.1 408 "), "{got:?}");
    }
    wait_for("the descriptors are given back", NEVER, || {
        open_fds(s.pid()) <= before + 1
    });
    assert!(
        since.elapsed() < HEADER_TIMEOUT * 8,
        "{:?}",
        since.elapsed()
    );
    assert_eq!(get(port, "/-/health").code, 200);
}

#[test]
fn idle_connections_close_but_waiting_clients_and_gear_connections_stay() {
    let (s, port) = start();
    let mut gear = s.connect();
    let mut idle = connect(port);
    idle.write_all(b"GET /-/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut idle, false).unwrap();
    assert_eq!(r.code, 200);
    let since = Instant::now();

    // A foreground job with no worker yet: its client will wait longer than any timeout.
    let mut waiting = connect(port);
    waiting
        .write_all(b"POST /later HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();

    // The idle kept-alive connection is closed, silently, after the idle timeout.
    let (said, took) = read_to_close(&mut idle, since);
    assert_eq!(said, "");
    assert!(took >= IDLE_TIMEOUT - Duration::from_millis(50), "{took:?}");
    assert!(took < IDLE_TIMEOUT + HEADER_TIMEOUT * 2, "{took:?}");

    // By the end of this read the waiting client has waited past both timeouts, untouched.
    waiting.set_read_timeout(Some(HEADER_TIMEOUT * 2)).unwrap();
    let mut byte = [0u8; 1];
    let quiet = waiting.read(&mut byte);
    assert!(
        matches!(&quiet, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the waiting client was answered or dropped: {quiet:?}"
    );
    assert!(since.elapsed() > IDLE_TIMEOUT + HEADER_TIMEOUT);

    // The job runs once a worker comes, and its client gets the result.
    let _w = Worker::start(s.port(), "late", &["later"], Behaviour::ReverseInTwoParts);
    waiting.set_read_timeout(Some(NEVER)).unwrap();
    let r = read_response(&mut waiting, false).unwrap();
    assert_eq!((r.code, r.text().as_str()), (200, "cba"));
    // The gear connection idled just as long and is still served.
    assert!(gear.admin_line("version").starts_with("OK "));
}
