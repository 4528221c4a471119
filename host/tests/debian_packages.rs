//! The Debian packages of contrib/debian/build.sh: built, inspected (files, dependencies,
//! conffiles) and run from an unpacked tree, one package at a time.
//!
//! This test does a release build (several minutes on a small machine). It always runs under CI;
//! locally `GEARMAND_SKIP_PACKAGING=1` skips it with a loud SKIP line.

mod common;
#[path = "common/packaging.rs"]
mod packaging;

use common::server::run_with_timeout;
use common::{have_program, in_ci, skip_unless, Server, TempDir};
use packaging::{
    mentions, primary_options, repo, run, serve_one_job, verify_unit, SHIPPED_PLUGINS,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Whether to build the packages: always under CI; locally unless GEARMAND_SKIP_PACKAGING=1.
fn packaging_wanted() -> bool {
    let skip = std::env::var("GEARMAND_SKIP_PACKAGING").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip && !in_ci() {
        eprintln!(
            "\n******** SKIP: Debian package build (GEARMAND_SKIP_PACKAGING is set) ********\n"
        );
        return false;
    }
    !skip_unless(
        have_program("dpkg-deb") && have_program("dpkg-shlibdeps"),
        "dpkg-deb and dpkg-shlibdeps (package dpkg-dev)",
    )
}

/// Runs contrib/debian/build.sh into `out`; the .deb paths by package name.
fn build_packages(out: &Path) -> Vec<(String, PathBuf)> {
    let mut cmd = Command::new("bash");
    cmd.arg(repo("contrib/debian/build.sh")).arg(out);
    let (status, stdout, stderr) = run_with_timeout(cmd, Duration::from_secs(3600));
    assert!(status.success(), "build.sh failed:\n{stderr}");
    stdout
        .lines()
        .map(|l| {
            let path = PathBuf::from(l);
            let name = field(&path, "Package");
            (name, path)
        })
        .collect()
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.push(deb.to_str().unwrap());
    let (ok, out, err) = run(Path::new("dpkg-deb"), &all);
    assert!(ok, "dpkg-deb {args:?} {deb:?}: {err}");
    out
}

fn field(deb: &Path, name: &str) -> String {
    dpkg_deb(&["-f"], deb)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
        .unwrap_or_default()
}

/// Package names in a Depends field, without versions.
fn dep_names(depends: &str) -> Vec<String> {
    let mut v: Vec<String> = depends
        .split(',')
        .map(|d| d.trim().split(' ').next().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// Regular files and links in a package, as absolute paths.
fn files(deb: &Path) -> Vec<String> {
    let mut v: Vec<String> = dpkg_deb(&["-c"], deb)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_owned())
        .collect();
    v.sort();
    v
}

fn check_contents(debs: &[(String, PathBuf)], version: &str) {
    let gearmand = &debs.iter().find(|(n, _)| n == "gearmand").unwrap().1;
    assert_eq!(
        files(gearmand),
        [
            "/etc/gearmand/gearmand.toml",
            "/usr/lib/gearmand/libgearmand_protocol_gear.so",
            "/usr/lib/systemd/system/gearmand.service",
            "/usr/sbin/gearmand",
            "/usr/share/bash-completion/completions/gearmand",
            "/usr/share/doc/gearmand/copyright",
            "/usr/share/fish/vendor_completions.d/gearmand.fish",
            "/usr/share/man/man8/gearmand.8.gz",
            "/usr/share/zsh/vendor-completions/_gearmand",
        ]
    );
    assert_eq!(
        dep_names(&field(gearmand, "Depends")),
        ["libc6", "libgcc-s1", "passwd"]
    );
    assert_eq!(field(gearmand, "Conflicts"), "gearman-job-server");
    let (ok, conffiles, _) = run(
        Path::new("sh"),
        &[
            "-c",
            &format!(
                "dpkg-deb --ctrl-tarfile {} | tar -xOf - ./conffiles",
                gearmand.display()
            ),
        ],
    );
    assert!(
        ok && conffiles.trim() == "/etc/gearmand/gearmand.toml",
        "{conffiles:?}"
    );
    for plugin in SHIPPED_PLUGINS {
        let pkg = format!("gearmand-plugin-{plugin}");
        let deb = &debs
            .iter()
            .find(|(n, _)| *n == pkg)
            .unwrap_or_else(|| panic!("no {pkg}"))
            .1;
        let kind = if plugin == "http" {
            "protocol"
        } else {
            "queue"
        };
        assert_eq!(
            files(deb),
            [
                format!("/usr/lib/gearmand/libgearmand_{kind}_{plugin}.so"),
                format!("/usr/share/doc/{pkg}/copyright"),
            ]
        );
        let depends = field(deb, "Depends");
        assert!(
            depends.contains(&format!("gearmand (= {version})")),
            "{pkg}: {depends}"
        );
        let mut expected = vec!["gearmand", "libc6", "libgcc-s1"];
        if plugin == "tokyocabinet" {
            // Opened with dlopen, so build.sh declares it (dpkg-shlibdeps cannot see it).
            expected.push("libtokyocabinet9");
            assert!(
                depends.contains("libtokyocabinet9 (>= 1.4.47)"),
                "{pkg} Depends: {depends}"
            );
        }
        expected.sort();
        assert_eq!(dep_names(&depends), expected, "{pkg} Depends: {depends}");
    }
}

fn unpack(deb: &Path, root: &Path) {
    let (ok, _, err) = run(
        Path::new("dpkg-deb"),
        &["-x", deb.to_str().unwrap(), root.to_str().unwrap()],
    );
    assert!(ok, "unpack {deb:?}: {err}");
}

fn run_unpacked(debs: &[(String, PathBuf)]) {
    let deb = |name: &str| &debs.iter().find(|(n, _)| n == name).unwrap().1;
    let dir = TempDir::new("deb-root");
    let root = dir.path().join("root");
    unpack(deb("gearmand"), &root);
    let bin = root.join("usr/sbin/gearmand");
    let plugin_dir = root.join("usr/lib/gearmand");
    let pd = plugin_dir.to_str().unwrap();
    // Built with GEARMAND_PLUGIN_DIR=/usr/lib/gearmand: it looks there (absent here) first.
    let (ok, _, err) = run(&bin, &["--check-args", "-q", "sqlite"]);
    assert!(!ok && err.contains("looked in: /usr/lib/gearmand"), "{err}");
    // Without the sqlite package: refused, naming what is installed.
    let db = dir.path().join("q.sqlite3");
    let sqlite = [
        "--plugin-dir",
        pd,
        "-q",
        "sqlite",
        "--libsqlite3-db",
        db.to_str().unwrap(),
    ];
    let (ok, _, err) = run(&bin, &sqlite);
    assert!(!ok, "started without the sqlite plugin");
    assert!(
        err.contains("unknown queue plugin 'sqlite' (installed queue plugins: builtin;"),
        "{err}"
    );
    let s = Server::try_start_from(&bin, &["--plugin-dir", pd], &[]).unwrap();
    serve_one_job(s.port());
    drop(s);
    // With it: starts on the sqlite queue and serves.
    unpack(deb("gearmand-plugin-sqlite"), &root);
    let s = Server::try_start_from(&bin, &sqlite, &[]).unwrap();
    assert!(s.stderr().contains("queue plugin sqlite"), "{}", s.stderr());
    serve_one_job(s.port());
    drop(s);
    assert!(db.exists(), "sqlite queue file not created");
    // Every plugin installed: the packaged man page names every option of the packaged --help.
    for plugin in SHIPPED_PLUGINS {
        unpack(deb(&format!("gearmand-plugin-{plugin}")), &root);
    }
    let (ok, help, err) = run(&bin, &["--plugin-dir", pd, "--help"]);
    assert!(ok, "{err}");
    let man_gz = root.join("usr/share/man/man8/gearmand.8.gz");
    let (ok, man, _) = run(
        Path::new("sh"),
        &["-c", &format!("gzip -dc {}", man_gz.display())],
    );
    assert!(ok);
    let man = man
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fR", "");
    for opt in primary_options(&help, "\u{0}") {
        assert!(mentions(&man, &opt), "packaged man page lacks --{opt}");
    }
    verify_unit(&root.join("usr/lib/systemd/system/gearmand.service"), &bin);
}

#[test]
fn debian_packages_build_contain_what_they_should_and_run_unpacked() {
    if !packaging_wanted() {
        return;
    }
    let out = TempDir::new("debs");
    let debs = build_packages(out.path());
    let mut names: Vec<&str> = debs.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    let mut expected: Vec<String> = SHIPPED_PLUGINS
        .iter()
        .map(|p| format!("gearmand-plugin-{p}"))
        .chain(["gearmand".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    let version = field(&debs[0].1, "Version");
    check_contents(&debs, &version);
    run_unpacked(&debs);
}
