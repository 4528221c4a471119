//! The plugin loader against real files: every way loading can fail has its own test, built from a
//! small C source with `cc -shared -fPIC` against `plugin-api/include/gearmand_plugin.h`, and the
//! in-tree `testfile` queue and `gear` protocol plugins load through the same path a third
//! party's would.
//!
//! Needs the plugins built first (the README's test command builds the workspace before testing):
//! `cargo build -p gearmand-queue-testfile -p gearmand-protocol-gear`.

use gearmand::config::Kind;
use gearmand::frame::Frame;
use gearmand::plugin::{search_path, PluginError, Registry};
use gearmand::queue::StoredJob;
use gearmand::runtime::wire::{Next, WireProtocol};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The ABI minor version the fixtures build with (`GM_ABI_MINOR` of the header).
const MINOR: u16 = gearmand_plugin_api::abi::ABI_MINOR;

#[path = "common/loader.rs"]
mod loader;
use loader::{install_built, install_testfile, opts, TempDir};

// ----- helpers --------------------------------------------------------------------------------

/// A C plugin fixture; `defines` tweak one aspect of an otherwise valid queue plugin.
const FIXTURE: &str = r#"
#include <string.h>
#include "gearmand_plugin.h"
#ifndef MAGIC
#define MAGIC GM_PLUGIN_MAGIC
#endif
#ifndef MAJOR
#define MAJOR GM_ABI_MAJOR
#endif
#ifndef MINOR
#define MINOR GM_ABI_MINOR
#endif
#ifndef KIND
#define KIND GM_KIND_QUEUE
#endif
#ifndef VTSIZE
#define VTSIZE sizeof(GmQueueVtable)
#endif
static GmStatus create(const GmHostApi *h, const GmOptionValue *o, size_t n, void **inst,
                       GmErrorBuf *err) {
    (void)h; (void)o; (void)n; (void)inst;
    const char *msg = "cannot reach the database at db.invalid:5432";
    size_t len = strlen(msg);
    if (len > err->cap) len = err->cap;
    memcpy(err->buf, msg, len);
    err->len = len;
    GmStatus s = { GM_ERROR };
    return s;
}
static GmStatus ok(void) { GmStatus s = { GM_OK }; return s; }
static GmStatus add(void *i, const GmQueueItem *it, GmErrorBuf *e) { (void)i; (void)it; (void)e; return ok(); }
static GmStatus flush(void *i, GmErrorBuf *e) { (void)i; (void)e; return ok(); }
static GmStatus done(void *i, GmSlice u, GmSlice f, GmErrorBuf *e) { (void)i; (void)u; (void)f; (void)e; return ok(); }
static GmStatus replay(void *i, GmReplayFn cb, void *c, GmErrorBuf *e) { (void)i; (void)cb; (void)c; (void)e; return ok(); }
static void destroy(void *i) { (void)i; }
static const GmQueueVtable vt = { create, add, flush, done, replay, destroy };
static const GmPluginHeader header = {
    MAGIC, MAJOR, MINOR, { KIND }, NAME, NULL, 0, "0.1", "loader test fixture", NULL, 0,
    &vt, VTSIZE
};
#ifndef NO_ENTRY
const GmPluginHeader *gearmand_plugin_entry(void) { return &header; }
#else
const GmPluginHeader *some_other_symbol(void) { return &header; }
#endif
"#;

/// Builds `libgearmand_queue_<name>.so` in `dir` from [`FIXTURE`] with extra `-D` defines.
fn build_fixture(dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, FIXTURE).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api/include");
    let out = dir.join(Kind::Queue.file_name(name));
    let mut cc = Command::new("cc");
    cc.args(["-shared", "-fPIC", "-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(format!("-DNAME=\"{name}\""));
    for d in defines {
        cc.arg(format!("-D{d}"));
    }
    let result = cc
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("`cc` must be installed");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

fn find_err(dir: &Path, kind: Kind, name: &str) -> PluginError {
    let reg = Registry::discover(&[dir.to_path_buf()]);
    reg.find(kind, name).expect_err("the lookup must fail")
}

/// Log records the host received, to prove plugin logging lands in the host's log.
static RECORDS: Mutex<Vec<(String, log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap()
            .push((r.target().to_string(), r.level(), r.args().to_string()));
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

// ----- failures -------------------------------------------------------------------------------

#[test]
fn unknown_name_lists_installed_plugins_and_searched_dirs() {
    let dir = TempDir::new("unknown");
    install_testfile(dir.path());
    let err = find_err(dir.path(), Kind::Queue, "nosuchqueue");
    assert!(matches!(err, PluginError::NotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("unknown queue plugin 'nosuchqueue'"), "{msg}");
    assert!(msg.contains("builtin, testfile"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn a_file_that_is_not_a_shared_object_is_refused() {
    let dir = TempDir::new("notso");
    std::fs::write(
        dir.path().join("libgearmand_queue_bogus.so"),
        "not a library\n",
    )
    .unwrap();
    let err = find_err(dir.path(), Kind::Queue, "bogus");
    assert!(matches!(err, PluginError::NotAPlugin { .. }), "{err:?}");
    assert!(
        err.to_string().contains("not a loadable shared object"),
        "{err}"
    );
    assert!(
        err.to_string().contains("libgearmand_queue_bogus.so"),
        "{err}"
    );
}

#[test]
fn a_shared_object_without_the_entry_symbol_is_refused() {
    let dir = TempDir::new("nosym");
    build_fixture(dir.path(), "nosym", &["NO_ENTRY"]);
    let err = find_err(dir.path(), Kind::Queue, "nosym");
    assert!(matches!(err, PluginError::NotAPlugin { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("missing symbol gearmand_plugin_entry"),
        "{err}"
    );
}

#[test]
fn a_wrong_magic_is_refused() {
    let dir = TempDir::new("magic");
    build_fixture(dir.path(), "magic", &["MAGIC=0x12345678u"]);
    let err = find_err(dir.path(), Kind::Queue, "magic");
    assert!(matches!(err, PluginError::NotAPlugin { .. }), "{err:?}");
    assert!(err.to_string().contains("bad magic 0x12345678"), "{err}");
}

#[test]
fn an_abi_major_mismatch_names_both_versions() {
    let dir = TempDir::new("major");
    build_fixture(dir.path(), "major", &["MAJOR=2"]);
    let err = find_err(dir.path(), Kind::Queue, "major");
    assert!(
        matches!(
            err,
            PluginError::AbiMismatch {
                plugin: (2, MINOR),
                host: (1, MINOR),
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    let (theirs, ours) = (format!("ABI 2.{MINOR}"), format!("ABI 1.{MINOR}"));
    assert!(msg.contains(&theirs) && msg.contains(&ours), "{msg}");
}

#[test]
fn a_newer_abi_minor_is_refused() {
    let dir = TempDir::new("minor");
    build_fixture(dir.path(), "minor", &["MINOR=7"]);
    let err = find_err(dir.path(), Kind::Queue, "minor");
    assert!(
        matches!(err, PluginError::AbiMismatch { plugin: (1, 7), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("ABI 1.7"), "{err}");
}

#[test]
fn a_plugin_of_the_wrong_kind_is_refused() {
    let dir = TempDir::new("kind");
    build_fixture(dir.path(), "kind", &["KIND=GM_KIND_PROTOCOL"]);
    let err = find_err(dir.path(), Kind::Queue, "kind");
    assert!(
        matches!(
            err,
            PluginError::WrongKind {
                expected: Kind::Queue,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("declares itself a protocol plugin"),
        "{err}"
    );
}

#[test]
fn a_too_small_vtable_is_refused() {
    let dir = TempDir::new("vtable");
    build_fixture(dir.path(), "vtable", &["VTSIZE=8"]);
    let err = find_err(dir.path(), Kind::Queue, "vtable");
    assert!(
        matches!(
            err,
            PluginError::BadVtable {
                size: 8,
                needed: 48,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_failing_init_reports_the_plugins_own_message() {
    let dir = TempDir::new("init");
    build_fixture(dir.path(), "initfail", &[]);
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let meta = reg.find(Kind::Queue, "initfail").unwrap();
    let err = meta.create_queue(&[]).err().expect("create must fail");
    assert!(matches!(err, PluginError::InitFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "queue plugin 'initfail' failed to start: cannot reach the database at db.invalid:5432"
    );
}

#[test]
fn a_failing_rust_init_reports_the_plugins_own_message() {
    let dir = TempDir::new("rustinit");
    install_testfile(dir.path());
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let err = reg
        .find(Kind::Queue, "testfile")
        .unwrap()
        .create_queue(&[])
        .err()
        .expect("create must fail without --testfile-path");
    assert_eq!(
        err.to_string(),
        "queue plugin 'testfile' failed to start: testfile: option --testfile-path is required"
    );
}

#[test]
fn failures_do_not_hide_other_plugins() {
    let dir = TempDir::new("mixed");
    std::fs::write(dir.path().join("libgearmand_queue_bogus.so"), "junk").unwrap();
    install_testfile(dir.path());
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    assert_eq!(reg.installed().len(), 1);
    assert_eq!(reg.failures().len(), 1);
    assert_eq!(reg.failures()[0].name, "bogus");
}

// ----- successful loads -----------------------------------------------------------------------

#[test]
fn the_testfile_queue_persists_across_a_restart() {
    capture_logs();
    let dir = TempDir::new("testfile");
    install_testfile(dir.path());
    let file = dir.path().join("queue.log");
    let options = opts(&[("testfile-path", file.to_str().unwrap())]);
    let reg = Registry::discover(&search_path(Some(dir.path())));
    let meta = reg.find(Kind::Queue, "TestFile").unwrap();
    assert_eq!(meta.info.name, "testfile");
    assert_eq!(meta.info.options[0].name, "testfile-path");
    assert!(
        reg.find(Kind::Queue, "libtestfile").is_ok(),
        "aliases are accepted"
    );

    let mut q = meta.create_queue(&options).unwrap();
    assert_eq!(q.name(), "testfile");
    assert!(!q.store_on_shutdown());
    let job = |unique: &'static [u8], data: &'static [u8], priority, when| StoredJob {
        unique,
        function: b"reverse",
        data,
        priority,
        when,
    };
    q.add(&job(b"a", b"first\0bin", 0, 0)).unwrap();
    q.add(&job(b"b", b"second", 1, 0)).unwrap();
    q.add(&job(b"c", b"third", 2, 1_900_000_000)).unwrap();
    q.done(b"b", b"reverse").unwrap();
    q.flush().unwrap();
    q.shutdown();

    // "Restart": a new instance over the same file replays what is left.
    let mut q = meta.create_queue(&options).unwrap();
    let mut seen = Vec::new();
    q.replay(&mut |j| {
        seen.push((
            j.unique.to_vec(),
            j.function.to_vec(),
            j.data.to_vec(),
            j.priority,
            j.when,
        ));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            (
                b"a".to_vec(),
                b"reverse".to_vec(),
                b"first\0bin".to_vec(),
                0,
                0
            ),
            (
                b"c".to_vec(),
                b"reverse".to_vec(),
                b"third".to_vec(),
                2,
                1_900_000_000
            ),
        ]
    );
    // The host's sink can stop a replay with its own message.
    let err = q
        .replay(&mut |_| Err("engine full".to_string()))
        .unwrap_err();
    assert_eq!(err, "engine full");
    q.shutdown();
    assert!(
        q.add(&job(b"d", b"", 1, 0)).is_err(),
        "a shut-down queue refuses work"
    );

    // The plugin's log::info! reached the host's logger, tagged with its name.
    let path = file.display().to_string();
    let logged = RECORDS.lock().unwrap().iter().any(|(target, level, msg)| {
        target == "testfile" && *level == log::Level::Info && msg.contains(&path)
    });
    assert!(
        logged,
        "plugin log record not forwarded: {:?}",
        RECORDS.lock().unwrap()
    );
}

#[test]
fn store_queue_on_shutdown_is_reported() {
    let dir = TempDir::new("sqos");
    install_testfile(dir.path());
    let file = dir.path().join("q");
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let q = reg
        .find(Kind::Queue, "testfile")
        .unwrap()
        .create_queue(&opts(&[
            ("testfile-path", file.to_str().unwrap()),
            ("store-queue-on-shutdown", "true"),
        ]))
        .unwrap();
    assert!(q.store_on_shutdown());
}

#[test]
fn the_gear_protocol_decodes_and_encodes_through_the_abi() {
    let dir = TempDir::new("gear");
    install_built(dir.path(), "libgearmand_protocol_gear.so");
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let meta = reg.find(Kind::Protocol, "Gear").unwrap();
    let port = meta.info.options.iter().find(|o| o.name == "port").unwrap();
    assert_eq!(
        (port.short, port.default.as_deref()),
        (Some('p'), Some("4730"))
    );
    assert!(meta.create_queue(&[]).is_err(), "a protocol is not a queue");

    let proto = meta.create_protocol(&opts(&[("port", "0")])).unwrap();
    assert_eq!(proto.name(), "gear");
    assert_eq!(proto.listen_port(), "0");
    let mut codec = proto.clone().open("127.0.0.1:5555").unwrap();

    let mut input = b"\0REQ\0\0\0\x10\0\0\0\x02hi".to_vec(); // ECHO_REQ "hi"
    input.extend_from_slice(b"status\r\n");
    input.extend_from_slice(b"\0RES\0\0\0\x10\0\0\0\x00"); // response magic
    input.extend_from_slice(b"\0REQ\0\0"); // a partial header stays unconsumed
    let (mut frames, mut out) = (Vec::new(), Vec::new());
    let (used, d) = codec.decode(&input, &mut |f| frames.push(f), &mut out);
    assert_eq!((used, d), (input.len() - 6, Next::Continue));
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].kind(), frames[0].arg(0)), (16, &b"hi"[..]));
    assert_eq!(frames[1].arg(0), b"status");
    assert_eq!(
        out,
        b"\0RES\0\0\0\x13\0\0\0\x24INVALID_MAGIC\0Request magic expected"
    );

    let mut out = Vec::new();
    let echo = Frame::with_args(17, &[b"hi"]);
    assert_eq!(codec.encode(&echo, &mut out), Next::Continue);
    assert_eq!(out, b"\0RES\0\0\0\x11\0\0\0\x02hi");

    let (used, d) = codec.decode(b"\0BAD", &mut |_| panic!("no request"), &mut Vec::new());
    assert_eq!((used, d), (0, Next::Close));
    drop(codec);
    drop(proto);
}

#[test]
fn the_first_directory_in_the_search_path_wins() {
    let first = TempDir::new("first");
    let second = TempDir::new("second");
    std::fs::write(first.path().join("libgearmand_queue_testfile.so"), "junk").unwrap();
    install_testfile(second.path());
    let reg = Registry::discover(&[first.path().to_path_buf(), second.path().to_path_buf()]);
    let err = reg.find(Kind::Queue, "testfile").unwrap_err();
    assert!(matches!(err, PluginError::NotAPlugin { .. }), "{err:?}");
}

#[test]
fn the_search_path_starts_with_the_plugin_dir() {
    let dirs = search_path(Some(Path::new("/opt/x")));
    assert_eq!(dirs[0], Path::new("/opt/x"));
    let exe_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(dirs.last().unwrap(), &exe_dir);
}
