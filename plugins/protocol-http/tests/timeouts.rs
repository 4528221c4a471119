//! The read timers as the host drives them (ABI 1.1): after every call the host asks for the
//! codec's deadline, and calls `timeout` once it has passed. Timeouts are tens of milliseconds
//! here; the tests wait for a deadline by polling the codec's own answer, never a fixed sleep.

mod common;

use common::Conn;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::{Codec, Next};
use gearmand_protocol_http::Limits;
use std::time::{Duration, Instant};

const HEADER: Duration = Duration::from_millis(60);
const IDLE: Duration = Duration::from_millis(300);

fn conn() -> Conn {
    Conn::with_limits(Limits {
        header_timeout: HEADER,
        idle_timeout: IDLE,
        ..Limits::default()
    })
}

/// Waits until the codec says its deadline is due; returns how long that took.
fn until_due(c: &Conn) -> Duration {
    let start = Instant::now();
    loop {
        let left = c.codec.deadline().expect("a deadline runs");
        if left.is_zero() {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never due");
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

/// The host's `conn_timeout`: output goes to the client's stream.
fn fire(c: &mut Conn) -> Next {
    let mut out = Vec::new();
    let d = c.codec.timeout(&mut out);
    c.output.extend_from_slice(&out);
    d
}

#[test]
fn a_silent_new_connection_is_closed_after_the_header_timeout() {
    let mut c = conn();
    let left = c.codec.deadline().unwrap();
    assert!(left <= HEADER, "{left:?}");
    until_due(&c);
    assert_eq!(fire(&mut c), Next::Close);
    assert!(c.output.is_empty(), "nothing asked, nothing answered");
}

#[test]
fn a_partial_head_gets_408_even_while_it_trickles() {
    let mut c = conn();
    c.feed(b"GET /f HTTP/1.1\r\n");
    let due = c.codec.deadline().unwrap();
    c.feed(b"Host: x\r\n"); // progress does not extend a head's allowance
    assert!(c.codec.deadline().unwrap() <= due);
    until_due(&c);
    assert_eq!(fire(&mut c), Next::Close);
    let r = c.take_responses();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].code, 408);
    assert_eq!(r[0].header("Connection"), Some("close"));
}

#[test]
fn an_early_call_changes_nothing() {
    let mut c = conn();
    c.feed(b"GET /f HT");
    assert_eq!(fire(&mut c), Next::Continue);
    assert!(c.output.is_empty());
    assert!(c.codec.deadline().is_some());
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let mut c = conn();
    c.feed(b"POST /f HTTP/1.1\r\nX-Gearman-Background: true\r\nContent-Length: 1\r\n\r\nx");
    c.reply(ptype::JOB_CREATED, &[b"H:x:1"]);
    assert_eq!(c.take_responses()[0].code, 200);
    let left = c.codec.deadline().unwrap();
    assert!(left > HEADER && left <= IDLE, "idle allowance: {left:?}");
    let waited = until_due(&c);
    assert!(waited > HEADER, "{waited:?}");
    assert_eq!(fire(&mut c), Next::Close);
    assert!(c.output.is_empty());
}

#[test]
fn no_timer_runs_while_the_client_waits_for_a_foreground_job() {
    let mut c = conn();
    c.feed(b"POST /f HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(c.codec.deadline(), None);
    c.reply(ptype::JOB_CREATED, &[b"H:x:1"]);
    assert_eq!(c.codec.deadline(), None, "still waiting for the result");
    c.reply(ptype::WORK_COMPLETE, &[b"H:x:1", b"done"]);
    assert_eq!(c.take_responses()[0].body_str(), "done");
    assert!(c.codec.deadline().is_some(), "idle again");
}

#[test]
fn a_stalled_head_behind_a_pending_job_is_answered_in_order() {
    let mut c = conn();
    c.feed(b"POST /f HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET /-/health HT");
    c.reply(ptype::JOB_CREATED, &[b"H:x:1"]);
    until_due(&c);
    // The 408 waits behind the foreground job's response; the connection stays for it.
    assert_eq!(fire(&mut c), Next::Continue);
    assert!(c.output.is_empty());
    assert_eq!(c.codec.deadline(), None);
    assert_eq!(
        c.reply(ptype::WORK_COMPLETE, &[b"H:x:1", b"r"]),
        Next::Close
    );
    let codes: Vec<u16> = c.take_responses().iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![200, 408]);
}

#[test]
fn a_stalled_body_gets_408_after_the_idle_timeout_and_progress_resets_it() {
    let mut c = conn();
    c.feed(b"POST /f HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    let left = c.codec.deadline().unwrap();
    assert!(
        left > HEADER,
        "a body may pause longer than a head: {left:?}"
    );
    let start = Instant::now();
    while start.elapsed() < HEADER * 2 {
        std::thread::sleep(Duration::from_millis(20));
        c.feed(b"d"); // still coming
    }
    assert!(
        c.codec.deadline().unwrap() > IDLE / 2,
        "progress restarted it"
    );
    until_due(&c);
    assert_eq!(fire(&mut c), Next::Close);
    assert_eq!(c.take_responses()[0].code, 408);
    assert!(
        c.take_requests().is_empty(),
        "the partial job was never submitted"
    );
}
