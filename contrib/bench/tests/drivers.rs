//! Both drivers of the load tool (`--driver threads` and `--driver loop`) run foreground and echo
//! scenarios against our server, and fail the run when a server answers wrongly.
//!
//! Our server and its plugins are the ones `cargo build --workspace` put beside the bench binary
//! (target/debug). The wrong answers come from a few lines of fake server here: what is tested is
//! the load tool's checking, which no correct server would exercise.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DRIVERS: [&str; 2] = ["threads", "loop"];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !(v.is_empty() || v == "false" || v == "0"))
}

fn bench() -> &'static str {
    env!("CARGO_BIN_EXE_gearmand-bench")
}

/// target/debug: the server binary and the plugins live beside the bench binary.
fn build_dir() -> PathBuf {
    Path::new(bench())
        .parent()
        .expect("a directory")
        .to_path_buf()
}

/// `cargo test -p gearmand-bench` alone does not build the server; skip loudly (fail in CI).
fn server_built(dir: &Path) -> bool {
    let built = dir.join("gearmand").exists() && dir.join("libgearmand_protocol_gear.so").exists();
    if !built {
        let msg = format!(
            "gearmand is not built in {} (run `cargo build --workspace` first)",
            dir.display()
        );
        assert!(!in_ci(), "{msg}");
        eprintln!("\n******** SKIP: {msg} ********\n");
    }
    built
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts our server on a free port and waits until it accepts connections.
fn start_ours(dir: &Path) -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let child = Command::new(dir.join("gearmand"))
        .args(["-p", &port.to_string(), "-L", "127.0.0.1", "-t", "1"])
        .arg("--plugin-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gearmand");
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "gearmand did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Server(child), addr)
}

fn run(addr: &str, pid: u32, scenario: &str, driver: &str) -> Output {
    Command::new(bench())
        .args(["run", "--addr", addr, "--scenario", scenario])
        .args(["--scale", "0.01", "--driver", driver])
        .args(["--pid", &pid.to_string()])
        .output()
        .expect("run gearmand-bench")
}

#[test]
fn both_drivers_run_foreground_and_echo_against_our_server() {
    let dir = build_dir();
    if !server_built(&dir) {
        return;
    }
    let (server, addr) = start_ours(&dir);
    for driver in DRIVERS {
        for scenario in ["fg-4x4", "fg-16x8x8", "echo"] {
            let out = run(&addr, server.0.id(), scenario, driver);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{scenario} {driver}: {stderr}");
            let line = stdout.lines().find(|l| l.starts_with("RESULT")).unwrap();
            assert!(line.contains(&format!("scenario={scenario} ")), "{line}");
            let rate: f64 = field(line, "rate").parse().unwrap();
            assert!(rate > 0.0, "{line}");
            assert_ne!(field(line, "server_us_op"), "-", "{line}");
        }
    }
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

/// A server that answers wrongly: every ECHO_RES carries another sequence number than its
/// request, and every SUBMIT_JOB gets the same job handle. Workers are never answered.
fn start_liar() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || lie(conn));
        }
    });
    addr
}

fn lie(mut conn: TcpStream) {
    let mut head = [0u8; 12];
    while conn.read_exact(&mut head).is_ok() {
        let kind = u32::from_be_bytes(head[4..8].try_into().unwrap());
        let len = u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len];
        if conn.read_exact(&mut body).is_err() {
            return;
        }
        let reply = match kind {
            16 => {
                body[7] ^= 1; // ECHO_REQ: the payload's sequence number, changed
                (17, body)
            }
            7 => (8, b"H:liar:1".to_vec()), // SUBMIT_JOB: JOB_CREATED, always the same handle
            _ => continue,
        };
        let mut packet = b"\0RES".to_vec();
        packet.extend_from_slice(&u32::to_be_bytes(reply.0));
        packet.extend_from_slice(&(reply.1.len() as u32).to_be_bytes());
        packet.extend_from_slice(&reply.1);
        if conn.write_all(&packet).is_err() {
            return;
        }
    }
}

#[test]
fn wrong_answers_fail_the_run_with_either_driver() {
    let addr = start_liar();
    for driver in DRIVERS {
        for (scenario, why) in [
            ("echo", "echo reply does not match the request"),
            ("fg-16x8x8", "duplicate job handle"),
        ] {
            let out = run(&addr, 0, scenario, driver);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{scenario} {driver} passed a liar");
            assert!(stderr.contains(why), "{scenario} {driver}: {stderr}");
        }
    }
}
