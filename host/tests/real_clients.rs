//! Real Gearman clients against C gearmand and ours: Debian's `gearman` (client and worker mode)
//! and `gearadmin`, Perl Gearman::Client / Gearman::Worker, PHP's gearman extension, Python's
//! pygearman and Node's `gearman` package (scripts in `tests/clients/`), and libgearman's C API
//! from threads (the benchmark's `slap.c`, built here with gcc). Each expects exactly the
//! outcome C gearmand gives, except the `*_without_exceptions_sees_a_failure` tests: a worker's
//! WORK_EXCEPTION reaching a client that did not turn exceptions on, where each library fails on
//! C's WORK_FAIL `handle\0` and gets a clean failure from ours (D20). A missing client skips
//! loudly, or fails when CI is set.

#[macro_use]
mod common;
#[path = "common/libs.rs"]
mod libs;
#[path = "common/ops.rs"]
mod ops;
use common::server::run_with_timeout;
use common::*;
use libs::{clients_dir, probe, Lib};
use ops::{Behaviour, Worker};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// A helper process (a worker) killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[&str]) -> Proc {
    let child = Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    Proc(child)
}

/// The `gearman` tool as a worker for `rev` (it pipes each job through `rev`), registered.
fn cli_rev_worker(s: &Server) -> Proc {
    let port = s.port().to_string();
    let args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-w",
        "-f",
        "rev",
        "--",
        "rev",
    ];
    let w = spawn("gearman", &args);
    await_workers(s, "rev", 1);
    w
}

/// Run a client to completion; assert exit 0; return stdout.
#[track_caller]
fn run_ok(program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(clients_dir());
    let (st, out, err) = run_with_timeout(cmd, CLIENT_TIMEOUT);
    assert!(
        st.success(),
        "{program} {args:?} failed ({st}); stdout {out:?} stderr {err:?}"
    );
    out
}

/// Wait until `func` has `n` registered workers.
fn await_workers(s: &Server, func: &str, n: usize) {
    let mut a = s.connect();
    wait_for(
        &format!("{n} worker(s) for {func}"),
        Duration::from_secs(20),
        || {
            sorted_lines(&a.admin_list("status")).iter().any(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                f[0] == func && f[3].parse::<usize>().unwrap_or(0) >= n
            })
        },
    );
}

both!(gearman_cli_worker_and_client, |kind| {
    if skip_unless(
        have_program("gearman"),
        "the `gearman` tool (Debian gearman-tools)",
    ) {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = cli_rev_worker(&s);
    let g = |args: &[&str]| {
        let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-f", "rev"];
        all.extend_from_slice(args);
        run_ok("gearman", &all)
    };
    assert_eq!(g(&["hello"]), "olleh");
    assert_eq!(g(&["-P", "abc"]), "rev: cba");
    assert_eq!(g(&["-I", "-u", "myuniq", "hi"]), "ih");
    assert_eq!(g(&["-L", "low"]), "wol");
    assert_eq!(g(&["-b", "bg"]), "");
    // The background job is done by the worker eventually.
    let mut a = s.connect();
    wait_for(
        "the background job to finish",
        Duration::from_secs(20),
        || a.admin_list("status") == "rev\t0\t0\t1\n.\n",
    );
});

both!(gearadmin_commands, |kind| {
    if skip_unless(
        have_program("gearadmin"),
        "the `gearadmin` tool (Debian gearman-tools)",
    ) {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let mut w = s.connect();
    w.send(ptype::SET_CLIENT_ID, &[b"wid"]);
    w.send(ptype::CAN_DO, &[b"rev"]);
    w.sync();
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_HIGH_BG, &[b"nobody", b"uq", b"d"], &h(1));
    let ga = |args: &[&str]| {
        let mut cmd = Command::new("gearadmin");
        cmd.args(["-h", "127.0.0.1", "-p", &port]).args(args);
        let (st, out, err) = run_with_timeout(cmd, CLIENT_TIMEOUT);
        assert!(st.success(), "gearadmin {args:?}: {st} {err:?}");
        (out, err)
    };
    assert_eq!(
        sorted_lines(&ga(&["--status"]).0),
        ["nobody\t1\t0\t0", "rev\t0\t0\t1"]
    );
    assert_eq!(
        sorted_lines(&ga(&["--priority-status"]).0),
        ["nobody\t1\t0\t0\t0", "rev\t0\t0\t0\t1"]
    );
    let workers = normalised_workers(&ga(&["--workers"]).0);
    assert_eq!(
        workers,
        [
            "FD 127.0.0.1 - :",
            "FD 127.0.0.1 - :",
            "FD 127.0.0.1 wid : rev"
        ]
    );
    assert_eq!(ga(&["--getpid"]).0, format!("{}\n", s.pid()));
    let version = ga(&["--server-version"]).0;
    match kind {
        Kind::C => assert_eq!(version, "1.1.20+ds\n"),
        Kind::Ours => assert!(version.ends_with('\n') && version.len() > 1, "{version:?}"),
    }
    assert_eq!(ga(&["--show-jobs"]).0, "T:1\t0\t0\t1\n.\n");
    assert_eq!(ga(&["--show-unique-jobs"]).0, "uq\n.\n");
    assert_eq!(ga(&["--create-function", "newf"]).0, "OK\n");
    assert!(ga(&["--status"]).0.contains("newf\t0\t0\t0\n"));
    assert_eq!(ga(&["--drop-function", "newf"]).0, "OK\n");
    assert!(!ga(&["--status"]).0.contains("newf"));
    assert_eq!(
        ga(&["--drop-function", "nosuch"]),
        (String::new(), "Error: function not found\r\n".into())
    );
    assert_eq!(
        ga(&["--cancel-job", "T:99"]),
        (String::new(), "Error: UNKNOWN_JOB\r\n".into())
    );
    assert_eq!(ga(&["--cancel-job", "T:1"]).0, "OK\n");
});

both!(perl_client_and_worker, |kind| {
    if Lib::Perl.skip() {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = spawn("perl", &["perl_worker.pl", &port, "1000"]);
    await_workers(&s, "rev", 1);
    let out = run_ok("perl", &["perl_client.pl", &port]);
    assert_eq!(
        out,
        "do_task: olleh\ndo_task high uniq: euqinu\ndo_task fail: undef\ntask set: cba,ed,f\n\
         background handle: yes\nstatus: known=1 running=0\n"
    );
});

both!(php_client_and_worker, |kind| {
    if Lib::Php.skip() {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = spawn("php", &["php_worker.php", &port, "1000"]);
    await_workers(&s, "rev", 1);
    let out = run_ok("php", &["php_client.php", &port]);
    assert_eq!(
        out,
        "doNormal: olleh ok\ndoHigh: hgih ok\ndoLow: wol ok\nfail: WORK_FAIL\n\
         doBackground: handle ok\njobStatus: [true,false,0,0]\nping: yes\n"
    );
});

both!(python_client_and_worker, |kind| {
    if Lib::Python.skip() {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = spawn("python3", &["python_worker.py", &port]);
    await_workers(&s, "rev", 1);
    let out = run_ok("python3", &["python_client.py", &port]);
    assert_eq!(
        out,
        "submit: olleh COMPLETE True\nhigh: hgih COMPLETE\nlow: wol COMPLETE\nmultiple: cba,ed,f\n\
         background: CREATED True False\nfail: FAILED\n"
    );
});

both!(node_client_and_worker, |kind| {
    if Lib::Node.skip() {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = spawn("node", &["node/worker.js", &port]);
    await_workers(&s, "rev", 1);
    let out = run_ok("node", &["node/client.js", &port]);
    assert_eq!(
        out,
        "normal: WORK_COMPLETE olleh\nhigh: WORK_COMPLETE hgih\nlow: WORK_COMPLETE wol\n\
         fail: WORK_FAIL\nbackground: STATUS_RES known=1 running=0\necho: ECHO_RES ping\n"
    );
});

both!(perl_client_with_gearman_cli_worker, |kind| {
    let have = probe("perl", &["-MGearman::Client", "-e1"]) && have_program("gearman");
    if skip_unless(have, "Perl Gearman::Client and the `gearman` tool") {
        return;
    }
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let _w = cli_rev_worker(&s);
    let script = format!(
        "use Gearman::Client; my $c = Gearman::Client->new(job_servers => ['127.0.0.1:{port}']); \
         print ${{ $c->do_task(rev => 'cross') }};"
    );
    assert_eq!(run_ok("perl", &["-e", &script]), "ssorc");
});

/// contrib/bench/libgearman/slap.c, built once per test run with gcc against libgearman-dev.
fn slap() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let header = std::path::Path::new("/usr/include/libgearman-1.0/gearman.h");
            if !header.exists() || !have_program("gcc") {
                return None;
            }
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gearmand-slap");
            let source = root.join("contrib/bench/libgearman/slap.c");
            let (o, s) = (out.to_str().unwrap(), source.to_str().unwrap());
            run_ok(
                "gcc",
                &[
                    "-O2",
                    "-Wall",
                    "-Werror",
                    "-o",
                    o,
                    s,
                    "-lgearman",
                    "-lpthread",
                ],
            );
            Some(out)
        })
        .clone()
}

both!(libgearman_threads_with_tasks_in_flight, |kind| {
    // libgearman's C API from threads: 3 clients with 4 tasks per gearman_client_run_tasks
    // and 2 workers in gearman_worker_work; slap exits 1 if any result is missing or wrong.
    let Some(slap) = slap() else {
        skip_unless(false, "gcc and libgearman-dev (Debian), to build slap.c");
        return;
    };
    let s = start(kind, &[]);
    let port = s.port().to_string();
    let args = [
        "--port",
        &port,
        "--clients",
        "3",
        "--workers",
        "2",
        "--inflight",
        "4",
        "--seconds",
        "1",
    ];
    let out = run_ok(slap.to_str().unwrap(), &args);
    assert!(out.contains(" failures=0"), "{out}");
    let jobs: u64 = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("jobs="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no jobs= in {out:?}"));
    assert!(
        jobs >= 4,
        "no batch completed in the measured second: {out}"
    );
});

/// D20: `lib`'s client (the matrix script, without exceptions) runs job `boom` while a worker
/// that sends WORK_EXCEPTION serves it; ours must give a clean failure, C its D20 failure.
fn plain_client_sees_failure(s: &Server, lib: Lib) {
    await_workers(s, "boom", 1);
    let timeout = lib.exception_as_fail_timeout(s.kind);
    let ran = lib.run(s.port(), "job", "boom", "plain", timeout);
    let want = lib.exception_as_fail(s.kind);
    assert!(
        ran.is(&want),
        "{lib:?} on {:?}: got {ran:?}, want {want:?}",
        s.kind
    );
}

both!(perl_client_without_exceptions_sees_a_failure, |kind| {
    if Lib::Perl.skip() {
        return;
    }
    let s = start(kind, &[]);
    // Gearman::Worker's function dies: it sends WORK_EXCEPTION, then WORK_FAIL.
    let _w = spawn("perl", &["perl_worker.pl", &s.port().to_string(), "1"]);
    plain_client_sees_failure(&s, Lib::Perl);
});

both!(node_client_without_exceptions_sees_a_failure, |kind| {
    if Lib::Node.skip() {
        return;
    }
    let s = start(kind, &[]);
    let _w = spawn("node", &["node/worker.js", &s.port().to_string()]);
    plain_client_sees_failure(&s, Lib::Node);
});

both!(php_client_without_exceptions_sees_a_failure, |kind| {
    if Lib::Php.skip() {
        return;
    }
    let s = start(kind, &[]);
    let _w = spawn("php", &["php_worker.php", &s.port().to_string(), "1"]);
    plain_client_sees_failure(&s, Lib::Php);
});

both!(python_client_without_exceptions_sees_a_failure, |kind| {
    if Lib::Python.skip() {
        return;
    }
    let s = start(kind, &[]);
    // pygearman's worker cannot raise WORK_EXCEPTION (an exception there is a WORK_FAIL).
    let _w = Worker::start(s.port(), "thrower", &["boom"], Behaviour::Exception);
    plain_client_sees_failure(&s, Lib::Python);
});

both!(gearman_cli_without_exceptions_sees_a_failure, |kind| {
    if Lib::Cli.skip() {
        return;
    }
    let s = start(kind, &[]);
    // The tool's worker cannot send WORK_EXCEPTION either.
    let _w = Worker::start(s.port(), "thrower", &["boom"], Behaviour::Exception);
    plain_client_sees_failure(&s, Lib::Cli);
});
