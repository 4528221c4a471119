//! The `/-/` endpoints: which gear requests they make and what they render from the replies.
//! Admin replies are the capture scenario of docs/admin-protocol.md; tables are shaped as the engine's
//! `functions`, `workers` and `abilities` queries answer.

mod common;

use common::{Conn, Req};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::table::{query, TableBuilder};

/// A `metrics` reply of the same state (our admin extension), shortened.
const METRICS: &[u8] = b"gearmand_uptime_seconds\t\t12.500\n\
gearmand_connections\tprotocol=\"gear\"\t3\n\
gearmand_functions\t\t2\n\
gearmand_jobs\tfunction=\"email\"\t1\n\
gearmand_jobs\tfunction=\"resize\"\t3\n\
gearmand_jobs_queued\tfunction=\"resize\",priority=\"high\"\t1\n\
gearmand_jobs_completed_total\tfunction=\"email\",priority=\"high\"\t5\n\
gearmand_jobs_completed_total\tfunction=\"email\",priority=\"normal\"\t2\n\
gearmand_jobs_failed_total\tfunction=\"email\",priority=\"low\",reason=\"fail\"\t1\n\
gearmand_jobs_completed_total\tfunction=\"resize\",priority=\"high\"\t0\n\
gearmand_queue_group_seconds_bucket\tle=\"0.001\"\t4\n\
gearmand_queue_group_seconds_bucket\tle=\"+Inf\"\t5\n\
gearmand_queue_group_seconds_sum\t\t0.25\n\
gearmand_queue_group_seconds_count\t\t5\n\
.\n";

/// A table of `columns` whose cells are given row by row.
fn table(columns: &[&str], cells: &[&str]) -> TableBuilder {
    let mut t = TableBuilder::new(columns);
    for c in cells {
        t.text(c.as_bytes());
    }
    t
}

/// The engine's `functions` table of the state the tests show (two functions, seven jobs).
fn functions_table() -> TableBuilder {
    let cells = [
        "email", "1", "1", "1", "0", "0", "0", "7", "1", //
        "resize", "3", "0", "1", "1", "1", "1", "0", "0",
    ];
    table(&query::FUNCTIONS_COLUMNS, &cells)
}

/// Three connections (fd 37, 38, 39); the second is a worker of two functions.
fn workers_tables() -> (TableBuilder, TableBuilder) {
    let workers = [
        "1",
        "37",
        "127.0.0.1",
        "-",
        "gear", //
        "2",
        "38",
        "127.0.0.1",
        "worker-7",
        "gear", //
        "3",
        "39",
        "127.0.0.1",
        "-",
        "http",
    ];
    let abilities = ["2", "email", "2", "resize"];
    (
        table(&query::WORKERS_COLUMNS, &workers),
        table(&query::ABILITIES_COLUMNS, &abilities),
    )
}

fn queries(names: &[&str]) -> Vec<Req> {
    names
        .iter()
        .map(|q| Req::new(kind::QUERY, &[q.as_bytes()]))
        .collect()
}

fn reply_table(c: &mut Conn, t: &TableBuilder) {
    c.reply(kind::TABLE, &t.args());
}

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
fn status_is_json_from_three_queries() {
    let mut c = Conn::new();
    c.feed(b"GET /-/status HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take_requests(),
        queries(&["functions", "workers", "abilities"])
    );
    let (workers, abilities) = workers_tables();
    reply_table(&mut c, &functions_table());
    reply_table(&mut c, &workers);
    assert!(c.output.is_empty(), "waits for all three replies");
    reply_table(&mut c, &abilities);
    let r = c.take_responses();
    assert_eq!(r[0].code, 200);
    assert_eq!(r[0].header("Content-Type"), Some("application/json"));
    let want = concat!(
        r#"{"functions":["#,
        r#"{"name":"email","total":1,"running":1,"workers":1,"queued":{"high":0,"normal":0,"low":0},"completed":7,"failed":1},"#,
        r#"{"name":"resize","total":3,"running":0,"workers":1,"queued":{"high":1,"normal":1,"low":1},"completed":0,"failed":0}"#,
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
    // A table without the queue and counter columns: their keys are left out, nothing else lost.
    let columns = ["name", "total", "running", "workers"];
    reply_table(&mut c, &table(&columns, &["we\"ird\tname", "2", "1", "0"]));
    reply_table(&mut c, &table(&query::WORKERS_COLUMNS, &[]));
    // A query the engine refused: that table is empty.
    c.reply(ptype::ERROR, &[b"PERMISSION_DENIED", b"Query not allowed"]);
    let body = c.take_responses()[0].body_str();
    assert_eq!(
        body,
        "{\"functions\":[{\"name\":\"we\\\"ird\\tname\",\"total\":2,\"running\":1,\"workers\":0}],\"workers\":[]}\n"
    );
}

#[test]
fn status_shows_names_with_tabs_and_newlines_as_they_are() {
    let mut c = Conn::new();
    c.feed(b"GET /-/status HTTP/1.1\r\n\r\n");
    let odd = "a\tb\nc d";
    let cells = [odd, "1", "0", "1", "0", "1", "0", "0", "0"];
    reply_table(&mut c, &table(&query::FUNCTIONS_COLUMNS, &cells));
    let workers = ["9", "40", "::1", "id\twith\nnewline", "gear"];
    reply_table(&mut c, &table(&query::WORKERS_COLUMNS, &workers));
    reply_table(
        &mut c,
        &table(&query::ABILITIES_COLUMNS, &["9", odd, "9", "x"]),
    );
    let want = concat!(
        r#"{"functions":[{"name":"a\tb\nc d","total":1,"running":0,"workers":1,"#,
        r#""queued":{"high":0,"normal":1,"low":0},"completed":0,"failed":0}],"#,
        r#""workers":[{"fd":"40","ip":"::1","client_id":"id\twith\nnewline","#,
        r#""functions":["a\tb\nc d","x"]}]}"#,
        "\n"
    );
    assert_eq!(c.take_responses()[0].body_str(), want);
}

#[test]
fn metrics_are_prometheus_text_from_the_metrics_command() {
    let mut c = Conn::new();
    c.feed(b"GET /-/metrics HTTP/1.1\r\n\r\n");
    assert_eq!(c.take_requests(), admin_lines(&["metrics"]));
    c.reply_raw(METRICS);
    let r = c.take_responses();
    assert_eq!(
        r[0].header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = r[0].body_str();
    for line in [
        "# TYPE gearmand_uptime_seconds gauge",
        "gearmand_uptime_seconds 12.500",
        "# TYPE gearmand_connections gauge",
        "gearmand_connections{protocol=\"gear\"} 3",
        "gearmand_functions 2",
        "gearmand_jobs{function=\"resize\"} 3",
        "gearmand_jobs_queued{function=\"resize\",priority=\"high\"} 1",
        "# TYPE gearmand_jobs_completed_total counter",
        "gearmand_jobs_completed_total{function=\"email\",priority=\"high\"} 5",
        "gearmand_jobs_failed_total{function=\"email\",priority=\"low\",reason=\"fail\"} 1",
        "# TYPE gearmand_queue_group_seconds histogram",
        "gearmand_queue_group_seconds_bucket{le=\"+Inf\"} 5",
        "gearmand_queue_group_seconds_count 5",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in\n{body}"
        );
    }
    // Every sample line is `name{labels} value` or `name value`, every family declared once,
    // and the completed counters of two functions stay together under one TYPE line.
    for l in body.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = l.rsplit_once(' ').unwrap();
        value.parse::<f64>().unwrap();
    }
    let types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE")).collect();
    let mut unique = types.clone();
    unique.dedup();
    assert_eq!(types.len(), unique.len(), "{body}");
    assert_eq!(types.len(), 8, "{body}");
    let completed: Vec<usize> = body
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("gearmand_jobs_completed_total{"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(completed.len(), 3);
    assert_eq!(completed[2] - completed[0], 2, "contiguous:\n{body}");
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
