//! Tests of command-line and config-file parsing against a fixed plugin catalog.

use super::file::ConfigFile;
use super::*;
use std::path::Path;

fn opt(name: &str, default: Option<&str>, takes_value: bool) -> OptionInfo {
    OptionInfo {
        name: name.into(),
        help: format!("help for {name}"),
        default: default.map(Into::into),
        short: None,
        takes_value,
        alias_of: None,
    }
}

fn plugin(name: &str, aliases: &[&str], kind: Kind, options: Vec<OptionInfo>) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        kind,
        version: "0.1.0".into(),
        description: format!("{name} plugin"),
        options,
    }
}

struct Fake(Vec<PluginInfo>);

impl Fake {
    fn standard() -> Fake {
        let mut port = opt("port", Some("4730"), true);
        port.short = Some('p');
        let mut drizzle = opt("libdrizzle-host", None, true);
        drizzle.alias_of = Some("mysql-host".into());
        Fake(vec![
            plugin(
                "gear",
                &[],
                Kind::Protocol,
                vec![port, opt("ssl", None, false)],
            ),
            plugin(
                "http",
                &[],
                Kind::Protocol,
                vec![opt("http-port", Some("8080"), true)],
            ),
            plugin(
                "sqlite",
                &["libsqlite3"],
                Kind::Queue,
                vec![
                    opt("libsqlite3-db", None, true),
                    opt("libsqlite3-table", Some("gearman_queue"), true),
                    opt("store-queue-on-shutdown", None, false),
                ],
            ),
            plugin(
                "mysql",
                &["MySQL", "libdrizzle"],
                Kind::Queue,
                vec![opt("mysql-host", Some("localhost"), true), drizzle],
            ),
        ])
    }
}

impl Catalog for Fake {
    fn installed(&self) -> Vec<PluginInfo> {
        self.0.clone()
    }
    fn resolve(&self, kind: Kind, name: &str) -> Result<String, String> {
        self.0
            .iter()
            .find(|p| p.kind == kind && p.answers_to(name))
            .map(|p| p.name.clone())
            .ok_or_else(|| format!("unknown {} plugin '{name}'", kind.as_str()))
    }
}

fn args(line: &str) -> Vec<OsString> {
    std::iter::once("gearmand")
        .chain(line.split_whitespace())
        .map(OsString::from)
        .collect()
}

fn no_file() -> Prescan {
    Prescan {
        plugin_dir: None,
        file: None,
    }
}

fn with_file(text: &str) -> Prescan {
    Prescan {
        plugin_dir: None,
        file: Some(ConfigFile::from_text(Path::new("test.conf"), text).unwrap()),
    }
}

fn run_with(line: &str, pre: &Prescan) -> Result<Config, ConfigError> {
    match parse(&args(line), pre, &Fake::standard())? {
        Outcome::Run(c) => Ok(*c),
        other => panic!("expected Run, got {other:?}"),
    }
}

fn run(line: &str) -> Result<Config, ConfigError> {
    run_with(line, &no_file())
}

fn err(line: &str) -> String {
    run(line).unwrap_err().to_string()
}

fn opts(p: &SelectedPlugin) -> Vec<(String, String)> {
    p.options
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn get(p: &SelectedPlugin, name: &str) -> Option<String> {
    opts(p).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[test]
fn defaults_match_the_original() {
    let c = run("").unwrap();
    assert_eq!(c.backlog, 32);
    assert!(!c.daemon && !c.exceptions && !c.syslog);
    assert_eq!(c.file_descriptors, None);
    assert_eq!(c.job_retries, -1);
    assert_eq!(c.job_handle_prefix, None);
    assert_eq!(
        c.keepalive,
        Keepalive {
            enabled: false,
            idle: -1,
            interval: -1,
            count: -1
        }
    );
    assert_eq!(c.log, LogTarget::File("/var/log/gearmand.log".into()));
    assert_eq!(c.listen, None);
    assert_eq!(c.pid_file, PathBuf::from("/var/gearmand.pid"));
    assert!(!c.pid_file_explicit);
    assert_eq!(c.threads, 4);
    assert_eq!(c.user, None);
    assert_eq!(c.verbose, Verbose::Error);
    assert_eq!(c.worker_wakeup, 0);
    assert_eq!(c.queue, None);
    assert_eq!(c.protocols.len(), 1);
    assert_eq!(c.protocols[0].name, "gear");
    assert_eq!(get(&c.protocols[0], "port").as_deref(), Some("4730"));
}

#[test]
fn every_general_option_long_form() {
    let c = run(
        "--backlog 64 --daemon --exceptions --file-descriptors 4096 --job-retries 3 \
         --job-handle-prefix P --hashtable-buckets 7 --keepalive --keepalive-idle 10 \
         --keepalive-interval 11 --keepalive-count 12 --log-file stderr --listen 127.0.0.1 \
         --pid-file /tmp/x.pid --round-robin --syslog --coredump --threads 2 --user nobody \
         --verbose DEBUG --worker-wakeup 3 --plugin-dir /tmp",
    )
    .unwrap();
    assert_eq!(c.backlog, 64);
    assert!(c.daemon && c.exceptions && c.syslog);
    assert_eq!(c.file_descriptors, Some(4096));
    assert_eq!(c.job_retries, 3);
    assert_eq!(c.job_handle_prefix.as_deref(), Some("P"));
    assert_eq!(
        c.keepalive,
        Keepalive {
            enabled: true,
            idle: 10,
            interval: 11,
            count: 12
        }
    );
    assert_eq!(c.log, LogTarget::Stderr);
    assert_eq!(c.listen.as_deref(), Some("127.0.0.1"));
    assert_eq!(c.pid_file, PathBuf::from("/tmp/x.pid"));
    assert!(c.pid_file_explicit);
    assert_eq!(c.threads, 2);
    assert_eq!(c.user.as_deref(), Some("nobody"));
    assert_eq!(c.verbose, Verbose::Debug);
    assert_eq!(c.worker_wakeup, 3);
}

#[test]
fn every_short_form() {
    let c = run("-b 5 -d -f 100 -j 0 -l none -L ::1 -P /tmp/p -R -t 0 -u root -w 2 -p 0").unwrap();
    assert_eq!(c.backlog, 5);
    assert!(c.daemon);
    assert_eq!(c.file_descriptors, Some(100));
    assert_eq!(c.job_retries, 0);
    assert_eq!(c.log, LogTarget::Off);
    assert_eq!(c.listen.as_deref(), Some("::1"));
    assert_eq!(c.threads, 0);
    assert_eq!(c.user.as_deref(), Some("root"));
    assert_eq!(c.worker_wakeup, 2);
    assert_eq!(get(&c.protocols[0], "port").as_deref(), Some("0"));
    assert_eq!(run("-q libsqlite3").unwrap().queue.unwrap().name, "sqlite");
    assert_eq!(run("-r http").unwrap().protocols[1].name, "http");
    assert_eq!(
        run("--port=5000").unwrap().protocols[0].options[0].1,
        b"5000"
    );
}

#[test]
fn help_version_and_check_args_exit_zero() {
    let pre = no_file();
    let Outcome::Print(help) = parse(&args("--help"), &pre, &Fake::standard()).unwrap() else {
        panic!("help")
    };
    for needle in [
        "--backlog",
        "--libsqlite3-db",
        "--http-port",
        "-p, --port",
        "libdrizzle-host",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    // The gearmand 1.0 man page lists both; 1.1.20 hid --check-args and dropped -v.
    assert!(help.contains("      --check-args "), "{help}");
    assert!(help.contains("  -v... "), "{help}");
    assert!(help.contains("-R, --round-robin"), "{help}");
    for compat in ["--hashtable-buckets", "--round-robin", "--coredump"] {
        let line = help.lines().find(|l| l.contains(compat)).unwrap();
        assert!(
            line.contains("Accepted for compatibility, no effect"),
            "{line}"
        );
    }
    let Outcome::Print(v) = parse(&args("-V"), &pre, &Fake::standard()).unwrap() else {
        panic!("version")
    };
    assert_eq!(
        v,
        format!("\ngearmand {VERSION} - https://github.com/gearman/gearmand/issues\n")
    );
    assert!(matches!(
        parse(&args("--check-args -t 2"), &pre, &Fake::standard()).unwrap(),
        Outcome::CheckArgs
    ));
}

#[test]
fn each_dash_v_raises_the_level_one_step_from_error() {
    assert_eq!(run("-v").unwrap().verbose, Verbose::Warning);
    assert_eq!(run("-v -v").unwrap().verbose, Verbose::Notice);
    assert_eq!(run("-vvv").unwrap().verbose, Verbose::Info);
    assert_eq!(run("-vv -vv").unwrap().verbose, Verbose::Debug);
    assert_eq!(run("-vvvvvvvvvv").unwrap().verbose, Verbose::Debug);
    // Bundled with other switches, as getopt and clap allow.
    let c = run("-dv").unwrap();
    assert!(c.daemon);
    assert_eq!(c.verbose, Verbose::Warning);
}

#[test]
fn dash_v_and_verbose_are_one_setting() {
    // Both in one source: refused, like gearmand 1.0's one `-v [ --verbose ]` given twice.
    for line in ["-v --verbose INFO", "--verbose=DEBUG -vv"] {
        let e = err(line);
        assert!(e.contains("cannot be used with"), "{line}: {e}");
    }
    let e = run_with("", &with_file("-v --verbose INFO\n")).unwrap_err();
    assert!(e.to_string().starts_with("test.conf: "), "{e}");
    // Across sources the command line wins whole, whichever spelling each uses.
    let toml = with_file("verbose = \"DEBUG\"\n");
    assert_eq!(run_with("-v", &toml).unwrap().verbose, Verbose::Warning);
    assert_eq!(run_with("", &toml).unwrap().verbose, Verbose::Debug);
    let tokens = with_file("-vvv\n");
    assert_eq!(run_with("", &tokens).unwrap().verbose, Verbose::Info);
    let c = run_with("--verbose CRITICAL", &tokens).unwrap();
    assert_eq!(c.verbose, Verbose::Critical);
    assert_eq!(run_with("-v", &tokens).unwrap().verbose, Verbose::Warning);
}

#[test]
fn compatibility_options_parse_and_are_checked() {
    assert!(run("-R --coredump --hashtable-buckets 7").is_ok());
    assert!(run_with("", &with_file("round-robin = true\ncoredump = true\n")).is_ok());
}

#[test]
fn job_retries_follow_gearmand_2() {
    assert_eq!(run("-j -1").unwrap().job_retries, -1);
    assert_eq!(run("-j 255").unwrap().job_retries, 255);
    assert!(err("-j 256").contains("--job-retries 256"));
    assert!(err("-j -2").contains("out of range"));
}

#[test]
fn invalid_values_are_refused_with_one_line() {
    assert_eq!(
        err("--hashtable-buckets 0"),
        "hashtable-buckets has to be greater than 0"
    );
    assert_eq!(
        err("--verbose LOUD"),
        "Invalid value for --verbose supplied"
    );
    assert_eq!(run("--verbose info").unwrap().verbose, Verbose::Info);
    assert_eq!(run("--verbose Warning").unwrap().verbose, Verbose::Warning);
    let long = "x".repeat(53);
    assert!(err(&format!("--job-handle-prefix {long}")).contains("at most 52"));
    assert!(run(&format!("--job-handle-prefix {}", "x".repeat(52))).is_ok());
    assert_eq!(run("-w 300").unwrap().worker_wakeup, 44);
    for bad in ["-t -1", "-b x", "-f -5"] {
        let e = err(bad);
        assert!(!e.contains('\n'), "{bad}: {e}");
    }
}

#[test]
fn unknown_and_repeated_options() {
    assert_eq!(err("--bogus"), "unrecognised option '--bogus'");
    assert_eq!(err("-x"), "unrecognised option '-x'");
    assert_eq!(err("stray"), "unrecognised option 'stray'");
    assert!(err("--port 1 --port 2").contains("cannot be used multiple times"));
    assert!(err("-t 1 --threads 2").contains("cannot be used multiple times"));
}

#[test]
fn module_names_are_case_insensitive_with_aliases() {
    assert_eq!(run("-q LibSqlite3").unwrap().queue.unwrap().name, "sqlite");
    assert_eq!(run("-q mysql").unwrap().queue.unwrap().name, "mysql");
    assert_eq!(run("-q LIBDRIZZLE").unwrap().queue.unwrap().name, "mysql");
    assert_eq!(run("-q BuiltIn").unwrap().queue, None);
    assert_eq!(err("-q nosuch"), "unknown queue plugin 'nosuch'");
    assert_eq!(err("-r nosuch"), "unknown protocol plugin 'nosuch'");
    let c = run("-r http -r HTTP -r gear").unwrap();
    let names: Vec<_> = c.protocols.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["gear", "http"]);
}

#[test]
fn plugin_options_need_their_plugin() {
    let c = run("-q sqlite --libsqlite3-db /tmp/q.db --store-queue-on-shutdown").unwrap();
    let q = c.queue.unwrap();
    assert_eq!(
        opts(&q),
        [
            ("libsqlite3-db".into(), "/tmp/q.db".into()),
            ("libsqlite3-table".into(), "gearman_queue".into()),
            ("store-queue-on-shutdown".into(), "true".into()),
        ]
    );
    let e = err("--libsqlite3-db /tmp/q.db");
    assert!(
        e.contains("sqlite queue plugin") && e.contains("-q sqlite"),
        "{e}"
    );
    let e = err("--http-port 8081");
    assert!(
        e.contains("http protocol plugin") && e.contains("-r http"),
        "{e}"
    );
    // An option of the original's that no installed plugin provides.
    let e = err("--redis-server localhost");
    assert!(
        e.contains("redis queue plugin") && e.contains("not installed"),
        "{e}"
    );
    // Aliases reach the canonical option.
    let c = run("-q MySQL --libdrizzle-host db1").unwrap();
    assert_eq!(get(&c.queue.unwrap(), "mysql-host").as_deref(), Some("db1"));
}

#[test]
fn original_config_file_format() {
    let pre = with_file("# gearmand\n--port=4792 -L 127.0.0.1\r\n--verbose INFO some words -R\n");
    let c = run_with("", &pre).unwrap();
    assert_eq!(get(&c.protocols[0], "port").as_deref(), Some("4792"));
    assert_eq!(c.listen.as_deref(), Some("127.0.0.1"));
    assert_eq!(c.verbose, Verbose::Info);
    let bad = with_file("--no-such-option 1\n");
    let e = run_with("", &bad).unwrap_err().to_string();
    assert_eq!(e, "test.conf: unrecognised option '--no-such-option'");
}

#[test]
fn toml_config_file_with_plugin_tables() {
    let pre = with_file(
        "threads = 2\nverbose = \"debug\"\nround-robin = true\nprotocol = [\"http\"]\n\
         queue-type = \"sqlite\"\n[sqlite]\ndb = \"/tmp/q.db\"\n[http]\nport = 8081\n[gear]\nport = 0\n",
    );
    let c = run_with("", &pre).unwrap();
    assert_eq!(c.threads, 2);
    assert_eq!(c.verbose, Verbose::Debug);
    assert_eq!(
        get(c.queue.as_ref().unwrap(), "libsqlite3-db").as_deref(),
        Some("/tmp/q.db")
    );
    assert_eq!(get(&c.protocols[0], "port").as_deref(), Some("0"));
    assert_eq!(get(&c.protocols[1], "http-port").as_deref(), Some("8081"));
    let bad = with_file("[nosuch]\nx = 1\n");
    assert!(run_with("", &bad)
        .unwrap_err()
        .to_string()
        .contains("[nosuch]"));
    let bad = with_file("[sqlite]\nnope = 1\n");
    assert!(run_with("", &bad)
        .unwrap_err()
        .to_string()
        .contains("no option 'nope'"));
    assert!(ConfigFile::from_text(Path::new("x"), "threads = = 2\n").is_err());
}

#[test]
fn command_line_wins_over_the_file() {
    let pre = with_file("threads = 2\nport = 7000\nprotocol = [\"http\"]\nbacklog = 9\n");
    let c = run_with("-t 3 -p 7001 --listen ::1", &pre).unwrap();
    assert_eq!(c.threads, 3);
    assert_eq!(c.backlog, 9);
    assert_eq!(get(&c.protocols[0], "port").as_deref(), Some("7001"));
    assert_eq!(c.protocols[1].name, "http");
    let pre = with_file("-t 2 --pid-file /tmp/f.pid");
    let c = run_with("--threads 1", &pre).unwrap();
    assert_eq!(c.threads, 1);
    assert!(c.pid_file_explicit);
}

#[test]
fn config_file_loading() {
    let dir = std::env::temp_dir().join(format!("gearmand-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.conf");
    let e = ConfigFile::load(&missing, true).unwrap_err().to_string();
    assert!(e.starts_with("Could not open configuration file"), "{e}");
    assert!(ConfigFile::load(&missing, false).unwrap().is_none());
    let f = dir.join("g.conf");
    std::fs::write(&f, "plugin-dir = \"/opt/plugins\"\nthreads = 1\n").unwrap();
    let arg = format!("--config-file={}", f.display());
    let pre = Prescan::run(&args(&arg)).unwrap();
    assert_eq!(pre.plugin_dir, Some(PathBuf::from("/opt/plugins")));
    let pre = Prescan::run(&args(&format!("{arg} --plugin-dir /x"))).unwrap();
    assert_eq!(pre.plugin_dir, Some(PathBuf::from("/x")));
    assert_eq!(run_with(&arg, &pre).unwrap().threads, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_option_of_a_missing_selected_plugin_names_the_missing_plugin() {
    let e = err("-q tokyo --libtokyocabinet-file /x");
    assert!(e.contains("unknown queue plugin 'tokyo'"), "{e}");
    // Without a selection, the option itself is explained.
    let e = err("--libtokyocabinet-file /x");
    assert!(e.contains("needs the tokyocabinet queue plugin"), "{e}");
}
