//! Helpers shared by the plugin loader tests (`plugin_loader.rs`, `plugin_compat.rs`): temporary
//! directories, the plugins cargo built, and option lists.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh directory for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gm-loader-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `target/debug` (or release): the test binary lives in its `deps/` directory.
pub fn built_plugins_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The test-only `testfile` queue as cargo builds it: not under a plugin's file name, so that no
/// gearmand lists it beside the binary (plugins/queue-testfile/Cargo.toml).
pub const TESTFILE_BUILT: &str = "libgearmand_testonly_queue_testfile.so";
/// The name the `testfile` queue is installed under.
pub const TESTFILE: &str = "libgearmand_queue_testfile.so";

/// Installs the test-only `testfile` queue into `dir` under its plugin file name.
pub fn install_testfile(dir: &Path) -> PathBuf {
    let dst = dir.join(TESTFILE);
    std::fs::copy(built(TESTFILE_BUILT), &dst).unwrap();
    dst
}

/// Copies a built plugin into `dir`, as an installer would.
pub fn install_built(dir: &Path, file: &str) -> PathBuf {
    let src = built(file);
    let dst = dir.join(file);
    std::fs::copy(&src, &dst).unwrap();
    dst
}

/// `file` as cargo built it, which must exist.
fn built(file: &str) -> PathBuf {
    let src = built_plugins_dir().join(file);
    assert!(
        src.exists(),
        "{} is missing: run `cargo build -p gearmand-queue-testfile -p gearmand-protocol-gear` first",
        src.display()
    );
    src
}

/// Plugin options as the loader takes them.
pub fn opts(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}
