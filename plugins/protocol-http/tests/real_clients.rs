//! Real HTTP clients (curl, Python's http.client) against the codec behind real sockets.
//!
//! The gearmand host is not part of this crate, so a minimal stand-in serves here: a loopback
//! listener, a thread per connection that reads, decodes, and answers every gear request at once
//! with a fake engine (JOB_CREATED, then for a foreground job a WORK_DATA and a WORK_COMPLETE
//! carrying the reversed workload; function `fail` gets WORK_FAIL). It follows the host contract:
//! unconsumed bytes are offered again, and a Close from the codec ends the connection after the
//! written bytes are flushed.

use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::{Codec, DecodeSink, Next};
use gearmand_protocol_http::{HttpCodec, Limits};
use gearmand_queue_testkit::{skip, which};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

struct Sink {
    requests: Vec<(u32, Vec<Vec<u8>>)>,
    out: Vec<u8>,
}

impl DecodeSink for Sink {
    fn request(&mut self, kind: u32, args: &[&[u8]]) {
        self.requests
            .push((kind, args.iter().map(|a| a.to_vec()).collect()));
    }
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

/// The fake engine's answers to one request.
fn engine(seq: &mut u32, kind: u32, args: &[Vec<u8>]) -> Vec<(u32, Vec<Vec<u8>>)> {
    let background = matches!(
        kind,
        ptype::SUBMIT_JOB_BG | ptype::SUBMIT_JOB_HIGH_BG | ptype::SUBMIT_JOB_LOW_BG
    );
    match kind {
        ptype::OPTION_REQ => vec![(ptype::OPTION_RES, args.to_vec())],
        kind::ADMIN_LINE => vec![(kind::RAW, vec![b"OK test\n".to_vec()])],
        ptype::SUBMIT_JOB..=ptype::SUBMIT_JOB_LOW_BG => {
            *seq += 1;
            let h = format!("H:test:{seq}").into_bytes();
            let mut out = vec![(ptype::JOB_CREATED, vec![h.clone()])];
            if background {
                return out;
            }
            if args[0] == b"fail" {
                out.push((ptype::WORK_FAIL, vec![h]));
            } else {
                let reversed: Vec<u8> = args[2].iter().rev().copied().collect();
                out.push((ptype::WORK_DATA, vec![h.clone(), b"<".to_vec()]));
                out.push((ptype::WORK_COMPLETE, vec![h, reversed]));
            }
            out
        }
        _ => vec![],
    }
}

fn serve(mut stream: TcpStream) {
    let mut codec = HttpCodec::new(Limits::default());
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut seq = 0;
    loop {
        // Decode until the codec makes no more progress (it may stop at its pipeline limit).
        let mut sink = Sink {
            requests: Vec::new(),
            out: Vec::new(),
        };
        let mut close = false;
        loop {
            let before = (pending.len(), sink.requests.len());
            let (used, d) = codec.decode(&pending, &mut sink);
            pending.drain(..used);
            close |= d == Next::Close;
            for (k, args) in std::mem::take(&mut sink.requests) {
                for (rk, rargs) in engine(&mut seq, k, &args) {
                    let slices: Vec<&[u8]> = rargs.iter().map(|a| a.as_slice()).collect();
                    close |= codec.encode(rk, &slices, &mut sink.out) == Next::Close;
                }
            }
            if close || (pending.len(), sink.requests.len()) == before || pending.is_empty() {
                break;
            }
        }
        if stream.write_all(&sink.out).is_err() || close {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Starts the stand-in server; returns its base URL.
fn start() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    format!("http://{addr}")
}

/// Whether `program` is installed; if not, a loud SKIP (a failure under CI).
fn have(program: &str) -> bool {
    let found = which(program).is_some();
    if !found {
        skip(&format!("{program} is not installed"));
    }
    found
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn curl_keep_alive_reuses_one_connection() {
    if !have("curl") {
        return;
    }
    let base = start();
    let url = format!("{base}/reverse");
    let (out, err) = curl(&[
        "-v", "-d", "hello", &url, "--next", "-v", "-d", "world", &url,
    ]);
    assert_eq!(out, "<olleh<dlrow");
    assert!(
        err.contains("Re-using existing connection") || err.contains("Reusing existing"),
        "{err}"
    );
    assert!(err.contains("< X-Gearman-Command: WORK_COMPLETE"), "{err}");
}

#[test]
fn curl_chunked_upload() {
    if !have("curl") {
        return;
    }
    let base = start();
    let (out, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "abcdef",
        &format!("{base}/rev"),
    ]);
    assert_eq!(out, "<fedcba");
}

#[test]
fn curl_expect_100_continue_does_not_wait_for_the_timeout() {
    if !have("curl") {
        return;
    }
    let base = start();
    let started = Instant::now();
    let (out, err) = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "5",
        "--data-binary",
        "xyz",
        &format!("{base}/rev"),
    ]);
    assert_eq!(out, "<zyx");
    assert!(err.contains("HTTP/1.1 100 Continue"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn curl_http10_and_background_and_errors() {
    if !have("curl") {
        return;
    }
    let base = start();
    let (out, _) = curl(&["-i", "--http1.0", "-d", "a", &format!("{base}/f")]);
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    let (out, _) = curl(&[
        "-i",
        "-H",
        "X-Gearman-Background: true",
        "-d",
        "a",
        &format!("{base}/f"),
    ]);
    assert!(out.contains("X-Gearman-Command: JOB_CREATED\r\n"), "{out}");
    assert!(out.contains("Content-Length: 0\r\n"), "{out}");
    let (code, _) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-d",
        "a",
        &format!("{base}/fail"),
    ]);
    assert_eq!(code, "500");
    let (code, _) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "DELETE",
        &format!("{base}/f"),
    ]);
    assert_eq!(code, "405");
    let (code, _) = curl(&["-o", "/dev/null", "-w", "%{http_code}", &format!("{base}/")]);
    assert_eq!(code, "404");
    let (out, _) = curl(&[&format!("{base}/-/health")]);
    assert_eq!(out, "ok\n");
}

#[test]
fn python_http_client_keep_alive_head_and_errors() {
    if !have("python3") {
        return;
    }
    let base = start();
    let port = base.rsplit(':').next().unwrap();
    let script = format!(
        r#"
import http.client
c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
c.request("POST", "/rev", body=b"abc")
r = c.getresponse(); assert r.status == 200, r.status; assert r.read() == b"<cba"
assert r.getheader("X-Gearman-Job-Handle").startswith("H:test:")
c.request("HEAD", "/rev")
r = c.getresponse(); assert r.status == 200; assert r.getheader("Content-Length") == "1"; assert r.read() == b""
c.request("GET", "/-/nothing")
r = c.getresponse(); assert r.status == 404; r.read()
c.request("PUT", "/fail", body=b"x", headers={{"X-Gearman-Priority": "high"}})
r = c.getresponse(); assert r.status == 500; assert r.getheader("X-Gearman-Command") == "WORK_FAIL"; r.read()
c.request("POST", "/rev", body=b"12")
r = c.getresponse(); assert r.read() == b"<21"
print("ok")
"#
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn raw_pipelining_over_a_socket() {
    let base = start();
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let one = "POST /r HTTP/1.1\r\nContent-Length: 2\r\n\r\nab";
    let last = "POST /r HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\ncd";
    s.write_all(format!("{one}{one}{last}").as_bytes()).unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 3, "{all}");
    assert!(all.ends_with("\r\n\r\n<dc"), "{all}");
}
