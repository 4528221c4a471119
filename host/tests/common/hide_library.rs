//! Running a command on this machine as if a shared library were not installed: in a private
//! mount namespace (`unshare --mount`), each directory that holds the library is covered by an
//! overlay whose upper layer has a whiteout for each of its files, so the dynamic loader finds
//! no such file anywhere, exactly as on a machine without the package. Nothing outside the
//! namespace changes, and it ends with the command.
//!
//! Needs root, or unprivileged user namespaces with overlayfs in them (Linux 5.11+); where
//! neither works, [`without_library`] says so and the caller skips (or fails under CI).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The exit status of the wrapper when the library could not be hidden.
pub const CANNOT_HIDE: i32 = 97;

/// Directories the loader searches without a cache entry (glibc's system search path, with
/// Debian's multiarch directories).
fn system_dirs() -> Vec<PathBuf> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    ["/lib", "/usr/lib"]
        .iter()
        .flat_map(|d| [Path::new(d).join(&multiarch), PathBuf::from(d)])
        .collect()
}

/// Whether the dynamic loader finds `soname` right now (it is installed).
pub fn installed(soname: &str) -> bool {
    // SAFETY: loading runs the library's initialisers; the libraries tests ask about (Tokyo
    // Cabinet) only set up their own globals. It is unloaded again at once.
    unsafe { libloading::Library::new(soname) }.is_ok()
}

/// Every file the loader could take for `soname`: the ld.so cache's entries and the system
/// directories' files of that name, plus what their symlinks point to.
fn library_files(soname: &str) -> BTreeSet<PathBuf> {
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]
        .into_iter()
        .find_map(|p| Command::new(p).arg("-p").output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let cached = ldconfig.lines().filter_map(|l| {
        let (name, path) = l.trim().split_once(" => ")?;
        (name.split(' ').next() == Some(soname)).then(|| PathBuf::from(path))
    });
    let in_system_dirs = system_dirs().into_iter().map(|d| d.join(soname));
    let mut files = BTreeSet::new();
    for f in cached.chain(in_system_dirs).filter(|f| f.exists()) {
        if let Ok(real) = f.canonicalize() {
            files.insert(real);
        }
        files.insert(f);
    }
    files
}

/// The file names to white out in each (canonical) directory: the library's files, and the
/// other files of the same library there (`libx.so`, `libx.so.9.11.0`).
fn whiteouts(soname: &str) -> Vec<(PathBuf, BTreeSet<String>)> {
    let stem = soname.split(".so").next().unwrap_or(soname).to_string() + ".so";
    let mut dirs: Vec<(PathBuf, BTreeSet<String>)> = Vec::new();
    for file in library_files(soname) {
        let Some(dir) = file.parent().and_then(|d| d.canonicalize().ok()) else {
            continue;
        };
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(&stem))
            .collect();
        match dirs.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, all)) => all.extend(names),
            None => dirs.push((dir, names)),
        }
    }
    dirs
}

/// Single-quoted for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A command that runs `program args` with `soname` hidden; `scratch` holds the overlays' upper
/// and work directories (a directory of the test's own, on a disk filesystem). It exits with
/// [`CANNOT_HIDE`] and a message on stderr when the namespace or the overlays cannot be made.
pub fn without_library(soname: &str, scratch: &Path, program: &Path, args: &[&str]) -> Command {
    let mut steps = Vec::new();
    for (i, (dir, names)) in whiteouts(soname).iter().enumerate() {
        let (upper, work) = (
            scratch.join(format!("upper{i}")),
            scratch.join(format!("work{i}")),
        );
        let (dir, upper, work) = (
            dir.to_str().unwrap(),
            upper.to_str().unwrap(),
            work.to_str().unwrap(),
        );
        steps.push(format!("mkdir -p {} {}", quote(upper), quote(work)));
        for n in names {
            steps.push(format!("mknod {} c 0 0", quote(&format!("{upper}/{n}"))));
        }
        let opts = format!("lowerdir={dir},upperdir={upper},workdir={work}");
        steps.push(format!(
            "mount -t overlay overlay -o {} {}",
            quote(&opts),
            quote(dir)
        ));
        steps.push(format!("test ! -e {}", quote(&format!("{dir}/{soname}"))));
    }
    steps.push("true".into());
    let script = format!(
        "{{ {}; }} || {{ echo 'cannot hide {soname} in a mount namespace' >&2; exit {CANNOT_HIDE}; }}; exec \"$@\"",
        steps.join(" && ")
    );
    let mut cmd = Command::new("unshare");
    // Root makes a mount namespace directly; anyone else needs a user namespace around it.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        cmd.args(["--user", "--map-root-user"]);
    }
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        &script,
        "sh",
    ])
    .arg(program)
    .args(args)
    .env_remove("LD_LIBRARY_PATH")
    .env_remove("LD_PRELOAD");
    cmd
}
