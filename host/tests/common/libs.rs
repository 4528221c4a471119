//! The real client libraries of `tests/clients/` as one enum, for `client_matrix.rs` and
//! `real_clients.rs`: whether each is installed, and how to run its matrix script
//! (`perl_matrix.pl`, `php_matrix.php`, `python_matrix.py`, `node/matrix.js`) or the `gearman`
//! tool in one mode, with a deadline.
//!
//! Included with `#[path = "common/libs.rs"] mod libs;` beside `mod common;`.
//!
//! The scripts share one vocabulary (see their headers): `job FUNC plain|exceptions` prints
//! `created`, then `status N/D`, `data X`, `warning X` and one of `complete X`, `fail`,
//! `exception X`; `bg FUNC` prints `created HANDLE`; `status HANDLE` and `unique UNIQUE` print
//! `status known=K running=R N/D`; `option -` prints `option exceptions`; `echo TEXT` prints
//! `echo TEXT`; `error FUNC` prints `error CODE TEXT`; `work FUNC job|uniq|all` runs one job and
//! answers `h=HANDLE f=FUNC u=UNIQUE d=DATA`. `GEARMAN_TEST_TIMEOUT_MS` bounds each library call.

#![allow(dead_code)]

use crate::common::server::run_with_timeout;
use crate::common::{have_program, skip_unless, Kind};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a library run may take before the test gives up on it (beyond its own timeout).
const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// What a library call may take when it must answer (the scripts' own timeout).
pub const ANSWER_MS: u32 = 20_000;

/// A client library under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    /// Perl Gearman::Client / Gearman::Worker 2.004 (Debian libgearman-client-perl).
    Perl,
    /// PHP's gearman extension 2.1 on libgearman 1.1.20 (Debian php-gearman).
    Php,
    /// pygearman 0.2.6 (PyPI).
    Python,
    /// Node's `gearman` 2.1.0 (npm).
    Node,
    /// The `gearman` tool of Debian gearman-tools (libgearman 1.1.20).
    Cli,
}

pub const ALL: [Lib; 5] = [Lib::Perl, Lib::Php, Lib::Python, Lib::Node, Lib::Cli];

/// What a library run must report: exit status, exact stdout, and text stderr must contain
/// (None: stderr must be empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub ok: bool,
    pub out: &'static str,
    pub err: Option<&'static str>,
}

/// How a library run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub ok: bool,
    pub out: String,
    pub err: String,
}

pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Whether `program args` runs and exits 0 (a library probe).
pub fn probe(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Lib {
    /// Whether the library is installed.
    pub fn available(self) -> bool {
        match self {
            Lib::Perl => probe("perl", &["-MGearman::Client", "-MGearman::Worker", "-e1"]),
            Lib::Php => probe("php", &["-r", "exit(extension_loaded('gearman') ? 0 : 1);"]),
            Lib::Python => probe("python3", &["-c", "import gearman"]),
            Lib::Node => {
                have_program("node") && clients_dir().join("node/node_modules/gearman").exists()
            }
            Lib::Cli => have_program("gearman"),
        }
    }

    /// Skips loudly (fails under CI) when the library is missing; true when the caller returns.
    pub fn skip(self) -> bool {
        skip_unless(self.available(), &format!("the {self:?} client library"))
    }

    /// What `job FUNC plain` reports when the worker's WORK_EXCEPTION reaches it as WORK_FAIL of
    /// job T:1: from ours a clean failure; from 1.1.20, whose WORK_FAIL is `T:1\0` (D20), each
    /// library's own way of not finding the job (libgearman waits for its timeout).
    pub fn exception_as_fail(self, kind: Kind) -> Expect {
        let (ok, out, err) = match (kind, self) {
            (Kind::Ours, Lib::Cli) => (false, "", Some("Job failed\n")),
            (Kind::Ours, _) => (true, "created\nfail\n", None),
            (Kind::C, Lib::Perl) => (false, "created\n", Some("Got work_fail for unknown handle")),
            (Kind::C, Lib::Node) => (false, "created\n", Some(r#"unknown job "T:1\u0000""#)),
            (Kind::C, Lib::Python) => (false, "", Some(r"KeyError: b'T:1\x00'")),
            (Kind::C, Lib::Php) => (false, "created\n", Some("GEARMAN_TIMEOUT")),
            (Kind::C, Lib::Cli) => (true, "", Some("GEARMAN_TIMEOUT")),
        };
        Expect { ok, out, err }
    }

    /// The timeout for that run: short where 1.1.20 makes libgearman wait for it.
    pub fn exception_as_fail_timeout(self, kind: Kind) -> u32 {
        match (kind, self) {
            (Kind::C, Lib::Php | Lib::Cli) => 1000,
            _ => ANSWER_MS,
        }
    }

    /// Runs `MODE ARG [OPT]` against `port`, each library call bounded by `timeout_ms`.
    pub fn run(self, port: u16, mode: &str, arg: &str, opt: &str, timeout_ms: u32) -> Ran {
        let mut cmd = self.command(port, mode, arg, opt, timeout_ms);
        cmd.current_dir(clients_dir())
            .env("GEARMAN_TEST_TIMEOUT_MS", timeout_ms.to_string());
        let (st, out, err) = run_with_timeout(cmd, RUN_DEADLINE);
        Ran {
            ok: st.success(),
            out,
            err,
        }
    }

    fn command(self, port: u16, mode: &str, arg: &str, opt: &str, timeout_ms: u32) -> Command {
        let port = port.to_string();
        let (program, script) = match self {
            Lib::Perl => ("perl", "perl_matrix.pl"),
            Lib::Php => ("php", "php_matrix.php"),
            Lib::Python => ("python3", "python_matrix.py"),
            Lib::Node => ("node", "node/matrix.js"),
            Lib::Cli => return cli(&port, mode, arg, timeout_ms),
        };
        let mut cmd = Command::new(program);
        cmd.args([script, &port, mode, arg, opt]);
        cmd
    }
}

impl Ran {
    /// Whether the run reported what `e` says.
    pub fn is(&self, e: &Expect) -> bool {
        let err = match e.err {
            None => self.err.is_empty(),
            Some(text) => self.err.contains(text),
        };
        self.ok == e.ok && self.out == e.out && err
    }
}

/// The `gearman` tool for a matrix mode: `job`/`error` submit ARG with workload `in` (output
/// as the tool prints it), `bg` in the background, `work` does one job with `cat` (so it
/// answers the workload).
fn cli(port: &str, mode: &str, func: &str, timeout_ms: u32) -> Command {
    let mut cmd = Command::new("gearman");
    let t = timeout_ms.to_string();
    cmd.args(["-h", "127.0.0.1", "-p", port, "-t", &t, "-f", func]);
    match mode {
        "job" | "error" => cmd.arg("in"),
        "bg" => cmd.args(["-b", "in"]),
        "work" => cmd.args(["-w", "-c", "1", "--", "cat"]),
        _ => panic!("the gearman tool has no matrix mode {mode}"),
    };
    cmd
}
