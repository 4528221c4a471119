//! The HTTP plugin's status page (`/-/`), served by the real server and rendered by a real browser.
//!
//! `page_is_served_over_http` checks the response itself (always runs). The browser test starts
//! `gearmand -r http`, creates queued, running and finished jobs and workers, and loads the page in
//! headless Chromium (Debian's `chromium`) twice: `--dump-dom` to assert the rendered numbers, and
//! `--screenshot` kept under `target/test-artifacts/status-page/`. Throughput is computed by the
//! page from successive samples, so the browser talks to the server through a small relay that
//! completes some jobs just before forwarding the page's second `/-/status` request: the page must
//! then count exactly those jobs. Without Chromium the browser test skips loudly (fails under CI).

mod common;
#[path = "common/ops.rs"]
mod ops;

use common::{ptype, Conn};
use ops::{get, http, Gearmand};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start() -> Gearmand {
    Gearmand::start(&["-p", "0", "-r", "http", "--http-port", "0"])
}

#[test]
fn page_is_served_over_http() {
    let s = start();
    let port = s.http();
    for path in ["/-/", "/-/index.html", "/-/?x=1"] {
        let r = get(port, path);
        assert_eq!(r.code, 200, "{path}: {r:?}");
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        let csp = r.header("Content-Security-Policy").unwrap_or("");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(r.text().contains("<title>gearmand status</title>"));
    }
    let head = http(port, b"HEAD /-/ HTTP/1.1\r\n\r\n");
    assert_eq!(head.code, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("Content-Length"),
        get(port, "/-/")
            .header("Content-Length")
            .map(str::to_owned)
            .as_deref()
    );
    let post = http(port, b"POST /-/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((post.code, post.header("Allow")), (405, Some("GET, HEAD")));
    // The page's links and its data source exist.
    for path in ["/-/status", "/-/metrics", "/-/health"] {
        assert_eq!(get(port, path).code, 200, "{path}");
    }
    // Loading the page created no job and no function.
    let status = get(port, "/-/status").text();
    assert!(status.starts_with("{\"functions\":[]"), "{status}");
}

/// Which background jobs the browser test submits: (function, priority packet, count).
const JOBS: &[(&str, u32, usize)] = &[
    ("resize", ptype::SUBMIT_JOB_HIGH_BG, 1),
    ("resize", ptype::SUBMIT_JOB_BG, 3),
    ("resize", ptype::SUBMIT_JOB_LOW_BG, 2),
    ("email", ptype::SUBMIT_JOB_BG, 2),
    ("sms", ptype::SUBMIT_JOB_BG, 3),
];

#[test]
fn status_page_renders_in_headless_chromium() {
    if common::skip_unless(
        common::have_program("chromium"),
        "chromium (Debian package `chromium`) for the status page browser test",
    ) {
        return;
    }
    let s = start();
    let mut client = s.connect();
    for &(function, kind, n) in JOBS {
        for i in 0..n {
            let unique = format!("{function}-{kind}-{i}");
            common::submit(&mut client, kind, function, &unique, b"payload");
        }
    }
    // A worker holding the high-priority resize job (running), registered for two functions.
    let mut busy = s.connect();
    busy.send(ptype::SET_CLIENT_ID, &[b"page-worker-1"]);
    busy.send(ptype::CAN_DO, &[b"resize"]);
    busy.send(ptype::CAN_DO, &[b"thumbnail"]);
    busy.send(ptype::GRAB_JOB, &[]);
    let assigned = busy.recv();
    assert_eq!(assigned.ptype, ptype::JOB_ASSIGN, "{assigned:?}");
    assert!(
        assigned.body.ends_with(b"\0resize\0payload"),
        "{assigned:?}"
    );
    // Two workers that finish jobs on cue, between two samples of the page.
    let drain_email = drainer(&s, "email");
    let drain_sms = drainer(&s, "sms");

    let dir = ops::artifact_dir("status-page");
    let dom = {
        let relay = Relay::start(s.http(), drain_on_second_status(drain_email, 2));
        chromium(&relay, &dir, &["--dump-dom"])
    };
    std::fs::write(dir.join("status_page.html"), &dom).unwrap();
    check_dom(&dom);

    let shot = dir.join("status_page.png");
    let _ = std::fs::remove_file(&shot);
    let relay = Relay::start(s.http(), drain_on_second_status(drain_sms, 3));
    let screenshot = format!("--screenshot={}", shot.display());
    chromium(&relay, &dir, &[&screenshot]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot {shot:?}: {e}"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "suspiciously small screenshot");
    eprintln!("status page screenshot: {}", shot.display());
}

/// What the rendered DOM must show after the first load (email drained before sample 2).
fn check_dom(dom: &str) {
    let samples: usize = attr_value(dom, "<body data-samples=\"")
        .parse()
        .unwrap_or(0);
    assert!(
        samples >= 2,
        "the page sampled /-/status only {samples} times"
    );
    let resize = row(dom, "data-function", "resize");
    for (k, want) in [
        ("high", "0"),
        ("normal", "3"),
        ("low", "2"),
        ("running", "1"),
        ("total", "6"),
        ("workers", "1"),
    ] {
        assert_eq!(cell(&resize, k), want, "resize {k} in {resize}");
    }
    let email = row(dom, "data-function", "email");
    assert_eq!(cell(&email, "total"), "0", "{email}");
    let sms = row(dom, "data-function", "sms");
    assert_eq!(cell(&sms, "normal"), "3", "{sms}");
    let thumbnail = row(dom, "data-function", "thumbnail");
    assert_eq!(cell(&thumbnail, "workers"), "1", "{thumbnail}");
    for (id, want) in [
        ("t-queued", "8"),
        ("t-running", "1"),
        ("t-functions", "4"),
        ("t-workers", "3"),
        ("tp-total", "2"),
    ] {
        assert_eq!(text_of_id(dom, id), want, "#{id}");
    }
    let running = row(dom, "data-running", "resize");
    assert_eq!(cell(&running, "running"), "1", "{running}");
    let worker = row(dom, "data-worker", "page-worker-1");
    assert!(
        worker.contains("<span>resize</span>") && worker.contains("<span>thumbnail</span>"),
        "{worker}"
    );
    assert!(
        text_of_id(dom, "state").starts_with("updated"),
        "page reports an error"
    );
}

/// A worker connection for `function`, idle until its hook runs.
fn drainer(s: &Gearmand, function: &str) -> Conn {
    let mut c = s.connect();
    c.send(
        ptype::SET_CLIENT_ID,
        &[format!("drain-{function}").as_bytes()],
    );
    c.send(ptype::CAN_DO, &[function.as_bytes()]);
    c.sync();
    c
}

/// A hook that finishes `n` jobs on `conn` when the page asks for `/-/status` the second time,
/// before that request reaches the server.
fn drain_on_second_status(conn: Conn, n: usize) -> Hook {
    let conn = Mutex::new(conn);
    Arc::new(move |request: usize| {
        if request != 2 {
            return;
        }
        let mut c = conn.lock().unwrap();
        for _ in 0..n {
            c.send(ptype::GRAB_JOB, &[]);
            let p = c.recv();
            assert_eq!(p.ptype, ptype::JOB_ASSIGN, "{p:?}");
            let handle = p.body.split(|&b| b == 0).next().unwrap().to_vec();
            c.send(ptype::WORK_COMPLETE, &[&handle, b"ok"]);
        }
        c.sync(); // the completions are processed before the page's sample is taken
    })
}

/// Runs headless Chromium on the page through `relay`, with `mode` (`--dump-dom` or
/// `--screenshot=...`); returns its stdout.
fn chromium(relay: &Relay, dir: &Path, mode: &[&str]) -> String {
    let profile = common::TempDir::new("chromium-profile");
    let user_data = format!("--user-data-dir={}", profile.path().display());
    let url = format!("http://127.0.0.1:{}/-/", relay.port);
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        &user_data,
        "--window-size=1200,800",
        "--virtual-time-budget=5000",
    ];
    args.extend_from_slice(mode);
    args.push(&url);
    let (status, out, err) = ops::run("chromium", &args, Duration::from_secs(120));
    std::fs::write(dir.join("chromium.stderr"), &err).unwrap();
    assert!(
        status.success(),
        "chromium {args:?} failed: {status}\n{err}"
    );
    assert!(
        relay.status_requests.load(Ordering::SeqCst) >= 2,
        "the page did not poll /-/status twice through the relay"
    );
    out
}

// ---- reading the dumped DOM ------------------------------------------------------------------------

/// The text after `prefix` up to the next `"`.
fn attr_value<'a>(dom: &'a str, prefix: &str) -> &'a str {
    let start = dom
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in DOM"));
    let rest = &dom[start + prefix.len()..];
    &rest[..rest.find('"').unwrap_or(0)]
}

/// The `<tr attr="name" ...>...</tr>` element.
fn row(dom: &str, attr: &str, name: &str) -> String {
    let start = dom
        .find(&format!("<tr {attr}=\"{name}\""))
        .unwrap_or_else(|| panic!("no row {attr}={name:?} in the page:\n{dom}"));
    let rest = &dom[start..];
    rest[..rest.find("</tr>").expect("row end")].to_string()
}

/// The text of the `<td data-k="key">` cell of a row, tags removed.
fn cell(row: &str, key: &str) -> String {
    let start = row
        .find(&format!("data-k=\"{key}\""))
        .unwrap_or_else(|| panic!("no cell {key} in {row}"));
    let rest = &row[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</td>").unwrap();
    strip_tags(&rest[open..close])
}

/// The text of the element with `id`, tags removed.
fn text_of_id(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in DOM"));
    let rest = &dom[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find("</").unwrap() + open;
    strip_tags(&rest[open..close])
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

// ---- the relay ---------------------------------------------------------------------------------------

/// Called with the number of the `/-/status` request about to be forwarded (1, 2, ...).
type Hook = Arc<dyn Fn(usize) + Send + Sync>;

/// An HTTP relay in front of the server's HTTP port: every request is forwarded on a new upstream
/// connection and its answer copied back, so the test can act between two of the page's samples.
struct Relay {
    port: u16,
    status_requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: u16, hook: Hook) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let status_requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (Arc::clone(&status_requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (count, hook) = (Arc::clone(&count), Arc::clone(&hook));
                        std::thread::spawn(move || relay_conn(client, upstream, &count, &hook));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Relay {
            port,
            status_requests,
            stop,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Serves one browser connection: bodiless requests in, one upstream exchange per request.
fn relay_conn(mut client: TcpStream, upstream: u16, count: &AtomicUsize, hook: &Hook) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut pending = Vec::new();
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            let mut buf = [0u8; 8192];
            match client.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let request: Vec<u8> = pending.drain(..end + 4).collect();
        if request.starts_with(b"GET /-/status ") {
            hook(count.fetch_add(1, Ordering::SeqCst) + 1);
        }
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
            return;
        };
        let _ = up.set_read_timeout(Some(Duration::from_secs(10)));
        if up.write_all(&request).is_err() {
            return;
        }
        let head_only = request.starts_with(b"HEAD ");
        let Ok(r) = ops::read_response(&mut up, head_only) else {
            return;
        };
        let mut out = format!("{}\r\n", r.status_line).into_bytes();
        for (name, value) in &r.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&r.body);
        if client.write_all(&out).is_err() {
            return;
        }
    }
}
