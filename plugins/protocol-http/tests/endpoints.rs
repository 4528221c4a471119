//! The `/-/` endpoints: which gear requests they make and what they render from the replies.
//! Admin replies are the captures of admin-protocol.md.

mod common;

use common::{Conn, Req};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;

const STATUS: &[u8] = b"email\t1\t1\t1\nresize\t3\t0\t1\n.\n";
const PRIO: &[u8] = b"email\t0\t0\t0\t1\nresize\t1\t1\t1\t1\n.\n";
const WORKERS: &[u8] =
    b"37 127.0.0.1 - :\n38 127.0.0.1 worker-7 : email resize\n39 127.0.0.1 - :\n.\n";

fn admin_lines(lines: &[&str]) -> Vec<Req> {
    lines
        .iter()
        .map(|l| Req::new(kind::ADMIN_LINE, &[l.as_bytes()]))
        .collect()
}

#[test]
fn health_asks_the_engine_and_answers_ok() {
    let mut c = Conn::new();
    c.feed(b"GET /-/health HTTP/1.1\r\n\r\n");
    assert_eq!(c.take_requests(), admin_lines(&["version"]));
    assert!(c.output.is_empty());
    c.reply_raw(b"OK 1.1.20\n");
    let r = c.take_responses();
    assert_eq!((r[0].code, r[0].body_str().as_str()), (200, "ok\n"));
}

#[test]
fn status_is_json_from_three_admin_commands() {
    let mut c = Conn::new();
    c.feed(b"GET /-/status HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        admin_lines(&["status", "prioritystatus", "workers"])
    );
    c.reply_raw(STATUS);
    c.reply_raw(PRIO);
    assert!(c.output.is_empty(), "waits for all three replies");
    c.reply_raw(WORKERS);
    let r = c.take_responses();
    assert_eq!(r[0].code, 200);
    assert_eq!(r[0].header("Content-Type"), Some("application/json"));
    let want = concat!(
        r#"{"functions":["#,
        r#"{"name":"email","total":1,"running":1,"workers":1,"queued":{"high":0,"normal":0,"low":0}},"#,
        r#"{"name":"resize","total":3,"running":0,"workers":1,"queued":{"high":1,"normal":1,"low":1}}"#,
        r#"],"workers":["#,
        r#"{"fd":"37","ip":"127.0.0.1","client_id":"-","functions":[]},"#,
        r#"{"fd":"38","ip":"127.0.0.1","client_id":"worker-7","functions":["email","resize"]},"#,
        r#"{"fd":"39","ip":"127.0.0.1","client_id":"-","functions":[]}"#,
        "]}\n"
    );
    assert_eq!(r[0].body_str(), want);
}

#[test]
fn status_of_an_empty_server_and_odd_names() {
    let mut c = Conn::new();
    c.feed(b"GET /-/status HTTP/1.1\r\n\r\n");
    c.reply_raw(b"we\"ird\tname\t2\t1\t0\n.\n");
    c.reply_raw(b"ERR UNKNOWN_COMMAND Unknown+server+commandprioritystatus\r\n");
    c.reply_raw(b".\n");
    let body = c.take_responses()[0].body_str();
    assert_eq!(
        body,
        "{\"functions\":[{\"name\":\"we\\\"ird\\tname\",\"total\":2,\"running\":1,\"workers\":0}],\"workers\":[]}\n"
    );
}

#[test]
fn metrics_are_prometheus_text() {
    let mut c = Conn::new();
    c.feed(b"GET /-/metrics HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        admin_lines(&["status", "prioritystatus", "workers"])
    );
    c.reply_raw(STATUS);
    c.reply_raw(PRIO);
    c.reply_raw(WORKERS);
    let r = c.take_responses();
    assert_eq!(
        r[0].header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = r[0].body_str();
    for line in [
        "# TYPE gearmand_functions gauge",
        "gearmand_functions 2",
        "gearmand_connections 3",
        "gearmand_jobs{function=\"resize\"} 3",
        "gearmand_jobs_running{function=\"email\"} 1",
        "gearmand_workers{function=\"email\"} 1",
        "gearmand_jobs_queued{function=\"resize\",priority=\"high\"} 1",
        "gearmand_jobs_queued{function=\"email\",priority=\"low\"} 0",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in\n{body}"
        );
    }
    // Every sample line is `name{labels} value` or `name value`, every family declared once.
    for l in body.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = l.rsplit_once(' ').unwrap();
        value.parse::<f64>().unwrap();
    }
    let types = body.lines().filter(|l| l.starts_with("# TYPE")).count();
    assert_eq!(types, 6);
}

#[test]
fn job_status_by_handle() {
    let mut c = Conn::new();
    c.feed(b"GET /-/job/H:vm:1 HTTP/1.1\r\n\r\nGET /-/job/H%3Avm%3A2 HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        vec![
            Req::new(ptype::GET_STATUS, &[b"H:vm:1"]),
            Req::new(ptype::GET_STATUS, &[b"H:vm:2"])
        ]
    );
    c.reply(ptype::STATUS_RES, &[b"H:vm:1", b"1", b"1", b"3", b"4"]);
    c.reply(ptype::STATUS_RES, &[b"H:vm:2", b"0", b"0", b"0", b"0"]);
    let r = c.take_responses();
    assert_eq!(r[0].code, 200);
    assert_eq!(
        r[0].body_str(),
        "{\"handle\":\"H:vm:1\",\"known\":true,\"running\":true,\"numerator\":3,\"denominator\":4}\n"
    );
    assert_eq!(r[1].code, 404);
    assert!(r[1].body_str().contains("\"known\":false"));
}

#[test]
fn job_status_by_unique() {
    let mut c = Conn::new();
    c.feed(b"HEAD /-/unique/img%201 HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        vec![Req::new(ptype::GET_STATUS_UNIQUE, &[b"img 1"])]
    );
    c.reply(
        ptype::STATUS_RES_UNIQUE,
        &[b"img 1", b"1", b"0", b"0", b"0", b"2"],
    );
    let out = std::mem::take(&mut c.output);
    let r = common::parse_responses(&out, true);
    assert_eq!(r[0].code, 200);
    assert!(out.ends_with(b"\r\n\r\n"), "HEAD: no body");

    let mut c = Conn::new();
    c.feed(b"GET /-/unique/u HTTP/1.1\r\n\r\n");
    c.reply(
        ptype::STATUS_RES_UNIQUE,
        &[b"u", b"1", b"0", b"0", b"0", b"2"],
    );
    assert_eq!(
        c.take_responses()[0].body_str(),
        "{\"unique\":\"u\",\"known\":true,\"running\":false,\"numerator\":0,\"denominator\":0,\"clients\":2}\n"
    );
}

#[test]
fn keys_the_engine_would_not_answer_are_unknown_without_asking() {
    let long = "x".repeat(64);
    for path in [format!("/-/job/{long}"), format!("/-/unique/{long}")] {
        let mut c = Conn::new();
        c.feed(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes());
        assert!(c.take_requests().is_empty());
        let r = c.take_responses();
        assert_eq!(r[0].code, 404);
        assert!(
            r[0].body_str().contains("\"known\":false"),
            "{}",
            r[0].body_str()
        );
    }
}

#[test]
fn endpoints_refuse_other_methods_and_unknown_names() {
    let mut c = Conn::new();
    c.feed(b"POST /-/status HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    c.feed(b"GET /-/nope HTTP/1.1\r\n\r\n");
    c.feed(b"GET /-/job/ HTTP/1.1\r\n\r\n");
    assert!(c.take_requests().is_empty());
    let r = c.take_responses();
    assert_eq!(
        r.iter().map(|r| r.code).collect::<Vec<_>>(),
        vec![405, 404, 404]
    );
    assert_eq!(r[0].header("Allow"), Some("GET, HEAD"));
    assert!(!c.closed);
}

#[test]
fn a_function_named_like_the_prefix_is_reachable_escaped() {
    let mut c = Conn::new();
    c.feed(b"POST /%2D/status HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        vec![Req::new(ptype::SUBMIT_JOB, &[b"-/status", b"-", b""])]
    );
}
