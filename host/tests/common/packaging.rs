//! Helpers of the packaging tests (packaging.rs, debian_packages.rs), next to the shared
//! harness: the shipped plugin names, one job run through a server ([`serve_one_job`]),
//! `systemd-analyze verify` of a unit, and the option names of `--help` that the example config
//! and the man page must show.
//!
//! Include with `#[path = "common/packaging.rs"] mod packaging;` after `mod common;`.
#![allow(dead_code)]

use crate::common::server::run_with_timeout;
use crate::common::{have_program, ptype, skip_unless, Conn, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
pub const BIN: &str = env!("CARGO_BIN_EXE_gearmand");
pub const SHIPPED_PLUGINS: [&str; 7] = [
    "sqlite",
    "postgres",
    "mysql",
    "redis",
    "memcached",
    "tokyocabinet",
    "http",
];

pub fn repo(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// The workspace's plugins beside our binary (built by `cargo build --workspace`).
pub fn plugins_built() -> bool {
    let dir = Path::new(BIN).parent().unwrap();
    let all = [
        "libgearmand_protocol_gear.so",
        "libgearmand_protocol_http.so",
    ]
    .iter()
    .map(|f| dir.join(f))
    .chain(
        SHIPPED_PLUGINS[..6]
            .iter()
            .map(|p| dir.join(format!("libgearmand_queue_{p}.so"))),
    )
    .all(|f| f.exists());
    !skip_unless(
        all,
        "the workspace's plugins (run `cargo build --workspace`)",
    )
}

/// A worker and a client run one job through `port`: the server really serves.
pub fn serve_one_job(port: u16) {
    let mut worker = Conn::connect(port);
    worker.send(ptype::CAN_DO, &[b"reverse"]);
    worker.sync();
    let mut client = Conn::connect(port);
    client.send(ptype::SUBMIT_JOB, &[b"reverse", b"", b"abc"]);
    let created = client.recv();
    assert_eq!(created.ptype, ptype::JOB_CREATED, "{created:?}");
    worker.send(ptype::GRAB_JOB, &[]);
    let assigned = worker.recv();
    assert_eq!(assigned.ptype, ptype::JOB_ASSIGN, "{assigned:?}");
    assert_eq!(assigned.args()[2], b"abc");
    worker.send(ptype::WORK_COMPLETE, &[&created.body, b"cba"]);
    client.expect(ptype::WORK_COMPLETE, &[&created.body, b"cba"]);
}

/// (status success, stdout, stderr) of `bin args`.
pub fn run(bin: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    (status.success(), out, err)
}

/// `systemd-analyze verify` of `unit` with ExecStart pointing at `bin`; no warnings allowed.
pub fn verify_unit(unit: &Path, bin: &Path) {
    if skip_unless(have_program("systemd-analyze"), "systemd-analyze") {
        return;
    }
    let dir = TempDir::new("unit");
    let text = std::fs::read_to_string(unit).unwrap();
    let local = text.replace(
        "ExecStart=/usr/sbin/gearmand",
        &format!("ExecStart={}", bin.display()),
    );
    let copy = dir.path().join("gearmand.service");
    std::fs::write(&copy, local).unwrap();
    let (ok, out, err) = run(
        Path::new("systemd-analyze"),
        &["verify", copy.to_str().unwrap()],
    );
    assert!(ok && err.trim().is_empty(), "verify failed:\n{out}{err}");
}

/// Option names that begin a line of `--help`, per heading, except `skip_heading`'s.
pub fn primary_options(help: &str, skip_heading: &str) -> Vec<String> {
    let mut skipping = false;
    let mut out = Vec::new();
    for line in help.lines() {
        // Headings, the usage line and the about text are the lines not indented.
        if !line.is_empty() && !line.starts_with(' ') {
            skipping = line.starts_with(skip_heading);
            continue;
        }
        let t = line.trim_start();
        let t = t
            .get(4..)
            .filter(|_| t.starts_with('-') && t.get(2..4) == Some(", "))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("--").filter(|_| !skipping) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            out.push(name);
        }
    }
    out
}

/// Whether `text` has `--opt` as a whole option name (not the start of `--opt-more`).
pub fn mentions(text: &str, opt: &str) -> bool {
    let needle = format!("--{opt}");
    text.match_indices(&needle).any(|(i, _)| {
        let next = text[i + needle.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}
