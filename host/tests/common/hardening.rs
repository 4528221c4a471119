//! Helpers of the hardening tests (tls.rs, limits.rs, hostile.rs, spin.rs), next to the shared
//! harness:
//! - [`Certs`]: a throw-away PKI made with the `openssl` CLI (CA, server, client, expired client,
//!   client of an unknown CA);
//! - [`SClient`]: `openssl s_client` as a gear connection over TLS (packets in, packets out);
//! - [`rss_kib`], [`cpu_ticks`] and [`open_fds`]: what a server process holds and used, from
//!   /proc;
//! - [`parse_packet`]: one `\0RES` packet from a byte buffer.
//!
//! Include with `#[path = "common/hardening.rs"] mod hardening;` after `mod common;`.
#![allow(dead_code)]

use crate::common::gear::{frame_req, Packet};
use crate::common::TempDir;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Runs `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1/localhost, and client certificates: good, expired,
/// and one signed by a CA the server does not know. EC P-256 keys (fast to make).
pub struct Certs {
    pub dir: TempDir,
}

/// The subject of [`Certs::client`] as the server reports it.
pub const CLIENT_SUBJECT: &str = "CN=worker-1,O=Gear Test";

impl Certs {
    pub fn make() -> Certs {
        let dir = TempDir::new("certs");
        let d = dir.path();
        std::fs::write(
            d.join("server.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("client.ext"),
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        for ca in ["ca", "other-ca"] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                    "-days",
                    "30",
                    "-subj",
                    &format!("/CN={ca}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        let leaf = |name: &str, subj: &str, ca: &str, days: &str, ext: &str| {
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    subj,
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    days,
                    "-extfile",
                    ext,
                ],
            );
        };
        leaf("server", "/CN=localhost", "ca", "30", "server.ext");
        leaf(
            "client",
            "/CN=worker-1/O=Gear Test",
            "ca",
            "30",
            "client.ext",
        );
        leaf(
            "intruder",
            "/CN=worker-1/O=Gear Test",
            "other-ca",
            "30",
            "client.ext",
        );
        leaf("reader", "/CN=reader/O=Gear Test", "ca", "30", "client.ext");
        // -days -1: notAfter lies a day before notBefore, i.e. already expired.
        leaf("expired", "/CN=expired", "ca", "-1", "client.ext");
        Certs { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `--ssl --ssl-certificate .. --ssl-key ..` (+ `--ssl-ca-file` when `require_client`).
    pub fn server_args(&self, require_client: bool) -> Vec<String> {
        let mut v = vec![
            "--ssl".to_string(),
            "--ssl-certificate".into(),
            self.arg("server.pem"),
            "--ssl-key".into(),
            self.arg("server.key"),
        ];
        if require_client {
            v.push("--ssl-ca-file".into());
            v.push(self.arg("ca.pem"));
        }
        v
    }
}

/// `openssl s_client` used as a TLS gear connection. Killed on drop.
pub struct SClient {
    child: Child,
    out: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    closed: bool,
}

impl SClient {
    /// Connects to `port`, verifying the server against the CA of `certs`, presenting the
    /// client certificate `client` (`"client"`, `"expired"`, ...) if given.
    pub fn connect(port: u16, certs: &Certs, client: Option<&str>) -> SClient {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-quiet", "-nocommands", "-verify_quiet"])
            .args(["-connect", &format!("127.0.0.1:{port}")])
            .args(["-CAfile", &certs.arg("ca.pem")]);
        if let Some(name) = client {
            cmd.args(["-cert", &certs.arg(&format!("{name}.pem"))])
                .args(["-key", &certs.arg(&format!("{name}.key"))]);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn openssl s_client");
        let mut stdout = child.stdout.take().unwrap();
        let (tx, out) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        SClient {
            child,
            out,
            pending: Vec::new(),
            closed: false,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        // A refused connection makes s_client exit: the write may fail, the reads will say so.
        let _ = stdin.write_all(bytes).and_then(|()| stdin.flush());
    }

    pub fn send(&mut self, ptype: u32, args: &[&[u8]]) {
        self.send_raw(&frame_req(ptype, args));
    }

    /// Waits for more output until `deadline`; false once s_client's stdout closed or time ran out.
    fn fill(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.out.recv_timeout(left) {
            Ok(b) => {
                self.pending.extend_from_slice(&b);
                true
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                self.closed = true;
                false
            }
            Err(_) => false,
        }
    }

    /// One packet within `timeout`, or `None`.
    pub fn try_recv(&mut self, timeout: Duration) -> Option<Packet> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((p, used)) = parse_packet(&self.pending) {
                self.pending.drain(..used);
                return Some(p);
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }

    #[track_caller]
    pub fn recv(&mut self) -> Packet {
        self.try_recv(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no packet over TLS (pending {:?})", self.pending))
    }

    /// A text line (admin reply) within 10 s.
    #[track_caller]
    pub fn line(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.pending.drain(..=nl).collect();
                return String::from_utf8_lossy(&l).into_owned();
            }
            assert!(self.fill(deadline), "no line over TLS");
        }
    }

    /// True if the connection ends (s_client exits or closes stdout) within `timeout` without
    /// delivering a packet.
    pub fn ends_without_reply(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.closed {
            if !self.fill(deadline) && !self.closed {
                return false;
            }
        }
        parse_packet(&self.pending).is_none()
    }
}

impl Drop for SClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first whole packet in `buf` and the bytes it took.
pub fn parse_packet(buf: &[u8]) -> Option<(Packet, usize)> {
    if buf.len() < 12 {
        return None;
    }
    let len = u32::from_be_bytes(buf[8..12].try_into().unwrap()) as usize;
    if buf.len() < 12 + len {
        return None;
    }
    Some((
        Packet {
            magic: buf[0..4].try_into().unwrap(),
            ptype: u32::from_be_bytes(buf[4..8].try_into().unwrap()),
            body: buf[12..12 + len].to_vec(),
        },
        12 + len,
    ))
}

/// Resident memory of process `pid` in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// CPU ticks (user + system) the process used so far.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Open descriptors of process `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// How many times `needle` occurs in the server log.
pub fn count_in(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}
