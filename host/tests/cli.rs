//! The command line (docs/cli.md, issue 2): --help with plugin options grouped, -V, --check-args,
//! error exits (one line, exit 1), --verbose and -v (D21), -j range (D5), config files, and size
//! limits a request frame cannot hold (issue 17). Where C gearmand behaves the same the test runs
//! against both; our deliberate differences (D5, D17, D21) run against ours only. Plugin loading
//! errors are tested in `plugin_loader.rs`.

#[macro_use]
mod common;
use common::server::{our_binary, run_with_timeout, spawn_listening, C_GEARMAND};
use common::*;
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

fn binary(kind: Kind) -> &'static str {
    match kind {
        Kind::Ours => our_binary(),
        Kind::C => C_GEARMAND,
    }
}

/// Run the server binary of `kind` with `args` to completion: (exit code, stdout, stderr).
fn run(kind: Kind, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(binary(kind));
    cmd.args(args);
    let (st, out, err): (ExitStatus, String, String) =
        run_with_timeout(cmd, Duration::from_secs(20));
    (
        st.code().expect("exited normally, not by a signal"),
        out,
        err,
    )
}

/// Assert an error exit: code 1 and a message on stderr (ours: exactly one line).
#[track_caller]
fn assert_error_exit(kind: Kind, args: &[&str], mention: &str) {
    let (code, _out, err) = run(kind, args);
    assert_eq!(code, 1, "{args:?} must exit 1; stderr {err:?}");
    assert!(
        err.contains(mention),
        "{args:?}: stderr {err:?} must mention {mention:?}"
    );
    if kind == Kind::Ours {
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line please: {err:?}"
        );
    }
}

both!(version_exits_0, |kind| {
    let (code, out, _) = run(kind, &["-V"]);
    assert_eq!(code, 0);
    assert!(out.contains("gearmand "), "{out:?}");
    let (code, out2, _) = run(kind, &["--version"]);
    assert_eq!((code, out2), (0, out));
});

both!(help_exits_0_and_lists_general_options, |kind| {
    let (code, out, _) = run(kind, &["--help"]);
    assert_eq!(code, 0);
    for opt in [
        "--backlog",
        "--job-retries",
        "--job-handle-prefix",
        "--queue-type",
        "--threads",
        "--worker-wakeup",
        "--round-robin",
        "--exceptions",
        "--verbose",
    ] {
        assert!(out.contains(opt), "--help lacks {opt}");
    }
});

both!(check_args_exits_0, |kind| {
    let (code, _, err) = run(
        kind,
        &["--check-args", "-p", "1", "-j", "3", "--exceptions"],
    );
    assert_eq!(code, 0, "{err}");
});

both!(unknown_option_exits_1, |kind| {
    assert_error_exit(kind, &["--bogus-option"], "--bogus-option");
    assert_error_exit(kind, &["-x"], "-x");
});

both!(positional_argument_exits_1, |kind| {
    assert_error_exit(kind, &["stray", "--check-args"], "stray");
});

both!(option_given_twice_exits_1, |kind| {
    assert_error_exit(kind, &["--check-args", "-p", "1", "--port", "2"], "port");
});

both!(bad_verbose_exits_1, |kind| {
    assert_error_exit(kind, &["--check-args", "--verbose", "LOUD"], "verbose");
});

both!(zero_hashtable_buckets_exits_1, |kind| {
    assert_error_exit(
        kind,
        &["--check-args", "--hashtable-buckets", "0"],
        "hashtable-buckets",
    );
});

both!(config_file_in_the_original_format, |kind| {
    let dir = TempDir::new("cfg");
    let path = dir.path().join("gearmand.conf");
    std::fs::write(
        &path,
        "--job-handle-prefix CF\n--exceptions # ignored words\n",
    )
    .unwrap();
    let s = Server::launch(kind, &["--config-file", path.to_str().unwrap()]);
    let mut c = s.connect();
    assert_eq!(submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"d"), b"CF:1");
    // The command line wins over the file.
    let s = Server::launch(
        kind,
        &[
            "--config-file",
            path.to_str().unwrap(),
            "--job-handle-prefix",
            "CL",
        ],
    );
    let mut c = s.connect();
    assert_eq!(submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"d"), b"CL:1");
});

both!(missing_explicit_config_file_exits_1, |kind| {
    let (code, _, _) = run(
        kind,
        &[
            "--check-args",
            "--config-file",
            "/nonexistent/gearmand.conf",
        ],
    );
    assert_eq!(code, 1);
});

#[test]
fn ours_config_file_in_toml() {
    let dir = TempDir::new("toml");
    let path = dir.path().join("gearmand.toml");
    std::fs::write(&path, "job-handle-prefix = \"TOML\"\nexceptions = true\n").unwrap();
    let s = Server::start(&["--config-file", path.to_str().unwrap()]);
    let mut c = s.connect();
    assert_eq!(
        submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"d"),
        b"TOML:1"
    );
}

/// D17: plugin options are listed grouped under the plugin's name.
#[test]
fn ours_help_groups_plugin_options() {
    let (code, out, _) = run(Kind::Ours, &["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--plugin-dir"),
        "--help lacks --plugin-dir:\n{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let port = lines
        .iter()
        .position(|l| l.contains("--port"))
        .expect("gear's --port is listed");
    let heading = lines[..port]
        .iter()
        .rev()
        .find(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty() && !l.starts_with("  "));
    let heading = heading.expect("a heading above --port").to_lowercase();
    assert!(
        heading.contains("gear"),
        "--port must be grouped under the gear plugin, got heading {heading:?}"
    );
}

/// D17: `--verbose` accepts lower case.
#[test]
fn ours_verbose_accepts_lower_case() {
    for level in ["info", "debug", "Warning", "FATAL"] {
        let (code, _, err) = run(Kind::Ours, &["--check-args", "--verbose", level]);
        assert_eq!(code, 0, "--verbose {level}: {err}");
    }
}

/// D5: `-j` accepts -1..=255 and refuses anything else at startup.
#[test]
fn ours_job_retries_range() {
    for ok in ["-1", "0", "1", "255"] {
        let (code, _, err) = run(Kind::Ours, &["--check-args", "-j", ok]);
        assert_eq!(code, 0, "-j {ok}: {err}");
    }
    for bad in ["256", "300", "-2", "x"] {
        assert_error_exit(Kind::Ours, &["--check-args", "-j", bad], "");
    }
}

#[test]
fn ours_unknown_queue_exits_1_with_one_line() {
    assert_error_exit(
        Kind::Ours,
        &["-p", "0", "-L", "127.0.0.1", "-q", "nosuchqueue"],
        "nosuchqueue",
    );
}

#[test]
fn ours_logs_every_listening_address() {
    let s = Server::start(&[]);
    let log = s.stderr();
    assert!(
        log.contains(&format!("listening on 127.0.0.1:{} (gear)", s.port())),
        "{log}"
    );
}

/// D17: module names are case-insensitive and accept the original's spellings as aliases.
#[test]
fn ours_module_names_and_aliases() {
    let queues = [
        "builtin",
        "BUILTIN",
        "libsqlite3",
        "LibSqlite3",
        "sqlite",
        "Postgres",
        "libpq",
        "postgres",
        "MySQL",
        "libdrizzle",
        "mysql",
        "libmemcached",
        "memcached",
        "libtokyocabinet",
        "tokyocabinet",
        "redis",
    ];
    for q in queues {
        let (code, _, err) = run(Kind::Ours, &["--check-args", "-q", q]);
        assert_eq!(code, 0, "-q {q}: {err}");
    }
    for r in ["http", "HTTP", "gear"] {
        let (code, _, err) = run(Kind::Ours, &["--check-args", "-r", r]);
        assert_eq!(code, 0, "-r {r}: {err}");
    }
    // An unknown name lists what is installed and where it looked.
    let (code, _, err) = run(Kind::Ours, &["--check-args", "-r", "nosuch"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("gear") && err.contains("http") && err.contains("looked in"),
        "{err}"
    );
}

/// D21, the 1.1.20 side: `-v` is not an option there (only the 1.0 man page lists it).
#[test]
fn c_refuses_dash_v() {
    if skip_unless(server::c_gearmand_available(), "C gearmand") {
        return;
    }
    assert_error_exit(Kind::C, &["--check-args", "-v"], "-v");
}

/// A server process of ours, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The admin `verbose` answer of our server started with exactly `-p 0 -L 127.0.0.1 -l stderr`
/// and `args` (no `--verbose`, which would conflict with `-v`).
fn verbose_reported(args: &[&str]) -> String {
    let mut cmd = Command::new(our_binary());
    cmd.args(["-p", "0", "-L", "127.0.0.1", "-l", "stderr"])
        .args(args);
    let (child, _log, port) = spawn_listening(cmd).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let _running = Running(child);
    Conn::connect(port).admin_line("verbose")
}

/// D21: each `-v` raises the level one step from ERROR, as the gearmand 1.0 man page says.
#[test]
fn ours_dash_v_raises_the_log_level() {
    // The port is read from the INFO line `listening on`: NOTICE and up show it.
    assert_eq!(verbose_reported(&["-vv"]), "OK NOTICE\n");
    assert_eq!(verbose_reported(&["-v", "-vvv"]), "OK DEBUG\n");
}

/// D21: `-v` and `--verbose` are one setting; both on one command line is an error.
#[test]
fn ours_dash_v_with_verbose_exits_1() {
    assert_error_exit(
        Kind::Ours,
        &["--check-args", "-v", "--verbose", "INFO"],
        "cannot be used with",
    );
}

/// `--help` lists `--check-args` and `-v`, and says which options are accepted but do nothing.
#[test]
fn ours_help_lists_check_args_dash_v_and_what_has_no_effect() {
    let (code, out, _) = run(Kind::Ours, &["--help"]);
    assert_eq!(code, 0);
    for opt in ["--check-args", "-v..."] {
        assert!(out.contains(opt), "--help lacks {opt}:\n{out}");
    }
    for opt in ["--hashtable-buckets", "--round-robin", "--coredump"] {
        let line = out.lines().find(|l| l.contains(opt)).unwrap();
        assert!(line.contains("no effect"), "{opt}: {line}");
    }
}

/// Issue 17: a size limit larger than a request frame can hold (argument offsets are u32) stops
/// the server at startup with one line and exit 1, before it listens.
#[test]
fn ours_limits_a_frame_cannot_hold_are_refused_at_startup() {
    let base = ["-p", "0", "-L", "127.0.0.1", "-l", "stderr"];
    let cases: [&[&str]; 3] = [
        &["--max-packet-size", "4G"],
        &["--max-packet-size", "4293918721"],
        &["-r", "http", "--http-port", "0", "--http-max-body", "4095M"],
    ];
    for extra in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let option = extra[extra.len() - 2];
        assert_error_exit(Kind::Ours, &args, option);
    }
}

/// Issue 17: the largest limits that do fit are accepted.
#[test]
fn ours_the_largest_limits_a_frame_holds_are_accepted() {
    for extra in [
        &["--max-packet-size", "4095M"][..],
        &["-r", "http", "--http-port", "0", "--http-max-body", "4094M"],
    ] {
        if let Err(e) = Server::try_start(extra) {
            panic!("{extra:?} refused: {e}");
        }
    }
}

/// The test-only `testfile` queue is not among what users see: cargo builds it beside the
/// binary, but not under a plugin's file name, so `--help` and the list of installed plugins
/// that an unknown `-q` prints leave it out. `target/debug` is laid out as `target/release`
/// (both come from one `cargo build --workspace`), so this is what a release build shows;
/// contrib/fresh-machine/check.sh checks a real release build the same way.
#[test]
fn ours_test_only_plugins_are_not_installed() {
    let dir = std::path::Path::new(our_binary()).parent().unwrap();
    let stale = dir.join("libgearmand_queue_testfile.so");
    let why = format!(
        "(is {} left there by an older build? remove it)",
        stale.display()
    );
    let (code, help, err) = run(Kind::Ours, &["--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        help.contains("--libsqlite3-db"),
        "no plugin options in --help:\n{help}"
    );
    assert!(
        !help.contains("testfile"),
        "testfile in --help {why}:\n{help}"
    );
    let (code, _, err) = run(Kind::Ours, &["--check-args", "-q", "nosuch"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("installed queue plugins: builtin, "), "{err}");
    assert!(err.contains("sqlite"), "{err}");
    assert!(!err.contains("testfile"), "testfile listed {why}: {err}");
    // Built all the same, for the tests that install it.
    assert!(
        dir.join("libgearmand_testonly_queue_testfile.so").exists(),
        "run `cargo build --workspace` first"
    );
}
