//! The HTTP plugin through the real server (`gearmand -r http`), with real clients and workers:
//! curl (keep-alive with two URLs, chunked upload, `Expect: 100-continue`, `--http1.0`), Python's
//! http.client, the `gearman` CLI as a worker, our own gear workers, the error statuses, the `/-/`
//! endpoints (metrics checked by the `prometheus_client` text parser) and a background submit over
//! HTTP persisted by the sqlite queue and replayed after `kill -9`.
//!
//! Missing tools (curl, python3 + prometheus_client, gearman) skip loudly, and fail under CI.

mod common;
#[path = "common/ops.rs"]
mod ops;

use common::{ptype, skip_unless};
use ops::{await_status, function_json, get, http, Behaviour, Gearmand, Worker};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CURL_TIMEOUT: Duration = Duration::from_secs(30);

fn start(extra: &[&str]) -> Gearmand {
    let mut args = vec!["-p", "0", "-r", "http", "--http-port", "0"];
    args.extend_from_slice(extra);
    Gearmand::start(&args)
}

fn curl(args: &[&str]) -> (String, String) {
    let (status, out, err) = ops::run("curl", args, CURL_TIMEOUT);
    assert!(status.success(), "curl {args:?}: {status}\n{err}");
    (out, err)
}

fn reversed(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

#[test]
fn curl_keep_alive_chunked_upload_continue_and_http10() {
    if skip_unless(common::have_program("curl"), "curl") {
        return;
    }
    let s = start(&[]);
    let _w = Worker::start(s.gear_port, "rev", &["rev"], Behaviour::ReverseInTwoParts);
    let url = format!("http://127.0.0.1:{}/rev", s.http());

    // Two URLs in one invocation share one kept-alive connection.
    let (out, err) = curl(&["-sv", "-d", "abc", &url, "--next", "-d", "xyz", &url]);
    assert_eq!(out, "cbazyx", "{err}");
    assert_eq!(err.matches("Connected to").count(), 1, "{err}");
    assert!(err.contains("Re-using existing connection"), "{err}");

    // A chunked upload of 200 kB.
    let dir = common::TempDir::new("http-curl");
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let file = dir.path().join("big");
    std::fs::write(&file, &big).unwrap();
    let at_file = format!("@{}", file.display());
    let (out, err) = curl(&[
        "-sv",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &at_file,
        &url,
    ]);
    assert!(err.contains("> Transfer-Encoding: chunked"), "{err}");
    assert!(
        out.as_bytes() == reversed(&big),
        "chunked body not reversed"
    );

    // Expect: 100-continue: the server says continue before curl sends the body.
    let (out, err) = curl(&[
        "-sv",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &at_file,
        &url,
    ]);
    assert!(err.contains("< HTTP/1.1 100 Continue"), "{err}");
    assert!(out.as_bytes() == reversed(&big));

    // An HTTP/1.0 client is answered in HTTP/1.0, in the original's header layout.
    let (out, _) = curl(&["-si", "--http1.0", "-d", "hi", &url]);
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(
        out.contains("\r\nX-Gearman-Command: WORK_COMPLETE\r\n"),
        "{out}"
    );
    assert!(out.contains("\r\nX-Gearman-Job-Handle: H:"), "{out}");
    assert!(out.ends_with("\r\n\r\nih"), "{out}");
}

/// Python's http.client: one connection for several requests, foreground, background, HEAD, and
/// the JSON endpoints.
const PY_CLIENT: &str = r#"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
def req(method, path, body=None, headers={}):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r, r.read()
r, b = req("POST", "/rev", b"hello")
print("fg", r.status, r.getheader("X-Gearman-Command"), b.decode(), sep="\t")
sock = c.sock
r, b = req("POST", "/pyqueue", b"bg", {"X-Gearman-Background": "true",
        "X-Gearman-Priority": "low", "X-Gearman-Unique": "py-1"})
handle = r.getheader("X-Gearman-Job-Handle")
print("bg", r.status, r.getheader("X-Gearman-Command"), len(b), sep="\t")
r, b = req("HEAD", "/rev", b"head")
print("head", r.status, r.getheader("Content-Length"), len(b), sep="\t")
r, b = req("GET", "/-/job/" + handle)
j = json.loads(b)
print("job", r.status, j["known"], j["running"], j["handle"] == handle, sep="\t")
r, b = req("GET", "/-/unique/py-1")
j = json.loads(b)
print("unique", r.status, j["known"], j["clients"], sep="\t")
r, b = req("GET", "/-/status")
st = json.loads(b)
f = [f for f in st["functions"] if f["name"] == "pyqueue"][0]
print("status", r.status, f["total"], f["queued"]["low"], f["workers"], sep="\t")
w = [w for w in st["workers"] if w["client_id"] == "rev"][0]
print("worker", ",".join(w["functions"]), sep="\t")
r, b = req("GET", "/-/health")
print("health", r.status, b.decode().strip(), sep="\t")
print("one-connection", c.sock is sock, sep="\t")
"#;

#[test]
fn python_http_client() {
    if skip_unless(common::have_program("python3"), "python3") {
        return;
    }
    let s = start(&[]);
    let _w = Worker::start(s.gear_port, "rev", &["rev"], Behaviour::ReverseInTwoParts);
    let port = s.http().to_string();
    let (status, out, err) = ops::python(PY_CLIENT, &[&port]);
    assert!(status.success(), "python failed: {err}\n{out}");
    let got: HashMap<&str, &str> = out.lines().filter_map(|l| l.split_once('\t')).collect();
    let want = [
        ("fg", "200\tWORK_COMPLETE\tolleh"),
        ("bg", "200\tJOB_CREATED\t0"),
        ("head", "200\t4\t0"),
        ("job", "200\tTrue\tFalse\tTrue"),
        ("unique", "200\tTrue\t0"),
        ("status", "200\t1\t1\t0"),
        ("worker", "rev"),
        ("health", "200\tok"),
        ("one-connection", "True"),
    ];
    for (key, value) in want {
        assert_eq!(got.get(key).copied(), Some(value), "{key}; output:\n{out}");
    }
}

/// Kills the child process on drop (a `gearman -w` worker).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn gearman_cli_worker_behind_http() {
    if skip_unless(
        common::have_program("gearman"),
        "gearman (Debian gearman-tools)",
    ) || skip_unless(common::have_program("curl"), "curl")
    {
        return;
    }
    let s = start(&[]);
    let port = s.gear_port.to_string();
    let worker = Command::new("gearman")
        .args([
            "-w",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-f",
            "clirev",
            "--",
            "rev",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gearman -w");
    let _guard = ChildGuard(worker);
    await_status(s.http(), "the gearman CLI worker registers", |st| {
        function_json(st, "clirev").is_some_and(|f| f.contains("\"workers\":1"))
    });
    let url = format!("http://127.0.0.1:{}/clirev", s.http());
    let (out, _) = curl(&["-s", "-d", "stressed", &url]);
    assert_eq!(out, "desserts");
    // A background job over HTTP is run by the same worker.
    let (out, _) = curl(&["-si", "-H", "X-Gearman-Background: true", "-d", "x", &url]);
    assert!(out.contains("X-Gearman-Command: JOB_CREATED"), "{out}");
    await_status(s.http(), "the background job ran", |st| {
        function_json(st, "clirev").is_some_and(|f| f.contains("\"total\":0,"))
    });
}

/// Function names and client ids holding a tab or a newline reach `/-/status` intact: the page is
/// built from the engine's tables, not from admin text split at tabs and lines.
#[test]
fn status_shows_names_with_tabs_and_newlines() {
    let s = start(&[]);
    let (tab, newline) = ("tab\there", "new\nline");
    let mut c = s.connect();
    common::submit(&mut c, ptype::SUBMIT_JOB_BG, tab, "u1", b"1");
    let mut w = ops::registered(s.gear_port, &[tab, newline]);
    w.send(ptype::SET_CLIENT_ID, &[b"id\twith\nboth"]);
    w.sync();
    let st = get(s.http(), "/-/status").text();
    let f = function_json(&st, "tab\\there").unwrap_or_else(|| panic!("{st}"));
    assert!(
        f.contains("\"total\":1,\"running\":0,\"workers\":1,"),
        "{f}"
    );
    let f = function_json(&st, "new\\nline").unwrap_or_else(|| panic!("{st}"));
    assert!(
        f.contains("\"total\":0,\"running\":0,\"workers\":1,"),
        "{f}"
    );
    // Abilities are listed newest first.
    let worker = r#""client_id":"id\twith\nboth","functions":["new\nline","tab\there"]}"#;
    assert!(st.contains(worker), "{st}");
}

#[test]
fn error_statuses_through_the_real_engine() {
    let s = start(&["--http-max-body", "1K"]);
    let port = s.http();
    let _fail = Worker::start(s.gear_port, "f", &["failing"], Behaviour::Fail);
    let _exc = Worker::start(s.gear_port, "e", &["throwing"], Behaviour::Exception);
    let mut admin = s.connect();
    assert_eq!(admin.admin_line("create function qfull"), "OK\r\n");
    assert_eq!(admin.admin_line("maxqueue qfull 1"), "OK\r\n");

    let bg = |body: &str| {
        let req = format!(
            "POST /qfull HTTP/1.1\r\nX-Gearman-Background: true\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        http(port, req.as_bytes())
    };
    assert_eq!(bg("first").code, 200);
    let full = bg("second");
    assert_eq!(full.code, 503, "{full:?}");
    assert_eq!(full.header("X-Gearman-Command"), Some("ERROR"));
    assert!(full.text().starts_with("QUEUE_ERROR"), "{}", full.text());

    let post = |path: &str, body: &str| {
        let req = format!(
            "POST {path} HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        http(port, req.as_bytes())
    };
    let failed = post("/failing", "x");
    assert_eq!((failed.code, failed.text().as_str()), (500, "job failed\n"));
    assert_eq!(failed.header("X-Gearman-Command"), Some("WORK_FAIL"));
    let thrown = post("/throwing", "x");
    assert_eq!((thrown.code, thrown.text().as_str()), (500, "boom: x"));
    assert_eq!(thrown.header("X-Gearman-Command"), Some("WORK_EXCEPTION"));

    assert_eq!(post("/", "x").code, 404);
    let delete = http(port, b"DELETE /x HTTP/1.1\r\n\r\n");
    assert_eq!(delete.code, 405);
    assert!(delete.header("Allow").is_some_and(|a| a.contains("POST")));
    assert_eq!(http(port, b"GET /x HTTP/2.0\r\n\r\n").code, 505);
    assert_eq!(
        http(port, b"GET /x HTTP/1.1\r\nBad header\r\n\r\n").code,
        400
    );
    assert_eq!(post("/big", &"y".repeat(2048)).code, 413);
    let long_unique = format!(
        "POST /u HTTP/1.1\r\nX-Gearman-Background: true\r\nX-Gearman-Unique: {}\r\n\
         Content-Length: 0\r\n\r\n",
        "u".repeat(65)
    );
    let too_long = http(port, long_unique.as_bytes());
    assert_eq!(too_long.code, 400, "{too_long:?}");
    assert!(
        too_long.text().starts_with("ARGUMENT_TOO_LARGE"),
        "{too_long:?}"
    );
    assert_eq!(get(port, "/-/nope").code, 404);
    let unknown = get(port, "/-/job/H:nowhere:1");
    assert_eq!(unknown.code, 404);
    assert!(unknown.text().contains("\"known\":false"), "{unknown:?}");
    // None of that hurt the server.
    assert_eq!(get(port, "/-/health").text(), "ok\n");
}

/// Parses `/-/metrics` with prometheus_client and prints `name{labels} value` per sample.
const PY_METRICS: &str = r#"
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://127.0.0.1:%s/-/metrics" % sys.argv[1], timeout=10).read().decode()
for fam in text_string_to_metric_families(text):
    assert fam.type in ("gauge", "counter", "histogram"), (fam.name, fam.type)
    print("type %s %s" % (fam.name, fam.type))
    assert fam.documentation, fam.name
    for s in fam.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %g" % (s.name, labels, s.value))
"#;

#[test]
fn metrics_parse_with_prometheus_client() {
    if skip_unless(
        ops::python_has("prometheus_client"),
        "python3 with prometheus_client (pip install prometheus_client)",
    ) {
        return;
    }
    let s = start(&[]);
    let mut c = s.connect();
    common::submit(&mut c, ptype::SUBMIT_JOB_HIGH_BG, "m1", "a", b"1");
    common::submit(&mut c, ptype::SUBMIT_JOB_BG, "m1", "b", b"2");
    common::submit(&mut c, ptype::SUBMIT_JOB_BG, "m1", "c", b"3");
    let w = ops::registered(s.gear_port, &["m2", "we\"ird name"]);
    // Jobs that end: one completed, one failed, both submitted over HTTP.
    let _echo = Worker::start(s.gear_port, "echo", &["m3"], Behaviour::Echo);
    let _fail = Worker::start(s.gear_port, "fail", &["m4"], Behaviour::Fail);
    let post = |path: &str| {
        let req = format!("POST {path} HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
        http(s.http(), req.as_bytes()).code
    };
    assert_eq!(post("/m3"), 200);
    assert_eq!(post("/m4"), 500);
    let st = get(s.http(), "/-/status").text();
    // The counters follow the `queued` object at the end of each function's entry.
    let ends = |name: &str, tail: &str| {
        let start = st.find(&format!("{{\"name\":\"{name}\",")).expect(name);
        let entry = &st[start..];
        let end = entry[1..].find("{\"name\"").map_or(entry.len(), |i| i + 1);
        entry[..end].contains(tail)
    };
    assert!(ends("m3", "},\"completed\":1,\"failed\":0}"), "{st}");
    assert!(ends("m4", "},\"completed\":0,\"failed\":1}"), "{st}");
    let (status, out, err) = ops::python(PY_METRICS, &[&s.http().to_string()]);
    assert!(
        status.success(),
        "prometheus_client rejected /-/metrics: {err}\n{out}"
    );
    let accepted = out
        .lines()
        .find_map(|l| l.strip_prefix("gearmand_connections_accepted_total{protocol=\"http\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(accepted.is_some_and(|n| n >= 3.0), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("gearmand_uptime_seconds{} ")),
        "{out}"
    );
    for line in [
        "gearmand_functions{} 5",
        "type gearmand_jobs_submitted counter",
        "type gearmand_queue_group_seconds histogram",
        "gearmand_jobs_submitted_total{function=\"m1\",priority=\"high\"} 1",
        "gearmand_jobs_submitted_total{function=\"m1\",priority=\"normal\"} 2",
        "gearmand_jobs_completed_total{function=\"m3\",priority=\"normal\"} 1",
        "gearmand_jobs_failed_total{function=\"m4\",priority=\"normal\",reason=\"fail\"} 1",
        "gearmand_jobs_retried_total{function=\"m4\",priority=\"normal\"} 0",
        "gearmand_queue_group_seconds_count{} 0",
        "gearmand_queue_group_seconds_bucket{le=\"+Inf\"} 0",
        "gearmand_jobs{function=\"m1\"} 3",
        "gearmand_jobs_running{function=\"m1\"} 0",
        "gearmand_jobs_queued{function=\"m1\",priority=\"high\"} 1",
        "gearmand_jobs_queued{function=\"m1\",priority=\"normal\"} 2",
        "gearmand_jobs_queued{function=\"m1\",priority=\"low\"} 0",
        "gearmand_workers{function=\"m2\"} 1",
        "gearmand_workers{function=\"we\"ird name\"} 1",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
    drop(w);
}

#[test]
fn background_submit_over_http_is_persisted_by_sqlite_and_replayed() {
    let dir = common::TempDir::new("http-sqlite");
    let db = dir.path().join("queue.db");
    let db = db.to_str().unwrap();
    let args = ["-q", "sqlite", "--libsqlite3-db", db];
    let mut first = start(&args);
    let jobs = [
        ("sq-1", "high", "one"),
        ("sq-2", "", "two"),
        ("sq-3", "low", "three"),
    ];
    for (unique, priority, body) in jobs {
        let mut req = format!(
            "POST /persisted HTTP/1.1\r\nX-Gearman-Background: true\r\nX-Gearman-Unique: {unique}\r\n"
        );
        if !priority.is_empty() {
            req.push_str(&format!("X-Gearman-Priority: {priority}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let r = http(first.http(), req.as_bytes());
        assert_eq!(r.header("X-Gearman-Command"), Some("JOB_CREATED"), "{r:?}");
    }
    // The queue's work shows in the metrics: three adds, each group flushed once.
    let m = get(first.http(), "/-/metrics").text();
    assert!(
        m.contains("\ngearmand_queue_operations_total{op=\"add\"} 3\n"),
        "{m}"
    );
    assert!(
        m.contains("\ngearmand_queue_errors_total{op=\"flush\"} 0\n"),
        "{m}"
    );
    assert!(
        !m.contains("\ngearmand_queue_group_seconds_count 0\n"),
        "{m}"
    );
    // JOB_CREATED came after the queue stored the job: a kill -9 right now loses nothing.
    first.kill9();

    let second = start(&args);
    let st = await_status(second.http(), "the replayed jobs are queued", |st| {
        function_json(st, "persisted").is_some()
    });
    let m = get(second.http(), "/-/metrics").text();
    assert!(m.contains("\ngearmand_jobs_replayed_total 3\n"), "{m}");
    let f = function_json(&st, "persisted").unwrap();
    assert!(
        f.contains("\"total\":3,") && f.contains("\"queued\":{\"high\":1,\"normal\":1,\"low\":1}"),
        "{f}"
    );
    let w = Worker::start(second.gear_port, "sq", &["persisted"], Behaviour::Echo);
    ops::await_jobs(&w, 3, "the replayed jobs run");
    let done = w.done.lock().unwrap().clone();
    let got: Vec<(&str, &[u8])> = done
        .iter()
        .map(|d| (d.unique.as_str(), d.data.as_slice()))
        .collect();
    // One worker takes queued jobs by priority: high, normal, low.
    assert_eq!(
        got,
        vec![
            ("sq-1", &b"one"[..]),
            ("sq-2", &b"two"[..]),
            ("sq-3", &b"three"[..])
        ]
    );
    drop(w);
    await_status(second.http(), "the finished jobs are gone", |st| {
        function_json(st, "persisted").is_some_and(|f| f.contains("\"total\":0,"))
    });
    drop(second);
    // Finished jobs were removed from the database too: nothing comes back.
    let third = start(&args);
    let st = get(third.http(), "/-/status").text();
    assert!(
        function_json(&st, "persisted").is_none_or(|f| f.contains("\"total\":0,")),
        "{st}"
    );
}
