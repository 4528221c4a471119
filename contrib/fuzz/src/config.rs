//! Target `config`: the host's command line and config file parsing (`host/src/config`: both file
//! formats, TOML and the original's tokens, then clap), and the plugins' own option parsing.
//!
//! The config module has no public pure entry point for file text (`ConfigFile` is private), so
//! the file goes through the real path: the bytes are written to a scratch file named with
//! `--config-file`, and `Prescan::run` reads it. Input: a mode byte, then
//! - mode 0: the config file's contents;
//! - mode 1: command-line arguments separated by NUL bytes;
//! - mode 2: a length byte, that many bytes of NUL-separated arguments, then the file;
//! - mode 3: values for the http plugin's limit options and gear's port, NUL-separated.
//!
//! Checked: no panic, and a configuration that parses keeps the documented ranges (job retries
//! -1..=255, handle prefix fits a 63-byte handle, hash buckets > 0, wakeup fits a u8, gear is
//! the first protocol).

use crate::input::Input;
use gearmand::config::{self, Catalog, Kind, OptionInfo, Outcome, PluginInfo, Prescan};
use gearmand_plugin_api::{OptionDef, Options, PluginInfo as _};
use gearmand_protocol_gear::Gear;
use gearmand_protocol_http::{HttpProtocol, Limits};
use std::ffi::OsString;
use std::path::PathBuf;

/// Arguments per run; more are cut.
const MAX_ARGS: usize = 40;

pub fn check_config(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 4 {
        0 => parse(&[], input.rest()),
        1 => parse(&split_args(input.rest()), b""),
        2 => {
            let n = input.byte() as usize;
            let args = split_args(input.take(n));
            parse(&args, input.rest())
        }
        _ => plugin_options(input.rest()),
    }
}

fn split_args(b: &[u8]) -> Vec<OsString> {
    b.split(|&c| c == 0)
        .take(MAX_ARGS)
        .map(|a| OsString::from(String::from_utf8_lossy(a).into_owned()))
        // Our own --config-file comes first; another one could name /dev/zero and block forever.
        .filter(|a| !a.to_string_lossy().starts_with("--config-file"))
        .collect()
}

/// One scratch file per process (libFuzzer runs one input at a time per process).
fn scratch_file() -> PathBuf {
    std::env::temp_dir().join(format!("gearmand-fuzz-config-{}.conf", std::process::id()))
}

fn parse(args: &[OsString], file: &[u8]) {
    let path = scratch_file();
    std::fs::write(&path, file).expect("writing the scratch config file");
    let mut argv: Vec<OsString> = vec!["gearmand".into(), "--config-file".into(), path.into()];
    argv.extend_from_slice(args);
    // An argument with a line break may be echoed in an error; only other errors must be one line.
    let echo_breaks = args
        .iter()
        .any(|a| a.to_string_lossy().contains(['\n', '\r']));
    let one_line = |msg: &str| {
        if !echo_breaks {
            assert_one_line(msg)
        }
    };
    let pre = match Prescan::run(&argv) {
        Ok(pre) => pre,
        Err(e) => return one_line(&e.to_string()),
    };
    match config::parse(&argv, &pre, &FuzzCatalog::new()) {
        Ok(Outcome::Run(c)) => {
            assert!(
                (-1..=255).contains(&c.job_retries),
                "job_retries {}",
                c.job_retries
            );
            if let Some(p) = &c.job_handle_prefix {
                assert!(p.len() <= 52, "handle prefix of {} bytes accepted", p.len());
            }
            assert!(c.worker_wakeup < 256);
            assert_eq!(c.protocols.first().map(|p| p.name.as_str()), Some("gear"));
        }
        Ok(_) => {}
        Err(e) => one_line(&e.to_string()),
    }
}

/// Errors are printed as one line after `gearmand: `.
fn assert_one_line(msg: &str) {
    assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
}

fn plugin_options(b: &[u8]) {
    let mut vals = b.split(|&c| c == 0);
    let mut next = || vals.next().unwrap_or(b"").to_vec();
    let opts = Options::from_pairs([
        ("http-max-header", next()),
        ("http-max-body", next()),
        ("http-header-timeout", next()),
    ]);
    if let Ok(l) = Limits::from_options(&opts) {
        assert!(
            (1024..=1 << 20).contains(&l.max_header),
            "max_header {}",
            l.max_header
        );
        assert!(l.max_body <= u32::MAX as usize, "max_body {}", l.max_body);
    }
    let port = String::from_utf8_lossy(&next()).into_owned();
    let env = String::from_utf8_lossy(&next()).into_owned();
    let resolved = gearmand_protocol_gear::resolve_port(&port, Some(&env));
    assert!(!resolved.is_empty(), "empty port resolved");
}

/// The installed plugins as the parser sees them: the real gear and http option tables, and
/// queue plugins shaped like the real ones (short option, alias, switch).
struct FuzzCatalog(Vec<PluginInfo>);

impl FuzzCatalog {
    fn new() -> FuzzCatalog {
        let mut mysql_alias = option(&OptionDef::value("libdrizzle-host", "", None));
        mysql_alias.alias_of = Some("mysql-host".into());
        FuzzCatalog(vec![
            plugin(
                Gear::NAME,
                &[],
                Kind::Protocol,
                Gear::OPTIONS.iter().map(option).collect(),
            ),
            plugin(
                HttpProtocol::NAME,
                &[],
                Kind::Protocol,
                HttpProtocol::OPTIONS.iter().map(option).collect(),
            ),
            plugin(
                "sqlite",
                &["libsqlite3"],
                Kind::Queue,
                vec![
                    option(&OptionDef::value("libsqlite3-db", "db", None)),
                    option(&OptionDef::value(
                        "libsqlite3-table",
                        "t",
                        Some("gearman_queue"),
                    )),
                    option(&OptionDef::switch("store-queue-on-shutdown", "s")),
                ],
            ),
            plugin(
                "mysql",
                &["MySQL", "libdrizzle"],
                Kind::Queue,
                vec![
                    option(&OptionDef::value("mysql-host", "h", Some("localhost"))),
                    mysql_alias,
                ],
            ),
        ])
    }
}

fn option(d: &OptionDef) -> OptionInfo {
    OptionInfo {
        name: d.name.into(),
        help: d.help.into(),
        default: d.default.map(Into::into),
        short: d.short,
        takes_value: d.takes_value,
        alias_of: d.alias_of.map(Into::into),
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

impl Catalog for FuzzCatalog {
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
