//! Persistent queues when the backend misbehaves (issue 3), through the real server binary:
//! - a backend that goes away while the server runs (postgres, mysql, redis behind a proxy the
//!   test cuts; memcached killed and restarted): submits get an ERROR in bounded time, the server
//!   stays up, submits succeed again once the backend is back, acknowledged jobs are kept;
//! - a backend unreachable at startup: exit status 1 and one clear line;
//! - the sqlite plugin built out of tree against `plugin-api` only, loaded with `--plugin-dir`.

mod common;
#[macro_use]
#[path = "common/persist.rs"]
mod persist;

use common::server::{free_port, our_binary, run_with_timeout, OUR_TEST_ARGS};
use common::{ptype, TempDir};
use persist::*;
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// The longest a submit may wait for its ERROR while the backend is down.
const ERROR_BOUND: Duration = Duration::from_secs(30);

/// Submits `unique` in the background: `Ok(handle)` or `Err(error packet body)`.
fn try_submit(c: &mut common::Conn, unique: &str) -> Result<Vec<u8>, Vec<u8>> {
    let job = Job::new(ptype::SUBMIT_JOB_BG, b"out", unique.as_bytes(), b"d");
    c.send_raw(&submit_frame(&job));
    let p = c.recv();
    match p.ptype {
        ptype::JOB_CREATED => Ok(p.body),
        ptype::ERROR => Err(p.body),
        _ => panic!("submit {unique}: unexpected {p:?}"),
    }
}

fn outage(backend: Backend) {
    let Some(mut store) = Store::new(backend, "outage", Via::Proxy) else {
        return;
    };
    let s = store.start(&[]);
    let mut c = s.connect();
    let mut acked: Vec<String> = Vec::new();
    for i in 0..5 {
        let u = format!("before-{i}");
        try_submit(&mut c, &u).unwrap_or_else(|e| panic!("{u}: {e:?}"));
        acked.push(u);
    }

    store.backend_down();
    for i in 0..3 {
        let u = format!("during-{i}");
        let job = Job::new(ptype::SUBMIT_JOB_BG, b"out", u.as_bytes(), b"d");
        let t = Instant::now();
        c.send_raw(&submit_frame(&job));
        let p = reply_within(&mut c, ERROR_BOUND).unwrap_or_else(|e| {
            panic!("{backend:?} down: no reply to {u} in {ERROR_BOUND:?}: {e:?}")
        });
        assert_eq!(p.ptype, ptype::ERROR, "{backend:?} down: {u} got {p:?}");
        assert!(p.body.starts_with(b"QUEUE_ERROR\0"), "{p:?}");
        eprintln!(
            "OUTAGE {}: {u} refused after {:?}: {p:?}",
            backend.name(),
            t.elapsed()
        );
    }
    // The server stays up and keeps serving others.
    let mut other = s.connect();
    other.sync();
    // The log reaches us through a reader thread that may lag: await the line.
    common::wait::wait_for(
        "the log to say what failed",
        Duration::from_secs(10),
        || s.stderr().contains("queue refused a job"),
    );

    store.backend_up();
    let mut n = 0;
    let first = common::eventually(
        "a submit succeeds after the backend is back",
        Duration::from_secs(60),
        || {
            n += 1;
            let u = format!("after-{n}");
            try_submit(&mut c, &u).ok().map(|_| u)
        },
    );
    acked.push(first);
    for i in 0..5 {
        let u = format!("again-{i}");
        try_submit(&mut c, &u).unwrap_or_else(|e| panic!("{u} after recovery: {e:?}"));
        acked.push(u);
    }
    stop(s);

    // Memcached keeps nothing across its own restart: only jobs stored since then can survive.
    if backend == Backend::Memcached {
        acked.retain(|u| !u.starts_with("before-"));
    }
    let s = store.start(&[]);
    let mut w = worker(&s, &[b"out"]);
    let got = drain(&mut w, 1000);
    let names: HashSet<String> = got
        .iter()
        .map(|g| String::from_utf8_lossy(&g.unique).into_owned())
        .collect();
    for u in &acked {
        assert!(
            names.contains(u),
            "{backend:?}: acknowledged {u} lost; replayed {names:?}"
        );
    }
    assert!(
        !names.iter().any(|u| u.starts_with("during-")),
        "{backend:?}: a refused job was stored: {names:?}"
    );
    complete_all(&mut w, &got);
    stop(s);
}

#[test]
fn outage_postgres() {
    outage(Backend::Postgres)
}
#[test]
fn outage_mysql() {
    outage(Backend::Mysql)
}
#[test]
fn outage_redis() {
    outage(Backend::Redis)
}
#[test]
fn outage_memcached() {
    outage(Backend::Memcached)
}

/// Queue arguments pointing at nothing: a closed port, or a file in a missing directory.
fn unreachable_args(backend: Backend, dir: &TempDir) -> (Vec<String>, String) {
    let port = free_port().to_string();
    let missing = dir.path().join("no-such-dir").join("q");
    let missing = missing.to_str().unwrap();
    let (args, mention): (Vec<String>, String) = match backend {
        Backend::Sqlite => (
            vec!["--libsqlite3-db".into(), format!("{missing}.db")],
            missing.into(),
        ),
        Backend::Postgres => (
            vec![
                "--libpq-conninfo".into(),
                format!("host=127.0.0.1 port={port} user=postgres dbname=test"),
            ],
            port.clone(),
        ),
        Backend::Mysql => (
            [
                "--mysql-host",
                "127.0.0.1",
                "--mysql-port",
                &port,
                "--mysql-user",
                "root",
            ]
            .map(String::from)
            .to_vec(),
            port.clone(),
        ),
        Backend::Redis => (
            ["--redis-server", "127.0.0.1", "--redis-port", &port]
                .map(String::from)
                .to_vec(),
            port.clone(),
        ),
        Backend::Memcached => (
            vec!["--libmemcached-servers".into(), format!("127.0.0.1:{port}")],
            port.clone(),
        ),
        Backend::TokyoCabinet => (
            vec!["--libtokyocabinet-file".into(), format!("{missing}.tch")],
            missing.into(),
        ),
    };
    let mut all = vec!["-q".to_string(), backend.name().to_string()];
    all.extend(args);
    (all, mention)
}

/// Startup against an unreachable backend: exit 1, never listening, one line naming the
/// plugin and what it could not reach.
fn unreachable_at_startup(backend: Backend) {
    assert!(
        backend.plugin_file().exists(),
        "run `cargo build --workspace` first"
    );
    if backend.skip_without_library() {
        return;
    }
    let dir = TempDir::new("unreach");
    let (queue, mention) = unreachable_args(backend, &dir);
    let mut cmd = Command::new(our_binary());
    cmd.args(OUR_TEST_ARGS).args(&queue);
    let t = Instant::now();
    let (status, _out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(1),
        "{backend:?}: exit status; stderr:\n{err}"
    );
    assert!(
        !err.contains("listening on"),
        "{backend:?} listened anyway:\n{err}"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("gearmand: "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{backend:?}: want one `gearmand: ...` line:\n{err}"
    );
    let want = format!(
        "gearmand: queue plugin '{}' failed to start: ",
        backend.name()
    );
    assert!(lines[0].starts_with(&want), "{backend:?}: {:?}", lines[0]);
    assert!(
        lines[0].contains(&mention),
        "{backend:?}: no {mention:?} in {:?}",
        lines[0]
    );
    eprintln!(
        "UNREACHABLE {} ({:?}): {}",
        backend.name(),
        t.elapsed(),
        lines[0]
    );
}
per_backend!(unreachable_at_startup);

/// The workspace root (host/..).
fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The sqlite plugin's crate, copied to `dir` as a crate of its own workspace that depends on
/// `gearmand-plugin-api` by absolute path (and on nothing else of ours).
fn copy_out_of_tree(dir: &std::path::Path) {
    let src = workspace().join("plugins/queue-sqlite");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for e in std::fs::read_dir(src.join("src")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("src").join(e.file_name())).unwrap();
    }
    // The workspace's lock file pins the same dependency versions (no registry update needed).
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let api = workspace().join("plugin-api");
    let manifest = format!(
        r#"[package]
name = "gearmand-queue-sqlite"
version = "0.1.0-outoftree"
edition = "2021"

[workspace]

[lib]
name = "gearmand_queue_sqlite"
crate-type = ["cdylib"]

[dependencies]
gearmand-plugin-api = {{ path = "{}" }}
log = "0.4"
rusqlite = {{ version = "0.37", features = ["bundled"] }}
"#,
        api.display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
}

/// Builds the copied crate with its own target dir (kept under cargo's test tmp dir so a second
/// run is incremental); returns the built plugin file.
fn build_out_of_tree(dir: &std::path::Path) -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("oot-sqlite-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args(["build", "--quiet", "--target-dir"])
        .arg(&target);
    // Nothing of the outer build may leak in (its target dir, its package variables).
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("CARGO_") && k != "CARGO_HOME" && !k.starts_with("CARGO_NET") {
            cmd.env_remove(&k);
        }
    }
    let (status, _out, err) = run_with_timeout(cmd, Duration::from_secs(1200));
    assert!(status.success(), "out-of-tree build failed:\n{err}");
    target.join("debug/libgearmand_queue_sqlite.so")
}

/// The sqlite plugin built outside the workspace against `plugin-api` only, loaded with
/// `--plugin-dir` (which is searched first): jobs are stored, replayed and drained.
#[test]
fn sqlite_plugin_built_out_of_tree() {
    let work = TempDir::new("oot");
    let krate = work.path().join("crate");
    copy_out_of_tree(&krate);
    let so = build_out_of_tree(&krate);
    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&so, plugins.join("libgearmand_queue_sqlite.so")).unwrap();

    let db = work.path().join("q.db");
    let args = [
        "--plugin-dir",
        plugins.to_str().unwrap(),
        "--job-handle-prefix",
        PREFIX,
        "-q",
        "sqlite",
        "--libsqlite3-db",
        db.to_str().unwrap(),
    ];
    let s = common::Server::start(&args);
    assert!(
        s.stderr()
            .contains("queue plugin sqlite 0.1.0-outoftree started"),
        "the out-of-tree build was not the one loaded:\n{}",
        s.stderr()
    );
    let mut c = s.connect();
    for i in 0..3 {
        let u = format!("oot-{i}");
        submit(
            &mut c,
            &Job::new(ptype::SUBMIT_JOB_BG, b"oot", u.as_bytes(), b"data\0x"),
        );
    }
    stop(s);
    let s = common::Server::start(&args);
    assert_eq!(replayed(&s), 3, "{}", s.stderr());
    let mut w = worker(&s, &[b"oot"]);
    let got = drain(&mut w, 10);
    let mut uniques: Vec<_> = got.iter().map(|g| g.unique.clone()).collect();
    uniques.sort();
    assert_eq!(
        uniques,
        [b"oot-0".to_vec(), b"oot-1".to_vec(), b"oot-2".to_vec()]
    );
    assert!(got.iter().all(|g| g.data == b"data\0x"));
    complete_all(&mut w, &got);
    stop(s);
}
