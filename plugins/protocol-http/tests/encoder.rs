//! The response side of the codec: gear responses in, HTTP responses out, in request order.

mod common;

use common::{parse_responses, Conn};
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::Next;
use gearmand_protocol_http::response::SERVER;

const FG: &[u8] = b"POST /f HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
const BG: &[u8] = b"POST /f HTTP/1.1\r\nX-Gearman-Background: true\r\nContent-Length: 2\r\n\r\nhi";

#[test]
fn background_answers_at_job_created_in_the_original_layout() {
    let mut c = Conn::new();
    c.feed(BG);
    assert_eq!(c.reply(ptype::JOB_CREATED, &[b"H:vm:1"]), Next::Continue);
    let want = format!(
        "HTTP/1.1 200 OK\r\nX-Gearman-Job-Handle: H:vm:1\r\nX-Gearman-Command: JOB_CREATED\r\n\
         Content-Length: 0\r\nServer: {SERVER}\r\n\r\n"
    );
    assert_eq!(c.take_output(), want);
    assert!(!c.closed);
}

#[test]
fn foreground_waits_for_the_result_and_accumulates_work_data() {
    let mut c = Conn::new();
    c.feed(FG);
    c.reply(ptype::JOB_CREATED, &[b"H:vm:2"]);
    c.reply(ptype::WORK_STATUS, &[b"H:vm:2", b"1", b"2"]);
    c.reply(ptype::WORK_DATA, &[b"H:vm:2", b"ab"]);
    c.reply(ptype::WORK_WARNING, &[b"H:vm:2", b"careful"]);
    c.reply(ptype::WORK_DATA, &[b"H:vm:2", b"cd"]);
    assert!(
        c.output.is_empty(),
        "status, data and warnings do not end the response"
    );
    c.reply(ptype::WORK_COMPLETE, &[b"H:vm:2", b"ef"]);
    let want = format!(
        "HTTP/1.1 200 OK\r\nX-Gearman-Job-Handle: H:vm:2\r\nX-Gearman-Command: WORK_COMPLETE\r\n\
         Content-Length: 6\r\nServer: {SERVER}\r\n\r\nabcdef"
    );
    assert_eq!(c.take_output(), want);
}

#[test]
fn work_fail_is_500_with_the_full_handle() {
    let mut c = Conn::new();
    c.feed(FG);
    c.reply(ptype::JOB_CREATED, &[b"H:vm:3"]);
    c.reply(ptype::WORK_FAIL, &[b"H:vm:3"]);
    let r = c.take_responses();
    assert_eq!(
        (r[0].code, r[0].reason.as_str()),
        (500, "Internal Server Error")
    );
    assert_eq!(r[0].header("X-Gearman-Job-Handle"), Some("H:vm:3"));
    assert_eq!(r[0].header("X-Gearman-Command"), Some("WORK_FAIL"));
    assert_eq!(r[0].body_str(), "job failed\n");
}

#[test]
fn converted_exception_fail_with_trailing_nul_still_matches() {
    let mut c = Conn::new();
    c.feed(FG);
    c.reply(ptype::JOB_CREATED, &[b"H:vm:3"]);
    c.reply(ptype::WORK_FAIL, &[b"H:vm:3\0"]);
    assert_eq!(
        c.take_responses()[0].header("X-Gearman-Job-Handle"),
        Some("H:vm:3")
    );
}

#[test]
fn work_exception_is_500_with_the_exception_text() {
    let mut c = Conn::new();
    c.feed(FG);
    c.reply(ptype::JOB_CREATED, &[b"H:vm:4"]);
    c.reply(ptype::WORK_DATA, &[b"H:vm:4", b"partial"]);
    c.reply(ptype::WORK_EXCEPTION, &[b"H:vm:4", b"division by zero"]);
    let r = c.take_responses();
    assert_eq!(r[0].code, 500);
    assert_eq!(r[0].header("X-Gearman-Command"), Some("WORK_EXCEPTION"));
    assert_eq!(r[0].body_str(), "division by zero");
}

#[test]
fn engine_errors_map_to_status_codes() {
    for (code, text, status) in [
        (&b"QUEUE_ERROR"[..], &b"Job queue is full"[..], 503),
        (b"ARGUMENT_TOO_LARGE", b"Unique value too large", 400),
        (b"SOMETHING_ELSE", b"whatever", 500),
    ] {
        for wire in [FG, BG] {
            let mut c = Conn::new();
            c.feed(wire);
            c.reply(ptype::ERROR, &[code, text]);
            let r = c.take_responses();
            assert_eq!(r[0].code, status);
            assert_eq!(r[0].header("X-Gearman-Command"), Some("ERROR"));
            assert_eq!(r[0].header("X-Gearman-Job-Handle"), None);
            let want = format!(
                "{}: {}\n",
                String::from_utf8_lossy(code),
                String::from_utf8_lossy(text)
            );
            assert_eq!(r[0].body_str(), want);
            assert!(!c.closed, "an engine error does not end the connection");
        }
    }
}

#[test]
fn head_gets_headers_with_the_length_but_no_body() {
    let mut c = Conn::new();
    c.feed(b"HEAD /f HTTP/1.1\r\n\r\n");
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"result"]);
    let out = std::mem::take(&mut c.output);
    assert!(out.ends_with(b"\r\n\r\n"), "no body after the head");
    let r = parse_responses(&out, true);
    assert_eq!(r[0].header("Content-Length"), Some("6"));
    assert_eq!(r[0].header("X-Gearman-Command"), Some("WORK_COMPLETE"));
}

#[test]
fn pipelined_responses_come_out_in_request_order() {
    let mut c = Conn::new();
    c.feed(FG);
    c.feed(BG);
    c.feed(b"GET / HTTP/1.1\r\n\r\n");
    c.feed(b"GET /-/health HTTP/1.1\r\n\r\n");
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    c.reply(ptype::JOB_CREATED, &[b"H:2"]);
    c.reply_raw(b"OK 1.1.20\n");
    assert!(
        c.output.is_empty(),
        "everything waits for the first response"
    );
    c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"first"]);
    let r = c.take_responses();
    let codes: Vec<u16> = r.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![200, 200, 404, 200]);
    assert_eq!(r[0].body_str(), "first");
    assert_eq!(r[1].header("X-Gearman-Job-Handle"), Some("H:2"));
    assert_eq!(r[3].body_str(), "ok\n");
}

#[test]
fn a_later_job_finishing_first_waits_its_turn() {
    let mut c = Conn::new();
    c.feed(FG);
    c.feed(b"POST /g HTTP/1.1\r\nContent-Length: 2\r\n\r\nyo");
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    c.reply(ptype::JOB_CREATED, &[b"H:2"]);
    c.reply(ptype::WORK_COMPLETE, &[b"H:2", b"two"]);
    assert!(c.output.is_empty());
    c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"one"]);
    let bodies: Vec<String> = c.take_responses().iter().map(|r| r.body_str()).collect();
    assert_eq!(bodies, vec!["one", "two"]);
}

#[test]
fn coalesced_requests_on_one_connection_both_get_the_result() {
    let mut c = Conn::new();
    c.feed(FG);
    c.feed(FG);
    c.reply(ptype::JOB_CREATED, &[b"H:7"]);
    c.reply(ptype::JOB_CREATED, &[b"H:7"]);
    c.reply(ptype::WORK_DATA, &[b"H:7", b"x"]);
    c.reply(ptype::WORK_COMPLETE, &[b"H:7", b"y"]);
    // The engine may also forward the result once per attachment; the extra one is ignored.
    c.reply(ptype::WORK_COMPLETE, &[b"H:7", b"y"]);
    let r = c.take_responses();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.body_str() == "xy"));
}

#[test]
fn stray_packets_are_ignored() {
    let mut c = Conn::new();
    c.reply(ptype::WORK_COMPLETE, &[b"H:none", b"x"]);
    c.reply(ptype::NOOP, &[]);
    c.reply(ptype::JOB_CREATED, &[b"H:unasked"]);
    assert!(c.output.is_empty());
    assert!(!c.closed);
}

#[test]
fn http10_is_answered_in_http10_and_closed() {
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
    // Anything after a non-keep-alive request is not read.
    c.feed(b"POST /g HTTP/1.0\r\n\r\n");
    assert_eq!(c.take_requests().len(), 1);
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    assert_eq!(c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"r"]), Next::Close);
    let r = c.take_responses();
    assert_eq!(r[0].version, "HTTP/1.0");
    assert_eq!(r[0].header("Connection"), None);
}

#[test]
fn http10_keep_alive_is_honoured() {
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.0\r\nConnection: Keep-Alive\r\nX-Gearman-Background: true\r\n\r\n");
    assert_eq!(c.reply(ptype::JOB_CREATED, &[b"H:1"]), Next::Continue);
    let r = c.take_responses();
    assert_eq!(r[0].version, "HTTP/1.0");
    assert_eq!(r[0].header("Connection"), Some("keep-alive"));
    c.feed(b"GET /g HTTP/1.0\r\n\r\n");
    assert_eq!(c.take_requests().len(), 2);
}

#[test]
fn connection_close_on_http11_closes_after_the_response() {
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.1\r\nConnection: close\r\nX-Gearman-Background: true\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
    assert_eq!(c.take_requests().len(), 1);
    assert_eq!(c.reply(ptype::JOB_CREATED, &[b"H:1"]), Next::Close);
    assert_eq!(c.take_responses()[0].header("Connection"), Some("close"));
}

#[test]
fn fatal_error_behind_a_pending_job_waits_then_closes() {
    let mut c = Conn::new();
    c.feed(FG);
    assert_eq!(
        c.feed(b"BROKEN\r\n\r\n"),
        Next::Continue,
        "the 400 must wait for the job"
    );
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    assert_eq!(c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"r"]), Next::Close);
    let codes: Vec<u16> = c.take_responses().iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![200, 400]);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(c.take_output(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.feed(b"abc");
    assert_eq!(c.take_requests()[0].args[2], b"abc");
}

#[test]
fn expect_100_continue_behind_a_pending_job_is_queued() {
    let mut c = Conn::new();
    c.feed(FG);
    c.feed(b"POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(c.output.is_empty());
    c.reply(ptype::JOB_CREATED, &[b"H:1"]);
    c.reply(ptype::WORK_COMPLETE, &[b"H:1", b"r"]);
    let r = c.take_responses();
    assert_eq!(r.iter().map(|r| r.code).collect::<Vec<_>>(), vec![200, 100]);
}

#[test]
fn expect_100_continue_not_sent_to_http10_or_when_body_already_here() {
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(c.output.is_empty());
    let mut c = Conn::new();
    c.feed(b"POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
    assert!(c.output.is_empty());
    assert_eq!(c.take_requests().len(), 1);
}

#[test]
fn expect_100_continue_on_a_refused_request_answers_and_closes() {
    let mut c = Conn::new();
    assert_eq!(
        c.feed(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
        Next::Close
    );
    assert_eq!(c.take_responses()[0].code, 404);
}

#[test]
fn an_error_answer_to_the_exceptions_option_is_swallowed_too() {
    use gearmand_plugin_api::{Codec, DecodeSink};
    struct Nop;
    impl DecodeSink for Nop {
        fn request(&mut self, _: u32, _: &[&[u8]]) {}
        fn write(&mut self, _: &[u8]) {}
    }
    let mut codec = gearmand_protocol_http::HttpCodec::new(Default::default());
    codec.decode(b"", &mut Nop);
    let mut out = Vec::new();
    let unknown: [&[u8]; 2] = [b"UNKNOWN_OPTION", b"Server does not recognize given option"];
    assert_eq!(
        codec.encode(ptype::ERROR, &unknown, &mut out),
        Next::Continue
    );
    assert!(out.is_empty());
}
