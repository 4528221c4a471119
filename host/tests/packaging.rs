//! Packaging: readiness notification, the systemd unit, the example config, and the Debian
//! packages of contrib/debian/build.sh, built, inspected and run from an unpacked tree.
//!
//! The package test does a release build (several minutes on a small machine). It always runs
//! under CI; locally `GEARMAND_SKIP_PACKAGING=1` skips it with a loud SKIP line.

mod common;

use common::server::{parse_listening_port, run_with_timeout};
use common::{have_program, in_ci, ptype, skip_unless, Conn, TempDir};
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const BIN: &str = env!("CARGO_BIN_EXE_gearmand");
const SHIPPED_PLUGINS: [&str; 7] = [
    "sqlite",
    "postgres",
    "mysql",
    "redis",
    "memcached",
    "tokyocabinet",
    "http",
];

fn repo(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// The workspace's plugins beside our binary (built by `cargo build --workspace`).
fn plugins_built() -> bool {
    let dir = Path::new(BIN).parent().unwrap();
    let all = [
        "libgearmand_protocol_gear.so",
        "libgearmand_protocol_http.so",
    ]
    .iter()
    .map(|f| dir.join(f))
    .chain(
        SHIPPED_PLUGINS[..6]
            .iter()
            .map(|p| dir.join(format!("libgearmand_queue_{p}.so"))),
    )
    .all(|f| f.exists());
    !skip_unless(
        all,
        "the workspace's plugins (run `cargo build --workspace`)",
    )
}

/// A server started from any binary, killed on drop; stderr collected by a thread.
struct Running {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `bin` on a free loopback port and waits for its `listening on` line.
    fn start(bin: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<Running, String> {
        let mut cmd = Command::new(bin);
        cmd.args([
            "-p",
            "0",
            "-L",
            "127.0.0.1",
            "-l",
            "stderr",
            "--verbose",
            "INFO",
        ])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("spawn {bin:?}: {e}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let (stderr, log2) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push_str(&(line.clone() + "\n"));
                let _ = tx.send(line);
            }
        });
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            if let Some(port) = parse_listening_port(&line) {
                return Ok(Running { child, port, log });
            }
        }
        let _ = child.kill();
        let status = child.wait();
        Err(format!(
            "did not start ({status:?}):\n{}",
            log.lock().unwrap()
        ))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A worker and a client run one job through `port`: the server really serves.
fn serve_one_job(port: u16) {
    let mut worker = Conn::connect(port);
    worker.send(ptype::CAN_DO, &[b"reverse"]);
    worker.sync();
    let mut client = Conn::connect(port);
    client.send(ptype::SUBMIT_JOB, &[b"reverse", b"", b"abc"]);
    let created = client.recv();
    assert_eq!(created.ptype, ptype::JOB_CREATED, "{created:?}");
    worker.send(ptype::GRAB_JOB, &[]);
    let assigned = worker.recv();
    assert_eq!(assigned.ptype, ptype::JOB_ASSIGN, "{assigned:?}");
    assert_eq!(assigned.args()[2], b"abc");
    worker.send(ptype::WORK_COMPLETE, &[&created.body, b"cba"]);
    client.expect(ptype::WORK_COMPLETE, &[&created.body, b"cba"]);
}

/// (status success, stdout, stderr) of `bin args`.
fn run(bin: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    (status.success(), out, err)
}

// ---- readiness ---------------------------------------------------------------------------

fn recv_datagram(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("a notification within 30 s");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn ready_comes_after_replay_and_stopping_at_shutdown() {
    if !plugins_built() {
        return;
    }
    let dir = TempDir::new("notify");
    let db = dir.path().join("q.sqlite3");
    let db_arg = db.to_str().unwrap();
    let queue = ["-q", "sqlite", "--libsqlite3-db", db_arg];
    // A first run leaves one background job in the queue.
    {
        let s = Running::start(Path::new(BIN), &queue, &[]).unwrap();
        let mut c = Conn::connect(s.port);
        c.send(ptype::SUBMIT_JOB_BG, &[b"later", b"u1", b"x"]);
        assert_eq!(c.recv().ptype, ptype::JOB_CREATED);
    }
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut s = Running::start(Path::new(BIN), &queue, &[("NOTIFY_SOCKET", &sock_path)]).unwrap();
    let ready = recv_datagram(&sock);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    // READY was sent after the replay had been logged, and the port serves. (The log reaches us
    // through a reader thread, which may lag behind the datagram: wait for it, with a deadline.)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.log().contains("replayed 1 jobs") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(s.log().contains("replayed 1 jobs"), "{}", s.log());
    let version = Conn::connect(s.port).admin_line("version");
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version:?}");
    // SIGTERM: STOPPING=1, then a clean exit.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(recv_datagram(&sock), "STOPPING=1\n");
    assert!(s.child.wait().unwrap().success());
}

// ---- systemd unit --------------------------------------------------------------------------

/// `systemd-analyze verify` of `unit` with ExecStart pointing at `bin`; no warnings allowed.
fn verify_unit(unit: &Path, bin: &Path) {
    if skip_unless(have_program("systemd-analyze"), "systemd-analyze") {
        return;
    }
    let dir = TempDir::new("unit");
    let text = std::fs::read_to_string(unit).unwrap();
    let local = text.replace(
        "ExecStart=/usr/sbin/gearmand",
        &format!("ExecStart={}", bin.display()),
    );
    let copy = dir.path().join("gearmand.service");
    std::fs::write(&copy, local).unwrap();
    let (ok, out, err) = run(
        Path::new("systemd-analyze"),
        &["verify", copy.to_str().unwrap()],
    );
    assert!(ok && err.trim().is_empty(), "verify failed:\n{out}{err}");
}

#[test]
fn systemd_unit_is_valid_hardened_and_notifies() {
    let unit = repo("contrib/systemd/gearmand.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/sbin/gearmand --config-file /etc/gearmand/gearmand.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "StateDirectory=gearmand",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "LimitNOFILE=",
        "User=gearman",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "unit lacks {line}"
        );
    }
    verify_unit(&unit, Path::new(BIN));
}

// ---- example config ------------------------------------------------------------------------

const EXAMPLE: &str = "contrib/gearmand.toml";

/// `gearmand --check-args --config-file <toml text>`: Ok or the error output.
fn check_config(text: &str) -> Result<(), String> {
    let dir = TempDir::new("conf");
    let path = dir.path().join("gearmand.toml");
    std::fs::write(&path, text).unwrap();
    let (ok, out, err) = run(
        Path::new(BIN),
        &["--check-args", "--config-file", path.to_str().unwrap()],
    );
    if ok {
        Ok(())
    } else {
        Err(format!("{out}{err}\n--- file:\n{text}"))
    }
}

/// `#key = value` lines (settings shown but off) and `#[table]` lines, as (table, line).
fn commented_settings(text: &str) -> Vec<(Option<String>, String)> {
    let mut table = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        if let Some(name) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            table = Some(name.to_owned());
        } else if rest.starts_with(|c: char| c.is_ascii_lowercase()) && rest.contains(" = ") {
            out.push((table.clone(), rest.to_owned()));
        }
    }
    out
}

#[test]
fn example_config_is_accepted_as_shipped_and_uncommented() {
    if !plugins_built() {
        return;
    }
    let text = std::fs::read_to_string(repo(EXAMPLE)).unwrap();
    check_config(&text).unwrap();
    let settings = commented_settings(&text);
    let host: Vec<&str> = settings
        .iter()
        .filter(|(t, _)| t.is_none())
        .map(|(_, l)| l.as_str())
        // One value per key: the first of alternatives (log-file is set, not commented).
        .filter(|l| !l.starts_with("log-file"))
        .collect();
    assert!(host.len() > 20, "too few host settings: {host:?}");
    check_config(&host.join("\n")).unwrap();
    let tables: Vec<&str> = ["gear"].into_iter().chain(SHIPPED_PLUGINS).collect();
    for table in tables {
        let lines: Vec<&str> = settings
            .iter()
            .filter(|(t, _)| t.as_deref() == Some(table))
            .map(|(_, l)| l.as_str())
            .collect();
        assert!(!lines.is_empty(), "no [{table}] table in {EXAMPLE}");
        let select = match table {
            "gear" => String::new(),
            "http" => "protocol = [\"http\"]\n".into(),
            q => format!("queue-type = \"{q}\"\n"),
        };
        check_config(&format!("{select}[{table}]\n{}\n", lines.join("\n"))).unwrap();
    }
    // The check really checks: an unknown key in a table is refused.
    assert!(check_config("queue-type = \"sqlite\"\n[sqlite]\nno-such-option = 1\n").is_err());
}

/// Option names that begin a line of `--help`, per heading, except `skip_heading`'s.
fn primary_options(help: &str, skip_heading: &str) -> Vec<String> {
    let mut skipping = false;
    let mut out = Vec::new();
    for line in help.lines() {
        // Headings, the usage line and the about text are the lines not indented.
        if !line.is_empty() && !line.starts_with(' ') {
            skipping = line.starts_with(skip_heading);
            continue;
        }
        let t = line.trim_start();
        let t = t
            .get(4..)
            .filter(|_| t.starts_with('-') && t.get(2..4) == Some(", "))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("--").filter(|_| !skipping) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            out.push(name);
        }
    }
    out
}

/// Whether `text` has `--opt` as a whole option name (not the start of `--opt-more`).
fn mentions(text: &str, opt: &str) -> bool {
    let needle = format!("--{opt}");
    text.match_indices(&needle).any(|(i, _)| {
        let next = text[i + needle.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn example_config_shows_every_option() {
    if !plugins_built() {
        return;
    }
    let (ok, help, err) = run(Path::new(BIN), &["--help"]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(repo(EXAMPLE)).unwrap();
    let keys: Vec<String> = text
        .lines()
        .map(|l| l.trim_start_matches('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.to_owned()))
        .collect();
    let options = primary_options(&help, "testfile ");
    assert!(options.contains(&"libsqlite3-db".to_owned()) && options.contains(&"port".to_owned()));
    let missing: Vec<&String> = options
        .iter()
        .filter(|o| !["help", "version", "config-file"].contains(&o.as_str()))
        .filter(|o| !keys.contains(o))
        .collect();
    assert!(missing.is_empty(), "{EXAMPLE} does not show {missing:?}");
}

// ---- Debian packages -----------------------------------------------------------------------

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
            expected.push("libtokyocabinet9");
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
    let s = Running::start(&bin, &["--plugin-dir", pd], &[]).unwrap();
    serve_one_job(s.port);
    drop(s);
    // With it: starts on the sqlite queue and serves.
    unpack(deb("gearmand-plugin-sqlite"), &root);
    let s = Running::start(&bin, &sqlite, &[]).unwrap();
    assert!(s.log().contains("queue plugin sqlite"), "{}", s.log());
    serve_one_job(s.port);
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
