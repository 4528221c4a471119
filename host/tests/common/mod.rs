//! Shared harness of the integration tests: start a server, talk to it, await conditions.
//!
//! Every test file does `mod common;` and uses what it needs, hence `allow(dead_code)`.
//! - [`server`]: start OUR binary (`Server::start`) or Debian's C gearmand (`Server::start_c`) on a
//!   free loopback port and kill it on drop.
//! - [`gear`]: a tiny raw gear client (`Conn`) that builds `\0REQ` frames and reads exactly one
//!   response packet or one admin reply, with timeouts.
//! - [`wait`]: poll a condition until a deadline instead of sleeping.
//! - [`differences`]: the one list of places where we deliberately differ from C gearmand 1.1.20.
//! - [`both!`]: declare one test body that runs against C gearmand and against ours.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod differences;
pub mod gear;
pub mod server;
pub mod wait;

pub use gear::{frame_res, Conn, Packet};
pub use gearmand_plugin_api::gear::ptype;
pub use server::{Kind, Server};
pub use wait::{eventually, wait_for};

/// True when running under CI (`CI` set to anything but empty/`false`/`0`): missing services fail.
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "false" || v == "0"),
        Err(_) => false,
    }
}

/// Skip the current test loudly when `what` is missing, or fail under CI.
/// Returns true when the caller must return early.
pub fn skip_unless(available: bool, what: &str) -> bool {
    if available {
        return false;
    }
    if in_ci() {
        panic!("required for this test but missing under CI: {what}");
    }
    eprintln!("\n******** SKIP: {what} is not available (CI unset, so skipping) ********\n");
    true
}

/// Whether an executable exists at `path` or on `PATH`.
pub fn have_program(name: &str) -> bool {
    if name.contains('/') {
        return std::path::Path::new(name).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Runs our binary with `args` and `--check-args`, asserts that it refuses them, and returns
/// what it printed on stderr.
pub fn check_args_refused(args: &[&str]) -> String {
    let out = std::process::Command::new(server::our_binary())
        .args(args)
        .arg("--check-args")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} accepted; stderr {err:?}");
    err
}

/// A fresh scratch directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "gearmand-test-{}-{}-{}",
            tag,
            std::process::id(),
            n
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Declares (use with `#[macro_use] mod common;`) `mod $name { #[test] fn c() ; #[test] fn ours() }` running `$body(kind)` against
/// Debian's C gearmand and against our binary. Use it for behaviour both servers share.
/// The C variant skips loudly when /usr/sbin/gearmand is missing (fails under CI).
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn c() {
                if crate::common::skip_unless(
                    crate::common::server::c_gearmand_available(),
                    "C gearmand (/usr/sbin/gearmand, Debian gearman-job-server)",
                ) {
                    return;
                }
                let f: fn(crate::common::Kind) = $body;
                f(crate::common::Kind::C)
            }
            #[test]
            fn ours() {
                let f: fn(crate::common::Kind) = $body;
                f(crate::common::Kind::Ours)
            }
        }
    };
}

/// The job handle prefix every protocol test passes (`--job-handle-prefix T`), so handles are
/// `T:1`, `T:2`, ... on both servers.
pub const PREFIX: &str = "T";

/// Start the server of `kind` with `--job-handle-prefix T` plus `extra`.
pub fn start(kind: Kind, extra: &[&str]) -> Server {
    let mut args = vec!["--job-handle-prefix", PREFIX];
    args.extend_from_slice(extra);
    Server::launch(kind, &args)
}

/// The handle of the `n`th new job of a server started by [`start`].
pub fn h(n: u32) -> Vec<u8> {
    format!("{PREFIX}:{n}").into_bytes()
}

/// Split an admin list reply into its lines (without the final `.`), sorted, asserting the
/// terminator; for replies whose order is not specified.
#[track_caller]
pub fn sorted_lines(reply: &str) -> Vec<String> {
    assert!(
        reply.ends_with(".\n"),
        "list reply not terminated by `.`: {reply:?}"
    );
    let body = &reply[..reply.len() - 2];
    let mut v: Vec<String> = body.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// `workers` reply with the fd column replaced by `FD`, sorted (fd values and order are free).
#[track_caller]
pub fn normalised_workers(reply: &str) -> Vec<String> {
    let mut v: Vec<String> = sorted_lines(reply)
        .into_iter()
        .map(|l| match l.split_once(' ') {
            Some((fd, rest)) => {
                assert!(
                    fd.parse::<u64>().is_ok(),
                    "workers line must start with a number: {l:?}"
                );
                format!("FD {rest}")
            }
            None => l,
        })
        .collect();
    v.sort();
    v
}

/// A connection that registered `funcs` (CAN_DO each, in order) and whose registrations the server
/// has processed.
pub fn worker(s: &Server, funcs: &[&str]) -> Conn {
    let mut w = s.connect();
    for f in funcs {
        w.send(ptype::CAN_DO, &[f.as_bytes()]);
    }
    w.sync();
    w
}

/// Submit a job on `c` and return the handle from JOB_CREATED.
#[track_caller]
pub fn submit(c: &mut Conn, kind: u32, func: &str, unique: &str, data: &[u8]) -> Vec<u8> {
    c.send(kind, &[func.as_bytes(), unique.as_bytes(), data]);
    let p = c.recv();
    assert_eq!(
        p.ptype,
        ptype::JOB_CREATED,
        "expected JOB_CREATED, got {p:?}"
    );
    p.body
}
