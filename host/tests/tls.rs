//! TLS on every listener (`--ssl`, `--ssl-certificate`, `--ssl-key`, `--ssl-ca-file`), against
//! the real binary, with certificates made by the `openssl` CLI and `openssl s_client` as the
//! TLS peer.
//!
//! Debian's libgearman is built without TLS: `gearman -S` sends plaintext (see
//! `gearman_cli_dash_s`), so jobs over TLS are driven through `openssl s_client` instead.
//! Every refusal (no client certificate, expired, unknown CA, plaintext on the TLS port) must
//! close only that connection with one log line, and a good client must still be served after.

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::{have_program, ptype, skip_unless, wait_for, Server};
use hardening::{count_in, Certs, SClient};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
/// The log line a refused TLS peer produces (one per connection).
const REFUSED: &str = "TLS refused for ";

fn have_openssl() -> bool {
    !skip_unless(have_program("openssl"), "the openssl CLI")
}

fn start(certs: &Certs, require_client: bool, extra: &[&str]) -> Server {
    let mut args = certs.server_args(require_client);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start(&refs);
    assert!(s.stderr().contains("(gear) with TLS"), "{}", s.stderr());
    s
}

/// A good client still gets the admin `version` reply over TLS.
#[track_caller]
fn good_client_works(s: &Server, certs: &Certs) {
    let mut c = SClient::connect(s.port(), certs, Some("client"));
    c.send_raw(b"version\n");
    let line = c.line();
    assert!(line.starts_with("OK "), "version over TLS: {line:?}");
}

/// Waits until the server logged `n` refusals in all.
#[track_caller]
fn refusals_reach(s: &Server, n: usize) {
    wait_for(&format!("{n} TLS refusal log lines"), WAIT, || {
        count_in(&s.stderr(), REFUSED) >= n
    });
    assert_eq!(count_in(&s.stderr(), REFUSED), n, "{}", s.stderr());
}

#[test]
fn a_tls_worker_runs_a_job_a_tls_client_submits() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, true, &[]);
    let mut worker = SClient::connect(s.port(), &certs, Some("client"));
    worker.send(ptype::CAN_DO, &[b"tls-reverse"]);
    worker.send(ptype::PRE_SLEEP, &[]);
    // The registration is processed once an echo after it comes back.
    worker.send(ptype::ECHO_REQ, &[b"ready"]);
    assert_eq!(worker.recv().ptype, ptype::ECHO_RES);

    let mut client = SClient::connect(s.port(), &certs, Some("client"));
    client.send(ptype::SUBMIT_JOB, &[b"tls-reverse", b"", b"hello over tls"]);
    let created = client.recv();
    assert_eq!(created.ptype, ptype::JOB_CREATED, "{created:?}");

    assert_eq!(worker.recv().ptype, ptype::NOOP);
    worker.send(ptype::GRAB_JOB, &[]);
    let assign = worker.recv();
    assert_eq!(assign.ptype, ptype::JOB_ASSIGN, "{assign:?}");
    let args = assign.args();
    assert_eq!(args[0], created.body.as_slice());
    assert_eq!(args[1], b"tls-reverse");
    let reversed: Vec<u8> = args[2].iter().rev().copied().collect();
    worker.send(ptype::WORK_COMPLETE, &[args[0], &reversed]);

    let done = client.recv();
    assert_eq!(done.ptype, ptype::WORK_COMPLETE);
    assert_eq!(done.args()[1], b"slt revo olleh");

    // A big reply may be written straight from its frame on a plain socket
    // (runtime/direct.rs); over TLS every byte has to go through the session.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    client.send(ptype::ECHO_REQ, &[&big]);
    let reply = client.recv();
    assert_eq!(reply.ptype, ptype::ECHO_RES);
    assert!(
        reply.body == big,
        "a 200 KB echo over TLS came back changed"
    );
    assert_eq!(count_in(&s.stderr(), REFUSED), 0, "{}", s.stderr());
}

#[test]
fn client_certificates_missing_expired_or_from_an_unknown_ca_are_refused() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, true, &[]);
    // Held open across the refusals: an established session is not disturbed by them.
    let mut steady = SClient::connect(s.port(), &certs, Some("client"));
    steady.send(ptype::ECHO_REQ, &[b"before"]);
    assert_eq!(steady.recv().body, b"before");
    for (n, cert) in [None, Some("expired"), Some("intruder")]
        .into_iter()
        .enumerate()
    {
        let mut c = SClient::connect(s.port(), &certs, cert);
        c.send(ptype::ECHO_REQ, &[b"let me in"]);
        assert!(
            c.ends_without_reply(WAIT),
            "client cert {cert:?} was served"
        );
        refusals_reach(&s, n + 1);
        good_client_works(&s, &certs);
    }
    let log = s.stderr();
    assert!(log.contains("peer sent no certificates"), "{log}");
    assert!(log.contains("Expired"), "{log}");
    assert!(log.contains("UnknownIssuer"), "{log}");
    steady.send(ptype::ECHO_REQ, &[b"after"]);
    assert_eq!(steady.recv().body, b"after");
}

#[test]
fn without_a_ca_file_no_client_certificate_is_needed() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, false, &[]);
    let mut c = SClient::connect(s.port(), &certs, None);
    c.send(ptype::ECHO_REQ, &[b"anonymous"]);
    assert_eq!(c.recv().body, b"anonymous");
}

#[test]
fn plaintext_on_the_tls_port_closes_only_that_connection() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, true, &["-t", "0"]);
    let mut idle = TcpStream::connect(("127.0.0.1", s.port())).unwrap();
    for (n, bytes) in [
        &b"\0REQ\0\0\0\x10\0\0\0\x02hi"[..],
        b"status\n",
        b"GET / HTTP/1.0\r\n\r\n",
    ]
    .into_iter()
    .enumerate()
    {
        let mut plain = TcpStream::connect(("127.0.0.1", s.port())).unwrap();
        plain.write_all(bytes).unwrap();
        let got = read_to_close(&mut plain);
        assert!(
            !got.starts_with(b"\0RES") && !got.starts_with(b"OK"),
            "{got:?}"
        );
        refusals_reach(&s, n + 1);
        good_client_works(&s, &certs);
    }
    // A connection that never starts its handshake holds nothing up.
    idle.write_all(b"").unwrap();
}

/// Reads until the server closes (bounded by [`WAIT`]); what arrived (a TLS alert at most).
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the server kept a plaintext connection open"
        );
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// `gearman -S` against a TLS server: with an SSL-enabled libgearman the job runs; Debian's is
/// built without SSL and speaks plaintext, which the server refuses like any plaintext client.
#[test]
fn gearman_cli_dash_s() {
    if !have_openssl() || skip_unless(have_program("gearman"), "the gearman CLI") {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, true, &[]);
    let mut worker = SClient::connect(s.port(), &certs, Some("client"));
    worker.send(ptype::CAN_DO, &[b"cli-tls"]);
    worker.send(ptype::ECHO_REQ, &[b"ready"]);
    assert_eq!(worker.recv().ptype, ptype::ECHO_RES);
    let mut cmd = Command::new("gearman");
    cmd.args(["-S", "-h", "127.0.0.1", "-p", &s.port().to_string()])
        .args(["-t", "5000", "-f", "cli-tls", "payload"])
        .env("GEARMAND_CA_CERTIFICATE", certs.path("ca.pem"))
        .env("GEARMAN_CLIENT_PEM", certs.path("client.pem"))
        .env("GEARMAN_CLIENT_KEY", certs.path("client.key"));
    let client = std::thread::spawn(move || common::server::run_with_timeout(cmd, WAIT * 2));
    // Serve the job if it arrives over TLS.
    worker.send(ptype::GRAB_JOB, &[]);
    let assign = worker.recv();
    let tls_capable = assign.ptype == ptype::JOB_ASSIGN;
    if tls_capable {
        worker.send(ptype::WORK_COMPLETE, &[assign.args()[0], b"done"]);
    }
    let (_, out, _) = client.join().unwrap();
    if tls_capable {
        assert_eq!(out.trim(), "done");
    } else {
        eprintln!("NOTE: this gearman CLI's libgearman has no TLS: -S sent plaintext");
        refusals_reach(&s, 1);
        assert!(s.stderr().contains("InvalidContentType"), "{}", s.stderr());
        good_client_works(&s, &certs);
    }
}

#[test]
fn the_http_protocol_runs_over_tls_too() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let s = start(&certs, false, &["-r", "http", "--http-port", "0"]);
    // The gear line is what the harness waits for; the http listener is bound right after.
    let port: u16 = common::eventually("a TLS http listener", WAIT, || {
        s.stderr()
            .split("listening on 127.0.0.1:")
            .filter_map(|r| r.split_once(' '))
            .find(|(_, tail)| tail.starts_with("(http) with TLS"))
            .and_then(|(p, _)| p.parse().ok())
    });
    let mut c = SClient::connect(port, &certs, None);
    c.send_raw(
        b"POST /tls-http HTTP/1.0\r\nX-Gearman-Background: true\r\nContent-Length: 2\r\n\r\nhi",
    );
    let status = c.line();
    assert!(status.starts_with("HTTP/1.0 200"), "{status:?}");
}

#[test]
fn bad_tls_setup_stops_the_server_at_startup() {
    let certs_missing = ["--ssl", "--ssl-key", "/nonexistent.key"];
    let e = Server::try_start(&certs_missing).err().expect("started");
    assert!(e.contains("--ssl needs --ssl-certificate"), "{e}");
    let unreadable = [
        "--ssl",
        "--ssl-certificate",
        "/nonexistent.pem",
        "--ssl-key",
        "/nonexistent.key",
    ];
    let e = Server::try_start(&unreadable).err().expect("started");
    assert!(e.contains("/nonexistent.pem"), "{e}");
}

#[test]
fn admin_changes_can_be_restricted_to_certificate_subjects() {
    if !have_openssl() {
        return;
    }
    let certs = Certs::make();
    let allow = format!("subject:{}", hardening::CLIENT_SUBJECT);
    let s = start(
        &certs,
        true,
        &["--admin-restrict", "changes", "--admin-allow", &allow],
    );
    let mut ops = SClient::connect(s.port(), &certs, Some("client"));
    ops.send_raw(b"maxqueue f 1\n");
    assert_eq!(ops.line(), "OK\r\n");
    let mut reader = SClient::connect(s.port(), &certs, Some("reader"));
    reader.send_raw(b"maxqueue f 2\n");
    assert!(reader.line().starts_with("ERR PERMISSION_DENIED"));
    reader.send_raw(b"version\n");
    assert!(reader.line().starts_with("OK "));
    let log = s.stderr();
    assert!(log.contains("presented CN=worker-1,O=Gear Test"), "{log}");
    assert!(log.contains("presented CN=reader,O=Gear Test"), "{log}");
}
