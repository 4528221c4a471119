//! Packaging: readiness notification, the systemd unit, and the example config, checked against
//! the binary built here. The Debian packages themselves are tested in debian_packages.rs.

mod common;
#[path = "common/packaging.rs"]
mod packaging;

use common::{ptype, wait_for, Server, TempDir};
use packaging::{plugins_built, primary_options, repo, run, verify_unit, BIN, SHIPPED_PLUGINS};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

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
        let s = Server::try_start_from(Path::new(BIN), &queue, &[]).unwrap();
        let mut c = s.connect();
        c.send(ptype::SUBMIT_JOB_BG, &[b"later", b"u1", b"x"]);
        assert_eq!(c.recv().ptype, ptype::JOB_CREATED);
    }
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut s =
        Server::try_start_from(Path::new(BIN), &queue, &[("NOTIFY_SOCKET", &sock_path)]).unwrap();
    let ready = recv_datagram(&sock);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    // READY was sent after the replay had been logged, and the port serves. (The log reaches us
    // through a reader thread, which may lag behind the datagram: wait for it, with a deadline.)
    wait_for("the replay in the log", Duration::from_secs(10), || {
        s.stderr().contains("replayed 1 jobs")
    });
    let version = s.connect().admin_line("version");
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version:?}");
    // SIGTERM: STOPPING=1, then a clean exit.
    s.signal(libc::SIGTERM);
    assert_eq!(recv_datagram(&sock), "STOPPING=1\n");
    let status = s.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|st| st.success()), "{status:?}");
}

// ---- systemd unit --------------------------------------------------------------------------

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
    // Every heading counts: the test-only testfile queue is not in --help (see cli.rs).
    let options = primary_options(&help, "\u{0}");
    assert!(options.contains(&"libsqlite3-db".to_owned()) && options.contains(&"port".to_owned()));
    let missing: Vec<&String> = options
        .iter()
        // Actions, not settings: in a file they would make every start print or exit.
        .filter(|o| !["help", "version", "check-args", "config-file"].contains(&o.as_str()))
        .filter(|o| !keys.contains(o))
        .collect();
    assert!(missing.is_empty(), "{EXAMPLE} does not show {missing:?}");
}
