//! The suite against real plugins: the in-tree file-backed ones (testfile, sqlite) and postgres
//! (on 127.0.0.1:5432; build them first with `cargo build -p gearmand-queue-testfile
//! -p gearmand-queue-sqlite -p gearmand-queue-postgres`), the C example (built here with `make`),
//! and a deliberately broken C plugin that must fail. Plus the command-line tool's output format
//! and exit codes.

use gearmand_queue_conformance::{Config, Outcome, Report};
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Fewer jobs than the tool's default keeps the tests quick; the tool runs the full 10,000.
const JOBS: usize = 2_000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/debug/<file>` of the workspace, which must have been built by package `package`.
fn built(file: &str, package: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let path = target.join("debug").join(file);
    assert!(
        path.exists(),
        "{} is missing: build it first with cargo build -p {package}",
        path.display()
    );
    path
}

/// `target/debug/libgearmand_queue_<name>.so` of the workspace, which must have been built.
fn in_tree_plugin(name: &str) -> PathBuf {
    let file = format!("libgearmand_queue_{name}.so");
    built(&file, &format!("gearmand-queue-{name}"))
}

/// The test-only testfile queue installed in `dir` under its plugin file name (cargo builds it
/// under another name, so that no gearmand lists it; plugins/queue-testfile/Cargo.toml).
fn installed_testfile(dir: &Path) -> PathBuf {
    let src = built(
        "libgearmand_testonly_queue_testfile.so",
        "gearmand-queue-testfile",
    );
    let dst = dir.join("libgearmand_queue_testfile.so");
    std::fs::copy(src, &dst).unwrap();
    dst
}

/// Compiles a C plugin with cc against the ABI header alone.
fn build_c(dir: &Path, source: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("libgearmand_queue_{name}.so"));
    let status = Command::new("cc")
        .args([
            "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .arg("-fvisibility=hidden")
        .arg("-I")
        .arg(repo().join("plugin-api/include"))
        .arg("-o")
        .arg(&out)
        .arg(source)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {}", source.display());
    out
}

fn assert_passes(report: &Report) {
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.skipped(), 0, "{report}");
    assert!(report.passed() >= 30, "{report}");
}

fn reason<'a>(report: &'a Report, check: &str) -> &'a str {
    report
        .get(check)
        .unwrap_or_else(|| panic!("no {check} in\n{report}"))
        .reason()
}

#[test]
fn testfile_keeps_the_contract_and_keeps_both_duplicates() {
    let dir = TempDir::new().unwrap();
    let queue = dir.path().join("queue");
    let report = Config::new(installed_testfile(dir.path()))
        .option("testfile-path", queue.to_str().unwrap())
        .jobs(JOBS)
        .run();
    assert_passes(&report);
    assert!(
        reason(&report, "duplicate-add").starts_with("keeps both"),
        "{report}"
    );
}

#[test]
fn sqlite_keeps_the_contract_and_replaces_duplicates() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("queue.db");
    // With leading dashes, as on the server's command line.
    let report = Config::new(in_tree_plugin("sqlite"))
        .option("--libsqlite3-db", db.to_str().unwrap())
        .jobs(JOBS)
        .run();
    assert_passes(&report);
    assert!(
        reason(&report, "duplicate-add").starts_with("replaces"),
        "{report}"
    );
}

#[test]
fn sqlite_jobs_already_stored_are_left_alone() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("queue.db");
    let config = Config::new(in_tree_plugin("sqlite"))
        .option("libsqlite3-db", db.to_str().unwrap())
        .jobs(10);
    // A first run leaves nothing; seed the store with one job of "someone else" via the C
    // gearmand layout, then run again: it must be counted and still be there afterwards.
    assert_passes(&config.run());
    // With the SQLite the plugin embeds, so that no sqlite3 program is needed.
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute(
                "INSERT INTO gearman_queue VALUES ('mine','other',1,'x',0)",
                [],
            )
        })
        .expect("seed the store");
    let report = config.run();
    assert_passes(&report);
    assert!(
        reason(&report, "startup-replay").contains("held 1 jobs"),
        "{report}"
    );
    assert!(
        reason(&report, "left-as-found").contains("the 1 other jobs"),
        "{report}"
    );
}

#[test]
fn the_c_example_keeps_the_contract() {
    let dir = TempDir::new().unwrap();
    // With cc alone, so that a machine without make runs it too; contrib/plugin-examples.sh
    // builds the example with its Makefile.
    let source = repo().join("contrib/example-queue-plugin-c/cfile.c");
    let report = Config::new(build_c(dir.path(), &source, "cfile"))
        .option("cfile-path", dir.path().join("q").to_str().unwrap())
        .option("cfile-no-sync", "")
        .jobs(JOBS)
        .run();
    assert_passes(&report);
    assert!(
        reason(&report, "duplicate-add").starts_with("replaces"),
        "{report}"
    );
}

#[test]
fn a_plugin_that_stores_nothing_fails() {
    let dir = TempDir::new().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forgetful.c");
    let report = Config::new(build_c(dir.path(), &source, "forgetful"))
        .jobs(10)
        .run();
    assert!(!report.is_ok(), "{report}");
    for check in ["add-flush-replay", "done", "done-missing", "many-jobs"] {
        assert!(
            matches!(report.get(check), Some(Outcome::Fail(_))),
            "{check} should fail:\n{report}"
        );
    }
    assert!(
        reason(&report, "add-flush-replay").contains("3 missing"),
        "{report}"
    );
    assert!(
        reason(&report, "done-missing").contains("no such job"),
        "{report}"
    );
}

#[test]
fn files_that_are_not_queue_plugins_are_refused() {
    let dir = TempDir::new().unwrap();
    let misnamed = dir.path().join("queue.so");
    std::fs::write(&misnamed, b"x").unwrap();
    let report = Config::new(&misnamed).run();
    assert!(
        reason(&report, "load").contains("libgearmand_queue_<name>.so"),
        "{report}"
    );
    let garbage = dir.path().join("libgearmand_queue_garbage.so");
    std::fs::write(&garbage, b"not an ELF file").unwrap();
    let report = Config::new(&garbage).run();
    assert!(
        matches!(report.get("load"), Some(Outcome::Fail(_))),
        "{report}"
    );
    assert!(matches!(
        report.get("remaining checks"),
        Some(Outcome::Skip(_))
    ));
    assert_eq!(report.summary(), "0 passed, 1 failed");
}

#[test]
fn the_tool_prints_a_line_per_check_and_the_summary() {
    let dir = TempDir::new().unwrap();
    let tool = env!("CARGO_BIN_EXE_gearmand-queue-conformance");
    let plugin = installed_testfile(dir.path());
    let run = |args: &[&str]| {
        let out = Command::new(tool)
            .arg("--plugin")
            .arg(&plugin)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        (out.status.code(), stdout)
    };
    let queue = format!("testfile-path={}", dir.path().join("q").display());
    let (code, stdout) = run(&["--option", &queue, "--jobs", "100"]);
    assert_eq!(code, Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let (summary, checks) = lines.split_last().unwrap();
    assert!(checks.len() >= 30, "{stdout}");
    for line in checks {
        assert!(line.starts_with("PASS "), "{line}");
    }
    assert_eq!(*summary, format!("{} passed, 0 failed", checks.len()));
    // Without its required option the plugin cannot start: create fails, the rest is skipped.
    let (code, stdout) = run(&[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL create: "), "{stdout}");
    assert!(stdout.contains("--testfile-path is required"), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    // An option the plugin does not declare is reported, not ignored.
    let (code, stdout) = run(&["--option", "no-such-option=1"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("unknown option 'no-such-option'"),
        "{stdout}"
    );
}

/// Runs SQL on the test database with `psql`; false if the tool or the server is not there.
fn psql(sql: &str) -> bool {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-qc",
            sql,
        ])
        .output();
    matches!(out, Ok(o) if o.status.success())
}

#[test]
fn postgres_keeps_the_contract_and_refuses_duplicates_in_batches() {
    // C gearmand's table has `when_to_run INTEGER`, which cannot hold the suite's after-2038
    // times (the plugin refuses them); an operator's BIGINT table holds every one.
    let table = format!("gm_conformance_{}", std::process::id());
    let created = psql(&format!(
        "CREATE TABLE {table} (unique_key VARCHAR(64), function_name VARCHAR(255), \
         priority INTEGER, data BYTEA, when_to_run BIGINT, UNIQUE (unique_key, function_name))"
    ));
    if !created {
        eprintln!("SKIP: psql or PostgreSQL on 127.0.0.1:5432 not available");
        return;
    }
    let report = Config::new(in_tree_plugin("postgres"))
        .option("libpq-conninfo", "host=127.0.0.1 user=postgres dbname=test")
        .option("libpq-table", &table)
        .jobs(JOBS)
        .run();
    psql(&format!("DROP TABLE {table}"));
    assert_passes(&report);
    assert!(
        reason(&report, "duplicate-add").starts_with("refuses"),
        "{report}"
    );
    assert!(
        reason(&report, "batch-add").contains("refused job(s) [1, 3]"),
        "{report}"
    );
}
