//! A queue plugin whose system library is not installed. The tokyocabinet plugin opens
//! `libtokyocabinet.so.9` only when `-q tokyocabinet` creates the queue, so without the library
//! the plugin still loads (`--help` lists its options) and `-q tokyocabinet` fails at startup with
//! one line naming the library and its Debian package, exit 1 like every plugin error.
//!
//! Where the library is installed it is hidden for the one command (common/hide_library.rs: a
//! mount namespace with overlay whiteouts; needs root or user namespaces, else a loud SKIP that
//! fails under CI). On a machine without it (contrib/fresh-machine/check.sh) the binary runs as is.

mod common;
#[path = "common/hide_library.rs"]
mod hide_library;

use common::server::{our_binary, run_with_timeout};
use common::{have_program, skip_unless, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SONAME: &str = "libtokyocabinet.so.9";
const PACKAGE: &str = "libtokyocabinet9";

/// Our binary with `args` on this machine minus libtokyocabinet: (exit code, stdout, stderr),
/// or `None` after a loud SKIP when the library cannot be hidden.
fn run_without_tokyocabinet(args: &[&str]) -> Option<(Option<i32>, String, String)> {
    let scratch = TempDir::new("nolib");
    let bin = Path::new(our_binary());
    let cmd = if hide_library::installed(SONAME) {
        hide_library::without_library(SONAME, scratch.path(), bin, args)
    } else {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        cmd
    };
    let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    if status.code() == Some(hide_library::CANNOT_HIDE) {
        let what = format!("a mount namespace that hides {SONAME} ({})", err.trim());
        skip_unless(false, &what);
        return None;
    }
    Some((status.code(), out, err))
}

#[test]
fn tokyocabinet_without_its_library_fails_at_startup_with_one_line() {
    let dir = TempDir::new("nolib-q");
    let file = dir.path().join("q.tch");
    let args = ["-p", "0", "-L", "127.0.0.1", "-q", "tokyocabinet"];
    let mut all = args.to_vec();
    all.extend(["--libtokyocabinet-file", file.to_str().unwrap()]);
    let Some((code, out, err)) = run_without_tokyocabinet(&all) else {
        return;
    };
    assert_eq!(code, Some(1), "exit status; stderr:\n{err}");
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "want exactly one line:\n{err}");
    let line = lines[0];
    let head =
        format!("gearmand: queue plugin 'tokyocabinet' failed to start: cannot load {SONAME} (");
    assert!(line.starts_with(&head), "{line}");
    assert!(
        line.ends_with(&format!("); install the Debian package {PACKAGE}")),
        "{line}"
    );
    // The loader's own words: the library is absent, not broken.
    assert!(line.contains("cannot open shared object file"), "{line}");
    assert!(
        !file.exists(),
        "the queue file was created without the library"
    );
}

#[test]
fn without_its_library_the_tokyocabinet_plugin_still_loads() {
    let Some((code, help, err)) = run_without_tokyocabinet(&["--help"]) else {
        return;
    };
    assert_eq!(code, Some(0), "{err}");
    assert!(
        help.contains("--libtokyocabinet-file") && help.contains("--libtokyocabinet-optimize"),
        "--help lacks the tokyocabinet options:\n{help}"
    );
    assert!(!err.contains(SONAME), "{err}");
    let Some((code, _, err)) = run_without_tokyocabinet(&["--check-args", "-q", "tokyocabinet"])
    else {
        return;
    };
    assert_eq!(code, Some(0), "{err}");
}

/// Nothing links the library: it is opened at run time, so a build needs no libtokyocabinet-dev.
#[test]
fn the_tokyocabinet_plugin_does_not_link_its_library() {
    if skip_unless(have_program("readelf"), "readelf (package binutils)") {
        return;
    }
    let plugin = Path::new(our_binary()).with_file_name("libgearmand_queue_tokyocabinet.so");
    assert!(plugin.exists(), "run `cargo build --workspace` first");
    let out = Command::new("readelf")
        .arg("-d")
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "{dynamic}");
    assert!(
        !needed.iter().any(|l| l.contains("tokyocabinet")),
        "{}",
        needed.join("\n")
    );
}
